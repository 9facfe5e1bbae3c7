"""The compliance check (合规性检查): layers in, verdict rows and conflicts out.

This is the single function the ``checkunits`` algorithm, the dock panel and the
exporter call, so their figures cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.indicators import Indicators, compute_indicators
from ..analysis.scheme import Baseline, Plan, SchemeLayers, build_baseline, build_pieces, build_plan
from ..common.i18n import tr
from ..common.progress import SILENT, Progress
from ..geometry.measure import to_mu
from ..rules.evaluate import FAIL, NOT_APPLICABLE, PASS, Conflict, evaluate
from ..rules.ruleset import Ruleset, load_ruleset


@dataclass
class CheckResult:
    ruleset: Ruleset
    baseline: Baseline
    plan: Plan
    indicators: Indicators
    findings: list
    warnings: list

    def rows(self) -> list:
        return [f.as_row() for f in self.findings]

    @property
    def conflicts(self) -> list:
        return [c for f in self.findings for c in f.conflicts]

    def counts(self) -> dict:
        counts = {PASS: 0, FAIL: 0, NOT_APPLICABLE: 0}
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    def finding(self, rule_id: str, scope_id: str = "") -> "object":
        for f in self.findings:
            if f.rule_id == rule_id and f.scope_id == scope_id:
                return f
        raise KeyError((rule_id, scope_id))

    def conflict_geometries(self, crs_wkt: str) -> np.ndarray:
        """Conflict polygons reprojected to ``crs_wkt`` (for output layers)."""
        geoms = np.array([c.geom for c in self.conflicts], dtype=object)
        return self.baseline.frame.export(geoms, crs_wkt)


@dataclass
class Analysis:
    """The scheme overlaid and summed: what every table and check is computed from."""

    ruleset: Ruleset
    baseline: Baseline
    plan: Plan
    indicators: Indicators
    warnings: list


def analyse(layers: SchemeLayers, ruleset: Ruleset | None = None, baseline: Baseline | None = None,
            progress: Progress = SILENT) -> Analysis:
    """Overlay the scheme into pieces and compute the indicators (no verdicts)."""
    ruleset = ruleset or load_ruleset()
    progress.step(2, tr("读取并校验现状图层"))
    if baseline is None:
        baseline = build_baseline(layers, ruleset)
    progress.step(30, tr("读取并校验方案图层"))
    plan = build_plan(layers, baseline, ruleset)
    progress.step(40, tr("叠加分析"))
    pieces = build_pieces(baseline, plan)
    progress.step(75, tr("统计指标"))
    indicators = compute_indicators(baseline, plan, pieces, ruleset)
    warnings = list(baseline.warnings) + list(plan.warnings)
    outside = indicators.per_unit["outside_landuse_m2"]
    for unit_id, value in outside[outside > 1.0].items():
        warnings.append(tr("整治单元 {id} 有 {mu:.2f} 亩不在地类图斑范围内，按未知地类统计。").format(
            id=unit_id, mu=to_mu(value)))
    return Analysis(ruleset=ruleset, baseline=baseline, plan=plan, indicators=indicators, warnings=warnings)


def run_check(layers: SchemeLayers, ruleset: Ruleset | None = None, baseline: Baseline | None = None,
              progress: Progress = SILENT) -> CheckResult:
    """Check a scheme. Pass a cached ``baseline`` to skip re-reading the survey layers."""
    analysis = analyse(layers, ruleset, baseline, progress)
    progress.step(90, tr("逐条核验规则"))
    findings = evaluate(analysis.indicators)
    progress.step(100, "")
    return CheckResult(ruleset=analysis.ruleset, baseline=analysis.baseline, plan=analysis.plan,
                       indicators=analysis.indicators, findings=findings, warnings=analysis.warnings)


__all__ = ["CheckResult", "run_check", "Conflict"]
