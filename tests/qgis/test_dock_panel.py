"""The dock panel under real edits (edit buffer, undo, commit, rollback): its rows always equal checkunits."""

import time

import pytest
import shapely
from qgis.core import QgsApplication, QgsGeometry, QgsPointXY, QgsProject

from fixtures import grid
from fixtures.builders import X0, Y0
from fixtures.panel import (
    ROLE_LAYERS,
    assert_panel_equals_check,
    wait_until_idle,
)


def test_auto_detect_and_remember_in_project(dock, project_layers):
    guessed = dock.auto_detect()
    assert {role: layer.name() for role, layer in guessed.items()} == ROLE_LAYERS
    assert dock.apply()
    entry, ok = QgsProject.instance().readEntry("land_consolidation", "layers/landuse", "")
    assert ok and entry == project_layers["landuse"].id()
    dock.unitsLayer.setLayer(None)
    assert dock.restore_from_project() and dock.unitsLayer.currentLayer() is project_layers["units"]


def test_edits_update_the_panel_and_equal_checkunits(dock, project_layers):
    dock.auto_detect()
    dock.apply()
    first = assert_panel_equals_check(dock, project_layers)
    units, projects = project_layers["units"], project_layers["projects"]

    # Move a vertex of DY01 (edit buffer, not committed): the panel switches to that unit.
    units.startEditing()
    fid = next(f.id() for f in units.getFeatures() if f["DYBH"] == "DY01")
    x0 = X0 + 2.5 * grid.S
    vertex = next(i for i, p in enumerate(units.getGeometry(fid).vertices()) if abs(p.x() - x0) < 1e-6)
    assert units.moveVertex(x0 + 40.0, units.getGeometry(fid).vertexAt(vertex).y(), fid, vertex)
    moved = assert_panel_equals_check(dock, project_layers)
    assert dock.shown_scope == "DY01"  # the panel follows the unit under edit
    assert moved.indicators.per_unit.loc["DY01", "area_m2"] > first.indicators.per_unit.loc["DY01", "area_m2"]
    assert dock.controller.live.rebuilt_units == 1

    # Undo the move: back to the first figures.
    units.undoStack().undo()
    undone = assert_panel_equals_check(dock, project_layers)
    assert undone.indicators.per_unit.loc["DY01", "area_m2"] == pytest.approx(
        first.indicators.per_unit.loc["DY01", "area_m2"], rel=1e-12)

    # Add a 子项目 (农民集聚安置 on PBF in DY02), then delete one, then roll back.
    projects.startEditing()
    from qgis.core import QgsFeature

    feature = QgsFeature(projects.fields())
    feature.setGeometry(QgsGeometry.fromWkt(grid.STRIP_P3.wkt))
    feature.setAttribute("XMBH", "DY02-02")
    feature.setAttribute("XMLX", "农民集聚安置")
    feature.setAttribute("GHDLBM", "0702")
    assert projects.addFeature(feature)
    added = assert_panel_equals_check(dock, project_layers)
    assert added.indicators.per_unit.loc["DY02", "construction_new_m2"] > 0
    victim = next(f.id() for f in projects.getFeatures() if f["XMBH"] == "DY01-01")
    assert projects.deleteFeature(victim)
    assert_panel_equals_check(dock, project_layers)
    assert projects.rollBack()
    rolled_back = assert_panel_equals_check(dock, project_layers)
    assert rolled_back.indicators.per_unit.loc["DY02", "construction_new_m2"] == 0

    # Commit the unit layer's (undone) edit session.
    assert units.commitChanges()
    assert_panel_equals_check(dock, project_layers)


def test_a_burst_of_edits_shows_only_the_last_state(dock, project_layers):
    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    units = project_layers["units"]
    units.startEditing()
    fid = next(f.id() for f in units.getFeatures() if f["DYBH"] == "DY02")
    for step in range(1, 6):  # five moves in quick succession, no waiting in between
        units.changeGeometry(fid, QgsGeometry.fromWkt(grid.R(3, 0, 6 - 0.1 * step, 4).wkt))
    shown = assert_panel_equals_check(dock, project_layers)
    assert shown.indicators.per_unit.loc["DY02", "area_m2"] == pytest.approx(
        grid.a(grid.R(3, 0, 5.5, 4)), rel=1e-7)
    units.rollBack()


