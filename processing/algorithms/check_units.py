"""``landconsolidation:checkunits`` — 合规性检查: every rule, for every unit, township and the scheme."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSink,
)

from ...core.common.i18n import tr
from ...core.common.numbers import AREA_DECIMALS
from ...core.geometry.measure import to_mu
from ...core.products.check import run_check
from ...qgis_bridge import styles
from .base import LandConsolidationAlgorithm, warn
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import add_scheme_parameters, read_ruleset, read_scheme_layers
from .sinks import write_table

RESULT_FIELDS = (
    ("scope", str), ("scope_id", str), ("rule_id", str), ("title", str), ("value", float),
    ("threshold", float), ("unit", str), ("status", str), ("clause", str), ("message", str),
)
CONFLICT_FIELDS = (("rule_id", str), ("scope_id", str), ("area", float), ("kind", str), ("message", str))

def rule_decimals(ruleset) -> dict:
    """A finding's value and threshold are printed at its rule's decimals (as the panel and the report)."""
    def places(row) -> int:
        try:
            return ruleset.rule(row["rule_id"]).decimals
        except KeyError:
            return AREA_DECIMALS

    return {"value": places, "threshold": places}


class CheckUnitsAlgorithm(LandConsolidationAlgorithm):
    NAME = "checkunits"
    DISPLAY = "合规性检查（整治单元方案）"
    GROUP = "check"
    HELP_ZH = (
        "<p>按规则集（缺省：宁波 2022 意见）逐条检查整治单元方案：耕地和永久基本农田调整规模不超过所涉乡镇的 3%、"
        "新增耕地不少于原有耕地的 5%、新增永久基本农田不少于调整面积的 5%、城镇开发边界扩展倍数不增加、"
        "三条控制线不冲突、“百千万”集中连片、建设用地不增加、零星用地、生态产业开发比例、调入永久基本农田质量等。</p>"
        "<p>输出：每个（范围，规则）一行的核算表（scope、scope_id、rule_id、value、threshold、unit、status、clause、message），"
        "status 为 pass（符合）、fail（不符合）、not_applicable（不适用）或 error（该单元计算出错，message 说明原因），"
        "以及冲突图斑图层（rule_id、scope_id、area 亩）。乡镇范围：有乡镇图层时按图形，否则按 ZLDWDM 前 9 位。</p>"
        "<p><b>规则口径</b>：方案级指标统计整治单元内；新增永久基本农田比例的分母为单元内调出面积；"
        "子项目面积按其绘制范围计（同地类子项目重叠时地类只计一次）；零星用地单宗面积按整宗计（跨单元亦然）；"
        "城镇开发边界扩展倍数不增加按规划与现状边界面积（0.01 亩）比较；要素重叠按各图层自身坐标系下的绘制图形判断。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Checks a consolidation scheme against a ruleset (default: Ningbo 2022): farmland and permanent basic "
        "farmland adjusted ≤ 3% of each township's, net new farmland ≥ 5%, net new permanent basic farmland ≥ 5% of "
        "the area adjusted out, urban boundary expansion factor not increased, no conflict among the three control "
        "lines, a contiguous 100/1,000/10,000 mu block, construction land not increased, scattered parcels, "
        "eco-industry share and the quality of adjusted-in farmland.</p><p>Outputs one row per (scope, rule), status "
        "pass, fail, not_applicable or error (the unit's computation failed; message says why), and a "
        "layer of conflict polygons.</p><p><b>Rule conventions</b>: scheme-level figures are taken inside the "
        "units; the new-PBF share divides by the area adjusted out inside the units; a sub-project's area is its "
        "footprint as drawn (overlapping projects of one class count their land once); a scattered parcel's size is "
        "the whole parcel, even across units; the urban boundary must not grow, compared by area to 0.01 mu; "
        "overlaps are judged on features as drawn, in each layer's own CRS.</p>"
    ) + CONVENTION_EN

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self)
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("合规性核算表"), QgsProcessing.SourceType.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink("CONFLICTS", tr("冲突图斑"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon, optional=True))

    def perform(self, parameters, context, feedback, progress):
        ruleset = read_ruleset(self, parameters, context)
        layers = read_scheme_layers(self, parameters, context, feedback)
        result = run_check(layers, ruleset=ruleset, progress=progress)
        for text in result.warnings:
            warn(feedback, text)

        rows = [dict(f.as_row(), title=f.title) for f in result.findings]
        outputs = {"OUTPUT": write_table(self, parameters, context, "OUTPUT", RESULT_FIELDS, rows, feedback=feedback,
                                         decimals=rule_decimals(ruleset), style=styles.style_check_result)}
        conflict_rows = [{"rule_id": c.rule_id, "scope_id": c.scope_id, "area": round(to_mu(c.area_m2), 4),
                          "kind": c.kind, "message": c.message} for c in result.conflicts]
        dest = write_table(self, parameters, context, "CONFLICTS", CONFLICT_FIELDS, conflict_rows,
                           geoms=result.conflict_geometries(layers.units.crs_wkt),
                           crs=self.source_crs(parameters, "UNITS", context), feedback=feedback,
                           style=styles.style_conflicts)
        if dest is not None:
            outputs["CONFLICTS"] = dest
        counts = result.counts()
        feedback.pushInfo(tr("核验完成：符合 {p} 项，不符合 {f} 项，不适用 {n} 项。").format(
            p=counts["pass"], f=counts["fail"], n=counts["not_applicable"]))
        if counts["error"]:
            feedback.reportError(tr("有 {n} 项因单元计算出错未能核验（见 message 字段）。").format(n=counts["error"]))
        for finding in result.findings:
            if finding.status == "fail":
                feedback.pushInfo("✗ " + finding.message)
        return outputs
