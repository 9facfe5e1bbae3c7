"""The plan: what the planner draws (units, 子项目, planned 永久基本农田 and 城镇开发边界), validated
and brought into the baseline's working frame; or the 'after' state of a later survey.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import shapely

from ..common.errors import InputError
from ..common.i18n import tr, translatable
from ..geometry.overlay import (
    PartIndex,
)
from ..ingest import validate as v
from ..ingest.layerdata import LayerData
from ..rules.ruleset import Ruleset
from .baseline import Baseline
from .layers import (
    OVERLAP_TOLERANCE_M2,
    ControlLine,
    SchemeLayers,
    booked_areas,
    build_parcel_table,
    build_project_table,
    flag_parts,
    non_overlapping_projects,
    planned_classes_from_land_use_sea,
    refuse_overlaps,
    to_frame,
    without_reprojection_slivers,
)


@dataclass
class Plan:
    units: LayerData  # working frame
    unit_ids: np.ndarray
    unit_names: np.ndarray
    projects: LayerData | None
    project_table: pd.DataFrame  # positional: id, type, code_after, kcxs
    project_parts: PartIndex | None
    pbf_plan: PartIndex
    udb_plan: PartIndex | None
    udb_plan_labels: np.ndarray | None  # each planned 城镇开发边界 part's zone
    warnings: list[str]
    # The planned control lines as read (their overlaps by feature id), for the next edit's check.
    drawn_lines: dict[str, ControlLine] = field(default_factory=dict)

    def without_units(self, unit_ids: Iterable[str]) -> "Plan":
        """The plan without some units (those whose computation failed): the others keep their order."""
        drop = set(unit_ids)
        keep = np.flatnonzero([u not in drop for u in self.unit_ids])
        return replace(self, units=self.units.take(keep), unit_ids=self.unit_ids[keep],
                       unit_names=self.unit_names[keep])

    def unchanged_pbf(self, geoms: np.ndarray) -> np.ndarray:
        """Which geometries are, exactly, features of the planned PBF (nothing of them is adjusted out)."""
        same = np.zeros(len(geoms), dtype=bool)
        if len(geoms) == 0 or len(self.pbf_plan) == 0:
            return same
        a, b = self.pbf_plan.tree.query(geoms)  # bounding boxes meet
        plan = self.pbf_plan.geoms
        box = (shapely.bounds(geoms)[a] == shapely.bounds(plan)[b]).all(axis=1)
        a, b = a[box], b[box]
        same[a[shapely.equals_exact(geoms[a], plan[b], tolerance=0.0)]] = True
        return same



def build_plan(layers: SchemeLayers, baseline: Baseline, ruleset: Ruleset,
               changed_units: Iterable[str] | None = None, previous: Plan | None = None,
               changed_boxes: Mapping[str, Sequence[Sequence[float]]] | None = None) -> Plan:
    """Validate and ingest the planner's layers (cheap; rebuilt after edits).

    After an edit, ``previous`` and ``changed_boxes`` (layer name -> edited boxes in the layer's CRS)
    let the planned control lines be checked for overlaps only where they were edited.

    ``changed_units`` (unit ids) limits the unit overlap check to the units an edit changed.
    """
    report = v.Report()
    roles = v.ROLES
    frame = baseline.frame
    if layers.units is None:  # analyse() gives a whole-area unit instead; a plan of its own needs units
        raise InputError(tr("未指定整治单元图层。"))
    drawn = v.polygons(layers.units, roles["units"], report)
    if len(drawn) == 0:
        raise InputError(tr("{layer} 没有要素：请先绘制整治单元。").format(layer=v.layer_label(drawn, roles["units"])))
    ids = v.unit_ids(drawn, roles["units"], layers.unit_id_field).to_numpy()
    among = None if changed_units is None else np.flatnonzero(np.isin(ids, list(changed_units)))
    refuse_overlaps(drawn, roles["units"], frame, OVERLAP_TOLERANCE_M2, labels=ids, among=among)
    units = to_frame(drawn, roles["units"], frame)
    names = units.column("DYMC", "").map(lambda n: "" if n is None else str(n)).to_numpy()

    projects = None
    project_table = pd.DataFrame({"id": [], "type": [], "code_after": [], "kcxs": []})
    project_parts = None
    if layers.projects is not None and len(layers.projects):
        drawn = planned_classes_from_land_use_sea(v.polygons(layers.projects, roles["projects"], report), report)
        v.require_fields(drawn, roles["projects"])
        project_table = build_project_table(drawn, baseline.classes, ruleset, report)
        projects = to_frame(drawn, roles["projects"], frame)
        parts = non_overlapping_projects(drawn, projects, project_table, ruleset, frame)
        project_parts = PartIndex.build(parts)

    lines: dict[str, ControlLine] = {}
    for name, label_field in (("pbf_plan", ""), ("udb_plan", layers.udb_zone_field)):
        layer = getattr(layers, name)
        if layer is not None:
            before = previous.drawn_lines.get(name) if previous is not None else None
            lines[name] = flag_parts(layer, roles[name], frame, report, label_field=label_field, previous=before,
                                     changed_boxes=(changed_boxes or {}).get(name))
    pbf_plan = lines["pbf_plan"].parts if "pbf_plan" in lines else baseline.pbf
    udb_plan, udb_plan_labels = baseline.udb, baseline.udb_labels
    if "udb_plan" in lines:
        udb_plan, udb_plan_labels = lines["udb_plan"].parts, lines["udb_plan"].labels
    return Plan(units=units, unit_ids=ids, unit_names=names, projects=projects, project_table=project_table,
                project_parts=project_parts, pbf_plan=pbf_plan, udb_plan=udb_plan, udb_plan_labels=udb_plan_labels,
                warnings=report.warnings, drawn_lines=lines)


def build_survey_plan(layers: SchemeLayers, baseline: Baseline, ruleset: Ruleset, survey_after: LayerData) -> Plan:
    """The 'after' state taken from a later survey (年度变更调查 B) instead of 子项目.

    Each parcel of B acts as a 子项目 that sets its DLBM with its own deduction ratio, so
    地类流向 between two surveys is the same group-by as plan-vs-baseline (clause （十六）).
    """
    plan = build_plan(SchemeLayers(units=layers.units, landuse=layers.landuse, unit_id_field=layers.unit_id_field),
                      baseline, ruleset)
    report = v.Report()
    role = v.Role("landuse_after", translatable("后期地类图斑"), required=("DLBM",))
    drawn = v.polygons(survey_after, role, report)
    v.require_fields(drawn, role)
    refuse_overlaps(drawn, role, baseline.frame, OVERLAP_TOLERANCE_M2)
    after = to_frame(drawn, role, baseline.frame)
    table = build_parcel_table(after, baseline.classes, report, with_township=False)
    total, main = booked_areas(table, baseline.frame.areas(after.geoms), np.arange(len(table)))
    deduction = np.where(total > 0, 1.0 - main / np.where(total > 0, total, 1.0), 0.0)
    plan.project_table = pd.DataFrame({
        "id": [b or tr("要素{fid}").format(fid=int(f)) for b, f in zip(table["bsm"], after.fids)],
        "type": "", "code_after": table["code"].to_numpy(), "kcxs": deduction, "name": ""})
    plan.project_parts = PartIndex.build(without_reprojection_slivers(after.geoms))
    plan.projects = after
    plan.warnings = plan.warnings + report.warnings
    return plan

