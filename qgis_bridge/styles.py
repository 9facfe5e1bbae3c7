"""Layer styles, aliases and forms of the scheme's layers (qgis.core only: also used headless).

Colours follow planners' habits: 永久基本农田 yellow, 生态保护红线 green hatch, 城镇开发边界
purple outline, units a bold red dashed outline, 子项目 coloured by their 5+X task.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDefaultValue,
    QgsEditorWidgetSetup,
    QgsFeatureRequest,
    QgsFieldConstraints,
    QgsFillSymbol,
    QgsGeometry,
    QgsPalLayerSettings,
    QgsProject,
    QgsRendererCategory,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor, QFont

from ..core.common.i18n import tr
from ..core.rules.landclasses import LandClasses
from ..core.rules.ruleset import Ruleset

TASK_COLOURS = {
    "农用地整治": "#f2c14e",
    "村庄整治": "#e07a5f",
    "生态保护修复": "#5b9a68",
    "工业用地整治": "#8d6cab",
    "城镇低效用地再开发": "#c0504d",
    "X": "#4f81bd",
}
CJK_FONT = "Noto Sans CJK SC"

FIELD_ALIASES = {
    "DYBH": "单元编号", "DYMC": "单元名称", "PQMC": "片区名称", "RWLX": "整治任务",
    "XMBH": "子项目编号", "XMMC": "子项目名称", "XMLX": "子项目类型", "GHDLBM": "规划地类编码",
    "GHDLMC": "规划地类名称", "KCXS": "扣除系数", "TZ": "投资（万元）", "KSNF": "开始年份", "JSNF": "完成年份",
    "BSM": "标识码", "DLBM": "地类编码", "DLMC": "地类名称", "ZLDWDM": "坐落单位代码", "XZQDM": "行政区代码",
    "GDDB": "耕地等别", "GDPDJB": "耕地坡度级别", "MJ": "面积（平方米）",
    "SZXZ": "所在乡镇", "SZC": "所在村", "JSGM": "建设规模（亩）", "ZJLY": "资金来源", "SSZT": "实施主体",
}
# 子项目 资金来源 (ZJLY): the closed list of the form's drop-down, the channels 全域土地综合整治 is funded by.
FUNDING_SOURCES = ("财政资金", "涉农整合资金", "地方政府专项债券", "指标交易收益", "社会资本", "金融贷款", "其他")
PROJECT_ID_PREFIX = "XM"  # 子项目 ids outside any unit: XM001, XM002 …
# next_project_id's rule outside a unit, as a QGIS default value (the layer's edit buffer counts)
NEXT_PROJECT_ID_EXPRESSION = (
    f"'{PROJECT_ID_PREFIX}' || lpad(to_string(coalesce(maximum(if(regexp_match(\"XMBH\", "
    f"'^{PROJECT_ID_PREFIX}[0-9]+$'), to_int(substr(\"XMBH\", {len(PROJECT_ID_PREFIX) + 1})), NULL)), 0) + 1), 3, '0')")


def fill(colour: str, outline: str = "#404040", width: float = 0.26, style: str = "solid",
         outline_style: str = "solid", alpha: float = 1.0) -> QgsFillSymbol:
    symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": outline, "outline_width": str(width),
                                         "style": style, "outline_style": outline_style})
    symbol.setOpacity(alpha)
    return symbol


def label(layer: QgsVectorLayer, field: str, size: float = 9.0, colour: str = "#202020") -> None:
    settings = QgsPalLayerSettings()
    settings.fieldName = field
    text = QgsTextFormat()
    text.setFont(QFont(CJK_FONT))
    text.setSize(size)
    text.setColor(QColor(colour))
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    buffer.setSize(0.8)
    buffer.setColor(QColor("white"))
    text.setBuffer(buffer)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def set_aliases(layer: QgsVectorLayer) -> None:
    for index, field in enumerate(layer.fields()):
        alias = FIELD_ALIASES.get(field.name().upper())
        if alias:
            layer.setFieldAlias(index, tr(alias))


def value_map(layer: QgsVectorLayer, field: str, entries: Iterable[tuple[str, Any]]) -> None:
    """A drop-down of (label, value) pairs, in order."""
    index = layer.fields().indexOf(field)
    if index >= 0:
        layer.setEditorWidgetSetup(index, QgsEditorWidgetSetup("ValueMap", {"map": [{lbl: val} for lbl, val in entries]}))


def required_unique(layer: QgsVectorLayer, field: str) -> None:
    index = layer.fields().indexOf(field)
    if index >= 0:
        layer.setFieldConstraint(index, QgsFieldConstraints.Constraint.ConstraintNotNull)
        layer.setFieldConstraint(index, QgsFieldConstraints.Constraint.ConstraintUnique)


def style_units(layer: QgsVectorLayer) -> None:
    layer.renderer().setSymbol(fill("#ffffff", "#d7191c", 0.8, style="no", outline_style="dash"))
    label(layer, "DYMC", 10.0, "#a50f15")
    set_aliases(layer)
    required_unique(layer, "DYBH")


def configure_project_form(layer: QgsVectorLayer, ruleset: Ruleset, classes: LandClasses) -> None:
    """The 子项目 form: aliases, XMBH required and unique, drop-downs of XMLX (the ruleset's types, labelled
    by 5+X task, in the ruleset's order), GHDLBM (the 三调 classes) and ZJLY (``FUNDING_SOURCES``).

    Only the in-memory layer changes; saving it as a style is the caller's choice (createscheme does)."""
    set_aliases(layer)
    required_unique(layer, "XMBH")
    index = layer.fields().indexOf("XMBH")
    if index >= 0:  # QGIS's own 添加面要素 gets an id too; the panel's sketch gives the unit's sequence instead
        layer.setDefaultValueDefinition(index, QgsDefaultValue(NEXT_PROJECT_ID_EXPRESSION))
    value_map(layer, "XMLX", [(f"{task}：{kind}", kind) for task, types in ruleset.project_types.items()
                              for kind in types])
    value_map(layer, "GHDLBM", [(f"{code} {name}", code) for code, name in classes.names.items()])
    value_map(layer, "ZJLY", [(tr(source), source) for source in FUNDING_SOURCES])


def has_project_form(layer: QgsVectorLayer) -> bool:
    """Whether the layer's 子项目 type is already a drop-down (createscheme's style, or an earlier sketch)."""
    index = layer.fields().indexOf("XMLX")
    return index < 0 or layer.editorWidgetSetup(index).type() == "ValueMap"


def next_project_id(layer: QgsVectorLayer, unit_id: str | None = None) -> str:
    """The next free 子项目 id of a layer: in a unit, the unit's id and a two-digit sequence above that
    unit's highest (DY01-01, DY01-02 … as in the sample 片区); outside any unit ``XM`` and three digits
    above the highest XM number (XM001, XM007 → XM008). Wider numbers keep their width."""
    index = layer.fields().indexOf("XMBH")
    values = layer.uniqueValues(index) if index >= 0 else set()  # the edit buffer's 子项目 too
    existing = {str(v).strip() for v in values if v not in (None, "") and str(v) != "NULL"}
    unit_id = (unit_id or "").strip()
    prefix, width = (f"{unit_id}-", 2) if unit_id else (PROJECT_ID_PREFIX, 3)
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    numbers = [match.group(1) for match in map(pattern.match, existing) if match]
    width = max([width] + [len(n) for n in numbers])
    number = max((int(n) for n in numbers), default=0) + 1
    while f"{prefix}{number:0{width}d}" in existing:  # a hand-typed id in another width
        number += 1
    return f"{prefix}{number:0{width}d}"


def unit_of(geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem, units: QgsVectorLayer | None,
            id_field: str) -> str | None:
    """The id of the unit a polygon (in ``crs``) lies in: the unit covering most of it, None outside all."""
    if units is None or geometry is None or geometry.isEmpty() or units.fields().indexOf(id_field) < 0:
        return None
    geometry = QgsGeometry(geometry)
    if units.crs() != crs:
        geometry.transform(QgsCoordinateTransform(crs, units.crs(), QgsProject.instance()))
    best, best_area = None, 0.0
    request = QgsFeatureRequest().setFilterRect(geometry.boundingBox())
    for feature in units.getFeatures(request):
        value = feature[id_field]
        if value in (None, "") or str(value) == "NULL" or not feature.hasGeometry():
            continue
        area = feature.geometry().intersection(geometry).area()
        if area > best_area:
            best, best_area = str(value).strip(), area
    return best


def style_projects(layer: QgsVectorLayer, ruleset: Ruleset, classes: LandClasses) -> None:
    categories = []
    for task, types in ruleset.project_types.items():
        for kind in types:
            colour = TASK_COLOURS.get(task, "#9e9e9e")
            categories.append(QgsRendererCategory(kind, fill(colour, "#303030", 0.3, alpha=0.75),
                                                  f"{task}：{kind}"))
    layer.setRenderer(QgsCategorizedSymbolRenderer("XMLX", categories))
    label(layer, "XMBH", 8.0)
    configure_project_form(layer, ruleset, classes)


def style_pbf(layer: QgsVectorLayer, planned: bool = True) -> None:
    layer.renderer().setSymbol(fill("#f7e26b" if planned else "#fff3a3", "#b8860b", 0.3, alpha=0.8))
    set_aliases(layer)


def style_eco(layer: QgsVectorLayer) -> None:
    layer.renderer().setSymbol(fill("#2e7d32", "#1b5e20", 0.5, style="b_diagonal"))
    set_aliases(layer)


def style_udb(layer: QgsVectorLayer) -> None:
    layer.renderer().setSymbol(fill("#ffffff", "#7b1fa2", 0.7, style="no"))
    set_aliases(layer)


# First-level 三调 groups, in colours close to the survey's map conventions.
LANDUSE_GROUP_COLOURS = {
    "01": "#fbf07a", "02": "#b5dc6a", "03": "#3ca55c", "04": "#9fd27e", "05": "#f28f8f", "06": "#c27ba0",
    "07": "#f4a261", "08": "#e76f6f", "09": "#a27b6b", "10": "#b8b8b8", "11": "#8fd0f5", "12": "#d9d2b6",
}


def style_landuse(layer: QgsVectorLayer, classes: LandClasses) -> None:
    """地类图斑 coloured by first-level class group (耕地 yellow, 林地 green, 水域 blue …)."""
    categories = []
    for group, colour in LANDUSE_GROUP_COLOURS.items():
        categories.append(QgsRendererCategory(group, fill(colour, "#8c8c8c", 0.1),
                                              f"{group} {classes.groups.get(group, '')}"))
    layer.setRenderer(QgsCategorizedSymbolRenderer('left("DLBM", 2)', categories))
    set_aliases(layer)


def style_townships(layer: QgsVectorLayer) -> None:
    layer.renderer().setSymbol(fill("#ffffff", "#000000", 0.9, style="no", outline_style="dash dot"))
    label(layer, "XZQMC", 11.0)
    set_aliases(layer)


def apply_role_styles(layers: Mapping[str, QgsVectorLayer | None], ruleset: Ruleset, classes: LandClasses) -> None:
    """Style each role's layer the plugin's way (role → QgsVectorLayer)."""
    appliers = {"landuse": lambda lyr: style_landuse(lyr, classes), "units": style_units,
                "projects": lambda lyr: style_projects(lyr, ruleset, classes), "pbf": lambda lyr: style_pbf(lyr, False),
                "pbf_plan": style_pbf, "eco": style_eco, "udb": style_udb, "udb_plan": style_udb,
                "townships": style_townships}
    for role, layer in layers.items():
        if layer is not None and role in appliers:
            appliers[role](layer)
            layer.triggerRepaint()


# ----------------------------------------------------------------------------- result layers
# One function per kind of output the algorithms write, applied when Processing loads the result
# (processing/algorithms/sinks.py: a post-processor). Colours do not depend on what a run found:
# a value has the same colour on every run and every QGIS line.

# ✓ green, ✗ red, – grey, ⚠ amber (the unit's computation failed)
STATUS_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "not_applicable": "#9e9e9e", "error": "#b26a00"}
STATUS_LABELS = {"pass": "✓ 符合", "fail": "✗ 不符合", "not_applicable": "– 不适用", "error": "⚠ 计算出错"}
RESULT_PALETTE = ("#e41a1c", "#377eb8", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#4daf4a", "#666666",
                  "#1b9e77", "#d95f02", "#7570b3", "#e7298a")
