"""Analyses behind the toolbox's algorithms, built on the same overlay primitives as the check.

- ``compare_patches``: 永久基本农田集中连片 patches, baseline against plan (百亩方/千亩方/万亩方).
- ``control_line_conflicts``: every conflict among planned PBF, 生态保护红线, 城镇开发边界 (by
  zone) and 子项目 planned as 建设用地 inside the red line or outside the urban boundary.
- ``pbf_ledger``: the 永久基本农田 调出/调入 ledger from a scheme analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ..analysis.indicators import Indicators, find_patches
from ..common.i18n import tr, translatable
from ..geometry.measure import WorkingFrame, lonlat_bounds, to_mu
from ..geometry.overlay import SLIVER_AREA_M2, PartIndex, cut, dissolve_overlapping
from ..ingest import validate as v
from ..ingest.layerdata import LayerData
from ..rules.landclasses import LandClasses

BASELINE = "现状"
PLAN = "规划"


def frame_for(layer: LayerData) -> WorkingFrame:
    return WorkingFrame.for_data(layer.crs_wkt, lonlat_bounds(layer.geoms, layer.crs_wkt))


def _parts(layer: LayerData | None, role_key: str, frame: WorkingFrame, report: v.Report) -> np.ndarray:
    if layer is None or len(layer) == 0:
        return np.empty(0, dtype=object)
    checked = v.polygons(layer, v.ROLES[role_key], report)
    geoms = frame.ingest(checked.geoms, checked.crs_wkt)
    return dissolve_overlapping(geoms, frame.square_metres_to_units(SLIVER_AREA_M2))


@dataclass
class UnitAreas:
    """Units in a frame, for clipping and attributing pieces to unit ids."""

    index: PartIndex | None
    ids: np.ndarray

    @classmethod
    def of(cls, units: LayerData | None, id_field: str, frame: WorkingFrame, report: v.Report) -> "UnitAreas":
        if units is None or len(units) == 0:
            return cls(None, np.empty(0, dtype=object))
        checked = v.polygons(units, v.ROLES["units"], report)
        ids = v.unit_ids(checked, v.ROLES["units"], id_field).to_numpy()
        return cls(PartIndex.build(frame.ingest(checked.geoms, checked.crs_wkt)), ids)

    def attribute(self, geoms: np.ndarray, frame: WorkingFrame, keep_outside: bool):
        """Cut ``geoms`` by the units: (source index, unit id or '', pieces)."""
        if self.index is None:
            return np.arange(len(geoms)), np.full(len(geoms), "", dtype=object), np.asarray(geoms, dtype=object)
        step = cut(geoms, self.index, keep_outside=keep_outside,
                   min_area=frame.square_metres_to_units(SLIVER_AREA_M2))
        ids = np.where(step.part >= 0, self.ids[np.maximum(step.part, 0)], "")
        return step.source, ids, step.geoms


# ----------------------------------------------------------------------------- patches


@dataclass
class PatchComparison:
    frame: WorkingFrame
    states: dict  # state name -> Patches (geoms in the metric frame)
    units_of_patch: dict  # state -> list of unit-id strings per patch

    def summary(self) -> pd.DataFrame:
        rows = []
        for state, patches in self.states.items():
            figures = patches.summary()
            row = {"state": state, "count": figures["count"], "largest_mu": to_mu(figures["largest_m2"]),
                   "mean_mu": to_mu(figures["mean_m2"]), "total_mu": to_mu(figures["total_m2"])}
            for name in sorted(set(patches.table["class_name"]) - {""}):
                row[name] = int((patches.table["class_name"] == name).sum())
            rows.append(row)
        return pd.DataFrame(rows).fillna(0)


def compare_patches(pbf: LayerData, pbf_plan: LayerData | None, units: LayerData | None, unit_id_field: str,
                    gap_m: float, classes: list) -> PatchComparison:
    """Contiguous PBF patches of the baseline and the plan (inside the units when given)."""
    report = v.Report()
    frame = frame_for(pbf)
    unit_areas = UnitAreas.of(units, unit_id_field, frame, report)
    states, owners = {}, {}
    for state, layer, role in ((BASELINE, pbf, "pbf"), (PLAN, pbf_plan, "pbf_plan")):
        if layer is None:
            continue
        parts = _parts(layer, role, frame, report)
        _, ids, pieces = unit_areas.attribute(parts, frame, keep_outside=unit_areas.index is None)
        metric = frame.metric(pieces)
        patches = find_patches(metric, frame.areas(pieces), gap_m, classes)
        states[state] = patches
        owners[state] = ["、".join(sorted({str(i) for i in ids[patches.piece_patch == k] if i}))
                         for k in range(len(patches.table))]
    return PatchComparison(frame=frame, states=states, units_of_patch=owners)


def patch_geometries(comparison: PatchComparison, state: str) -> np.ndarray:
    """Patch outlines of ``state`` in the overlay CRS (the PBF layer's)."""
    return comparison.frame.from_metric(comparison.states[state].geoms)


# ----------------------------------------------------------------------------- control lines

CONFLICT_PBF_ECO = translatable("永久基本农田与生态保护红线重叠")
CONFLICT_PBF_UDB = translatable("永久基本农田与城镇开发边界重叠")
CONFLICT_ECO_UDB = translatable("生态保护红线与城镇开发边界重叠")
CONFLICT_ECO_CONSTRUCTION = translatable("生态保护红线内规划新增建设用地")
CONFLICT_OUTSIDE_UDB = translatable("城镇开发边界外规划新增建设用地")
CLAUSE_CONTROL_LINES = "（三）"


@dataclass
class ConflictTable:
    frame: WorkingFrame
    table: pd.DataFrame  # kind, unit_id, area_m2, area_mu, clause, detail
    geoms: np.ndarray  # overlay CRS


def control_line_conflicts(pbf_plan: LayerData | None, eco: LayerData | None, udb: LayerData | None,
                           projects: LayerData | None, units: LayerData | None, unit_id_field: str,
                           classes: LandClasses, landuse: LayerData | None = None,
                           udb_zone_field: str = "CZKFBJLX") -> ConflictTable:
    """Every conflict among the control lines and planned construction, as polygons with area."""
    report = v.Report()
    first = next(layer for layer in (landuse, pbf_plan, eco, udb, projects, units) if layer is not None)
    frame = frame_for(first)
    sliver = frame.square_metres_to_units(SLIVER_AREA_M2)
    unit_areas = UnitAreas.of(units, unit_id_field, frame, report)
    pbf_parts = _parts(pbf_plan, "pbf_plan", frame, report)
    eco_parts = _parts(eco, "eco", frame, report)
    udb_geoms, udb_zones = np.empty(0, dtype=object), np.empty(0, dtype=object)
    if udb is not None and len(udb):
        checked = v.polygons(udb, v.ROLES["udb_plan"], report)
        udb_geoms = frame.ingest(checked.geoms, checked.crs_wkt)
        udb_zones = checked.column(udb_zone_field, "").map(lambda z: "" if z is None else str(z)).to_numpy()
    udb_index = PartIndex.build(udb_geoms)
    eco_index = PartIndex.build(eco_parts)

    rows, geoms = [], []

    def add(kind, pieces, detail, clause=CLAUSE_CONTROL_LINES):
        source, ids, clipped = unit_areas.attribute(pieces, frame, keep_outside=True)
        areas = frame.areas(clipped)
        for k, (geom, area) in enumerate(zip(clipped, areas)):
            if area <= SLIVER_AREA_M2:
                continue
            rows.append({"kind": tr(kind), "unit_id": ids[k], "area_m2": float(area), "area_mu": to_mu(float(area)),
                         "clause": clause, "detail": detail[source[k]]})
            geoms.append(geom)

    if len(pbf_parts) and len(eco_parts):
        step = cut(pbf_parts, eco_index, keep_outside=False, min_area=sliver)
        add(CONFLICT_PBF_ECO, step.geoms, np.full(len(step.geoms), ""))
    if len(pbf_parts) and len(udb_geoms):
        step = cut(pbf_parts, udb_index, keep_outside=False, min_area=sliver)
        add(CONFLICT_PBF_UDB, step.geoms, udb_zones[step.part])
    if len(eco_parts) and len(udb_geoms):
        step = cut(eco_parts, udb_index, keep_outside=False, min_area=sliver)
        add(CONFLICT_ECO_UDB, step.geoms, udb_zones[step.part])

    if projects is not None and len(projects):
        checked = v.polygons(projects, v.ROLES["projects"], report)
        v.require_fields(checked, v.ROLES["projects"])
        codes = v.check_class_codes(checked, v.ROLES["projects"], "GHDLBM", classes, report=None).to_numpy()
        planned = np.array([classes.is_construction(c) for c in codes], dtype=bool)
        ids = checked.column("XMBH", "").map(lambda x: "" if x is None else str(x)).to_numpy()
        project_geoms = frame.ingest(checked.geoms, checked.crs_wkt)[planned]
        labels = np.array([f"{i} → {c}" for i, c in zip(ids[planned], codes[planned])], dtype=object)
        if landuse is not None and len(project_geoms):
            project_geoms, labels = _new_construction_only(project_geoms, labels, landuse, frame, classes, report)
        if len(eco_parts) and len(project_geoms):
            step = cut(project_geoms, eco_index, keep_outside=False, min_area=sliver)
            add(CONFLICT_ECO_CONSTRUCTION, step.geoms, labels[step.source])
        if len(udb_geoms) and len(project_geoms):
            step = cut(project_geoms, PartIndex.build(dissolve_overlapping(udb_geoms, sliver)), keep_outside=True,
                       min_area=sliver)
            outside = step.part < 0
            add(CONFLICT_OUTSIDE_UDB, step.geoms[outside], labels[step.source[outside]], clause="（五）")

    table = pd.DataFrame(rows, columns=["kind", "unit_id", "area_m2", "area_mu", "clause", "detail"])
    return ConflictTable(frame=frame, table=table, geoms=np.asarray(geoms, dtype=object))


def _new_construction_only(geoms, labels, landuse: LayerData, frame, classes: LandClasses, report):
    """Keep the parts of planned construction that are not construction land today."""
    checked = v.polygons(landuse, v.ROLES["landuse"], report)
    codes = v.codes(checked, "DLBM").to_numpy()
    existing = np.array([classes.is_construction(c) for c in codes], dtype=bool)
    parcels = PartIndex.build(frame.ingest(checked.geoms, checked.crs_wkt))
    step = cut(geoms, parcels, keep_outside=True, min_area=frame.square_metres_to_units(SLIVER_AREA_M2))
    new = (step.part < 0) | ~existing[np.maximum(step.part, 0)]
    return step.geoms[new], labels[step.source[new]]


# ----------------------------------------------------------------------------- PBF ledger


@dataclass
class Ledger:
    table: pd.DataFrame  # direction, unit_id, township, bsm, dlbm, dlmc, gddb, gdpdjb, area_m2, area_mu
    geoms: np.ndarray  # overlay CRS
    townships: pd.DataFrame
    quality: dict


ADJUSTED_OUT = translatable("调出")
ADJUSTED_IN = translatable("调入")


def pbf_ledger(ind: Indicators, cap_percent: float | None) -> Ledger:
    """Every 调出/调入 piece (per unit, township and 地类图斑) with its quality, and township totals."""
    t = ind.pieces.table
    parcels = ind.baseline.parcel_table
    classes = ind.baseline.classes
    before, after = t["in_pbf"].to_numpy(bool), t["in_pbf_plan"].to_numpy(bool)
    rows, geoms = [], []
    for direction, mask in ((ADJUSTED_OUT, before & ~after), (ADJUSTED_IN, ~before & after)):
        chosen = t[mask]
        for (unit_id, township, parcel), group in chosen.groupby(["unit_id", "township", "parcel"], sort=True):
            has = parcel >= 0
            code = parcels["code"].iat[parcel] if has else ""
            area = float(group["area_m2"].sum())
            gddb = parcels["gddb"].iat[parcel] if has else np.nan
            rows.append({"direction": tr(direction), "unit_id": unit_id, "township": township,
                         "bsm": parcels["bsm"].iat[parcel] if has else "", "dlbm": code,
                         "dlmc": classes.name(code) if code else "", "gddb": None if np.isnan(gddb) else float(gddb),
                         "gdpdjb": parcels["gdpdjb"].iat[parcel] if has else "", "area_m2": area,
                         "area_mu": to_mu(area)})
            geoms.append(shapely.union_all(ind.pieces.geoms[group.index.to_numpy()]))
    table = pd.DataFrame(rows, columns=["direction", "unit_id", "township", "bsm", "dlbm", "dlmc", "gddb", "gdpdjb",
                                        "area_m2", "area_mu"])
    towns = ind.per_township.copy()
    inside_in = t[~t["in_pbf"] & t["in_pbf_plan"]].groupby("township")["area_m2"].sum()
    towns["pbf_in_in_units_m2"] = [float(inside_in.get(code, 0.0)) for code in towns.index]
    towns["pbf_out_share"] = np.where(towns["pbf_total_m2"] > 0,
                                      towns["pbf_out_m2"] / towns["pbf_total_m2"].where(towns["pbf_total_m2"] > 0, 1)
                                      * 100, np.nan)
    towns["cap_percent"] = cap_percent if cap_percent is not None else np.nan
    quality = {}
    for direction in (ADJUSTED_OUT, ADJUSTED_IN):
        rows_d = table[table["direction"] == tr(direction)]
        known = rows_d[rows_d["gddb"].notna()]
        quality[direction] = {
            "area_mu": float(rows_d["area_mu"].sum()),
            "mean_gddb": float(np.average(known["gddb"], weights=known["area_m2"])) if len(known) else None,
            "unknown_mu": float(rows_d.loc[rows_d["gddb"].isna(), "area_mu"].sum()),
        }
    return Ledger(table=table, geoms=np.asarray(geoms, dtype=object), townships=towns, quality=quality)
