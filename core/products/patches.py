"""永久基本农田集中连片 (``contiguouspatches``): patches of the baseline and the planned PBF inside the
units (or the whole area), compared (百亩方/千亩方/万亩方). The patches are the analysis's own
(``Indicators.patches``), the ones the rule ``contiguous_pbf`` judges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..analysis.analysis import Analysis
from ..analysis.patches import PatchClass, Patches
from ..common.i18n import translatable
from ..geometry.measure import WorkingFrame, to_mu

BASELINE = translatable("现状")
PLAN = translatable("规划")


@dataclass
class PatchComparison:
    frame: WorkingFrame
    states: dict[str, Patches]  # state name -> Patches (geoms in the metric frame)
    units_of_patch: dict[str, list[str]]  # state -> list of unit-id strings per patch

    def summary(self) -> pd.DataFrame:
        rows = []
        for state, patches in self.states.items():
            figures = patches.summary()
            row = {"state": state, "count": figures["count"], "largest_mu": to_mu(figures["largest_m2"]),
                   "mean_mu": to_mu(figures["mean_m2"]), "total_mu": to_mu(figures["total_m2"])}
            for name in sorted(set(patches.table["class_name"]) - {""}):
                row[name] = int((patches.table["class_name"] == name).sum())
            rows.append(row)
        return pd.DataFrame(rows).fillna(0)


def compare_patches(analysis: Analysis, gap_m: float, classes: Sequence[PatchClass]) -> PatchComparison:
    """Contiguous PBF patches of the baseline and (when a planned PBF was given) of the plan."""
    ind = analysis.indicators
    unit_ids = ind.pieces.table["unit_id"].to_numpy()
    states: dict[str, Patches] = {}
    owners: dict[str, list[str]] = {}
    wanted = [(BASELINE, "pbf")] if "pbf" in analysis.given else []
    if "pbf_plan" in analysis.given:
        wanted.append((PLAN, "pbf_plan"))
    for state, which in wanted:
        patches = ind.patches(which, gap_m, classes)
        ids = unit_ids[ind.patch_mask(which)]
        states[state] = patches
        owners[state] = ["、".join(sorted({analysis.unit_label(str(i)) for i in ids[patches.piece_patch == k]} - {""}))
                         for k in range(len(patches.table))]
    return PatchComparison(frame=analysis.baseline.frame, states=states, units_of_patch=owners)


def patch_geometries(comparison: PatchComparison, state: str) -> np.ndarray:
    """Patch outlines of ``state`` in the overlay CRS."""
    return comparison.frame.from_metric(comparison.states[state].geoms)
