"""Layers are sets of land: duplicated or overlapping features add nothing, and land outside them is kept.

A strip of four 100 m cells in EPSG:4549, all 水田 0101 without deduction, in one township, one
unit over all of it. Answers are worked out here from geodesic areas of the shapes (``builders``).

    cell   0        1        2        3
    x      0–100    100–200  200–300  300–400 (m from the origin)

Vendors' 三区三线 layers do contain duplicated and overlapping polygons; each case draws some.
"""

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.builders import dltb_record, geodesic_area, layer, rect
from land_consolidation.core.analysis.analysis import analyse
from land_consolidation.core.common.errors import DataError
from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import check, run_check
from land_consolidation.core.products.conflicts import control_line_conflicts
from land_consolidation.core.rules.ruleset import DEFAULT_RULESET_FILE, parse_ruleset

A = "330281101"


def R(x0, x1, y0=0.0, y1=100.0):
    return rect(x0, y0, x1, y1)


CELLS = [R(100 * k, 100 * (k + 1)) for k in range(4)]
UNIT = R(0, 400)


def a(geom) -> float:
    return geodesic_area(geom)


def mu(m2: float) -> float:
    return m2 / SQUARE_METRES_PER_MU


def strip(pbf, pbf_plan, projects=(), eco=None, udb=None, udb_plan=None, codes=None) -> SchemeLayers:
    codes = codes or ["0101"] * 4
    return SchemeLayers(
        units=layer("DY", [UNIT], [{"DYBH": "DY01"}]),
        landuse=layer("DLTB", CELLS, [dltb_record(c, A, a(g)) for c, g in zip(codes, CELLS)]),
        pbf=layer("YJJBNTTB", pbf), pbf_plan=layer("YJJBNTTB_GH", pbf_plan),
        projects=layer("XM", [g for g, _ in projects], [r for _, r in projects]) if projects else None,
        eco=layer("STBHHX", eco) if eco is not None else None,
        udb=layer("CZKFBJ", udb) if udb is not None else None,
        udb_plan=layer("CZKFBJ_GH", udb_plan) if udb_plan is not None else None)


def project(xmbh, kind, planned, geom):
    return geom, {"XMBH": xmbh, "XMLX": kind, "GHDLBM": planned}


# PBF today: the left half of cell 0, drawn twice; cell 1 and a feature over the right half of cell 1
# and the left half of cell 2. The plan adjusts the left half of cell 0 out and cell 3 in (drawn twice
# and once more over its right half).
HALF0 = R(0, 50)
PBF = [HALF0, HALF0, CELLS[1], R(150, 250)]
PBF_PLAN = [CELLS[1], R(150, 250), CELLS[3], CELLS[3], R(350, 400)]


def test_duplicated_and_overlapping_pbf_count_once():
    result = run_check(strip(PBF, PBF_PLAN))
    before = a(HALF0) + a(R(100, 250))
    out, inn = a(HALF0), a(CELLS[3])
    unit = result.indicators.per_unit.loc["DY01"]
    assert unit["pbf_before_m2"] == pytest.approx(before, rel=1e-6)
    assert unit["pbf_out_m2"] == pytest.approx(out, rel=1e-6)
    assert unit["pbf_in_m2"] == pytest.approx(inn, rel=1e-6)
    assert unit["area_m2"] == pytest.approx(a(UNIT), rel=1e-6)  # no land lost outside the duplicates
    share = result.finding("pbf_adjustment_share", A)
    assert share.value == pytest.approx(out / before * 100, rel=1e-6)
    gain = result.finding("pbf_net_gain")
    assert gain.value == pytest.approx((inn - out) / out * 100, rel=1e-6)


def test_overlaps_in_a_control_layer_are_reported_by_feature_id():
    result = run_check(strip(PBF, PBF_PLAN))
    text = "\n".join(result.warnings)
    # features 1 and 2 are the same half cell; 3 and 4 share the right half of cell 1
    assert "现状永久基本农田" in text and "1 与 2" in text and "3 与 4" in text
    assert "规划永久基本农田" in text and "3 与 4" in text and "面积只计一次" in text
    expected = a(HALF0) + a(R(150, 200))
    assert f"{expected:.2f} 平方米" in text


