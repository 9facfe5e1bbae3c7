"""``landconsolidation:pbfadjustment`` — 永久基本农田调出调入台账."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
)

from ...core.common.i18n import tr
from ...core.common.numbers import PERCENT_DECIMALS
from ...core.geometry.measure import to_mu
from ...core.products.pbf_ledger import ADJUSTED_IN, ADJUSTED_OUT, pbf_ledger
from ...core.rules.evaluate import status_of
from ...qgis_bridge import styles
from ...qgis_bridge.layer_io import crs_wkt_of
from .base import LandConsolidationAlgorithm
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters
from .sinks import records, write_table

LEDGER_FIELDS = (("direction", str), ("unit_id", str), ("township", str), ("bsm", str), ("dlbm", str),
                 ("dlmc", str), ("gddb", float), ("gdpdjb", str), ("area_mu", float))
SUMMARY_FIELDS = (("township", str), ("name", str), ("pbf_total_mu", float), ("pbf_out_mu", float),
                  ("pbf_out_in_units_mu", float), ("pbf_in_in_units_mu", float), ("share", float),
                  ("threshold", float), ("status", str))


class PbfAdjustmentAlgorithm(LandConsolidationAlgorithm):
    NAME = "pbfadjustment"
    DISPLAY = "永久基本农田调出调入台账"
    GROUP = "indicators"
    HELP_ZH = (
        "<p>列出整治单元内每一块永久基本农田调出（现状有、规划无）和调入（现状无、规划有）的图斑：面积（亩）、地类、"
        "耕地等别 GDDB、坡度级别 GDPDJB、所在乡镇和单元；按乡镇汇总调出面积占乡镇永久基本农田的比例，"
        "对照规则集 pbf_adjustment_share 的上限（缺省 3%）；并比较调入与调出的面积加权平均等别（数值越小质量越高）。"
        "与合规性检查同一口径。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>The permanent basic farmland ledger: every piece adjusted out (in baseline, not in plan) and in, with "
        "area (mu), class, grade GDDB, slope class GDPDJB, township and unit; township totals against the ruleset's "
        "cap (3% by default); and the area-weighted grade of adjusted-in against adjusted-out land.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self, names=("UNITS", "LANDUSE", "PBF", "PBF_PLAN", "TOWNSHIPS"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("调出调入图斑"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink("SUMMARY", tr("乡镇汇总"), QgsProcessing.SourceType.TypeVector,
                                                            optional=True))
        self.addOutput(QgsProcessingOutputNumber("OUT_MU", tr("调出面积（亩）")))
        self.addOutput(QgsProcessingOutputNumber("IN_MU", tr("调入面积（亩）")))
        self.addOutput(QgsProcessingOutputNumber("OUT_GDDB", tr("调出平均等别")))
        self.addOutput(QgsProcessingOutputNumber("IN_GDDB", tr("调入平均等别")))

    def perform(self, parameters, context, feedback, progress):
        analysis = self.analyse_scheme(parameters, context, feedback, progress)
        ruleset = analysis.ruleset
        rule = next(iter(ruleset.rules_of("pbf_adjustment_share")), None)
        cap = rule.threshold if rule is not None and isinstance(rule.threshold, float) else None
        ledger = pbf_ledger(analysis.indicators, cap)
        crs = self.source_crs(parameters, "UNITS", context)
        geoms = analysis.baseline.frame.export(ledger.geoms, crs_wkt_of(crs))
        outputs = {"OUTPUT": write_table(self, parameters, context, "OUTPUT", LEDGER_FIELDS, records(ledger.table),
                                         geoms=geoms, crs=crs, feedback=feedback, style=styles.style_pbf_ledger)}
        summary = []
        for code, row in ledger.townships.iterrows():
            share = row["pbf_out_share"]
            status = status_of(rule, None if share != share else share, cap) if rule is not None else ""
            summary.append({"township": code, "name": row["name"], "pbf_total_mu": to_mu(row["pbf_total_m2"]),
                            "pbf_out_mu": to_mu(row["pbf_out_m2"]),
                            "pbf_out_in_units_mu": to_mu(row["pbf_out_in_units_m2"]),
                            "pbf_in_in_units_mu": to_mu(row["pbf_in_in_units_m2"]), "share": share,
                            "threshold": cap, "status": status})
        places = rule.decimals if rule is not None else PERCENT_DECIMALS  # share and cap at the rule's decimals
        dest = write_table(self, parameters, context, "SUMMARY", SUMMARY_FIELDS, summary, feedback=feedback,
                           decimals={"share": places, "threshold": places}, style=styles.style_check_result)
        if dest is not None:
            outputs["SUMMARY"] = dest
        out, inn = ledger.quality[ADJUSTED_OUT], ledger.quality[ADJUSTED_IN]
        outputs.update({"OUT_MU": out["area_mu"], "IN_MU": inn["area_mu"], "OUT_GDDB": out["mean_gddb"],
                        "IN_GDDB": inn["mean_gddb"]})
        feedback.pushInfo(tr("调出 {a:.2f} 亩（平均等别 {g}），调入 {b:.2f} 亩（平均等别 {h}，另有 {u:.2f} 亩无等别）").format(
            a=out["area_mu"], g=_grade(out["mean_gddb"]), b=inn["area_mu"], h=_grade(inn["mean_gddb"]),
            u=inn["unknown_mu"]))
        return outputs


def _grade(value) -> str:
    return "—" if value is None else f"{value:.2f}"
