"""Rules applied to indicators: one verdict row per (scope, rule), plus conflict geometries.

Each metric is a function ``(rule, indicators) -> list[Finding]``; the ruleset
says which metric a rule uses, where it applies, and its threshold. Values are
compared as the planner reads them (rounded to the rule's decimals), so a figure
printed as 3.00% never fails a ≤ 3% rule.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, cast

import numpy as np

from ..analysis.conflicts import PieceFacts
from ..analysis.indicators import Indicators
from ..analysis.pieces import dissolve_pieces
from ..common.i18n import tr
from ..common.numbers import number_text
from . import registry
from .ruleset import Limit, Rule

if TYPE_CHECKING:
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

PASS = "pass"
FAIL = "fail"
NOT_APPLICABLE = "not_applicable"
ERROR = "error"  # the unit's computation failed (analysis.failed_units): no figure, the reason instead

COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}
COMPARE_TEXT = {"<=": "≤", "<": "<", ">=": "≥", ">": ">", "==": "="}


@dataclass
class Conflict:
    rule_id: str
    scope_id: str
    geom: BaseGeometry  # shapely, working frame
    area_m2: float
    kind: str
    message: str


@dataclass
class Finding:
    rule_id: str
    metric: str
    scope: str
    scope_id: str
    value: float | None
    threshold: float | None
    unit: str
    status: str
    clause: str
    message: str
    title: str
    conflicts: list[Conflict] = field(default_factory=list)

    def as_row(self) -> dict[str, str | float | None]:
        return {"scope": self.scope, "scope_id": self.scope_id, "rule_id": self.rule_id, "value": self.value,
                "threshold": self.threshold, "unit": self.unit, "status": self.status, "clause": self.clause,
                "message": self.message}


def holds(limit: Rule | Limit, value: float, threshold: float | None) -> bool:
    """Whether ``value`` keeps the limit, both compared as printed (rounded to the limit's decimals)."""
    if threshold is None:  # a metric's bug: a keyword threshold it declared but did not resolve
        raise ValueError(f"limit {limit.comparison} of {getattr(limit, 'id', '')!r} has no numeric threshold")
    return bool(COMPARE[limit.comparison](round(value, limit.decimals), round(threshold, limit.decimals)))


def status_of(rule: Rule | Limit, value: float | None, threshold: float | None) -> str:
    if value is None or threshold is None:
        return NOT_APPLICABLE
    return PASS if holds(rule, value, threshold) else FAIL


def requirement(limit: Rule | Limit, threshold: float | None) -> str:
    """'要求≤3.00%': what a limit requires, at its decimals."""
    return tr("要求{limit}").format(limit=limit_text(limit, threshold))


def limit_text(limit: Rule | Limit, threshold: float | None) -> str:
    """'≤3.00%': the comparison and the threshold at the limit's decimals."""
    return f"{COMPARE_TEXT[limit.comparison]}{fmt(threshold, limit.decimals)}{limit.unit}"


def verdict_text(status: str) -> str:
    return {PASS: tr("符合"), FAIL: tr("不符合"), NOT_APPLICABLE: tr("不适用"), ERROR: tr("计算出错")}[status]


def fmt(value: float | None, decimals: int = 2) -> str:
    """A figure in a message, printed by the one rule of core/common/numbers.py."""
    return number_text(value, decimals)


def make_finding(rule: Rule, scope: str, scope_id: str, value: float | None, threshold: float | None, detail: str,
                 status: str | None = None, conflicts: Iterable[Conflict] | None = None,
                 requirement_text: str | None = None) -> Finding:
    """A verdict row; its message ends with what is required (``requirement_text`` where a rule has
    more than one limit) and the verdict."""
    status = status or status_of(rule, value, threshold)
    if status == NOT_APPLICABLE:
        message = detail
    else:
        message = tr("{detail}；{requirement}：{verdict}。").format(
            detail=detail, requirement=requirement_text or requirement(rule, threshold), verdict=verdict_text(status))
    return Finding(rule_id=rule.id, metric=rule.metric, scope=scope, scope_id=scope_id,
                   value=None if value is None else float(value),
                   threshold=None if threshold is None else float(threshold), unit=rule.unit, status=status,
                   clause=rule.clause, message=message, title=rule.title_zh, conflicts=list(conflicts or []))


def numeric_threshold(limit: Rule | Limit, keywords: Mapping[str, float | None] | None = None) -> float | None:
    """The limit's threshold: its number, or the value the metric gives for its keyword."""
    if isinstance(limit.threshold, float):
        return limit.threshold
    return (keywords or {}).get(limit.threshold)


def share(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator * 100.0


def conflicts_of(ind: Indicators, rule: Rule, mask: np.ndarray, kind: str, message: str,
                 by: str = "unit_id") -> list[Conflict]:
    """Dissolve the masked pieces into one conflict per scope id (and 子项目 where given)."""
    groups = dissolve_pieces(ind.pieces, mask, {by: ind.pieces.table[by].to_numpy()})
    return [Conflict(rule_id=rule.id, scope_id=str(key[0]), geom=geom, area_m2=float(area), kind=kind, message=message)
            for key, geom, area in zip(groups.keys, groups.geoms, groups.areas_m2)]


# ----------------------------------------------------------------------------- plumbing


def conflict_facts(ind: Indicators) -> PieceFacts:
    return PieceFacts.of(ind.pieces.table, ind.baseline.classes, has_eco=ind.baseline.eco is not None,
                         has_udb=ind.plan.udb_plan is not None)


def unit_label(unit_id: str, name: str) -> str:
    return tr("单元 {id}{name}").format(id=unit_id, name=f"（{name}）" if name else "")


def township_label(code: str, name: str) -> str:
    return tr("乡镇 {code}{name}").format(code=code, name=f"（{name}）" if name else "")


def scope_ids(rule: Rule, ind: Indicators) -> list[str]:
    return [""] if rule.scope == "scheme" else list(ind.per_unit.index)


def rows_by_id(frame: pd.DataFrame) -> Iterator[tuple[str, pd.Series]]:
    """``frame.iterrows()`` of a frame indexed by ids (``per_unit``'s unit ids, ``per_township``'s codes)."""
    return cast("Iterator[tuple[str, pd.Series]]", frame.iterrows())  # the stubs' labels are any Hashable


def per_scope(rule: Rule, ind: Indicators, one: Callable[[str, str, pd.Series, str], Finding]) -> list[Finding]:
    """Apply ``one(scope, scope_id, figures, label)`` at the rule's scope (scheme or each unit)."""
    if rule.scope == "scheme":
        return [one("scheme", "", ind.scheme, tr("整治区域"))]
    return [one("unit", unit_id, row, unit_label(unit_id, row["name"])) for unit_id, row in rows_by_id(ind.per_unit)]


def township_shares(rule: Rule, ind: Indicators, part: str, whole: str, absent: str,
                    describe: Callable[[str, pd.Series, float], str], over_limit: Callable[[str], np.ndarray],
                    kind: str) -> list[Finding]:
    """``part`` as a share of ``whole`` (per-township columns) in each township the units touch: not
    applicable where ``whole`` is 0 (``absent`` says why), and the pieces ``over_limit(code)`` as
    conflicts where the share fails."""
    out = []
    for code, row in rows_by_id(ind.per_township):
        name = township_label(code, row["name"])
        value = share(row[part], row[whole])
        if value is None:
            out.append(make_finding(rule, "township", code, None, None, absent.format(township=name)))
            continue
        finding = make_finding(rule, "township", code, value, numeric_threshold(rule), describe(name, row, value))
        if finding.status == FAIL:
            finding.conflicts = conflicts_of(ind, rule, over_limit(code), kind, finding.message, by="township")
        out.append(finding)
    return out


def error_findings(rules: Iterable[Rule], failed_units: Mapping[str, str]) -> list[Finding]:
    """One ``error`` row per unit-scoped rule for each unit whose computation failed, with the reason."""
    return [Finding(rule_id=rule.id, metric=rule.metric, scope="unit", scope_id=unit_id, value=None, threshold=None,
                    unit=rule.unit, status=ERROR, clause=rule.clause, title=rule.title_zh,
                    message=tr("单元 {id} 计算出错，未能核验：{reason}").format(id=unit_id, reason=reason))
            for unit_id, reason in failed_units.items() for rule in rules if rule.scope == "unit"]


def evaluate(ind: Indicators) -> list[Finding]:
    """Every rule of the ruleset applied to the indicators, in the ruleset's order."""
    findings: list[Finding] = []
    for rule in ind.ruleset.rules:
        spec = registry.get(rule.metric)
        if spec is None:  # a metric unregistered after its ruleset was parsed (parsing admits declared ones only)
            raise LookupError(f"metric {rule.metric!r} of rule {rule.id!r} is not declared")
        findings.extend(spec.function(rule, ind))
    return findings
