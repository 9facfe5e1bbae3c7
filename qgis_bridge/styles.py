"""Layer styles, aliases and forms of the scheme's layers (qgis.core only: also used headless).

Colours follow planners' habits: 永久基本农田 yellow, 生态保护红线 green hatch, 城镇开发边界
purple outline, units a bold red dashed outline, 子项目 coloured by their 5+X task.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsEditorWidgetSetup,
    QgsFieldConstraints,
    QgsFillSymbol,
    QgsPalLayerSettings,
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
}


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


def style_projects(layer: QgsVectorLayer, ruleset: Ruleset, classes: LandClasses) -> None:
    categories = []
    for task, types in ruleset.project_types.items():
        for kind in types:
            colour = TASK_COLOURS.get(task, "#9e9e9e")
            categories.append(QgsRendererCategory(kind, fill(colour, "#303030", 0.3, alpha=0.75),
                                                  f"{task}：{kind}"))
    layer.setRenderer(QgsCategorizedSymbolRenderer("XMLX", categories))
    label(layer, "XMBH", 8.0)
    set_aliases(layer)
    required_unique(layer, "XMBH")
    value_map(layer, "XMLX", [(f"{task}：{kind}", kind) for task, types in ruleset.project_types.items()
                              for kind in types])
    value_map(layer, "GHDLBM", [(f"{code} {name}", code) for code, name in classes.names.items()])


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
