"""整治潜力调查 (clause （五）): candidate pieces for the 潜力资源库, each typed, measured and explained.

Five kinds, each from the 三调 parcels (inside the units when given), with thresholds
a planner sets (defaults in ``PotentialParameters``):

- 耕地恢复: 可调整地类 (codes ending in K), 其他草地 0404 and 裸土地 1206 near 耕地;
- 村庄建设用地复垦: clusters of 农村宅基地 0702 (or CZCSXM 203 construction) no larger than
  a size and far from roads or from the village cores;
- 低效工业用地: clusters of 工业用地 0601 outside the 城镇开发边界, no larger than a size;
- 碎片化耕地: 耕地 patches below a size, marked when close enough to merge into PBF;
- 夹心地/插花地: small non-farmland parcels whose boundary runs mostly along 耕地.

Areas are ellipsoidal geometry areas (亩); distances are measured in the equal-area frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, cast

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..analysis.analysis import Analysis
from ..analysis.patches import find_patches
from ..common.i18n import tr, translatable
from ..common.progress import SILENT, Progress
from ..geometry.measure import SQUARE_METRES_PER_MU, to_mu
from ..rules.landclasses import ADJUSTABLE_SUFFIX, base_code

if TYPE_CHECKING:
    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry

KIND_RECOVERY = translatable("耕地恢复")
KIND_VILLAGE = translatable("村庄建设用地复垦")
KIND_INDUSTRY = translatable("低效工业用地")
KIND_FRAGMENT = translatable("碎片化耕地")
KIND_ISLAND = translatable("夹心地/插花地")

ROAD_CODES = ("1001", "1003", "1004")
NOT_ISLAND_PREFIXES = ("10", "11", "01")  # transport, water and farmland itself
DEDUCTION = "1203"


@dataclass
class PotentialParameters:
    near_farmland_m: float = 50.0
    cluster_gap_m: float = 20.0
    village_max_mu: float = 10.0
    village_core_min_mu: float = 30.0
    village_core_distance_m: float = 200.0
    road_distance_m: float = 100.0
    industry_max_mu: float = 30.0
    fragment_max_mu: float = 10.0
    merge_distance_m: float = 20.0
    island_max_mu: float = 3.0
    island_farmland_share: float = 0.75


@dataclass
class Candidates:
    table: pd.DataFrame  # kind, subtype, unit_id, dlbm, area_m2, area_mu, parcels, reason
    geoms: np.ndarray  # overlay CRS


def survey_potential(analysis: Analysis, parameters: PotentialParameters | None = None,
                     progress: Progress = SILENT) -> Candidates:
    """Candidates among the analysis's parcels (each parcel's land inside each unit, or in the whole area)."""
    p = parameters or PotentialParameters()
    classes = analysis.baseline.classes
    frame = analysis.baseline.frame
    parcels = parcel_pieces(analysis)
    pieces, codes, unit_ids = parcels.geoms, parcels.codes, parcels.unit_ids
    czcs = analysis.baseline.parcel_table["czcsxm"].to_numpy()[parcels.parcel]
    metric = frame.metric(pieces)
    areas = shapely.area(metric)
    farmland = np.array([classes.is_farmland(c) for c in codes], dtype=bool)
    out_rows: list[dict[str, object]] = []
    out_geoms: list[BaseGeometry] = []

    def emit(kind: str, subtype: str, members: npt.ArrayLike, reason: str) -> None:
        members = np.asarray(members)
        area = float(areas[members].sum())
        out_rows.append({"kind": tr(kind), "subtype": subtype,
                         "unit_id": "、".join(sorted({str(u) for u in unit_ids[members] if u})),
                         "dlbm": "、".join(sorted(set(codes[members]))), "area_m2": area, "area_mu": to_mu(area),
                         "parcels": int(len(members)), "reason": reason})
        out_geoms.append(shapely.union_all(pieces[members]))

    farm_tree = STRtree(metric[farmland]) if farmland.any() else None

    # 耕地恢复: K-coded, 0404, 1206 within reach of farmland.
    progress.step(10, tr("耕地恢复潜力"))
    recoverable = np.array([c.endswith(ADJUSTABLE_SUFFIX) or base_code(c) in ("0404", "1206") for c in codes])
    for i in np.flatnonzero(recoverable):
        distance = _nearest_distance(farm_tree, metric[i])
        if distance is not None and distance <= p.near_farmland_m:
            emit(KIND_RECOVERY, classes.name(codes[i]), [i],
                 tr("{name}，距耕地 {d:.0f} 米").format(name=classes.name(codes[i]), d=distance))

    # 村庄建设用地复垦: small, remote clusters of rural homesteads.
    progress.step(30, tr("村庄建设用地复垦潜力"))
    village = np.array([base_code(c) == "0702" or (z.startswith("203") and classes.is_construction(c))
                        for c, z in zip(codes, czcs)], dtype=bool)
    roads = np.array([base_code(c) in ROAD_CODES for c in codes], dtype=bool)
    road_tree = STRtree(metric[roads]) if roads.any() else None
    clusters = _clusters(metric, np.flatnonzero(village), p.cluster_gap_m)
    cores = [c for c in clusters if to_mu(areas[c].sum()) >= p.village_core_min_mu]
    core_tree = STRtree(np.array([shapely.union_all(metric[c]) for c in cores], dtype=object)) if cores else None
    for members in clusters:
        size = to_mu(areas[members].sum())
        if size > p.village_max_mu:
            continue
        shape = shapely.union_all(metric[members])
        d_road = _nearest_distance(road_tree, shape)
        d_core = _nearest_distance(core_tree, shape)
        remote_road = d_road is None or d_road >= p.road_distance_m
        remote_core = d_core is None or d_core >= p.village_core_distance_m
        if remote_road or remote_core:
            emit(KIND_VILLAGE, tr("零星农居点"), members,
                 tr("{n} 宗 {mu:.2f} 亩；距公路/村道 {road}，距村庄集中区 {core}").format(
                     n=len(members), mu=size, road=_metres(d_road), core=_metres(d_core)))

    # 低效工业用地: small industrial clusters outside the urban boundary.
    progress.step(50, tr("低效工业用地潜力"))
    industry = np.array([base_code(c) == "0601" for c in codes], dtype=bool)
    if analysis.baseline.udb is not None:
        industry &= ~(parcels.udb_share > 0.5)
    for members in _clusters(metric, np.flatnonzero(industry), p.cluster_gap_m):
        size = to_mu(areas[members].sum())
        if size <= p.industry_max_mu:
            emit(KIND_INDUSTRY, tr("城镇开发边界外零散工业"), members,
                 tr("{n} 宗 {mu:.2f} 亩，位于城镇开发边界外").format(n=len(members), mu=size))

    # 碎片化耕地: farmland patches below a size; near PBF they could join it.
    progress.step(70, tr("碎片化耕地"))
    pbf = analysis.baseline.pbf.geoms
    pbf_tree = STRtree(frame.metric(pbf)) if len(pbf) else None
    farm_idx = np.flatnonzero(farmland)
    if len(farm_idx):
        patches = find_patches(metric[farm_idx], areas[farm_idx], 0.0, [])
        for k, row in cast("Iterator[tuple[int, pd.Series]]", patches.table.iterrows()):  # a RangeIndex
            if row["area_mu"] >= p.fragment_max_mu:
                continue
            members = farm_idx[patches.piece_patch == k]
            d_pbf = _nearest_distance(pbf_tree, patches.geoms[k])
            near = d_pbf is not None and d_pbf <= p.merge_distance_m
            emit(KIND_FRAGMENT, tr("可并入永久基本农田") if near else tr("零碎耕地"), members,
                 tr("耕地片块 {mu:.2f} 亩；距永久基本农田 {d}").format(mu=row["area_mu"], d=_metres(d_pbf)))

    # 夹心地/插花地: small non-farmland parcels enclosed by farmland.
    progress.step(85, tr("夹心地/插花地"))
    candidates = np.flatnonzero((areas <= p.island_max_mu * SQUARE_METRES_PER_MU) & ~farmland & np.array(
        [not base_code(c).startswith(NOT_ISLAND_PREFIXES) and base_code(c) != DEDUCTION for c in codes]))
    if len(candidates) and farm_tree is not None:
        farm_metric = metric[farmland]
        for i in candidates:
            ring = shapely.boundary(metric[i])
            neighbours = farm_tree.query(shapely.buffer(ring, 0.5), predicate="intersects")
            if not len(neighbours):
                continue
            touching = shapely.length(shapely.intersection(ring, shapely.buffer(
                shapely.union_all(farm_metric[neighbours]), 0.5)))
            share = touching / max(shapely.length(ring), 1e-9)
            if share >= p.island_farmland_share:
                emit(KIND_ISLAND, classes.name(codes[i]), [i],
                     tr("{name} {mu:.2f} 亩，边界 {share:.0%} 与耕地相邻").format(
                         name=classes.name(codes[i]), mu=to_mu(areas[i]), share=share))
    progress.step(100, "")
    table = pd.DataFrame(out_rows, columns=["kind", "subtype", "unit_id", "dlbm", "area_m2", "area_mu", "parcels",
                                            "reason"])
    return Candidates(table=table, geoms=np.asarray(out_geoms, dtype=object))


@dataclass
class ParcelPieces:
    """Each parcel's land inside each unit: the analysis's pieces grouped by (unit, parcel)."""

    geoms: np.ndarray  # overlay CRS
    parcel: np.ndarray
    codes: np.ndarray
    unit_ids: np.ndarray  # '' for the whole-area scope
    udb_share: np.ndarray  # share of the land inside the current 城镇开发边界


def parcel_pieces(analysis: Analysis) -> ParcelPieces:
    t = analysis.pieces.table
    on_parcel = t["parcel"].to_numpy() >= 0
    chosen = t[on_parcel]
    keys = chosen.groupby(["parcel", "unit"], sort=True).indices  # in survey order, as the parcels are
    area = chosen["area_m2"].to_numpy()
    in_udb = chosen["in_udb"].to_numpy(dtype=bool)
    geoms = analysis.pieces.geoms[on_parcel]
    baseline = analysis.baseline
    parcel = np.array([k[0] for k in keys], dtype=np.int64)
    unit = np.array([k[1] for k in keys], dtype=np.int64)
    members = list(keys.values())
    total = np.array([area[m].sum() for m in members])
    whole = baseline.whole_areas(parcel) if len(parcel) else np.zeros(0)
    # A parcel wholly inside its unit is its own geometry; only parcels a unit boundary cuts are unioned.
    entire = np.abs(total - whole) <= 1e-9 * np.maximum(whole, 1.0)
    out = np.empty(len(members), dtype=object)
    for k, m in enumerate(members):
        out[k] = baseline.landuse.geoms[parcel[k]] if entire[k] else (
            geoms[m[0]] if len(m) == 1 else shapely.union_all(geoms[m]))
    share = np.array([area[m][in_udb[m]].sum() for m in members]) / np.where(total > 0, total, 1.0)
    ids = np.array([analysis.unit_label(str(u)) for u in analysis.plan.unit_ids[unit]], dtype=object)
    return ParcelPieces(geoms=out, parcel=parcel, codes=baseline.parcel_table["code"].to_numpy()[parcel],
                        unit_ids=ids, udb_share=share)


def _nearest_distance(tree: STRtree | None, geom: BaseGeometry) -> float | None:
    if tree is None:
        return None
    _, distance = tree.query_nearest(geom, return_distance=True)
    return float(distance[0]) if len(distance) else None


def _metres(distance: float | None) -> str:
    return tr("（无）") if distance is None else tr("{d:.0f} 米").format(d=distance)


def _clusters(metric: np.ndarray, members: np.ndarray, gap: float) -> list[np.ndarray]:
    """Groups of ``members`` whose pieces lie within ``gap`` of each other (index arrays)."""
    if len(members) == 0:
        return []
    patches = find_patches(metric[members], np.ones(len(members)), gap, [])
    return [members[patches.piece_patch == k] for k in range(len(patches.table))]

