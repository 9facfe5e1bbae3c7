"""The one entry point where inputs are checked and normalised before any computation.

Bad input is refused with an ``InputError`` whose message names the layer, the
field and the feature ids; what can be repaired without changing a figure a
planner would dispute (an invalid ring made valid, a null geometry skipped) is
repaired and reported as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence, SupportsInt

import numpy as np
import pandas as pd
import shapely

from ..common.errors import InputError
from ..common.i18n import tr, translatable
from ..geometry.measure import to_mu
from ..geometry.overlay import polygonal
from ..rules.landclasses import LandClasses, normalise_code
from .layerdata import LayerData

MAX_IDS_IN_MESSAGE = 10

# 三调 areas are booked to 0.01 m²: KCMJ = round(TBMJ × KCXS, 2) is off TBMJ × KCXS by up to 0.005 m², and
# TBDLMJ = TBMJ − KCMJ holds exactly on the rounded figures. A difference above this (m²) is not rounding:
# the survey's figures disagree with each other.
SURVEY_AREA_TOLERANCE_M2 = 0.01


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
                               "ZJLY", "SSZT")),
    "pbf": Role("pbf", translatable("现状永久基本农田")),
    "pbf_plan": Role("pbf_plan", translatable("规划永久基本农田")),
    "eco": Role("eco", translatable("生态保护红线")),
    "udb": Role("udb", translatable("现状城镇开发边界")),
    "udb_plan": Role("udb_plan", translatable("规划城镇开发边界")),
    "townships": Role("townships", translatable("乡镇行政区"), required=("XZQDM",), optional=("XZQMC",)),
}

@dataclass
class Report:
    """Warnings collected while preparing the inputs (shown to the planner, never silent)."""

    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def id_list(fids: Iterable[SupportsInt]) -> str:
    every = list(fids)
    text = "、".join(str(int(f)) for f in every[:MAX_IDS_IN_MESSAGE])
    return text + (tr(" 等") if len(every) > MAX_IDS_IN_MESSAGE else "")


def feature_names(layer: LayerData) -> np.ndarray:
    """How messages name each feature: its 标识码 BSM where the layer has one, else its feature id."""
    fids = np.array([str(int(f)) for f in layer.fids], dtype=object)
    if "BSM" not in layer.attrs.columns:
        return fids
    bsm = layer.attrs["BSM"].map(_text).to_numpy(dtype=object)
    return np.where(bsm != "", bsm, fids).astype(object)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def names_label(layer: LayerData) -> str:
    """What the names of ``feature_names`` are, for the message."""
    return tr("标识码 BSM") if "BSM" in layer.attrs.columns else tr("要素号")


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


def polygons(layer: LayerData, role: Role, report: Report) -> LayerData:
    """Refuse non-polygon layers; skip empty geometries and repair invalid ones, with warnings."""
    linearised = getattr(layer, LINEARISED, None)
    if linearised is not None:
        fids, tolerance_m = linearised
        report.warn(tr("{layer}有 {n} 个要素含曲线（要素 {ids}），已按最大偏差 {tolerance:g} 米折线化后参与计算。").format(
            layer=layer_label(layer, role), n=len(fids), ids=id_list(fids), tolerance=tolerance_m))
    geoms = np.asarray(layer.geoms, dtype=object)
    if len(geoms) == 0:
        return layer
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        report.warn(tr("{layer}：要素 {ids} 无几何，已跳过。").format(
            layer=layer_label(layer, role), ids=id_list(layer.fids[missing])))
        layer = layer.take(np.flatnonzero(~missing))
        geoms = layer.geoms
    types = shapely.get_type_id(geoms)
    polygonal_types = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))
    wrong = ~np.isin(types, polygonal_types)
    if wrong.any():
        raise InputError(tr("{layer} 应为面图层：要素 {ids} 不是面。").format(
            layer=layer_label(layer, role), ids=id_list(layer.fids[wrong])))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = geoms.copy()
        repaired[invalid] = repair(geoms[invalid])
        report.warn(tr("{layer}：要素 {ids} 几何无效（自相交、部件重叠等），已修复后参与计算"
                       "（各部件分别修复后合并，重叠处只计一次），请核查原数据。").format(
            layer=layer_label(layer, role), ids=id_list(layer.fids[invalid])))
        keep = ~shapely.is_empty(repaired)
        layer = layer.with_geoms(repaired, layer.crs_wkt).take(np.flatnonzero(keep))
    return layer


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
        report.warn(tr("{layer} 字段 {field}：要素 {ids} 的值不是数字，按空值处理。").format(
            layer=layer_label(layer, role), field=name, ids=id_list(layer.fids[bad.to_numpy()])))
    return values


def deduction_ratios(layer: LayerData, role: Role, kcxs: np.ndarray, used: np.ndarray, report: Report) -> None:
    """KCXS is a ratio in [0, 1). Out of range (often a percentage typed as 12.5) it is refused where
    it decides an area (no TBMJ/TBDLMJ), and reported where TBDLMJ makes it unused."""
    bad = ~np.isnan(kcxs) & ((kcxs < 0) | (kcxs >= 1))
    if not bad.any():
        return
    text = tr("{layer} 字段 KCXS：要素 {ids} 的扣除系数 {values} 不在 0 与 1 之间（应为小数，如 0.12，而非百分数）").format(
        layer=layer_label(layer, role), ids=id_list(layer.fids[bad]),
        values="、".join(f"{x:g}" for x in kcxs[bad][:MAX_IDS_IN_MESSAGE]))
    if (bad & used).any():
        raise InputError(text + tr("。"))
    report.warn(text + tr("；这些图斑有 TBDLMJ，按 TBDLMJ 统计，未用此值。"))


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
        mu=to_mu(total), used=used))


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
        raise InputError(tr("{layer} 字段 ZLDWDM：要素 {ids} 的坐落单位代码不足 9 位数字，无法确定所属乡镇；"
                            "请提供乡镇行政区图层（TOWNSHIPS）。").format(
            layer=layer_label(layer, role), ids=id_list(layer.fids[bad])))
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
        text = tr("{layer} 字段 {field}：要素 {ids} 的地类编码缺少首位 0（如 {example}），已按 {fixed} 读取；"
                  "请把该字段改为文本类型。").format(
            layer=layer_label(layer, role), field=field_name, ids=id_list(layer.fids[restored]),
            example=values[restored].iloc[0], fixed=padded[restored].iloc[0])
        report.warn(text)
        values = values.where(~restored, padded)
        unknown = unknown & ~restored
    if unknown.any():
        shown = "、".join(c or tr("（空）") for c in sorted(set(values[unknown]))[:MAX_IDS_IN_MESSAGE])
        text = tr("{layer} 字段 {field}：要素 {ids} 的地类编码 {codes} 不是三调工作分类编码").format(
            layer=layer_label(layer, role), field=field_name, ids=id_list(layer.fids[unknown]), codes=shown)
        if report is None:
            raise InputError(text + tr("。"))
        report.warn(text + tr("，按“未知”地类统计。"))
    return values
