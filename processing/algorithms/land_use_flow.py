"""``landconsolidation:landuseflow`` — 地类流向: plan against baseline, or two survey years."""

import numpy as np
from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
)

from ...core.common.errors import InputError
from ...core.common.i18n import tr
from ...core.geometry.measure import to_hectares, to_mu
from ...core.products.tables import transitions_long
from ...qgis_bridge import styles
from ...qgis_bridge.layer_io import crs_wkt_of
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import POLYGONS, add_scheme_parameters, read_layer
from .sinks import write_table

FLOW_FIELDS = (("scope", str), ("scope_id", str), ("from_code", str), ("from_name", str), ("to_code", str),
               ("to_name", str), ("area_mu", float), ("area_ha", float))
CHANGE_FIELDS = (("unit_id", str), ("from_code", str), ("from_name", str), ("to_code", str), ("to_name", str),
                 ("source", str), ("area_mu", float))
WHOLE_AREA_ID = "全域"


class LandUseFlowAlgorithm(LandConsolidationAlgorithm):
    NAME = "landuseflow"
    DISPLAY = "地类流向分析"
    GROUP = "indicators"
    HELP_ZH = (
        "<p>地类流向转移矩阵（整治前地类 × 整治后地类，亩），按单元和整体输出，并输出发生变化的图斑。两种用法："
        "（1）规划对现状：现状地类图斑 + 子项目（GHDLBM）；（2）两期调查对比（年度变更调查 A 对 B，用于全域全要素变化"
        "监测，意见第（十六）条）：给出“后期地类图斑”，其地类与扣除系数即为“整治后”。不给整治单元时按全域统计。"
        "田坎随扣除系数的变化在田坎与地类之间流转。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Land-use transition matrix (class before × class after, mu) per unit and overall, and a layer of the "
        "changed pieces. Either plan against baseline (land-use parcels + sub-projects' GHDLBM) or two survey years "
        "(give LANDUSE_AFTER: its classes and deductions are the 'after' state), for monitoring under clause 16. "
        "Without units, the whole area is one scope.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "LANDUSE", "PROJECTS"), optional=("UNITS",), ruleset=False)
        self.addParameter(QgsProcessingParameterFeatureSource(
            "LANDUSE_AFTER", tr("后期地类图斑（两期对比时给出，替代子项目）"), POLYGONS, optional=True))
        self.addParameter(QgsProcessingParameterBoolean("CHANGES_ONLY", tr("流向表只列发生变化的流向"), True))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("地类流向表"), QgsProcessing.SourceType.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink("CHANGES", tr("地类变化图斑"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True))

    def perform(self, parameters, context, feedback, progress):
        after = read_layer(self, parameters, "LANDUSE_AFTER", "landuse", context, feedback)
        if parameters.get("PROJECTS") in (None, "") and after is None:
            raise InputError(tr("请给出子项目（规划对现状）或后期地类图斑（两期对比）之一。"))
        analysis = self.analyse_scheme(parameters, context, feedback, progress, survey_after=after)
        baseline, plan, pieces, indicators = analysis.baseline, analysis.plan, analysis.pieces, analysis.indicators
        classes = baseline.classes
        changes_only = self.parameterAsBoolean(parameters, "CHANGES_ONLY", context)
        flow = indicators.flows
        if analysis.whole_area:  # the whole-area scope's margin outside the parcels is no land to count
            flow = flow[flow["from"] != ""]
        table = transitions_long(flow, classes, changed_only=changes_only)
        rows = [{"scope": r["scope"], "scope_id": r["scope_id"], "from_code": r["from"], "from_name": r["from_name"],
                 "to_code": r["to"], "to_name": r["to_name"], "area_mu": r["mu"], "area_ha": to_hectares(r["m2"])}
                for r in table.to_dict("records")]
        outputs = {"OUTPUT": write_table(self, parameters, context, "OUTPUT", FLOW_FIELDS, rows, feedback=feedback)}

        t = pieces.table
        changed = ((t["code_before"] != t["code_after"]) & (t["parcel"] >= 0)).to_numpy()
        source_label = tr("后期调查") if after is not None else tr("子项目")
        ids = plan.project_table["id"].to_numpy() if len(plan.project_table) else np.empty(0, dtype=object)
        change_rows = [{"unit_id": r["unit_id"], "from_code": r["code_before"], "from_name": classes.name(r["code_before"]),
                        "to_code": r["code_after"], "to_name": classes.name(r["code_after"]),
                        "source": f"{source_label} {ids[r['project']]}" if r["project"] >= 0 else "",
                        "area_mu": to_mu(r["total_m2"])} for r in t[changed].to_dict("records")]
        crs = self.source_crs(parameters, "LANDUSE", context)
        geoms = baseline.frame.export(pieces.geoms[changed], crs_wkt_of(crs))
        dest = write_table(self, parameters, context, "CHANGES", CHANGE_FIELDS, change_rows, geoms=geoms,
                           crs=crs, feedback=feedback, style=lambda layer: styles.style_land_changes(layer, classes))
        if dest is not None:
            outputs["CHANGES"] = dest
        return outputs