PATCH_CLASS_COLOURS = {"万亩方": "#00441b", "千亩方": "#238b45", "百亩方": "#74c476"}
DIRECTION_COLOURS = {"调出": "#d7191c", "调入": "#1a9641"}


def value_colour(value: str, known: Mapping[str, str] | None = None) -> str:
    """A value's colour: its own in ``known``, else one of RESULT_PALETTE chosen by the value itself."""
    import zlib

    if known and value in known:
        return known[value]
    return RESULT_PALETTE[zlib.crc32(value.encode("utf-8")) % len(RESULT_PALETTE)]


def _values(layer: QgsVectorLayer, field: str) -> list[str]:
    index = layer.fields().indexOf(field)
    if index < 0:
        return []
    return sorted({str(v) for v in layer.uniqueValues(index) if v is not None and str(v) != "NULL"})


def categorized(layer: QgsVectorLayer, field: str, known: Mapping[str, str] | None = None,
                labels: Mapping[str, str] | None = None, alpha: float = 0.7, order: Iterable[str] = ()) -> None:
    """A polygon layer coloured by ``field``: the known values in ``order`` first, then the others sorted."""
    present = _values(layer, field)
    ordered = [v for v in order if v in present] + [v for v in present if v not in tuple(order)]
    categories = [QgsRendererCategory(value, fill(value_colour(value, known), "#303030", 0.3, alpha=alpha),
                                      tr(labels[value]) if labels and value in labels else value)
                  for value in ordered]
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))


