"""Every rule of the Ningbo 2022 ruleset on a hand-made 片区, for a passing and a failing scheme.

The 片区 — a 6 × 4 grid of 200 m cells, two townships, two units — its 三调 records and the
子项目 both schemes draw are in ``fixtures/grid.py`` (the map is drawn there); expected values are
worked out here, by hand, from cell areas measured geodesically (``builders.geodesic_area``) and the
三调 booking of each cell (TBDLMJ = TBMJ − round(TBMJ × KCXS, 2)).
"""

import numpy as np
import pytest
import shapely
import shapely.affinity

from fixtures.grid import (
    BIG_P7,
    IN_ECO,
    IN_SLOPE,
    IN_UDB,
    P4,
    P7,
    P8,
    PBF_CELLS,
    RECORDS,
    STRIP_P3,
    STRIP_P5,
    UDB,
    WIDE_P3,
    WIDE_P4,
    WIDE_P5,
    A,
    B,
    C,
    R,
    S,
    a,
    booked_main,
    booked_total,
    dltb_record,
    expect,
    farmland_cells,
    layer,
    mu,
    project,
    scheme,
)
from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check

# ----------------------------------------------------------------------------- passing scheme


@pytest.fixture(scope="module")
def passing():
    projects = [
        project("DY02-01", "垦造耕地", "0101", C(4, 2)),
        project("DY01-01", "农村建设用地复垦", "0101", C(2, 1)),
        project("DY02-02", "农民集聚安置", "0702", STRIP_P3),
        project("DY01-02", "生态修复", "0301", P4),
        project("DY01-03", "生态产业开发", "0810", STRIP_P5),
        project("DY02-03", "低效用地再开发", "0601", C(3, 2)),
        project("DY02-04", "零星用地", "05H1", P7),
    ]
    pbf_plan = [C(*k) for k in PBF_CELLS if k != (4, 1)] + [R(4, 1, 4.9, 2), C(5, 1)]
    return run_check(scheme(projects, pbf_plan))


def test_passing_farmland_adjustment_share(passing):
    total_a = sum(RECORDS[k]["TBDLMJ"] for k in farmland_cells(A))
    total_b = sum(RECORDS[k]["TBDLMJ"] for k in farmland_cells(B))
    expect(passing, "farmland_adjustment_share", A, 0.0 / total_a * 100, "pass")
    lost_b = booked_main(4, 1, STRIP_P3)  # the strip's 耕地 (its 田坎 share is not 耕地)
    expect(passing, "farmland_adjustment_share", B, lost_b / total_b * 100, "pass")


def test_passing_pbf_adjustment_share(passing):
    pbf_b = sum(a(C(*k)) for k in PBF_CELLS if k[0] >= 3)
    expect(passing, "pbf_adjustment_share", A, 0.0, "pass")
    expect(passing, "pbf_adjustment_share", B, a(STRIP_P3) / pbf_b * 100, "pass")


def test_passing_farmland_net_gain(passing):
    half_c0, half_c2 = R(0.5, 0, 1, 1), R(2, 0, 2.5, 1)
    before = (booked_main(0, 0, half_c0) + RECORDS[(1, 0)]["TBDLMJ"] + booked_main(2, 0, half_c2)
              + booked_main(0, 1, R(0.5, 1, 1, 2)) + RECORDS[(1, 1)]["TBDLMJ"]
              + sum(RECORDS[k]["TBDLMJ"] for k in farmland_cells(B)))
    gained = booked_total(2, 1, R(2, 1, 2.5, 2)) + booked_total(4, 2, C(4, 2))  # new classes: no deduction
    lost = booked_main(4, 1, STRIP_P3)
    expect(passing, "farmland_net_gain", "", (gained - lost) / before * 100, "pass")
    unit_rows = [f for f in passing.findings if f.rule_id == "farmland_net_gain" and f.scope == "unit"]
    assert {f.scope_id for f in unit_rows} == {"DY01", "DY02"}


def test_passing_pbf_net_gain(passing):
    out, inn = a(STRIP_P3), a(C(5, 1))
    expect(passing, "pbf_net_gain", "", (inn - out) / out * 100, "pass")


def test_passing_udb_factor_unchanged(passing):
    urban = sum(RECORDS[(c, 3)]["TBDLMJ"] for c in (3, 4, 5))
    finding = expect(passing, "udb_expansion_factor", "", a(UDB[0]) / urban, "pass")
    assert finding.threshold == pytest.approx(finding.value, rel=1e-12)


def test_passing_control_lines(passing):
    expect(passing, "eco_redline_construction", "DY01", 0.0, "pass")
    expect(passing, "eco_redline_construction", "DY02", 0.0, "pass")
    expect(passing, "pbf_control_line_overlap", "", 0.0, "pass")
    assert passing.conflicts == []


