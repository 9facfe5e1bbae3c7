"""The toolbox's algorithms on the hand-made grid 片区 of ``fixtures/grid.py``, with answers by hand.

Each algorithm runs as Processing runs it (memory layers in, files out); figures are
checked against hand computations from cell areas and against ``checkunits``.
"""

import pytest
from qgis.core import QgsProcessingFeedback

import processing
from fixtures import grid
from fixtures.qgis_layers import read_rows, scheme_parameters
from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU
from land_consolidation.core.products.check import run_check

mu = grid.mu
a = grid.a


@pytest.fixture(scope="module")
def passing_layers():
    projects = [
        grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2)),
        grid.project("DY01-01", "农村建设用地复垦", "0101", grid.C(2, 1)),
        grid.project("DY02-02", "农民集聚安置", "0702", grid.STRIP_P3),
        grid.project("DY01-02", "生态修复", "0301", grid.P4),
        grid.project("DY01-03", "生态产业开发", "0810", grid.STRIP_P5),
    ]
    pbf_plan = [grid.C(*k) for k in grid.PBF_CELLS if k != (4, 1)] + [grid.R(4, 1, 4.9, 2), grid.C(5, 1)]
    return grid.scheme(projects, pbf_plan)


@pytest.fixture(scope="module")
def failing_layers():
    projects = grid.failing_projects()
    pbf_plan = ([grid.C(*k) for k in grid.PBF_CELLS if k not in ((4, 1), (1, 0))] + [grid.R(4, 1, 4.5, 2)]
                + [grid.IN_SLOPE, grid.IN_ECO, grid.IN_UDB])
    return grid.scheme(projects, pbf_plan, [grid.R(3, 3, 6, 4), grid.C(3, 2)])


def printed(value, decimals=2):
    """A figure as a CSV cell holds it: rounded as printed, so within half its last decimal."""
    return pytest.approx(value, abs=0.5 * 10 ** -decimals + 1e-9)


def run(algorithm, parameters, tmp_path, **outputs):
    for name, filename in outputs.items():
        parameters[name] = str(tmp_path / filename)
    return processing.run(f"landconsolidation:{algorithm}", parameters)


# ----------------------------------------------------------------------------- 土地利用结构调整表

def test_land_use_structure_by_hand_and_equal_to_checkunits(plugin_provider, passing_layers, tmp_path):
    parameters = scheme_parameters(passing_layers, ("UNITS", "LANDUSE", "PROJECTS"))
    out = run("landusestructure", parameters, tmp_path, OUTPUT="structure.csv")
    rows = read_rows(out["OUTPUT"])
    table = {(r["scope_id"] or "", r["level"], r["code"] or r["name"]): r for r in rows}
    check = run_check(passing_layers).indicators.per_unit
    for unit_id in ("DY01", "DY02"):
        farmland = table[(unit_id, "一级类", "01")]
        assert float(farmland["before_mu"]) == printed(mu(check.loc[unit_id, "farmland_before_m2"]))
        assert float(farmland["after_mu"]) == printed(mu(check.loc[unit_id, "farmland_after_m2"]))
        total = table[(unit_id, "合计", "合计")]
        assert float(total["before_mu"]) == pytest.approx(float(total["after_mu"]), rel=1e-12)
    # DY01 holds half of r0c0 and r1c0 (cut by the unit boundary), r0c1, r1c1 and half of r0c2:
    # its 田坎 (1203) is their KCMJ pro rata; the 复垦 half of r1c2 adds 0101 without deduction.
    kcmj = lambda col, row, piece: grid.booked_total(col, row, piece) - grid.booked_main(col, row, piece)  # noqa: E731
    tk = (kcmj(0, 0, grid.R(0.5, 0, 1, 1)) + kcmj(1, 0, grid.C(1, 0)) + kcmj(2, 0, grid.R(2, 0, 2.5, 1))
          + kcmj(0, 1, grid.R(0.5, 1, 1, 2)) + kcmj(1, 1, grid.C(1, 1)))
    assert float(table[("DY01", "二级类", "1203")]["before_mu"]) == printed(mu(tk))
    assert float(table[("DY01", "二级类", "1203")]["change_mu"]) == pytest.approx(0.0, abs=1e-9)
    paddy = table[("DY01", "二级类", "0101")]
    assert float(paddy["change_mu"]) == printed(mu(grid.booked_total(2, 1, grid.R(2, 1, 2.5, 2))))
    three_way = {r["name"] for r in rows if r["level"] == "三大类" and r["scope"] == "scheme"}
    assert three_way == {"农用地", "建设用地", "未利用地"}


