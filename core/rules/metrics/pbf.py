"""永久基本农田: adjusted out, net gain, contiguous blocks, quality of what comes in (clause （五）)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...analysis.indicators import Indicators
from ...common.i18n import tr
from ...common.numbers import change_text
from ...geometry.measure import to_mu
from ..evaluate import (
    FAIL,
    NOT_APPLICABLE,
    Finding,
    conflicts_of,
    fmt,
    holds,
    make_finding,
    numeric_threshold,
    per_scope,
    township_shares,
)
from ..registry import NUMBER, Param, list_of, metric, non_negative
from ..ruleset import Rule

if TYPE_CHECKING:
    import pandas as pd


def _patch_classes_problem(classes: list[object]) -> str | None:
    for k, entry in enumerate(classes):
        if not isinstance(entry, dict) or set(entry) != {"name", "min_mu"} or not isinstance(entry["name"], str) \
                or not isinstance(entry["min_mu"], NUMBER) or isinstance(entry["min_mu"], bool):
            return f"第 {k + 1} 项应为 {{name: 名称, min_mu: 亩数}}"
    return None


@metric("pbf_adjustment_share", scopes=("township",))
def pbf_adjustment_share(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    adjusted_out = t["in_pbf"].to_numpy(bool) & ~t["in_pbf_plan"].to_numpy(bool)
    return township_shares(
        rule, ind, "pbf_out_m2", "pbf_total_m2", tr("{township}无现状永久基本农田，不计算调整比例"),
        lambda name, row, value: tr("{township}永久基本农田调出 {out} 亩（其中整治单元内 {inside} 亩），"
                                    "占乡镇永久基本农田 {total} 亩的 {value}%").format(
            township=name, out=fmt(to_mu(row["pbf_out_m2"])), inside=fmt(to_mu(row["pbf_out_in_units_m2"])),
            total=fmt(to_mu(row["pbf_total_m2"])), value=fmt(value, rule.decimals)),
        lambda code: adjusted_out & (t["township"].to_numpy() == code), tr("永久基本农田调出超限"))


@metric("pbf_net_gain", scopes=("scheme", "unit"), columns=("pbf_out_m2", "pbf_in_m2"))
def pbf_net_gain(rule: Rule, ind: Indicators) -> list[Finding]:
    def one(scope: str, sid: str, row: pd.Series, label: str) -> Finding:
        out_m2, in_m2 = row["pbf_out_m2"], row["pbf_in_m2"]
        if out_m2 <= 0:
            return make_finding(rule, scope, sid, None, None, tr("{label}无永久基本农田调出（调入 {inn} 亩），不适用").format(
                label=label, inn=fmt(to_mu(in_m2))))
        value = (in_m2 - out_m2) / out_m2 * 100.0
        detail = tr("{label}永久基本农田调出 {out} 亩、调入 {inn} 亩，{change}，为调整（调出）面积的 {value}%").format(
            label=label, out=fmt(to_mu(out_m2)), inn=fmt(to_mu(in_m2)), change=change_text(in_m2 - out_m2),
            value=fmt(value, rule.decimals))
        return make_finding(rule, scope, sid, value, numeric_threshold(rule), detail)

    return per_scope(rule, ind, one)


@metric("contiguous_pbf", scopes=("scheme", "unit"),
        params={"gap_tolerance_m": Param(NUMBER, doc="间距小于此值（米）视为连片", check=non_negative),
                "patch_classes": Param(list, doc="片块等级 [{name, min_mu}]", check=_patch_classes_problem)})
def contiguous_pbf(rule: Rule, ind: Indicators) -> list[Finding]:
    gap = float(rule.param("gap_tolerance_m"))
    classes = rule.param("patch_classes")

    def one(scope: str, sid: str, row: pd.Series, label: str) -> Finding:
        patches = ind.patches("pbf_plan", gap, classes, unit_id=None if scope == "scheme" else sid)
        before = ind.patches("pbf", gap, classes, unit_id=None if scope == "scheme" else sid)
        if len(patches.table) == 0:
            return make_finding(rule, scope, sid, 0.0, numeric_threshold(rule),
                            tr("{label}无规划永久基本农田").format(label=label))
        top = patches.table.iloc[0]
        value = float(top["area_mu"])
        name = top["class_name"] or tr("未达百亩方")
        detail = tr("{label}最大集中连片永久基本农田 {value} 亩（{name}），共 {count} 片、平均 {mean} 亩"
                    "（现状最大 {before} 亩、{before_count} 片；间距 {gap} 米内视为连片）").format(
            label=label, value=fmt(value), name=name, count=len(patches.table),
            mean=fmt(to_mu(patches.summary()["mean_m2"])), before=fmt(to_mu(before.largest_m2)),
            before_count=len(before.table), gap=fmt(gap, 0))
        return make_finding(rule, scope, sid, value, numeric_threshold(rule), detail)

    return per_scope(rule, ind, one)


@metric("pbf_quality_not_lower", scopes=("scheme",), threshold_keywords=("adjusted_out",),
        params={"forbidden_slope_classes": Param(list, doc="调入不得位于的坡度级别", check=list_of(str, int))}, limits={"steep_area": ()})
def pbf_quality_not_lower(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    parcels = ind.baseline.parcel_table
    forbidden = {str(c) for c in rule.param("forbidden_slope_classes")}
    parcel = t["parcel"].to_numpy()
    has_parcel = parcel >= 0
    gddb = np.where(has_parcel, parcels["gddb"].to_numpy()[np.maximum(parcel, 0)], np.nan)
    slope = np.where(has_parcel, parcels["gdpdjb"].to_numpy()[np.maximum(parcel, 0)], "")
    area = t["area_m2"].to_numpy()
    pbf_in = ~t["in_pbf"].to_numpy(bool) & t["in_pbf_plan"].to_numpy(bool)
    pbf_out = t["in_pbf"].to_numpy(bool) & ~t["in_pbf_plan"].to_numpy(bool)
    if not pbf_in.any():
        return [make_finding(rule, "scheme", "", None, None, tr("无永久基本农田调入，不评价质量"))]

    def weighted(mask: np.ndarray) -> tuple[float | None, float]:
        known = mask & ~np.isnan(gddb)
        return (float(np.average(gddb[known], weights=area[known])) if area[known].sum() > 0 else None,
                to_mu(area[mask & np.isnan(gddb)].sum()))

    grade_in, unknown_in = weighted(pbf_in)
    grade_out, _ = weighted(pbf_out)
    steep = pbf_in & np.isin(slope.astype(str), list(forbidden))
    steep_mu = to_mu(area[steep].sum())
    detail = tr("调入永久基本农田平均耕地等别 {grade_in}（另有 {unknown} 亩无等别），调出平均 {grade_out}；"
                "调入位于坡度级别 {slopes} 的 {steep} 亩（等别数值越小质量越高）").format(
        grade_in=fmt(grade_in), unknown=fmt(unknown_in), grade_out=fmt(grade_out),
        slopes="、".join(sorted(forbidden)), steep=fmt(steep_mu))
    # Limit steep_area: 调入 on forbidden slope classes (亩), judged at its own decimals.
    steep_limit = rule.limit("steep_area")
    status = None
    if not holds(steep_limit, steep_mu, numeric_threshold(steep_limit)):
        status = FAIL
    elif grade_in is None or grade_out is None:
        status = NOT_APPLICABLE
        detail += tr("；缺少等别，无法比较")
    finding = make_finding(rule, "scheme", "", grade_in, numeric_threshold(rule, {"adjusted_out": grade_out}), detail,
                           status=status)
    if finding.status == FAIL and steep.any():
        finding.conflicts = conflicts_of(ind, rule, steep, tr("调入陡坡耕地"), finding.message)
    return [finding]