def test_passing_contiguous_pbf(passing):
    # DY02's planned PBF (row 0, r1c3, r1c4 less the strip, r1c5) is one patch; DY01's is 100 m away.
    patch = a(R(3, 0, 6, 1)) + a(C(3, 1)) + a(R(4, 1, 4.9, 2)) + a(C(5, 1))
    finding = expect(passing, "contiguous_pbf", "", mu(patch), "pass")
    assert "百亩方" in finding.message and "共 2 片" in finding.message


def test_passing_construction_land(passing):
    released = booked_main(2, 1, R(2, 1, 2.5, 2))
    new = booked_total(4, 1, STRIP_P3) + booked_total(1, 2, STRIP_P5)
    expect(passing, "construction_land_not_increased", "", mu(released - new), "pass")


def test_passing_scattered_parcels_and_eco_industry(passing):
    expect(passing, "scattered_parcels", "DY01", None, "not_applicable")
    finding = expect(passing, "scattered_parcels", "DY02", mu(a(P7)), "pass")
    assert f"{a(P7) / a(C(3, 2)) * 100:.2f}%" in finding.message
    expect(passing, "eco_industry_share", "DY01", a(STRIP_P5) / a(P4) * 100, "pass")
    expect(passing, "eco_industry_share", "DY02", None, "not_applicable")


def test_passing_pbf_quality(passing):
    finding = expect(passing, "pbf_quality_not_lower", "", 4.0, "pass")
    assert finding.threshold == pytest.approx(6.0)


def test_every_rule_has_a_row_per_scope(passing):
    rules = {r.id: r for r in passing.ruleset.rules}
    for rule_id, rule in rules.items():
        rows = [f for f in passing.findings if f.rule_id == rule_id]
        scopes = {(f.scope, f.scope_id) for f in rows}
        if rule.scope == "township":
            assert scopes == {("township", A), ("township", B)}, rule_id
        elif rule.scope == "unit":
            assert scopes == {("unit", "DY01"), ("unit", "DY02")}, rule_id
        else:
            assert ("scheme", "") in scopes, rule_id
        for finding in rows:
            assert finding.clause == rule.clause and finding.message


# ----------------------------------------------------------------------------- failing scheme


@pytest.fixture(scope="module")
def failing():
    projects = [
        project("DY02-01", "垦造耕地", "0101", C(4, 2)),
        project("DY01-01", "农村建设用地复垦", "0101", C(2, 1)),
        project("DY02-02", "农民集聚安置", "0702", WIDE_P3),
        project("DY01-02", "生态修复", "0301", WIDE_P4),
        project("DY01-03", "生态产业开发", "0810", WIDE_P5),
        project("DY01-04", "农民集聚安置", "0702", P8),
        project("DY02-03", "低效用地再开发", "0601", C(3, 2)),
        project("DY02-04", "零星用地", "05H1", BIG_P7),
    ]
    pbf_plan = ([C(*k) for k in PBF_CELLS if k not in ((4, 1), (1, 0))] + [R(4, 1, 4.5, 2)]
                + [IN_SLOPE, IN_ECO, IN_UDB])
    udb_plan = [R(3, 3, 6, 4), C(3, 2)]
    return run_check(scheme(projects, pbf_plan, udb_plan))


def test_failing_township_shares(failing):
    total_b = sum(RECORDS[k]["TBDLMJ"] for k in farmland_cells(B))
    expect(failing, "farmland_adjustment_share", B, booked_main(4, 1, WIDE_P3) / total_b * 100, "fail")
    pbf_a = sum(a(C(*k)) for k in PBF_CELLS if k[0] < 3)
    pbf_b = sum(a(C(*k)) for k in PBF_CELLS if k[0] >= 3)
    expect(failing, "pbf_adjustment_share", A, a(C(1, 0)) / pbf_a * 100, "fail")
    expect(failing, "pbf_adjustment_share", B, a(WIDE_P3) / pbf_b * 100, "fail")
    township_conflicts = [c for c in failing.conflicts if c.rule_id == "farmland_adjustment_share"]
    assert [c.scope_id for c in township_conflicts] == [B]
    assert township_conflicts[0].area_m2 == pytest.approx(a(WIDE_P3), rel=1e-6)


def test_failing_pbf_net_gain(failing):
    out = a(C(1, 0)) + a(WIDE_P3)
    inn = a(IN_SLOPE) + a(IN_ECO) + a(IN_UDB)
    expect(failing, "pbf_net_gain", "", (inn - out) / out * 100, "fail")


