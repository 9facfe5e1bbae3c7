"""The overlay: units × parcels × townships × 子项目 × control lines into atomic pieces, their booked
areas before and after the plan, and the 地类流向 rows that conserve them. Every figure is a
group-by over these pieces (``indicators``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd
import shapely

from ..common.errors import LandConsolidationError
from ..common.progress import SILENT, Progress
from ..geometry.measure import WorkingFrame
from ..geometry.overlay import (
    SLIVER_AREA_M2,
    OverlappingParts,
    PartIndex,
)
from ..ingest import validate as v
from ..ingest.baseline import Baseline
from ..ingest.layers import FLAG_LAYERS
from ..ingest.plan import Plan

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- pieces


@dataclass
class Pieces:
    """Atomic pieces of units × parcels × townships × 子项目 × control lines."""

    table: pd.DataFrame
    geoms: np.ndarray
    metric: np.ndarray | None = None  # the pieces in the equal-area frame, kept once computed

    def __len__(self) -> int:
        return len(self.geoms)

    def metric_geoms(self, frame: WorkingFrame) -> np.ndarray:
        """The pieces in the metric frame (distances for contiguity), computed once."""
        if self.metric is None:
            self.metric = frame.metric(self.geoms)
        return self.metric

    @classmethod
    def concat(cls, parts: Iterable[Pieces | None]) -> "Pieces":
        given = [p for p in parts if p is not None]
        if not given:
            return cls(table=_empty_piece_table(), geoms=np.empty(0, dtype=object))
        metric = (np.concatenate([p.metric for p in given]) if all(p.metric is not None for p in given)
                  else None)
        return cls(table=pd.concat([p.table for p in given], ignore_index=True),
                   geoms=np.concatenate([p.geoms for p in given]), metric=metric)


_PIECE_COLUMNS = ("unit", "unit_id", "parcel", "township", "project", "area_m2", "total_m2", "main_before_m2",
                  "code_before", "main_after_m2", "code_after") + tuple("in_" + f for f in FLAG_LAYERS) + (
                  "udb_plan_part",)


def _empty_piece_table() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in _PIECE_COLUMNS})


@dataclass(frozen=True)
class Dissolved:
    """Pieces dissolved by key: one row per group, its outline and its area (the pieces' areas summed)."""

    keys: list[tuple[Any, ...]]  # each group's key values, in sorted order
    geoms: np.ndarray
    areas_m2: np.ndarray
    members: list[np.ndarray]  # each group's piece positions


def dissolve_pieces(pieces: Pieces, mask: np.ndarray, keys: dict[str, np.ndarray]) -> Dissolved:
    """The ``mask``ed pieces grouped by ``keys`` (name -> one value per piece, e.g. table columns):
    every conflict, ledger row and per-project outline is such a group."""
    chosen = np.flatnonzero(mask)
    if len(chosen) == 0:
        return Dissolved([], np.empty(0, dtype=object), np.zeros(0), [])
    frame = pd.DataFrame({name: np.asarray(values, dtype=object)[chosen] for name, values in keys.items()})
    groups = frame.groupby(list(keys), sort=True).indices
    members = [chosen[np.asarray(positions)] for positions in groups.values()]
    geoms = np.array([pieces.geoms[m[0]] if len(m) == 1 else shapely.union_all(pieces.geoms[m]) for m in members],
                     dtype=object)
    area = pieces.table["area_m2"].to_numpy()
    return Dissolved(keys=[k if isinstance(k, tuple) else (k,) for k in groups], geoms=geoms,
                     areas_m2=np.array([float(area[m].sum()) for m in members]), members=members)


def build_pieces(baseline: Baseline, plan: Plan, unit_positions: npt.ArrayLike | None = None) -> Pieces:
    """Overlay the given units (all by default) with every other layer into atomic pieces."""
    if unit_positions is None:
        unit_positions = np.arange(len(plan.units))
    unit_positions = np.asarray(unit_positions, dtype=np.int64)
    return overlay_areas(baseline, plan, plan.units.geoms[unit_positions], unit_positions)


def build_pieces_per_unit(baseline: Baseline, plan: Plan, unit_positions: npt.ArrayLike | None = None,
                          progress: Progress = SILENT) -> tuple[Pieces, dict[int, str]]:
    """``build_pieces``, and where the overlay of the units together fails unexpectedly (GEOS on one
    unit's geometry), each unit on its own: the units that fail are left out and returned with the
    reason (position -> text), so one bad unit does not stop the check of the others. Errors about the
    data (``LandConsolidationError``: overlapping parcels …) and cancelling stop everything as before."""
    positions = np.arange(len(plan.units)) if unit_positions is None else np.asarray(unit_positions, dtype=np.int64)
    try:
        return build_pieces(baseline, plan, positions), {}
    except LandConsolidationError:
        raise
    except Exception as error:  # noqa: BLE001 - GEOS and numpy raise many kinds; each unit is retried below
        logger.warning("overlay of %d units failed (%s); retrying unit by unit", len(positions), error)
    good, failed = [], {}
    for count, position in enumerate(positions):
        progress.step(float(count) / max(len(positions), 1) * 100.0)
        try:
            good.append(build_pieces(baseline, plan, [position]))
        except LandConsolidationError:
            raise
        except Exception as error:  # noqa: BLE001 - reported per unit, the others go on
            logger.exception("overlay of unit %s failed", plan.unit_ids[position])
            failed[int(position)] = f"{type(error).__name__}: {error}"[:300]
    return Pieces.concat(good), failed


def drop_failed_units(plan: Plan, pieces: Pieces, failed: dict[int, str]) -> tuple[Plan, Pieces, dict[str, str]]:
    """The plan and pieces without the units ``build_pieces_per_unit`` could not overlay (positions
    renumbered), and their reasons by unit id."""
    if not failed:
        return plan, pieces, {}
    reasons = {str(plan.unit_ids[position]): reason for position, reason in failed.items()}
    kept = np.array([k for k in range(len(plan.units)) if k not in failed], dtype=np.int64)
    renumbered = np.full(len(plan.units), -1, dtype=np.int64)
    renumbered[kept] = np.arange(len(kept))
    if len(pieces):
        pieces.table["unit"] = renumbered[pieces.table["unit"].to_numpy(dtype=np.int64)]
    return plan.without_units(reasons), pieces, reasons


def build_whole_area_pieces(baseline: Baseline, plan: Plan) -> Pieces:
    """The pieces of an analysis without units: the land any layer covers, overlaid as one scope.

    Overlaying a box around everything would carry its remainder outside the layers — one polygon
    with a hole for every feature — through every cut; the land the layers cover is overlaid instead.
    """
    geoms = land_covered(baseline, plan)
    return overlay_areas(baseline, plan, geoms, np.zeros(len(geoms), dtype=np.int64))


def land_covered(baseline: Baseline, plan: Plan) -> np.ndarray:
    """The land of the survey, 子项目 and control lines as non-overlapping polygons: each layer adds
    what the layers before it do not cover (cut locally, feature by feature)."""
    layers = [baseline.parcels, plan.project_parts, baseline.pbf, plan.pbf_plan, baseline.eco, baseline.udb,
              plan.udb_plan]
    covered: list[np.ndarray] = []
    index = None
    for k, parts in enumerate(layers):
        # (a plan layer not given is the baseline's own index: it adds nothing)
        if parts is None or len(parts) == 0 or any(parts is seen for seen in layers[:k]):
            continue
        geoms = parts.geoms
        if index is not None:
            step = baseline.cut(geoms, index)
            geoms = step.geoms[step.part < 0]
        covered.append(np.asarray(geoms, dtype=object))
        index = PartIndex.build(np.concatenate(covered))
    return np.concatenate(covered) if covered else np.empty(0, dtype=object)


def overlay_areas(baseline: Baseline, plan: Plan, geoms: np.ndarray, unit_positions: np.ndarray) -> Pieces:
    """Overlay polygons (units, or parts of units) with every other layer; ``unit_positions[i]``
    is the unit that ``geoms[i]`` belongs to."""
    unit_positions = np.asarray(unit_positions, dtype=np.int64)
    if len(unit_positions) == 0:
        return Pieces.concat([])

    try:
        step = baseline.cut(np.asarray(geoms, dtype=object), baseline.parcels, on_overlap="error")
    except OverlappingParts as error:
        raise baseline.overlap_error(error, baseline.landuse, v.ROLES["landuse"]) from error
    unit = unit_positions[step.source]
    parcel = step.part
    geoms = step.geoms

    if baseline.townships is not None:  # has_township_layer
        step = baseline.cut(geoms, baseline.township_parts, on_overlap="error")
        unit, parcel, geoms = unit[step.source], parcel[step.source], step.geoms
        codes = baseline.townships.attrs["XZQDM"].to_numpy()
        township = np.where(step.part >= 0, codes[np.maximum(step.part, 0)], "")
    else:
        township_of_parcel = baseline.parcel_table["township"].to_numpy()
        township = (np.where(parcel >= 0, township_of_parcel[np.maximum(parcel, 0)], "") if len(township_of_parcel)
                    else np.full(len(parcel), "", dtype=object))

    step = baseline.cut(geoms, plan.project_parts, on_overlap="error")
    unit, parcel, township, geoms = unit[step.source], parcel[step.source], township[step.source], step.geoms
    project = step.part

    flags: dict[str, np.ndarray] = {}
    for name in FLAG_LAYERS:
        index = plan.pbf_plan if name == "pbf_plan" else plan.udb_plan if name == "udb_plan" \
            else baseline.flag_index(name)
        step = baseline.cut(geoms, index)
        unit, parcel, township, project, geoms = (unit[step.source], parcel[step.source], township[step.source],
                                                  project[step.source], step.geoms)
        flags = {k: f[step.source] for k, f in flags.items()}
        flags[name] = step.part  # the part each piece lies in, -1 outside the layer
    areas = baseline.frame.areas(geoms)

    table = pd.DataFrame({"unit": unit, "unit_id": plan.unit_ids[unit], "parcel": parcel, "township": township,
                          "project": project, "area_m2": areas})
    for name in FLAG_LAYERS:
        table["in_" + name] = flags[name] >= 0
    table["udb_plan_part"] = flags["udb_plan"]  # for the planned boundary's zone (城镇开发边界分区)
    book_areas(table, baseline, plan)
    return Pieces(table=table, geoms=geoms)


def book_areas(table: pd.DataFrame, baseline: Baseline, plan: Plan) -> None:
    """Class and booked areas before and after the plan, per piece (三调 convention)."""
    parcels = baseline.parcel_table
    parcel = table["parcel"].to_numpy()
    has_parcel = parcel >= 0
    p = np.maximum(parcel, 0)
    area = table["area_m2"].to_numpy()
    if has_parcel.any():
        whole_total, whole_main = baseline.booked(p)
        ratio = np.where(has_parcel, area / baseline.whole_areas(p), 1.0)
        total = np.where(has_parcel, whole_total * ratio, area)
        main_before = np.where(has_parcel, whole_main * ratio, area)
        code_before = np.where(has_parcel, parcels["code"].to_numpy()[p], "")
    else:  # no survey (control lines alone), or units outside it
        total, main_before = area.copy(), area.copy()
        code_before = np.full(len(table), "", dtype=object)

    project = table["project"].to_numpy()
    changed = project >= 0
    q = np.maximum(project, 0)
    projects = plan.project_table
    if len(projects):
        planned_code = projects["code_after"].to_numpy()[q]
        planned_kcxs = projects["kcxs"].to_numpy()[q]
    else:
        planned_code = np.full(len(table), "", dtype=object)
        planned_kcxs = np.full(len(table), np.nan)
    same_class = planned_code == code_before
    kept_deduction = np.where(total > 0, 1.0 - main_before / np.where(total > 0, total, 1.0), 0.0)
    # Land a 子项目 turns into another class carries no deduction unless the project gives KCXS;
    # land it keeps in its class keeps the survey's deduction.
    deduction = np.where(~np.isnan(planned_kcxs), planned_kcxs, np.where(same_class, kept_deduction, 0.0))
    table["total_m2"] = total
    table["code_before"] = code_before
    table["main_before_m2"] = main_before
    table["code_after"] = np.where(changed, planned_code, code_before)
    table["main_after_m2"] = np.where(changed, total * (1.0 - deduction), main_before)


def flows(pieces: Pieces, deduction_class: str) -> pd.DataFrame:
    """地类流向 rows (piece, from class, to class, m²) that conserve each piece's booked total.

    Class area goes to class area first; the 田坎 (deduction) share goes to 田坎 as far as it
    is kept, and the difference flows between 田坎 and the classes.
    """
    t = pieces.table
    n = len(t)
    idx = np.arange(n)
    total = t["total_m2"].to_numpy()
    main_b = t["main_before_m2"].to_numpy()
    main_a = t["main_after_m2"].to_numpy()
    tk_b = total - main_b
    tk_a = total - main_a
    code_b = t["code_before"].to_numpy()
    code_a = t["code_after"].to_numpy()
    dk = np.full(n, deduction_class, dtype=object)
    more_kept = tk_b > tk_a
    rows = pd.DataFrame({
        "piece": np.concatenate([idx, idx, idx]),
        "from": np.concatenate([code_b, dk, np.where(more_kept, dk, code_b)]),
        "to": np.concatenate([code_a, dk, np.where(more_kept, code_a, dk)]),
        "m2": np.concatenate([np.minimum(main_b, main_a), np.minimum(tk_b, tk_a), np.abs(tk_b - tk_a)]),
    })
    # pandas-stubs need Python >= 3.10: under python_version 3.9 every frame[key] is typed Series.
    return rows[rows["m2"] > SLIVER_AREA_M2].reset_index(drop=True)  # type: ignore[return-value]  # drop residues
