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
    assert dock.statusLabel.text().startswith("⚠") and "已过期" in dock.statusLabel.text()
    assert dock.staleBanner.text() == "以下结果已过期：图层“DY”要素 1：几何无效"

    dock.controller.note(dock.controller._pending.everything())  # the planner edits again
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and len(attempts) < 2:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert len(attempts) == 2


# ---------------------------------------------------------------------------- a panel that survives the day
def _add_project(layer, xmbh, kind, planned, geom):
    from qgis.core import QgsFeature

    layer.startEditing()
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromWkt(geom.wkt))
    for name, value in (("XMBH", xmbh), ("XMLX", kind), ("GHDLBM", planned)):
        feature.setAttribute(name, value)
    assert layer.addFeature(feature)
    return feature.id()


@pytest.fixture()
def slot_errors(monkeypatch):
    """Exceptions raised in Qt slots (PyQt hands them to sys.excepthook): a test expects none."""
    import sys

    errors = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: errors.append(f"{kind.__name__}: {value}"))
    return errors


def test_pickers_start_detected_from_the_names(dock, project_layers):
    """Nothing saved in the project: the panel opens with the detected layers, not the first polygon layer."""
    assert {role: layer.name() for role, layer in dock.roles().items() if layer is not None} == ROLE_LAYERS
    assert dock.unit_id_field() == "DYBH"


def test_pickers_never_default_to_a_wrong_layer(qgis_iface, qgis_new_project):
    from qgis.core import QgsVectorLayer

    from land_consolidation.ui.dock import LandConsolidationDock

    other = QgsVectorLayer("Polygon?crs=EPSG:4549&field=id:integer", "CZKFBJ_2035_备份", "memory")
    strange = QgsVectorLayer("Polygon?crs=EPSG:4549&field=id:integer", "layer_1", "memory")
    QgsProject.instance().addMapLayers([strange, other])
    panel = LandConsolidationDock(qgis_iface)
    try:
        assert panel.unitsLayer.currentLayer() is None and panel.landuseLayer.currentLayer() is None
        assert panel.udbLayer.currentLayer() is other  # named as a 城镇开发边界 is
        assert not panel.apply() and "请先选择图层" in panel.statusLabel.text()
    finally:
        panel.shutdown()
        QgsProject.instance().removeAllMapLayers()


def test_failing_rows_come_first_and_can_be_shown_alone(dock, project_layers):
    from fixtures.panel import in_panel_order, shown_rows

    dock.apply()
    wait_until_idle(dock.controller)
    _add_project(project_layers["projects"], "DY01-09", "农民集聚安置", "0702", grid.P8)  # inside the red line
    shown = assert_panel_equals_check(dock, project_layers)  # rows in panel order (✗, ✓, –)
    statuses = [f.status for f in shown.findings]
    assert "fail" in statuses and statuses.index("fail") > 0  # the engine's order does not start with it
    rows = shown_rows(dock)
    assert rows[0].text(0).startswith("✗")
    marks = [row.text(0)[0] for row in rows]
    assert marks == sorted(marks, key="✗✓–".index)
    assert [row.text(1) for row in rows] == [f.title for f in in_panel_order(shown.findings)]
    dock.failingOnlyCheck.setChecked(True)
    only = shown_rows(dock)
    assert only and all(row.text(0).startswith("✗") for row in only)
    assert len(only) == statuses.count("fail")
    dock.failingOnlyCheck.setChecked(False)
    assert len(shown_rows(dock)) == len(rows)
    project_layers["projects"].rollBack()


