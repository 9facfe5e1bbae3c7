"""Indicators: group-bys over the pieces, per unit, per township and for the scheme.

Keyed by unit id and township code so that every later table (土地利用结构调整表,
调出调入表, 地类流向表, ledgers) reuses them rather than overlaying again.
All areas in m² here; conversion to 亩/公顷 happens where figures are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, TypedDict, cast

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..geometry.overlay import SLIVER_AREA_M2, polygonal, robust
from ..ingest.baseline import Baseline
from ..ingest.plan import Plan
from ..rules.landclasses import class_flags
from ..rules.ruleset import Ruleset
from .cache import AnalysisCache
from .patches import PatchClass, Patches, find_patches
from .pieces import Pieces, flows

UNIT_COLUMNS = (
    "area_m2", "farmland_before_m2", "farmland_after_m2", "farmland_lost_m2", "farmland_gained_m2",
    "construction_before_m2", "construction_after_m2", "construction_released_m2", "construction_new_m2",
    "eco_construction_new_m2", "pbf_before_m2", "pbf_after_m2", "pbf_out_m2", "pbf_in_m2",
    "pbf_plan_in_eco_m2", "pbf_plan_in_udb_plan_m2", "pbf_plan_conflict_m2", "outside_landuse_m2",
)


class UdbFigures(TypedDict):
    """城镇开发边界 figures of the whole layers (``Indicators.udb``)."""

    udb_m2: float | None  # None without a 城镇开发边界 layer
    udb_plan_m2: float | None
    has_czcsxm: bool


@dataclass
class Indicators:
    baseline: Baseline
    plan: Plan
    ruleset: Ruleset
    pieces: Pieces
    flows: pd.DataFrame  # piece, from, to, m2 + unit_id, township, flags
    per_unit: pd.DataFrame
    per_township: pd.DataFrame
    project_areas: pd.DataFrame  # unit_id, project, project_id, type, area_m2 (in the unit), whole_area_m2, geom
    type_areas: pd.DataFrame  # unit_id, type, area_m2, geom: each 子项目 type's land in each unit, counted once
    udb: UdbFigures
    _patches: dict[tuple[str, float, str | None], Patches] = field(default_factory=dict)

    @property
    def scheme(self) -> pd.Series:
        return self.per_unit[list(UNIT_COLUMNS)].sum()

    def patches(self, which: str = "pbf_plan", gap_m: float = 0.0, classes: Iterable[PatchClass] = (),
                unit_id: str | None = None) -> Patches:
        """Contiguous patches of baseline ('pbf') or planned ('pbf_plan') PBF inside the units."""
        key = (which, float(gap_m), unit_id)
        if key not in self._patches:
            mask = self.patch_mask(which, unit_id)
            metric = self.pieces.metric_geoms(self.baseline.frame)[mask]
            areas = self.pieces.table["area_m2"].to_numpy()[mask]
            self._patches[key] = find_patches(metric, areas, gap_m, list(classes))
        return self._patches[key]

    def patch_mask(self, which: str = "pbf_plan", unit_id: str | None = None) -> np.ndarray:
        """The pieces ``patches`` groups: in baseline ('pbf') or planned ('pbf_plan') PBF, in one unit or all."""
        t = self.pieces.table
        mask = t["in_" + which].to_numpy(dtype=bool, copy=True)  # a view would write into the table
        if unit_id is not None:
            mask &= t["unit_id"].to_numpy() == unit_id
        return mask

def compute_indicators(baseline: Baseline, plan: Plan, pieces: Pieces, ruleset: Ruleset,
                       cache: AnalysisCache | None = None) -> Indicators:
    """The group-bys over ``pieces``; ``cache`` carries what an earlier computation of the same plan
    layers already knows (the live engine's), a fresh one otherwise."""
    cache = cache or AnalysisCache()
    classes = baseline.classes
    t = pieces.table
    flow = flows(pieces, classes.deduction_class)
    for column in ("unit_id", "township", "in_eco", "project"):
        flow[column] = t[column].to_numpy()[flow["piece"].to_numpy()]
    per_unit = _per_unit(baseline, plan, pieces, flow)
    per_township = _per_township(baseline, plan, pieces, flow, cache.township_pbf.valid_for(plan.pbf_plan))
    project_areas = _project_areas(baseline, plan, cache.project_areas.valid_for(plan.project_parts))
    return Indicators(baseline=baseline, plan=plan, ruleset=ruleset, pieces=pieces, flows=flow, per_unit=per_unit,
                      per_township=per_township, project_areas=project_areas,
                      type_areas=_type_areas(baseline, plan, project_areas,
                                             cache.type_areas.valid_for(plan.project_parts)),
                      udb=_cached_udb(baseline, plan, ruleset, cache.udb.valid_for(plan.udb_plan, ruleset)))


def _per_unit(baseline: Baseline, plan: Plan, pieces: Pieces, flow: pd.DataFrame) -> pd.DataFrame:
    classes = baseline.classes
    t = pieces.table
    n_units = len(plan.units)
    unit = t["unit"].to_numpy().astype(np.int64)

    def by_unit(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        weights = values if mask is None else np.where(mask, values, 0.0)
        return np.bincount(unit, weights=weights, minlength=n_units)

    area = t["area_m2"].to_numpy()
    farm_b = class_flags(t["code_before"].to_numpy(), classes.is_farmland)
    farm_a = class_flags(t["code_after"].to_numpy(), classes.is_farmland)
    cons_b = class_flags(t["code_before"].to_numpy(), classes.is_construction)
    cons_a = class_flags(t["code_after"].to_numpy(), classes.is_construction)
    main_b = t["main_before_m2"].to_numpy()
    main_a = t["main_after_m2"].to_numpy()
    flags = {name: t["in_" + name].to_numpy(dtype=bool) for name in ("pbf", "pbf_plan", "eco", "udb_plan")}

    f_unit = t["unit"].to_numpy().astype(np.int64)[flow["piece"].to_numpy()]
    f_from_farm = class_flags(flow["from"].to_numpy(), classes.is_farmland)
    f_to_farm = class_flags(flow["to"].to_numpy(), classes.is_farmland)
    f_from_cons = class_flags(flow["from"].to_numpy(), classes.is_construction)
    f_to_cons = class_flags(flow["to"].to_numpy(), classes.is_construction)
    f_m2 = flow["m2"].to_numpy()
    f_eco = flow["in_eco"].to_numpy(dtype=bool)

    def flow_by_unit(mask: np.ndarray) -> np.ndarray:
        return np.bincount(f_unit, weights=np.where(mask, f_m2, 0.0), minlength=n_units)

    conflict = flags["pbf_plan"] & (flags["eco"] | flags["udb_plan"])
    data = {
        "area_m2": by_unit(area),
        "farmland_before_m2": by_unit(main_b, farm_b),
        "farmland_after_m2": by_unit(main_a, farm_a),
        "farmland_lost_m2": flow_by_unit(f_from_farm & ~f_to_farm),
        "farmland_gained_m2": flow_by_unit(~f_from_farm & f_to_farm),
        "construction_before_m2": by_unit(main_b, cons_b),
        "construction_after_m2": by_unit(main_a, cons_a),
        "construction_released_m2": flow_by_unit(f_from_cons & ~f_to_cons),
        "construction_new_m2": flow_by_unit(~f_from_cons & f_to_cons),
        "eco_construction_new_m2": flow_by_unit(~f_from_cons & f_to_cons & f_eco),
        "pbf_before_m2": by_unit(area, flags["pbf"]),
        "pbf_after_m2": by_unit(area, flags["pbf_plan"]),
        "pbf_out_m2": by_unit(area, flags["pbf"] & ~flags["pbf_plan"]),
        "pbf_in_m2": by_unit(area, ~flags["pbf"] & flags["pbf_plan"]),
        "pbf_plan_in_eco_m2": by_unit(area, flags["pbf_plan"] & flags["eco"]),
        "pbf_plan_in_udb_plan_m2": by_unit(area, flags["pbf_plan"] & flags["udb_plan"]),
        "pbf_plan_conflict_m2": by_unit(area, conflict),
        "outside_landuse_m2": by_unit(area, t["parcel"].to_numpy() < 0),
    }
    frame = pd.DataFrame(data, index=pd.Index(plan.unit_ids, name="unit_id"))
    frame.insert(0, "name", plan.unit_names)
    return frame


def _per_township(baseline: Baseline, plan: Plan, pieces: Pieces, flow: pd.DataFrame,
                  known: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Townships the units touch: their whole 耕地 and PBF, and what the scheme adjusts there."""
    classes = baseline.classes
    t = pieces.table
    touched = sorted({c for c in t["township"].to_numpy() if c})
    f_from_farm = class_flags(flow["from"].to_numpy(), classes.is_farmland)
    f_to_farm = class_flags(flow["to"].to_numpy(), classes.is_farmland)
    lost = flow[f_from_farm & ~f_to_farm].groupby("township")["m2"].sum()
    pbf_out_units = t[t["in_pbf"] & ~t["in_pbf_plan"]].groupby("township")["area_m2"].sum()
    rows = []
    for code in touched:
        if code not in known:
            known[code] = township_pbf(baseline, plan, code)
        pbf_total, pbf_out = known[code]
        rows.append({
            "township": code,
            "name": baseline.township_names.get(code, ""),
            "farmland_total_m2": baseline.township_farmland_m2(code),
            "farmland_lost_in_units_m2": float(lost.get(code, 0.0)),
            "pbf_total_m2": pbf_total,
            "pbf_out_m2": pbf_out,
            "pbf_out_in_units_m2": float(pbf_out_units.get(code, 0.0)),
        })
    columns = ["township", "name", "farmland_total_m2", "farmland_lost_in_units_m2", "pbf_total_m2", "pbf_out_m2",
               "pbf_out_in_units_m2"]
    return pd.DataFrame(rows, columns=columns).set_index("township")


def township_pbf(baseline: Baseline, plan: Plan, code: str) -> tuple[float, float]:
    """(PBF area, PBF − PBF_PLAN area) over the whole township (geometry areas, m²)."""
    pieces, total = baseline.township_pbf(code)
    # A piece that is exactly a planned PBF feature (most of them: the plan starts as a copy) loses
    # nothing; only the others are cut by the plan.
    pieces = pieces[~plan.unchanged_pbf(pieces)]
    if len(pieces) == 0:
        return total, 0.0
    adjusted = baseline.cut(pieces, plan.pbf_plan)
    return total, float(baseline.frame.areas(adjusted.geoms[adjusted.part < 0]).sum())


PROJECT_AREA_COLUMNS = ["unit_id", "project", "area_m2", "whole_area_m2", "project_id", "type", "geom"]


def _project_areas(baseline: Baseline, plan: Plan, cache: dict[str, tuple[bytes, pd.DataFrame]]) -> pd.DataFrame:
    """Each 子项目's area in each unit, measured on the project as drawn (not on what is left of it
    where another project of the same class overlaps), and its whole area (a parcel's size limit
    applies to the parcel, whichever units it crosses); ``geom`` is the part inside the unit.
    Units whose outline is unchanged keep their rows from ``cache`` (live edits)."""
    if plan.projects is None or len(plan.project_table) == 0 or len(plan.unit_ids) == 0:
        return pd.DataFrame(columns=PROJECT_AREA_COLUMNS)
    outlines = shapely.to_wkb(plan.units.geoms)
    stale = [k for k, (unit_id, wkb) in enumerate(zip(plan.unit_ids, outlines))
             if unit_id not in cache or cache[unit_id][0] != wkb]
    if stale:
        fresh = _project_areas_in(baseline, plan, np.asarray(stale))
        for k in stale:
            unit_id = plan.unit_ids[k]
            cache[unit_id] = (outlines[k], fresh[fresh["unit_id"] == unit_id])
    for unit_id in set(cache) - set(plan.unit_ids):
        del cache[unit_id]
    parts = [cache[unit_id][1] for unit_id in plan.unit_ids if len(cache[unit_id][1])]
    if not parts:
        return pd.DataFrame(columns=PROJECT_AREA_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    # pandas-stubs need Python >= 3.10: under python_version 3.9 every frame[key] is typed Series.
    return frame.sort_values(["unit_id", "project"]).reset_index(drop=True)[PROJECT_AREA_COLUMNS]  # type: ignore[return-value]


def _project_areas_in(baseline: Baseline, plan: Plan, positions: np.ndarray) -> pd.DataFrame:
    # Each unit takes its own intersection with each 子项目, independently of the other units, so a
    # sliver where two units meet cannot move a project's area between them, and a unit's rows do
    # not depend on which other units were recomputed.
    if plan.projects is None:  # cannot be: _project_areas asks only with 子项目
        raise AssertionError("project areas of a plan without 子项目")
    units = plan.units.geoms[positions]
    unit_k, project = STRtree(plan.projects.geoms).query(units, predicate="intersects")
    if len(unit_k) == 0:
        return pd.DataFrame(columns=PROJECT_AREA_COLUMNS)
    geoms = polygonal(robust(shapely.intersection, plan.projects.geoms[project], units[unit_k]))
    areas = baseline.frame.areas(geoms)
    keep = areas > SLIVER_AREA_M2
    frame = pd.DataFrame({"unit_id": np.asarray(plan.unit_ids)[positions[unit_k[keep]]], "project": project[keep],
                          "area_m2": areas[keep], "geom": geoms[keep]})
    if len(frame) == 0:
        return pd.DataFrame(columns=PROJECT_AREA_COLUMNS)
    frame = frame.groupby(["unit_id", "project"], sort=True).agg(
        area_m2=("area_m2", "sum"), geom=("geom", lambda g: g.iloc[0] if len(g) == 1 else shapely.union_all(
            np.asarray(g, dtype=object)))).reset_index()
    k = frame["project"].to_numpy()
    frame["whole_area_m2"] = baseline.frame.areas(plan.projects.geoms[k])
    frame["project_id"] = plan.project_table["id"].to_numpy()[k]
    frame["type"] = plan.project_table["type"].to_numpy()[k]
    # pandas-stubs need Python >= 3.10: under python_version 3.9 every frame[key] is typed Series.
    return frame[PROJECT_AREA_COLUMNS]  # type: ignore[return-value]


def _type_areas(baseline: Baseline, plan: Plan, project_areas: pd.DataFrame,
                known: dict[str, tuple[bytes, pd.DataFrame]]) -> pd.DataFrame:
    """Each 子项目 type's land in each unit: the union of that type's projects there, so two projects
    of one type drawn over each other count their overlap once (area rules over types use these).
    Units whose outline is unchanged keep theirs from ``known`` (live edits)."""
    columns = ["unit_id", "type", "area_m2", "geom"]
    outlines = dict(zip(plan.unit_ids, shapely.to_wkb(plan.units.geoms)))
    parts = []
    for unit_id, mine in project_areas.groupby("unit_id", sort=True):
        if unit_id in known and known[unit_id][0] == outlines.get(unit_id):
            parts.append(known[unit_id][1])
            continue
        rows = []
        for kind, group in mine.groupby("type", sort=True):
            geoms = np.asarray(group["geom"], dtype=object)
            rows.append({"unit_id": unit_id, "type": kind,
                         "geom": geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)})
        table = pd.DataFrame(rows)
        table["area_m2"] = baseline.frame.areas(np.asarray(table["geom"], dtype=object))
        table = table.reindex(columns=columns)
        known[str(unit_id)] = (outlines.get(unit_id, b""), table)
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def type_area(ind: Indicators, unit_id: str, kind: str) -> float:
    """The land (m²) of 子项目 type ``kind`` in unit ``unit_id``, each piece once."""
    t = ind.type_areas
    chosen = t[(t["unit_id"] == unit_id) & (t["type"] == kind)]
    return float(chosen["area_m2"].sum())


def _cached_udb(baseline: Baseline, plan: Plan, ruleset: Ruleset, known: dict[str, object]) -> UdbFigures:
    if not known:
        known.update(_udb_figures(baseline, plan, ruleset))
    return cast(UdbFigures, dict(known))  # the memo holds what _udb_figures gave


def _udb_figures(baseline: Baseline, plan: Plan, ruleset: Ruleset) -> UdbFigures:
    """城镇开发边界 areas (whole layers)."""
    table = baseline.parcel_table
    return {
        "udb_m2": float(baseline.frame.areas(baseline.udb.geoms).sum()) if baseline.udb is not None else None,
        "udb_plan_m2": float(baseline.frame.areas(plan.udb_plan.geoms).sum()) if plan.udb_plan is not None
        else None,
        "has_czcsxm": bool((table["czcsxm"].astype(str) != "").any()),
    }


def urban_construction_m2(ind: Indicators, czcsxm: Iterable[object]) -> float:
    """现状城镇建设用地: the 三调 class area of the parcels whose 城镇村属性码 is one of ``czcsxm`` (each rule
    gives its own codes)."""
    table = ind.baseline.parcel_table
    urban = np.isin(table["czcsxm"].to_numpy().astype(str), [str(c) for c in czcsxm])
    return float(ind.baseline.booked(np.flatnonzero(urban))[1].sum())
