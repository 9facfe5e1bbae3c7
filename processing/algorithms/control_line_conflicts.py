"""``landconsolidation:controllineconflicts`` — 三线冲突: every conflict among the control lines."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
)

from ...core.common.i18n import tr
from ...core.geometry.measure import to_mu
from ...core.products.conflicts import control_line_conflicts
from ...qgis_bridge import styles
from ...qgis_bridge.layer_io import crs_wkt_of
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters
from .sinks import records, write_table

CONFLICT_FIELDS = (("kind", str), ("unit_id", str), ("area_mu", float), ("clause", str), ("detail", str))


class ControlLineConflictsAlgorithm(LandConsolidationAlgorithm):
    NAME = "controllineconflicts"
    DISPLAY = "三线冲突分析"
    GROUP = "check"
    HELP_ZH = (
        "<p>找出三条控制线之间和规划建设用地的全部冲突（意见第（三）条“严守三条控制线”），每种冲突按所在单元和明细"
        "（城镇开发边界分区或子项目）合并为一个图斑，给出类型、所在单元、面积（亩）和条款：规划永久基本农田与生态保护红线重叠、与城镇开发边界（分区）重叠；生态保护红线与城镇开发边界重叠；"
        "子项目规划地类为建设用地而位于生态保护红线内、或位于城镇开发边界外（给出现状地类图斑时只计新增部分）。"
        "城镇开发边界用规划边界（缺省同现状），分区取 UDB_ZONE_FIELD 字段。规划永久基本农田的冲突按所在控制线的组合分类，"
        "同时位于红线和城镇开发边界内的部分单列为“永久基本农田与生态保护红线、城镇开发边界重叠”，不重复计入，"
        "故三类之和等于“规划永久基本农田与生态保护红线、城镇开发边界重叠”规则的数值；新增建设用地既在红线内又在"
        "边界外时，两类冲突各计一次（意见第（三）条与第（五）条各有要求）。冲突面积合计为各行之和。不给整治单元时按全域分析。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Every conflict among planned permanent basic farmland, the ecological red line and the urban development "
        "boundary (by zone), and sub-projects planned as construction land inside the red line or outside the "
        "boundary (only new construction when land-use parcels are given), one polygon per kind, unit and detail "
        "(boundary zone or sub-project), with type, unit, area (mu) "
        "and clause. Planned farmland conflicts are classed by the combination of lines they lie in (farmland in both "
        "the red line and the boundary is one kind of its own), so they add up to the rule value of "
        "pbf_control_line_overlap; new construction both inside the red line and outside the boundary counts in both "
        "kinds (clauses 3 and 5 each forbid it). CONFLICT_MU is the sum of the rows. Without units the whole area is analysed.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB",
                                           "UDB_PLAN"), optional=("UNITS", "LANDUSE", "PBF"), ruleset=False)
        self.addParameter(QgsProcessingParameterField("UDB_ZONE_FIELD", tr("城镇开发边界分区字段"),
                                                      defaultValue="CZKFBJLX", parentLayerParameterName="UDB",
                                                      optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("三线冲突图斑"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber("CONFLICT_MU", tr("冲突面积合计（亩）")))

    def perform(self, parameters, context, feedback, progress):
        analysis = self.analyse_scheme(parameters, context, feedback, progress)
        progress.step(80, tr("叠加三条控制线"))
        result = control_line_conflicts(analysis)
        first = next(n for n in ("LANDUSE", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB", "UDB_PLAN", "PROJECTS", "UNITS")
                     if parameters.get(n) not in (None, ""))
        crs = self.source_crs(parameters, first, context)
        geoms = result.frame.export(result.geoms, crs_wkt_of(crs))
        dest = write_table(self, parameters, context, "OUTPUT", CONFLICT_FIELDS, records(result.table),
                           geoms=geoms, crs=crs, feedback=feedback, style=styles.style_conflicts)
        for kind, area in result.table.groupby("kind")["area_mu"].sum().items():
            feedback.pushInfo(tr("{kind}：{mu:.2f} 亩").format(kind=kind, mu=area))
        return {"OUTPUT": dest, "CONFLICT_MU": to_mu(result.total_m2)}