def test_a_refused_edit_greys_every_figure_until_the_next_good_result(dock, project_layers, slot_errors):
    from qgis.PyQt.QtGui import QColor

    from fixtures.panel import shown_rows, wait_for_error

    dock.apply()
    wait_until_idle(dock.controller)
    assert not dock.staleBanner.isVisibleTo(dock) and "已过期" not in dock.summaryGroup.title()
    farmland = dock.farmlandValue.text()
    projects = project_layers["projects"]
    # Over DY02-01 (垦造耕地 → 0101) with another planned class: the engine cannot tell the class after.
    fid = _add_project(projects, "DY02-09", "农民集聚安置", "0702", grid.C(4, 2))
    reason = wait_for_error(dock.controller)
    assert "子项目相互重叠" in reason
    assert dock.is_stale and dock.staleBanner.isVisibleTo(dock)
    assert dock.staleBanner.text() == "以下结果已过期：" + reason
    rows = shown_rows(dock)
    assert rows, "the earlier rows stay, greyed"
    for row in rows:
        assert row.text(0)[0] not in "✓✗–" and row.text(0).startswith("⊘ 曾")
        for column in range(5):
            assert row.foreground(column).color() == QColor("#9e9e9e")
            assert row.font(column).strikeOut()
    assert "已过期" in dock.summaryGroup.title() and "line-through" in dock.farmlandValue.styleSheet()
    assert dock.farmlandValue.text() == farmland  # the old figure, visibly out of date
    # The refusal is listed with the warnings; a click selects the two 子项目 it names.
    assert dock.warnings_shown()[0].startswith("⚠ 未能核算：")
    layer, ids = dock.locate_warning(dock.warningsList.item(0))
    assert layer is projects
    assert {projects.getFeature(i)["XMBH"] for i in ids} == {"DY02-01", "DY02-09"}
    # The planner deletes the offending 子项目: the figures are current again.
    assert projects.deleteFeature(fid)
    wait_until_idle(dock.controller)
    assert not dock.is_stale and not dock.staleBanner.isVisibleTo(dock)
    assert all(row.text(0)[0] in "✓✗–" and not row.font(0).strikeOut() for row in shown_rows(dock))
    assert dock.farmlandValue.styleSheet() == ""
    projects.rollBack()
    assert slot_errors == []


def test_engine_warnings_are_listed_and_select_their_features(dock, project_layers, slot_errors):
    from qgis.core import QgsFeature

    dock.apply()
    wait_until_idle(dock.controller)
    units = project_layers["units"]
    units.startEditing()
    feature = QgsFeature(units.fields())
    # A bow-tie (self-intersecting) unit west of DY01: the engine repairs it for the computation and warns.
    x, y = X0, Y0 + 0.2 * grid.S
    feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({x} {y}, {x + 100} {y + 100}, {x + 100} {y}, "
                                            f"{x} {y + 100}, {x} {y}))"))
    feature.setAttribute("DYBH", "DY09")
    assert units.addFeature(feature)
    fid = feature.id()
    shown = wait_until_idle(dock.controller)
    assert any("几何无效" in w for w in shown.warnings)
    texts = dock.warnings_shown()
    item = next(dock.warningsList.item(i) for i, text in enumerate(texts) if "几何无效" in text)
    assert not dock.warningsGroup.isCollapsed() and "警告（" in dock.warningsGroup.title()
    units.setName("整治单元_改名")  # a renamed layer is still found by the role the warning names
    layer, ids = dock.locate_warning(item)
    assert layer is units and ids == [fid] and list(units.selectedFeatureIds()) == [fid]
    units.rollBack()
    wait_until_idle(dock.controller)
    assert not any("几何无效" in text for text in dock.warnings_shown())
    assert slot_errors == []


def test_the_unit_id_field_survives_a_style_change(dock, project_layers):
    """The plugin's unit style sets NOT NULL on DYBH: the field model reloads and fell back to fid."""
    from qgis.core import QgsFieldConstraints

    units = project_layers["units"]
    assert dock.unitIdField.currentField() == "DYBH"
    index = units.fields().indexOf("DYBH")
    units.setFieldConstraint(index, QgsFieldConstraints.Constraint.ConstraintNotNull)
    QgsApplication.processEvents()
    assert dock.unitIdField.currentField() == "DYBH" and dock.unit_id_field() == "DYBH"
    # A field the planner picked (the combo's activated signal) is the one remembered.
    other = next(f.name() for f in units.fields() if f.name() not in ("DYBH", "fid"))
    dock.unitIdField.setCurrentIndex(dock.unitIdField.findText(other))
    dock.unitIdField.activated.emit(dock.unitIdField.currentIndex())
    units.setFieldAlias(index, "单元编号")
    units.removeFieldConstraint(index, QgsFieldConstraints.Constraint.ConstraintNotNull)
    QgsApplication.processEvents()
    assert dock.unitIdField.currentField() == other and dock.unit_id_field() == other


def test_removing_a_layer_in_use_stops_the_check_and_names_its_role(dock, project_layers, slot_errors):
    from fixtures.panel import shown_rows

    dock.apply()
    wait_until_idle(dock.controller)
    assert shown_rows(dock)
    QgsProject.instance().removeMapLayer(project_layers["projects"].id())
    QgsApplication.processEvents()
    assert "子项目" in dock.statusLabel.text() and "已从工程中移除" in dock.statusLabel.text()
    assert shown_rows(dock) == [] and dock.controller.live is None and dock.result is None
    assert dock.farmlandValue.text() == "耕地：—" and dock.scopeCombo.count() == 0
    assert dock.projectsLayer.currentLayer() is None
    assert dock.apply()  # without 子项目: the check runs again on what is left
    wait_until_idle(dock.controller)
    assert shown_rows(dock)
    QgsProject.instance().removeMapLayer(project_layers["units"].id())  # the watched unit layer
    QgsApplication.processEvents()
    assert "整治单元" in dock.statusLabel.text() and shown_rows(dock) == []
    assert not dock.apply()  # no unit layer: refused with a message, no deleted wrapper touched
    dock.shutdown()
    assert slot_errors == []


