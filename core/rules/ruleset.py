"""Rulesets: policy thresholds as data (``rules/*.yaml``), loaded and validated against a schema.

A malformed file is refused with a message that names the file, the rule and the field. The
engine knows *metrics* (how a value is computed; ``registry``); a rule binds a metric to a
scope, its limits (a comparison, a threshold, a unit and the decimals it is judged at — the
rule's own, and any second limit under ``limits:``) and the clause it comes from, so a
jurisdiction can change thresholds, add a second rule on the same metric, or drop a rule,
without touching code. The schema is ``RULESET_FIELDS`` / ``RULE_FIELDS`` / ``LIMIT_FIELDS``,
completed by each metric's declared scopes, parameters, threshold keywords and limits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn

import yaml

from ..common.errors import RulesetError
from ..common.i18n import tr
from . import registry
from .landclasses import RULES_DIR
from .registry import NUMBER, Metric

DEFAULT_RULESET_FILE = RULES_DIR / "ningbo_2022.yaml"

COMPARISONS = ("<=", "<", ">=", ">", "==")
SCOPES = ("unit", "township", "scheme")


@dataclass(frozen=True)
class Limit:
    """One limit of a rule: the value ``comparison`` threshold, judged at ``decimals`` as printed."""

    id: str
    title_zh: str
    comparison: str
    threshold: float | str  # a number, or a keyword of the metric (e.g. "baseline")
    unit: str
    decimals: int = 2


@dataclass(frozen=True)
class Rule:
    id: str
    metric: str
    clause: str
    title_zh: str
    title_en: str
    scope: str
    comparison: str
    threshold: float | str  # a number, or a keyword of the metric (e.g. "baseline")
    unit: str
    decimals: int = 2
    quote: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # as the YAML gives them (checked against the metric)
    limits: tuple[Limit, ...] = ()  # second limits (Limit), by id

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def primary(self) -> Limit:
        """The rule's own limit (its value against its threshold)."""
        return Limit(id="", title_zh=self.title_zh, comparison=self.comparison, threshold=self.threshold,
                     unit=self.unit, decimals=self.decimals)

    def limit(self, limit_id: str) -> Limit:
        for entry in self.limits:
            if entry.id == limit_id:
                return entry
        raise KeyError(limit_id)


@dataclass(frozen=True)
class Ruleset:
    id: str
    version: str
    title_zh: str
    title_en: str
    source: str
    path: str
    sha256: str
    rules: tuple[Rule, ...]
    project_types: dict[str, tuple[str, ...]]  # task group -> tuple of XMLX
    project_overlap_tolerance_m2: float = 0.01

    @property
    def all_project_types(self) -> tuple[str, ...]:
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

    def rules_of(self, metric: str) -> tuple[Rule, ...]:
        """The rules computed by ``metric`` (a ruleset may bind one metric to several rules)."""
        return tuple(rule for rule in self.rules if rule.metric == metric)


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


# ----------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class FieldSpec:
    """One key of a mapping in the file: its type(s), whether it must be there, and its allowed values."""

    types: tuple[type, ...]
    required: bool = False
    choices: tuple[str, ...] = ()


# Refuses a ruleset: fail(rule label, field name, problem) raises RulesetError.
_Fail = Callable[[str, str, str], NoReturn]


