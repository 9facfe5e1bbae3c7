"""The 单元方案 as a document model: chapters of computed text and tables, no file format.

Every figure in the text comes from the check's indicators and verdicts (the same engine
as ``checkunits``); nothing is typed in. The writers (Word, PDF, Excel) render this model,
so the three files cannot disagree with each other or with the check.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..core.common.i18n import tr
from ..core.geometry.measure import to_hectares, to_mu
from ..core.products.check import CheckResult
from ..core.products.pbf_ledger import ADJUSTED_IN, ADJUSTED_OUT, pbf_ledger
from ..core.products.tables import (
    LEVEL_CLASS,
    LEVEL_GROUP,
    LEVEL_THREE_WAY,
    LEVEL_TOTAL,
    land_use_structure,
    transitions_long,
)
from ..core.rules.evaluate import FAIL, NOT_APPLICABLE, PASS, share, verdict_text

CHAPTERS = ("概况", "现状分析", "整治目标与指标", "整治任务与子项目", "永久基本农田布局优化", "三线协调与合规性分析",
            "投资估算与实施时序", "附表与附图")
CHINESE_NUMBERS = "一二三四五六七八九十"
MAP_TITLES = ("区位图", "土地利用现状图", "整治规划图", "永久基本农田调整前后对比图", "三线关系图")


@dataclass
class Table:
    key: str  # sheet / anchor name
    caption: str
    columns: list  # (header, kind) with kind in "text", "area", "percent", "number", "integer"
    rows: list  # lists of values
    total_row: list | None = None  # values; "SUM" sums the column, "SUMIF:<level>" the rows of that level

    def total_values(self) -> list | None:
        """The total row with its formulas evaluated (what Word and PDF print)."""
        if self.total_row is None:
            return None
        values = []
        for column, marker in enumerate(self.total_row):
            if marker == "SUM" or (isinstance(marker, str) and marker.startswith("SUMIF:")):
                level = marker.split(":", 1)[1] if marker != "SUM" else None
                values.append(float(sum(r[column] or 0.0 for r in self.rows if level is None or r[0] == level)))
            else:
                values.append(marker)
        return values


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
    tables: dict  # key -> Table (the 附表 workbook's sheets)
    facts: dict  # the key figures, for tests and the manifest

    def all_text(self) -> str:
        parts = [self.title]
        for chapter in self.chapters:
            parts.append(chapter.title)
            parts.extend(b for b in chapter.blocks if isinstance(b, str))
        return "\n".join(parts)


def _fmt(value, decimals: int = 2) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:,.{decimals}f}"


def build_unit_report(result: CheckResult, unit_id: str, title: str = "", organisation: str = "",
                      date: str | None = None) -> UnitReport:
    ind = result.indicators
    units = ind.per_unit
    if unit_id not in units.index:
        raise KeyError(unit_id)
    row = units.loc[unit_id]
    name = str(row["name"] or "")
    classes = ind.baseline.classes
    towns = result.townships_of(unit_id)
    town_names = "、".join(f"{ind.per_township['name'].get(c, '') or c}（{c}）" for c in towns) or tr("（未确定）")
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
    projects = _projects(result, unit_id)
    findings = result.findings_for_unit(unit_id)

    area = row["area_m2"]
    farm_b, farm_a = row["farmland_before_m2"], row["farmland_after_m2"]
    gain = share(farm_a - farm_b, farm_b)  # None (not applicable) without 耕地, as the rule says
    cons_b, cons_a = row["construction_before_m2"], row["construction_after_m2"]
    pbf_b, pbf_a, pbf_out, pbf_in = row["pbf_before_m2"], row["pbf_after_m2"], row["pbf_out_m2"], row["pbf_in_m2"]
    failed = [f for f in findings if f.status == FAIL]
    investment = float(projects["investment"].sum()) if len(projects) else 0.0
    years = sorted({int(y) for y in pd.concat([projects["start"], projects["end"]]).dropna()}) if len(projects) else []
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
        "failed_rules": [f"{f.rule_id}:{f.scope_id}" for f in failed],
    }

    top_classes = structure[(structure["level"] == LEVEL_GROUP)].sort_values("before_m2", ascending=False).head(4)
    chapters = []
    add = chapters.append

    def chapter(title):
        number = CHINESE_NUMBERS[len(chapters)]
        return Chapter(number=number, title=f"{number}、{tr(title)}")

    c = chapter("概况")
    c.blocks.append(tr("{unit}（编号 {id}）位于{towns}，单元面积 {mu} 亩（{ha} 公顷）。本方案依据{ruleset}编制，"
                       "面积采用 2000 国家大地坐标系（CGCS2000）椭球面积，地类面积按第三次全国国土调查统计口径"
                       "（图斑地类面积按比例分摊，田坎单列）。").format(
        unit=name or unit_id, id=unit_id, towns=town_names, mu=_fmt(to_mu(area)), ha=_fmt(to_hectares(area)),
        ruleset=result.ruleset.title_zh))
    c.blocks.append(Figure("区位图", tr("图 1 区位图")))
    add(c)

    c = chapter("现状分析")
    shares = "，".join(tr("{name} {mu} 亩（{share}%）").format(name=r["name"], mu=_fmt(r["before_mu"]),
                                                              share=_fmt(r["before_share"]))
                      for _, r in top_classes.iterrows())
    c.blocks.append(tr("现状以{shares}为主。现状耕地 {farm} 亩，建设用地 {cons} 亩，永久基本农田 {pbf} 亩。").format(
        shares=shares, farm=_fmt(to_mu(farm_b)), cons=_fmt(to_mu(cons_b)), pbf=_fmt(to_mu(pbf_b))))
    structure_table = _structure_table(structure)
    c.blocks.append(structure_table)
    c.blocks.append(Figure("土地利用现状图", tr("图 2 土地利用现状图")))
    add(c)

    c = chapter("整治目标与指标")
    gain_text = (tr("现状无耕地，不计新增比例") if gain is None
                 else tr("为原有耕地的 {gain}%").format(gain=_fmt(gain)))
    c.blocks.append(tr("整治后耕地 {after} 亩，较现状净增 {net} 亩，{gain}；建设用地由 {cb} 亩调整为 {ca} 亩；"
                       "永久基本农田调出 {out} 亩、调入 {inn} 亩，整治后 {pa} 亩。").format(
        after=_fmt(to_mu(farm_a)), net=_fmt(to_mu(farm_a - farm_b)), gain=gain_text, cb=_fmt(to_mu(cons_b)),
        ca=_fmt(to_mu(cons_a)), out=_fmt(to_mu(pbf_out)), inn=_fmt(to_mu(pbf_in)), pa=_fmt(to_mu(pbf_a))))
    indicator_table = _indicator_table(findings, result)
    c.blocks.append(indicator_table)
    add(c)

    c = chapter("整治任务与子项目")
    counts = projects.groupby("task")["id"].count() if len(projects) else pd.Series(dtype=int)
    land = _task_land_mu(result, unit_id)  # each task's land once, where its projects overlap
    task_text = "；".join(tr("{task} {n} 个、{mu} 亩").format(task=t or tr("其他"), n=int(n), mu=_fmt(land.get(t, 0.0)))
                         for t, n in counts.items())
    c.blocks.append(tr("单元共安排子项目 {n} 个（{tasks}）。").format(n=len(projects), tasks=task_text or tr("无")))
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
        c.blocks.append(tr("永久基本农田调出 {out} 亩、调入 {inn} 亩，净增 {net} 亩。整治前集中连片 {nb} 片、最大 {lb} 亩，"
                           "整治后 {na} 片、最大 {la} 亩（{cls}）、平均 {ma} 亩。").format(
            out=_fmt(to_mu(pbf_out)), inn=_fmt(to_mu(pbf_in)), net=_fmt(to_mu(pbf_in - pbf_out)),
            nb=before_summary["count"], lb=_fmt(to_mu(before_summary["largest_m2"])), na=after_summary["count"],
            la=_fmt(to_mu(after_summary["largest_m2"])),
            cls=(patch_after.table.iloc[0]["class_name"] if len(patch_after.table) else "") or tr("未达百亩方"),
            ma=_fmt(to_mu(after_summary["mean_m2"]))))
    quality = ledger.quality
    c.blocks.append(tr("调出部分平均耕地等别 {qo}，调入部分平均 {qi}（数值越小质量越高）。").format(
        qo=_fmt(quality[ADJUSTED_OUT]["mean_gddb"]), qi=_fmt(quality[ADJUSTED_IN]["mean_gddb"])))
    ledger_table = _ledger_table(unit_ledger)
    c.blocks.append(ledger_table)
    c.blocks.append(Figure("永久基本农田调整前后对比图", tr("图 4 永久基本农田调整前后对比图")))
    add(c)

    c = chapter("三线协调与合规性分析")
    counts = {status: sum(1 for f in findings if f.status == status) for status in (PASS, FAIL, NOT_APPLICABLE)}
    c.blocks.append(tr("按规则集逐条核算，共 {n} 项：符合 {p} 项，不符合 {f} 项，不适用 {na} 项。").format(
        n=len(findings), p=counts[PASS], f=counts[FAIL], na=counts[NOT_APPLICABLE]))
    for finding in failed:
        c.blocks.append(tr("【不符合】{message}（依据第{clause}条）").format(message=finding.message,
                                                                 clause=finding.clause))
    c.blocks.append(tr("生态保护红线内新增建设用地 {eco} 亩；规划永久基本农田与生态保护红线、城镇开发边界重叠 {ov} 亩。").format(
        eco=_fmt(to_mu(row["eco_construction_new_m2"])), ov=_fmt(to_mu(row["pbf_plan_conflict_m2"]))))
    c.blocks.append(Figure("三线关系图", tr("图 5 三线关系图")))
    add(c)

    c = chapter("投资估算与实施时序")
    c.blocks.append(tr("子项目投资合计 {wan} 万元，实施年份 {years}。").format(
        wan=_fmt(investment), years=f"{years[0]}—{years[-1]}" if years else tr("未填")))
    add(c)

    c = chapter("附表与附图")
    c.blocks.append(tr("附表见同目录“附表.xlsx”：土地利用结构调整表、永久基本农田调出调入表、子项目清单、指标核算表、地类流向表。"
                       "附图见“附图”文件夹：{maps}。").format(maps="、".join(tr(m) for m in MAP_TITLES)))
    add(c)

    tables = {t.key: t for t in (structure_table, ledger_table, project_table, indicator_table, flow_table)}
    return UnitReport(unit_id=unit_id, unit_name=name, title=title, organisation=organisation, date=date,
                      chapters=chapters, tables=tables, facts=facts)


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
    rules = {r.id: r for r in result.ruleset.rules}
    rows = []
    for f in findings:
        rule = rules[f.rule_id]
        scope = {"scheme": tr("整治区域"), "unit": tr("单元"), "township": tr("乡镇")}[f.scope]
        rows.append([f.title, f"{scope} {f.scope_id}".strip(), f.value, f.threshold, f.unit,
                     verdict_text(f.status), rule.clause, f.message])
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
    """Each 子项目 with its area as drawn; the total is the land they cover (overlaps once)."""
    rows = [[p["id"], p["name"], p["task"], p["type"], p["code"], p["area_mu"], p["investment"],
             None if p["start"] != p["start"] else int(p["start"]), None if p["end"] != p["end"] else int(p["end"])]
            for _, p in projects.iterrows()]
    return Table("子项目清单", tr("表 3 子项目清单"),
                 [(tr("子项目编号"), "text"), (tr("子项目名称"), "text"), (tr("整治任务"), "text"), (tr("子项目类型"), "text"),
                  (tr("规划地类"), "text"), (tr("面积（亩）"), "area"), (tr("投资（万元）"), "area"),
                  (tr("开始年份"), "integer"), (tr("完成年份"), "integer")], rows,
                 total_row=[tr("合计"), "", "", "", "", land_mu, "SUM", None, None])


def _flow_table(transitions: pd.DataFrame) -> Table:
    rows = [[r["from"], r["from_name"], r["to"], r["to_name"], r["mu"]] for _, r in transitions.iterrows()]
    return Table("地类流向表", tr("表 4 地类流向表"),
                 [(tr("整治前地类编码"), "text"), (tr("整治前地类"), "text"), (tr("整治后地类编码"), "text"),
                  (tr("整治后地类"), "text"), (tr("面积（亩）"), "area")], rows,
                 total_row=[tr("合计"), "", "", "", "SUM"])


def _ledger_table(ledger: pd.DataFrame) -> Table:
    rows = [[r["direction"], r["township"], r["bsm"], r["dlbm"], r["dlmc"], r["gddb"], r["gdpdjb"], r["area_mu"]]
            for _, r in ledger.iterrows()]
    return Table("永久基本农田调出调入表", tr("表 5 永久基本农田调出调入表"),
                 [(tr("类型"), "text"), (tr("乡镇代码"), "text"), (tr("图斑标识码"), "text"), (tr("地类编码"), "text"),
                  (tr("地类名称"), "text"), (tr("耕地等别"), "number"), (tr("坡度级别"), "text"),
                  (tr("面积（亩）"), "area")], rows, total_row=[tr("合计"), "", "", "", "", None, "", "SUM"])


def _projects(result: CheckResult, unit_id: str) -> pd.DataFrame:
    ind = result.indicators
    areas = ind.project_areas[ind.project_areas["unit_id"] == unit_id]
    plan = result.plan
    columns = ["id", "name", "task", "type", "code", "area_mu", "investment", "start", "end"]
    if len(areas) == 0 or plan.projects is None:
        return pd.DataFrame(columns=columns)
    numbers = {c: pd.to_numeric(plan.projects.column(c, None), errors="coerce").to_numpy()
               for c in ("TZ", "KSNF", "JSNF")}
    rows = []
    for _, a in areas.iterrows():
        k = int(a["project"])
        kind = plan.project_table["type"].iat[k]
        rows.append({"id": a["project_id"], "name": str(plan.project_table["name"].iat[k] or ""),
                     "task": result.ruleset.task_of(kind), "type": kind, "code": plan.project_table["code_after"].iat[k],
                     "area_mu": to_mu(a["area_m2"]),
                     "investment": 0.0 if np.isnan(numbers["TZ"][k]) else float(numbers["TZ"][k]),
                     "start": numbers["KSNF"][k], "end": numbers["JSNF"][k]})
    return pd.DataFrame(rows, columns=columns).sort_values("id").reset_index(drop=True)