def test_failing_udb_factor(failing):
    urban = sum(RECORDS[(c, 3)]["TBDLMJ"] for c in (3, 4, 5))
    finding = expect(failing, "udb_expansion_factor", "", (a(UDB[0]) + a(C(3, 2))) / urban, "fail")
    assert finding.threshold == pytest.approx(a(UDB[0]) / urban, rel=1e-6)


def test_udb_growing_by_a_few_square_metres_fails():
    """A town of 1 km² (1,500 亩 of CZCSXM 201) whose boundary grows by a 2 m × 10 m strip
    (0.03 亩): the factor printed to four decimals does not move (20 m² ÷ 1 km² = 0.00002), but the
    boundary grew, which clause （五） forbids."""
    town = R(0, 0, 5, 5)
    record = dltb_record("0702", A, a(town), 0.0, CZCSXM="201")
    x0, y0, _, _ = town.bounds
    grown = town.union(shapely.box(x0 - 2.0, y0, x0, y0 + 10.0))

    def check(udb_plan):
        return run_check(SchemeLayers(units=layer("DY", [town], [{"DYBH": "DY01"}]),
                                      landuse=layer("DLTB", [town], [record]), pbf=layer("YJJBNTTB", []),
                                      udb=layer("CZKFBJ", [town]), udb_plan=layer("CZKFBJ_GH", [udb_plan])))

    finding = expect(check(grown), "udb_expansion_factor", "", a(grown) / record["TBDLMJ"], "fail")
    assert round(finding.value, 4) == round(finding.threshold, 4)  # the rounded factors cannot tell
    expect(check(town), "udb_expansion_factor", "", a(town) / record["TBDLMJ"], "pass")


def test_failing_control_lines(failing):
    expect(failing, "eco_redline_construction", "DY01", mu(booked_total(0, 3, P8)), "fail")
    expect(failing, "eco_redline_construction", "DY02", 0.0, "pass")
    expect(failing, "pbf_control_line_overlap", "", mu(a(IN_ECO) + a(IN_UDB)), "fail")
    eco = [c for c in failing.conflicts if c.rule_id == "eco_redline_construction"]
    assert [c.scope_id for c in eco] == ["DY01"] and eco[0].area_m2 == pytest.approx(a(P8), rel=1e-6)
    overlaps = sorted((c.scope_id, round(c.area_m2)) for c in failing.conflicts
                      if c.rule_id == "pbf_control_line_overlap")
    assert overlaps == [("DY01", round(a(IN_ECO))), ("DY02", round(a(IN_UDB)))]


def test_failing_construction_land(failing):
    released = booked_main(2, 1, R(2, 1, 2.5, 2))
    new = booked_total(4, 1, WIDE_P3) + booked_total(1, 2, WIDE_P5) + booked_total(0, 3, P8)
    assert new > released
    expect(failing, "construction_land_not_increased", "", mu(released - new), "fail")


def test_failing_scattered_parcels_and_eco_industry(failing):
    finding = expect(failing, "scattered_parcels", "DY02", mu(a(BIG_P7)), "fail")
    assert "DY02-04" in finding.message
    expect(failing, "eco_industry_share", "DY01", a(WIDE_P5) / a(WIDE_P4) * 100, "fail")
    assert any(c.rule_id == "eco_industry_share" and c.scope_id == "DY01" for c in failing.conflicts)


def test_failing_pbf_quality(failing):
    # 调入 with a known grade: r1c1 (9, on slope class 5); the red-line and urban pieces have none.
    finding = expect(failing, "pbf_quality_not_lower", "", 9.0, "fail")
    out_grade = (5 * a(C(1, 0)) + 6 * a(WIDE_P3)) / (a(C(1, 0)) + a(WIDE_P3))
    assert finding.threshold == pytest.approx(out_grade, rel=1e-6)
    steep = [c for c in failing.conflicts if c.rule_id == "pbf_quality_not_lower"]
    assert len(steep) == 1 and steep[0].area_m2 == pytest.approx(a(IN_SLOPE), rel=1e-6)


def test_contiguity_gap_tolerance_and_classes():
    """Two PBF blocks 8 m apart are one patch (tolerance 10 m); 12 m apart they are two."""
    from land_consolidation.core.analysis.patches import find_patches

    classes = [{"name": "千亩方", "min_mu": 1000}, {"name": "百亩方", "min_mu": 100}]
    left = R(0, 0, 1, 1)
    for gap, expected_count in ((8.0, 1), (12.0, 2)):
        right = shapely.affinity.translate(left, S + gap, 0)
        areas = [a(left), a(right)]
        patches = find_patches(np.array([left, right], dtype=object), np.array(areas), 10.0, classes)
        assert len(patches.table) == expected_count
        largest = sum(areas) if expected_count == 1 else max(areas)
        assert patches.largest_m2 == pytest.approx(largest)
        assert patches.table.iloc[0]["class_name"] == ("百亩方" if mu(largest) >= 100 else "")