def test_duplicated_red_line_counts_construction_once():
    # 农民集聚安置 over cell 0; the red line over its left half, drawn twice.
    projects = [project("XM1", "农民集聚安置", "0702", CELLS[0])]
    result = run_check(strip([CELLS[2]], [CELLS[2]], projects, eco=[HALF0, HALF0]))
    finding = result.finding("eco_redline_construction", "DY01")
    assert finding.value == pytest.approx(mu(a(HALF0)), rel=1e-6)
    assert result.indicators.per_unit.loc["DY01", "construction_new_m2"] == pytest.approx(a(CELLS[0]), rel=1e-6)


def test_duplicated_urban_boundary_counts_once():
    # CZCSXM 201 town on cells 0–1; the boundary drawn twice today and overlapping itself in the plan.
    codes = ["0702", "0702", "0101", "0101"]
    layers = strip([CELLS[3]], [CELLS[3]], udb=[R(0, 200), R(0, 200)], udb_plan=[R(0, 150), R(100, 200)],
                   codes=codes)
    layers.landuse.attrs["CZCSXM"] = ["201", "201", "", ""]
    finding = run_check(layers).finding("udb_expansion_factor")
    town = a(CELLS[0]) + a(CELLS[1])
    booked = sum(round(a(c), 2) for c in CELLS[:2])
    assert finding.value == pytest.approx(a(R(0, 200)) / booked, rel=1e-6)
    assert finding.threshold == pytest.approx(a(R(0, 200)) / booked, rel=1e-6)
    assert finding.status == "pass"
    assert town == pytest.approx(a(R(0, 200)), rel=1e-9)


def test_overlapping_projects_of_one_class_with_different_deductions_are_refused():
    # 垦造耕地 → 0101 twice over cell 1, KCXS 0.05 and 0.20: the overlap's class area would depend on
    # which comes first in the layer (55.48 or 53.23 亩 of 耕地 after), so neither is chosen.
    first, second = R(0, 200), R(100, 300)
    projects = [(first, {"XMBH": "XM1", "XMLX": "垦造耕地", "GHDLBM": "0101", "KCXS": 0.05}),
                (second, {"XMBH": "XM2", "XMLX": "垦造耕地", "GHDLBM": "0101", "KCXS": 0.20})]
    with pytest.raises(DataError, match="扣除系数不同") as refused:
        run_check(strip([CELLS[3]], [CELLS[3]], projects, codes=["0404"] * 4))
    assert "XM1（KCXS 0.05）与 XM2（KCXS 0.2）" in str(refused.value)
    # the same deduction on both: accepted, and the order of the layer does not matter
    same = [(g, {**r, "KCXS": 0.05}) for g, r in projects]
    figures = [run_check(strip([CELLS[3]], [CELLS[3]], order, codes=["0404"] * 4)).finding("farmland_net_gain")
               for order in (same, same[::-1])]
    assert figures[0].value is None and figures[1].value is None  # no 耕地 before: not applicable either way
    after = [run_check(strip([CELLS[3]], [CELLS[3]], order, codes=["0404"] * 4)).indicators.per_unit.loc[
        "DY01", "farmland_after_m2"] for order in (same, same[::-1])]
    assert after[0] == pytest.approx(a(R(0, 300)) * 0.95, rel=1e-6) and after[1] == pytest.approx(after[0], rel=1e-12)


def test_overlapping_restoration_projects_count_their_overlap_once():
    # 生态修复 drawn as two overlapping projects over cells 0–2 (overlap: cell 1); 生态产业开发 on 3.2 %
    # of the restored land. Summed as drawn it would be 3.2 × 3 / 4 = 2.4 % and pass.
    restored = R(0, 300)
    industry = R(300, 300 + 0.032 * 300)
    projects = [project("XM1", "生态修复", "0301", R(0, 200)), project("XM2", "生态修复", "0301", R(100, 300)),
                project("XM3", "生态产业开发", "0810", industry)]
    result = run_check(strip([CELLS[3]], [CELLS[3]], projects))
    finding = result.finding("eco_industry_share", "DY01")
    assert finding.value == pytest.approx(a(industry) / a(restored) * 100, rel=1e-6)
    assert finding.status == "fail"