# ----------------------------------------------------------------------------- 地类流向

def test_land_use_flow_plan_against_baseline(plugin_provider, passing_layers, tmp_path):
    parameters = scheme_parameters(passing_layers, ("UNITS", "LANDUSE", "PROJECTS"))
    out = run("landuseflow", parameters, tmp_path, OUTPUT="flow.csv", CHANGES="changes.gpkg")
    rows = read_rows(out["OUTPUT"])
    flows = {(r["scope_id"] or "", r["from_code"], r["to_code"]): float(r["area_mu"]) for r in rows}
    strip_total = grid.booked_total(4, 1, grid.STRIP_P3)
    strip_main = grid.booked_main(4, 1, grid.STRIP_P3)
    assert flows[("", "0201K", "0101")] == printed(mu(grid.booked_total(4, 2, grid.C(4, 2))))
    assert flows[("DY02", "0101", "0702")] == printed(mu(strip_main))
    assert flows[("DY02", "1203", "0702")] == printed(mu(strip_total - strip_main))
    assert flows[("DY01", "0301", "0810")] == printed(mu(grid.booked_total(1, 2, grid.STRIP_P5)))
    assert all(r["from_code"] != r["to_code"] for r in rows)  # CHANGES_ONLY by default
    changes = read_rows(out["CHANGES"])
    assert {(c["from_code"], c["to_code"]) for c in changes} == {("0201K", "0101"), ("0702", "0101"),
                                                                 ("0101", "0702"), ("0301", "0810")}
    for change in changes:
        assert change["_geometry"].isGeosValid()


def test_land_use_flow_between_two_surveys(plugin_provider, tmp_path):
    """Survey B changes r2c0 (0404 → 0101, KCXS 0.05) and r1c2 (0702 → 0103): flows by hand, whole area."""
    from land_consolidation.core.ingest.layers import SchemeLayers

    keys = sorted(grid.RECORDS)
    records_b = {k: dict(grid.RECORDS[k]) for k in keys}
    records_b[(0, 2)] = grid.dltb_record("0101", grid.A, a(grid.C(0, 2)), 0.05)
    records_b[(2, 1)] = grid.dltb_record("0103", grid.A, a(grid.C(2, 1)), 0.0)
    survey_a = grid.layer("DLTB_2022", [grid.C(*k) for k in keys], [grid.RECORDS[k] for k in keys])
    survey_b = grid.layer("DLTB_2023", [grid.C(*k) for k in keys], [records_b[k] for k in keys])
    parameters = scheme_parameters(SchemeLayers(landuse=survey_a), ("LANDUSE",))
    parameters["LANDUSE_AFTER"] = scheme_parameters(SchemeLayers(landuse=survey_b), ("LANDUSE",))["LANDUSE"]
    out = run("landuseflow", parameters, tmp_path, OUTPUT="flow.csv")
    flows = {(r["from_code"], r["to_code"]): float(r["area_mu"]) for r in read_rows(out["OUTPUT"])
             if r["scope"] == "scheme"}
    total = grid.RECORDS[(0, 2)]["TBMJ"]
    assert flows == pytest.approx({("0404", "0101"): mu(total * 0.95), ("0404", "1203"): mu(total * 0.05),
                                   ("0702", "0103"): mu(grid.RECORDS[(2, 1)]["TBMJ"])}, abs=0.005 + 1e-9)


# ----------------------------------------------------------------------------- 集中连片

