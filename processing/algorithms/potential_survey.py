"""``landconsolidation:potentialsurvey`` — 整治潜力调查 (clause （五）)."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
)

from ...core.common.i18n import tr
from ...core.products.potential import PotentialParameters, survey_potential
from ...qgis_bridge import styles
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters
from .sinks import records, write_table

CANDIDATE_FIELDS = (("kind", str), ("subtype", str), ("unit_id", str), ("dlbm", str), ("area_mu", float),
                    ("parcels", int), ("reason", str))

# Parameter name → (label, attribute of PotentialParameters)
NUMBER_PARAMETERS = (
    ("NEAR_FARMLAND", "耕地恢复：距耕地不超过（米）", "near_farmland_m"),
    ("CLUSTER_GAP", "聚类间距（米）", "cluster_gap_m"),
    ("VILLAGE_MAX_MU", "零星农居点面积上限（亩）", "village_max_mu"),
    ("VILLAGE_CORE_MIN_MU", "村庄集中区最小面积（亩）", "village_core_min_mu"),
    ("VILLAGE_CORE_DISTANCE", "距村庄集中区不少于（米）", "village_core_distance_m"),
    ("ROAD_DISTANCE", "距公路/村道不少于（米）", "road_distance_m"),
    ("INDUSTRY_MAX_MU", "零散工业用地面积上限（亩）", "industry_max_mu"),
    ("FRAGMENT_MAX_MU", "碎片化耕地面积上限（亩）", "fragment_max_mu"),
    ("MERGE_DISTANCE", "可并入永久基本农田的距离（米）", "merge_distance_m"),
    ("ISLAND_MAX_MU", "夹心地/插花地面积上限（亩）", "island_max_mu"),
    ("ISLAND_SHARE", "夹心地：与耕地相邻的边界比例（0–1）", "island_farmland_share"),
)


class PotentialSurveyAlgorithm(LandConsolidationAlgorithm):
    NAME = "potentialsurvey"
    DISPLAY = "整治潜力调查"
    GROUP = "scheme"
    HELP_ZH = (
        "<p>开展整治潜力调查（意见第（五）条），识别潜力资源并逐块给出类型、面积（亩）和理由：耕地恢复（可调整地类 K、"
        "其他草地、裸土地，距耕地不远）；村庄建设用地复垦（面积小且远离道路或村庄集中区的农村宅基地聚落）；低效工业用地"
        "（城镇开发边界外的小块零散工业用地）；碎片化耕地（低于面积下限的耕地片块，可并入永久基本农田的单独标出）；"
        "夹心地/插花地（被耕地包围的小块非耕地）。各项阈值均可设置。给出整治单元时只调查单元内部分。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Consolidation potential survey (clause 5): candidate pieces, each typed and measured with its reason — "
        "farmland recovery (K-coded adjustable classes, other grassland, bare land near farmland), village "
        "construction land to reclaim (small homestead clusters far from roads or village cores), low-efficiency "
        "industrial land (small scattered industry outside the urban boundary), fragmented farmland (patches below a "
        "size; those that could join permanent basic farmland are marked) and enclaves (small non-farmland parcels "
        "surrounded by farmland). Every threshold is a parameter.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "LANDUSE", "PBF", "UDB"), optional=("UNITS", "PBF"),
                              ruleset=False)
        defaults = PotentialParameters()
        for name, label, attribute in NUMBER_PARAMETERS:
            self.addParameter(QgsProcessingParameterNumber(
                name, tr(label), QgsProcessingParameterNumber.Type.Double, getattr(defaults, attribute), minValue=0.0))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("整治潜力图斑"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))

    def perform(self, parameters, context, feedback, progress):
        values = {attribute: self.parameterAsDouble(parameters, name, context)
                  for name, _label, attribute in NUMBER_PARAMETERS}
        analysis = self.analyse_scheme(parameters, context, feedback, progress.scaled(0, 60))
        candidates = survey_potential(analysis, PotentialParameters(**values), progress=progress.scaled(60, 100))
        crs = self.source_crs(parameters, "LANDUSE", context)
        for kind, group in candidates.table.groupby("kind"):
            feedback.pushInfo(tr("{kind}：{n} 处，{mu:.2f} 亩").format(kind=kind, n=len(group),
                                                                     mu=group["area_mu"].sum()))
        geoms = candidates.geoms  # already in the land-use layer's CRS (the overlay CRS)
        return {"OUTPUT": write_table(self, parameters, context, "OUTPUT", CANDIDATE_FIELDS,
                                      records(candidates.table), geoms=geoms, crs=crs, feedback=feedback,
                                      style=styles.style_potential)}
