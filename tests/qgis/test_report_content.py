"""What the 单元方案 says (issue 12): location by name, 潜力, 子项目清单 with 新增耕地 and years, investment
by year, the clause of each rule, no doubled signs. Answers are worked out by hand on the grid 片区
(``fixtures/grid.py``); the sample report is only searched for what must never be printed.

Hand-made scheme, unit DY02 (columns 3–5, township B = 乙镇; villages 乙一村 = column 3, 乙二村 = columns 4–5):

- DY02-01 垦造耕地 → 0101 on cell (4,2) (0201K, KCXS 0): 新增耕地 = that cell's TBMJ; 300 万元, 2024–2026.
- DY02-02 农民集聚安置 → 0702 on the right half of cell (4,1) (0101, KCXS 0.1): 新增耕地 = − its TBDLMJ share;
  所在乡镇/村, 建设规模, 资金来源 and 实施主体 given on the layer; 50 万元 in 2025.
- DY02-03 高标准农田建设 → 0101 on x 3–4.3 of row 0 (0101 stays 0101): 新增耕地 0; mostly in 乙一村; 90 万元,
  2025–2027.
So by year: 2024 100, 2025 100 + 50 + 30 = 180, 2026 100 + 30 = 130, 2027 30 (万元).
"""

import re
from pathlib import Path

import pytest

from fixtures import grid
from fixtures.builders import layer
from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check
from land_consolidation.report.table_layout import cell_text
from land_consolidation.report.unit_report import Figure, Table, build_unit_report

P1 = grid.C(4, 2)
P2 = grid.R(4.5, 1, 5, 2)
P3 = grid.R(3, 0, 4.3, 1)
UDB_PLAN = grid.R(3, 7 / 3, 6, 4)  # the planned urban boundary: 1⅔ rows of 3 cells over 1 row of 城镇 (202)
B_VILLAGES = {3: ("3302811020010000000", "乙一村"), 4: ("3302811020020000000", "乙二村"),
              5: ("3302811020020000000", "乙二村")}


def mu(m2):
    return m2 / SQUARE_METRES_PER_MU


def _records():
    out = {}
    for (col, row), record in grid.RECORDS.items():
        record = dict(record)
        code, name = B_VILLAGES.get(col, ("3302811010010000000", "甲一村"))
        record.update({"ZLDWDM": code, "ZLDWMC": name})
        out[(col, row)] = record
    return out


def scheme() -> SchemeLayers:
    projects = [
        grid.project("DY02-01", "垦造耕地", "0101", P1),
        grid.project("DY02-02", "农民集聚安置", "0702", P2),
        grid.project("DY02-03", "高标准农田建设", "0101", P3),
    ]
    projects[0][1].update({"XMMC": "乙二村垦造耕地", "TZ": 300.0, "KSNF": 2024, "JSNF": 2026})
    projects[1][1].update({"XMMC": "安置点", "TZ": 50.0, "KSNF": 2025, "JSNF": 2025, "SZXZ": "某镇", "SZC": "某村",
                           "JSGM": 12.5, "ZJLY": "社会资本", "SSZT": "某建设公司"})
    projects[2][1].update({"XMMC": "高标准农田", "TZ": 90.0, "KSNF": 2025, "JSNF": 2027})
    layers = grid.scheme(projects, [grid.C(*k) for k in grid.PBF_CELLS], udb_plan=[UDB_PLAN])
    records = _records()
    keys = sorted(records)
    layers.landuse = layer("DLTB", [grid.C(*k) for k in keys], [records[k] for k in keys])
    layers.units = layer("DY", grid.UNITS, [{"DYBH": "DY01", "DYMC": "甲", "PQMC": "测试"},
                                            {"DYBH": "DY02", "DYMC": "乙", "PQMC": "测试", "RK": 1234}])
    layers.townships = layer("XZQ", [grid.R(0, 0, 3, 4), grid.R(3, 0, 6, 4)],
                             [{"XZQDM": grid.A, "XZQMC": "甲镇"}, {"XZQDM": grid.B, "XZQMC": "乙镇"}])
    return layers


@pytest.fixture(scope="module")
def checked():
    return run_check(scheme())


@pytest.fixture(scope="module")
def report(checked):
    return build_unit_report(checked, "DY02", date="2026-01-01")


def _chapter(report, title):
    return next(c for c in report.chapters if c.title.endswith(title))


def _paragraphs(report, title=None):
    chapters = report.chapters if title is None else [_chapter(report, title)]
    return [b for c in chapters for b in c.blocks if isinstance(b, str)]


def _table(report, key) -> Table:
    return report.tables[key]


def _rows(table: Table, key_column=0):
    headers = [h for h, _ in table.columns]
    return {r[key_column]: dict(zip(headers, r)) for r in table.rows}


