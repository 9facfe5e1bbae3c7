"""建设用地总量不增加 (clause （七）)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...analysis.indicators import Indicators
from ...common.i18n import tr
from ...common.numbers import change_text
from ...geometry.measure import to_mu
from ..evaluate import (
    FAIL,
    Finding,
    conflicts_of,
    fmt,
    make_finding,
    numeric_threshold,
    per_scope,
)
from ..registry import metric
from ..ruleset import Rule

if TYPE_CHECKING:
    import pandas as pd


@metric("construction_land_not_increased", scopes=("scheme", "unit"),
        columns=("construction_released_m2", "construction_new_m2"))
def construction_land_not_increased(rule: Rule, ind: Indicators) -> list[Finding]:
    t = ind.pieces.table
    classes = ind.baseline.classes

    def one(scope: str, sid: str, row: pd.Series, label: str) -> Finding:
        released, new = row["construction_released_m2"], row["construction_new_m2"]
        value = to_mu(released - new)
        detail = tr("{label}建设用地减少（复垦等）{released} 亩、新增 {new} 亩，{change}").format(
            label=label, released=fmt(to_mu(released)), new=fmt(to_mu(new)),
            change=change_text(new - released, decimals=rule.decimals))
        finding = make_finding(rule, scope, sid, value, numeric_threshold(rule), detail)
        if finding.status == FAIL:
            new_cons = (~np.array([classes.is_construction(c) for c in t["code_before"]], dtype=bool)
                        & np.array([classes.is_construction(c) for c in t["code_after"]], dtype=bool))
            if scope != "scheme":
                new_cons &= t["unit_id"].to_numpy() == sid
            finding.conflicts = conflicts_of(ind, rule, new_cons, tr("新增建设用地"), finding.message)
        return finding

    return per_scope(rule, ind, one)
