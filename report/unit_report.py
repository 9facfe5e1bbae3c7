"""The 单元方案 as a document model: chapters of computed text and tables, no file format.

Every figure in the text comes from the check's indicators and verdicts (the same engine
as ``checkunits``); nothing is typed in. The writers (Word, PDF, Excel) render this model,
so the three files cannot disagree with each other or with the check.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..core.analysis.analysis import Analysis
from ..core.common.i18n import tr
from ..core.common.numbers import area_text, change_text, is_missing, mu_text, number_text, value_text
from ..core.geometry.measure import to_hectares, to_mu
from ..core.products.check import CheckResult
from ..core.products.pbf_ledger import ADJUSTED_IN, ADJUSTED_OUT, pbf_ledger
from ..core.products.potential import survey_potential
from ..core.products.tables import (
    LEVEL_CLASS,
    LEVEL_GROUP,
    LEVEL_THREE_WAY,
    LEVEL_TOTAL,
    land_use_structure,
    transitions_long,
)
from ..core.rules.evaluate import FAIL, NOT_APPLICABLE, PASS, limit_text, share, verdict_text
from ..core.rules.landclasses import class_flags

CHAPTERS = ("概况", "现状分析", "问题与潜力分析", "整治目标与指标", "整治任务与子项目", "永久基本农田布局优化",
            "三线协调与合规性分析", "投资估算与实施时序", "附表与附图")
CHINESE_NUMBERS = "一二三四五六七八九十"
MAP_TITLES = ("区位图", "土地利用现状图", "整治规划图", "永久基本农田调整前后对比图", "三线关系图")


@dataclass(frozen=True)
class Measure:
    """A figure printed at its own decimals (a rule's value or threshold): text in Word and PDF, a number
    with that many decimals in Excel."""
    value: float | None
    decimals: int = 2


@dataclass
class Table:
    """A table of the report. Its total rows are markers, evaluated alike by ``evaluated_totals`` (what Word
    and PDF print) and as formulas by the Excel writer: "SUM" sums the column; "SUMIF:<v>" sums the rows whose
    first cell is <v>; "DIFF:<a>:<b>" is the SUMIF of <a> less the SUMIF of <b>; anything else is a value."""

    key: str  # sheet / anchor name
    caption: str
    columns: list  # (header, kind) with kind in "text", "area", "percent", "number", "integer"
    rows: list  # lists of values
    total_row: list | None = None  # one total row (markers as above); kept for the tables that need one
    totals: list = field(default_factory=list)  # several total rows, in order, after ``total_row``

    def __post_init__(self):
        if self.total_row is not None:
            self.totals = [list(self.total_row)] + [list(t) for t in self.totals]
        self.total_row = self.totals[0] if self.totals else None

    def column_sum(self, column: int, first: str | None = None) -> float:
        """The column's sum over all rows, or over the rows whose first cell is ``first``."""
        return float(sum(r[column] or 0.0 for r in self.rows if first is None or r[0] == first))

    def marker_value(self, column: int, marker):
        if marker == "SUM":
            return self.column_sum(column)
        if isinstance(marker, str) and marker.startswith("SUMIF:"):
            return self.column_sum(column, marker.split(":", 1)[1])
        if isinstance(marker, str) and marker.startswith("DIFF:"):
            _, plus, minus = marker.split(":", 2)
            return self.column_sum(column, plus) - self.column_sum(column, minus)
        return marker

    def evaluated_totals(self) -> list:
        """Every total row with its markers evaluated."""
        return [[self.marker_value(column, marker) for column, marker in enumerate(row)] for row in self.totals]

    def total_values(self) -> list | None:
        """The first total row evaluated (the tables with a single 合计 row)."""
        return self.evaluated_totals()[0] if self.totals else None


@dataclass
class Figure:
    key: str  # map title
    caption: str
    path: str = ""  # filled in by the map writer


@dataclass
class Chapter:
    number: str
    title: str
    blocks: list = field(default_factory=list)  # str paragraphs, Table, Figure


@dataclass
class UnitReport:
    unit_id: str
    unit_name: str
    title: str
    organisation: str
    date: str
    chapters: list
    tables: dict  # key -> Table, every table of the document in its order (the 附表 workbook's sheets)
    facts: dict  # the key figures, for tests and the manifest

    def all_text(self) -> str:
        parts = [self.title]
        for chapter in self.chapters:
            parts.append(chapter.title)
            parts.extend(b for b in chapter.blocks if isinstance(b, str))
        return "\n".join(parts)


def build_unit_report(result: CheckResult, unit_id: str, title: str = "", organisation: str = "",
                      date: str | None = None) -> UnitReport:
    ind = result.indicators
    units = ind.per_unit
    if unit_id not in units.index:
        raise KeyError(unit_id)
    row = units.loc[unit_id]
    name = str(row["name"] or "")
    classes = ind.baseline.classes
    places = _Places(result)
    mine = (ind.pieces.table["unit_id"] == unit_id).to_numpy()
    town_areas, village_areas = places.areas(mine)
    town_names = "、".join(places.township(c) for c in town_areas) or tr("（未确定）")
    date = date or _dt.date.today().isoformat()
    label = name or unit_id
    title = title or (tr("{name}方案").format(name=label) if label.endswith(tr("单元"))
                      else tr("{name}单元方案").format(name=label))

    flow = ind.flows[ind.flows["unit_id"] == unit_id]
    structure = land_use_structure(flow, classes, scopes={unit_id: np.ones(len(flow), dtype=bool)})
    transitions = transitions_long(flow, classes, changed_only=True)
    transitions = transitions[transitions["scope"] == "unit"]
    ledger = pbf_ledger(ind, None)
    unit_ledger = ledger.table[ledger.table["unit_id"] == unit_id]
    projects = _projects(result, unit_id, places)
    findings = result.findings_for_unit(unit_id)
    potential = unit_potential(result, unit_id, places)

    area = row["area_m2"]
    farm_b, farm_a = row["farmland_before_m2"], row["farmland_after_m2"]
    gain = share(farm_a - farm_b, farm_b)  # None (not applicable) without 耕地, as the rule says
    cons_b, cons_a = row["construction_before_m2"], row["construction_after_m2"]
    pbf_b, pbf_a, pbf_out, pbf_in = row["pbf_before_m2"], row["pbf_after_m2"], row["pbf_out_m2"], row["pbf_in_m2"]
    failed = [f for f in findings if f.status == FAIL]
    investment = float(projects["investment"].sum()) if len(projects) else 0.0
    by_year, unscheduled = investment_by_year(projects)
    rule = next(iter(result.ruleset.rules_of("contiguous_pbf")), None)
    patch_before = patch_after = None
    if rule is not None:
        gap, kinds = rule.param("gap_tolerance_m"), rule.param("patch_classes")
        patch_before = ind.patches("pbf", gap, kinds, unit_id=unit_id)
        patch_after = ind.patches("pbf_plan", gap, kinds, unit_id=unit_id)

    facts = {
        "unit_id": unit_id, "area_mu": to_mu(area), "area_ha": to_hectares(area),
        "farmland_before_mu": to_mu(farm_b), "farmland_after_mu": to_mu(farm_a), "farmland_gain_percent": gain,
        "construction_before_mu": to_mu(cons_b), "construction_after_mu": to_mu(cons_a),
        "pbf_before_mu": to_mu(pbf_b), "pbf_after_mu": to_mu(pbf_a), "pbf_out_mu": to_mu(pbf_out),
        "pbf_in_mu": to_mu(pbf_in), "projects": int(len(projects)), "investment_wan": investment,
        "investment_by_year_wan": {str(y): v for y, v in by_year.items()},
        "townships": [places.township(c) for c in town_areas], "villages": list(village_areas),
        "potential_mu": {str(k): float(v) for k, v in potential.groupby("kind")["area_mu"].sum().items()},
        "failed_rules": [f"{f.rule_id}:{f.scope_id}" for f in failed],
    }

    top_classes = structure[(structure["level"] == LEVEL_GROUP)].sort_values("before_m2", ascending=False).head(4)
    chapters = []
    add = chapters.append

    def chapter(title):
        number = CHINESE_NUMBERS[len(chapters)]
        return Chapter(number=number, title=f"{number}、{tr(title)}")

    c = chapter("概况")
    unit_attrs = _unit_attributes(result, unit_id)
    pq = unit_attrs["片区"]
    where = ((pq if pq.endswith(tr("片区")) else pq + tr("片区")) + tr("的") if pq else "") + town_names
    villages = _village_list(village_areas)
    c.blocks.append(tr("{unit}（编号 {id}）位于{where}{villages}，单元面积 {area}{people}。本方案依据{ruleset}编制，"
                       "面积采用 2000 国家大地坐标系（CGCS2000）椭球面积，地类面积按第三次全国国土调查统计口径"
                       "（图斑地类面积按比例分摊，田坎单列）。").format(
        unit=name or unit_id, id=unit_id, where=where,
        villages=tr("，涉及{v}").format(v=villages) if villages else "", area=area_text(area),
        people=tr("，人口 {n} 人").format(n=number_text(unit_attrs["人口"], 0)) if unit_attrs["人口"] else "",
        ruleset=result.ruleset.title_zh))
    c.blocks.append(Figure("区位图", tr("图 1 区位图")))
    add(c)

    c = chapter("现状分析")
    shares = "，".join(tr("{name} {mu} 亩（{share}%）").format(name=r["name"], mu=number_text(r["before_mu"]),
                                                              share=number_text(r["before_share"]))
                      for _, r in top_classes.iterrows())
    c.blocks.append(tr("现状以{shares}为主。现状耕地 {farm}，建设用地 {cons}，永久基本农田 {pbf}。").format(
        shares=shares, farm=area_text(farm_b), cons=area_text(cons_b), pbf=area_text(pbf_b)))
    structure_table = _structure_table(structure)
    c.blocks.append(structure_table)
    c.blocks.append(Figure("土地利用现状图", tr("图 2 土地利用现状图")))
    add(c)

    c = chapter("问题与潜力分析")
    c.blocks.extend(_potential_paragraphs(potential))
    potential_table = _potential_table(potential)
    c.blocks.append(potential_table)
    add(c)

    c = chapter("整治目标与指标")
    gain_text = (tr("现状无耕地，不计新增比例") if gain is None
                 else tr("为原有耕地的 {gain}%").format(gain=number_text(abs(gain))))
    c.blocks.append(tr("整治后耕地 {after}，较现状{net}，{gain}；建设用地由 {cb} 调整为 {ca}（{cnet}）；"
                       "永久基本农田调出 {out}、调入 {inn}，整治后 {pa}。").format(
        after=area_text(farm_a), net=change_text(farm_a - farm_b), gain=gain_text, cb=area_text(cons_b),
        ca=area_text(cons_a), cnet=change_text(cons_a - cons_b), out=mu_text(pbf_out), inn=mu_text(pbf_in),
        pa=area_text(pbf_a)))
    indicator_table = _indicator_table(findings, result)
    c.blocks.append(indicator_table)
    add(c)

    c = chapter("整治任务与子项目")
    counts = projects.groupby("task")["id"].count() if len(projects) else pd.Series(dtype=int)
    land = _task_land_mu(result, unit_id)  # each task's land once, where its projects overlap
    task_text = "；".join(tr("{task} {n} 个、{mu} 亩").format(task=t or tr("其他"), n=int(n), mu=number_text(land.get(t, 0.0)))
                         for t, n in counts.items())
    c.blocks.append(tr("单元共安排子项目 {n} 个（{tasks}）。").format(n=len(projects), tasks=task_text or tr("无")))
    if len(projects):
        c.blocks.append(tr("子项目新增耕地合计 {gain}（各子项目范围内整治后耕地减整治前耕地，三调统计口径）；"
                           "所在乡镇/村未填的，取子项目范围内面积最大的乡镇、村（坐落单位）；建设规模未填的，取子项目面积。").format(
            gain=mu_text(float(projects["farmland_gain_m2"].sum()))))
    types = result.indicators.type_areas
    project_table = _project_table(projects, _land_mu(result, np.asarray(
        types.loc[types["unit_id"] == unit_id, "geom"], dtype=object)))
    c.blocks.append(project_table)
    flow_table = _flow_table(transitions)
    c.blocks.append(flow_table)
    c.blocks.append(Figure("整治规划图", tr("图 3 整治规划图")))
    add(c)

    c = chapter("永久基本农田布局优化")
    if patch_after is not None:
        before_summary, after_summary = patch_before.summary(), patch_after.summary()
        c.blocks.append(tr("永久基本农田调出 {out}、调入 {inn}，{net}。整治前集中连片 {nb} 片、最大 {lb} 亩，"
                           "整治后 {na} 片、最大 {la} 亩（{cls}）、平均 {ma} 亩。").format(
            out=mu_text(pbf_out), inn=mu_text(pbf_in), net=change_text(pbf_in - pbf_out),
            nb=before_summary["count"], lb=number_text(to_mu(before_summary["largest_m2"])), na=after_summary["count"],
            la=number_text(to_mu(after_summary["largest_m2"])),
            cls=(patch_after.table.iloc[0]["class_name"] if len(patch_after.table) else "") or tr("未达百亩方"),
            ma=number_text(to_mu(after_summary["mean_m2"]))))
    quality = ledger.quality
    c.blocks.append(tr("调出部分平均耕地等别 {qo}，调入部分平均 {qi}（数值越小质量越高）。").format(
        qo=number_text(quality[ADJUSTED_OUT]["mean_gddb"]), qi=number_text(quality[ADJUSTED_IN]["mean_gddb"])))
    ledger_table = _ledger_table(unit_ledger)
    c.blocks.append(ledger_table)
    c.blocks.append(Figure("永久基本农田调整前后对比图", tr("图 4 永久基本农田调整前后对比图")))
    add(c)

    c = chapter("三线协调与合规性分析")
    counts = {status: sum(1 for f in findings if f.status == status) for status in (PASS, FAIL, NOT_APPLICABLE)}
    c.blocks.append(tr("按规则集逐条核算，共 {n} 项：符合 {p} 项，不符合 {f} 项，不适用 {na} 项。各项依据、数值与结论如下。").format(
        n=len(findings), p=counts[PASS], f=counts[FAIL], na=counts[NOT_APPLICABLE]))
    c.blocks.extend(_compliance_paragraphs(findings, result, places))
    c.blocks.append(tr("生态保护红线内新增建设用地 {eco}；规划永久基本农田与生态保护红线、城镇开发边界重叠 {ov}。").format(
        eco=mu_text(row["eco_construction_new_m2"]), ov=mu_text(row["pbf_plan_conflict_m2"])))
    c.blocks.extend(_conflict_paragraphs(findings, result))
    c.blocks.append(Figure("三线关系图", tr("图 5 三线关系图")))
    add(c)

    c = chapter("投资估算与实施时序")
    c.blocks.extend(_investment_paragraphs(projects, investment, by_year, unscheduled))
    task_investment_table = _task_investment_table(projects)
    c.blocks.append(task_investment_table)
    year_table = _year_table(projects, by_year, unscheduled)
    c.blocks.append(year_table)
    c.blocks.extend(_schedule_paragraphs(projects))
    add(c)

    c = chapter("附表与附图")
    in_document = [b.key for chapter_ in chapters for b in chapter_.blocks if isinstance(b, Table)]
    c.blocks.append(tr("附表见同目录“附表.xlsx”，每表一页：{tables}。").format(tables="、".join(in_document)))
    c.blocks.append(tr("附图见“附图”文件夹：{maps}。").format(maps="、".join(tr(m) for m in MAP_TITLES)))
    add(c)

    _number_captions(chapters)
    # every table of the document, in its order: the sheets of 附表.xlsx
    tables = {b.key: b for chapter_ in chapters for b in chapter_.blocks if isinstance(b, Table)}
    return UnitReport(unit_id=unit_id, unit_name=name, title=title, organisation=organisation, date=date,
                      chapters=chapters, tables=tables, facts=facts)


def _number_captions(chapters: list) -> None:
    """Tables and figures numbered in the order they appear (表 1 …, 图 1 …)."""
    numbers = {"表": 0, "图": 0}
    for chapter in chapters:
        for block in chapter.blocks:
            if isinstance(block, (Table, Figure)):
                kind = tr("表") if isinstance(block, Table) else tr("图")
                numbers[kind] = numbers.get(kind, 0) + 1
                bare = re.sub(rf"^{kind}\s*\d*\s+", "", block.caption)
                block.caption = f"{kind} {numbers[kind]} {bare}"


# ----------------------------------------------------------------------------- tables

def _structure_table(structure: pd.DataFrame) -> Table:
    rows = []
    for _, r in structure.iterrows():
        if r["level"] == LEVEL_TOTAL:
            continue
        indent = {LEVEL_THREE_WAY: "", LEVEL_GROUP: "  ", LEVEL_CLASS: "    "}[r["level"]]
        rows.append([r["level"], r["code"], indent + r["name"], r["before_mu"], r["before_share"], r["after_mu"],
                     r["after_share"], r["change_mu"]])
    total = structure[structure["level"] == LEVEL_TOTAL].iloc[0]
    return Table("土地利用结构调整表", tr("表 1 土地利用结构调整表"),
                 [(tr("层级"), "text"), (tr("地类编码"), "text"), (tr("地类名称"), "text"),
                  (tr("整治前面积（亩）"), "area"), (tr("整治前占比（%）"), "percent"), (tr("整治后面积（亩）"), "area"),
                  (tr("整治后占比（%）"), "percent"), (tr("变化（亩）"), "area")],
                 rows, total_row=[tr("合计"), "", "", "SUMIF:" + LEVEL_THREE_WAY, 100.0 if total["before_mu"] else 0.0,
                                  "SUMIF:" + LEVEL_THREE_WAY, 100.0 if total["after_mu"] else 0.0,
                                  "SUMIF:" + LEVEL_THREE_WAY])


def _indicator_table(findings: list, result: CheckResult) -> Table:
    """One row per finding; the value and threshold printed at the rule's decimals (as the panel prints them)."""
    rules = {r.id: r for r in result.ruleset.rules}
    rows = []
    for f in findings:
        rule = rules[f.rule_id]
        scope = {"scheme": tr("整治区域"), "unit": tr("单元"), "township": tr("乡镇")}[f.scope]
        rows.append([f.title, f"{scope} {f.scope_id}".strip(), Measure(f.value, rule.decimals),
                     Measure(f.threshold, rule.decimals), f.unit, verdict_text(f.status), rule.clause,
                     f.message])
    return Table("指标核算表", tr("表 2 指标核算表"),
                 [(tr("指标"), "text"), (tr("范围"), "text"), (tr("数值"), "number"), (tr("阈值"), "number"),
                  (tr("单位"), "text"), (tr("结论"), "text"), (tr("条款"), "text"), (tr("说明"), "text")], rows)


def _task_land_mu(result: CheckResult, unit_id: str) -> dict:
    """亩 of land of each 整治任务's 子项目 in the unit, each piece of land once (the type areas, unioned)."""
    t = result.indicators.type_areas
    mine = t[t["unit_id"] == unit_id]
    tasks = np.array([result.ruleset.task_of(kind) for kind in mine["type"]], dtype=object)
    geoms = np.asarray(mine["geom"], dtype=object)
    return {task: _land_mu(result, geoms[tasks == task]) for task in sorted(set(tasks))}


def _land_mu(result: CheckResult, geoms: np.ndarray) -> float:
    if len(geoms) == 0:
        return 0.0
    land = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    return to_mu(float(result.baseline.frame.areas(np.array([land], dtype=object))[0]))


def _project_table(projects: pd.DataFrame, land_mu: float) -> Table:
    """Each 子项目 with where it lies, its scale, its 新增耕地, investment, funding and years. The scale total
    is the land the 子项目 cover (overlaps once) unless planners gave the scales (JSGM), which then add up."""
    rows = [[p["id"], p["name"], "/".join(x for x in (p["township"], p["village"]) if x), p["task"], p["type"],
             p["code"], p["scale_mu"], to_mu(p["farmland_gain_m2"]), p["investment"], p["funding"], p["body"], p["years_text"]]
            for _, p in projects.iterrows()]
    given_scale = bool(len(projects)) and bool(projects["scale_given"].any())
    return Table("子项目清单", tr("表 3 子项目清单"),
                 [(tr("子项目编号"), "text"), (tr("名称"), "text"), (tr("所在乡镇/村"), "text"), (tr("整治任务"), "text"),
                  (tr("子项目类型"), "text"), (tr("规划地类"), "text"), (tr("建设规模（亩）"), "area"), (tr("新增耕地（亩）"), "area"),
                  (tr("投资（万元）"), "area"), (tr("资金来源"), "text"), (tr("实施主体"), "text"), (tr("年度"), "text")],
                 rows, total_row=[tr("合计"), "", "", "", "", "", "SUM" if given_scale else land_mu, "SUM", "SUM", "", "",
                                  ""])


def _flow_table(transitions: pd.DataFrame) -> Table:
    rows = [[r["from"], r["from_name"], r["to"], r["to_name"], r["mu"]] for _, r in transitions.iterrows()]
    return Table("地类流向表", tr("表 4 地类流向表"),
                 [(tr("整治前地类编码"), "text"), (tr("整治前地类"), "text"), (tr("整治后地类编码"), "text"),
                  (tr("整治后地类"), "text"), (tr("面积（亩）"), "area")], rows,
                 total_row=[tr("合计"), "", "", "", "SUM"])


def _ledger_table(ledger: pd.DataFrame) -> Table:
    """调出 and 调入 parcels, then three totals: 调出合计, 调入合计 and the net change (调入 less 调出), said
    with a word and a magnitude as numbers.change_text does ("净增" / "净减少", never a word and a sign)."""
    rows = [[r["direction"], r["township"], r["bsm"], r["dlbm"], r["dlmc"], r["gddb"], r["gdpdjb"], r["area_mu"]]
            for _, r in ledger.iterrows()]
    out, into = tr(ADJUSTED_OUT), tr(ADJUSTED_IN)
    table = Table("永久基本农田调出调入表", tr("表 5 永久基本农田调出调入表"),
                  [(tr("类型"), "text"), (tr("乡镇代码"), "text"), (tr("图斑标识码"), "text"), (tr("地类编码"), "text"),
                   (tr("地类名称"), "text"), (tr("耕地等别"), "number"), (tr("坡度级别"), "text"),
                   (tr("面积（亩）"), "area")], rows)
    net = table.column_sum(7, into) - table.column_sum(7, out)
    loss = round(net, 2) < 0  # as printed: a net change that prints as 0.00 is 持平, said as 净增 0.00
    net_row = ([tr("净减少（调出−调入）"), "", "", "", "", None, "", f"DIFF:{out}:{into}"] if loss
               else [tr("净增（调入−调出）"), "", "", "", "", None, "", f"DIFF:{into}:{out}"])
    table.totals = [[tr("调出合计"), "", "", "", "", None, "", f"SUMIF:{out}"],
                    [tr("调入合计"), "", "", "", "", None, "", f"SUMIF:{into}"], net_row]
    table.total_row = table.totals[0]
    return table


def _text(value) -> str:
    """A layer's text value: '' for NULL, NaN and blanks."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text in ("NULL", "nan") else text




class _Places:
    """Townships and villages (坐落单位) of the analysis's pieces, by name where the layers give names:
    townships from TOWNSHIPS (XZQMC) or ZLDWDM, villages from DLTB ZLDWMC (ZLDWDM where there is no name)."""

    def __init__(self, result: CheckResult):
        self.result = result
        t = result.indicators.pieces.table
        landuse = result.baseline.landuse
        codes = landuse.column("ZLDWDM", "").map(_text).to_numpy(dtype=object)
        names = landuse.column("ZLDWMC", "").map(_text).to_numpy(dtype=object)
        village_of_parcel = np.array([n or c for n, c in zip(names, codes)], dtype=object)
        parcel = t["parcel"].to_numpy().astype(np.int64)
        self.village = np.full(len(t), "", dtype=object)
        self.village[parcel >= 0] = village_of_parcel[parcel[parcel >= 0]]
        self.town = t["township"].to_numpy().astype(object)
        self.area = t["area_m2"].to_numpy()

    def township(self, code: str) -> str:
        names = self.result.indicators.per_township["name"]
        return (str(names.get(code, "") or "") or self.result.baseline.township_names.get(code, "") or code) \
            if code else ""

    def areas(self, mask: np.ndarray) -> tuple[dict, dict]:
        """(township code → m², village → m²) of the masked pieces, largest first."""
        def by(keys):
            frame = pd.DataFrame({"key": keys[mask], "m2": self.area[mask]})
            frame = frame[frame["key"] != ""]
            sums = frame.groupby("key")["m2"].sum().sort_values(ascending=False, kind="stable")
            return {str(k): float(v) for k, v in sums.items()}
        return by(self.town), by(self.village)

    def largest(self, mask: np.ndarray) -> tuple[str, str]:
        """The township (name) and village covering most of the masked pieces."""
        towns, villages = self.areas(mask)
        return (self.township(next(iter(towns))) if towns else "", next(iter(villages)) if villages else "")


def _village_list(village_areas: dict, shown: int = 12) -> str:
    names = list(village_areas)
    if not names:
        return ""
    text = "、".join(names[:shown])
    return text + (tr("等 {n} 个村（坐落单位）").format(n=len(names)) if len(names) > shown
                   else tr("共 {n} 个村（坐落单位）").format(n=len(names)) if len(names) > 1 else "")


POPULATION_FIELDS = ("RK", "人口", "HJRK", "CZRK")


def _unit_attributes(result: CheckResult, unit_id: str) -> dict:
    """The unit's 片区 name (PQMC) and population (RK/人口 …) where its layer gives them."""
    units = result.plan.units
    k = list(result.plan.unit_ids).index(unit_id)
    population = None
    for name in POPULATION_FIELDS:
        value = pd.to_numeric(pd.Series([units.column(name, None).iat[k]]), errors="coerce").iat[0]
        if not is_missing(value) and value > 0:
            population = float(value)
            break
    return {"片区": _text(units.column("PQMC", "").iat[k]), "人口": population}


# ----------------------------------------------------------------------------- 子项目

PROJECT_COLUMNS = ["id", "name", "task", "type", "code", "area_mu", "scale_mu", "scale_given", "farmland_gain_m2",
                   "investment", "start", "end", "years", "years_text", "funding", "body", "township", "village"]


def project_farmland_gain(result: CheckResult, unit_id: str) -> dict:
    """子项目 position → m² of 耕地 after less before inside the 子项目 in the unit: the pieces' 三调 class
    areas (TBDLMJ pro rata), as the farmland rule counts them (``farmland_after_m2 − farmland_before_m2``)."""
    t = result.indicators.pieces.table
    classes = result.baseline.classes
    mine = (t["unit_id"] == unit_id).to_numpy() & (t["project"].to_numpy() >= 0)
    chosen = t[mine]
    before = np.where(class_flags(chosen["code_before"].to_numpy(), classes.is_farmland), chosen["main_before_m2"], 0.0)
    after = np.where(class_flags(chosen["code_after"].to_numpy(), classes.is_farmland), chosen["main_after_m2"], 0.0)
    gain = pd.Series(after - before).groupby(chosen["project"].to_numpy().astype(np.int64)).sum()
    return {int(k): float(v) for k, v in gain.items()}


def _years(start, end) -> list:
    years = [int(y) for y in (start, end) if not is_missing(y)]
    if not years:
        return []
    return list(range(min(years), max(years) + 1))


def _years_text(years: list) -> str:
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def _projects(result: CheckResult, unit_id: str, places: _Places | None = None) -> pd.DataFrame:
    ind = result.indicators
    areas = ind.project_areas[ind.project_areas["unit_id"] == unit_id]
    plan = result.plan
    if len(areas) == 0 or plan.projects is None:
        return pd.DataFrame(columns=PROJECT_COLUMNS)
    places = places or _Places(result)
    numbers = {c: pd.to_numeric(plan.projects.column(c, None), errors="coerce").to_numpy()
               for c in ("TZ", "KSNF", "JSNF", "JSGM")}
    texts = {c: plan.projects.column(c, "").map(_text).to_numpy(dtype=object) for c in ("SZXZ", "SZC", "ZJLY", "SSZT")}
    gains = project_farmland_gain(result, unit_id)
    t = ind.pieces.table
    in_unit = (t["unit_id"] == unit_id).to_numpy()
    project_of_piece = t["project"].to_numpy()
    rows = []
    for _, a in areas.iterrows():
        k = int(a["project"])
        kind = plan.project_table["type"].iat[k]
        town, village = texts["SZXZ"][k], texts["SZC"][k]
        if not (town and village):
            largest_town, largest_village = places.largest(in_unit & (project_of_piece == k))
            town, village = town or largest_town, village or largest_village
        years = _years(numbers["KSNF"][k], numbers["JSNF"][k])
        scale_given = not is_missing(numbers["JSGM"][k])
        rows.append({"id": a["project_id"], "name": _text(plan.project_table["name"].iat[k]),
                     "task": result.ruleset.task_of(kind), "type": kind, "code": plan.project_table["code_after"].iat[k],
                     "area_mu": to_mu(a["area_m2"]),
                     "scale_mu": float(numbers["JSGM"][k]) if scale_given else to_mu(a["area_m2"]),
                     "scale_given": scale_given, "farmland_gain_m2": gains.get(k, 0.0),
                     "investment": 0.0 if np.isnan(numbers["TZ"][k]) else float(numbers["TZ"][k]),
                     "start": numbers["KSNF"][k], "end": numbers["JSNF"][k], "years": years,
                     "years_text": _years_text(years), "funding": texts["ZJLY"][k], "body": texts["SSZT"][k],
                     "township": town, "village": village})
    return pd.DataFrame(rows, columns=PROJECT_COLUMNS).sort_values("id").reset_index(drop=True)


# ----------------------------------------------------------------------------- 投资与时序

def investment_by_year(projects: pd.DataFrame) -> tuple[dict, float]:
    """(year → 万元, 万元 without years): each 子项目's TZ spread evenly over its years KSNF..JSNF."""
    by_year: dict = {}
    unscheduled = 0.0
    for _, p in projects.iterrows():
        if not p["years"]:
            unscheduled += p["investment"]
            continue
        for year in p["years"]:
            by_year[year] = by_year.get(year, 0.0) + p["investment"] / len(p["years"])
    return dict(sorted(by_year.items())), unscheduled


def _investment_paragraphs(projects: pd.DataFrame, investment: float, by_year: dict, unscheduled: float) -> list:
    if not len(projects):
        return [tr("单元未安排子项目，无投资估算。")]
    tasks = projects.groupby("task", sort=False)["investment"].sum()
    out = [tr("子项目投资合计 {wan} 万元，其中{tasks}。").format(
        wan=number_text(investment), tasks="、".join(tr("{task} {wan} 万元").format(task=t or tr("其他"), wan=number_text(v))
                                              for t, v in tasks.items()))]
    if by_year:
        years = list(by_year)
        out.append(tr("实施期 {first}–{last} 年。分年度投资按各子项目投资在其开始年份至完成年份间平均分摊计列：{years}。").format(
            first=years[0], last=years[-1],
            years="，".join(tr("{y} 年 {wan} 万元").format(y=y, wan=number_text(v)) for y, v in by_year.items())))
    if unscheduled:
        out.append(tr("另有 {wan} 万元的子项目未填开始、完成年份，未计入分年度投资。").format(wan=number_text(unscheduled)))
    return out


def _task_investment_table(projects: pd.DataFrame) -> Table:
    total = float(projects["investment"].sum()) if len(projects) else 0.0
    rows = []
    if len(projects):
        for task, group in projects.groupby("task", sort=False):
            wan = float(group["investment"].sum())
            rows.append([task or tr("其他"), int(len(group)), float(group["scale_mu"].sum()), wan,
                         wan / total * 100.0 if total else 0.0])
    return Table("投资估算表", tr("表 投资估算表"),
                 [(tr("整治任务"), "text"), (tr("子项目数（个）"), "integer"), (tr("建设规模（亩）"), "area"),
                  (tr("投资（万元）"), "area"), (tr("占比（%）"), "percent")], rows,
                 total_row=[tr("合计"), "SUM", "SUM", "SUM", 100.0 if total else 0.0])


def _ids(projects: pd.DataFrame, mask) -> str:
    return "、".join(projects.loc[mask, "id"]) if len(projects) else ""


def _year_table(projects: pd.DataFrame, by_year: dict, unscheduled: float) -> Table:
    rows = []
    for year, wan in by_year.items():
        running = projects["years"].map(lambda ys, y=year: y in ys)
        starting = projects["years"].map(lambda ys, y=year: bool(ys) and ys[0] == y)
        ending = projects["years"].map(lambda ys, y=year: bool(ys) and ys[-1] == y)
        rows.append([str(year), wan, _ids(projects, running), _ids(projects, starting), _ids(projects, ending)])
    if unscheduled:
        rows.append([tr("未填年度"), unscheduled, _ids(projects, projects["years"].map(lambda ys: not ys)), "", ""])
    return Table("分年度投资计划表", tr("表 分年度投资计划表"),
                 [(tr("年度"), "text"), (tr("投资（万元）"), "area"), (tr("实施子项目"), "text"), (tr("开工子项目"), "text"),
                  (tr("完工子项目"), "text")], rows, total_row=[tr("合计"), "SUM", "", "", ""])


def _schedule_paragraphs(projects: pd.DataFrame) -> list:
    """The implementation plan: by year, the 子项目 starting and finishing."""
    if not len(projects):
        return []
    years = sorted({y for ys in projects["years"] for y in ys})
    out = []
    for year in years:
        starting = _ids(projects, projects["years"].map(lambda ys, y=year: bool(ys) and ys[0] == y))
        ending = _ids(projects, projects["years"].map(lambda ys, y=year: bool(ys) and ys[-1] == y))
        parts = ([tr("开工 {ids}").format(ids=starting)] if starting else []) + \
                ([tr("完工 {ids}").format(ids=ending)] if ending else [])
        if parts:
            out.append(tr("{y} 年：{parts}。").format(y=year, parts="；".join(parts)))
    return ([tr("实施计划：")] + out) if out else []


# ----------------------------------------------------------------------------- 潜力

POTENTIAL_COLUMNS = ["kind", "subtype", "dlbm", "area_mu", "village", "reason"]


def unit_potential(result: CheckResult, unit_id: str, places: _Places | None = None) -> pd.DataFrame:
    """The ``potentialsurvey`` candidates lying in the unit (the same analysis, default parameters), each
    with the village covering most of it."""
    analysis = Analysis(ruleset=result.ruleset, baseline=result.baseline, plan=result.plan,
                        indicators=result.indicators, warnings=tuple(result.warnings), given=frozenset())
    candidates = survey_potential(analysis)
    table = candidates.table
    if not len(table):
        return pd.DataFrame(columns=POTENTIAL_COLUMNS)
    mine = table["unit_id"].map(lambda ids: unit_id in str(ids).split("、")).to_numpy(dtype=bool)
    table = table[mine].reset_index(drop=True)
    geoms = candidates.geoms[mine]
    places = places or _Places(result)
    t = result.indicators.pieces.table
    in_unit = np.flatnonzero((t["unit_id"] == unit_id).to_numpy())
    villages = [""] * len(table)
    if len(table) and len(in_unit):
        points = shapely.point_on_surface(result.indicators.pieces.geoms[in_unit])
        candidate, piece = STRtree(points).query(geoms, predicate="contains")
        for k in range(len(table)):
            members = in_unit[piece[candidate == k]]
            mask = np.zeros(len(t), dtype=bool)
            mask[members] = True
            villages[k] = places.largest(mask)[1]
    table = table.assign(village=villages)
    return table[POTENTIAL_COLUMNS].sort_values(["kind", "area_mu"], ascending=[True, False]).reset_index(drop=True)


def _potential_paragraphs(potential: pd.DataFrame) -> list:
    if not len(potential):
        return [tr("按整治潜力调查（耕地恢复、村庄建设用地复垦、低效工业用地、碎片化耕地、夹心地/插花地），单元内未发现潜力图斑。")]
    kinds = potential.groupby("kind", sort=False)
    out = [tr("按整治潜力调查，单元内共识别潜力图斑 {n} 处、{mu} 亩（图形面积，椭球面积），分 {k} 类。").format(
        n=len(potential), mu=number_text(float(potential["area_mu"].sum())), k=kinds.ngroups)]
    for kind, group in kinds:
        villages = group.groupby("village")["area_mu"].sum().sort_values(ascending=False)
        villages = [v for v in villages.index if v]
        out.append(tr("{kind}潜力 {n} 处、{mu} 亩{where}；以{subtypes}为主。").format(
            kind=kind, n=len(group), mu=number_text(float(group["area_mu"].sum())),
            where=tr("，主要位于{v}").format(v="、".join(villages[:5])) if villages else "",
            subtypes="、".join(group.groupby("subtype")["area_mu"].sum().sort_values(ascending=False).index[:3])))
    return out


def _potential_table(potential: pd.DataFrame) -> Table:
    rows = [[r["kind"], r["subtype"], r["dlbm"], r["village"], r["area_mu"], r["reason"]] for _, r in potential.iterrows()]
    return Table("整治潜力表", tr("表 整治潜力表"),
                 [(tr("潜力类型"), "text"), (tr("细类"), "text"), (tr("现状地类"), "text"), (tr("所在村"), "text"),
                  (tr("面积（亩）"), "area"), (tr("说明"), "text")], rows, total_row=[tr("合计"), "", "", "", "SUM", ""])


# ----------------------------------------------------------------------------- 合规性

def _scope_label(finding, places: _Places) -> str:
    if finding.scope == "scheme":
        return tr("整治区域")
    if finding.scope == "township":
        name = places.township(finding.scope_id)
        return tr("乡镇 {name}").format(name=name if name == finding.scope_id else f"{name}（{finding.scope_id}）")
    return tr("单元 {id}").format(id=finding.scope_id)


def _compliance_paragraphs(findings: list, result: CheckResult, places: _Places) -> list:
    """One paragraph per rule and scope: the clause it rests on, its value against its threshold at the
    rule's decimals, the verdict, and the check's own explanation."""
    source = result.ruleset.source
    out = []
    for k, f in enumerate(findings, start=1):
        rule = result.ruleset.rule(f.rule_id)
        cite = (tr("依据《{source}》{clause}").format(source=source, clause=rule.clause) if source
                else tr("依据{clause}").format(clause=rule.clause))
        if rule.quote:
            cite += tr("“{quote}”").format(quote=rule.quote)
        if f.status == NOT_APPLICABLE:
            figures = tr("不适用")
        else:
            figures = tr("核算值 {value}，要求{limit}，{verdict}").format(
                value=value_text(f.value, rule.decimals, f.unit), limit=limit_text(rule, f.threshold),
                verdict=verdict_text(f.status))
        out.append(tr("{k}. {title}（{scope}）：{cite}。{figures}。{message}").format(
            k=k, title=f.title, scope=_scope_label(f, places), cite=cite, figures=figures,
            message=f.message if f.message.endswith("。") else f.message + "。"))
    return out


# The 三调 figure a rule counts a conflict's land by: 耕地 rules its class area (TBDLMJ pro rata, 田坎 apart),
# the others its whole booked area (TBMJ pro rata, what the 地类流向 of construction land carry).
CONFLICT_STATISTIC = {"farmland_adjustment_share": "main_before_m2"}


def _conflict_paragraphs(findings: list, result: CheckResult) -> list:
    """The conflicts of the unit's failing rules, each with its polygon's area (图形面积) and, where it differs,
    the 三调 statistic of the same land the rule counts (``CONFLICT_STATISTIC``)."""
    conflicts = [c for f in findings for c in f.conflicts]
    if not conflicts:
        return []
    t = result.indicators.pieces.table
    points = shapely.point_on_surface(result.indicators.pieces.geoms)
    tree = STRtree(points) if len(points) else None
    items = []
    for c in conflicts:
        statistic = None
        if tree is not None and c.geom is not None and not shapely.is_empty(c.geom):
            inside = tree.query(c.geom, predicate="contains")
            column = CONFLICT_STATISTIC.get(result.ruleset.rule(c.rule_id).metric, "total_m2")
            statistic = float(t[column].to_numpy()[inside].sum())
        shown = mu_text(c.area_m2)
        if statistic is not None and number_text(to_mu(statistic)) != number_text(to_mu(c.area_m2)):
            shown = tr("图形面积 {geom}（三调统计 {stat}）").format(geom=mu_text(c.area_m2), stat=mu_text(statistic))
        items.append(tr("{kind} {area}").format(kind=c.kind, area=shown))
    return [tr("冲突图斑 {n} 处：{items}。图形面积为冲突范围的椭球面积；三调统计为规则核算所用的三调面积（耕地按图斑地类面积、"
               "其余按图斑面积，均按比例分摊），两者相同时只列一个。").format(n=len(conflicts), items="；".join(items))]