def test_a_new_project_clears_the_panel(dock, project_layers, slot_errors):
    from fixtures.panel import shown_rows

    dock.apply()
    wait_until_idle(dock.controller)
    _add_project(project_layers["projects"], "DY02-09", "农民集聚安置", "0702", grid.C(4, 2))
    QgsProject.instance().clear()  # 新建工程
    QgsApplication.processEvents()
    assert shown_rows(dock) == [] and dock.result is None and not dock.is_stale
    assert all(layer is None for layer in dock.roles().values())
    assert "工程" in dock.statusLabel.text()
    assert not dock.apply()
    time.sleep(0.3)
    QgsApplication.processEvents()
    assert shown_rows(dock) == [] and dock.warnings_shown() == []
    dock.shutdown()
    assert slot_errors == []


def test_renaming_a_layer_in_use_keeps_the_check_and_its_choices(dock, project_layers, slot_errors):
    """A planner renames 整治单元 in the layer tree: the pickers keep the layer (chosen by id, not by name),
    the check goes on with the next edit, and the saved choice still restores it."""
    from fixtures.panel import shown_rows

    dock.apply()
    wait_until_idle(dock.controller)
    before = shown_rows(dock)
    units = project_layers["units"]
    units.setName("整治单元（第二稿）")
    QgsApplication.processEvents()
    assert dock.unitsLayer.currentLayer() is units and dock.unitIdField.currentField() == "DYBH"
    _add_project(project_layers["projects"], "DY01-09", "农民集聚安置", "0702", grid.P8)
    wait_until_idle(dock.controller)
    assert_panel_equals_check(dock, project_layers)  # the edit was computed, on the renamed layer
    assert len(shown_rows(dock)) == len(before) and not dock.is_stale
    dock.unitsLayer.setLayer(None)
    assert dock.restore_from_project() and dock.unitsLayer.currentLayer() is units
    assert slot_errors == []


def test_opening_another_project_shows_that_projects_layers(dock, project_layers, slot_errors, sample_gpkg,
                                                             tmp_path):
    """Working on one scheme, the planner opens another project file (the sample 片区, saved with its own panel
    settings): the old rows go, no call reaches the old project's deleted layers, the pickers show the new
    project's layers and 应用 checks them."""
    from qgis.core import QgsVectorLayer

    from fixtures.panel import shown_rows

    dock.apply()
    wait_until_idle(dock.controller)
    assert shown_rows(dock)
    old_ids = {layer.id() for layer in project_layers.values()}
    # the other project, written by a second QgsProject so that this one stays open meanwhile
    other = QgsProject()
    for name in ("DY", "DLTB", "XM", "YJJBNTTB", "YJJBNTTB_GH"):
        other.addMapLayer(QgsVectorLayer(f"{sample_gpkg}|layername={name}", name, "ogr"))
    chosen = {"units": "DY", "landuse": "DLTB", "projects": "XM"}  # saved as the panel saves: every role
    for role in ROLE_LAYERS:
        layer_id = other.mapLayersByName(chosen[role])[0].id() if role in chosen else ""
        other.writeEntry("land_consolidation", f"layers/{role}", layer_id)
    other.writeEntry("land_consolidation", "unit_id_field", "DYBH")
    path = tmp_path / "另一片区.qgz"
    assert other.write(str(path))
    other.clear()
    assert QgsProject.instance().read(str(path))
    QgsApplication.processEvents()
    assert dock.result is None and not dock.is_stale and shown_rows(dock) == []
    roles = {role: layer for role, layer in dock.roles().items() if layer is not None}
    assert {role: layer.name() for role, layer in roles.items()} == chosen  # YJJBNTTB stays as saved: empty
    assert roles["units"].source().endswith("layername=DY")
    assert not ({layer.id() for layer in roles.values()} & old_ids)
    assert dock.apply()
    wait_until_idle(dock.controller)
    assert dock.result is not None and set(dock.result.indicators.per_unit.index) >= {"DY01", "DY02", "DY03"}
    assert shown_rows(dock) and slot_errors == []
    dock.shutdown()
