"""The one registry of metrics: what a rule's value is and how it is judged.

A metric is declared once, where its function is (``rules/metrics/<family>.py``), with the scopes it
applies at, the parameters a ruleset gives it, the symbolic thresholds it can resolve, the second
limits it checks and the indicator columns it reads. The ruleset's schema (``ruleset.py``) is
built from these declarations, and ``evaluate`` calls the functions. Adding a rule is one metric
function here and one YAML entry; see the README ("Adding a rule").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

NUMBER = (int, float)


@dataclass(frozen=True)
class Param:
    """A parameter of a metric: its type(s), whether a ruleset must give it, and what it means."""

    types: type | tuple
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Metric:
    name: str
    function: Callable[..., list]  # (rule, indicators) -> list of Finding
    scopes: tuple
    params: dict = field(default_factory=dict)  # name -> Param
    threshold_keywords: tuple = ()  # symbolic thresholds the function resolves (e.g. "baseline")
    limits: tuple = ()  # ids of the second limits a rule of this metric must give (``limits:`` entries)
    columns: tuple = ()  # per-unit indicator columns it reads (documentation, and checked by a test)


_METRICS: dict[str, Metric] = {}


def metric(name: str, *, scopes: tuple, params: dict | None = None, threshold_keywords: tuple = (),
           limits: tuple = (), columns: tuple = ()) -> Callable:
    """Declare the decorated function ``(rule, indicators) -> list[Finding]`` as metric ``name``."""

    def register(function: Callable[..., list]) -> Callable[..., list]:
        if name in _METRICS and _METRICS[name].function is not function:
            raise ValueError(f"metric {name!r} is declared twice")
        _METRICS[name] = Metric(name=name, function=function, scopes=tuple(scopes), params=dict(params or {}),
                                threshold_keywords=tuple(threshold_keywords), limits=tuple(limits),
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


def describe(value: Any) -> str:
    """A type's name as ruleset messages show it."""
    names = {int: "整数", float: "数值", bool: "true/false", str: "文字", list: "列表", dict: "键值映射"}
    types = value if isinstance(value, tuple) else (value,)
    return "或".join(dict.fromkeys(names.get(t, t.__name__) for t in types))
