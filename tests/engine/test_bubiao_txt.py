"""The 部标 TXT writer and reader of the engine (``core.formats.bubiao_txt``): ring order and numbering,
what the reader accepts, which CGCS2000 zone an EPSG code is.

Export and import through the toolbox, round trips and zones: ``tests/qgis/test_txt_exchange.py``.
"""

import pytest
from shapely.geometry import MultiPolygon, Polygon

from fixtures.builders import X0, Y0
from land_consolidation.core.common.errors import InputError
from land_consolidation.core.formats.bubiao_txt import read_txt


def test_the_same_polygon_gives_the_same_file_whatever_its_start_vertex_or_part_order():
    """GEOS releases start the rings of a union at different vertices: J1 is always the northwest corner."""
    from land_consolidation.core.formats.bubiao_txt import TxtHeader, TxtParcel, write_txt

    square = [(X0 + 10, Y0), (X0, Y0), (X0, Y0 + 10), (X0 + 10, Y0 + 10)]  # drawn from the southeast corner
    rotated = square[2:] + square[:2]
    triangle = Polygon([(X0 + 50, Y0), (X0 + 60, Y0), (X0 + 55, Y0 + 5)])
    header = TxtHeader(zone=40, date="2026-12-01")

    def text(*parts):
        return write_txt([TxtParcel(geometry=MultiPolygon(list(parts)), number="1", name="", use="", class_code="")],
                         header)

    first = text(Polygon(square), triangle)
    assert first == text(Polygon(rotated), triangle) == text(triangle, Polygon(rotated))
    points = first.split("\r\n")[first.split("\r\n").index("[地块坐标]") + 2:]
    assert points[0] == f"J1,1,{Y0 + 10:.3f},{X0 + 40_000_000:.3f}"  # northwest corner; Y carries the zone
    assert points[5].startswith("J5,2,")  # the northern part (the square) is ring 1, the triangle ring 2
    # A diamond has two vertices as near its northwest corner: the northern one starts, wherever the ring did.
    diamond = [(X0, Y0 + 1), (X0 + 1, Y0), (X0, Y0 - 1), (X0 - 1, Y0)]
    assert len({text(Polygon(diamond[k:] + diamond[:k])) for k in range(4)}) == 1


def test_reader_accepts_utf8_without_zone_prefix_and_refuses_garbage():
    text = ("\ufeff[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=40\n[地块坐标]\n"
            "5,0.0100,1,甲,面,,,,@\n1,1,3316000,620000\n2,1,3316010,620000\n3,1,3316010,620010\n"
            "4,1,3316000,620010\n1,1,3316000,620000\n")
    header, parcels = read_txt(text)
    assert header.zone == 40 and len(parcels) == 1
    assert parcels[0].geometry.area == pytest.approx(100.0) and parcels[0].geometry.bounds[0] == 620000
    with pytest.raises(InputError, match="第 9 行"):
        read_txt(text.replace("3,1,3316010,620010", "3;1;3316010;620010"))


def test_the_gk3_epsg_ranges_are_proj_s():
    """EPSG:4513–4533 are zones 25–45 with the zone number on eastings, 4534–4554 the same zones without."""
    from land_consolidation.core.formats.bubiao_txt import cgcs2000_gk3_zone_of_epsg, cgcs2000_gk_epsg
    from land_consolidation.core.geometry.projection import crs_facts

    for zone in range(25, 46):
        prefixed, plain = 4513 + zone - 25, 4534 + zone - 25
        assert crs_facts(f"EPSG:{prefixed}").name == f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
        assert crs_facts(f"EPSG:{plain}").name == f"CGCS2000 / 3-degree Gauss-Kruger CM {3 * zone}E"
        assert cgcs2000_gk3_zone_of_epsg(prefixed) == (zone, True) and cgcs2000_gk3_zone_of_epsg(plain) == (zone, False)
        assert cgcs2000_gk_epsg(zone, with_prefix=True) == prefixed and cgcs2000_gk_epsg(zone) == plain
    for other in (None, 4490, 4512, 4555, 4502, 2385, 32651):  # geographic, 6° GK, Xian 80, UTM
        assert cgcs2000_gk3_zone_of_epsg(other) is None