def test_overlapping_scattered_parcels_count_once_in_the_total():
    # 低效用地再开发 on cells 0–2 (30,000 m² ≈ 45 亩); two 零星用地 of 2 亩 each overlapping by half:
    # 3 亩 of land = 6.7 %, within 10 %; summed as drawn 4 亩 would still pass — so make them 2.5 亩
    # overlapping by 1 亩: 4 亩 of land (8.9 %) against 5 亩 as drawn (11.1 %, a false failure).
    base = R(0, 300)
    side = 2.5 * SQUARE_METRES_PER_MU / 100.0  # a 100 m tall strip of 2.5 亩
    shift = 1.5 * SQUARE_METRES_PER_MU / 100.0
    first, second = R(300, 300 + side), R(300 + shift, 300 + shift + side)
    projects = [project("XM1", "低效用地再开发", "0601", base), project("XM2", "零星用地", "0601", first),
                project("XM3", "零星用地", "0601", second)]
    result = run_check(strip([CELLS[3]], [CELLS[3]], projects))
    finding = result.finding("scattered_parcels", "DY01")
    land = a(first.union(second))
    assert mu(land) == pytest.approx(4.0, abs=0.01)
    assert f"合计 {mu(land):,.2f} 亩" in finding.message
    assert finding.status == "pass", finding.message


@pytest.mark.parametrize("threshold, decimals, comparison, status", [
    (8.8, 2, "<=", "fail"),   # 8.89 % > 8.80 %
    (8.8, 0, "<=", "pass"),   # judged as printed without decimals: 9 ≤ 9
    (8.8, 0, "<", "fail"),    # 9 < 9 is false
])
def test_a_second_limit_is_judged_by_its_own_comparison_and_decimals(threshold, decimals, comparison, status):
    data = yaml.safe_load(DEFAULT_RULESET_FILE.read_text(encoding="utf-8"))
    rule = next(r for r in data["rules"] if r["id"] == "scattered_parcels")
    rule["limits"][0].update(threshold=threshold, decimals=decimals, comparison=comparison)
    side = 2.5 * SQUARE_METRES_PER_MU / 100.0
    shift = 1.5 * SQUARE_METRES_PER_MU / 100.0
    projects = [project("XM1", "低效用地再开发", "0601", R(0, 300)), project("XM2", "零星用地", "0601", R(300, 300 + side)),
                project("XM3", "零星用地", "0601", R(300 + shift, 300 + shift + side))]
    result = run_check(strip([CELLS[3]], [CELLS[3]], projects), ruleset=parse_ruleset(data))
    assert result.finding("scattered_parcels", "DY01").status == status


def test_conflict_polygons_add_up_to_the_rule_value():
    # Planned PBF over cells 0–2; the red line over cells 0–1 and the urban boundary over cells 1–2:
    # cell 1 is in both. The rule counts 3 cells once; so must the polygons.
    layers = strip([CELLS[0]], [R(0, 300)], eco=[R(0, 200)], udb=[R(100, 300)])
    result = run_check(layers)
    finding = result.finding("pbf_control_line_overlap")
    assert finding.value == pytest.approx(mu(a(R(0, 300))), rel=1e-6)
    polygons = [c for c in result.conflicts if c.rule_id == "pbf_control_line_overlap"]
    assert mu(sum(c.area_m2 for c in polygons)) == pytest.approx(finding.value, rel=1e-9)
    assert sorted(c.kind for c in polygons) == ["永久基本农田与城镇开发边界重叠", "永久基本农田与生态保护红线、城镇开发边界重叠",
                                                "永久基本农田与生态保护红线重叠"]
    # the toolbox's 三线冲突 table uses the same kinds: PBF rows add up to the rule value too
    table = control_line_conflicts(analyse(layers)).table
    pbf_rows = table[table["kind"].str.startswith("永久基本农田")]
    assert pbf_rows["area_mu"].sum() == pytest.approx(finding.value, rel=1e-9)
    assert table.loc[table["kind"] == "生态保护红线与城镇开发边界重叠", "area_mu"].sum() == pytest.approx(0.0)


