"""The scheme's input parameters, shared by every algorithm that checks or reports a scheme.

Names are a public contract (they appear in models and ``qgis_process`` calls):
UNITS, UNIT_ID_FIELD, LANDUSE, PROJECTS, PBF, PBF_PLAN, ECO_REDLINE, UDB, UDB_PLAN,
TOWNSHIPS, RULESET.
"""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
)

from ...core.common.i18n import tr
from ...core.ingest.layers import SchemeLayers
from ...core.ingest.validate import ROLES
from ...core.rules.ruleset import load_ruleset

POLYGONS = [QgsProcessing.SourceType.TypeVectorPolygon]

# (parameter name, role key, label, optional)
LAYER_PARAMETERS = (
    ("UNITS", "units", "整治单元", False),
    ("LANDUSE", "landuse", "现状地类图斑（DLTB）", False),
    ("PROJECTS", "projects", "子项目（XMLX、GHDLBM）", True),
    ("PBF", "pbf", "现状永久基本农田", False),
    ("PBF_PLAN", "pbf_plan", "规划永久基本农田（缺省同现状）", True),
    ("ECO_REDLINE", "eco", "生态保护红线", True),
    ("UDB", "udb", "现状城镇开发边界", True),
    ("UDB_PLAN", "udb_plan", "规划城镇开发边界（缺省同现状）", True),
    ("TOWNSHIPS", "townships", "乡镇行政区（XZQDM；缺省按 ZLDWDM 前 9 位）", True),
)


# role -> parameter name (the panel opens algorithms with its layers under these names)
PARAMETER_OF_ROLE = {role: name for name, role, _label, _optional in LAYER_PARAMETERS}


def add_scheme_parameters(algorithm, names=None, optional=(), ruleset: bool = True) -> None:
    """Add the scheme's layer parameters (all, or ``names``), ``optional`` ones made optional."""
    for name, _role, label, is_optional in LAYER_PARAMETERS:
        if names is not None and name not in names:
            continue
        algorithm.addParameter(QgsProcessingParameterFeatureSource(
            name, tr(label), POLYGONS, optional=is_optional or name in optional))
        if name == "UNITS":
            algorithm.addParameter(QgsProcessingParameterField(
                "UNIT_ID_FIELD", tr("单元编号字段（缺省 DYBH）"), defaultValue="DYBH", parentLayerParameterName="UNITS",
                optional=True))
    if ruleset:
        algorithm.addParameter(QgsProcessingParameterFile(
            "RULESET", tr("规则集文件（YAML；缺省为宁波 2022）"), extension="yaml", optional=True))


def read_scheme_layers(algorithm, parameters, context, feedback) -> SchemeLayers:
    """Read every scheme parameter through the engine's I/O seam."""
    unit_field = algorithm.parameterAsString(parameters, "UNIT_ID_FIELD", context) or "DYBH"
    zone_field = ""
    if algorithm.parameterDefinition("UDB_ZONE_FIELD") is not None:
        zone_field = algorithm.parameterAsString(parameters, "UDB_ZONE_FIELD", context) or "CZKFBJLX"
    extra = {"units": (unit_field,), "udb": (zone_field,) if zone_field else (),
             "udb_plan": (zone_field,) if zone_field else ()}
    layers = {}
    for name, role, _label, _optional in LAYER_PARAMETERS:
        if algorithm.parameterDefinition(name) is None:
            continue
        fields = ROLES[role].fields + extra.get(role, ())
        layers[role] = algorithm.read_source(parameters, name, context, fields=fields, feedback=feedback)
    return SchemeLayers(unit_id_field=unit_field, udb_zone_field=zone_field or "CZKFBJLX", **layers)


def read_layer(algorithm, parameters, name: str, role: str, context, feedback, extra_fields=()):
    """One layer parameter through the I/O seam (None when not given)."""
    return algorithm.read_source(parameters, name, context, fields=ROLES[role].fields + tuple(extra_fields),
                                 feedback=feedback)


def read_ruleset(algorithm, parameters, context):
    if algorithm.parameterDefinition("RULESET") is None:
        return load_ruleset()
    path = algorithm.parameterAsFile(parameters, "RULESET", context)
    return load_ruleset(path or None)
