"""The one entry point where inputs are checked and normalised before any computation.

Bad input is refused with an ``InputError`` whose message names the layer, the
field and the feature ids; what can be repaired without changing a figure a
planner would dispute (an invalid ring made valid, a null geometry skipped) is
repaired and reported as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence, SupportsInt

import numpy as np
import pandas as pd
import shapely

from ..common.errors import InputError
from ..common.i18n import tr, translatable
from ..geometry.measure import to_mu
from ..geometry.overlay import polygonal
from ..geometry.projection import crs_facts
from ..rules.landclasses import LandClasses, normalise_code
from .layerdata import LayerData

MAX_IDS_IN_MESSAGE = 10

# 三调 areas are booked to 0.01 m²: KCMJ = round(TBMJ × KCXS, 2) is off TBMJ × KCXS by up to 0.005 m², and
# TBDLMJ = TBMJ − KCMJ holds exactly on the rounded figures. A difference above this (m²) is not rounding:
# the survey's figures disagree with each other.
SURVEY_AREA_TOLERANCE_M2 = 0.01
# A polygon part below this (m²) is a sliver: digitising debris, below what the survey books (0.01 m²).
SLIVER_TOLERANCE_M2 = 0.01


@dataclass(frozen=True)
class Role:
    """What a layer is for: its label in messages and the fields the engine reads."""

    key: str
    label: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


ROLES = {
    "units": Role("units", translatable("整治单元"), optional=("DYMC", "PQMC", "RWLX", "RK", "人口", "HJRK", "CZRK")),
    "landuse": Role("landuse", translatable("地类图斑"), required=("DLBM",),
                    optional=("BSM", "DLMC", "ZLDWDM", "ZLDWMC", "TBMJ", "KCXS", "KCMJ", "TBDLMJ", "CZCSXM", "GDDB",
                              "GDPDJB")),
    "projects": Role("projects", translatable("子项目"), required=("XMLX", "GHDLBM"),
                     optional=("XMBH", "XMMC", "KCXS", "TZ", "KSNF", "JSNF", "DYBH", "SZXZ", "SZC", "JSGM",
                               "ZJLY", "SSZT", "YDYHFLDM")),
    # Control lines are read for their land; BSM only to name features in messages.
    "pbf": Role("pbf", translatable("现状永久基本农田"), optional=("BSM",)),
    "pbf_plan": Role("pbf_plan", translatable("规划永久基本农田"), optional=("BSM",)),
    "eco": Role("eco", translatable("生态保护红线"), optional=("BSM",)),
    "udb": Role("udb", translatable("现状城镇开发边界"), optional=("BSM",)),
    "udb_plan": Role("udb_plan", translatable("规划城镇开发边界"), optional=("BSM",)),
    "townships": Role("townships", translatable("乡镇行政区"), required=("XZQDM",), optional=("XZQMC",)),
}

class Notice(str):
    """A warning's text that also knows what it is about: the layer's role (a ``ROLES`` key) and the
    feature ids it names, so the panel selects them without reading the text. Everything else uses
    it as the plain string it is."""

    role: str
    fids: tuple[int, ...]

    def __new__(cls, text: str, role: str = "", fids: Iterable[SupportsInt] = ()) -> "Notice":
        notice = super().__new__(cls, text)
        notice.role = role
        notice.fids = tuple(int(f) for f in fids)
        return notice


@dataclass
class Report:
    """Warnings collected while preparing the inputs (shown to the planner, never silent)."""

    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str, role: Role | None = None, fids: Iterable[SupportsInt] = ()) -> None:
        """Add a warning; ``role`` and ``fids`` say which layer's features it names."""
        self.warnings.append(Notice(text, role.key if role is not None else "", fids))


def id_list(names: Iterable[object]) -> str:
    """The first ``MAX_IDS_IN_MESSAGE`` names (feature ids or 标识码), and 等 when there are more."""
    every = list(names)
    text = "、".join(_text(f) for f in every[:MAX_IDS_IN_MESSAGE])
    return text + (tr(" 等 {n} 个").format(n=len(every)) if len(every) > MAX_IDS_IN_MESSAGE else "")


# The fields planners know their features by, first found wins: 标识码 of 三调 layers, 子项目编号,
# 单元编号. Messages name features by it, by feature id where a layer has none (or it is empty).
NAME_FIELDS = (("BSM", translatable("标识码 BSM")), ("XMBH", translatable("子项目编号 XMBH")),
               ("DYBH", translatable("单元编号 DYBH")))


def _name_field(layer: LayerData) -> tuple[str, str] | None:
    return next(((name, label) for name, label in NAME_FIELDS if name in layer.attrs.columns), None)


