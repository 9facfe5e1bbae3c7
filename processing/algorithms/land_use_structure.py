"""``landconsolidation:landusestructure`` — 土地利用结构调整表."""

from qgis.core import QgsProcessing, QgsProcessingParameterFeatureSink

from ...core.common.i18n import tr
from ...core.products.tables import land_use_structure
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters
from .sinks import records, write_table

STRUCTURE_FIELDS = (
    ("scope", str), ("scope_id", str), ("level", str), ("code", str), ("name", str),
    ("before_mu", float), ("after_mu", float), ("change_mu", float),
    ("before_ha", float), ("after_ha", float), ("change_ha", float),
    ("before_share", float), ("after_share", float),
)


class LandUseStructureAlgorithm(LandConsolidationAlgorithm):
    NAME = "landusestructure"
    DISPLAY = "土地利用结构调整表"
    GROUP = "indicators"
    HELP_ZH = (
        "<p>按整治单元和整治区域（scheme 行）统计整治前后的土地利用结构：三调二级类、一级类和"
        "农用地/建设用地/未利用地三大类的面积（亩、公顷）、变化量和占比；田坎（1203，扣除系数部分）单列一行。"
        "整治后地类 = 现状地类图斑被子项目的规划地类（GHDLBM）覆盖后的结果。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Land-use structure before and after the scheme, per unit and for the whole scheme: areas (mu, ha), "
        "changes and shares by second-level class, first-level group and agricultural/construction/unused land; "
        "田坎 (1203, the deduction) is its own row.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "LANDUSE", "PROJECTS"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("土地利用结构调整表"),
                                                            QgsProcessing.SourceType.TypeVector))

    def perform(self, parameters, context, feedback, progress):
        analysis = self.analyse_scheme(parameters, context, feedback, progress)
        table = land_use_structure(analysis.indicators.flows, analysis.baseline.classes)
        return {"OUTPUT": write_table(self, parameters, context, "OUTPUT", STRUCTURE_FIELDS, records(table),
                                      feedback=feedback)}
