"""Curved and Z/M geometries as GeoPackage and FileGDB hold them, through ``landconsolidation:checkunits`` (issue 13).

GEOS has no arcs: a CurvePolygon or MultiSurface used to end in ``GEOSException: ParseException:
Unknown WKB type 12``. The I/O seam now replaces each arc by chords no farther than
``CURVE_TOLERANCE_M`` from it, says so in one warning per layer, and drops Z and M.

The curved shape is a half-disc of radius R = 90 m on the grid's row 3 (the 生态保护红线, class 0301):
centre (300 m, 600 m) from the grid origin, the diameter along the row's lower edge, the arc above it.
Its plane area is π R² / 2; the engine measures on the ellipsoid, so the hand figure is scaled by the
GK projection's local area scale k² there (the geodesic area of the 200 m cell ÷ its plane area).
Linearising loses at most 2/3 × tolerance × arc length (a chord of sagitta d cuts off about 2/3·d·its
length), so the figures must lie within that of the hand figures — QGIS's default 1° segmentation,
as read before, loses 0.65 m² on this arc, 3.4 times that.
"""

from __future__ import annotations

import itertools
import math

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

import processing
from fixtures import grid
from fixtures.builders import X0, Y0, dltb_record, geodesic_area
from fixtures.qgis_layers import read_rows
from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU
from land_consolidation.qgis_bridge.fields import make_field
from land_consolidation.qgis_bridge.layer_io import CURVE_TOLERANCE_M, curve_tolerance

R = 90.0
CX, CY = X0 + 300.0, Y0 + 600.0           # the half-disc's centre: the middle of cell (1, 3)'s lower edge
K2 = geodesic_area(grid.C(1, 3)) / grid.C(1, 3).area   # the GK projection's area scale at the cell
HALF_DISC_M2 = math.pi * R * R / 2 * K2   # ellipsoidal area of the half-disc, by hand
ARC_M = math.pi * R                       # its arc's length
LOSS_M2 = 2 / 3 * CURVE_TOLERANCE_M * ARC_M * K2   # the most linearising can cut off the half-disc

ARC = f"CircularString({CX - R} {CY}, {CX} {CY + R}, {CX + R} {CY})"
HALF_DISC = f"CurvePolygon(CompoundCurve({ARC}, ({CX + R} {CY}, {CX - R} {CY})))"
x0, y0, x1, y1 = X0 + 200.0, Y0 + 600.0, X0 + 400.0, Y0 + 800.0
_FILES = itertools.count()
CELL_BUT_HALF_DISC = (f"CurvePolygon(CompoundCurve(({x0} {y0}, {CX - R} {CY}), {ARC}, "
                      f"({CX + R} {CY}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0})))")


def _warning_text(layer: str, role: str, n: int, names: str) -> str:
    """``names``: '单元编号 DYBH DY01' or '要素号 1、2' (features are named by their id field where they have one)."""
    return (f"图层“{layer}”（{role}）有 {n} 个要素含曲线（{names}），"
            f"已按最大偏差 {CURVE_TOLERANCE_M:g} 米折线化后参与计算。")


class _Feedback(QgsProcessingFeedback):
    """Keeps the warnings the algorithm pushes."""

    def __init__(self):
        super().__init__()
        self.warnings = []

    def pushWarning(self, text):  # noqa: N802 - Qt's name
        self.warnings.append(text)
        super().pushWarning(text)


def _layer(name, wkb_type, geometries, records, how, tmp_path):
    """A layer of ``wkb_type`` (e.g. "MultiSurfaceZM") holding QgsGeometry ``geometries``: a memory
    layer, or the same written to a GeoPackage (read through GDAL's Arrow interface)."""
    layer = QgsVectorLayer(f"{wkb_type}?crs=EPSG:4549", name, "memory")
    fields = QgsFields()
    for key in dict.fromkeys(k for r in records for k in r):
        values = [r[key] for r in records if r.get(key) is not None]
        kind = float if values and all(isinstance(v, (int, float)) for v in values) else str
        fields.append(make_field(key, kind))
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    features = []
    for geometry, record in zip(geometries, records):
        feature = QgsFeature(layer.fields())
        geometry = QgsGeometry(geometry)
        geometry.convertToMultiType()
        feature.setGeometry(geometry)
        feature.setAttributes([record.get(f.name()) for f in layer.fields()])
        features.append(feature)
    ok, _ = layer.dataProvider().addFeatures(features)
    assert ok
    if how == "gpkg":
        path = str(tmp_path / f"{name}_{next(_FILES)}.gpkg")
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.layerName = name
        error = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, QgsCoordinateTransformContext(), options)
        assert error[0] == QgsVectorFileWriter.WriterError.NoError, error
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def _geometries(shapes):
    return [QgsGeometry.fromWkt(s if isinstance(s, str) else s.wkt) for s in shapes]


