"""Rules applied to indicators: one verdict row per (scope, rule), plus conflict geometries.

Each metric is a function ``(rule, indicators) -> list[Finding]``; the ruleset
says which metric a rule uses, where it applies, and its threshold. Values are
compared as the planner reads them (rounded to the rule's decimals), so a figure
printed as 3.00% never fails a ≤ 3% rule.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import shapely

from ..analysis.indicators import Indicators
from ..common.i18n import tr
from ..geometry.measure import to_mu
from .ruleset import Rule

PASS = "pass"
FAIL = "fail"
NOT_APPLICABLE = "not_applicable"

_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}
_COMPARE_TEXT = {"<=": "≤", "<": "<", ">=": "≥", ">": ">", "==": "="}


@dataclass
class Conflict:
    rule_id: str
    scope_id: str
    geom: object  # shapely, working frame
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
    conflicts: list = field(default_factory=list)

    def as_row(self) -> dict:
        return {"scope": self.scope, "scope_id": self.scope_id, "rule_id": self.rule_id, "value": self.value,
                "threshold": self.threshold, "unit": self.unit, "status": self.status, "clause": self.clause,
                "message": self.message}


def status_of(rule: Rule, value: float | None, threshold: float | None) -> str:
    if value is None or threshold is None:
        return NOT_APPLICABLE
    ok = _COMPARE[rule.comparison](round(value, rule.decimals), round(threshold, rule.decimals))
    return PASS if ok else FAIL


def verdict_text(status: str) -> str:
    return {PASS: tr("符合"), FAIL: tr("不符合"), NOT_APPLICABLE: tr("不适用")}[status]


def _fmt(value: float | None, decimals: int = 2) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


def _finding(rule: Rule, scope: str, scope_id: str, value, threshold, detail: str, status: str | None = None,
             conflicts=None) -> Finding:
    status = status or status_of(rule, value, threshold)
    if status == NOT_APPLICABLE:
        message = detail
    else:
        requirement = tr("要求{cmp}{threshold}{unit}").format(
            cmp=_COMPARE_TEXT[rule.comparison], threshold=_fmt(threshold, rule.decimals), unit=rule.unit)
        message = tr("{detail}；{requirement}：{verdict}。").format(detail=detail, requirement=requirement,
                                                                  verdict=verdict_text(status))
    return Finding(rule_id=rule.id, metric=rule.metric, scope=scope, scope_id=scope_id,
                   value=None if value is None else float(value),
                   threshold=None if threshold is None else float(threshold), unit=rule.unit, status=status,
                   clause=rule.clause, message=message, title=rule.title_zh, conflicts=list(conflicts or []))


def _numeric_threshold(rule: Rule) -> float | None:
    return rule.threshold if isinstance(rule.threshold, float) else None


def _share(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator * 100.0


def _conflicts(ind: Indicators, rule: Rule, mask: np.ndarray, kind: str, message: str,
               by: str = "unit_id") -> list:
    """Dissolve the masked pieces into one conflict per scope id (and 子项目 where given)."""
    t = ind.pieces.table
    if not mask.any():
        return []
    out = []
    keys = t[by].to_numpy()[mask]
    geoms = ind.pieces.geoms[mask]
    areas = t["area_m2"].to_numpy()[mask]
    for key in sorted(set(keys)):
        chosen = keys == key
        out.append(Conflict(rule_id=rule.id, scope_id=str(key), geom=shapely.union_all(geoms[chosen]),
                            area_m2=float(areas[chosen].sum()), kind=kind, message=message))
    return out


# ----------------------------------------------------------------------------- metrics


def farmland_adjustment_share(rule: Rule, ind: Indicators) -> list:
    t = ind.pieces.table
    classes = ind.baseline.classes
    from_farm = np.array([classes.is_farmland(c) for c in ind.flows["from"]], dtype=bool)
    to_farm = np.array([classes.is_farmland(c) for c in ind.flows["to"]], dtype=bool)
    lost_pieces = np.unique(ind.flows["piece"].to_numpy()[from_farm & ~to_farm])
    out = []
    for code, row in ind.per_township.iterrows():
        value = _share(row["farmland_lost_in_units_m2"], row["farmland_total_m2"])
        name = _township_label(code, row["name"])
        if value is None:
            out.append(_finding(rule, "township", code, None, None,
                                tr("{township}无耕地，不计算耕地调整比例").format(township=name)))
            continue
        detail = tr("{township}整治单元内耕地转为其他地类 {lost} 亩，占乡镇耕地 {total} 亩的 {value}%").format(
            township=name, lost=_fmt(to_mu(row["farmland_lost_in_units_m2"])),
            total=_fmt(to_mu(row["farmland_total_m2"])), value=_fmt(value, rule.decimals))
        finding = _finding(rule, "township", code, value, _numeric_threshold(rule), detail)
        if finding.status == FAIL:
            mask = np.zeros(len(t), dtype=bool)
            mask[lost_pieces] = True
            mask &= t["township"].to_numpy() == code
            finding.conflicts = _conflicts(ind, rule, mask, tr("耕地调整超限"), finding.message, by="township")
        out.append(finding)
    return out


def pbf_adjustment_share(rule: Rule, ind: Indicators) -> list:
    t = ind.pieces.table
    out = []
    for code, row in ind.per_township.iterrows():
        value = _share(row["pbf_out_m2"], row["pbf_total_m2"])
        name = _township_label(code, row["name"])
        if value is None:
            out.append(_finding(rule, "township", code, None, None,
                                tr("{township}无现状永久基本农田，不计算调整比例").format(township=name)))
            continue
        detail = tr("{township}永久基本农田调出 {out} 亩（其中整治单元内 {inside} 亩），"
                    "占乡镇永久基本农田 {total} 亩的 {value}%").format(
            township=name, out=_fmt(to_mu(row["pbf_out_m2"])), inside=_fmt(to_mu(row["pbf_out_in_units_m2"])),
            total=_fmt(to_mu(row["pbf_total_m2"])), value=_fmt(value, rule.decimals))
        finding = _finding(rule, "township", code, value, _numeric_threshold(rule), detail)
        if finding.status == FAIL:
            mask = t["in_pbf"].to_numpy(bool) & ~t["in_pbf_plan"].to_numpy(bool) & (t["township"].to_numpy() == code)
            finding.conflicts = _conflicts(ind, rule, mask, tr("永久基本农田调出超限"), finding.message,
                                           by="township")
        out.append(finding)
    return out


def farmland_net_gain(rule: Rule, ind: Indicators) -> list:
    def one(scope, scope_id, before, after, label):
        value = _share(after - before, before)
        if value is None:
            return _finding(rule, scope, scope_id, None, None,
                            tr("{label}现状无耕地，不计算新增耕地比例").format(label=label))
        detail = tr("{label}耕地现状 {before} 亩、规划 {after} 亩，净增 {gain} 亩，为原有耕地的 {value}%").format(
            label=label, before=_fmt(to_mu(before)), after=_fmt(to_mu(after)), gain=_fmt(to_mu(after - before)),
            value=_fmt(value, rule.decimals))
        return _finding(rule, scope, scope_id, value, _numeric_threshold(rule), detail)

    out = _per_scope(rule, ind, lambda scope, sid, row, label: one(
        scope, sid, row["farmland_before_m2"], row["farmland_after_m2"], label))
    if rule.scope == "scheme" and rule.param("per_unit_rows", False):
        for unit_id, row in ind.per_unit.iterrows():
            finding = one("unit", unit_id, row["farmland_before_m2"], row["farmland_after_m2"],
                          _unit_label(unit_id, row["name"]))
            finding.message = tr("（单元参考值）") + finding.message
            out.append(finding)
    return out


def pbf_net_gain(rule: Rule, ind: Indicators) -> list:
    def one(scope, sid, row, label):
        out_m2, in_m2 = row["pbf_out_m2"], row["pbf_in_m2"]
        if out_m2 <= 0:
            return _finding(rule, scope, sid, None, None, tr("{label}无永久基本农田调出（调入 {inn} 亩），不适用").format(
                label=label, inn=_fmt(to_mu(in_m2))))
        value = (in_m2 - out_m2) / out_m2 * 100.0
        detail = tr("{label}永久基本农田调出 {out} 亩、调入 {inn} 亩，净增 {net} 亩，为调整（调出）面积的 {value}%").format(
            label=label, out=_fmt(to_mu(out_m2)), inn=_fmt(to_mu(in_m2)), net=_fmt(to_mu(in_m2 - out_m2)),
            value=_fmt(value, rule.decimals))
        return _finding(rule, scope, sid, value, _numeric_threshold(rule), detail)

    return _per_scope(rule, ind, one)


def udb_expansion_factor(rule: Rule, ind: Indicators) -> list:
    udb = ind.udb
    if udb["udb_m2"] is None:
        return [_finding(rule, "scheme", "", None, None, tr("未提供城镇开发边界图层，不计算扩展倍数"))]
    urban = udb["urban_construction_m2"]
    if urban <= 0:
        why = tr("地类图斑缺少城镇村属性码（CZCSXM）") if not udb["has_czcsxm"] else tr("现状城镇建设用地为 0")
        return [_finding(rule, "scheme", "", None, None, tr("{why}，无法计算城镇开发边界扩展倍数").format(why=why))]
    value = udb["udb_plan_m2"] / urban
    baseline_factor = udb["udb_m2"] / urban
    threshold = baseline_factor if rule.threshold == "baseline" else _numeric_threshold(rule)
    detail = tr("规划城镇开发边界 {plan} 亩 ÷ 现状城镇建设用地 {urban} 亩 = {value} 倍（现状边界 {base} 亩，{factor} 倍）").format(
        plan=_fmt(to_mu(udb["udb_plan_m2"])), urban=_fmt(to_mu(urban)), value=_fmt(value, rule.decimals),
        base=_fmt(to_mu(udb["udb_m2"])), factor=_fmt(baseline_factor, rule.decimals))
    status = None
    if rule.threshold == "baseline":
        # Both factors share the denominator, so the planned boundary may not exceed the current
        # one, compared as planners read areas (0.01 亩): a rounded factor would let ~5e-5 of the
        # boundary's area grow unseen.
        status = PASS if _COMPARE[rule.comparison](round(to_mu(udb["udb_plan_m2"]), 2),
                                                    round(to_mu(udb["udb_m2"]), 2)) else FAIL
    return [_finding(rule, "scheme", "", value, threshold, detail, status=status)]


def eco_redline_construction(rule: Rule, ind: Indicators) -> list:
    t = ind.pieces.table
    if ind.baseline.eco is None:
        return [_finding(rule, rule.scope, sid, None, None, tr("未提供生态保护红线图层"))
                for sid in _scope_ids(rule, ind)]
    classes = ind.baseline.classes
    new_cons = (~np.array([classes.is_construction(c) for c in t["code_before"]], dtype=bool)
                & np.array([classes.is_construction(c) for c in t["code_after"]], dtype=bool))
    mask_all = new_cons & t["in_eco"].to_numpy(bool)

    def one(scope, sid, row, label):
        value = to_mu(row["eco_construction_new_m2"])
        detail = tr("{label}生态保护红线内新增建设用地 {value} 亩").format(label=label, value=_fmt(value))
        finding = _finding(rule, scope, sid, value, _numeric_threshold(rule), detail)
        if finding.status == FAIL:
            mask = mask_all if scope == "scheme" else mask_all & (t["unit_id"].to_numpy() == sid)
            finding.conflicts = _conflicts(ind, rule, mask, tr("红线内新增建设用地"), finding.message)
        return finding

    return _per_scope(rule, ind, one)


def pbf_control_line_overlap(rule: Rule, ind: Indicators) -> list:
    t = ind.pieces.table
    has_eco = ind.baseline.eco is not None
    has_udb = ind.plan.udb_plan is not None
    if not (has_eco or has_udb):
        return [_finding(rule, rule.scope, sid, None, None, tr("未提供生态保护红线和城镇开发边界图层"))
                for sid in _scope_ids(rule, ind)]
    plan_pbf = t["in_pbf_plan"].to_numpy(bool)

    def one(scope, sid, row, label):
        value = to_mu(row["pbf_plan_conflict_m2"])
        detail = tr("{label}规划永久基本农田与生态保护红线重叠 {eco} 亩、与规划城镇开发边界重叠 {udb} 亩").format(
            label=label, eco=_fmt(to_mu(row["pbf_plan_in_eco_m2"])), udb=_fmt(to_mu(row["pbf_plan_in_udb_plan_m2"])))
        finding = _finding(rule, scope, sid, value, _numeric_threshold(rule), detail)
        if finding.status == FAIL:
            in_scope = np.ones(len(t), bool) if scope == "scheme" else t["unit_id"].to_numpy() == sid
            finding.conflicts = (
                _conflicts(ind, rule, plan_pbf & t["in_eco"].to_numpy(bool) & in_scope,
                           tr("永久基本农田与生态保护红线重叠"), finding.message)
                + _conflicts(ind, rule, plan_pbf & t["in_udb_plan"].to_numpy(bool) & in_scope,
                             tr("永久基本农田与城镇开发边界重叠"), finding.message))
        return finding

    return _per_scope(rule, ind, one)


def contiguous_pbf(rule: Rule, ind: Indicators) -> list:
    gap = float(rule.param("gap_tolerance_m"))
    classes = rule.param("patch_classes")

    def one(scope, sid, row, label):
        patches = ind.patches("pbf_plan", gap, classes, unit_id=None if scope == "scheme" else sid)
        before = ind.patches("pbf", gap, classes, unit_id=None if scope == "scheme" else sid)
        if len(patches.table) == 0:
            return _finding(rule, scope, sid, 0.0, _numeric_threshold(rule),
                            tr("{label}无规划永久基本农田").format(label=label))
        top = patches.table.iloc[0]
        value = float(top["area_mu"])
        name = top["class_name"] or tr("未达百亩方")
        detail = tr("{label}最大集中连片永久基本农田 {value} 亩（{name}），共 {count} 片、平均 {mean} 亩"
                    "（现状最大 {before} 亩、{before_count} 片；间距 {gap} 米内视为连片）").format(
            label=label, value=_fmt(value), name=name, count=len(patches.table),
            mean=_fmt(to_mu(patches.summary()["mean_m2"])), before=_fmt(to_mu(before.largest_m2)),
            before_count=len(before.table), gap=_fmt(gap, 0))
        return _finding(rule, scope, sid, value, _numeric_threshold(rule), detail)

    return _per_scope(rule, ind, one)


def construction_land_not_increased(rule: Rule, ind: Indicators) -> list:
    t = ind.pieces.table
    classes = ind.baseline.classes

    def one(scope, sid, row, label):
        released, new = row["construction_released_m2"], row["construction_new_m2"]
        value = to_mu(released - new)
        detail = tr("{label}建设用地减少（复垦等）{released} 亩、新增 {new} 亩，净减少 {value} 亩").format(
            label=label, released=_fmt(to_mu(released)), new=_fmt(to_mu(new)), value=_fmt(value))
        finding = _finding(rule, scope, sid, value, _numeric_threshold(rule), detail)
        if finding.status == FAIL:
            new_cons = (~np.array([classes.is_construction(c) for c in t["code_before"]], dtype=bool)
                        & np.array([classes.is_construction(c) for c in t["code_after"]], dtype=bool))
            if scope != "scheme":
                new_cons &= t["unit_id"].to_numpy() == sid
            finding.conflicts = _conflicts(ind, rule, new_cons, tr("新增建设用地"), finding.message)
        return finding

    return _per_scope(rule, ind, one)


def scattered_parcels(rule: Rule, ind: Indicators) -> list:
    kind = rule.param("project_type")
    redevelopment = rule.param("redevelopment_type")
    max_share = float(rule.param("max_total_share_percent"))
    limit = _numeric_threshold(rule)
    areas = ind.project_areas
    out = []
    for unit_id, row in ind.per_unit.iterrows():
        label = _unit_label(unit_id, row["name"])
        mine = areas[areas["unit_id"] == unit_id]
        scattered = mine[mine["type"] == kind]
        if len(scattered) == 0:
            out.append(_finding(rule, "unit", unit_id, None, None,
                                tr("{label}无“{kind}”子项目").format(label=label, kind=kind)))
            continue
        # Each parcel's limit applies to the whole parcel (even where it crosses into another
        # unit); the unit's total counts what lies inside the unit.
        sizes = to_mu(scattered["whole_area_m2"].to_numpy().astype(float))
        total = float(to_mu(scattered["area_m2"].to_numpy().astype(float)).sum())
        base = to_mu(float(mine.loc[mine["type"] == redevelopment, "area_m2"].sum()))
        share = _share(total, base)
        largest = float(sizes.max())
        too_big = [pid for pid, s in zip(scattered["project_id"], sizes) if round(s, rule.decimals) > limit]
        share_ok = share is not None and round(share, rule.decimals) <= max_share
        status = PASS if (not too_big and share_ok) else FAIL
        detail = tr("{label}“{kind}”{n} 宗，最大 {largest} 亩，合计 {total} 亩，占“{base_kind}”{base} 亩的 {share}%"
                    "（要求单宗≤{limit} 亩且合计≤{max_share}%）").format(
            label=label, kind=kind, n=len(sizes), largest=_fmt(largest), total=_fmt(total), base_kind=redevelopment,
            base=_fmt(base), share=_fmt(share), limit=f"{limit:g}", max_share=f"{max_share:g}")
        if too_big:
            detail += tr("；超过单宗上限：{ids}").format(ids="、".join(too_big))
        finding = _finding(rule, "unit", unit_id, largest, limit, detail, status=status)
        if status == FAIL:
            chosen = scattered if not share_ok else scattered[scattered["project_id"].isin(too_big)]
            finding.conflicts = [Conflict(rule_id=rule.id, scope_id=str(unit_id), geom=a["geom"],
                                          area_m2=float(a["area_m2"]), kind=tr("零星用地超限：{id}").format(
                                              id=a["project_id"]), message=finding.message)
                                 for _, a in chosen.iterrows()]
        out.append(finding)
    return out


def eco_industry_share(rule: Rule, ind: Indicators) -> list:
    industry = rule.param("industry_type")
    restoration = rule.param("restoration_type")
    areas = ind.project_areas
    out = []
    for unit_id, row in ind.per_unit.iterrows():
        label = _unit_label(unit_id, row["name"])
        mine = areas[areas["unit_id"] == unit_id]
        industry_m2 = float(mine.loc[mine["type"] == industry, "area_m2"].sum())
        restored_m2 = float(mine.loc[mine["type"] == restoration, "area_m2"].sum())
        if industry_m2 <= 0:
            out.append(_finding(rule, "unit", unit_id, None, None,
                                tr("{label}无“{kind}”子项目").format(label=label, kind=industry)))
            continue
        value = _share(industry_m2, restored_m2)
        detail = tr("{label}“{industry}”{a} 亩，“{restoration}”{b} 亩，占 {value}%").format(
            label=label, industry=industry, restoration=restoration, a=_fmt(to_mu(industry_m2)),
            b=_fmt(to_mu(restored_m2)), value=_fmt(value, rule.decimals))
        status = FAIL if value is None else None  # industry without any restoration cannot comply
        finding = _finding(rule, "unit", unit_id, value, _numeric_threshold(rule), detail, status=status)
        if finding.status == FAIL:
            chosen = mine[mine["type"] == industry]
            finding.conflicts = [Conflict(rule_id=rule.id, scope_id=str(unit_id),
                                          geom=shapely.union_all(np.asarray(chosen["geom"], dtype=object)),
                                          area_m2=float(chosen["area_m2"].sum()), kind=tr("生态产业开发超限"),
                                          message=finding.message)]
        out.append(finding)
    return out


def pbf_quality_not_lower(rule: Rule, ind: Indicators) -> list:
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
        return [_finding(rule, "scheme", "", None, None, tr("无永久基本农田调入，不评价质量"))]

    def weighted(mask):
        known = mask & ~np.isnan(gddb)
        return (float(np.average(gddb[known], weights=area[known])) if area[known].sum() > 0 else None,
                to_mu(area[mask & np.isnan(gddb)].sum()))

    grade_in, unknown_in = weighted(pbf_in)
    grade_out, _ = weighted(pbf_out)
    steep = pbf_in & np.isin(slope.astype(str), list(forbidden))
    steep_mu = to_mu(area[steep].sum())
    detail = tr("调入永久基本农田平均耕地等别 {grade_in}（另有 {unknown} 亩无等别），调出平均 {grade_out}；"
                "调入位于坡度级别 {slopes} 的 {steep} 亩（等别数值越小质量越高）").format(
        grade_in=_fmt(grade_in), unknown=_fmt(unknown_in), grade_out=_fmt(grade_out),
        slopes="、".join(sorted(forbidden)), steep=_fmt(steep_mu))
    status = None
    if round(steep_mu, rule.decimals) > 0:
        status = FAIL
    elif grade_in is None or grade_out is None:
        status = NOT_APPLICABLE
        detail += tr("；缺少等别，无法比较")
    finding = _finding(rule, "scheme", "", grade_in, grade_out if rule.threshold == "adjusted_out"
                       else _numeric_threshold(rule), detail, status=status)
    if finding.status == FAIL and steep.any():
        finding.conflicts = _conflicts(ind, rule, steep, tr("调入陡坡耕地"), finding.message)
    return [finding]


# ----------------------------------------------------------------------------- plumbing


def _unit_label(unit_id, name) -> str:
    return tr("单元 {id}{name}").format(id=unit_id, name=f"（{name}）" if name else "")


def _township_label(code, name) -> str:
    return tr("乡镇 {code}{name}").format(code=code, name=f"（{name}）" if name else "")


def _scope_ids(rule: Rule, ind: Indicators) -> list:
    return [""] if rule.scope == "scheme" else list(ind.per_unit.index)


def _per_scope(rule: Rule, ind: Indicators, one) -> list:
    """Apply ``one(scope, scope_id, figures, label)`` at the rule's scope (scheme or each unit)."""
    if rule.scope == "scheme":
        return [one("scheme", "", ind.scheme, tr("整治区域"))]
    return [one("unit", unit_id, row, _unit_label(unit_id, row["name"])) for unit_id, row in ind.per_unit.iterrows()]


METRIC_FUNCTIONS = {
    "farmland_adjustment_share": farmland_adjustment_share,
    "pbf_adjustment_share": pbf_adjustment_share,
    "farmland_net_gain": farmland_net_gain,
    "pbf_net_gain": pbf_net_gain,
    "udb_expansion_factor": udb_expansion_factor,
    "eco_redline_construction": eco_redline_construction,
    "pbf_control_line_overlap": pbf_control_line_overlap,
    "contiguous_pbf": contiguous_pbf,
    "construction_land_not_increased": construction_land_not_increased,
    "scattered_parcels": scattered_parcels,
    "eco_industry_share": eco_industry_share,
    "pbf_quality_not_lower": pbf_quality_not_lower,
}


def evaluate(ind: Indicators) -> list:
    findings = []
    for rule in ind.ruleset.rules:
        findings.extend(METRIC_FUNCTIONS[rule.metric](rule, ind))
    return findings
