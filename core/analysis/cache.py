"""What the engine remembers between computations, owned in one place.

Each memo is keyed by the objects it depends on (a plan layer's index): a computation with the
same index finds it valid, one with a new index starts afresh. The live engine reuses an unchanged
layer's index from one edit to the next, so its memos carry over without being swapped by hand;
where a changed layer leaves some entries valid (townships an edit did not touch), it says so
with ``carry_over``. A one-off analysis uses a fresh ``AnalysisCache``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, TypeVar

if TYPE_CHECKING:
    import pandas as pd

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass
class Memo(Generic[_K, _V]):
    """Values valid while the objects they were computed from stay the same objects."""

    depends_on: tuple[object, ...] = ()
    values: dict[_K, _V] = field(default_factory=dict)

    def valid_for(self, *dependencies: object) -> dict[_K, _V]:
        """The values, emptied first if any dependency is not the one they were computed from."""
        if len(dependencies) != len(self.depends_on) or any(
                a is not b for a, b in zip(dependencies, self.depends_on)):
            self.depends_on, self.values = tuple(dependencies), {}
        return self.values

    def carry_over(self, keep: Callable[[_K], bool], *dependencies: object) -> None:
        """New dependencies, keeping the entries ``keep(key)`` says they leave valid."""
        self.values = {key: value for key, value in self.values.items() if keep(key)}
        self.depends_on = tuple(dependencies)


@dataclass
class AnalysisCache:
    # Whole-township (PBF, PBF − planned PBF) areas by township code; depend on the planned PBF.
    township_pbf: Memo[str, tuple[float, float]] = field(default_factory=Memo)
    # Unit id -> (unit outline WKB, its 子项目 area rows); depend on the 子项目 (and each unit's outline).
    project_areas: Memo[str, tuple[bytes, pd.DataFrame]] = field(default_factory=Memo)
    # Unit id -> (outline WKB, each 子项目 type's land there); depend on the 子项目 as well.
    type_areas: Memo[str, tuple[bytes, pd.DataFrame]] = field(default_factory=Memo)
    # 城镇开发边界 figures (whole layers); depend on the planned boundary and the ruleset.
    udb: Memo[str, object] = field(default_factory=Memo)  # the entries of indicators.UdbFigures