def test_contiguous_patches_agree_with_checkunits(plugin_provider, passing_layers, tmp_path):
    parameters = scheme_parameters(passing_layers, ("UNITS", "PBF", "PBF_PLAN"))
    out = run("contiguouspatches", parameters, tmp_path, OUTPUT="patches.gpkg", SUMMARY="summary.csv")
    check = run_check(passing_layers).finding("contiguous_pbf", "")
    assert out["LARGEST_PLAN_MU"] == pytest.approx(check.value, rel=1e-6)
    patches = read_rows(out["OUTPUT"])
    plan = sorted((r for r in patches if r["state"] == "规划"), key=lambda r: -r["area_mu"])
    assert len(plan) == 2 and plan[0]["class_name"] == "百亩方" and plan[0]["units"] == "DY02"
    # DY01 keeps row 0 from x 0.5 to 2.5 and half of r1c0: one patch, 100 m from DY02's.
    assert plan[1]["area_mu"] == pytest.approx(mu(a(grid.R(0.5, 0, 1, 1)) + a(grid.C(1, 0)) + a(grid.R(2, 0, 2.5, 1))
                                                  + a(grid.R(0.5, 1, 1, 2))), rel=1e-6)
    summary = {r["state"]: r for r in read_rows(out["SUMMARY"])}
    assert int(summary["规划"]["count"]) == 2 and int(summary["现状"]["count"]) == 2
    assert int(summary["规划"]["bai"]) == 2


# ----------------------------------------------------------------------------- 三线冲突

def test_control_line_conflicts_by_hand(plugin_provider, failing_layers, tmp_path):
    parameters = scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PROJECTS", "PBF_PLAN", "ECO_REDLINE",
                                                    "UDB_PLAN"))
    out = run("controllineconflicts", parameters, tmp_path, OUTPUT="conflicts.gpkg")
    rows = read_rows(out["OUTPUT"])
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    assert sum(r["area_mu"] for r in by_kind["永久基本农田与生态保护红线重叠"]) == pytest.approx(mu(a(grid.IN_ECO)), rel=1e-6)
    assert sum(r["area_mu"] for r in by_kind["永久基本农田与城镇开发边界重叠"]) == pytest.approx(mu(a(grid.IN_UDB)), rel=1e-6)
    in_red = by_kind["生态保护红线内规划新增建设用地"]
    assert [r["unit_id"] for r in in_red] == ["DY01"] and "DY01-04" in in_red[0]["detail"]
    assert in_red[0]["area_mu"] == pytest.approx(mu(a(grid.P8)), rel=1e-6)
    outside = sum(r["area_mu"] for r in by_kind["城镇开发边界外规划新增建设用地"])
    assert outside == pytest.approx(mu(a(grid.WIDE_P3) + a(grid.WIDE_P5) + a(grid.P8)), rel=1e-6)
    assert all(r["clause"] in ("（三）", "（五）") for r in rows)
    assert out["CONFLICT_MU"] == pytest.approx(sum(r["area_mu"] for r in rows), rel=1e-9)


# ----------------------------------------------------------------------------- 调出调入台账

def test_pbf_ledger_by_hand(plugin_provider, failing_layers, tmp_path):
    parameters = scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PBF", "PBF_PLAN"))
    out = run("pbfadjustment", parameters, tmp_path, OUTPUT="ledger.gpkg", SUMMARY="summary.csv")
    rows = read_rows(out["OUTPUT"])
    adjusted_out = {(r["unit_id"], r["dlbm"]): r for r in rows if r["direction"] == "调出"}
    assert adjusted_out[("DY01", "0101")]["area_mu"] == pytest.approx(mu(a(grid.C(1, 0))), rel=1e-6)
    assert adjusted_out[("DY02", "0101")]["area_mu"] == pytest.approx(mu(a(grid.WIDE_P3)), rel=1e-6)
    assert adjusted_out[("DY02", "0101")]["gddb"] == 6
    adjusted_in = [r for r in rows if r["direction"] == "调入"]
    steep = [r for r in adjusted_in if r["gdpdjb"] == "5"]
    assert len(steep) == 1 and steep[0]["area_mu"] == pytest.approx(mu(a(grid.IN_SLOPE)), rel=1e-6)
    assert out["OUT_MU"] == pytest.approx(mu(a(grid.C(1, 0)) + a(grid.WIDE_P3)), rel=1e-6)
    assert out["IN_GDDB"] == pytest.approx(9.0)
    summary = {r["township"]: r for r in read_rows(out["SUMMARY"])}
    check = run_check(failing_layers)
    for code in (grid.A, grid.B):
        decimals = check.ruleset.rule("pbf_adjustment_share").decimals  # the share is printed as the rule judges it
        assert float(summary[code]["share"]) == printed(check.finding("pbf_adjustment_share", code).value, decimals)
        assert summary[code]["status"] == "fail"