def feature_names(layer: LayerData) -> np.ndarray:
    """How messages name each feature: its BSM / XMBH / DYBH where the layer has one, else its feature id."""
    fids = np.array([str(int(f)) for f in layer.fids], dtype=object)
    named = _name_field(layer)
    if named is None:
        return fids
    values = layer.attrs[named[0]].map(_text).to_numpy(dtype=object)
    return np.where(values != "", values, fids).astype(object)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value).strip()


def names_label(layer: LayerData) -> str:
    """What the names of ``feature_names`` are, for the message."""
    named = _name_field(layer)
    return tr(named[1]) if named is not None else tr("要素号")


def features_text(layer: LayerData, mask: np.ndarray) -> str:
    """'标识码 BSM 3302…、3302…' (or '要素号 4、9'): the masked features as a message names them."""
    return f"{names_label(layer)} {id_list(feature_names(layer)[np.asarray(mask)])}"


def layer_label(layer: LayerData, role: Role) -> str:
    return tr("图层“{layer}”（{role}）").format(layer=layer.name, role=tr(role.label))


# Set by the I/O seam on a layer it has just read (``note_linearised``): the fids of the features whose
# arcs it replaced by chords, and the largest distance of a chord from its arc (metres).
LINEARISED = "linearised_curves"


def note_linearised(layer: LayerData, fids: Iterable[SupportsInt], tolerance_m: float) -> LayerData:
    """Note on ``layer`` that the reader linearised the curves of ``fids`` (``polygons`` reports it)."""
    linearised = np.asarray([int(f) for f in fids], dtype=np.int64)
    if len(linearised):
        setattr(layer, LINEARISED, (linearised, float(tolerance_m)))
    return layer


def defined_crs(layer: LayerData, role: Role) -> None:
    """Refuse a layer whose CRS is not defined (a shapefile without .prj): its coordinates cannot be
    placed, so neither overlaid with the others nor measured on the ellipsoid."""
    if not layer.crs_wkt:
        raise InputError(tr("{layer}没有定义坐标系，无法与其他图层叠加，也无法计算椭球面积。请在图层属性 → 源 中设置"
                            "数据实际的坐标系（如 CGCS2000 3 度带 EPSG:4549 或经纬度 EPSG:4490），"
                            "Shapefile 可补上 .prj 文件，然后重试。").format(layer=layer_label(layer, role)))


# shapely's type ids as QGIS names them (the planner reads these in the layer's properties)
GEOMETRY_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
                       5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}

# Layers that, given but empty, are more likely the wrong layer chosen than land without them.
WARN_IF_EMPTY = ("pbf", "eco", "udb", "townships")


def given_layers(layers: Mapping[str, LayerData | None], report: Report) -> None:
    """Before any work: every given layer has a CRS; an empty control line or township layer is
    said (the figures then go without it)."""
    for key, layer in layers.items():
        if layer is None:
            continue
        defined_crs(layer, ROLES[key])
        if len(layer) == 0 and key in WARN_IF_EMPTY:
            report.warn(tr("{layer}没有要素，按没有该图层计算；如选错了图层，请重新选择。").format(
                layer=layer_label(layer, ROLES[key])))


def renamed_fields(layer: LayerData, role: Role, report: Report) -> None:
    """Tell the planner which fields were read under another name (地类编码 for DLBM …)."""
    if layer.renamed_fields:
        report.warn(tr("{layer}没有字段 {wanted}，已按同名含义的字段读取：{pairs}。若含义不同，请把字段改名后重试。").format(
            layer=layer_label(layer, role), wanted="、".join(wanted for wanted, _ in layer.renamed_fields),
            pairs="、".join(tr("“{actual}”作 {wanted}").format(actual=actual, wanted=wanted)
                           for wanted, actual in layer.renamed_fields)))


def undeclared_encoding(layer: LayerData, role: Role, report: Report) -> None:
    """Tell the planner a shapefile's text was read as GBK though its .dbf does not say so (or could
    not be, its layer having unsaved edits): names and codes depend on it."""
    if not layer.undeclared_encoding:
        return
    encoding, example = layer.undeclared_encoding
    if encoding:
        report.warn(tr("{layer}的 .dbf 没有声明编码（无 .cpg 文件），其文字不是 UTF-8，已按 {encoding} 读取"
                       "（如“{example}”）。请核对名称；为免歧义，可在 .shp 旁放一个同名 .cpg 文件，内容为 {encoding}。").format(
            layer=layer_label(layer, role), encoding=encoding, example=example))
    else:
        report.warn(tr("{layer}的 .dbf 没有声明编码，其文字看来是 GBK，但图层有未保存的编辑，只能按 QGIS 当前的编码读取，"
                       "名称会成乱码（文件中的“{example}”等）。请保存编辑，在图层属性 → 源 中把数据源编码设为 GBK 后重试。").format(
            layer=layer_label(layer, role), example=example))


