"""A rule added through the registry and a YAML entry alone works in checkunits, the panel and the report.

The rule here is made up for the test: 永久基本农田 as a share of each unit's area (现状), at most
40 %. On the hand-made grid 片区 (``fixtures/grid.py``) the share is worked out by hand:

- DY01 (x 0.5–2.5, rows 0–3): PBF is row 0 (x 0.5–2.5) and half of r1c0 (x 0.5–1) of its 8 cells;
- DY02 (x 3–6): PBF is row 0 (x 3–6) and r1c3, r1c4 of its 12 cells.
"""

import pytest
import yaml

import processing
from fixtures import grid
from fixtures.panel import wait_until_idle
from fixtures.qgis_layers import read_rows, scheme_parameters
from land_consolidation.core.common.i18n import tr
from land_consolidation.core.products.check import run_check
from land_consolidation.core.rules import registry
from land_consolidation.core.rules.evaluate import make_finding, numeric_threshold, per_scope, share
from land_consolidation.core.rules.ruleset import DEFAULT_RULESET_FILE, load_ruleset
from land_consolidation.report.unit_report import build_unit_report

RULE_ID = "unit_pbf_share"
TITLE = "单元内现状永久基本农田占比（测试规则）"
SHARE = {"DY01": (grid.a(grid.R(0.5, 0, 2.5, 1)) + grid.a(grid.R(0.5, 1, 1, 2))) / grid.a(grid.R(0.5, 0, 2.5, 4)) * 100,
         "DY02": (grid.a(grid.R(3, 0, 6, 1)) + grid.a(grid.R(3, 1, 5, 2))) / grid.a(grid.R(3, 0, 6, 4)) * 100}


@pytest.fixture()
def ruleset_file(tmp_path):
    """The metric declared through the registry, and the Ningbo file plus one YAML entry for it."""

    @registry.metric("test_unit_pbf_share", scopes=("unit",), columns=("pbf_before_m2", "area_m2"))
    def unit_pbf_share(rule, ind):
        return per_scope(rule, ind, lambda scope, sid, row, label: make_finding(
            rule, scope, sid, share(row["pbf_before_m2"], row["area_m2"]), numeric_threshold(rule),
            tr("{label}现状永久基本农田占单元面积的比例").format(label=label)))

    data = yaml.safe_load(DEFAULT_RULESET_FILE.read_text(encoding="utf-8"))
    data["rules"].append({"id": RULE_ID, "metric": "test_unit_pbf_share", "clause": "（五）",
                          "title": {"zh": TITLE, "en": "PBF share of each unit (test rule)"},
                          "scope": "unit", "comparison": "<=", "threshold": 40, "unit": "%"})
    path = tmp_path / "ningbo_plus.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield path
    registry.unregister("test_unit_pbf_share")


def _expected_status(unit_id):
    return "pass" if round(SHARE[unit_id], 2) <= 40 else "fail"


def test_hand_answers_straddle_the_threshold():
    assert _expected_status("DY01") == "pass" and _expected_status("DY02") == "fail"


def test_checkunits_reports_the_new_rule(plugin_provider, ruleset_file, tmp_path):
    layers = grid.scheme([], [grid.C(*k) for k in grid.PBF_CELLS])
    parameters = scheme_parameters(layers, ("UNITS", "LANDUSE", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB"))
    parameters.update(RULESET=str(ruleset_file), OUTPUT=str(tmp_path / "check.csv"))
    out = processing.run("landconsolidation:checkunits", parameters)
    rows = {r["scope_id"]: r for r in read_rows(out["OUTPUT"]) if r["rule_id"] == RULE_ID}
    assert set(rows) == {"DY01", "DY02"}
    for unit_id, row in rows.items():
        assert float(row["value"]) == pytest.approx(SHARE[unit_id], abs=0.005)  # printed at 2 decimals
        assert row["status"] == _expected_status(unit_id)


def test_the_panel_shows_the_new_rule(dock, ruleset_file):
    dock.auto_detect()
    dock.rulesetFile.setFilePath(str(ruleset_file))
    assert dock.apply()
    shown = wait_until_idle(dock.controller)
    mine = {f.scope_id: f for f in shown.findings if f.rule_id == RULE_ID}
    assert {k: f.status for k, f in mine.items()} == {k: _expected_status(k) for k in SHARE}
    assert mine["DY02"].value == pytest.approx(SHARE["DY02"], rel=1e-6)
    dock.scopeCombo.setCurrentIndex(0)
    titles = [dock.rulesTree.topLevelItem(i).text(1) for i in range(dock.rulesTree.topLevelItemCount())]
    assert titles.count(TITLE) == 2


def test_the_report_shows_the_new_rule(ruleset_file):
    result = run_check(grid.scheme([], [grid.C(*k) for k in grid.PBF_CELLS]), ruleset=load_ruleset(ruleset_file))
    report = build_unit_report(result, "DY02")
    table = next(t for t in report.tables.values() if any(row[0] == TITLE for row in t.rows))
    row = next(row for row in table.rows if row[0] == TITLE)
    assert row[2].value == pytest.approx(SHARE["DY02"], rel=1e-6) and row[2].decimals == 2 and row[5] == "不符合"
