"""Rulesets are data: the built-in Ningbo file loads, a jurisdiction's variant changes verdicts,
and a malformed file is refused with a message naming the file, the rule and the field."""

import copy

import pytest
import yaml

from land_consolidation.core.analysis.indicators import UNIT_COLUMNS
from land_consolidation.core.common.errors import RulesetError
from land_consolidation.core.rules import registry
from land_consolidation.core.rules.ruleset import DEFAULT_RULESET_FILE, load_ruleset

RULE_IDS = ("farmland_adjustment_share", "pbf_adjustment_share", "farmland_net_gain", "pbf_net_gain",
            "udb_expansion_factor", "eco_redline_construction", "pbf_control_line_overlap", "contiguous_pbf",
            "construction_land_not_increased", "scattered_parcels", "eco_industry_share", "pbf_quality_not_lower")


def _raw():
    return yaml.safe_load(DEFAULT_RULESET_FILE.read_text(encoding="utf-8"))


def _write(tmp_path, data, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_builtin_ruleset_has_every_rule_with_its_clause():
    ruleset = load_ruleset()
    assert tuple(r.id for r in ruleset.rules) == RULE_IDS
    for rule in ruleset.rules:
        assert rule.clause.startswith("（") and rule.title_zh and rule.title_en and rule.quote
    assert ruleset.rule("farmland_adjustment_share").threshold == 3
    assert ruleset.rule("contiguous_pbf").param("gap_tolerance_m") > 0
    assert len(ruleset.sha256) == 64
    assert "零星用地" in ruleset.project_types["城镇低效用地再开发"]
    assert len(ruleset.project_types) == 6  # 5+X


def test_every_rule_has_a_declared_metric_reading_known_columns():
    metrics = registry.metrics()
    for rule in load_ruleset().rules:
        metric = metrics[rule.metric]
        assert rule.scope in metric.scopes and callable(metric.function)
        assert set(metric.columns) <= set(UNIT_COLUMNS), rule.id
        assert {limit.id for limit in rule.limits} == set(metric.limits), rule.id


def test_second_limits_are_data_with_their_comparison_and_decimals():
    ruleset = load_ruleset()
    total = ruleset.rule("scattered_parcels").limit("total_share")
    assert (total.comparison, total.threshold, total.unit, total.decimals) == ("<=", 10.0, "%", 2)
    area = ruleset.rule("udb_expansion_factor").limit("boundary_area")
    assert (area.comparison, area.threshold, area.decimals) == ("<=", "baseline", 2)
    assert ruleset.rule("pbf_quality_not_lower").limit("steep_area").comparison == "=="


def test_a_variant_changes_the_threshold(tmp_path):
    data = _raw()
    data["id"] = "national-5"
    for rule in data["rules"]:
        if rule["id"] in ("farmland_adjustment_share", "pbf_adjustment_share"):
            rule["threshold"] = 5
    ruleset = load_ruleset(_write(tmp_path, data))
    assert ruleset.id == "national-5"
    assert ruleset.rule("pbf_adjustment_share").threshold == 5


@pytest.mark.parametrize("mutate, rule, field", [
    (lambda d: d["rules"][0].pop("clause"), "farmland_adjustment_share", "clause"),
    (lambda d: d["rules"][1].update(threshold="三"), "pbf_adjustment_share", "threshold"),
    (lambda d: d["rules"][2].update(comparison="at least"), "farmland_net_gain", "comparison"),
    (lambda d: d["rules"][0].update(scope="unit"), "farmland_adjustment_share", "scope"),
    (lambda d: d["rules"][3].update(metric="no_such_metric"), "pbf_net_gain", "metric"),
    (lambda d: d["rules"][7]["params"].pop("gap_tolerance_m"), "contiguous_pbf", "params.gap_tolerance_m"),
    (lambda d: d["rules"][7]["params"].update(gap_tolerance_m="十米"), "contiguous_pbf", "params.gap_tolerance_m"),
    (lambda d: d["rules"][9]["params"].update(colour="red"), "scattered_parcels", "params.colour"),
    (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "farmland_adjustment_share", "id"),
    (lambda d: d["rules"][4].update(threshold="adjusted_out"), "udb_expansion_factor", "threshold"),
    (lambda d: d["rules"][0].update(thresold=4), "farmland_adjustment_share", "thresold"),
    (lambda d: d["rules"][9].pop("limits"), "scattered_parcels", "limits"),
    (lambda d: d["rules"][9]["limits"][0].update(comparison="≤"), "scattered_parcels", "limits[0].comparison"),
    (lambda d: d["rules"][9]["limits"][0].update(id="share"), "scattered_parcels", "limits[0].id"),
    (lambda d: d["rules"][9]["limits"][0].update(decimals=12), "scattered_parcels", "limits[0].decimals"),
    (lambda d: d["rules"][4]["limits"][0].update(threshold="adjusted_out"), "udb_expansion_factor",
     "limits[0].threshold"),
    (lambda d: d["rules"][0].update(decimals="two"), "farmland_adjustment_share", "decimals"),
    (lambda d: d["rules"][0].update(threshold=float("nan")), "farmland_adjustment_share", "threshold"),
    (lambda d: d["rules"][7]["params"].update(gap_tolerance_m=-5), "contiguous_pbf", "params.gap_tolerance_m"),
    (lambda d: d["rules"][7]["params"]["patch_classes"][0].update(colour="red"), "contiguous_pbf",
     "params.patch_classes"),
    (lambda d: d["rules"][11]["params"].update(forbidden_slope_classes=[["5"]]), "pbf_quality_not_lower",
     "params.forbidden_slope_classes"),
    # a keyword is a threshold only where the metric resolves it: the rule's adjusted_out is not the limit's
    (lambda d: d["rules"][11]["limits"][0].update(threshold="adjusted_out"), "pbf_quality_not_lower",
     "limits[0].threshold"),
])
def test_malformed_ruleset_names_file_rule_and_field(tmp_path, mutate, rule, field):
    data = _raw()
    mutate(data)
    path = _write(tmp_path, data, "坏规则.yaml")
    with pytest.raises(RulesetError) as error:
        load_ruleset(path)
    message = str(error.value)
    assert str(path) in message and f"规则 {rule} " in message and f"字段 {field} " in message


def test_unreadable_or_invalid_yaml_is_refused(tmp_path):
    with pytest.raises(RulesetError, match="无法读取"):
        load_ruleset(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(RulesetError, match="YAML"):
        load_ruleset(bad)


def test_two_rules_on_one_metric_each_use_their_own_parameters():
    """Two urban-boundary rules with different 城镇村属性码: each judges its own 现状城镇建设用地
    (the hand-made 片区: CZCSXM 202 on B's row 3, 203/203A elsewhere)."""
    from fixtures import grid
    from land_consolidation.core.products.check import run_check
    from land_consolidation.core.rules.ruleset import parse_ruleset

    data = _raw()
    second = copy.deepcopy(next(r for r in data["rules"] if r["id"] == "udb_expansion_factor"))
    second.update(id="udb_expansion_factor_villages", metric="udb_expansion_factor")
    second["params"]["urban_czcsxm"] = ["203", "203A"]
    data["rules"].append(second)
    result = run_check(grid.scheme([], [grid.C(*k) for k in grid.PBF_CELLS]), ruleset=parse_ruleset(data))
    towns = sum(grid.RECORDS[(c, 3)]["TBDLMJ"] for c in (3, 4, 5))
    villages = grid.RECORDS[(2, 1)]["TBDLMJ"] + grid.RECORDS[(3, 2)]["TBDLMJ"]
    udb = grid.a(grid.UDB[0])
    assert result.finding("udb_expansion_factor").value == pytest.approx(udb / towns, rel=1e-6)
    assert result.finding("udb_expansion_factor_villages").value == pytest.approx(udb / villages, rel=1e-6)