def test_sketch_preview_shows_figures_before_the_polygon_is_finished(dock, project_layers):
    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    sketch = QgsGeometry.fromPolygonXY([[QgsPointXY(X0 + 0, Y0 + 0), QgsPointXY(X0 + 90, Y0),
                                         QgsPointXY(X0 + 90, Y0 + 90), QgsPointXY(X0, Y0)]])
    dock.controller.preview("units", sketch)
    shown = wait_until_idle(dock.controller)
    assert "（绘制中）" in shown.indicators.per_unit.index
    # A 90 m square west of DY01 (which starts at 100 m): all of it is the sketched unit.
    expected = grid.a(shapely.from_wkt(sketch.asWkt()))
    assert shown.indicators.per_unit.loc["（绘制中）", "area_m2"] == pytest.approx(expected, rel=1e-6)
    dock.controller.preview("units", None)
    assert "（绘制中）" not in wait_until_idle(dock.controller).indicators.per_unit.index


def test_clicking_a_conflict_zooms_to_it(dock, project_layers, qgis_iface):
    """The grid scheme has no conflict; a 农民集聚安置 inside the red line makes one, and a click frames it."""
    from qgis.core import QgsFeature

    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    projects = project_layers["projects"]
    projects.startEditing()
    feature = QgsFeature(projects.fields())
    feature.setGeometry(QgsGeometry.fromWkt(grid.P8.wkt))
    for name, value in (("XMBH", "DY01-09"), ("XMLX", "农民集聚安置"), ("GHDLBM", "0702")):
        feature.setAttribute(name, value)
    projects.addFeature(feature)
    shown = wait_until_idle(dock.controller)
    assert any(c.rule_id == "eco_redline_construction" for c in shown.conflicts)
    dock.scopeCombo.setCurrentIndex(0)
    item = next(dock.conflictsList.item(i) for i in range(dock.conflictsList.count())
                if "红线" in dock.conflictsList.item(i).text())
    dock.locate_conflict(item)
    extent = qgis_iface.mapCanvas().extent()
    conflict = shapely.from_wkt(grid.P8.wkt)
    assert extent.contains(QgsPointXY(*conflict.centroid.coords[0]))
    # Framed on the 40 m × 200 m conflict (1.5× margin, stretched on one side to the canvas shape),
    # not on the 1,200 m × 800 m scheme.
    assert min(extent.width() / 60.0, extent.height() / 300.0) <= 1.01
    projects.rollBack()


def test_applying_twice_follows_the_edited_unit_once(dock, project_layers):
    units = project_layers["units"]
    before = units.receivers(units.geometryChanged)
    dock.auto_detect()
    assert dock.apply()
    once = units.receivers(units.geometryChanged)
    assert once == before + 2  # the live controller and the panel (which unit is being edited)
    assert dock.apply()
    assert units.receivers(units.geometryChanged) == once
    dock.shutdown()
    assert units.receivers(units.geometryChanged) == before


def test_a_failing_computation_waits_for_the_next_edit(dock, project_layers):
    """Input the engine refuses is reported once, not recomputed in a loop until the planner edits again."""
    from land_consolidation.core.common.errors import LandConsolidationError

    dock.auto_detect()
    dock.apply()
    wait_until_idle(dock.controller)
    attempts, errors = [], []
    dock.controller.errorRaised.connect(errors.append)

    def refuse(*_args, **_kwargs):
        attempts.append(1)
        raise LandConsolidationError("图层“DY”要素 1：几何无效")

    dock.controller.live.update = refuse
    dock.controller.note(dock.controller._pending.everything())
    deadline = time.monotonic() + 2.0  # well beyond the debounce: a retry loop would run many times
    while time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert len(attempts) == 1 and errors == ["图层“DY”要素 1：几何无效"]
    assert dock.statusLabel.text() == "⚠ 图层“DY”要素 1：几何无效"

    dock.controller.note(dock.controller._pending.everything())  # the planner edits again
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and len(attempts) < 2:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert len(attempts) == 2