def status_row_styles(layer: QgsVectorLayer, field: str = "status") -> None:
    """Attribute-table rows coloured by verdict (✓ green, ✗ red, – grey): tables have no renderer."""
    from qgis.core import QgsConditionalStyle

    styles = []
    for status, colour in STATUS_COLOURS.items():
        style = QgsConditionalStyle(f"\"{field}\" = '{status}'")
        style.setName(tr(STATUS_LABELS[status]))
        style.setTextColor(QColor(colour))
        if status == "fail":
            style.setBackgroundColor(QColor("#fdecea"))
        styles.append(style)
    layer.conditionalStyles().setRowStyles(styles)


def style_check_result(layer: QgsVectorLayer) -> None:
    """合规性核算表 (checkunits OUTPUT), and any unit or finding layer with a ``status``: by verdict."""
    status_row_styles(layer)
    if layer.isSpatial():
        categories = [QgsRendererCategory(status, fill(colour, "#303030", 0.4, alpha=0.6), tr(STATUS_LABELS[status]))
                      for status, colour in STATUS_COLOURS.items()]
        layer.setRenderer(QgsCategorizedSymbolRenderer("status", categories))


def style_conflicts(layer: QgsVectorLayer) -> None:
    """冲突图斑 / 三线冲突图斑: by kind of conflict."""
    categorized(layer, "kind", alpha=0.75)


