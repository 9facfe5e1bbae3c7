"""部标 TXT export → import round-trips vertices and areas; the file reads as planners' systems expect.

The engine's writer and reader alone: ``tests/engine/test_bubiao_txt.py``.
"""

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

import processing
from fixtures.builders import X0, Y0, geodesic_area, layer
from fixtures.qgis_layers import memory_layer, read_rows
from land_consolidation.core.common.errors import InputError

# Survey coordinates carry millimetres: the default 3 decimals keep them exactly.
SQUARE_WITH_HOLE = Polygon([(X0, Y0), (X0 + 100.123, Y0), (X0 + 100.123, Y0 + 80.456), (X0, Y0 + 80.456)],
                           [[(X0 + 20, Y0 + 20), (X0 + 40.001, Y0 + 20), (X0 + 40.001, Y0 + 30), (X0 + 20, Y0 + 30)]])
TWO_PARTS = MultiPolygon([Polygon([(X0 + 200, Y0), (X0 + 250.5, Y0), (X0 + 225.25, Y0 + 40.004)]),
                         Polygon([(X0 + 300, Y0), (X0 + 330, Y0), (X0 + 330, Y0 + 30), (X0 + 300, Y0 + 30)])])
RECORDS = [{"XMBH": "DY01-01", "XMMC": "垦造耕地一期", "XMLX": "垦造耕地", "GHDLBM": "0101"},
           {"XMBH": "DY01-02", "XMMC": "复垦，二期", "XMLX": "农村建设用地复垦", "GHDLBM": "0103"}]


@pytest.fixture()
def exported(plugin_provider, tmp_path):
    from qgis.core import QgsProject

    source = memory_layer(layer("XM", [SQUARE_WITH_HOLE, TWO_PARTS], RECORDS))
    QgsProject.instance().addMapLayer(source)
    path = tmp_path / "子项目坐标.txt"
    result = processing.run("landconsolidation:exporttxt", {"INPUT": source.id(), "OUTPUT": str(path),
                                                           "PRODUCER": "某县自然资源局"})
    assert result["PARCELS"] == 2
    return path


def test_file_layout(exported):
    raw = exported.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # GBK by default, as the approval systems read it
    lines = raw.decode("gb18030").splitlines()
    assert lines[0] == "[属性描述]" and "带号=40" in lines and "坐标系=2000国家大地坐标系" in lines
    assert "数据产生单位=某县自然资源局" in lines
    start = lines.index("[地块坐标]") + 1
    record = lines[start].split(",")
    assert record[2:5] == ["DY01-01", "垦造耕地一期", "面"] and record[-2:] == ["0101", "@"]
    assert float(record[1]) == pytest.approx(geodesic_area(SQUARE_WITH_HOLE) / 10000, abs=5e-5)
    points = lines[start + 1:start + 1 + int(record[0])]
    assert points[0].startswith("J1,1,") and points[4].startswith("J1,1,")  # outer ring closes on J1
    assert points[5].startswith("J5,2,") and points[9].startswith("J5,2,")  # the hole: ring 2, numbering goes on
    north, east = map(float, points[0].split(",")[2:])
    # The layer is in EPSG:4549 (zone 40, eastings without the zone number): the file keeps its convention.
    assert (north, east) == (Y0 + 80.456, X0)  # J1 is the northwest corner, the layer's own coordinates
    # Outer rings clockwise, holes counter-clockwise, on the map.
    ring = [(float(p.split(",")[3]), float(p.split(",")[2])) for p in points[:5]]
    assert not shapely.LinearRing(ring).is_ccw
    assert lines[start + 1 + int(record[0])].split(",")[3] == "复垦，二期"  # a comma in a name cannot shift fields