def polygons(layer: LayerData, role: Role, report: Report) -> LayerData:
    """The checks every layer goes through first: CRS defined, fields found under other names
    reported, non-polygon layers refused; empty geometries skipped and invalid ones repaired,
    with warnings."""
    defined_crs(layer, role)
    renamed_fields(layer, role, report)
    undeclared_encoding(layer, role, report)
    linearised = getattr(layer, LINEARISED, None)
    if linearised is not None:
        fids, tolerance_m = linearised
        report.warn(tr("{layer}有 {n} 个要素含曲线（{features}），已按最大偏差 {tolerance:g} 米折线化后参与计算。").format(
            layer=layer_label(layer, role), n=len(fids), features=features_text(layer, np.isin(layer.fids, fids)),
            tolerance=tolerance_m), role, fids)
    geoms = np.asarray(layer.geoms, dtype=object)
    if len(geoms) == 0:
        return layer
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        report.warn(tr("{layer}：{features} 无几何，已跳过。").format(
            layer=layer_label(layer, role), features=features_text(layer, missing)), role, layer.fids[missing])
        layer = layer.take(np.flatnonzero(~missing))
        geoms = layer.geoms
    types = shapely.get_type_id(geoms)
    polygonal_types = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))
    wrong = ~np.isin(types, polygonal_types)
    if wrong.any():
        raise InputError(tr("{layer} 应为面图层：{features} 不是面（{kinds}）。请选择面图层。").format(
            layer=layer_label(layer, role), features=features_text(layer, wrong),
            kinds="、".join(sorted({GEOMETRY_TYPE_NAMES.get(int(t), str(t)) for t in types[wrong]}))))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = geoms.copy()
        repaired[invalid] = repair(geoms[invalid])
        report.warn(tr("{layer}：{features} 几何无效（自相交、部件重叠等），已修复后参与计算"
                       "（各部件分别修复后合并，重叠处只计一次），请核查原数据。").format(
            layer=layer_label(layer, role), features=features_text(layer, invalid)), role, layer.fids[invalid])
        keep = ~shapely.is_empty(repaired)
        layer = layer.with_geoms(repaired, layer.crs_wkt).take(np.flatnonzero(keep))
    return without_slivers(layer, role, report)


def approximate_m2(geoms: np.ndarray, crs_wkt: str) -> np.ndarray:
    """Plane areas in m² (to a few per mille: enough to tell a sliver from land), in any CRS."""
    facts = crs_facts(crs_wkt)
    areas = shapely.area(geoms) * facts.metres_per_unit ** 2
    if facts.is_geographic and len(geoms):
        latitude = shapely.get_y(shapely.centroid(geoms))
        # Off the globe (a layer whose declared CRS is not its coordinates'): no area, no sliver;
        # reprojecting refuses such a layer with the reason (layers.to_frame).
        areas = np.where(np.abs(latitude) <= 90.0, areas * np.cos(np.radians(latitude)), np.inf)
    return np.asarray(areas, dtype=float)


def without_slivers(layer: LayerData, role: Role, report: Report) -> LayerData:
    """Polygon parts smaller than ``SLIVER_TOLERANCE_M2`` (digitising debris: a spike left by a snap, a
    part of a few square centimetres) are left out, all of a layer's in one warning."""
    if len(layer) == 0:
        return layer
    parts, owner = shapely.get_parts(layer.geoms, return_index=True)
    small = approximate_m2(parts, layer.crs_wkt) < SLIVER_TOLERANCE_M2
    if not small.any():
        return layer
    affected = np.zeros(len(layer), dtype=bool)
    affected[owner[small]] = True
    geoms = layer.geoms.copy()
    for k in np.flatnonzero(affected):
        kept = parts[(owner == k) & ~small]
        geoms[k] = shapely.multipolygons(kept) if len(kept) else None
    total = float(approximate_m2(parts[small], layer.crs_wkt).sum())
    report.warn(tr("{layer}：{n} 处面积小于 {tol:g} 平方米的碎片（{features}）未参与计算，合计约 {total:.4f} 平方米"
                   "（数字化残留，不影响以 0.01 亩计的结果）。").format(
        layer=layer_label(layer, role), n=int(small.sum()), tol=SLIVER_TOLERANCE_M2,
        features=features_text(layer, affected), total=total), role, layer.fids[affected])
    layer = layer.with_geoms(geoms, layer.crs_wkt)
    return layer.take(np.flatnonzero(~shapely.is_missing(geoms)))


