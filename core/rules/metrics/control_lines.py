"""三条控制线: the urban boundary's expansion factor, the red line, overlaps of the lines (（三）（五）)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...analysis.conflicts import KIND_BY_KEY, PBF_OVERLAP_KINDS
from ...analysis.indicators import Indicators, urban_construction_m2
from ...common.i18n import tr
from ...geometry.measure import to_mu
from ..evaluate import (
    FAIL,
    Finding,
    conflict_facts,
    conflicts_of,
    fmt,
    holds,
    make_finding,
    numeric_threshold,
    per_scope,
    scope_ids,
)
from ..registry import Param, list_of, metric
from ..ruleset import Rule

if TYPE_CHECKING:
    import pandas as pd


@metric("udb_expansion_factor", scopes=("scheme",), threshold_keywords=("baseline",),
        params={"urban_czcsxm": Param(list, doc="现状城镇建设用地的城镇村属性码", check=list_of(str, int))}, limits={"boundary_area": ("baseline",)})
def udb_expansion_factor(rule: Rule, ind: Indicators) -> list[Finding]:
    udb = ind.udb
    if udb["udb_m2"] is None:
        return [make_finding(rule, "scheme", "", None, None, tr("未提供城镇开发边界图层，不计算扩展倍数"))]
    urban = urban_construction_m2(ind, rule.param("urban_czcsxm"))
    if urban <= 0:
        why = tr("地类图斑缺少城镇村属性码（CZCSXM）") if not udb["has_czcsxm"] else tr("现状城镇建设用地为 0")
        return [make_finding(rule, "scheme", "", None, None, tr("{why}，无法计算城镇开发边界扩展倍数").format(why=why))]
    if udb["udb_plan_m2"] is None:  # cannot be: the planned boundary defaults to the current one
        raise AssertionError("a current urban boundary without a planned one")
    value = udb["udb_plan_m2"] / urban
    baseline_factor = udb["udb_m2"] / urban
    threshold = numeric_threshold(rule, {"baseline": baseline_factor})
    detail = tr("规划城镇开发边界 {plan} 亩 ÷ 现状城镇建设用地 {urban} 亩 = {value} 倍（现状边界 {base} 亩，{factor} 倍）").format(
        plan=fmt(to_mu(udb["udb_plan_m2"])), urban=fmt(to_mu(urban)), value=fmt(value, rule.decimals),
        base=fmt(to_mu(udb["udb_m2"])), factor=fmt(baseline_factor, rule.decimals))
    # Limit boundary_area: the planned boundary's area against the current one (亩), judged at its own
    # decimals — a factor rounded to four decimals would let ~5e-5 of the boundary grow unseen.
    area_limit = rule.limit("boundary_area")
    status = None
    if not holds(area_limit, to_mu(udb["udb_plan_m2"]), numeric_threshold(area_limit, {"baseline": to_mu(udb["udb_m2"])})):
        status = FAIL
    return [make_finding(rule, "scheme", "", value, threshold, detail, status=status)]


@metric("eco_redline_construction", scopes=("unit", "scheme"), columns=("eco_construction_new_m2",))
def eco_redline_construction(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    if ind.baseline.eco is None:
        return [make_finding(rule, rule.scope, sid, None, None, tr("未提供生态保护红线图层"))
                for sid in scope_ids(rule, ind)]
    mask_all = KIND_BY_KEY["eco_construction"].mask(conflict_facts(ind))

    def one(scope: str, sid: str, row: pd.Series, label: str) -> Finding:
        value = to_mu(row["eco_construction_new_m2"])
        detail = tr("{label}生态保护红线内新增建设用地 {value} 亩").format(label=label, value=fmt(value, rule.decimals))
        finding = make_finding(rule, scope, sid, value, numeric_threshold(rule), detail)
        if finding.status == FAIL:
            mask = mask_all if scope == "scheme" else mask_all & (t["unit_id"].to_numpy() == sid)
            finding.conflicts = conflicts_of(ind, rule, mask, tr(KIND_BY_KEY["eco_construction"].label),
                                             finding.message)
        return finding

    return per_scope(rule, ind, one)


@metric("pbf_control_line_overlap", scopes=("scheme", "unit"),
        columns=("pbf_plan_conflict_m2", "pbf_plan_in_eco_m2", "pbf_plan_in_udb_plan_m2"))
def pbf_control_line_overlap(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    has_eco = ind.baseline.eco is not None
    has_udb = ind.plan.udb_plan is not None
    if not (has_eco or has_udb):
        return [make_finding(rule, rule.scope, sid, None, None, tr("未提供生态保护红线和城镇开发边界图层"))
                for sid in scope_ids(rule, ind)]

    def one(scope: str, sid: str, row: pd.Series, label: str) -> Finding:
        value = to_mu(row["pbf_plan_conflict_m2"])
        detail = tr("{label}规划永久基本农田与生态保护红线重叠 {eco} 亩、与规划城镇开发边界重叠 {udb} 亩").format(
            label=label, eco=fmt(to_mu(row["pbf_plan_in_eco_m2"])), udb=fmt(to_mu(row["pbf_plan_in_udb_plan_m2"])))
        finding = make_finding(rule, scope, sid, value, numeric_threshold(rule), detail)
        if finding.status == FAIL:
            # One conflict per kind, and the kinds do not overlap: the polygons add up to the value.
            in_scope = np.ones(len(t), bool) if scope == "scheme" else t["unit_id"].to_numpy() == sid
            facts = conflict_facts(ind)
            finding.conflicts = [c for key in PBF_OVERLAP_KINDS for c in conflicts_of(
                ind, rule, KIND_BY_KEY[key].mask(facts) & in_scope, tr(KIND_BY_KEY[key].label), finding.message)]
        return finding

    return per_scope(rule, ind, one)