def _spec(types: type | tuple[type, ...], required: bool = False, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(types if isinstance(types, tuple) else (types,), required, choices)


RULESET_FIELDS = {
    "id": _spec((str, int), required=True), "version": _spec((str, int, float)),
    "title": _spec(dict, required=True), "source": _spec(str), "project_types": _spec(dict),
    "data": _spec(dict), "rules": _spec(list, required=True),
}
RULE_FIELDS = {
    "id": _spec(str, required=True), "metric": _spec(str), "clause": _spec(str, required=True),
    "quote": _spec(str), "title": _spec(dict, required=True), "scope": _spec(str, required=True, choices=SCOPES),
    "comparison": _spec(str, required=True, choices=COMPARISONS), "threshold": _spec((int, float, str), required=True),
    "unit": _spec(str, required=True), "decimals": _spec(int), "params": _spec(dict), "limits": _spec(list),
}
LIMIT_FIELDS = {
    "id": _spec(str, required=True), "title": _spec(dict), "comparison": _spec(str, required=True, choices=COMPARISONS),
    "threshold": _spec((int, float, str), required=True), "unit": _spec(str, required=True), "decimals": _spec(int),
}
DATA_FIELDS = {"project_overlap_tolerance_m2": _spec((int, float))}
_TYPE_NAMES = {str: "文字", int: "整数", float: "数值", dict: "键值映射", list: "列表", bool: "true/false"}


def parse_ruleset(data: object, path: str = "<内存>", sha256: str = "") -> Ruleset:
    def fail(rule_id: str, field_name: str, problem: str) -> NoReturn:
        raise RulesetError(tr("规则集文件 {file}：规则 {rule} 的字段 {field} {problem}").format(
            file=path, rule=rule_id or "—", field=field_name, problem=problem))

    if not isinstance(data, dict):
        fail("", "(根)", tr("应为键值映射"))
    _check_fields(data, RULESET_FIELDS, "", "", fail)
    title = data["title"]
    if "zh" not in title:
        fail("", "title", tr("应含 zh 与 en 两种文字"))
    project_types = data.get("project_types") or {}
    if not all(isinstance(v, list) for v in project_types.values()):
        fail("", "project_types", tr("应为“任务: [子项目类型, …]”的映射"))
    if not data["rules"]:
        fail("", "rules", tr("应为非空列表"))

    rules = []
    seen: set[str] = set()
    known = registry.metrics()
    for position, item in enumerate(data["rules"], start=1):
        rule_id = item.get("id") if isinstance(item, dict) else None
        label = str(rule_id) if rule_id else tr("第{n}条").format(n=position)
        if not isinstance(item, dict):
            fail(label, "(规则)", tr("应为键值映射"))
        rules.append(_parse_rule(item, label, seen, known, fail))
    data_section = data.get("data") or {}
    _check_fields(data_section, DATA_FIELDS, "", "data.", fail)
    tolerance = data_section.get("project_overlap_tolerance_m2", 0.01)
    if tolerance < 0:
        fail("", "data.project_overlap_tolerance_m2", tr("应为非负数"))
    return Ruleset(
        id=str(data["id"]), version=str(data.get("version", "")), title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")), source=str(data.get("source", "")), path=path, sha256=sha256,
        rules=tuple(rules), project_types={str(k): tuple(map(str, v)) for k, v in project_types.items()},
        project_overlap_tolerance_m2=float(tolerance),
    )


def _check_fields(item: Mapping[Any, Any], fields: Mapping[str, FieldSpec], label: str, prefix: str,
                  fail: _Fail) -> None:
    """Unknown keys (a typo would silently drop a limit), missing keys, types and allowed values."""
    for key in item:
        if key not in fields:
            fail(label, prefix + str(key), tr("不是规则集的字段（可用：{allowed}）").format(allowed="、".join(fields)))
    for key, spec in fields.items():
        value = item.get(key)
        if value is None or value == "":
            if spec.required:
                fail(label, prefix + key, tr("缺失"))
            continue
        if isinstance(value, bool) or not isinstance(value, spec.types):
            fail(label, prefix + key, tr("类型不对：“{value}”（应为{types}）").format(
                value=value, types="或".join(_TYPE_NAMES.get(t, t.__name__) for t in spec.types)))
        if spec.choices and str(value) not in spec.choices:
            fail(label, prefix + key, tr("“{value}”无效（可用：{allowed}）").format(value=value,
                                                                              allowed=" ".join(spec.choices)))


def _decimals(item: Mapping[Any, Any], label: str, field_name: str, fail: _Fail) -> int:
    decimals = item.get("decimals", 4 if str(item["unit"]) == "倍" else 2)
    if not 0 <= decimals <= 8:
        fail(label, field_name, tr("应为 0–8 的整数"))
    return decimals


def _threshold(value: object, keywords: tuple[str, ...], label: str, field_name: str, fail: _Fail) -> float | str:
    if isinstance(value, NUMBER):
        if not math.isfinite(value):
            fail(label, field_name, tr("“{value}”无效（应为有限的数值）").format(value=value))
        return float(value)
    if value not in keywords:
        allowed = tr("数值") + "".join("、" + k for k in keywords)
        fail(label, field_name, tr("“{value}”无效（应为{allowed}）").format(value=value, allowed=allowed))
    return str(value)


def _parse_rule(item: Mapping[Any, Any], label: str, seen: set[str], known: Mapping[str, Metric],
                fail: _Fail) -> Rule:
    _check_fields(item, RULE_FIELDS, label, "", fail)
    rule_id = str(item["id"])
    if rule_id in seen:
        fail(label, "id", tr("与前面的规则重复"))
    seen.add(rule_id)
    name = str(item.get("metric", rule_id))
    spec = known.get(name)
    if spec is None:
        fail(label, "metric", tr("“{metric}”不是已知的计算指标（可用：{known}）").format(metric=name, known="、".join(known)))
    title = item["title"]
    if not title.get("zh"):
        fail(label, "title", tr("应含 zh（及 en）标题"))
    scope = str(item["scope"])
    if scope not in spec.scopes:
        fail(label, "scope", tr("“{scope}”不适用于指标 {metric}（可用：{allowed}）").format(
            scope=scope, metric=name, allowed="、".join(spec.scopes)))
    threshold = _threshold(item["threshold"], spec.threshold_keywords, label, "threshold", fail)
    decimals = _decimals(item, label, "decimals", fail)
    params = item.get("params") or {}
    for key, value in params.items():
        expected = spec.params.get(key)
        if expected is None:
            fail(label, "params." + str(key), tr("不是指标 {metric} 的参数（可用：{allowed}）").format(
                metric=name, allowed="、".join(spec.params) or tr("无")))
        if (isinstance(value, bool) and expected.types is not bool) or not isinstance(value, expected.types):
            fail(label, "params." + str(key), tr("类型不对：“{value}”（应为{types}）").format(
                value=value, types=registry.describe(expected.types)))
        problem = expected.check(value) if expected.check is not None else None
        if problem:
            fail(label, "params." + str(key), tr(problem))
    for key, expected in spec.params.items():
        if expected.required and key not in params:
            fail(label, "params." + key, tr("缺失"))
    limits = []
    for k, entry in enumerate(item.get("limits") or []):
        where = f"limits[{k}]"
        if not isinstance(entry, dict):
            fail(label, where, tr("应为键值映射"))
        _check_fields(entry, LIMIT_FIELDS, label, where + ".", fail)
        if entry["id"] not in spec.limits:
            fail(label, where + ".id", tr("“{id}”不是指标 {metric} 的限值（可用：{allowed}）").format(
                id=entry["id"], metric=name, allowed="、".join(spec.limits) or tr("无")))
        limit_title = entry.get("title") or {}
        limits.append(Limit(id=str(entry["id"]), title_zh=str(limit_title.get("zh", "")),
                            comparison=str(entry["comparison"]),
                            threshold=_threshold(entry["threshold"], spec.limits[entry["id"]], label,
                                                 where + ".threshold", fail),
                            unit=str(entry["unit"]), decimals=_decimals(entry, label, where + ".decimals", fail)))
    given = [entry.id for entry in limits]
    for limit_id in spec.limits:
        if limit_id not in given:
            fail(label, "limits", tr("缺少限值 {id}").format(id=limit_id))
    if len(set(given)) != len(given):
        fail(label, "limits", tr("限值重复"))
    return Rule(id=rule_id, metric=name, clause=str(item["clause"]), title_zh=str(title["zh"]),
                title_en=str(title.get("en", "")), scope=scope, comparison=str(item["comparison"]),
                threshold=threshold, unit=str(item["unit"]), decimals=decimals, quote=str(item.get("quote", "")),
                params=dict(params), limits=tuple(limits))