def repair(geoms: np.ndarray) -> np.ndarray:
    """Valid polygons for invalid ones, as a planner drew them: each part made valid on its own,
    then the parts merged. make_valid on the whole would turn the overlap of two parts of one
    multipart feature into a hole, removing land the planner included twice."""
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    fixed = polygonal(shapely.make_valid(parts))
    out = np.empty(len(geoms), dtype=object)
    for k in range(len(geoms)):
        mine = fixed[owner == k]
        out[k] = mine[0] if len(mine) == 1 else shapely.union_all(mine)
    return polygonal(out)


def require_fields(layer: LayerData, role: Role, fields: Sequence[str] | None = None) -> None:
    fields = role.required if fields is None else fields
    missing = [f for f in fields if f not in layer.attrs.columns]
    if missing:
        raise InputError(tr("{layer} 缺少字段 {fields}（现有字段：{present}）。").format(
            layer=layer_label(layer, role), fields="、".join(missing),
            present="、".join(map(str, layer.available_fields)) or tr("无")))


def codes(layer: LayerData, name: str) -> pd.Series:
    return layer.column(name, "").map(normalise_code)


def numbers(layer: LayerData, role: Role, name: str, report: Report) -> pd.Series:
    """A numeric field (NaN where null); text that is not a number is reported."""
    raw = layer.column(name, None)
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        report.warn(tr("{layer} 字段 {field}：{features} 的值不是数字，按空值处理。").format(
            layer=layer_label(layer, role), field=name, features=features_text(layer, bad.to_numpy())),
            role, layer.fids[bad.to_numpy()])
    return values


def deduction_ratios(layer: LayerData, role: Role, kcxs: np.ndarray, used: np.ndarray, report: Report) -> None:
    """KCXS is a ratio in [0, 1). Out of range (often a percentage typed as 12.5) it is refused where
    it decides an area (no TBMJ/TBDLMJ), and reported where TBDLMJ makes it unused."""
    bad = ~np.isnan(kcxs) & ((kcxs < 0) | (kcxs >= 1))
    if not bad.any():
        return
    text = tr("{layer} 字段 KCXS：{features} 的扣除系数 {values} 不在 0 与 1 之间（应为小数，如 0.12，而非百分数）").format(
        layer=layer_label(layer, role), features=features_text(layer, bad),
        values="、".join(f"{x:g}" for x in kcxs[bad][:MAX_IDS_IN_MESSAGE]))
    if (bad & used).any():
        raise InputError(text + tr("。"))
    report.warn(text + tr("；这些图斑有 TBDLMJ，按 TBDLMJ 统计，未用此值。"), role, layer.fids[bad])


def survey_identities(layer: LayerData, role: Role, tbmj: np.ndarray, kcxs: np.ndarray, kcmj: np.ndarray,
                      tbdlmj: np.ndarray, report: Report) -> None:
    """三调 books TBDLMJ = TBMJ − KCMJ and KCMJ = TBMJ × KCXS (rounded to 0.01 m²). Parcels where either
    identity fails by more than ``SURVEY_AREA_TOLERANCE_M2`` are reported (not refused: the figures are
    the survey's own); only where the fields are in the layer and filled. The statistics use TBMJ and
    TBDLMJ as recorded (田坎 = TBMJ − TBDLMJ), KCXS only for parcels without them."""
    columns = set(layer.attrs.columns)
    names = feature_names(layer)
    if {"TBMJ", "KCMJ", "TBDLMJ"} <= columns:
        _report_mismatch(layer, role, names, tbdlmj - (tbmj - kcmj), report, tr(
            "TBDLMJ（图斑地类面积）与 TBMJ（图斑面积）− KCMJ（扣除面积）不符"),
            tr("统计按 TBDLMJ 原值计入地类面积，TBMJ − TBDLMJ 计入田坎（1203）"))
    if {"TBMJ", "KCXS", "KCMJ"} <= columns:
        _report_mismatch(layer, role, names, kcmj - tbmj * kcxs, report, tr(
            "KCMJ（扣除面积）与 TBMJ（图斑面积）× KCXS（扣除系数）不符"),
            tr("有 TBDLMJ 的图斑统计按 TBDLMJ 原值计入，未用 KCMJ 与 KCXS；无 TBDLMJ 的图斑按 1 − KCXS 折算"))