@pytest.mark.parametrize("area_mu, name", [(99.996, "百亩方"), (99.994, "")])
def test_a_patch_is_named_as_its_figure_reads(area_mu, name):
    """99.996 亩 reads 100.00 亩 and passes ≥ 100: it is named 百亩方 too; 99.994 reads 99.99."""
    from land_consolidation.core.analysis.patches import find_patches

    classes = [{"name": "百亩方", "min_mu": 100}]
    block = R(0, 0, 1, 1)
    patches = find_patches(np.array([block], dtype=object), np.array([area_mu * SQUARE_METRES_PER_MU]), 10.0,
                           classes)
    assert patches.table.iloc[0]["class_name"] == name


def test_asking_for_a_units_patches_leaves_the_pieces_untouched(passing):
    """Regression: a unit's patch query once wrote its mask into the shared pieces table."""
    t = passing.indicators.pieces.table
    before = t["in_pbf_plan"].to_numpy().copy()
    passing.indicators.patches("pbf_plan", 10.0, [], unit_id="DY01")
    assert (t["in_pbf_plan"].to_numpy() == before).all()



def test_scattered_parcel_limit_applies_to_the_whole_parcel_across_a_unit_edge():
    """A 零星用地 of 8.4 亩 (28 m × 200 m) of which 2.4 亩 lie in DY02: its size is 8.4 亩 (fail), while
    the unit's total share counts only the 2.4 亩 inside it."""
    crossing = R(2.86, 3, 3.04, 4)
    inside = R(3, 3, 3.04, 4)
    projects = [project("DY02-03", "低效用地再开发", "0601", C(3, 2)),
                project("DY02-04", "零星用地", "05H1", crossing)]
    result = run_check(scheme(projects, [C(*k) for k in PBF_CELLS]))
    finding = expect(result, "scattered_parcels", "DY02", mu(a(crossing)), "fail")
    assert "DY02-04" in finding.message
    assert f"{a(inside) / a(C(3, 2)) * 100:.2f}%" in finding.message
    (conflict,) = [c for c in result.conflicts if c.rule_id == "scattered_parcels"]
    assert conflict.area_m2 == pytest.approx(a(inside), rel=1e-6)


@pytest.mark.parametrize("scattered_first", [False, True])
def test_scattered_parcel_drawn_inside_a_redevelopment_project_keeps_its_area(scattered_first):
    """Both plan 0601: the land counts once, but each 子项目 keeps its own area for the rules,
    whatever the features' order."""
    nested = R(3, 2, 3.04, 3)  # 8 m × 200 m = 2.4 亩, inside the 60 亩 cell C(3, 2)
    projects = [project("DY02-03", "低效用地再开发", "0601", C(3, 2)),
                project("DY02-04", "零星用地", "0601", nested)]
    if scattered_first:
        projects.reverse()
    result = run_check(scheme(projects, [C(*k) for k in PBF_CELLS]))
    finding = expect(result, "scattered_parcels", "DY02", mu(a(nested)), "pass")
    assert f"{a(nested) / a(C(3, 2)) * 100:.2f}%" in finding.message
    areas = result.indicators.project_areas.set_index("project_id")["area_m2"]
    assert areas["DY02-03"] == pytest.approx(a(C(3, 2)), rel=1e-6)


def test_a_project_across_two_units_that_overlap_by_a_sliver_is_split_between_them():
    """Units DY01 and DY02 overlap by 0.025 mm × 200 m (0.005 m², below the 0.01 m² tolerance); a 子项目
    across both is counted half in each, not wholly in the first."""
    left, right = R(0, 0, 1.000000125, 1), R(1, 0, 2, 1)
    project_geom = R(0.5, 0, 1.5, 1)
    keys = [(0, 0), (1, 0)]
    layers = SchemeLayers(units=layer("DY", [left, right], [{"DYBH": "DY01"}, {"DYBH": "DY02"}]),
                          landuse=layer("DLTB", [C(*k) for k in keys], [RECORDS[k] for k in keys]),
                          pbf=layer("YJJBNTTB", []),
                          projects=layer("XM", [project_geom], [{"XMBH": "X-01", "XMLX": "垦造耕地", "GHDLBM": "0101"}]))
    areas = run_check(layers).indicators.project_areas.set_index("unit_id")["area_m2"]
    assert areas["DY01"] == pytest.approx(a(R(0.5, 0, 1.000000125, 1)), rel=1e-6)
    assert areas["DY02"] == pytest.approx(a(R(1, 0, 1.5, 1)), rel=1e-6)
