"""耕地: how much is adjusted, how much is gained (clause （五）)."""

from __future__ import annotations

import numpy as np

from ...analysis.indicators import Indicators
from ...common.i18n import tr
from ...common.numbers import change_text
from ...geometry.measure import to_mu
from ..evaluate import (
    Finding,
    fmt,
    make_finding,
    numeric_threshold,
    per_scope,
    rows_by_id,
    share,
    township_shares,
    unit_label,
)
from ..registry import Param, metric
from ..ruleset import Rule


@metric("farmland_adjustment_share", scopes=("township",))
def farmland_adjustment_share(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    classes = ind.baseline.classes
    from_farm = np.array([classes.is_farmland(c) for c in ind.flows["from"]], dtype=bool)
    to_farm = np.array([classes.is_farmland(c) for c in ind.flows["to"]], dtype=bool)
    lost = np.zeros(len(t), dtype=bool)
    lost[np.unique(ind.flows["piece"].to_numpy()[from_farm & ~to_farm])] = True
    return township_shares(
        rule, ind, "farmland_lost_in_units_m2", "farmland_total_m2", tr("{township}无耕地，不计算耕地调整比例"),
        lambda name, row, value: tr("{township}整治单元内耕地转为其他地类 {lost} 亩，占乡镇耕地 {total} 亩的 {value}%").format(
            township=name, lost=fmt(to_mu(row["farmland_lost_in_units_m2"])),
            total=fmt(to_mu(row["farmland_total_m2"])), value=fmt(value, rule.decimals)),
        lambda code: lost & (t["township"].to_numpy() == code), tr("耕地调整超限"))


@metric("farmland_net_gain", scopes=("scheme", "unit"),
        params={"per_unit_rows": Param(bool, required=False, doc="也列出各单元的参考值")},
        columns=("farmland_before_m2", "farmland_after_m2"))
def farmland_net_gain(rule: Rule, ind: Indicators) -> list[Finding]:
    def one(scope: str, scope_id: str, before: float, after: float, label: str) -> Finding:
        value = share(after - before, before)
        if value is None:
            return make_finding(rule, scope, scope_id, None, None,
                            tr("{label}现状无耕地，不计算新增耕地比例").format(label=label))
        detail = tr("{label}耕地现状 {before} 亩、规划 {after} 亩，{change}，为原有耕地的 {value}%").format(
            label=label, before=fmt(to_mu(before)), after=fmt(to_mu(after)), change=change_text(after - before),
            value=fmt(value, rule.decimals))
        return make_finding(rule, scope, scope_id, value, numeric_threshold(rule), detail)

    out = per_scope(rule, ind, lambda scope, sid, row, label: one(
        scope, sid, row["farmland_before_m2"], row["farmland_after_m2"], label))
    if rule.scope == "scheme" and rule.param("per_unit_rows", False):
        for unit_id, row in rows_by_id(ind.per_unit):
            finding = one("unit", unit_id, row["farmland_before_m2"], row["farmland_after_m2"],
                          unit_label(unit_id, row["name"]))
            finding.message = tr("（单元参考值）") + finding.message
            out.append(finding)
    return out