def _report_mismatch(layer: LayerData, role: Role, names: np.ndarray, difference: np.ndarray, report: Report,
                     what: str, used: str) -> None:
    off = np.abs(difference)
    bad = ~np.isnan(off) & (off > SURVEY_AREA_TOLERANCE_M2 + 1e-9)
    if not bad.any():
        return
    positions = np.flatnonzero(bad)
    shown = "、".join(tr("{name}（相差 {diff:.2f} 平方米）").format(name=names[k], diff=float(off[k]))
                     for k in positions[:MAX_IDS_IN_MESSAGE])
    more = tr(" 等 {n} 个").format(n=len(positions)) if len(positions) > MAX_IDS_IN_MESSAGE else ""
    total = float(off[bad].sum())
    report.warn(tr("{layer}：{count} 个图斑的 {what}（容差 {tol} 平方米）：{label} {shown}{more}；"
                   "最大相差 {largest:.2f} 平方米，合计相差 {total:.2f} 平方米（{mu:.2f} 亩）。{used}；"
                   "请核对这些图斑的面积字段。").format(
        layer=layer_label(layer, role), count=len(positions), what=what, tol=f"{SURVEY_AREA_TOLERANCE_M2:g}",
        label=names_label(layer), shown=shown, more=more, largest=float(off[bad].max()), total=total,
        mu=to_mu(total), used=used), role, layer.fids[bad])


def unit_ids(layer: LayerData, role: Role, id_field: str) -> pd.Series:
    require_fields(layer, role, (id_field,))
    ids = layer.attrs[id_field].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                                    else str(v).strip())
    empty = (ids == "").to_numpy()
    if empty.any():
        raise InputError(tr("{layer} 字段 {field}：要素 {ids} 的单元编号为空。").format(
            layer=layer_label(layer, role), field=id_field, ids=id_list(layer.fids[empty])))
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise InputError(tr("{layer} 字段 {field}：单元编号重复（{values}，要素 {ids}）。").format(
            layer=layer_label(layer, role), field=id_field,
            values="、".join(sorted(set(ids[duplicated]))), ids=id_list(layer.fids[duplicated])))
    return ids


def township_codes_from_landuse(layer: LayerData, role: Role) -> pd.Series:
    require_fields(layer, role, ("ZLDWDM",))
    zl = layer.attrs["ZLDWDM"].map(normalise_code)
    bad = ~zl.str.match(r"^\d{9}").to_numpy()
    if bad.any():
        raise InputError(tr("{layer} 字段 ZLDWDM：{features} 的坐落单位代码不足 9 位数字，无法确定所属乡镇；"
                            "请提供乡镇行政区图层（TOWNSHIPS）。").format(
            layer=layer_label(layer, role), features=features_text(layer, bad)))
    return zl.str[:9]


def check_class_codes(layer: LayerData, role: Role, field_name: str, classes: LandClasses,
                      report: Report | None) -> pd.Series:
    """Normalised class codes; unknown codes refuse (plans) or warn (baseline survey data)."""
    values = codes(layer, field_name)
    unknown = ~values.map(classes.is_known).to_numpy()
    # A code whose leading zero a spreadsheet or a numeric field dropped (101 for 0101) is restored.
    padded = values.map(lambda c: "0" + c if len(c) in (3, 4) and c[0].isdigit() and c[0] != "0" else c)
    restored = unknown & padded.map(classes.is_known).to_numpy()
    if restored.any() and report is not None:  # plans (no report) are refused instead, to be fixed at source
        text = tr("{layer} 字段 {field}：{features} 的地类编码缺少首位 0（如 {example}），已按 {fixed} 读取；"
                  "请把该字段改为文本类型。").format(
            layer=layer_label(layer, role), field=field_name, features=features_text(layer, restored),
            example=values[restored].iloc[0], fixed=padded[restored].iloc[0])
        report.warn(text, role, layer.fids[restored])
        values = values.where(~restored, padded)
        unknown = unknown & ~restored
    if unknown.any():
        counts = values[unknown].value_counts()
        shown = "、".join(tr("{code}（{n} 个）").format(code=c or tr("（空）"), n=int(counts[c]))
                         for c in sorted(counts.index)[:MAX_IDS_IN_MESSAGE])
        if len(counts) > MAX_IDS_IN_MESSAGE:
            shown += tr(" 等 {n} 种").format(n=len(counts))
        text = tr("{layer} 字段 {field}：{features} 的地类编码 {codes} 不是三调工作分类编码").format(
            layer=layer_label(layer, role), field=field_name, features=features_text(layer, unknown), codes=shown)
        if report is None:
            raise InputError(text + tr("。"))
        report.warn(text + tr("，按“未知”地类统计。"), role, layer.fids[unknown])
    return values