def _units(how, tmp_path, first, wkb_type="MultiSurface"):
    records = [{"DYBH": "DY01", "DYMC": "甲"}, {"DYBH": "DY02", "DYMC": "乙"}]
    return _layer("DY", wkb_type, [first, QgsGeometry.fromWkt(grid.UNITS[1].wkt)], records, how, tmp_path)


def _landuse(how, tmp_path, curved=False):
    keys = sorted(grid.RECORDS)
    shapes, records = [grid.C(*k) for k in keys], [grid.RECORDS[k] for k in keys]
    if curved:  # cell (1, 3) (0301) as two parcels split by the arc: the half-disc (0301) and the rest (0702)
        del shapes[keys.index((1, 3))], records[keys.index((1, 3))]
        rest = geodesic_area(grid.C(1, 3)) - HALF_DISC_M2
        shapes += [HALF_DISC, CELL_BUT_HALF_DISC]
        records += [dltb_record("0301", grid.A, HALF_DISC_M2), dltb_record("0702", grid.A, rest)]
    return _layer("DLTB", "MultiSurface", _geometries(shapes), records, how, tmp_path)


def _plain(name, shapes, records=None):
    records = records or [{"ID": k + 1} for k in range(len(shapes))]
    return _layer(name, "MultiPolygon", _geometries(shapes), records, "memory", None)


def _run(tmp_path, units, landuse, project, tag):
    """checkunits on the grid 片区 with ``units``, ``landuse`` and one 农民集聚安置 子项目 (0702) ``project``."""
    parameters = {
        "UNITS": units.id(), "LANDUSE": landuse.id(), "UNIT_ID_FIELD": "DYBH",
        "PBF": _plain("YJJBNTTB", [grid.C(*k) for k in grid.PBF_CELLS]).id(),
        "ECO_REDLINE": _plain("STBHHX", grid.ECO).id(), "UDB": _plain("CZKFBJ", grid.UDB).id(),
        "PROJECTS": _plain("XM", [project], [{"XMBH": "DY01-01", "XMLX": "农民集聚安置", "GHDLBM": "0702"}]).id(),
        "OUTPUT": str(tmp_path / f"check_{tag}.csv"), "CONFLICTS": str(tmp_path / f"conflicts_{tag}.gpkg"),
    }
    feedback = _Feedback()
    outputs = processing.run("landconsolidation:checkunits", parameters, feedback=feedback)
    rows = {(r["scope_id"] or "", r["rule_id"]): r for r in read_rows(outputs["OUTPUT"])}
    conflicts = {}
    for r in read_rows(outputs["CONFLICTS"]):
        key = (r["scope_id"] or "", r["rule_id"])
        conflicts[key] = conflicts.get(key, 0.0) + r["area"]
    return rows, conflicts, feedback.warnings


@pytest.fixture()
def fresh_project(plugin_provider):
    yield
    QgsProject.instance().removeAllMapLayers()


def _mu(m2):
    return m2 / SQUARE_METRES_PER_MU


@pytest.mark.parametrize("how", ["gpkg", "memory"])
def test_a_curved_unit_is_measured_within_the_tolerance_and_reported(fresh_project, tmp_path, how):
    """DY01 is the half-disc, all 0301 inside the red line; a 0702 子项目 over the whole red line turns
    all of it into construction land: 生态保护红线内新增建设用地 of DY01 = the half-disc's area."""
    units = _units(how, tmp_path, QgsGeometry.fromWkt(HALF_DISC))
    assert QgsWkbTypes.isCurvedType(next(units.getFeatures()).geometry().wkbType())
    rows, conflicts, warnings = _run(tmp_path, units, _landuse("memory", tmp_path), grid.ECO[0], how)

    assert _warning_text("DY", "整治单元", 1, "单元编号 DYBH DY01") in warnings
    assert sum("含曲线" in w for w in warnings) == 1  # one per layer, and only the curved one
    row = rows[("DY01", "eco_redline_construction")]
    assert row["status"] == "fail"
    assert float(row["value"]) == pytest.approx(_mu(HALF_DISC_M2), abs=0.005 + _mu(LOSS_M2))
    # the conflict polygons' area is printed to 0.0001 亩; linearised chords lie inside the arc
    area = conflicts[("DY01", "eco_redline_construction")]
    assert _mu(HALF_DISC_M2 - LOSS_M2) - 0.00005 <= area <= _mu(HALF_DISC_M2) + 0.00005


