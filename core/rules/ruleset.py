"""Rulesets: policy thresholds as data (``rules/*.yaml``), loaded and validated here.

A malformed file is refused with a message that names the file, the rule and the
field. The engine knows *metrics* (how a value is computed); a rule binds a
metric to a scope, a comparison, a threshold and the clause it comes from, so a
jurisdiction can change thresholds, add a second rule on the same metric, or
drop a rule, without touching code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..common.errors import RulesetError
from ..common.i18n import tr
from .landclasses import RULES_DIR

DEFAULT_RULESET_FILE = RULES_DIR / "ningbo_2022.yaml"

COMPARISONS = ("<=", "<", ">=", ">", "==")
SCOPES = ("unit", "township", "scheme")


@dataclass(frozen=True)
class MetricSpec:
    """What a metric accepts: scopes, symbolic thresholds and typed parameters."""

    scopes: tuple
    threshold_keywords: tuple = ()
    params: dict = field(default_factory=dict)  # name -> (type or tuple of types)


_NUMBER = (int, float)

METRICS = {
    "farmland_adjustment_share": MetricSpec(scopes=("township",)),
    "pbf_adjustment_share": MetricSpec(scopes=("township",)),
    "farmland_net_gain": MetricSpec(scopes=("scheme", "unit"), params={"per_unit_rows": bool}),
    "pbf_net_gain": MetricSpec(scopes=("scheme", "unit")),
    "udb_expansion_factor": MetricSpec(scopes=("scheme",), threshold_keywords=("baseline",),
                                       params={"urban_czcsxm": list}),
    "eco_redline_construction": MetricSpec(scopes=("unit", "scheme")),
    "pbf_control_line_overlap": MetricSpec(scopes=("scheme", "unit")),
    "contiguous_pbf": MetricSpec(scopes=("scheme", "unit"),
                                 params={"gap_tolerance_m": _NUMBER, "patch_classes": list}),
    "construction_land_not_increased": MetricSpec(scopes=("scheme", "unit")),
    "scattered_parcels": MetricSpec(scopes=("unit",), params={
        "project_type": str, "redevelopment_type": str, "max_total_share_percent": _NUMBER}),
    "eco_industry_share": MetricSpec(scopes=("unit",), params={"industry_type": str, "restoration_type": str}),
    "pbf_quality_not_lower": MetricSpec(scopes=("scheme",), threshold_keywords=("adjusted_out",),
                                        params={"forbidden_slope_classes": list}),
}

_REQUIRED_PARAMS = {
    "contiguous_pbf": ("gap_tolerance_m", "patch_classes"),
    "udb_expansion_factor": ("urban_czcsxm",),
    "scattered_parcels": ("project_type", "redevelopment_type", "max_total_share_percent"),
    "eco_industry_share": ("industry_type", "restoration_type"),
    "pbf_quality_not_lower": ("forbidden_slope_classes",),
}


@dataclass(frozen=True)
class Rule:
    id: str
    metric: str
    clause: str
    title_zh: str
    title_en: str
    scope: str
    comparison: str
    threshold: object  # a number, or a keyword of the metric (e.g. "baseline")
    unit: str
    decimals: int = 2
    quote: str = ""
    params: dict = field(default_factory=dict)

    def param(self, name, default=None):
        return self.params.get(name, default)


@dataclass(frozen=True)
class Ruleset:
    id: str
    version: str
    title_zh: str
    title_en: str
    source: str
    path: str
    sha256: str
    rules: tuple
    project_types: dict  # task group -> tuple of XMLX
    project_overlap_tolerance_m2: float = 0.01

    @property
    def all_project_types(self) -> tuple:
        return tuple(t for types in self.project_types.values() for t in types)

    def task_of(self, project_type: str) -> str:
        for task, types in self.project_types.items():
            if project_type in types:
                return task
        return ""

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def load_ruleset(path: str | Path | None = None) -> Ruleset:
    """Load and validate a ruleset file (the built-in Ningbo 2022 one when ``path`` is empty)."""
    path = Path(path) if path else DEFAULT_RULESET_FILE
    try:
        raw_bytes = path.read_bytes()
    except OSError as error:
        raise RulesetError(tr("无法读取规则集文件 {file}：{error}").format(file=path, error=error)) from error
    try:
        data = yaml.safe_load(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise RulesetError(tr("规则集文件 {file} 不是有效的 UTF-8 YAML：{error}").format(file=path, error=error)) from error
    return parse_ruleset(data, str(path), hashlib.sha256(raw_bytes).hexdigest())


def parse_ruleset(data, path: str = "<内存>", sha256: str = "") -> Ruleset:
    def fail(rule_id: str, field_name: str, problem: str):
        raise RulesetError(tr("规则集文件 {file}：规则 {rule} 的字段 {field} {problem}").format(
            file=path, rule=rule_id or "—", field=field_name, problem=problem))

    if not isinstance(data, dict):
        fail("", "(根)", tr("应为键值映射"))
    for key in ("id", "title", "rules"):
        if key not in data:
            fail("", key, tr("缺失"))
    title = data["title"]
    if not isinstance(title, dict) or "zh" not in title:
        fail("", "title", tr("应含 zh 与 en 两种文字"))
    project_types = data.get("project_types") or {}
    if not isinstance(project_types, dict) or not all(isinstance(v, list) for v in project_types.values()):
        fail("", "project_types", tr("应为“任务: [子项目类型, …]”的映射"))
    if not isinstance(data["rules"], list) or not data["rules"]:
        fail("", "rules", tr("应为非空列表"))

    rules = []
    seen = set()
    for position, item in enumerate(data["rules"], start=1):
        rule_id = item.get("id") if isinstance(item, dict) else None
        label = str(rule_id) if rule_id else tr("第{n}条").format(n=position)
        if not isinstance(item, dict):
            fail(label, "(规则)", tr("应为键值映射"))
        rules.append(_parse_rule(item, label, seen, fail))
    data_section = data.get("data") or {}
    tolerance = data_section.get("project_overlap_tolerance_m2", 0.01)
    if not isinstance(tolerance, _NUMBER) or tolerance < 0:
        fail("", "data.project_overlap_tolerance_m2", tr("应为非负数"))
    return Ruleset(
        id=str(data["id"]), version=str(data.get("version", "")), title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")), source=str(data.get("source", "")), path=path, sha256=sha256,
        rules=tuple(rules), project_types={str(k): tuple(map(str, v)) for k, v in project_types.items()},
        project_overlap_tolerance_m2=float(tolerance),
    )


def _parse_rule(item: dict, label: str, seen: set, fail) -> Rule:
    for key in ("id", "clause", "title", "scope", "comparison", "threshold", "unit"):
        if key not in item or item[key] is None or item[key] == "":
            fail(label, key, tr("缺失"))
    rule_id = str(item["id"])
    if rule_id in seen:
        fail(label, "id", tr("与前面的规则重复"))
    seen.add(rule_id)
    metric = str(item.get("metric", rule_id))
    spec = METRICS.get(metric)
    if spec is None:
        fail(label, "metric", tr("“{metric}”不是已知的计算指标（可用：{known}）").format(
            metric=metric, known="、".join(METRICS)))
    title = item["title"]
    if not isinstance(title, dict) or not title.get("zh"):
        fail(label, "title", tr("应含 zh（及 en）标题"))
    scope = str(item["scope"])
    if scope not in spec.scopes:
        fail(label, "scope", tr("“{scope}”不适用于指标 {metric}（可用：{allowed}）").format(
            scope=scope, metric=metric, allowed="、".join(spec.scopes)))
    comparison = str(item["comparison"])
    if comparison not in COMPARISONS:
        fail(label, "comparison", tr("“{value}”不是比较符（可用：{allowed}）").format(
            value=comparison, allowed=" ".join(COMPARISONS)))
    threshold = item["threshold"]
    if isinstance(threshold, bool) or not (isinstance(threshold, _NUMBER) or threshold in spec.threshold_keywords):
        allowed = tr("数值") + "".join("、" + k for k in spec.threshold_keywords)
        fail(label, "threshold", tr("“{value}”无效（应为{allowed}）").format(value=threshold, allowed=allowed))
    decimals = item.get("decimals", 4 if str(item["unit"]) == "倍" else 2)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 8:
        fail(label, "decimals", tr("应为 0–8 的整数"))
    params = item.get("params") or {}
    if not isinstance(params, dict):
        fail(label, "params", tr("应为键值映射"))
    for name, value in params.items():
        expected = spec.params.get(name)
        if expected is None:
            fail(label, "params." + str(name), tr("不是指标 {metric} 的参数（可用：{allowed}）").format(
                metric=metric, allowed="、".join(spec.params) or tr("无")))
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            fail(label, "params." + str(name), tr("类型不对：“{value}”").format(value=value))
    for name in _REQUIRED_PARAMS.get(metric, ()):
        if name not in params:
            fail(label, "params." + name, tr("缺失"))
    if metric == "contiguous_pbf":
        _check_patch_classes(params["patch_classes"], label, fail)
    return Rule(id=rule_id, metric=metric, clause=str(item["clause"]), title_zh=str(title["zh"]),
                title_en=str(title.get("en", "")), scope=scope, comparison=comparison,
                threshold=float(threshold) if isinstance(threshold, _NUMBER) else str(threshold),
                unit=str(item["unit"]), decimals=decimals, quote=str(item.get("quote", "")), params=dict(params))


def _check_patch_classes(classes, label, fail):
    for k, entry in enumerate(classes):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("min_mu"), _NUMBER) or isinstance(entry.get("min_mu"), bool):
            fail(label, f"params.patch_classes[{k}]", tr("应为 {name: 名称, min_mu: 亩数}"))