def style_patches(layer: QgsVectorLayer) -> None:
    """集中连片片块: by class (万亩方 dark green … 百亩方 light green; smaller patches in other colours)."""
    categorized(layer, "class_name", PATCH_CLASS_COLOURS, order=tuple(PATCH_CLASS_COLOURS), alpha=0.8)


def style_pbf_ledger(layer: QgsVectorLayer) -> None:
    """调出调入图斑: 调出 red, 调入 green."""
    categorized(layer, "direction", DIRECTION_COLOURS, order=tuple(DIRECTION_COLOURS), alpha=0.8)


def style_land_changes(layer: QgsVectorLayer, classes: LandClasses | None = None) -> None:
    """地类变化图斑: by the first-level group of the class after (the survey's colours)."""
    groups = classes.groups if classes is not None else {}
    categories = [QgsRendererCategory(group, fill(colour, "#505050", 0.2, alpha=0.85),
                                      f"→ {group} {groups.get(group, '')}".rstrip())
                  for group, colour in LANDUSE_GROUP_COLOURS.items()]
    layer.setRenderer(QgsCategorizedSymbolRenderer('left("to_code", 2)', categories))


def style_potential(layer: QgsVectorLayer) -> None:
    """整治潜力图斑: by kind of potential."""
    categorized(layer, "kind", alpha=0.8)