def test_overview_names_the_townships_villages_and_population(report):
    text = _paragraphs(report, "概况")[0]
    assert "位于测试片区的乙镇" in text
    assert "涉及乙二村、乙一村共 2 个村" in text  # 乙二村 covers columns 4–5, 乙一村 column 3
    assert "甲镇" not in text and "甲一村" not in text
    area = grid.a(grid.UNITS[1])
    assert f"单元面积 {mu(area):,.2f} 亩（{area / 10000:,.2f} 公顷）" in text
    assert "人口 1,234 人" in text


def test_project_list_new_farmland_place_and_fields(report):
    table = _table(report, "子项目清单")
    assert [h for h, _ in table.columns] == ["子项目编号", "名称", "所在乡镇/村", "整治任务", "子项目类型", "规划地类", "建设规模（亩）",
                                            "新增耕地（亩）", "投资（万元）", "资金来源", "实施主体", "年度"]
    rows = _rows(table)
    p1_gain = mu(grid.RECORDS[(4, 2)]["TBMJ"])  # 0201K (KCXS 0) becomes 0101 carrying no deduction
    p2_gain = -mu(grid.booked_main(4, 1, P2))  # 0101's TBDLMJ share becomes 0702
    assert rows["DY02-01"]["新增耕地（亩）"] == pytest.approx(p1_gain, abs=1e-6)
    assert rows["DY02-02"]["新增耕地（亩）"] == pytest.approx(p2_gain, abs=1e-6)
    assert rows["DY02-03"]["新增耕地（亩）"] == pytest.approx(0.0, abs=1e-6)  # 0101 stays 0101
    # Computed where the layer leaves them blank: the township and the village covering most of the project.
    assert rows["DY02-01"]["所在乡镇/村"] == "乙镇/乙二村"
    assert rows["DY02-03"]["所在乡镇/村"] == "乙镇/乙一村"  # 1.0 cell in 乙一村, 0.3 in 乙二村
    assert rows["DY02-02"]["所在乡镇/村"] == "某镇/某村"  # as given
    assert rows["DY02-02"]["建设规模（亩）"] == 12.5
    assert rows["DY02-01"]["建设规模（亩）"] == pytest.approx(mu(grid.a(P1)), rel=1e-6)
    assert (rows["DY02-02"]["资金来源"], rows["DY02-02"]["实施主体"]) == ("社会资本", "某建设公司")
    assert rows["DY02-01"]["年度"] == "2024–2026" and rows["DY02-02"]["年度"] == "2025"
    assert rows["DY02-01"]["规划地类"] == "0101" and rows["DY02-02"]["规划地类"] == "0702"
    total = table.total_values()
    assert total[7] == pytest.approx(p1_gain + p2_gain, abs=1e-6)
    assert total[8] == 440.0
    text = "".join(_paragraphs(report, "整治目标与指标"))
    assert f"较现状净增 {p1_gain + p2_gain:,.2f} 亩" in text


def test_investment_spread_evenly_over_the_years(report):
    rows = _rows(_table(report, "分年度投资计划表"))
    assert {year: r["投资（万元）"] for year, r in rows.items()} == pytest.approx(
        {"2024": 100.0, "2025": 180.0, "2026": 130.0, "2027": 30.0})
    assert rows["2025"]["开工子项目"] == "DY02-02、DY02-03" and rows["2025"]["完工子项目"] == "DY02-02"
    assert rows["2024"]["实施子项目"] == "DY02-01"
    tasks = _rows(_table(report, "投资估算表"))
    assert tasks["农用地整治"]["投资（万元）"] == 390.0 and tasks["村庄整治"]["投资（万元）"] == 50.0
    text = "\n".join(_paragraphs(report, "投资估算与实施时序"))
    assert "子项目投资合计 440.00 万元" in text
    assert "平均分摊" in text
    assert "2024 年 100.00 万元" in text and "2025 年 180.00 万元" in text
    assert "2024 年：开工 DY02-01。" in text
    assert "2027 年：完工 DY02-03。" in text


def test_potential_chapter_from_the_potential_survey(report):
    rows = _table(report, "整治潜力表").rows
    assert [(r[0], r[2], r[3]) for r in rows] == [("耕地恢复", "0201K", "乙二村")]  # cell (4,2), next to 耕地
    assert rows[0][4] == pytest.approx(mu(grid.a(grid.C(4, 2))), rel=1e-6)
    text = "\n".join(_paragraphs(report, "问题与潜力分析"))
    assert "耕地恢复潜力 1 处" in text and "乙二村" in text


def test_each_rule_cites_its_clause_and_prints_its_decimals(report, checked):
    text = _paragraphs(report, "三线协调与合规性分析")
    gain = next(p for p in text if "新增耕地占整治区域原有耕地比例（单元 DY02）" in p)
    assert "（五）" in gain and "确保新增耕地面积原则上不少于整治区域内原有耕地面积的5%" in gain
    eco = next(p for p in text if p.split("（")[0].endswith("生态保护红线内新增建设用地"))
    assert "（三）" in eco
    # 扩展倍数: planned boundary ÷ 现状城镇建设用地 (the three 202 cells' TBDLMJ), at the rule's 4 decimals.
    urban = sum(grid.RECORDS[(c, 3)]["TBDLMJ"] for c in (3, 4, 5))
    factor = grid.a(UDB_PLAN) / urban
    assert f"{factor:.4f}" != f"{factor:.2f}0"  # the figure needs its 4 decimals
    udb = next(p for p in text if "城镇开发边界扩展倍数" in p)
    assert f"核算值 {factor:.4f} 倍" in udb
    indicator = next(r for r in _table(report, "指标核算表").rows if r[0].startswith("城镇开发边界扩展倍数"))
    assert indicator[2].value == pytest.approx(factor, rel=1e-9) and indicator[2].decimals == 4
    assert cell_text(indicator[2], "number") == f"{factor:.4f}"  # as Word and the PDF print it


