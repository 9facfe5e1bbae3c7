"""The live check behind the dock panel: the same engine as ``checkunits``, recomputing only what changed.

``LiveScheme`` keeps the baseline (survey layers, indexes, township 耕地 totals) built
once, the plan's indexes, and each unit's pieces. After an edit it rebuilds:

- the pieces of units whose geometry changed, or whose bounding box meets the area an
  edit of 子项目 / planned PBF / planned UDB touched;
- the 子项目 or planned-PBF index only when that layer changed, and the whole-township
  PBF figures only for townships the changed area meets;

then runs the same group-bys and rules as ``run_check``. Because every step is the
engine's own function, the panel's numbers equal the algorithm's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Tuple, cast

import numpy as np
import shapely

from ..common.errors import DataError
from ..common.i18n import tr
from ..common.progress import SILENT, Progress
from ..geometry.overlay import SLIVER_AREA_M2, polygonal, robust
from ..ingest.baseline import Baseline, build_baseline
from ..ingest.layerdata import LayerData
from ..ingest.layers import SchemeLayers
from ..ingest.plan import Plan, build_plan
from ..products.check import CheckResult
from ..rules.evaluate import error_findings, evaluate
from ..rules.ruleset import Ruleset, load_ruleset
from .analysis import failed_units_text, outside_landuse_warnings
from .cache import AnalysisCache
from .indicators import compute_indicators
from .pieces import Pieces, book_areas, build_pieces_per_unit, overlay_areas

if TYPE_CHECKING:
    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry

# A bounding box (xmin, ymin, xmax, ymax).
Box = Tuple[float, float, float, float]


@dataclass
class Changes:
    """What an edit touched. ``None`` for a layer means unchanged; an empty list of boxes means 'anywhere'."""

    units: bool = True
    projects: list[Box] | None = None  # bounding boxes (xmin, ymin, xmax, ymax) in the layer's CRS, old and new
    pbf_plan: list[Box] | None = None
    udb_plan: list[Box] | None = None

    @classmethod
    def everything(cls) -> "Changes":
        return cls(units=True, projects=[], pbf_plan=[], udb_plan=[])

    @classmethod
    def nothing(cls) -> "Changes":
        return cls(units=False)

    def merge(self, other: "Changes") -> "Changes":
        """Both sets of changes (for edits made while a computation was cancelled)."""
        def boxes(a: list[Box] | None, b: list[Box] | None) -> list[Box] | None:
            if a is None:
                return b
            if b is None:
                return a
            return [] if (not a or not b) else a + b  # [] = anywhere

        return Changes(units=self.units or other.units, projects=boxes(self.projects, other.projects),
                       pbf_plan=boxes(self.pbf_plan, other.pbf_plan), udb_plan=boxes(self.udb_plan, other.udb_plan))


@dataclass
class _UnitCache:
    wkb: bytes
    bounds: Box
    pieces: Pieces


@dataclass
class LiveScheme:
    baseline: Baseline
    ruleset: Ruleset
    plan: Plan | None = None
    layers: SchemeLayers | None = None
    _pieces: dict[str, _UnitCache] = field(default_factory=dict)  # unit id -> _UnitCache
    cache: AnalysisCache = field(default_factory=AnalysisCache)  # the indicators' memos
    rebuilt_units: int = 0  # how many units the last update overlaid again (for tests and the benchmark)

    @classmethod
    def open(cls, layers: SchemeLayers, ruleset: Ruleset | None = None, progress: Progress = SILENT) -> "LiveScheme":
        """Build the baseline (the slow part: once per panel set-up)."""
        ruleset = ruleset or load_ruleset()
        progress.step(5, tr("建立现状索引"))
        return cls(baseline=build_baseline(layers, ruleset), ruleset=ruleset)

    def update(self, layers: SchemeLayers, changes: Changes | None = None,
               progress: Progress = SILENT) -> CheckResult:
        """Recompute after an edit; ``layers`` holds the plan layers as they are now (edit buffer included)."""
        changes = changes or Changes.everything()
        first = self.plan is None or self.layers is None
        if first:
            changes = Changes.everything()
        previous = self.plan
        merged = self._merge_layers(layers, changes, first)
        # Only the layers that changed are validated and indexed again; the others keep their index.
        plan = build_plan(SchemeLayers(
            units=merged.units, landuse=merged.landuse, unit_id_field=merged.unit_id_field,
            projects=merged.projects if (first or changes.projects is not None) else None,
            pbf_plan=merged.pbf_plan if (first or changes.pbf_plan is not None) else None,
            udb_plan=merged.udb_plan if (first or changes.udb_plan is not None) else None), self.baseline, self.ruleset,
            changed_units=None if first else self._changed_unit_ids(merged.units),
            previous=None if first else previous,
            changed_boxes=None if first else {"pbf_plan": changes.pbf_plan or [], "udb_plan": changes.udb_plan or []})
        if previous is not None:  # layers that did not change keep their index (and so their memos)
            if changes.projects is None:
                plan.project_parts, plan.project_table, plan.projects = (previous.project_parts,
                                                                         previous.project_table, previous.projects)
            for name in ("pbf_plan", "udb_plan"):  # the overlaps known for the next edit's check
                if getattr(changes, name) is None and name in previous.drawn_lines:
                    plan.drawn_lines[name] = previous.drawn_lines[name]
            if changes.pbf_plan is None:
                plan.pbf_plan = previous.pbf_plan
            else:  # townships the edit did not reach keep their whole-township figures
                touched = self._touched_townships(changes.pbf_plan, merged)
                self.cache.township_pbf.carry_over(lambda code: touched is not None and code not in touched,
                                                   plan.pbf_plan)
            if changes.udb_plan is None:
                plan.udb_plan, plan.udb_plan_labels = previous.udb_plan, previous.udb_plan_labels
        progress.step(20, tr("叠加分析"))
        pieces, cache, rebuilt, failed = self._pieces_for(plan, merged, changes)
        if failed:  # units the overlay could not cut: left out, their rows marked error (as checkunits does)
            plan = plan.without_units(failed)
            if len(plan.units) == 0:
                raise DataError(failed_units_text(failed))
        progress.step(70, tr("统计指标"))
        indicators = compute_indicators(self.baseline, plan, pieces, self.ruleset, self.cache)
        findings = evaluate(indicators) + error_findings(self.ruleset.rules, failed)
        progress.step(100, "")
        # Commit only a finished update: a cancelled one leaves the previous state intact, so the
        # caller can retry with the changes accumulated since the last finished update.
        self.plan, self.layers, self._pieces, self.rebuilt_units = plan, merged, cache, rebuilt
        # The same warnings as analyse() gives checkunits.
        warnings = (list(self.baseline.warnings) + list(plan.warnings) + outside_landuse_warnings(indicators)
                    + ([failed_units_text(failed)] if failed else []))
        return CheckResult(ruleset=self.ruleset, baseline=self.baseline, plan=plan, indicators=indicators,
                           findings=findings, warnings=warnings)

    # ------------------------------------------------------------------ internals
    def _changed_unit_ids(self, units: LayerData | None) -> set[str] | None:
        """Units whose outline differs from the last finished update (new ones included)."""
        if units is None or self.layers is None or self.layers.units is None:
            return None
        field = self.layers.unit_id_field
        before = {str(i).strip(): shapely.to_wkb(g) for i, g in zip(self.layers.units.column(field, ""),
                                                                      self.layers.units.geoms)}
        now = zip(units.column(field, ""), units.geoms)
        return {str(i).strip() for i, g in now if before.get(str(i).strip()) != shapely.to_wkb(g)}

    def _merge_layers(self, layers: SchemeLayers, changes: Changes, first: bool) -> SchemeLayers:
        """The plan layers: new ones for what changed, the previous ones otherwise."""
        old = self.layers if not first else layers
        if old is None:  # cannot be: update() passes first whenever self.layers is None
            raise AssertionError("no previous layers to merge with")

        def pick(name: str, changed: list[Box] | None) -> LayerData | None:
            return getattr(layers, name) if (first or changed is not None) else getattr(old, name)

        return SchemeLayers(units=layers.units if (first or changes.units) else old.units,
                            landuse=self.baseline.landuse, unit_id_field=layers.unit_id_field,
                            projects=pick("projects", changes.projects),
                            pbf_plan=pick("pbf_plan", changes.pbf_plan),
                            udb_plan=pick("udb_plan", changes.udb_plan))

    def _dirty_boxes(self, changes: Changes, merged: SchemeLayers) -> tuple[list[list[Any]], bool]:
        """Changed areas in the overlay CRS, and whether some change has no known area (then: all)."""
        boxes: list[list[Any]] = []  # [xmin, ymin, xmax, ymax] each (Any: shapely.box(*box) takes four floats)
        everywhere = False
        for name in ("projects", "pbf_plan", "udb_plan"):
            changed = getattr(changes, name)
            if changed is None:
                continue
            if not changed:
                everywhere = True
                continue
            layer = getattr(merged, name)
            crs = layer.crs_wkt if layer is not None else self.baseline.frame.overlay_wkt
            corners = np.array([shapely.box(*b) for b in changed], dtype=object)
            boxes.extend(shapely.bounds(self.baseline.frame.ingest(corners, crs)).tolist())
        return boxes, everywhere

    def _pieces_for(self, plan: Plan, merged: SchemeLayers,
                    changes: Changes) -> tuple[Pieces, dict[str, _UnitCache], int, dict[str, str]]:
        boxes, everywhere = self._dirty_boxes(changes, merged)
        dirty = [shapely.box(*b) for b in boxes]
        keep: dict[str, _UnitCache] = {}
        stale = []
        patched = 0
        for position, (unit_id, geom) in enumerate(zip(plan.unit_ids, plan.units.geoms)):
            cached = self._pieces.get(unit_id)
            wkb = shapely.to_wkb(geom)
            clean = (cached is not None and not everywhere
                     and not any(shapely.intersects(shapely.box(*cached.bounds), box) for box in dirty))
            if clean and cached is not None and cached.wkb == wkb:  # clean: cached is not None
                keep[unit_id] = cached
            elif clean and cached is not None:  # only the unit's outline moved: redo the pieces where it moved
                keep[unit_id] = self._reshaped(cached, geom, wkb, position, plan)
                patched += 1
            else:
                stale.append(position)
        failed: dict[str, str] = {}
        if stale:
            fresh, failed_positions = build_pieces_per_unit(self.baseline, plan, np.asarray(stale))
            failed = {str(plan.unit_ids[k]): reason for k, reason in failed_positions.items()}
            table = fresh.table
            for position in stale:
                if position in failed_positions:
                    continue
                unit_id = plan.unit_ids[position]
                mask = (table["unit"] == position).to_numpy()
                geom = plan.units.geoms[position]
                keep[unit_id] = _UnitCache(wkb=shapely.to_wkb(geom), bounds=tuple(shapely.bounds(geom)),
                                           pieces=Pieces(table=table[mask].reset_index(drop=True),
                                                         geoms=fresh.geoms[mask]))
        ordered = []
        for position, unit_id in enumerate(u for u in plan.unit_ids if u not in failed):
            pieces = keep[unit_id].pieces
            pieces.table["unit"] = position  # positions shift when units are added or deleted
            pieces.metric_geoms(self.baseline.frame)  # kept with the unit's pieces for later updates
            ordered.append(pieces)
        return Pieces.concat(ordered), keep, len(stale) + patched, failed

    def _reshaped(self, cached: "_UnitCache", geom: BaseGeometry, wkb: bytes, position: int,
                  plan: Plan) -> "_UnitCache":
        """A unit's pieces after its outline changed: pieces cut back where the unit shrank,
        new pieces overlaid where it grew, the rest reused (cost follows the edit, not the unit)."""
        frame = self.baseline.frame
        sliver = frame.square_metres_to_units(SLIVER_AREA_M2)
        old = shapely.from_wkb(cached.wkb)
        # robust() broadcasts one geometry as its ``b``; its hint (geometry.overlay) says array-like only.
        old_b, geom_b = cast("npt.ArrayLike", old), cast("npt.ArrayLike", geom)
        removed = polygonal(robust(shapely.difference, np.array([old], dtype=object), geom_b))[0]
        added = polygonal(robust(shapely.difference, np.array([geom], dtype=object), old_b))[0]
        table = cached.pieces.table.copy()
        geoms = cached.pieces.geoms.copy()
        if not shapely.is_empty(removed) and shapely.area(removed) > sliver:
            shapely.prepare(removed)
            hit = np.flatnonzero(shapely.intersects(removed, geoms) & ~shapely.touches(removed, geoms))
            if len(hit):
                geoms[hit] = polygonal(robust(shapely.intersection, geoms[hit], geom_b))
                table.loc[hit, "area_m2"] = frame.areas(geoms[hit])
                alive = shapely.area(geoms) > sliver
                # pandas-stubs need Python >= 3.10: under python_version 3.9 every frame[key] is typed Series.
                table, geoms = table[alive].reset_index(drop=True), geoms[alive]  # type: ignore[assignment]
        parts = [Pieces(table=table, geoms=geoms)]
        if not shapely.is_empty(added) and shapely.area(added) > sliver:
            parts.append(overlay_areas(self.baseline, plan, np.array([added], dtype=object), np.array([position])))
        pieces = Pieces.concat(parts)
        pieces.table["unit"] = position
        book_areas(pieces.table, self.baseline, plan)
        return _UnitCache(wkb=wkb, bounds=tuple(shapely.bounds(geom)), pieces=pieces)

    def _touched_townships(self, boxes: list[Box], merged: SchemeLayers) -> set[str] | None:
        """Townships whose area meets the changed boxes (None: the change has no known area)."""
        if not boxes:
            return None
        frame = self.baseline.frame
        crs = merged.pbf_plan.crs_wkt if merged.pbf_plan is not None else frame.overlay_wkt
        dirty = frame.ingest(np.array([shapely.box(*b) for b in boxes], dtype=object), crs)
        return {code for code in self.cache.township_pbf.values
                if shapely.intersects(self.baseline.township_geometry(code), dirty).any()}
