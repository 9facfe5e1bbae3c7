"""Keeps the panel's figures current: layer edit signals → debounced, cancellable QgsTask → engine.

The controller listens to the plan layers (units, 子项目, planned PBF, planned UDB) —
features added, deleted, geometry or attribute changed, undo/redo, commit, rollback —
and records *what* changed and where. Bursts are debounced; the computation runs in a
``QgsTask`` on a snapshot of each layer (``QgsVectorLayerFeatureSource``, which includes
the uncommitted edit buffer) and is cancelled by the next edit; a result older than the
latest edit is never shown. The numbers come from ``core.live.LiveScheme``, the same
engine as ``checkunits``.

A failure the engine explains (``LandConsolidationError``) is shown as it is and logged as a
warning; any other exception is logged with its traceback (QGIS's 「日志消息」 panel, tab
「全域整治」, see ``qgis_bridge.log``) and the planner is told where to find it.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from qgis.core import (
    QgsApplication,
    QgsGeometry,
    QgsTask,
    QgsVectorLayer,
    QgsVectorLayerFeatureSource,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ..core.analysis.live import Changes, LiveScheme
from ..core.common.errors import Cancelled, LandConsolidationError
from ..core.common.i18n import tr
from ..core.common.progress import Progress
from ..core.ingest.layers import SchemeLayers
from ..core.ingest.validate import ROLES
from ..core.rules.ruleset import load_ruleset
from ..qgis_bridge.layer_io import read_features, read_layer, readable_layer, with_undeclared_encoding
from ..qgis_bridge.log import WHERE_TO_LOOK

logger = logging.getLogger(__name__)

PLAN_ROLES = ("units", "projects", "pbf_plan", "udb_plan")
BASELINE_ROLES = ("landuse", "pbf", "eco", "udb", "townships")
DEBOUNCE_MS = 120
SKETCH_ID = "（绘制中）"


@dataclass(frozen=True)
class LiveOutcome:
    """What one computation produced: the engine's result, how long it took, and the layers' bounds."""

    result: Any  # core CheckResult, as the engine returned it
    elapsed_ms: float
    bounds: Mapping = field(default_factory=dict)  # role -> {fid: (xmin, ymin, xmax, ymax)} of what was read


class _Snapshot:
    """A thread-safe copy of a layer (edit buffer included) and what is needed to read it."""

    def __init__(self, layer: QgsVectorLayer, role: str, extra_fields=()):
        self.name = layer.name()
        # A GBK shapefile with no code page is snapshotted through a private layer decoding it as GBK;
        # the snapshot stands alone, so that layer goes at once, here on the main thread.
        readable, self.undeclared = readable_layer(layer)
        self.source = QgsVectorLayerFeatureSource(readable)
        del readable
        self.fields = layer.fields()
        self.crs = layer.crs()
        self.wanted = ROLES[role].fields + tuple(extra_fields)
        self.text = layer.source()

    def read(self, cancelled):
        class _Feedback:
            isCanceled = staticmethod(cancelled)

        data = read_features(self.source, self.name, self.wanted, crs=self.crs, feedback=_Feedback(),
                             source_text=self.text, layer_fields=self.fields)
        return with_undeclared_encoding(data, self.undeclared)


class _LiveTask(QgsTask):
    """Runs one engine update off the main thread."""

    def __init__(self, job, on_done):
        super().__init__(tr("全域整治：实时核算"), QgsTask.Flag.CanCancel)
        self.job = job
        self.on_done = on_done
        self.outcome = None  # LiveOutcome once run() succeeded
        self.error = None  # the message for the planner
        self.details = None  # the traceback's text, for an unexpected exception (also in the QGIS log)
        self.cancelled_by_user = False
        self.epoch = 0  # the controller's configuration this task computes for (set when it starts)

    def run(self):
        try:
            self.outcome = self.job(Progress(report=lambda p, _t: self.setProgress(max(0.0, p)),
                                             cancelled=self.isCanceled))
            return True
        except Cancelled:
            self.cancelled_by_user = True
            return False
        except LandConsolidationError as error:
            self.error = str(error)
            logger.warning("实时核算未完成：%s", error)
            return False
        except Exception as error:  # noqa: BLE001 - shown to the planner, never a crash of QGIS
            # Text, not the traceback object: its frames would keep the engine's data alive.
            self.details = traceback.format_exc()
            logger.exception("实时核算出错")
            what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self.error = tr("计算出错（{error}），{where}。").format(error=what, where=tr(WHERE_TO_LOOK))
            return False

    def finished(self, ok):
        self.on_done(self, ok)


class LiveController(QObject):
    resultReady = pyqtSignal(object)  # CheckResult
    statusChanged = pyqtSignal(str)
    errorRaised = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layers = {}
        self.layer_ids = {}  # role -> layer id: a layer is known by its id (its wrapper may be deleted)
        self.unit_id_field = "DYBH"
        self.ruleset = load_ruleset()
        self.live = None
        self.result = None  # the CheckResult shown last
        self.last_elapsed_ms = None  # how long the computation of ``result`` took
        self.open_elapsed_ms = None  # how long configure() took to read the baseline and build its indexes
        self.last_error = None  # the message of the last failed computation (None after a success)
        self.last_traceback = None  # its traceback's text when the failure was unexpected
        self._pending = Changes.nothing()
        self._inflight = None
        self._task = None
        self._task_generation = None  # self._generation when self._task was started
        self._generation = 0
        self._epoch = 0  # one per configure()/stop(): a task of an earlier configuration is dropped
        self._holding = False  # compute_now() is running: no task may start
        self._closed = False  # shutdown() was called: results of a task still running are dropped
        self._sketch = None  # (role, QgsGeometry, attributes)
        self._bounds = {}  # role -> {fid: (xmin, ymin, xmax, ymax)} of the last read, for deletions
        self._warned: set[str] = set()  # warnings already logged
        self._slot_cache = {}  # role -> [(signal name, slot)], the same slots to connect and disconnect
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.schedule)

    # ------------------------------------------------------------------ set-up
    def configure(self, layers: dict, unit_id_field: str = "DYBH", ruleset_path: str = "") -> None:
        """Use these layers (role → QgsVectorLayer or None); builds the baseline synchronously."""
        self.stop()
        self.layers = {role: layer for role, layer in layers.items() if layer is not None}
        self.layer_ids = {role: layer.id() for role, layer in self.layers.items()}
        self.unit_id_field = unit_id_field or "DYBH"
        self.ruleset = load_ruleset(ruleset_path or None)
        missing = [r for r in ("units", "landuse") if r not in self.layers]
        if missing:
            raise LandConsolidationError(tr("请先选择图层：{roles}").format(
                roles="、".join(tr(ROLES[r].label) for r in missing)))
        self.statusChanged.emit(tr("正在建立现状索引…"))
        started = time.perf_counter()
        baseline = SchemeLayers(**{role: read_layer(self.layers[role], self.layers[role].name(), ROLES[role].fields)
                                   for role in BASELINE_ROLES if role in self.layers})
        self.live = LiveScheme.open(baseline, self.ruleset)
        self.open_elapsed_ms = (time.perf_counter() - started) * 1000
        for role in PLAN_ROLES:
            if role in self.layers:
                self._connect(role, self.layers[role])
        self._pending = Changes.everything()
        self.schedule()

    def stop(self) -> None:
        """Forget the layers and the figures (a layer removed, another project): nothing runs until
        the next configure(); a computation still running is dropped when it ends."""
        self.disconnect_layers()
        self._epoch += 1
        self._generation += 1
        self.layers, self.layer_ids = {}, {}
        self.live = self.result = None
        self.last_error = self.last_traceback = None
        self._pending, self._inflight = Changes.nothing(), None
        self._sketch = None
        self._bounds = {}

    def roles_of(self, layer_ids) -> list:
        """The configured roles played by these layer ids (e.g. layers about to be removed)."""
        wanted = set(layer_ids)
        return [role for role, layer_id in self.layer_ids.items() if layer_id in wanted]

    def disconnect_layers(self) -> None:
        for role, layer in list(self.layers.items()):
            if role in PLAN_ROLES and not sip.isdeleted(layer):
                for signal, slot in self._slots(role):
                    try:
                        getattr(layer, signal).disconnect(slot)
                    except (TypeError, RuntimeError):
                        pass
        self.cancel()

    def _slots(self, role):
        if role not in self._slot_cache:
            self._slot_cache[role] = [
                ("featureAdded", lambda fid, r=role: self.on_feature(r, fid, added=True)),
                ("featureDeleted", lambda fid, r=role: self.on_feature(r, fid, deleted=True)),
                ("geometryChanged", lambda fid, geometry, r=role: self.on_feature(r, fid, geometry=geometry)),
                ("attributeValueChanged", lambda fid, _i, _v, r=role: self.on_feature(r, fid)),
                ("afterRollBack", lambda r=role: self.on_layer(r)),
                ("afterCommitChanges", lambda r=role: self.on_layer(r)),
                ("dataChanged", lambda r=role: self.on_data_changed(r)),
            ]
        return self._slot_cache[role]

    def _connect(self, role, layer):
        for signal, slot in self._slots(role):
            getattr(layer, signal).connect(slot)

    # ------------------------------------------------------------------ edits
    def on_feature(self, role, fid, added=False, deleted=False, geometry=None):
        """Record what an edit touched: the unit layer as a whole, other layers by area."""
        if role == "units":
            self.note(Changes(units=True))
            return
        boxes = []
        previous = self._bounds.get(role, {}).get(fid)
        if previous is not None:
            boxes.append(previous)
        if not deleted:
            if geometry is None:
                feature = self.layers[role].getFeature(fid)
                geometry = feature.geometry() if feature.isValid() else None
            if geometry is not None and not geometry.isEmpty():
                box = geometry.boundingBox()
                boxes.append((box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()))
        self.note(Changes(units=False, **{role: boxes or []}))

    def on_layer(self, role):
        """Commit or rollback: fids and geometries may all have changed; recompute that layer everywhere."""
        self.note(Changes(units=True) if role == "units" else Changes(units=False, **{role: []}))

    def on_data_changed(self, role):
        # Emitted for every edit too; only act when nothing more specific was recorded (e.g. provider reload).
        if not self._timer.isActive() and self._task is None:
            self.on_layer(role)

    def note(self, changes: Changes) -> None:
        self._pending = self._pending.merge(changes)
        self._generation += 1
        self.statusChanged.emit(tr("已修改，正在重新核算…"))
        self._timer.start()

    # ------------------------------------------------------------------ sketch preview
    def preview(self, role: str, geometry: QgsGeometry | None, attributes: dict | None = None) -> None:
        """Figures for a polygon still being drawn (not yet in the layer); None ends the preview."""
        old = self._sketch
        self._sketch = (role, QgsGeometry(geometry), dict(attributes or {})) if geometry is not None else None
        touched = [s for s in (old, self._sketch) if s is not None]
        for sketch_role, sketch_geometry, _ in touched:
            if sketch_role == "units":
                self.note(Changes(units=True))
            else:
                box = sketch_geometry.boundingBox()
                self.note(Changes(units=False, **{sketch_role: [(box.xMinimum(), box.yMinimum(),
                                                                  box.xMaximum(), box.yMaximum())]}))

    # ------------------------------------------------------------------ computing
    def schedule(self) -> None:
        """Start a computation for the pending changes (cancelling a running one first)."""
        if self.live is None or self._holding:
            return
        if self._task is not None:
            self._task.cancel()  # its finished() starts the next one
            return
        job = self._job()
        self._task = _LiveTask(job, self._finished)
        self._task.epoch = self._epoch
        self._task_generation = self._generation
        QgsApplication.taskManager().addTask(self._task)

    def compute_now(self):
        """The same computation, synchronously (tests and the benchmark drive this)."""
        self._timer.stop()
        self._holding = True  # no task may start meanwhile: the engine runs in one thread at a time
        try:
            self._wait_for_task()
            return self._compute_held()
        finally:
            self._holding = False

    def _compute_held(self):
        job = self._job()
        try:
            outcome = job(Progress())
        except LandConsolidationError as error:
            self._pending = self._inflight.merge(self._pending)
            self._inflight = None
            logger.warning("实时核算未完成：%s", error)
            self.last_error, self.last_traceback = str(error), None
            self.errorRaised.emit(str(error))
            return None
        self._inflight = None
        self._publish(outcome)
        return outcome.result

    def _job(self):
        changes, self._pending = self._pending, Changes.nothing()
        self._inflight = changes
        snapshots = {}
        for role in PLAN_ROLES:
            if role not in self.layers:
                continue
            if role == "units" or getattr(changes, role) is not None or self._sketch_role() == role:
                extra = (self.unit_id_field,) if role == "units" else ()
                snapshots[role] = _Snapshot(self.layers[role], role, extra)
        sketch = self._sketch
        live = self.live
        unit_id_field = self.unit_id_field

        def job(progress):
            started = time.perf_counter()
            data = {role: snapshot.read(progress.is_cancelled) for role, snapshot in snapshots.items()}
            if sketch is not None:
                data[sketch[0]] = _with_sketch(data.get(sketch[0]), sketch, unit_id_field)
            layers = SchemeLayers(unit_id_field=unit_id_field, **data)
            result = live.update(layers, changes, progress)
            elapsed_ms = (time.perf_counter() - started) * 1000
            bounds = {role: _bounds_by_fid(layer) for role, layer in data.items() if layer is not None}
            return LiveOutcome(result, elapsed_ms, MappingProxyType(bounds))

        return job

    def _sketch_role(self):
        return self._sketch[0] if self._sketch is not None else None

    def _finished(self, task, ok):
        self._task = None
        if self._closed:
            return
        if task.epoch != self._epoch:  # computed for layers the panel no longer uses
            if self.live is not None and self._pending != Changes.nothing() and not self._timer.isActive():
                self.schedule()
            return
        if ok and task.outcome is not None:
            self._inflight = None
            if self._task_generation == self._generation:
                self._publish(task.outcome)
            # else: an edit came in meanwhile; its own computation follows and this result is dropped.
        else:
            self._pending = (self._inflight or Changes.nothing()).merge(self._pending)
            self._inflight = None
            if task.error:
                self.last_error, self.last_traceback = task.error, task.details
                self.statusChanged.emit(task.error)
                self.errorRaised.emit(task.error)
                if self._task_generation == self._generation:
                    return  # the same input would fail again: wait for the planner's next edit
        if self._pending != Changes.nothing() and not self._timer.isActive():
            self.schedule()

    def _publish(self, outcome: LiveOutcome):
        for role, bounds in outcome.bounds.items():
            self._bounds[role] = bounds
        result = outcome.result
        # The engine's warnings (overlapping features merged, land outside the survey …) reach the QGIS
        # log once each, as checkunits shows them in its log.
        for text in result.warnings:
            if text not in self._warned:
                self._warned.add(text)
                logger.warning(text)
        self.result = result
        self.last_elapsed_ms = outcome.elapsed_ms
        self.last_error = self.last_traceback = None
        counts = result.counts()
        self.statusChanged.emit(tr("已更新（{ms:.0f} 毫秒）：符合 {p}，不符合 {f}，不适用 {n}").format(
            ms=outcome.elapsed_ms, p=counts["pass"], f=counts["fail"], n=counts["not_applicable"]))
        self.resultReady.emit(result)  # the CheckResult itself: the dock needs nothing else

    @property
    def idle(self) -> bool:
        return self._task is None and not self._timer.isActive() and self._pending == Changes.nothing()

    def cancel(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()

    def _wait_for_task(self) -> None:
        while self._task is not None:
            task = self._task
            task.cancel()
            task.waitForFinished(0)  # 0: as long as it takes (the engine runs one update at a time)
            QgsApplication.processEvents()  # deliver its finished() (which clears self._task)
            if self._task is task:
                self._finished(task, False)

    def shutdown(self) -> None:
        """Stop listening and computing, and wait for a running task (before the panel goes away)."""
        self._closed = True
        self.disconnect_layers()
        self._wait_for_task()


def _bounds_by_fid(layer) -> dict:
    import shapely

    bounds = shapely.bounds(layer.geoms)
    return {int(fid): tuple(b) for fid, b in zip(layer.fids, bounds)}


def _with_sketch(layer, sketch, unit_id_field):
    """The layer plus the polygon being drawn, as one more feature (fid -1)."""
    import numpy as np
    import pandas as pd
    import shapely

    role, geometry, attributes = sketch
    geom = shapely.from_wkb(bytes(geometry.asWkb()))
    row = dict(attributes)
    if role == "units":
        row.setdefault(unit_id_field, SKETCH_ID)
    if layer is None:  # nothing to add the sketch to (the dock only offers sketching on chosen layers)
        return None
    attrs = pd.concat([layer.attrs, pd.DataFrame([row])], ignore_index=True)
    return type(layer)(name=layer.name, geoms=np.append(layer.geoms, geom), attrs=attrs,
                       fids=np.append(layer.fids, -1), crs_wkt=layer.crs_wkt, source=layer.source,
                       available_fields=layer.available_fields)

