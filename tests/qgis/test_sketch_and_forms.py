"""Drawing like a planner: the sketch tool snaps as QGIS does; 子项目 get their form and a generated id."""

import pytest
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsSnappingConfig,
    QgsTolerance,
    QgsVectorLayer,
)
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtWidgets import QApplication

VERTEX = QgsPointXY(500123.25, 3300077.75)


@pytest.fixture()
def snapping_canvas(qgis_canvas, qgis_new_project):
    """A 100 m × 100 m view (about 600 px: 1 px ≈ 1/6 m) of a layer with one square whose corner is VERTEX."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:4549", "有顶点的图层", "memory")
    square = QgsFeature(layer.fields())
    x, y = VERTEX.x(), VERTEX.y()
    square.setGeometry(QgsGeometry.fromPolygonXY([[VERTEX, QgsPointXY(x + 20, y), QgsPointXY(x + 20, y + 20),
                                                   QgsPointXY(x, y + 20), VERTEX]]))
    assert layer.dataProvider().addFeatures([square])[0]
    QgsProject.instance().addMapLayer(layer)
    window = qgis_canvas.window()
    window.show()  # a hidden canvas never gets its size: its map settings would stay a few pixels wide
    QApplication.processEvents()
    assert qgis_canvas.mapSettings().outputSize().width() > 500
    qgis_canvas.setDestinationCrs(layer.crs())
    qgis_canvas.setLayers([layer])
    qgis_canvas.setExtent(QgsRectangle(x - 50, y - 50, x + 50, y + 50))
    qgis_canvas.refresh()
    yield qgis_canvas
    QgsProject.instance().setSnappingConfig(QgsSnappingConfig())
    qgis_canvas.setLayers([])
    window.hide()
    QgsProject.instance().removeAllMapLayers()


def _snapping(enabled):
    config = QgsSnappingConfig(QgsProject.instance())
    config.setEnabled(enabled)
    config.setMode(QgsSnappingConfig.SnappingMode.AllLayers)
    config.setTypeFlag(QgsSnappingConfig.SnappingTypes.VertexFlag)
    config.setTolerance(12)
    config.setUnits(QgsTolerance.UnitType.Pixels)
    QgsProject.instance().setSnappingConfig(config)


def _click_near_vertex(canvas, tool, dx=4, dy=-3):
    """A left click a few pixels from VERTEX, as the canvas would deliver it."""
    pixel = canvas.getCoordinateTransform().transform(VERTEX)
    position = QPoint(round(pixel.x()) + dx, round(pixel.y()) + dy)
    for kind in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress):
        event = QgsMapMouseEvent(canvas, kind, position, Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove
                                 else Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        (tool.canvasMoveEvent if kind == QEvent.Type.MouseMove else tool.canvasPressEvent)(event)
    return tool.points[-1]


def test_a_click_near_a_vertex_snaps_to_it_when_snapping_is_on(snapping_canvas):
    from land_consolidation.ui.sketch_tool import SketchTool

    _snapping(True)
    tool = SketchTool(snapping_canvas)
    snapping_canvas.setMapTool(tool)
    try:
        point = _click_near_vertex(snapping_canvas, tool)
        assert (point.x(), point.y()) == (VERTEX.x(), VERTEX.y())
        assert tool.snap_indicator.match().isValid()
        tool.reset()
        assert not tool.snap_indicator.match().isValid()
    finally:
        snapping_canvas.unsetMapTool(tool)


def test_without_snapping_the_click_stays_where_it_is(snapping_canvas):
    from land_consolidation.ui.sketch_tool import SketchTool

    _snapping(False)
    tool = SketchTool(snapping_canvas)
    snapping_canvas.setMapTool(tool)
    try:
        point = _click_near_vertex(snapping_canvas, tool)
        # 4 px east and 3 px north of the vertex, at 1/6 m a pixel.
        assert point.x() - VERTEX.x() == pytest.approx(4 / 6, abs=0.2)
        assert point.y() - VERTEX.y() == pytest.approx(3 / 6, abs=0.2)
        assert not tool.snap_indicator.match().isValid()
    finally:
        snapping_canvas.unsetMapTool(tool)


# ---------------------------------------------------------------------- the 子项目 form and its ids
def _projects_layer(ids, extra_fields=()):
    from land_consolidation.qgis_bridge.fields import make_field

    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4549", "某县子项目", "memory")
    layer.dataProvider().addAttributes([make_field(name, str) for name in ("XMBH", "XMLX", "GHDLBM", *extra_fields)])
    layer.updateFields()
    features = []
    for xmbh in ids:
        feature = QgsFeature(layer.fields())
        feature["XMBH"] = xmbh
        features.append(feature)
    assert layer.dataProvider().addFeatures(features)[0]
    return layer


def _value_map(layer, field):
    setup = layer.editorWidgetSetup(layer.fields().indexOf(field))
    assert setup.type() == "ValueMap", field
    return [next(iter(entry.items())) for entry in setup.config()["map"]]


def test_the_project_form_on_a_plain_layer_has_the_rulesets_types_and_the_class_codes():
    from land_consolidation.core.rules.landclasses import load_land_classes
    from land_consolidation.core.rules.ruleset import load_ruleset
    from land_consolidation.qgis_bridge import styles

    ruleset, classes = load_ruleset(), load_land_classes()
    layer = _projects_layer(["XM001"], extra_fields=("ZJLY",))
    assert not styles.has_project_form(layer)
    styles.configure_project_form(layer, ruleset, classes)
    assert styles.has_project_form(layer)
    types = _value_map(layer, "XMLX")
    assert [value for _, value in types] == [t for group in ruleset.project_types.values() for t in group]
    task, kind = next((task, kinds[0]) for task, kinds in ruleset.project_types.items())
    assert types[0] == (f"{task}：{kind}", kind)  # labelled by its 5+X task
    codes = dict(_value_map(layer, "GHDLBM"))
    assert list(codes.values()) == list(classes.names)
    assert codes["0101 水田"] == "0101"
    assert [value for _, value in _value_map(layer, "ZJLY")] == list(styles.FUNDING_SOURCES)
    assert layer.attributeAlias(layer.fields().indexOf("XMBH")) == "子项目编号"
    assert layer.editorWidgetSetup(layer.fields().indexOf("XMBH")).type() != "ValueMap"


def test_qgis_own_add_feature_tool_gets_the_next_project_id():
    """A 子项目 added with QGIS's own tools (not the panel's sketch) takes XMBH from the layer's default value:
    XM001 and XM007 there (and a unit-numbered DY01-03 that does not count) → XM008, then XM009 in the same
    edit session; an id the planner types wins."""
    from qgis.core import QgsVectorLayerUtils

    from land_consolidation.core.rules.landclasses import load_land_classes
    from land_consolidation.core.rules.ruleset import load_ruleset
    from land_consolidation.qgis_bridge import styles

    layer = _projects_layer(["XM001", "XM007", "DY01-03"])
    styles.configure_project_form(layer, load_ruleset(), load_land_classes())
    assert layer.startEditing()
    first = QgsVectorLayerUtils.createFeature(layer, QgsGeometry(), {})
    assert first["XMBH"] == "XM008"
    assert layer.addFeature(first)
    assert QgsVectorLayerUtils.createFeature(layer, QgsGeometry(), {})["XMBH"] == "XM009"
    typed = QgsVectorLayerUtils.createFeature(layer, QgsGeometry(), {layer.fields().indexOf("XMBH"): "DY02-05"})
    assert typed["XMBH"] == "DY02-05"
    layer.rollBack()


def test_the_next_project_id():
    from land_consolidation.qgis_bridge.styles import next_project_id

    assert next_project_id(_projects_layer(["XM001", "XM007"])) == "XM008"
    assert next_project_id(_projects_layer([])) == "XM001"
    assert next_project_id(_projects_layer(["XM0099", "DY01-05"])) == "XM0100"  # the width the layer uses
    # In a unit: the unit's id and a sequence above that unit's highest, other units' ids aside.
    layer = _projects_layer(["DY01-01", "DY01-04", "DY02-09", "XM003"])
    assert next_project_id(layer, "DY01") == "DY01-05"
    assert next_project_id(layer, "DY03") == "DY03-01"
    # Features added but not saved count too.
    layer.startEditing()
    added = QgsFeature(layer.fields())
    added["XMBH"] = "DY01-05"
    assert layer.addFeature(added)
    assert next_project_id(layer, "DY01") == "DY01-06"
    layer.rollBack()


def test_a_finished_sketch_gets_the_form_the_id_and_its_unit(dock, project_layers, qgis_iface, monkeypatch):
    from fixtures import grid
    from fixtures.builders import X0, Y0
    from land_consolidation.qgis_bridge.fields import make_field

    projects = project_layers["projects"]
    projects.dataProvider().addAttributes([make_field("DYBH", str)])
    projects.updateFields()
    dock.auto_detect()
    assert dock.apply()
    opened = []
    monkeypatch.setattr(qgis_iface, "openFeatureForm", lambda *args: opened.append(args), raising=False)
    qgis_iface.mapCanvas().setDestinationCrs(projects.crs())
    dock.sketchTypeCombo.setCurrentIndex(dock.sketchTypeCombo.findData("垦造耕地"))
    dock.sketchClassCombo.setCurrentIndex(dock.sketchClassCombo.findData("0103"))
    # A 100 m square in cell (5, 1): inside DY02, which holds DY02-01.
    x, y = X0 + 5 * grid.S + 50, Y0 + grid.S + 50
    sketch = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y), QgsPointXY(x + 100, y), QgsPointXY(x + 100, y + 100),
                                         QgsPointXY(x, y + 100), QgsPointXY(x, y)]])
    dock.sketch_finished("projects", sketch)
    try:
        assert len(opened) == 1
        feature = opened[0][1]
        assert (feature["XMBH"], feature["DYBH"], feature["XMLX"], feature["GHDLBM"]) == (
            "DY02-02", "DY02", "垦造耕地", "0103")
        assert "绘制中" not in str([f["XMBH"] for f in projects.getFeatures()])
        assert [value for _, value in _value_map(projects, "XMLX")] == list(dock.controller.ruleset.all_project_types)
        # Outside every unit: an XM number.
        outside = QgsGeometry(sketch)
        outside.translate(-5 * grid.S - 60, 0)  # x −10 … 90 m: west of DY01, which starts at 100 m
        dock.sketch_finished("projects", outside)
        assert (opened[1][1]["XMBH"], opened[1][1]["DYBH"]) == ("XM001", None)
    finally:
        projects.rollBack()


def test_createscheme_gives_the_projects_layer_the_project_list_fields(plugin_provider, tmp_path):
    import processing
    from land_consolidation.qgis_bridge.styles import FUNDING_SOURCES

    result = processing.run("landconsolidation:createscheme", {"OUTPUT": str(tmp_path / "方案.gpkg")})
    projects = QgsVectorLayer(result["PROJECTS_LAYER"], "p", "ogr")  # the style saved in the GeoPackage
    assert projects.isValid()
    fields = projects.fields()
    aliases = {"SZXZ": "所在乡镇", "SZC": "所在村", "JSGM": "建设规模（亩）", "ZJLY": "资金来源", "SSZT": "实施主体"}
    assert {name: projects.attributeAlias(fields.indexOf(name)) for name in aliases} == aliases
    assert fields.field("JSGM").isNumeric() and not fields.field("ZJLY").isNumeric()
    assert [f.name() for f in fields][1:] == ["XMBH", "XMMC", "XMLX", "GHDLBM", "KCXS", "TZ", "KSNF", "JSNF", "DYBH",
                                               "SZXZ", "SZC", "JSGM", "ZJLY", "SSZT"]  # after the gpkg fid
    assert _value_map(projects, "ZJLY") == [(source, source) for source in FUNDING_SOURCES]
    assert "财政资金" in FUNDING_SOURCES and "社会资本" in FUNDING_SOURCES
