"""The compliance check (合规性检查): layers in, verdict rows and conflicts out.

This is the single function the ``checkunits`` algorithm, the dock panel and the
exporter call, so their figures cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.analysis import Analysis, analyse
from ..analysis.indicators import Indicators
from ..common.i18n import tr
from ..common.progress import SILENT, Progress
from ..ingest.baseline import Baseline
from ..ingest.layers import SchemeLayers
from ..ingest.plan import Plan
from ..rules.evaluate import ERROR, FAIL, NOT_APPLICABLE, PASS, Conflict, Finding, error_findings, evaluate
from ..rules.ruleset import Ruleset


@dataclass
class CheckResult:
    ruleset: Ruleset
    baseline: Baseline
    plan: Plan
    indicators: Indicators
    findings: list[Finding]
    warnings: list[str]

    def rows(self) -> list[dict[str, str | float | None]]:
        return [f.as_row() for f in self.findings]

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for f in self.findings for c in f.conflicts]

    def counts(self) -> dict[str, int]:
        counts = {PASS: 0, FAIL: 0, NOT_APPLICABLE: 0, ERROR: 0}
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    def finding(self, rule_id: str, scope_id: str = "") -> Finding:
        for f in self.findings:
            if f.rule_id == rule_id and f.scope_id == scope_id:
                return f
        raise KeyError((rule_id, scope_id))

    def townships_of(self, unit_id: str) -> list[str]:
        """The township codes a unit's land lies in."""
        pieces = self.indicators.pieces.table
        return sorted(set(pieces.loc[pieces["unit_id"] == unit_id, "township"]) - {""})

    def findings_for_unit(self, unit_id: str) -> list[Finding]:
        """What concerns one unit: its own rows, its townships' rows and the scheme's rows (the panel's
        view of a unit and the unit's report show the same)."""
        towns = set(self.townships_of(unit_id))
        return [f for f in self.findings if f.scope == "scheme" or (f.scope == "unit" and f.scope_id == unit_id)
                or (f.scope == "township" and f.scope_id in towns)]

    def conflict_geometries(self, crs_wkt: str) -> np.ndarray:
        """Conflict polygons reprojected to ``crs_wkt`` (for output layers)."""
        geoms = np.array([c.geom for c in self.conflicts], dtype=object)
        return self.baseline.frame.export(geoms, crs_wkt)


def run_check(layers: SchemeLayers, ruleset: Ruleset | None = None, baseline: Baseline | None = None,
              progress: Progress = SILENT) -> CheckResult:
    """Check a scheme. Pass a cached ``baseline`` to skip re-reading the survey layers."""
    analysis = analyse(layers, ruleset, baseline, progress=progress)
    progress.step(90, tr("逐条核验规则"))
    result = check(analysis)
    progress.step(100, "")
    return result


def check(analysis: Analysis) -> CheckResult:
    """The verdicts of an analysis: one finding per rule and scope."""
    return CheckResult(ruleset=analysis.ruleset, baseline=analysis.baseline, plan=analysis.plan,
                       indicators=analysis.indicators,
                       findings=evaluate(analysis.indicators) + error_findings(analysis.ruleset.rules,
                                                                               analysis.failed_units),
                       warnings=list(analysis.warnings))


__all__ = ["CheckResult", "run_check", "Conflict"]