@pytest.mark.parametrize("name", ["pbf", "pbf_plan", "eco", "udb", "udb_plan"])
def test_every_figure_is_invariant_under_duplicating_a_feature(name):
    """The first feature of each layer is duplicated; each covers less than half of the piece it lies
    in (a cell cut by the 子项目), where overlapping copies summed as drawn never exceed the piece.
    (城镇开发边界 was dissolved before this issue already: its cases passed then too.)"""
    projects = [project("XM1", "农民集聚安置", "0702", CELLS[0]), project("XM2", "垦造耕地", "0101", R(150, 250))]
    layers = strip(PBF, [R(260, 280)] + PBF_PLAN, projects, eco=[R(0, 120)], udb=[R(50, 250)],
                   udb_plan=[R(50, 300)])
    baseline = check(analyse(layers)).rows()
    drawn = getattr(layers, name)
    setattr(layers, name, layer(drawn.name, list(drawn.geoms) + [drawn.geoms[0]]))
    again = check(analyse(layers)).rows()
    assert [(r["rule_id"], r["scope_id"], r["status"]) for r in again] == [
        (r["rule_id"], r["scope_id"], r["status"]) for r in baseline]
    for before, after in zip(baseline, again):
        assert after["value"] == pytest.approx(before["value"], rel=1e-9, abs=1e-9), before["rule_id"]


# ----------------------------------------------------------------------------- properties

spans = st.lists(st.tuples(st.integers(0, 39), st.integers(1, 20)), min_size=1, max_size=4)  # (start, length) in 10 m


def _shapes(drawn):
    return [R(10 * s, min(400, 10 * (s + n))) for s, n in drawn]


def _figures(layers):
    return [(r["rule_id"], r["scope_id"], r["status"], r["value"]) for r in check(analyse(layers)).rows()]


def _same(left, right):
    """Same verdicts, and values equal far below what is printed (a union's area differs from the sum of
    its parts in the 12th digit; a share of a small difference, e.g. 新增永农 when 调入 ≈ 调出, shows it)."""
    assert [r[:3] for r in left] == [r[:3] for r in right]
    for a_row, b_row in zip(left, right):
        if a_row[3] is None:
            assert b_row[3] is None, a_row
        else:
            assert b_row[3] == pytest.approx(a_row[3], rel=1e-9, abs=1e-6), a_row


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pbf=spans, pbf_plan=spans, eco=spans, udb=spans, udb_plan=spans,
       which=st.sampled_from(["pbf", "pbf_plan", "eco", "udb", "udb_plan"]), seed=st.randoms(use_true_random=False))
def test_figures_ignore_duplicates_and_feature_order(pbf, pbf_plan, eco, udb, udb_plan, which, seed):
    # 子项目 too, two of one class drawn over each other (their order must not matter either)
    projects = [project("XM1", "农民集聚安置", "0702", CELLS[0]), project("XM2", "垦造耕地", "0101", R(150, 250)),
                project("XM3", "垦造耕地", "0101", R(200, 300))]

    def build(shapes_of, drawn=projects):
        return strip(shapes_of["pbf"], shapes_of["pbf_plan"], drawn, eco=shapes_of["eco"], udb=shapes_of["udb"],
                     udb_plan=shapes_of["udb_plan"])

    shapes = {"pbf": _shapes(pbf), "pbf_plan": _shapes(pbf_plan), "eco": _shapes(eco), "udb": _shapes(udb),
              "udb_plan": _shapes(udb_plan)}
    reference = _figures(build(shapes))
    duplicated = dict(shapes)
    duplicated[which] = shapes[which] + [shapes[which][seed.randrange(len(shapes[which]))]]
    _same(reference, _figures(build(duplicated)))
    shuffled = {name: seed.sample(geoms, len(geoms)) for name, geoms in shapes.items()}
    _same(reference, _figures(build(shuffled, seed.sample(projects, len(projects)))))
