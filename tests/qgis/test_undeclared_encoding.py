"""A GBK shapefile whose .dbf declares no code page (corpus case ``gbk_shp_nocodepage``): QGIS decodes
it as UTF-8; the reader decodes it as GBK through a private layer, leaves the planner's layer as it is,
and says so — or, when the layer has unsaved edits, says it could not."""

from __future__ import annotations

import shutil

import pytest
from qgis.core import QgsProject, QgsVectorLayer

from fixtures.paths import ROOT

CASE = ROOT / "tests" / "data" / "bad" / "gbk_shp_nocodepage"
NAMES = ["甲村单元", "乙村单元"]  # what the corpus script wrote in GBK


@pytest.fixture()
def units(tmp_path, qgis_new_project):
    for sidecar in CASE.glob("DY.*"):
        shutil.copy(sidecar, tmp_path / sidecar.name)
    layer = QgsVectorLayer(str(tmp_path / "DY.shp"), "整治单元", "ogr")
    assert layer.isValid()
    assert [f["DYMC"] for f in layer.getFeatures()] != NAMES  # the fault: QGIS alone reads mojibake
    QgsProject.instance().addMapLayer(layer)  # owned by the project, gone with it before QGIS exits
    yield layer
    QgsProject.instance().removeAllMapLayers()


def _warnings(data):
    from land_consolidation.core.ingest.validate import ROLES, Report, polygons

    report = Report()
    polygons(data, ROLES["units"], report)
    return report.warnings


def test_read_as_gbk_and_said_once_leaving_the_layer_alone(units):
    from land_consolidation.qgis_bridge.layer_io import read_layer

    data = read_layer(units, units.name(), ("DYBH", "DYMC"))
    assert list(data.attrs["DYMC"]) == NAMES
    assert data.undeclared_encoding == ("GBK", "甲村单元")  # the first text beyond ASCII, as read
    assert units.dataProvider().encoding() == "UTF-8"  # the planner's layer is not changed


def test_the_panel_snapshot_reads_gbk(units):
    from land_consolidation.ui.live_controller import _Snapshot

    data = _Snapshot(units, "units", ("DYBH",)).read(lambda: False)
    assert list(data.attrs["DYMC"]) == NAMES
    (warning,) = [w for w in _warnings(data) if ".dbf" in w]
    assert "整治单元" in warning and "已按 GBK 读取" in warning and "甲村单元" in warning


def test_unsaved_edits_are_read_as_they_are_and_said(units):
    from land_consolidation.qgis_bridge.layer_io import read_layer

    assert units.startEditing()
    fid = next(units.getFeatures()).id()
    assert units.changeAttributeValue(fid, units.fields().indexOf("DYBH"), "DY09")
    data = read_layer(units, units.name(), ("DYBH", "DYMC"))
    assert "DY09" in list(data.attrs["DYBH"])  # the edit buffer was read
    assert data.undeclared_encoding == ("", "甲村单元")
    (warning,) = [w for w in _warnings(data) if ".dbf" in w]
    assert "未保存的编辑" in warning and "数据源编码设为 GBK" in warning
    units.rollBack()