def test_round_trip_vertices_and_areas(plugin_provider, exported, tmp_path):
    result = processing.run("landconsolidation:importtxt", {"INPUT": str(exported),
                                                           "OUTPUT": str(tmp_path / "back.gpkg")})
    rows = read_rows(result["OUTPUT"])
    assert [r["DKBH"] for r in rows] == ["DY01-01", "DY01-02"]
    assert [r["DLBM"] for r in rows] == ["0101", "0103"]
    for row, original in zip(rows, (SQUARE_WITH_HOLE, TWO_PARTS)):
        back = shapely.from_wkt(row["_geometry"].asWkt())
        expected = MultiPolygon([original]) if isinstance(original, Polygon) else original
        assert shapely.normalize(back).equals_exact(shapely.normalize(expected), tolerance=1e-9)
        assert geodesic_area(back) == pytest.approx(geodesic_area(original), rel=1e-12)
        assert row["DKMJ"] == pytest.approx(geodesic_area(original) / 10000, abs=5e-5)
    from qgis.core import QgsVectorLayer

    assert QgsVectorLayer(result["OUTPUT"], "x", "ogr").crs().authid() == "EPSG:4549"


def test_export_import_export_is_stable(plugin_provider, exported, tmp_path):
    from qgis.core import QgsProject, QgsVectorLayer

    back = processing.run("landconsolidation:importtxt", {"INPUT": str(exported), "OUTPUT": str(tmp_path / "b.gpkg")})
    layer = QgsVectorLayer(back["OUTPUT"], "b", "ogr")
    QgsProject.instance().addMapLayer(layer)
    again = tmp_path / "again.txt"
    processing.run("landconsolidation:exporttxt", {"INPUT": layer.id(), "OUTPUT": str(again), "ID_FIELD": "DKBH",
                                                  "NAME_FIELD": "DKMC", "USE_FIELD": "DKYT", "CLASS_FIELD": "DLBM",
                                                  "PRODUCER": "某县自然资源局"})
    first = exported.read_bytes().decode("gb18030").split("[地块坐标]")[1]
    second = again.read_bytes().decode("gb18030").split("[地块坐标]")[1]
    assert first == second


def test_files_in_utf16_gbk_and_utf8_decode_alike_and_binary_is_refused():
    from land_consolidation.processing.algorithms.txt_exchange import decode_txt

    text = "[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n5,0.0100,1,甲村地块,面,,,,@\n"
    for data in (text.encode("utf-16"), text.encode("gbk"), text.encode("utf-8-sig"), text.encode("utf-8")):
        assert decode_txt(data, "子项目.txt") == text
    with pytest.raises(InputError, match="子项目.txt.*不是可识别的文本"):
        decode_txt(bytes(range(256)) * 4, "子项目.txt")


# ----------------------------------------------------------------------------- which zone the file is in

# A parcel 144 km east of the 120°E meridian, at ~121.70°E: by longitude it would be in zone 41
# (118.5°–121.5° is zone 40), but a planner whose layer is in zone 40 expects the file in zone 40.
X1 = 664000.0
EAST_OF_ZONE_40 = Polygon([(X1, Y0), (X1 + 100.123, Y0), (X1 + 100.123, Y0 + 80.456), (X1, Y0 + 80.456)])
# Clockwise from the northwest corner, closing on J1: (X north, Y east) of the layer's own vertices.
OWN_POINTS = [(1, Y0 + 80.456, X1), (2, Y0 + 80.456, X1 + 100.123), (3, Y0, X1 + 100.123), (4, Y0, X1),
              (1, Y0 + 80.456, X1)]


def export(source, tmp_path, name="x.txt", **parameters):
    """Export ``source`` (added to the project); the file's header as a dict, its point lines, the log."""
    from qgis.core import QgsProcessingFeedback, QgsProject

    class Feedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.infos = []

        def pushInfo(self, info):
            self.infos.append(info)
            super().pushInfo(info)

    QgsProject.instance().addMapLayer(source)
    path = tmp_path / name
    feedback = Feedback()
    processing.run("landconsolidation:exporttxt", {"INPUT": source.id(), "OUTPUT": str(path), **parameters},
                   feedback=feedback)
    lines = path.read_bytes().decode("gb18030").splitlines()
    start = lines.index("[地块坐标]")
    header = dict(line.split("=", 1) for line in lines[1:start])
    return header, lines[start + 2:], feedback.infos, path


