"""The one entry point from layers to figures: read and validate each layer once, bring it into one
working frame, overlay once into pieces, and sum the indicators.

Every product — rule verdicts, tables, output layers, the panel, the report — is a function of an
``Analysis`` and reads no layer again (a test holds every product to that). A PostGIS path would
replace the reading and the overlay that build it, nothing after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import shapely

from ..common.errors import DataError
from ..common.i18n import tr, translatable
from ..common.progress import SILENT, Progress
from ..geometry.measure import to_mu
from ..ingest.baseline import Baseline, build_baseline
from ..ingest.layerdata import LayerData
from ..ingest.layers import SchemeLayers
from ..ingest.plan import Plan, build_plan, build_survey_plan
from ..rules.ruleset import Ruleset, load_ruleset
from .indicators import Indicators, compute_indicators
from .pieces import Pieces, build_pieces_per_unit, build_whole_area_pieces, drop_failed_units

logger = logging.getLogger(__name__)

# The scope of an analysis without units: everything the layers cover.
WHOLE_AREA_ID = translatable("全域")
PLAN_LAYERS = ("projects", "pbf_plan", "udb_plan")


@dataclass(frozen=True)
class Analysis:
    """A scheme overlaid and summed: what every table, layer, verdict and report is computed from."""

    ruleset: Ruleset
    baseline: Baseline
    plan: Plan
    indicators: Indicators
    warnings: tuple[str, ...]
    given: frozenset[str]  # the layers the planner gave (SchemeLayers attribute names)
    whole_area: bool = False  # no units: one scope covering every layer
    # Units whose overlay failed (unit id -> reason): left out of every figure, their rows marked error.
    failed_units: Mapping[str, str] = field(default_factory=dict)

    @property
    def pieces(self) -> Pieces:
        return self.indicators.pieces

    def unit_label(self, unit_id: str) -> str:
        """The unit id products print: empty for the whole-area scope (there are no units)."""
        return "" if self.whole_area else unit_id


def analyse(layers: SchemeLayers, ruleset: Ruleset | None = None, baseline: Baseline | None = None,
            survey_after: LayerData | None = None, progress: Progress = SILENT) -> Analysis:
    """Overlay the scheme into pieces and compute the indicators (no verdicts).

    Without units the whole area the layers cover is one scope. With ``survey_after`` (a later
    survey, 年度变更调查) its parcels are the 'after' state instead of 子项目. Pass a cached
    ``baseline`` to skip re-reading the survey layers.
    """
    started = time.perf_counter()
    ruleset = ruleset or load_ruleset()
    given = frozenset(name for name in ("units", "landuse", "pbf", "projects", "pbf_plan", "eco", "udb", "udb_plan",
                                        "townships") if getattr(layers, name) is not None)
    progress.step(2, tr("读取并校验现状图层"))
    if baseline is None:
        baseline = build_baseline(layers, ruleset)
    whole_area = layers.units is None
    if whole_area:
        layers = SchemeLayers(**{**layers.__dict__, "units": _whole_area_unit(layers, baseline),
                                 "unit_id_field": "DYBH"})
    progress.step(30, tr("读取并校验方案图层"))
    plan = (build_survey_plan(layers, baseline, ruleset, survey_after) if survey_after is not None
            else build_plan(layers, baseline, ruleset))
    progress.step(40, tr("叠加分析"))
    failed: dict[str, str] = {}
    if whole_area:
        pieces = build_whole_area_pieces(baseline, plan)
    else:
        pieces, failed_positions = build_pieces_per_unit(baseline, plan, progress=progress.scaled(40, 75))
        plan, pieces, failed = drop_failed_units(plan, pieces, failed_positions)
        if len(plan.units) == 0:  # nothing left to check: the reasons are the answer
            raise DataError(failed_units_text(failed))
    progress.step(75, tr("统计指标"))
    indicators = compute_indicators(baseline, plan, pieces, ruleset)
    warnings = list(baseline.warnings) + list(plan.warnings) + ([failed_units_text(failed)] if failed else [])
    if not whole_area and "landuse" in given:
        warnings += outside_landuse_warnings(indicators)
    logger.debug("analysis: %d units, %d pieces, %d warnings in %.2f s (layers: %s)", len(plan.unit_ids),
                 len(pieces), len(warnings), time.perf_counter() - started, ", ".join(sorted(given)))
    return Analysis(ruleset=ruleset, baseline=baseline, plan=plan, indicators=indicators, warnings=tuple(warnings),
                    given=given, whole_area=whole_area, failed_units=failed)


def failed_units_text(failed: Mapping[str, str]) -> str:
    """What the planner is told about units whose computation failed."""
    return tr("整治单元 {ids} 的叠加计算出错（{reasons}），这些单元的指标未能计算，各条规则记为“计算出错”；"
              "其余单元照常核算，乡镇和方案的合计不含这些单元。请检查这些单元及其范围内图斑的几何后重试。").format(
        ids="、".join(failed), reasons="；".join(f"{unit_id}：{reason}" for unit_id, reason in failed.items()))


def outside_landuse_warnings(indicators: Indicators) -> list[str]:
    outside = indicators.per_unit["outside_landuse_m2"]
    return [tr("整治单元 {id} 有 {mu:.2f} 亩不在地类图斑范围内，按未知地类统计。").format(id=unit_id, mu=to_mu(value))
            for unit_id, value in outside[outside > 1.0].items()]


def _whole_area_unit(layers: SchemeLayers, baseline: Baseline) -> LayerData:
    """One unit covering every layer given (their bounding box in the working frame, enlarged a little)."""
    frame = baseline.frame
    boxes = [shapely.box(*shapely.total_bounds(g)) for g in (baseline.landuse.geoms, baseline.pbf.geoms) if len(g)]
    boxes += [shapely.box(*shapely.total_bounds(parts.geoms)) for parts in (baseline.eco, baseline.udb)
              if parts is not None and len(parts)]
    for name in PLAN_LAYERS + ("townships",):
        layer = getattr(layers, name)
        if layer is not None and len(layer):
            box = shapely.box(*shapely.total_bounds(layer.geoms))
            boxes.append(frame.ingest(np.array([box], dtype=object), layer.crs_wkt)[0])
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(boxes, dtype=object))
    pad = max(xmax - xmin, ymax - ymin) * 0.01 + frame.square_metres_to_units(1.0) ** 0.5
    box = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    label = tr(WHOLE_AREA_ID)
    return LayerData.from_shapes(label, [box], frame.wkt, [{"DYBH": label}])
