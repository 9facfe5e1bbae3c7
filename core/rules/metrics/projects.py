"""Area rules over 子项目 types (clauses （十）（十二））: each type's land counted once."""

from __future__ import annotations

from ...analysis.indicators import Indicators, type_area
from ...common.i18n import tr
from ...geometry.measure import to_mu
from ..evaluate import (
    FAIL,
    PASS,
    Conflict,
    Finding,
    fmt,
    holds,
    limit_text,
    make_finding,
    numeric_threshold,
    rows_by_id,
    share,
    unit_label,
)
from ..registry import Param, metric
from ..ruleset import Rule


@metric("scattered_parcels", scopes=("unit",),
        params={"project_type": Param(str, doc="零星用地的子项目类型"),
                "redevelopment_type": Param(str, doc="再开发项目的子项目类型")}, limits={"total_share": ()})
def scattered_parcels(rule: Rule, ind: Indicators) -> list[Finding]:
    """Each 零星用地 parcel against the rule's limit (亩), and their land in the unit against limit
    ``total_share`` (% of the 再开发 projects' land)."""
    kind = rule.param("project_type")
    redevelopment = rule.param("redevelopment_type")
    total_limit = rule.limit("total_share")
    each_limit = numeric_threshold(rule)
    areas = ind.project_areas
    out = []
    for unit_id, row in rows_by_id(ind.per_unit):
        label = unit_label(unit_id, row["name"])
        mine = areas[areas["unit_id"] == unit_id]
        scattered = mine[mine["type"] == kind]
        if len(scattered) == 0:
            out.append(make_finding(rule, "unit", unit_id, None, None,
                                    tr("{label}无“{kind}”子项目").format(label=label, kind=kind)))
            continue
        # Each parcel's limit applies to the whole parcel (even where it crosses into another
        # unit); the unit's total counts what lies inside the unit.
        sizes = to_mu(scattered["whole_area_m2"].to_numpy().astype(float))
        total = to_mu(type_area(ind, unit_id, kind))  # overlapping parcels of one type count once
        base = to_mu(type_area(ind, unit_id, redevelopment))
        total_share = share(total, base)
        largest = float(sizes.max())
        too_big = [pid for pid, size in zip(scattered["project_id"], sizes) if not holds(rule.primary, size, each_limit)]
        share_ok = total_share is not None and holds(total_limit, total_share, numeric_threshold(total_limit))
        status = PASS if (not too_big and share_ok) else FAIL
        detail = tr("{label}“{kind}”{n} 宗，最大 {largest} 亩，合计 {total} 亩，占“{base_kind}”{base} 亩的 {share}%").format(
            label=label, kind=kind, n=len(sizes), largest=fmt(largest, rule.decimals), total=fmt(total),
            base_kind=redevelopment, base=fmt(base), share=fmt(total_share, total_limit.decimals))
        if too_big:
            detail += tr("；超过单宗上限：{ids}").format(ids="、".join(too_big))
        both = tr("要求单宗{each}且合计{all}").format(each=limit_text(rule.primary, each_limit),
                                                   all=limit_text(total_limit, numeric_threshold(total_limit)))
        finding = make_finding(rule, "unit", unit_id, largest, each_limit, detail, status=status,
                               requirement_text=both)
        if status == FAIL:
            chosen = scattered if not share_ok else scattered[scattered["project_id"].isin(too_big)]
            finding.conflicts = [Conflict(rule_id=rule.id, scope_id=str(unit_id), geom=a["geom"],
                                          area_m2=float(a["area_m2"]), kind=tr("零星用地超限：{id}").format(
                                              id=a["project_id"]), message=finding.message)
                                 for _, a in chosen.iterrows()]
        out.append(finding)
    return out


@metric("eco_industry_share", scopes=("unit",),
        params={"industry_type": Param(str), "restoration_type": Param(str)})
def eco_industry_share(rule: Rule, ind: Indicators) -> list[Finding]:
    industry = rule.param("industry_type")
    restoration = rule.param("restoration_type")
    out = []
    for unit_id, row in rows_by_id(ind.per_unit):
        label = unit_label(unit_id, row["name"])
        industry_m2 = type_area(ind, unit_id, industry)
        restored_m2 = type_area(ind, unit_id, restoration)
        if industry_m2 <= 0:
            out.append(make_finding(rule, "unit", unit_id, None, None,
                                tr("{label}无“{kind}”子项目").format(label=label, kind=industry)))
            continue
        value = share(industry_m2, restored_m2)
        detail = tr("{label}“{industry}”{a} 亩，“{restoration}”{b} 亩，占 {value}%").format(
            label=label, industry=industry, restoration=restoration, a=fmt(to_mu(industry_m2)),
            b=fmt(to_mu(restored_m2)), value=fmt(value, rule.decimals))
        status = FAIL if value is None else None  # industry without any restoration cannot comply
        finding = make_finding(rule, "unit", unit_id, value, numeric_threshold(rule), detail, status=status)
        if finding.status == FAIL:
            land = ind.type_areas[(ind.type_areas["unit_id"] == unit_id) & (ind.type_areas["type"] == industry)]
            finding.conflicts = [Conflict(rule_id=rule.id, scope_id=str(unit_id), geom=land["geom"].iloc[0],
                                          area_m2=float(land["area_m2"].iloc[0]), kind=tr("生态产业开发超限"),
                                          message=finding.message)]
        out.append(finding)
    return out