def test_a_layer_in_zone_40_is_written_in_zone_40_with_its_own_coordinates(plugin_provider, tmp_path):
    from land_consolidation.core.geometry.projection import lonlat_bounds

    data = layer("XM", [EAST_OF_ZONE_40], [RECORDS[0]])
    lon_min, _, lon_max, _ = lonlat_bounds(data.geoms, data.crs_wkt)
    assert 121.69 < lon_min < lon_max < 121.71  # the premise: by longitude this parcel is in zone 41
    header, points, log, path = export(memory_layer(data), tmp_path)
    assert header["带号"] == "40" and header["几度分带"] == "3"
    assert points[:5] == [f"J{n},1,{north:.3f},{east:.3f}" for n, north, east in OWN_POINTS]
    assert "按图层坐标系 EPSG:4549 的 40 带输出。" in log
    # The planner may still ask for the zone number on eastings: same zone, eastings + 40 000 000.
    header, prefixed, _, _ = export(memory_layer(data), tmp_path, "prefixed.txt", ZONE_PREFIX=1)
    assert header["带号"] == "40"
    assert prefixed[:5] == [f"J{n},1,{north:.3f},{east + 40_000_000:.3f}" for n, north, east in OWN_POINTS]
    # Both files read back to the layer's own polygon, in EPSG:4549.
    for txt in (path, tmp_path / "prefixed.txt"):
        result = processing.run("landconsolidation:importtxt", {"INPUT": str(txt),
                                                               "OUTPUT": str(tmp_path / f"{txt.stem}.gpkg")})
        back = shapely.from_wkt(read_rows(result["OUTPUT"])[0]["_geometry"].asWkt())
        assert shapely.normalize(back).equals_exact(shapely.normalize(MultiPolygon([EAST_OF_ZONE_40])), tolerance=1e-9)


def test_a_layer_in_zone_40_with_the_zone_number_keeps_it(plugin_provider, tmp_path):
    """EPSG:4528 eastings carry the 40: the file's do too (unless the planner asks otherwise)."""
    shifted = shapely.transform(EAST_OF_ZONE_40, lambda xy: xy + [40_000_000, 0])
    data = layer("XM", [shifted], [RECORDS[0]], crs="EPSG:4528")
    header, points, log, _ = export(memory_layer(data, "EPSG:4528"), tmp_path)
    assert header["带号"] == "40"
    assert points[:5] == [f"J{n},1,{north:.3f},{east + 40_000_000:.3f}" for n, north, east in OWN_POINTS]
    assert "按图层坐标系 EPSG:4528 的 40 带输出。" in log
    _, plain, _, _ = export(memory_layer(data, "EPSG:4528"), tmp_path, "plain.txt", ZONE_PREFIX=False)
    assert plain[:5] == [f"J{n},1,{north:.3f},{east:.3f}" for n, north, east in OWN_POINTS]


def test_a_geographic_layer_gets_the_zone_of_its_longitude(plugin_provider, tmp_path):
    """EPSG:4490 at 121.70°E: zone 41 (121.5°–124.5°), eastings with the zone number as before."""
    square = Polygon([(121.700, 29.950), (121.701, 29.950), (121.701, 29.951), (121.700, 29.951)])
    data = layer("XM", [square], [RECORDS[0]], crs="EPSG:4490")
    header, points, log, _ = export(memory_layer(data, "EPSG:4490"), tmp_path, ZONE_PREFIX=True)
    assert header["带号"] == "41"
    assert any(line.startswith("按数据经度选择 41 带") for line in log)
    north, east = map(float, points[0].split(",")[2:])
    # 1.3° west of 123°E at 29.95°N is about 1.3 × 96.5 km = 125.5 km west of the meridian (500 000),
    # and 29.95°N is about 3 316 km north of the equator.
    assert 41_370_000 < east < 41_380_000 and 3_310_000 < north < 3_320_000
    _, default, _, _ = export(memory_layer(data, "EPSG:4490"), tmp_path, "default.txt")
    _, plain, _, _ = export(memory_layer(data, "EPSG:4490"), tmp_path, "plain.txt", ZONE_PREFIX=0)
    assert default[:5] == points[:5]  # the default for other CRSs is the former checkbox's: with the number
    assert [line.rsplit(",", 1)[1] for line in plain[:5]] == [
        f"{float(line.rsplit(',', 1)[1]) - 41_000_000:.3f}" for line in points[:5]]