def _zm(wkt_2d: str, kind: str) -> QgsGeometry:
    """The 2-D geometry with Z = 12.5 and M = 3 on every vertex (``kind``: "Z", "M" or "ZM")."""
    geometry = QgsGeometry.fromWkt(wkt_2d)
    shape = geometry.constGet().clone()
    if "Z" in kind:
        shape.addZValue(12.5)
    if "M" in kind:
        shape.addMValue(3.0)
    return QgsGeometry(shape)


@pytest.mark.parametrize("how", ["gpkg", "memory"])
@pytest.mark.parametrize("shape", ["polygon", "curved"])
@pytest.mark.parametrize("kind", ["ZM", "Z", "M"])
def test_a_zm_unit_gives_the_figures_of_its_2d_copy(fresh_project, tmp_path, how, shape, kind):
    wkt = HALF_DISC if shape == "curved" else grid.UNITS[0].wkt
    landuse = _landuse("memory", tmp_path)
    flat = _units(how, tmp_path, QgsGeometry.fromWkt(wkt))
    raised = _zm(wkt, kind)
    assert (QgsWkbTypes.hasZ(raised.wkbType()), QgsWkbTypes.hasM(raised.wkbType())) == ("Z" in kind, "M" in kind)
    wkb_type = "MultiSurface" + kind
    units = _units(how, tmp_path, raised, wkb_type)
    first = next(units.getFeatures()).geometry()
    assert QgsWkbTypes.hasZ(first.wkbType()) == ("Z" in kind) and QgsWkbTypes.hasM(first.wkbType()) == ("M" in kind)
    expected, expected_conflicts, expected_warnings = _run(tmp_path, flat, landuse, grid.ECO[0], "2d")
    rows, conflicts, warnings = _run(tmp_path, units, landuse, grid.ECO[0], kind)
    assert rows.keys() == expected.keys()
    for key, row in rows.items():
        for column in ("status", "value", "threshold", "message"):
            assert row[column] == expected[key][column], (key, column)
    assert conflicts == expected_conflicts
    assert warnings == expected_warnings


@pytest.mark.parametrize("how", ["gpkg", "memory"])
def test_a_curved_parcel_is_measured_within_the_tolerance_and_reported(fresh_project, tmp_path, how):
    """Cell (1, 3) is the half-disc parcel (0301) and the rest of the cell (0702), split by the arc.
    The 0702 子项目 covers x ≤ 240 m of the cell, inside the red line and DY01: it builds on the part of
    the half-disc left of x = 240 m (60 m from the centre), a circular segment cut in two. The parcel's
    area is booked (TBDLMJ) pro rata: TBDLMJ × (segment ÷ half-disc); the rest of the cell is 0702
    already, not new construction land."""
    units = _units("memory", tmp_path, QgsGeometry.fromWkt(grid.UNITS[0].wkt), "MultiPolygon")
    landuse = _landuse(how, tmp_path, curved=True)
    project = grid.R(1, 3, 1.2, 4)
    rows, conflicts, warnings = _run(tmp_path, units, landuse, project, how)

    fids = sorted(f.id() for f in landuse.getFeatures() if QgsWkbTypes.isCurvedType(f.geometry().wkbType())
                  and f.geometry().constGet().hasCurvedSegments())
    assert len(fids) == 2
    assert _warning_text("DLTB", "地类图斑", 2, "要素号 " + "、".join(map(str, fids))) in warnings
    assert sum("含曲线" in w for w in warnings) == 1

    h = 60.0 / R
    share = (math.acos(h) - h * math.sqrt(1 - h * h)) / math.pi   # segment (x ≤ 240 m) ÷ half-disc
    booked = dltb_record("0301", grid.A, HALF_DISC_M2)["TBDLMJ"]
    hand = booked * share
    # both areas of the ratio lose at most 2/3·tolerance·(their arc): the segment's arc is R·acos(h) long
    segment_loss = 2 / 3 * CURVE_TOLERANCE_M * R * math.acos(h) * K2
    slack = hand * (segment_loss / (share * HALF_DISC_M2) + LOSS_M2 / HALF_DISC_M2)
    row = rows[("DY01", "eco_redline_construction")]
    assert row["status"] == "fail"
    assert float(row["value"]) == pytest.approx(_mu(hand), abs=0.005)
    assert conflicts[("DY01", "eco_redline_construction")] == pytest.approx(_mu(hand), abs=_mu(slack) + 0.00005)


def test_the_tolerance_is_in_the_layer_units():
    assert curve_tolerance(QgsCoordinateReferenceSystem("EPSG:4549")) == CURVE_TOLERANCE_M
    degrees = curve_tolerance(QgsCoordinateReferenceSystem("EPSG:4490"))
    assert degrees * 111319.49 == pytest.approx(CURVE_TOLERANCE_M, rel=1e-6)
