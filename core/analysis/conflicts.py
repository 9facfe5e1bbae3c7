"""三线冲突: the one definition of each conflict among the control lines and planned construction.

Each kind is a mask over the pieces.

- Control lines overlapping each other (clause （三））: planned 永久基本农田 with 生态保护红线 and
  城镇开发边界 (all three, or two of them), and 红线 with 城镇开发边界 outside planned PBF. These kinds
  partition the land: where the red line and the urban boundary overlap each other, planned PBF
  there is one conflict of all three lines, not one with each, so the areas add up to the rule
  value of ``pbf_control_line_overlap``.
- Planned new construction land (a 子项目 turning land that is not construction land today into
  construction land) inside 生态保护红线 (clause （三）) and outside the planned 城镇开发边界 (（五）).
  Two requirements (clauses （三） and （五）): land that breaks both is a conflict of each.

The rule ``pbf_control_line_overlap``, the CONFLICTS layer of ``checkunits``, the
``controllineconflicts`` table and the report all take their land from these masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..common.i18n import translatable
from ..rules.landclasses import LandClasses, class_flags


@dataclass(frozen=True)
class PieceFacts:
    """The per-piece booleans the kinds are made of (planned state of PBF and UDB)."""

    pbf: np.ndarray
    eco: np.ndarray
    udb: np.ndarray
    new_construction: np.ndarray
    has_eco: bool
    has_udb: bool

    @classmethod
    def of(cls, table: pd.DataFrame, classes: LandClasses, has_eco: bool, has_udb: bool) -> PieceFacts:
        before = class_flags(table["code_before"].to_numpy(), classes.is_construction)
        after = class_flags(table["code_after"].to_numpy(), classes.is_construction)
        return cls(pbf=table["in_pbf_plan"].to_numpy(dtype=bool), eco=table["in_eco"].to_numpy(dtype=bool),
                   udb=table["in_udb_plan"].to_numpy(dtype=bool),
                   new_construction=~before & after & (table["project"].to_numpy() >= 0),
                   has_eco=has_eco, has_udb=has_udb)


@dataclass(frozen=True)
class ConflictKind:
    key: str
    label: str  # translatable; tr() where shown
    clause: str
    mask: Callable[[PieceFacts], np.ndarray]
    zone_detail: bool = False  # the detail names the 城镇开发边界 zone
    project_detail: bool = False  # the detail names the 子项目 and its planned class


KINDS = (
    ConflictKind("pbf_eco_udb", translatable("永久基本农田与生态保护红线、城镇开发边界重叠"), "（三）",
                 lambda f: f.pbf & f.eco & f.udb, zone_detail=True),
    ConflictKind("pbf_eco", translatable("永久基本农田与生态保护红线重叠"), "（三）",
                 lambda f: f.pbf & f.eco & ~f.udb),
    ConflictKind("pbf_udb", translatable("永久基本农田与城镇开发边界重叠"), "（三）",
                 lambda f: f.pbf & ~f.eco & f.udb, zone_detail=True),
    ConflictKind("eco_udb", translatable("生态保护红线与城镇开发边界重叠"), "（三）",
                 lambda f: ~f.pbf & f.eco & f.udb, zone_detail=True),
    ConflictKind("eco_construction", translatable("生态保护红线内规划新增建设用地"), "（三）",
                 lambda f: f.new_construction & f.eco, project_detail=True),
    ConflictKind("outside_udb_construction", translatable("城镇开发边界外规划新增建设用地"), "（五）",
                 lambda f: f.new_construction & ~f.udb & f.has_udb, project_detail=True),
)
KIND_BY_KEY = {kind.key: kind for kind in KINDS}
# What the rule pbf_control_line_overlap counts: planned PBF in the red line or the urban boundary.
PBF_OVERLAP_KINDS = ("pbf_eco_udb", "pbf_eco", "pbf_udb")
