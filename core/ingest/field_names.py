"""The names a field the engine reads goes by in the data planners receive.

The engine names fields as the 三调 database standard does (``DLBM``, ``TBDLMJ`` …). Vendors and
exports rename them: ``ogr2ogr`` into PostGIS lower-cases them (matched case-insensitively by the
readers), and some deliver the standard's Chinese aliases as the field names themselves (``地类编码``).
A field missing under its own name is looked for under these alternatives, in this order, and the
planner is told which field was used (``validate.polygons``). Shapefiles cut field names at 10 bytes
(5 Chinese characters in GBK): the cut forms are listed where a full name is longer.
"""

from __future__ import annotations

from typing import Iterable, Mapping

# canonical name -> alternatives, most common first (三调 数据库标准 aliases; then names seen in
# planners' layers). Only names that cannot mean another field: never a bare 面积 or 编号.
FIELD_ALTERNATIVES: Mapping[str, tuple[str, ...]] = {
    "BSM": ("标识码",),
    "DLBM": ("地类编码", "DLDM", "地类代码"),
    "DLMC": ("地类名称",),
    "ZLDWDM": ("坐落单位代码", "坐落单位代"),
    "ZLDWMC": ("坐落单位名称", "坐落单位名"),
    "TBMJ": ("图斑面积",),
    "KCXS": ("扣除地类系数", "扣除系数", "扣除地类系"),
    "KCMJ": ("扣除地类面积", "扣除面积", "扣除地类面"),
    "TBDLMJ": ("图斑地类面积", "图斑地类面"),
    "CZCSXM": ("城镇村属性码", "城镇村属性"),
    "GDDB": ("耕地等别",),
    "GDPDJB": ("耕地坡度级别", "耕地坡度级", "坡度级别"),
    "XZQDM": ("行政区代码", "XZQHDM", "行政区划代码"),
    "XZQMC": ("行政区名称", "XZQHMC", "行政区划名称"),
    "DYBH": ("单元编号", "整治单元编号"),
    "DYMC": ("单元名称", "整治单元名称"),
    "XMBH": ("项目编号", "子项目编号"),
    "XMMC": ("项目名称", "子项目名称"),
    "XMLX": ("项目类型", "子项目类型"),
    "GHDLBM": ("规划地类编码", "规划地类编", "GHDLDM"),
    "YDYHFLDM": ("用地用海分类代码", "用地用海分", "YDYHDM"),
    "TZ": ("投资", "投资额", "总投资"),
    "KSNF": ("开始年份",),
    "JSNF": ("结束年份",),
}


def match_fields(present: Iterable[str], wanted: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each wanted name → the field of ``present`` that holds it, and the subset found under an
    alternative name (wanted → actual; for the planner's warning). Names match case-insensitively;
    a field's own name wins over any alternative, and no field serves two wanted names."""
    actual = {name.upper(): name for name in present}
    found: dict[str, str] = {}
    for name in wanted:
        if name.upper() in actual:
            found[name] = actual[name.upper()]
    taken = {a.upper() for a in found.values()}
    renamed: dict[str, str] = {}
    for name in wanted:
        if name in found:
            continue
        for alternative in FIELD_ALTERNATIVES.get(name.upper(), ()):
            field = actual.get(alternative.upper())
            if field is not None and field.upper() not in taken:
                found[name] = renamed[name] = field
                taken.add(field.upper())
                break
    return found, renamed