def test_conflict_areas_say_which_measure(report):
    """耕地调整 in 乙镇 (the half cell DY02-02 builds on) fails; its polygon's area and the 三调 figure differ by
    the cell's 田坎 (KCXS 0.1), and both are named."""
    text = "\n".join(_paragraphs(report, "三线协调与合规性分析"))
    geometric, booked = mu(grid.a(P2)), mu(grid.booked_main(4, 1, P2))
    assert f"耕地调整超限 图形面积 {geometric:,.2f} 亩（三调统计 {booked:,.2f} 亩）" in text
    # 新增建设用地 counts the whole booked area (田坎 too: TBMJ share = the cell's geometry share here): one figure.
    assert f"新增建设用地 {geometric:,.2f} 亩；" in text or f"新增建设用地 {geometric:,.2f} 亩。" in text


DOUBLED = re.compile(r"(净增|净减少|净增加)\s*[-+−]")


def _all_text(report):
    parts = [report.all_text()]
    for table in report.tables.values():
        parts.extend(str(v) for r in table.rows for v in r if isinstance(v, str))
    return "\n".join(parts)


def test_no_doubled_signs_in_the_grid_report(report):
    """建设用地 grows here (DY02-02 builds on farmland): the rule's own message said "净减少 -…"."""
    text = _all_text(report)
    assert not DOUBLED.search(text), DOUBLED.search(text).group(0)
    assert "净增 " in text or "净减少 " in text


def test_tables_and_figures_are_numbered_in_order(report):
    captions = [b.caption for c in report.chapters for b in c.blocks if isinstance(b, Table)]
    assert [c.split(" ")[:2] for c in captions] == [["表", str(k)] for k in range(1, len(captions) + 1)]
    figures = [b.caption for c in report.chapters for b in c.blocks if isinstance(b, Figure)]
    assert figures[0] == "图 1 区位图" and figures[2] == "图 3 整治规划图"


def test_sample_report_has_no_doubled_signs_and_prints_the_factor_at_four_decimals(sample_gpkg):
    from qgis.core import QgsVectorLayer

    from land_consolidation.core.ingest.validate import ROLES
    from land_consolidation.qgis_bridge.layer_io import read_layer

    tables = {"units": "DY", "landuse": "DLTB", "projects": "XM", "pbf": "YJJBNTTB", "pbf_plan": "YJJBNTTB_GH",
              "eco": "STBHHX", "udb": "CZKFBJ", "townships": "XZQ"}
    layers = {role: read_layer(QgsVectorLayer(f"{sample_gpkg}|layername={t}", t, "ogr"), t,
                               ROLES[role].fields + (("DYBH",) if role == "units" else ()))
              for role, t in tables.items()}
    result = run_check(SchemeLayers(**layers))
    sample = build_unit_report(result, "DY02")
    text = _all_text(sample)
    assert not DOUBLED.search(text)
    assert ":+" not in Path(build_unit_report.__code__.co_filename).read_text(encoding="utf-8")
    finding = result.finding("udb_expansion_factor")
    assert f"核算值 {finding.value:.4f} 倍" in text and f"{finding.value:.4f}" != f"{finding.value:.2f}"
    assert "河姆镇" in text and "丈亭镇" in text  # townships by name (XZQMC)


def test_map_layers_colour_each_project_type_and_show_the_whole_area(checked):
    import shapely
    from qgis.core import QgsCoordinateReferenceSystem

    from land_consolidation.core.products.pbf_ledger import pbf_ledger
    from land_consolidation.report.maps import MapLayers

    layers = MapLayers(checked, "DY02", QgsCoordinateReferenceSystem("EPSG:4549"), pbf_ledger(checked.indicators, None))
    projects = layers.projects()
    categories = projects.renderer().categories()
    assert sorted(c.value() for c in categories) == sorted(["垦造耕地", "农民集聚安置", "高标准农田建设"])
    colours = {c.symbol().symbolLayer(0).strokeColor().name() for c in categories}
    assert len(colours) == len(categories)  # one colour per type
    assert all(c.symbol().symbolLayer(0).fillColor().alpha() < 128 for c in categories)  # classes beneath read
    context, extent = layers.context()
    assert context[1].featureCount() == 2  # both townships, not only the one DY02 lies in
    assert shapely.contains(shapely.buffer(extent, 1e-9), checked.baseline.township_geometry(grid.A))