# ----------------------------------------------------------------------------- 潜力调查

def test_potential_survey_finds_each_kind(plugin_provider, tmp_path):
    """A 5 × 5 field of 100 m 0101 cells with, by hand: a 0404 cell (recovery), a 20 m × 20 m
    0702 plot in the middle of the fields (village reclaim, and an enclave), a 0601 cell outside
    the urban boundary (industry), and a 1 亩 耕地 scrap across a 30 m road (fragment)."""
    from land_consolidation.core.ingest.layers import SchemeLayers

    S = 100.0
    cells, records = [], []
    plot = grid.rect(2.4, 2.4, 2.6, 2.6, S)
    for col in range(5):
        for row in range(5):
            geom = grid.cell(col, row, S)
            code = {(0, 0): "0404", (4, 4): "0601"}.get((col, row), "0101")
            if (col, row) == (2, 2):
                geom = geom.difference(plot)
            cells.append(geom)
            records.append(grid.dltb_record(code, grid.A, a(geom), 0.05 if code == "0101" else 0.0))
    cells.append(plot)
    records.append(grid.dltb_record("0702", grid.A, a(plot), 0.0, CZCSXM="203"))
    road = grid.rect(5, 0, 5.3, 5, S)
    scrap = grid.rect(5.3, 0, 5.6, 1.0 / 3.0, S)  # 30 m × 33 m = 1.5 亩
    cells += [road, scrap]
    records += [grid.dltb_record("1003", grid.A, a(road), 0.0), grid.dltb_record("0103", grid.A, a(scrap), 0.0)]
    landuse = grid.layer("DLTB", cells, records)
    udb = grid.layer("CZKFBJ", [grid.rect(0, 4, 1, 5, S)])
    parameters = scheme_parameters(SchemeLayers(landuse=landuse, udb=udb), ("LANDUSE", "UDB"))
    out = run("potentialsurvey", parameters, tmp_path, OUTPUT="potential.gpkg")
    found = {}
    for row in read_rows(out["OUTPUT"]):
        found.setdefault(row["kind"], []).append(row)
    assert [r["dlbm"] for r in found["耕地恢复"]] == ["0404"]
    assert found["村庄建设用地复垦"][0]["area_mu"] == pytest.approx(mu(a(plot)), rel=1e-6)
    assert [r["dlbm"] for r in found["夹心地/插花地"]] == ["0702"]
    assert [r["dlbm"] for r in found["低效工业用地"]] == ["0601"]
    fragments = found["碎片化耕地"]
    assert len(fragments) == 1 and fragments[0]["area_mu"] == pytest.approx(mu(a(scrap)), rel=1e-6)
    assert a(scrap) < 10 * SQUARE_METRES_PER_MU


# ----------------------------------------------------------------------------- progress and cancel

def test_long_algorithms_report_progress_and_stop_on_cancel(plugin_provider, failing_layers, tmp_path):
    class Recorder(QgsProcessingFeedback):
        def __init__(self, cancel_after=None):
            super().__init__()
            self.seen = []
            self.cancel_after = cancel_after
            self.progressChanged.connect(self._record)

        def _record(self, value):
            self.seen.append(value)
            if self.cancel_after is not None and value >= self.cancel_after:
                self.cancel()

    parameters = scheme_parameters(failing_layers)
    parameters["OUTPUT"] = str(tmp_path / "check.csv")
    feedback = Recorder()
    processing.run("landconsolidation:checkunits", dict(parameters), feedback=feedback)
    assert feedback.seen and max(feedback.seen) == 100 and len(set(feedback.seen)) >= 4
    cancelling = Recorder(cancel_after=30)
    result = processing.run("landconsolidation:checkunits", dict(parameters, OUTPUT=str(tmp_path / "c2.csv")),
                            feedback=cancelling)
    assert max(cancelling.seen) < 90  # stopped before the verdicts
    assert "OUTPUT" not in result or not (tmp_path / "c2.csv").exists() or result == {}
