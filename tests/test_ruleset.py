"""Rulesets are data: the built-in Ningbo file loads, a jurisdiction's variant changes verdicts,
and a malformed file is refused with a message naming the file, the rule and the field."""

import copy

import pytest
import yaml

from land_consolidation.core.common.errors import RulesetError
from land_consolidation.core.rules.evaluate import METRIC_FUNCTIONS
from land_consolidation.core.rules.ruleset import DEFAULT_RULESET_FILE, METRICS, load_ruleset

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


def test_every_metric_has_an_implementation():
    assert set(METRICS) == set(METRIC_FUNCTIONS)


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
