"""The one registry of metrics: what a rule's value is and how it is judged.

A metric is declared once, where its function is (``rules/metrics/<family>.py``), with the scopes it
applies at, the parameters a ruleset gives it, the symbolic thresholds it can resolve, the second
limits it checks and the indicator columns it reads. The ruleset's schema (``ruleset.py``) is
built from these declarations, and ``evaluate`` calls the functions. Adding a rule is one metric
function here and one YAML entry; see the README ("Adding a rule").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from ..analysis.indicators import Indicators
    from .evaluate import Finding
    from .ruleset import Rule

NUMBER = (int, float)

# What a metric computes: a rule applied to the indicators, its findings (one per scope).
MetricFunction = Callable[["Rule", "Indicators"], "list[Finding]"]
_F = TypeVar("_F", bound=MetricFunction)


@dataclass(frozen=True)
class Param:
    """A parameter of a metric: its type(s), whether a ruleset must give it, and what it means."""

    types: type | tuple[type, ...]
    required: bool = True
    doc: str = ""
    # What the type alone cannot say (a range, list items): the problem, in Chinese, or None.
    check: Callable[[Any], str | None] | None = None


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "应为非负数"


def list_of(*types: type) -> Callable[[Any], str | None]:
    """Every item of a list is one of ``types`` (numbers as codes are allowed where text is)."""
    def check(items: Any) -> str | None:
        for k, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, types):
                return f"第 {k + 1} 项“{item}”类型不对（应为{describe(types)}）"
        return None

    return check


@dataclass(frozen=True)
class Metric:
    name: str
    function: MetricFunction  # (rule, indicators) -> list of Finding
    scopes: tuple[str, ...]
    params: dict[str, Param] = field(default_factory=dict)  # name -> Param
    threshold_keywords: tuple[str, ...] = ()  # symbolic thresholds the function resolves (e.g. "baseline")
    # The second limits a rule of this metric must give (``limits:`` entries): id -> the symbolic
    # thresholds the function resolves for that limit (most limits take numbers only).
    limits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # per-unit indicator columns it reads (documentation, and checked by a test)


_METRICS: dict[str, Metric] = {}


def metric(name: str, *, scopes: tuple[str, ...], params: dict[str, Param] | None = None,
           threshold_keywords: tuple[str, ...] = (), limits: dict[str, tuple[str, ...]] | None = None,
           columns: tuple[str, ...] = ()) -> Callable[[_F], _F]:
    """Declare the decorated function ``(rule, indicators) -> list[Finding]`` as metric ``name``."""

    def register(function: _F) -> _F:
        if name in _METRICS and _METRICS[name].function is not function:
            raise ValueError(f"metric {name!r} is declared twice")
        _METRICS[name] = Metric(name=name, function=function, scopes=tuple(scopes), params=dict(params or {}),
                                threshold_keywords=tuple(threshold_keywords), limits=dict(limits or {}),
                                columns=tuple(columns))
        return function

    return register


def unregister(name: str) -> None:
    """Remove a metric (tests that declare their own)."""
    _METRICS.pop(name, None)


def metrics() -> dict[str, Metric]:
    """Every declared metric, the built-in families loaded first."""
    from . import metrics as _builtin  # noqa: F401  (importing the package declares its metrics)

    return dict(_METRICS)


def get(name: str) -> Metric | None:
    return metrics().get(name)


def describe(value: type | tuple[type, ...]) -> str:
    """A type's name as ruleset messages show it."""
    names = {int: "整数", float: "数值", bool: "true/false", str: "文字", list: "列表", dict: "键值映射"}
    types = value if isinstance(value, tuple) else (value,)
    return "或".join(dict.fromkeys(names.get(t, t.__name__) for t in types))
