"""``landconsolidation:contiguouspatches`` — 永久基本农田集中连片 (百亩方/千亩方/万亩方), baseline against plan."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterFeatureSink,
)

from ...core.common.errors import InputError
from ...core.common.i18n import tr
from ...core.geometry.measure import to_mu
from ...core.products.patches import BASELINE, PLAN, compare_patches, patch_geometries
from ...qgis_bridge import styles
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters, read_ruleset
from .sinks import write_table

PATCH_FIELDS = (("state", str), ("patch", int), ("area_mu", float), ("area_ha", float), ("class_name", str),
                ("units", str))
SUMMARY_FIELDS = (("state", str), ("count", int), ("largest_mu", float), ("mean_mu", float), ("total_mu", float),
                  ("wan", int), ("qian", int), ("bai", int))


class ContiguousPatchesAlgorithm(LandConsolidationAlgorithm):
    NAME = "contiguouspatches"
    DISPLAY = "永久基本农田集中连片分析"
    GROUP = "indicators"
    HELP_ZH = (
        "<p>把现状和规划永久基本农田分别合并为集中连片片块（间距小于容差的视为连片，容差缺省取规则集 contiguous_pbf "
        "的 gap_tolerance_m），给出每片面积（亩）和等级（万亩方/千亩方/百亩方，按规则集的 patch_classes），"
        "并比较片数、平均和最大片面积，用数字说明“布局更集中连片”。给出整治单元时只统计单元内部分，"
        "与合规性检查的 contiguous_pbf 口径一致。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Contiguous patches of baseline and planned permanent basic farmland (gaps below the tolerance join "
        "patches; default from the ruleset), each with its area (mu) and class (10,000/1,000/100 mu blocks), and a "
        "summary comparing count, mean and largest patch. With units, only the parts inside them count, as in "
        "checkunits.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "PBF", "PBF_PLAN"), optional=("UNITS",))
        self.addParameter(QgsProcessingParameterDistance(
            "GAP_TOLERANCE", tr("连片间距容差（米；空则取规则集）"), parentParameterName="PBF", optional=True,
            minValue=0.0))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("集中连片片块"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink("SUMMARY", tr("连片对比表"), QgsProcessing.SourceType.TypeVector,
                                                            optional=True))
        self.addOutput(QgsProcessingOutputNumber("LARGEST_PLAN_MU", tr("规划最大连片面积（亩）")))
        self.addOutput(QgsProcessingOutputNumber("LARGEST_BASELINE_MU", tr("现状最大连片面积（亩）")))

    def perform(self, parameters, context, feedback, progress):
        ruleset = read_ruleset(self, parameters, context)
        rules = ruleset.rules_of("contiguous_pbf")
        if not rules:
            raise InputError(tr("规则集 {id} 没有集中连片规则（contiguous_pbf），无法确定连片间距与片块等级。").format(
                id=ruleset.id))
        rule = rules[0]
        gap = rule.param("gap_tolerance_m")
        if parameters.get("GAP_TOLERANCE") not in (None, ""):
            gap = self.parameterAsDouble(parameters, "GAP_TOLERANCE", context)
        analysis = self.analyse_scheme(parameters, context, feedback, progress, ruleset=ruleset)
        progress.step(80, tr("合并连片"))
        comparison = compare_patches(analysis, float(gap), rule.param("patch_classes"))
        progress.step(80, tr("输出"))
        rows, geoms = [], []
        for state in (BASELINE, PLAN):
            if state not in comparison.states:
                continue
            patches = comparison.states[state]
            outlines = patch_geometries(comparison, state)
            for k, record in enumerate(patches.table.to_dict("records")):
                rows.append({"state": tr(state), "patch": k + 1, "area_mu": record["area_mu"],
                             "area_ha": record["area_m2"] / 10000.0, "class_name": record["class_name"],
                             "units": comparison.units_of_patch[state][k]})
                geoms.append(outlines[k])
        outputs = {"OUTPUT": write_table(self, parameters, context, "OUTPUT", PATCH_FIELDS, rows, geoms=geoms,
                                         crs=self.source_crs(parameters, "PBF", context), feedback=feedback,
                                         style=styles.style_patches)}
        names = {entry["name"]: key for entry, key in zip(
            sorted(rule.param("patch_classes"), key=lambda e: -e["min_mu"]), ("wan", "qian", "bai"))}
        summary = []
        for row in comparison.summary().to_dict("records"):
            line = {k: row[k] for k in ("state", "count", "largest_mu", "mean_mu", "total_mu")}
            line["state"] = tr(line["state"])
            for name, key in names.items():
                line[key] = int(row.get(name, 0))
            summary.append(line)
            feedback.pushInfo(tr("{state}：{count} 片，最大 {largest:.2f} 亩，平均 {mean:.2f} 亩，合计 {total:.2f} 亩").format(
                state=line["state"], count=line["count"], largest=line["largest_mu"], mean=line["mean_mu"],
                total=line["total_mu"]))
        dest = write_table(self, parameters, context, "SUMMARY", SUMMARY_FIELDS, summary, feedback=feedback)
        if dest is not None:
            outputs["SUMMARY"] = dest
        for state, key in ((PLAN, "LARGEST_PLAN_MU"), (BASELINE, "LARGEST_BASELINE_MU")):
            if state in comparison.states:
                outputs[key] = to_mu(comparison.states[state].largest_m2)
        return outputs
