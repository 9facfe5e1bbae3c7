"""三线冲突表 (``controllineconflicts``): every conflict of the analysis, one polygon per kind, unit and
detail, with its area. The kinds and their land are ``analysis.conflicts``'s: overlapping control lines
are one kind per combination, so no land counts twice among them and they add up to the rule value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..analysis.analysis import Analysis
from ..analysis.conflicts import KINDS, PieceFacts
from ..analysis.pieces import dissolve_pieces
from ..common.i18n import tr
from ..geometry.measure import WorkingFrame, to_mu

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

COLUMNS = ["kind", "unit_id", "area_m2", "area_mu", "clause", "detail"]


@dataclass
class ConflictTable:
    frame: WorkingFrame
    table: pd.DataFrame  # kind, unit_id, area_m2, area_mu, clause, detail
    geoms: np.ndarray  # overlay CRS
    total_m2: float  # the rows' areas summed (land breaking two rules counts in each)


def control_line_conflicts(analysis: Analysis) -> ConflictTable:
    """Every conflict among planned PBF, 生态保护红线, 城镇开发边界 and planned new construction."""
    t = analysis.pieces.table
    plan = analysis.plan
    facts = PieceFacts.of(t, analysis.baseline.classes, has_eco=analysis.baseline.eco is not None,
                          has_udb=plan.udb_plan is not None)
    zones = plan.udb_plan_labels if plan.udb_plan_labels is not None else np.empty(0, dtype=object)
    udb_part = t["udb_plan_part"].to_numpy()
    zone_of_piece = np.where(udb_part >= 0, zones[np.maximum(udb_part, 0)] if len(zones) else "", "")
    project = t["project"].to_numpy()
    projects = plan.project_table
    if len(projects):
        q = np.maximum(project, 0)
        labels = np.array([f"{i} → {c}" for i, c in zip(projects["id"].to_numpy()[q], projects["code_after"].to_numpy()[q])],
                          dtype=object)
        project_of_piece = np.where(project >= 0, labels, "")
    else:
        project_of_piece = np.full(len(t), "", dtype=object)
    unit_ids = np.array([analysis.unit_label(u) for u in t["unit_id"].to_numpy()], dtype=object)

    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    for kind in KINDS:
        mask = kind.mask(facts)
        if not mask.any():
            continue
        detail = zone_of_piece if kind.zone_detail else project_of_piece if kind.project_detail \
            else np.full(len(t), "", dtype=object)
        groups = dissolve_pieces(analysis.pieces, mask, {"unit_id": unit_ids, "detail": detail})
        for (unit_id, text), geom, area in zip(groups.keys, groups.geoms, groups.areas_m2):
            rows.append({"kind": tr(kind.label), "unit_id": unit_id, "area_m2": float(area),
                         "area_mu": to_mu(float(area)), "clause": kind.clause, "detail": text})
            geoms.append(geom)
    return ConflictTable(frame=analysis.baseline.frame, table=pd.DataFrame(rows, columns=COLUMNS),
                         geoms=np.asarray(geoms, dtype=object), total_m2=float(sum(r["area_m2"] for r in rows)))
