"""The scheme's layers as read (``SchemeLayers``) and the steps that bring them into the working frame:
validation, reprojection, overlap checks, and per-parcel booked areas (三调 convention).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..common.errors import DataError, InputError
from ..common.i18n import tr, translatable
from ..geometry.measure import WorkingFrame, to_mu
from ..geometry.overlay import (
    PartIndex,
    dissolve_groups,
    interior_overlaps,
    polygonal,
    robust,
)
from ..geometry.projection import CrsError, crs_facts
from ..ingest import validate as v
from ..ingest.layerdata import LayerData
from ..rules.land_use_sea import load_land_use_sea
from ..rules.landclasses import LandClasses
from ..rules.ruleset import Ruleset

if TYPE_CHECKING:
    import numpy.typing as npt

FLAG_LAYERS = ("pbf", "pbf_plan", "eco", "udb", "udb_plan")

# Overlaps between parcels or units above this (m²) are data errors, below it digitising noise.
OVERLAP_TOLERANCE_M2 = 0.01
# 地类图斑 overlapping each other (a parcel digitised twice, a boundary drawn over its neighbour) are
# counted once and reported; but when the land counted twice is more than this share of the layer's
# total area, the survey is not a survey of that land any more (a layer loaded twice, two years' surveys
# merged): figures from it would be meaningless, and the check is refused. 1 % is far above what
# digitising slips make (a few parcels in a 片区 of thousands) and below a doubled township.
MAX_PARCEL_OVERLAP_SHARE = 0.01


@dataclass
class SchemeLayers:
    """The raw inputs, as read by the I/O seam (any CRS each)."""

    units: LayerData | None = None
    landuse: LayerData | None = None
    pbf: LayerData | None = None
    projects: LayerData | None = None
    pbf_plan: LayerData | None = None
    eco: LayerData | None = None
    udb: LayerData | None = None
    udb_plan: LayerData | None = None
    townships: LayerData | None = None
    unit_id_field: str = "DYBH"
    udb_zone_field: str = "CZKFBJLX"  # 城镇开发边界 zone (城镇集中建设区, 弹性发展区, …), when present

    def first_layer(self) -> LayerData | None:
        """The first layer given, in the order whose CRS the working frame follows."""
        for name in ("landuse", "pbf", "pbf_plan", "eco", "udb", "udb_plan", "projects", "units", "townships"):
            layer = getattr(self, name)
            if layer is not None and len(layer):
                return layer
        return None



def to_frame(layer: LayerData, role: v.Role, frame: WorkingFrame) -> LayerData:
    """The layer in the overlay CRS; coordinates the transformation cannot place (a layer whose
    declared CRS is not the one its coordinates are in) are refused, not silently dropped."""
    geoms = frame.ingest(layer.geoms, layer.crs_wkt)
    if len(geoms):
        lost = ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
        if lost.any():
            raise InputError(tr("{layer}：{features} 转换到地类图斑的坐标系后坐标无效，"
                                "多半是图层设置的坐标系（{crs}）与数据实际的坐标系不符，请核对后重试。").format(
                layer=v.layer_label(layer, role), features=v.features_text(layer, lost), crs=crs_name(layer.crs_wkt)))
    return layer.with_geoms(geoms, frame.wkt)


def crs_name(wkt: str) -> str:
    try:
        facts = crs_facts(wkt)
    except CrsError:
        return tr("未知")
    return f"EPSG:{facts.epsg} {facts.name}" if facts.epsg else facts.name


def without_reprojection_slivers(geoms: np.ndarray) -> np.ndarray:
    """Parts that only touch where they were drawn can overlap by slivers once reprojected (a vertex
    on one side of a shared edge that the other side lacks leaves the straight line): the later
    feature gives way there, so the overlay never counts such a sliver twice."""
    slivers = interior_overlaps(geoms, 0.0)
    if not slivers:
        return geoms
    geoms = np.asarray(geoms, dtype=object).copy()
    for i, j, _ in sorted(slivers):
        geoms[j] = polygonal(robust(shapely.difference, np.array([geoms[j]], dtype=object), geoms[i]))[0]
    return geoms


@dataclass(frozen=True)
class ControlLine:
    """A control-line layer as a set of land: non-overlapping parts, each the union of the features
    that overlap there; ``labels`` are each part's values of a descriptive field (e.g. the 城镇开发边界
    zone), joined with "、" where features were merged."""

    parts: PartIndex
    labels: np.ndarray
    overlap_fids: tuple[tuple[int, int, float], ...] = ()  # (fid, fid, m²) of the features found overlapping


def flag_parts(layer: LayerData, role: v.Role, frame: WorkingFrame, report: v.Report,
               label_field: str = "", previous: ControlLine | None = None,
               changed_boxes: Sequence[Sequence[float]] | None = None) -> ControlLine:
    """A control-line layer (永久基本农田, 生态保护红线, 城镇开发边界) as a set of land.

    Features overlapping as drawn (above ``OVERLAP_TOLERANCE_M2``: duplicated polygons, a feature
    drawn twice, vendors' overlapping 三区三线) are unioned, so the land counts once, and reported.
    Slivers made by reprojection are left to the overlay, which merges them where pieces are cut.
    After an edit (the panel), ``previous`` and the edited area ``changed_boxes`` (the layer's CRS)
    limit the pair-by-pair check to the features there: the others keep the overlaps found before.
    """
    checked = v.polygons(layer, role, report)
    overlaps = _overlaps_since(checked, frame, previous, changed_boxes)
    ingested = to_frame(checked, role, frame)
    values = (ingested.column(label_field, "").map(lambda z: "" if z is None else str(z).strip()).to_numpy()
              if label_field else np.full(len(ingested), "", dtype=object))
    geoms, cluster = dissolve_groups(ingested.geoms, overlaps)
    labels = np.empty(len(geoms), dtype=object)
    labels[cluster] = values  # a part of one feature has its label; merged parts join theirs
    for k in np.flatnonzero(np.bincount(cluster, minlength=len(geoms)) > 1):
        labels[k] = "、".join(sorted(set(values[cluster == k]) - {""}))
    if overlaps:
        names = v.feature_names(checked)
        shown = "；".join(tr("{a} 与 {b}（{area:.2f} 平方米）").format(a=names[i], b=names[j], area=area)
                         for i, j, area in overlaps[: v.MAX_IDS_IN_MESSAGE])
        more = tr("等 {n} 处").format(n=len(overlaps)) if len(overlaps) > v.MAX_IDS_IN_MESSAGE else ""
        report.warn(tr("{layer}：要素相互重叠：{label} {pairs}{more}，合计 {total:.2f} 平方米。重叠部分已合并，面积只计一次。").format(
            layer=v.layer_label(checked, role), label=v.names_label(checked), pairs=shown, more=more,
            total=sum(a for _, _, a in overlaps)), role, checked.fids[sorted({k for i, j, _ in overlaps for k in (i, j)})])
    fids = checked.fids
    return ControlLine(parts=PartIndex.build(geoms), labels=labels,
                       overlap_fids=tuple((int(fids[i]), int(fids[j]), area) for i, j, area in overlaps))


def _overlaps_since(layer: LayerData, frame: WorkingFrame, previous: ControlLine | None,
                    changed_boxes: Sequence[Sequence[float]] | None) -> list[tuple[int, int, float]]:
    """Overlapping features (positions, m²): all checked, or only those in the changed boxes when the
    overlaps of the rest are known from ``previous``."""
    if previous is None or not changed_boxes or len(layer) == 0:
        return overlaps_m2(layer, frame, OVERLAP_TOLERANCE_M2)
    boxes = shapely.box(*np.asarray(changed_boxes, dtype=float).T)
    probes = np.unique(STRtree(layer.geoms).query(boxes, predicate="intersects")[1])
    fresh = overlaps_m2(layer, frame, OVERLAP_TOLERANCE_M2, among=probes)
    position = {int(f): k for k, f in enumerate(layer.fids)}
    probed = {int(f) for f in layer.fids[probes]}
    kept = [(position[a], position[b], area) for a, b, area in previous.overlap_fids
            if a in position and b in position and a not in probed and b not in probed]
    return sorted(set(fresh) | set(kept))


def overlaps_m2(layer: LayerData, frame: WorkingFrame, tolerance_m2: float,
                among: npt.ArrayLike | None = None) -> list[tuple[int, int, float]]:
    """Interior overlaps of a layer's features as drawn (in the layer's own CRS, where features that
    share an edge do not overlap), above ``tolerance_m2`` of ellipsoidal area: (i, j, m²)."""
    pairs = interior_overlaps(layer.geoms, 0.0, among=among)
    if not pairs:
        return []
    shared = robust(shapely.intersection, layer.geoms[[i for i, _, _ in pairs]], layer.geoms[[j for _, j, _ in pairs]])
    areas = frame.areas(frame.ingest(polygonal(shared), layer.crs_wkt))
    return [(i, j, float(area)) for (i, j, _), area in zip(pairs, areas) if area > tolerance_m2]


def refuse_overlaps(layer: LayerData, role: v.Role, frame: WorkingFrame, tolerance_m2: float,
                     labels: np.ndarray | None = None, among: npt.ArrayLike | None = None) -> None:
    overlaps = overlaps_m2(layer, frame, tolerance_m2, among=among)
    if not overlaps:
        return
    shown = []
    for i, j, area in overlaps[: v.MAX_IDS_IN_MESSAGE]:
        a = labels[i] if labels is not None else int(layer.fids[i])
        b = labels[j] if labels is not None else int(layer.fids[j])
        shown.append(tr("{a} 与 {b}（{area:.2f} 平方米）").format(a=a, b=b, area=area))
    raise DataError(tr("{layer}：要素相互重叠，面积会被重复统计：{pairs}。请先消除重叠。").format(
        layer=v.layer_label(layer, role), pairs="；".join(shown)))


def build_parcel_table(landuse: LayerData, classes: LandClasses, report: v.Report, with_township: bool) -> pd.DataFrame:
    """Per parcel: class, township, and what its booked areas are made of (三调 convention).

    A parcel's booked total is TBMJ and its class area TBDLMJ (KCMJ goes to 1203 田坎);
    without TBMJ/TBDLMJ the class area is area × (1 − KCXS), and without KCXS the area.
    A piece of a parcel books these pro rata to its share of the parcel's ellipsoidal area.
    Ellipsoidal areas of whole parcels are measured only when needed (``Baseline.booked``).
    """
    role = v.ROLES["landuse"]
    code = v.check_class_codes(landuse, role, "DLBM", classes, report)
    tbmj = v.numbers(landuse, role, "TBMJ", report).to_numpy()
    tbdlmj = v.numbers(landuse, role, "TBDLMJ", report).to_numpy()
    kcxs = v.numbers(landuse, role, "KCXS", report).to_numpy()
    kcmj = v.numbers(landuse, role, "KCMJ", report).to_numpy()
    v.survey_identities(landuse, role, tbmj, kcxs, kcmj, tbdlmj, report)
    booked = ~np.isnan(tbmj) & ~np.isnan(tbdlmj) & (tbmj > 0)
    v.deduction_ratios(landuse, role, kcxs, used=~booked, report=report)
    table = pd.DataFrame({
        "code": code.to_numpy(),
        "booked": booked,
        "tbmj": np.where(booked, tbmj, np.nan),
        "tbdlmj": np.where(booked, tbdlmj, np.nan),
        "area_factor": np.where(np.isnan(kcxs), 1.0, 1.0 - np.nan_to_num(kcxs)),
        "is_farmland": code.map(classes.is_farmland).to_numpy(dtype=bool),
        "czcsxm": v.codes(landuse, "CZCSXM").to_numpy(),
        "gddb": v.numbers(landuse, role, "GDDB", report).to_numpy(),
        "gdpdjb": v.codes(landuse, "GDPDJB").to_numpy(),
        "bsm": landuse.column("BSM", "").map(lambda b: "" if b is None else str(b)).to_numpy(),
    })
    if with_township:
        table["township"] = v.township_codes_from_landuse(landuse, role).to_numpy()
    return table


def parcels_to_check(landuse: LayerData, scope: np.ndarray | None) -> np.ndarray:
    """Positions of the parcels whose overlaps are looked for on read: those whose bounding boxes meet
    ``scope`` (the units, in the frame), or all when there is no scope (the whole area is analysed).
    Checking pair by pair costs ~50 µs a parcel: a county's 300,000 would take longer than the rest of
    the read; the units' parcels are what the figures come from."""
    if scope is None:
        return np.arange(len(landuse))
    scope = np.asarray(scope, dtype=object)
    scope = scope[~(shapely.is_missing(scope) | shapely.is_empty(scope))] if len(scope) else scope
    if len(scope) == 0 or len(landuse) == 0:
        return copied_parcels(landuse.geoms)
    boxes = shapely.box(*shapely.bounds(scope).T)
    return np.union1d(STRtree(landuse.geoms).query(boxes)[1], copied_parcels(landuse.geoms))


def copied_parcels(geoms: np.ndarray) -> np.ndarray:
    """Positions of the parcels whose geometry is byte for byte another's (a parcel pasted twice), over
    the whole layer wherever they lie: township figures sum parcels far from the units too. Hashing the
    WKB costs ~0.2 s for a county, unlike looking for every overlap."""
    if len(geoms) < 2:
        return np.empty(0, dtype=np.int64)
    wkb = pd.Series(shapely.to_wkb(geoms), dtype=object)
    return np.flatnonzero((wkb.duplicated(keep=False) & wkb.notna()).to_numpy())


def resolve_parcel_overlaps(landuse: LayerData, table: pd.DataFrame, frame: WorkingFrame, report: v.Report,
                            among: np.ndarray, sliver_m2: float) -> LayerData:
    """Overlapping 地类图斑 (``landuse`` in the frame) counted once: of two overlapping parcels the one
    with the smaller feature id (the earlier one) keeps the land, the other loses the overlap; the kept
    part of a trimmed parcel books TBMJ and TBDLMJ in proportion to its remaining area (``table`` is
    updated). Overlaps above ``OVERLAP_TOLERANCE_M2`` are reported by BSM; land counted twice above
    ``MAX_PARCEL_OVERLAP_SHARE`` of the layer's total area is refused. Overlaps below ``sliver_m2`` are
    left to the overlay, which ignores them too."""
    if len(among) == 0 or len(landuse) < 2:
        return landuse
    found = [(i, j, a) for i, j, a in overlaps_m2(landuse, frame, 0.0, among=among) if a > sliver_m2]
    if not found:
        return landuse
    fids = landuse.fids
    # (keeper, loser): the smaller feature id keeps the land; position breaks a tie of equal ids.
    pairs = [(i, j, a) if (fids[i], i) < (fids[j], j) else (j, i, a) for i, j, a in found]
    pairs.sort(key=lambda p: (fids[p[0]], fids[p[1]]))
    original = landuse.geoms
    geoms = original.copy()
    losers = sorted({j for _, j, _ in pairs})
    for j in losers:
        keepers = [i for i, jj, _ in pairs if jj == j]
        # Against the keepers as read, not as trimmed: land three parcels share stays with the first.
        geoms[j] = polygonal(robust(shapely.difference, np.array([original[j]], dtype=object),
                                    np.array([shapely.union_all(original[keepers])], dtype=object)))[0]
    lost = np.array(losers, dtype=np.int64)
    before = frame.areas(original[lost])
    after = frame.areas(geoms[lost])
    removed = float((before - after).sum())
    layer_m2 = layer_area_m2(landuse, table, frame)
    role = v.ROLES["landuse"]
    names = v.feature_names(landuse)
    shown_pairs = [p for p in pairs if p[2] > OVERLAP_TOLERANCE_M2]
    listing = "；".join(tr("{a} 与 {b}（{area:.2f} 平方米）").format(a=names[i], b=names[j], area=a)
                       for i, j, a in shown_pairs[: v.MAX_IDS_IN_MESSAGE])
    more = tr(" 等 {n} 处").format(n=len(shown_pairs)) if len(shown_pairs) > v.MAX_IDS_IN_MESSAGE else ""
    if layer_m2 > 0 and removed > MAX_PARCEL_OVERLAP_SHARE * layer_m2:
        raise DataError(tr("{layer}：要素相互重叠，面积会被重复统计：{label} {pairs}{more}；重叠 {count} 处，"
                           "重复面积合计 {total:.2f} 平方米（{mu:.2f} 亩），占图层总面积的 {share:.1f}%，"
                           "超过 {limit:g}%，统计已无意义。请先消除重叠（删除重复录入的图斑、修正重叠的边界）后再检查。").format(
            layer=v.layer_label(landuse, role), label=v.names_label(landuse), pairs=listing, more=more,
            count=len(shown_pairs), total=removed, mu=to_mu(removed), share=removed / layer_m2 * 100,
            limit=MAX_PARCEL_OVERLAP_SHARE * 100))
    if shown_pairs:
        report.warn(tr("{layer}：要素相互重叠（重复录入或边界重叠）：{label} {pairs}{more}；重叠 {count} 处，"
                       "合计 {total:.2f} 平方米（{mu:.2f} 亩）。重叠部分只计一次：归要素号较小的图斑，"
                       "另一图斑去掉重叠部分，其 TBMJ、TBDLMJ 按剩余面积的比例计入。请核查并消除重叠。").format(
            layer=v.layer_label(landuse, role), label=v.names_label(landuse), pairs=listing, more=more,
            count=len(shown_pairs), total=removed, mu=to_mu(removed)), role,
            fids[sorted({k for i, j, _ in shown_pairs for k in (i, j)})])
    kept = np.where(before > 0, after / np.where(before > 0, before, 1.0), 0.0)
    for column in ("tbmj", "tbdlmj"):
        values = table[column].to_numpy(dtype=float).copy()
        values[lost] = values[lost] * kept
        table[column] = values
    return landuse.with_geoms(geoms, landuse.crs_wkt)


def layer_area_m2(landuse: LayerData, table: pd.DataFrame, frame: WorkingFrame) -> float:
    """The layer's total area, for the share of it counted twice: TBMJ where booked, elsewhere the plane
    area in the frame (within 10⁻⁴ of the ellipsoidal on Gauss–Krüger; enough for a share, and it spares
    reprojecting a county's parcels)."""
    booked = table["booked"].to_numpy()
    plane = shapely.area(landuse.geoms[~booked]).sum() * frame.metres_per_unit ** 2 if (~booked).any() else 0.0
    return float(np.nansum(table["tbmj"].to_numpy(dtype=float)[booked]) + plane)


def booked_areas(table: pd.DataFrame, whole: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(total, class area) of parcels ``idx`` given their whole ellipsoidal areas."""
    booked = table["booked"].to_numpy()[idx]
    total = np.where(booked, table["tbmj"].to_numpy()[idx], whole)
    main = np.where(booked, table["tbdlmj"].to_numpy()[idx], whole * table["area_factor"].to_numpy()[idx])
    return total, main


# The two 用地用海 vocabularies (rules/landuse_sea_to_sandiao.yaml), as messages name them.
LAND_USE_SEA_VERSIONS = {"2023": translatable("2023 年版用地用海分类（自然资发〔2023〕234号）"),
                         "2020": translatable("2020 年试行版用地用海分类（自然资办发〔2020〕51号）")}


def planned_classes_from_land_use_sea(projects: LayerData, report: v.Report) -> LayerData:
    """A 子项目 layer that gives its planned classes as 用地用海 codes (YDYHFLDM) and no GHDLBM (三调
    codes), with GHDLBM mapped from them. The vocabulary is known from the field, never guessed from
    the codes (0601 is 工业用地 in 三调, a road in 用地用海); its version is the one all codes belong to
    (2023 where both fit). A code without a single 三调 class (01 耕地 unspecified, sea use, 留白用地)
    or of neither version is refused, as unknown GHDLBM codes are."""
    if "GHDLBM" in projects.attrs.columns or "YDYHFLDM" not in projects.attrs.columns:
        return projects
    role = v.ROLES["projects"]
    table = load_land_use_sea()
    raw = projects.attrs["YDYHFLDM"]
    version = table.guess_version(raw) or table.default_version
    mapped, unmapped = table.map_codes(raw, version)
    vocabulary = tr(LAND_USE_SEA_VERSIONS.get(version, version))
    if unmapped:
        def why(code: str) -> str:
            if not code:
                return tr("（空）")
            if table.is_known(code, version):
                return tr("{code} {name}（无唯一对应的三调地类，请填到下一级）").format(code=code,
                                                                         name=table.name(code, version))
            return tr("{code}（不是该分类的编码）").format(code=code)

        raise InputError(tr("{layer} 字段 YDYHFLDM：按{vocabulary}读取，{features} 的规划地类无法换算为三调地类：{codes}。"
                            "请改填可换算的用地用海编码，或改用 GHDLBM 字段填三调地类编码。").format(
            layer=v.layer_label(projects, role), vocabulary=vocabulary,
            features=v.features_text(projects, (mapped == "").to_numpy()),
            codes="、".join(tr("{what} {n} 个").format(what=why(code), n=n) for code, n in unmapped.items())))
    pairs = sorted({(table.canonical(c, version), m) for c, m in zip(raw, mapped)})
    shown = "、".join(f"{code}→{sandiao}" for code, sandiao in pairs[: v.MAX_IDS_IN_MESSAGE])
    report.warn(tr("{layer}没有 GHDLBM（三调规划地类编码），已按{vocabulary}读取 YDYHFLDM 并换算为三调地类：{pairs}{more}"
                   "（对应表 rules/landuse_sea_to_sandiao.yaml）。").format(
        layer=v.layer_label(projects, role), vocabulary=vocabulary, pairs=shown,
        more=tr(" 等 {n} 种").format(n=len(pairs)) if len(pairs) > v.MAX_IDS_IN_MESSAGE else ""))
    attrs = projects.attrs.copy()
    attrs["GHDLBM"] = mapped.to_numpy()
    return replace(projects, attrs=attrs)


def build_project_table(projects: LayerData, classes: LandClasses, ruleset: Ruleset, report: v.Report) -> pd.DataFrame:
    role = v.ROLES["projects"]
    code_after = v.check_class_codes(projects, role, "GHDLBM", classes, report=None)
    types = projects.column("XMLX", "").map(lambda t: "" if t is None else str(t).strip())
    unknown = ~types.isin(ruleset.all_project_types).to_numpy()
    if unknown.any():
        report.warn(tr("{layer} 字段 XMLX：{features} 的子项目类型 {types} 不在规则集的类型表中，按“其他”统计。").format(
            layer=v.layer_label(projects, role), features=v.features_text(projects, unknown),
            types="、".join(sorted(set(types[unknown])))), role, projects.fids[unknown])
    raw_ids = projects.column("XMBH", None)
    ids = [str(x).strip() if x not in (None, "") and not (isinstance(x, float) and np.isnan(x))
           else tr("要素{fid}").format(fid=int(f)) for x, f in zip(raw_ids, projects.fids)]
    kcxs = v.numbers(projects, role, "KCXS", report).to_numpy()
    v.deduction_ratios(projects, role, kcxs, used=np.ones(len(kcxs), dtype=bool), report=report)
    return pd.DataFrame({"id": ids, "type": types.to_numpy(), "code_after": code_after.to_numpy(), "kcxs": kcxs,
                         "name": projects.column("XMMC", "").to_numpy()})


def _kcxs_text(value: float) -> str:
    return tr("未填") if np.isnan(value) else f"{value:g}"


def non_overlapping_projects(drawn: LayerData, projects: LayerData, table: pd.DataFrame, ruleset: Ruleset,
                              frame: WorkingFrame) -> np.ndarray:
    """子项目 as non-overlapping parts in the overlay frame; overlaps (as drawn) with different
    planned classes are a data error."""
    overlaps = overlaps_m2(drawn, frame, ruleset.project_overlap_tolerance_m2)
    codes = table["code_after"].to_numpy()
    ids = table["id"].to_numpy()
    conflicting = [(i, j, a) for i, j, a in overlaps if codes[i] != codes[j]]
    if conflicting:
        shown = "；".join(tr("{a}（{ca}）与 {b}（{cb}）重叠 {area:.2f} 亩（{m2:.1f} 平方米）").format(
            a=ids[i], ca=codes[i], b=ids[j], cb=codes[j], area=to_mu(area), m2=area)
            for i, j, area in conflicting[: v.MAX_IDS_IN_MESSAGE])
        raise DataError(tr("子项目相互重叠且规划地类不同，无法确定规划后的地类：{pairs}。请调整子项目范围。").format(
            pairs=shown))
    # The same class with different deductions would make the overlap's class area depend on which
    # project comes first in the layer: refused as well.
    kcxs = table["kcxs"].to_numpy(dtype=float)
    differing = [(i, j, a) for i, j, a in overlaps
                 if not (kcxs[i] == kcxs[j] or (np.isnan(kcxs[i]) and np.isnan(kcxs[j])))]
    if differing:
        shown = "；".join(tr("{a}（KCXS {ka}）与 {b}（KCXS {kb}）重叠 {area:.2f} 亩").format(
            a=ids[i], ka=_kcxs_text(kcxs[i]), b=ids[j], kb=_kcxs_text(kcxs[j]), area=to_mu(area))
            for i, j, area in differing[: v.MAX_IDS_IN_MESSAGE])
        raise DataError(tr("子项目相互重叠、规划地类相同但扣除系数不同，无法确定重叠部分的扣除：{pairs}。"
                           "请调整子项目范围或统一扣除系数。").format(pairs=shown))
    # Same-class overlaps, and overlaps below the tolerance or made by reprojection: the later
    # project (input order) gives way, so area counts once.
    return without_reprojection_slivers(projects.geoms)

