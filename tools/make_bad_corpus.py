#!/usr/bin/env python3
"""Build the corpus of bad real-world inputs (issue 13, "real-world data never breaks it").

    /usr/bin/python3 tools/make_bad_corpus.py [outdir]      (default: tests/data/bad)

Writes one tiny dataset per case (one folder each) and ``cases.yaml``, which says which file plays which
role and what the plugin must do with it: give the figures worked out here (and show a warning), or refuse
with a Chinese message. ``tests/qgis/test_bad_corpus.py`` runs every case through checkunits,
landusestructure, the panel's engine and exportunitscheme, and checks that this script, run again, gives
the committed corpus (layer contents, not bytes).

Needs only GDAL/OGR's Python bindings, pyproj and PyYAML (Debian's python3-gdal, python3-pyproj,
python3-yaml): no QGIS and nothing of the plugin, so the expected figures are worked out independently of
the engine. How they are worked out (``Calculator``): every shape is an OGR geometry in EPSG:4549; a piece
is the OGR intersection of a parcel with a unit (and with a 子项目); its area is the geodesic area of its
vertices on GRS80 (pyproj's Geod, Karney), as 三调 ellipsoidal areas are measured; a parcel books its
TBDLMJ pro rata to the piece's share of its area (三调 statistics), TBMJ − TBDLMJ being 田坎; under a
子项目 the piece takes the planned class with its whole booked area (no deduction). 耕地 is 0101, 0102,
0103; 建设用地 the 三调 construction classes listed in ``CONSTRUCTION``.

The layout (metres from X0, Y0 = 620000, 3316000 in EPSG:4549, CGCS2000 3° GK CM 120°E; one township
330281101), the same in every case unless a case says otherwise::

    y 400 +--------+----+--------+------------+--------+
          |P6 0301 |P7  |P8 0702 |P9 0201     |P10 1006|     P11 (0702, 25 m × 20 m) sits in a hole of P9
          | XM1→0103 1104| XM2→0101 (440–500, 200–300)   |
    y 200 +--------+----+--------+------------+--------+
          |P1 0101 |P2  |P3 0101 |P4 0102     |P5 0101 |     PBF: P1, and P3 + P4
          |        |0103|        |            |        |
    y   0 +--------+----+--------+------------+--------+
          0       200  300  (400) 500          800     1000
          DY01 = 0–400, DY02 = 400–800 (y 0–400); P5 and P10 lie outside the units.

Deterministic: the same script writes the same layers (GDAL's dates are fixed with OGR_CURRENT_DATE, the
shapefiles' .dbf dates are set to 2024-01-01).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

if os.path.exists("/usr/share/proj/proj.db"):
    os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
    os.environ.setdefault("PROJ_LIB", "/usr/share/proj")

import pyproj  # noqa: E402 - PROJ_DATA first
import yaml  # noqa: E402
from osgeo import gdal, ogr, osr  # noqa: E402

gdal.UseExceptions()
ogr.UseExceptions()
gdal.SetConfigOption("OGR_CURRENT_DATE", "2024-01-01T00:00:00.000Z")  # GeoPackage timestamps

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "data" / "bad"
# Near Yuyao (宁波): about 121.2°E, 29.95°N, 120 km east of the zone's central meridian, where GK's area
# scale is 1.00035 — a plane area would be off by 0.08 亩 on a 240 亩 unit, so the figures tell the
# ellipsoidal convention from a plane one.
X0, Y0 = 620000.0, 3316000.0
EPSG = 4549
TOWN = "330281101"
MU = 10000.0 / 15.0
FARMLAND = frozenset({"0101", "0102", "0103"})
CONSTRUCTION = frozenset({"05H1", "0508", "0601", "0602", "0603", "0701", "0702", "08H1", "08H2", "08H2A", "0809",
                          "0810", "0810A", "09", "1001", "1002", "1003", "1004", "1005", "1007", "1008", "1009",
                          "1109", "1201"})
NAMES = {"0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0301": "乔木林地", "0702": "农村宅基地",
         "1006": "农村道路", "1104": "坑塘水面"}
FIGURES = ("area_mu", "booked_mu", "farmland_before_mu", "farmland_after_mu", "construction_before_mu",
           "construction_after_mu", "pbf_before_mu")

_GEOD = pyproj.Geod(ellps="GRS80")
_TO_LONLAT: dict[int, pyproj.Transformer] = {}


# ---------------------------------------------------------------------------------------------- geometry
def P(x: float, y: float) -> tuple[float, float]:  # noqa: N802 - a point, offset from the origin
    return (X0 + x, Y0 + y)


def ring_wkt(points) -> str:
    points = list(points)
    if points[0] != points[-1]:
        points.append(points[0])
    return "(" + ", ".join(f"{x:.3f} {y:.3f}" for x, y in points) + ")"


def rect_ring(x0: float, y0: float, x1: float, y1: float, clockwise: bool = False) -> list:
    ring = [P(x0, y0), P(x1, y0), P(x1, y1), P(x0, y1)]
    return ring[::-1] if clockwise else ring


def polygon(*rings) -> ogr.Geometry:
    return ogr.CreateGeometryFromWkt("POLYGON (" + ", ".join(ring_wkt(r) for r in rings) + ")")


def rect(x0: float, y0: float, x1: float, y1: float) -> ogr.Geometry:
    return polygon(rect_ring(x0, y0, x1, y1))


def multipolygon(*polygons: ogr.Geometry) -> ogr.Geometry:
    multi = ogr.Geometry(ogr.wkbMultiPolygon)
    for p in polygons:
        multi.AddGeometry(p)
    return multi


def geodesic_area(geom: ogr.Geometry | None, epsg: int = EPSG) -> float:
    """Ellipsoidal area (m²) of a polygonal OGR geometry: its vertices taken to the ellipsoid and joined by
    geodesics (GRS80), as 三调 areas are measured; curves first replaced by dense chords."""
    if geom is None or geom.IsEmpty():
        return 0.0
    if geom.HasCurveGeometry():
        geom = geom.GetLinearGeometry(0.01)  # chords of 0.01° of arc: within 0.1 mm of a 1 km radius
    if epsg not in _TO_LONLAT:
        _TO_LONLAT[epsg] = pyproj.Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4490", always_xy=True)
    transformer = _TO_LONLAT[epsg]
    total = 0.0
    kind = ogr.GT_Flatten(geom.GetGeometryType())
    if kind in (ogr.wkbMultiPolygon, ogr.wkbGeometryCollection):
        return sum(geodesic_area(geom.GetGeometryRef(k), epsg) for k in range(geom.GetGeometryCount()))
    if kind != ogr.wkbPolygon:
        return 0.0
    for k in range(geom.GetGeometryCount()):
        ring = geom.GetGeometryRef(k)
        xs = [ring.GetX(i) for i in range(ring.GetPointCount())]
        ys = [ring.GetY(i) for i in range(ring.GetPointCount())]
        lon, lat = transformer.transform(xs, ys)
        area = abs(_GEOD.polygon_area_perimeter(lon, lat)[0])
        total += area if k == 0 else -area
    return total


def intersection(a: ogr.Geometry | None, b: ogr.Geometry | None) -> ogr.Geometry | None:
    if a is None or b is None:
        return None
    a = a.GetLinearGeometry(0.01) if a.HasCurveGeometry() else a
    b = b.GetLinearGeometry(0.01) if b.HasCurveGeometry() else b
    out = a.Intersection(b)
    return None if out is None or out.IsEmpty() else out


def arc_points(start: tuple[float, float], end: tuple[float, float], sagitta: float) -> tuple:
    """The midpoint of a circular arc from ``start`` to ``end`` bulging ``sagitta`` metres to the left
    of the chord (negative: to the right), for a CIRCULARSTRING."""
    (x0, y0), (x1, y1) = start, end
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length  # the left normal
    return (mx + nx * sagitta, my + ny * sagitta)


def segment_area(chord: float, sagitta: float) -> float:
    """Plane area of a circular segment (chord, sagitta): R²/2 (θ − sin θ)."""
    radius = (chord * chord / 4 + sagitta * sagitta) / (2 * sagitta)
    theta = 2 * math.asin(chord / (2 * radius))
    return radius * radius / 2 * (theta - math.sin(theta))


def xy(point) -> str:
    return f"{point[0]:.3f} {point[1]:.3f}"


# ---------------------------------------------------------------------------------------------- records
def bsm(k: int) -> str:
    return f"3302811010000{k:05d}"


def zldwdm(village: int) -> str:
    return f"{TOWN}{village:03d}0000000"  # 19 digits: the township is the first 9


def booked(geom: ogr.Geometry, kcxs: float) -> dict:
    """TBMJ, KCMJ, TBDLMJ as 三调 books them (0.01 m²) from the parcel's ellipsoidal area."""
    tbmj = round(geodesic_area(geom), 2)
    kcmj = round(tbmj * kcxs, 2)
    return {"TBMJ": tbmj, "KCXS": kcxs, "KCMJ": kcmj, "TBDLMJ": round(tbmj - kcmj, 2)}


# (number, code, KCXS, village, the rectangle) of the clean survey; P9 has P11's hole.
PARCELS = [
    (1, "0101", 0.10, 1, (0, 0, 200, 200)),
    (2, "0103", 0.15, 1, (200, 0, 300, 200)),
    (3, "0101", 0.10, 1, (300, 0, 500, 200)),
    (4, "0102", 0.08, 2, (500, 0, 800, 200)),
    (5, "0101", 0.10, 2, (800, 0, 1000, 200)),
    (6, "0301", 0.0, 1, (0, 200, 200, 400)),
    (7, "1104", 0.0, 1, (200, 200, 300, 400)),
    (8, "0702", 0.0, 1, (300, 200, 500, 400)),
    (9, "0201", 0.0, 2, (500, 200, 800, 400)),
    (10, "1006", 0.0, 2, (800, 200, 1000, 400)),
    (11, "0702", 0.0, 2, (600, 280, 625, 300)),
]
HOLE = (600, 280, 625, 300)


def parcel_geometry(number: int, box) -> ogr.Geometry:
    if number == 9:
        return polygon(rect_ring(*box), rect_ring(*HOLE, clockwise=True))
    return rect(*box)


def parcel(number: int, code: str, kcxs: float, village: int, geom: ogr.Geometry, **changes) -> dict:
    record = {"BSM": bsm(number), "DLBM": code, "DLMC": NAMES.get(code, ""), "ZLDWDM": zldwdm(village),
              **booked(geom, kcxs)}
    record.update(changes)
    return {"geom": geom, "attrs": record}


def clean_parcels() -> list[dict]:
    return [parcel(n, code, kcxs, village, parcel_geometry(n, box)) for n, code, kcxs, village, box in PARCELS]


UNIT_NAMES = {"DY01": "甲村单元", "DY02": "乙村单元"}


def clean_units() -> list[dict]:
    return [{"geom": rect(0, 0, 400, 400), "attrs": {"DYBH": "DY01", "DYMC": UNIT_NAMES["DY01"]}},
            {"geom": rect(400, 0, 800, 400), "attrs": {"DYBH": "DY02", "DYMC": UNIT_NAMES["DY02"]}}]


def clean_projects() -> list[dict]:
    return [{"geom": rect(0, 300, 200, 400),
             "attrs": {"XMBH": "DY01-01", "XMMC": "甲村垦造耕地项目", "XMLX": "垦造耕地", "GHDLBM": "0103"}},
            {"geom": rect(440, 200, 500, 300),
             "attrs": {"XMBH": "DY02-01", "XMMC": "乙村宅基地复垦项目", "XMLX": "农村建设用地复垦", "GHDLBM": "0101"}}]


def clean_pbf() -> list[dict]:
    return [{"geom": rect(0, 0, 200, 200), "attrs": {"BSM": "330281JB00001"}},
            {"geom": rect(300, 0, 800, 200), "attrs": {"BSM": "330281JB00002"}}]


# ---------------------------------------------------------------------------------------------- figures
class Calculator:
    """The expected headline figures of each unit, worked out from the shapes and records as written
    (see the module's docstring). ``parcels``/``units``/``projects``/``pbf`` are the land as the plugin
    must see it: repaired shapes where a case draws invalid ones, the duplicate left out where the same
    land is drawn twice."""

    def __init__(self, parcels, units, projects, pbf, unit_field: str = "DYBH"):
        self.parcels = [p for p in parcels if p["geom"] is not None and not p["geom"].IsEmpty()]
        self.units = [u for u in units if u["geom"] is not None and not u["geom"].IsEmpty()]
        self.projects = projects
        self.pbf = pbf
        self.unit_field = unit_field

    def figures(self) -> dict:
        return {str(u["attrs"][self.unit_field]): self._unit(u["geom"]) for u in self.units}

    def _unit(self, unit: ogr.Geometry) -> dict:
        area = geodesic_area(unit)
        farm_b = farm_a = cons_b = cons_a = 0.0
        booked_total, surveyed = 0.0, 0.0
        for p in self.parcels:
            record = p["attrs"]
            code = str(record["DLBM"])
            whole = geodesic_area(p["geom"])
            piece = intersection(p["geom"], unit)
            share = geodesic_area(piece) / whole if whole > 0 else 0.0
            if share <= 0:
                continue
            is_booked = record.get("TBMJ") is not None and record.get("TBDLMJ") is not None and record["TBMJ"] > 0
            kcxs = record.get("KCXS")
            main = record["TBDLMJ"] * share if is_booked else whole * share * (1 - (kcxs or 0.0))
            total = record["TBMJ"] * share if is_booked else whole * share
            booked_total += total
            surveyed += whole * share
            under = []
            for project in self.projects:
                part = intersection(piece, project["geom"])
                if part is not None:
                    under.append((geodesic_area(part) / whole, str(project["attrs"]["GHDLBM"])))
            covered = sum(s for s, _ in under)
            kept = main * (1 - covered / share)  # the rest of the piece keeps its class and deduction
            farm_b += main if code in FARMLAND else 0.0
            cons_b += main if code in CONSTRUCTION else 0.0
            farm_a += kept if code in FARMLAND else 0.0
            cons_a += kept if code in CONSTRUCTION else 0.0
            for s, planned in under:  # a 子项目 books the whole of its part in its class (no deduction)
                part_total = total * s / share
                farm_a += part_total if planned in FARMLAND else 0.0
                cons_a += part_total if planned in CONSTRUCTION else 0.0
        pbf = sum(geodesic_area(intersection(f["geom"], unit)) for f in self.pbf)
        booked_total += max(area - surveyed, 0.0)  # land outside the survey: its area, as 未知
        values = (area, booked_total, farm_b, farm_a, cons_b, cons_a, pbf)
        return {name: round(v / MU, 4) for name, v in zip(FIGURES, values)}


# ---------------------------------------------------------------------------------------------- writing
FIELD_TYPES = {
    "BSM": (ogr.OFTString, 18, 0), "DLBM": (ogr.OFTString, 5, 0), "DLMC": (ogr.OFTString, 60, 0),
    "ZLDWDM": (ogr.OFTString, 19, 0), "TBMJ": (ogr.OFTReal, 15, 2), "KCXS": (ogr.OFTReal, 6, 4),
    "KCMJ": (ogr.OFTReal, 15, 2), "TBDLMJ": (ogr.OFTReal, 15, 2), "DYBH": (ogr.OFTString, 20, 0),
    "DYMC": (ogr.OFTString, 254, 0), "XMBH": (ogr.OFTString, 20, 0), "XMMC": (ogr.OFTString, 100, 0),
    "XMLX": (ogr.OFTString, 30, 0), "GHDLBM": (ogr.OFTString, 5, 0), "YDYHFLDM": (ogr.OFTString, 8, 0),
}


def srs_of(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _transform(geom: ogr.Geometry, epsg: int) -> ogr.Geometry:
    """``geom`` (EPSG:4549) in ``epsg``: the vertices transformed (arcs keep their three points)."""
    if epsg == EPSG:
        return geom.Clone()
    out = geom.Clone()
    out.AssignSpatialReference(srs_of(EPSG))
    out.TransformTo(srs_of(epsg))
    return out


def write_layer(path: Path, driver: str, name: str, features: list[dict], geometry_type: int, epsg: int = EPSG,
                fields=None, options=(), dataset_options=(), field_types=None, declared: int | None = None) -> None:
    """Write ``features`` ({"geom": OGR geometry in EPSG:4549 or None, "attrs": {...}}) as layer ``name``
    (in ``epsg``) of ``path`` (a GeoPackage or FileGDB, added to; or a shapefile folder)."""
    drv = ogr.GetDriverByName(driver)
    if driver == "ESRI Shapefile":
        ds = drv.CreateDataSource(str(path))
    elif path.exists():
        ds = ogr.Open(str(path), update=1)
    else:
        ds = drv.CreateDataSource(str(path), options=list(dataset_options))
    srs = srs_of(declared or epsg) if epsg else None
    layer = ds.CreateLayer(name, srs, geometry_type, options=list(options))
    names = fields or list(dict.fromkeys(k for f in features for k in f["attrs"]))
    for field in names:
        kind, width, precision = (field_types or {}).get(field) or FIELD_TYPES.get(field, (ogr.OFTString, 254, 0))
        definition = ogr.FieldDefn(field, kind)
        if kind == ogr.OFTString and driver != "ESRI Shapefile":
            width = 0  # TEXT of any length (GeoPackage) / the driver's default (FileGDB)
        definition.SetWidth(width)
        definition.SetPrecision(precision)
        layer.CreateField(definition)
    definition = layer.GetLayerDefn()
    for f in features:
        feature = ogr.Feature(definition)
        for field, value in f["attrs"].items():
            if value is None:
                feature.SetFieldNull(field)
            else:
                feature.SetField(field, value)
        geom = f["geom"]
        if geom is not None:
            if ogr.GT_Flatten(geometry_type) == ogr.wkbMultiPolygon and \
                    ogr.GT_Flatten(geom.GetGeometryType()) == ogr.wkbPolygon:
                geom = ogr.ForceToMultiPolygon(geom.Clone())
            feature.SetGeometry(_transform(geom, epsg) if epsg else geom)
        layer.CreateFeature(feature)
    ds = None  # noqa: F841 - closes the file


def as_type(geom: ogr.Geometry | None, kind: str) -> ogr.Geometry | None:
    """``geom`` made multi (``"multi"``), or with Z (12.5) / M (3.0) on every vertex (``"Z"``, ``"M"``, ``"ZM"``)."""
    if geom is None:
        return None
    out = ogr.ForceToMultiPolygon(geom.Clone()) if ogr.GT_Flatten(geom.GetGeometryType()) == ogr.wkbPolygon \
        else geom.Clone()
    if kind == "multi":
        return out
    wkt = out.ExportToIsoWkt()
    head, body = wkt.split(" ", 1)
    suffix = {"Z": " Z", "M": " M", "ZM": " ZM"}[kind]
    extra = {"Z": " 12.5", "M": " 3", "ZM": " 12.5 3"}[kind]
    body = re.sub(r"(-?\d+\.?\d*) (-?\d+\.?\d*)", lambda m: m.group(0) + extra, body)
    return ogr.CreateGeometryFromWkt(head + suffix + " " + body)


def fix_dbf(path: Path, ldid: int | None = None) -> None:
    """Set a .dbf's last-update date to 2024-01-01 (deterministic bytes) and, given ``ldid``, its
    language driver id (byte 29: 0x4D is GBK / code page 936, 0 none)."""
    data = bytearray(path.read_bytes())
    data[1:4] = bytes((124, 1, 1))
    if ldid is not None:
        data[29] = ldid
    path.write_bytes(bytes(data))


def write_scheme(folder: Path, fmt: str, layers: dict, epsg: dict | None = None, types: dict | None = None,
                 encoding: str = "UTF-8", spatial_index: bool = False, field_types: dict | None = None,
                 declared: dict | None = None, fields: dict | None = None) -> dict:
    """Write the layers ({"DLTB": [...], "DY": [...], …}) into ``folder`` as ``fmt`` ("gpkg", "gdb", "shp"),
    each in ``epsg`` (layer → EPSG code, default 4549); ``declared`` (layer → EPSG code) labels a layer with
    another CRS than its coordinates are in; ``field_types`` overrides ``FIELD_TYPES``; ``fields`` (layer →
    names) gives the fields of a layer without features. Returns the
    layer → source text (relative to the corpus) of cases.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    epsg = epsg or {}
    types = types or {}
    roles = {}
    for name, features in layers.items():
        kind = types.get(name, ogr.wkbMultiPolygon)
        if fmt == "gpkg":
            path = folder / "data.gpkg"
            write_layer(path, "GPKG", name, features, kind, epsg.get(name, EPSG),
                        options=[] if spatial_index else ["SPATIAL_INDEX=NO"], field_types=field_types,
                        declared=(declared or {}).get(name), fields=(fields or {}).get(name))
            roles[name] = f"{folder.name}/data.gpkg|layername={name}"
        elif fmt == "gdb":
            path = folder / "data.gdb"
            write_layer(path, "OpenFileGDB", name, features, kind, epsg.get(name, EPSG),
                        options=["TARGET_ARCGIS_VERSION=ARCGIS_PRO_3_2_OR_LATER"] if kind != ogr.wkbMultiPolygon
                        else [])
            roles[name] = f"{folder.name}/data.gdb|layername={name}"
        else:
            write_layer(folder, "ESRI Shapefile", name, features, kind if kind != ogr.wkbMultiPolygon else ogr.wkbPolygon,
                        epsg.get(name, EPSG), options=[f"ENCODING={encoding}"])
            fix_dbf(folder / f"{name}.dbf")
            roles[name] = f"{folder.name}/{name}.shp"
    if fmt == "gpkg":
        compact(folder / "data.gpkg")
    return roles


def compact(path: Path) -> None:
    """Pages of 512 bytes, SQLite's smallest (its default 4 KiB leaves a tiny GeoPackage mostly empty pages)."""
    connection = sqlite3.connect(str(path))
    try:
        connection.isolation_level = None
        connection.execute("PRAGMA page_size=512")
        connection.execute("VACUUM")
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------- cases
def scheme(parcels=None, units=None, projects=None, pbf=None) -> dict:
    return {"DLTB": parcels if parcels is not None else clean_parcels(),
            "DY": units if units is not None else clean_units(),
            "XM": projects if projects is not None else clean_projects(),
            "YJJBNTTB": pbf if pbf is not None else clean_pbf()}


def figures_of(layers: dict, **overrides) -> dict:
    land = {**layers, **overrides}
    return Calculator(land["DLTB"], land["DY"], land["XM"], land["YJJBNTTB"]).figures()


class Corpus:
    def __init__(self, out: Path):
        self.out = out
        self.cases: dict[str, dict] = {}

    def add(self, name: str, description: str, roles: dict, expect: dict, **extra) -> None:
        self.cases[name] = {"description": description, "layers": roles, **extra, "expect": expect}


def _figures_expect(figures: dict, warnings=(), names=None, tolerance=None, **extra) -> dict:
    expect = {"figures": figures, "warnings": list(warnings)}
    if names is not None:
        expect["names"] = names
    if tolerance is not None:
        expect["tolerance"] = tolerance
    expect.update(extra)
    return expect


def build(out: Path) -> dict:
    corpus = Corpus(out)
    clean = scheme()
    clean_figures = figures_of(clean)

    # -- clean: the reference every other case is measured against
    corpus.add("clean", "三调 survey, units, 子项目 and PBF as they should be (GeoPackage, EPSG:4549).",
               write_scheme(out / "clean", "gpkg", clean, spatial_index=True),
               _figures_expect(clean_figures, names=UNIT_NAMES, no_warnings=True))

    # -- shapefiles in GBK (Chinese Windows software writes them so): with a .cpg, with the language
    # driver id only, with no code page at all (read as GBK from the text itself, with a warning)
    gbk_cases = (
        ("gbk_shp_cpg", True, 0, "Shapefiles in GBK with a .cpg (CP936), as ArcGIS on Chinese Windows writes them.",
         _figures_expect(clean_figures, names=UNIT_NAMES, no_warnings=True)),
        ("gbk_shp_ldid", False, 0x4D, "Shapefiles in GBK without .cpg; the .dbf's language driver id is 0x4D (GBK).",
         _figures_expect(clean_figures, names=UNIT_NAMES, no_warnings=True)),
        ("gbk_shp_nocodepage", False, 0, "Shapefiles in GBK with no code page at all (no .cpg, LDID 0): old "
         "software and hand-copied .dbf files; read as GBK, said once per layer with a name as read.",
         _figures_expect(clean_figures, ["的 .dbf 没有声明编码", "已按 GBK 读取", "甲村单元"], names=UNIT_NAMES)),
    )
    for case, keep_cpg, ldid, description, expect in gbk_cases:
        roles = write_scheme(out / case, "shp", clean, encoding="CP936")
        for name in clean:  # whatever LDID this GDAL writes for CP936, the case sets its own
            if not keep_cpg:
                (out / case / f"{name}.cpg").unlink()
            fix_dbf(out / case / f"{name}.dbf", ldid=ldid)
        corpus.add(case, description, roles, expect)

    # -- FileGDB (GDAL 3.6's OpenFileGDB writes it)
    if ogr.GetDriverByName("OpenFileGDB").GetMetadataItem("DCAP_CREATE") == "YES":
        corpus.add("filegdb", "A FileGDB (.gdb folder) holding the four layers.",
                   write_scheme(out / "filegdb", "gdb", clean),
                   _figures_expect(clean_figures, names=UNIT_NAMES, no_warnings=True))
    else:  # pragma: no cover - GDAL before 3.6
        corpus.add("filegdb", "A FileGDB: not written, this GDAL's OpenFileGDB cannot create one.", {},
                   {"figures": clean_figures, "warnings": []},
                   skip="GDAL's OpenFileGDB driver cannot create FileGDB here (GDAL < 3.6)")

    _curved(corpus, out)
    _zm(corpus, out, clean_figures)

    # -- null and empty geometries: skipped with a warning
    parcels = clean_parcels() + [parcel(21, "0101", 0.1, 1, None), parcel(22, "0103", 0.1, 1, None)]
    parcels[-2]["geom"] = None
    parcels[-1]["geom"] = ogr.Geometry(ogr.wkbMultiPolygon)  # empty
    for p, area in zip(parcels[-2:], (1234.5, 678.9)):
        p["attrs"].update(TBMJ=area, KCMJ=round(area * 0.1, 2), TBDLMJ=round(area - round(area * 0.1, 2), 2))
    units = clean_units() + [{"geom": None, "attrs": {"DYBH": "DY03", "DYMC": "丙村单元"}}]
    layers = scheme(parcels, units)
    corpus.add("null_empty_geometries", "A parcel without geometry, a parcel with an empty one, a unit without "
               "geometry (GeoPackage).", write_scheme(out / "null_empty_geometries", "gpkg", layers),
               _figures_expect(clean_figures, warnings=[f"{bsm(21)}、{bsm(22)} 无几何，已跳过", "DY03 无几何，已跳过"],
                               names=UNIT_NAMES))

    # -- multipart units: DY01 in two parts, leaving out the column x 200–300
    units = clean_units()
    units[0]["geom"] = multipolygon(rect(0, 0, 200, 400), rect(300, 0, 400, 400))
    layers = scheme(units=units)
    corpus.add("multipart_units", "DY01 is one feature of two disjoint parts (x 0–200 and 300–400).",
               write_scheme(out / "multipart_units", "gpkg", layers), _figures_expect(figures_of(layers), no_warnings=True))

    # -- the same parcel digitised twice (same BSM), less than 1 % of the layer: counted once
    parcels = clean_parcels()
    twin = parcel(11, "0702", 0.0, 2, rect(*HOLE))
    layers = scheme(parcels + [twin])
    corpus.add("parcel_twice", "P11 (500 m², 0.1 % of the layer) digitised twice with the same BSM.",
               write_scheme(out / "parcel_twice", "gpkg", layers),
               _figures_expect(clean_figures, warnings=[f"{bsm(11)} 与 {bsm(11)}", "重叠部分只计一次"]))

    # -- most of the layer doubled: refused
    copies = [parcel(100 + n, code, kcxs, village, parcel_geometry(n, box))
              for n, code, kcxs, village, box in PARCELS if n <= 9]
    corpus.add("layer_doubled", "P1–P9 (90 % of the survey's land) appended again under new BSMs, as a layer loaded twice.",
               write_scheme(out / "layer_doubled", "gpkg", scheme(clean_parcels() + copies)),
               {"error": ["要素相互重叠，面积会被重复统计", f"{bsm(1)} 与 {bsm(101)}", "超过 1%"]})

    # -- TBDLMJ ≠ TBMJ − KCMJ: warned with the BSM and the difference, used as recorded
    parcels = clean_parcels()
    parcels[1]["attrs"]["TBDLMJ"] = round(parcels[1]["attrs"]["TBDLMJ"] + 30.0, 2)
    layers = scheme(parcels)
    corpus.add("tbdlmj_mismatch", "P2's TBDLMJ is 30 m² more than TBMJ − KCMJ; the figures use TBDLMJ as recorded.",
               write_scheme(out / "tbdlmj_mismatch", "gpkg", layers),
               _figures_expect(figures_of(layers), warnings=[f"{bsm(2)}（相差 30.00 平方米）", "TBDLMJ（图斑地类面积）"]))

    # -- KCXS typed as a percentage where it decides the area (no TBMJ/TBDLMJ): refused
    parcels = clean_parcels()
    parcels[1]["attrs"].update(KCXS=15.0, TBMJ=None, KCMJ=None, TBDLMJ=None)
    corpus.add("kcxs_percent", "P2 has no TBMJ/TBDLMJ and KCXS 15 (a percentage typed for 0.15).",
               write_scheme(out / "kcxs_percent", "gpkg", scheme(parcels)),
               {"error": ["KCXS", bsm(2), "不在 0 与 1 之间"]})
    parcels = clean_parcels()
    parcels[1]["attrs"]["KCXS"] = 15.0
    corpus.add("kcxs_percent_unused", "P2 has KCXS 15 but its TBMJ/TBDLMJ are booked: warned, TBDLMJ used.",
               write_scheme(out / "kcxs_percent_unused", "gpkg", scheme(parcels)),
               _figures_expect(clean_figures, warnings=[f"{bsm(2)} 的扣除系数 15 不在 0 与 1 之间", "未用此值"]))

    # -- class codes: unknown (letter O for zero) warned and counted as 未知; a dropped leading zero restored
    parcels = clean_parcels()
    parcels[0]["attrs"]["DLBM"] = "O101"
    layers = scheme(parcels)
    corpus.add("unknown_class_code", "P1's DLBM is 'O101' (the letter O): not a 三调 code.",
               write_scheme(out / "unknown_class_code", "gpkg", layers),
               _figures_expect(figures_of(layers), warnings=["O101（1 个）", "不是三调工作分类编码"]))
    parcels = clean_parcels()
    for p in parcels:
        p["attrs"]["DLBM"] = int(p["attrs"]["DLBM"])
    corpus.add("code_leading_zero_dropped", "DLBM is an integer field (0101 → 101, 0702 → 702 …), as a spreadsheet "
               "turned into a layer leaves it.",
               write_scheme(out / "code_leading_zero_dropped", "gpkg", scheme(parcels),
                            field_types={"DLBM": (ogr.OFTInteger, 5, 0)}),
               _figures_expect(clean_figures, warnings=["缺少首位 0", bsm(1), "请把该字段改为文本类型"]))

    _bowtie(corpus, out)
    _several_crs(corpus, out, clean_figures)

    # -- a point layer given as units
    points = [{"geom": ogr.CreateGeometryFromWkt(f"POINT ({xy(P(200, 200))})"), "attrs": {"DYBH": "DY01", "DYMC": "甲村单元"}},
              {"geom": ogr.CreateGeometryFromWkt(f"POINT ({xy(P(600, 200))})"), "attrs": {"DYBH": "DY02", "DYMC": "乙村单元"}}]
    corpus.add("point_units", "The units layer holds points (the village centres), not polygons.",
               write_scheme(out / "point_units", "gpkg", scheme(units=points), types={"DY": ogr.wkbPoint}),
               {"error": ["应为面图层"]})

    # -- unit ids: duplicated, empty
    units = clean_units()
    units[1]["attrs"]["DYBH"] = "DY01"
    corpus.add("duplicate_unit_ids", "Both units are numbered DY01.",
               write_scheme(out / "duplicate_unit_ids", "gpkg", scheme(units=units)),
               {"error": ["单元编号重复", "DY01"]})
    units = clean_units()
    units[1]["attrs"]["DYBH"] = ""
    corpus.add("empty_unit_id", "DY02's DYBH is empty.", write_scheme(out / "empty_unit_id", "gpkg", scheme(units=units)),
               {"error": ["单元编号为空"]})

    # -- units drawn over each other
    units = clean_units()
    units[1]["geom"] = rect(350, 0, 800, 400)
    corpus.add("overlapping_units", "DY02 drawn 50 m into DY01 (x 350–400): the land would be counted twice.",
               write_scheme(out / "overlapping_units", "gpkg", scheme(units=units)),
               {"error": ["要素相互重叠", "DY01", "DY02"]})

    # -- a layer labelled with another CRS than its coordinates are in
    corpus.add("wrong_crs_declared", "DY's coordinates are EPSG:4549 metres but the layer says EPSG:4490 (degrees).",
               write_scheme(out / "wrong_crs_declared", "gpkg", scheme(), declared={"DY": 4490}),
               {"error": ["DY", "与数据实际的坐标系不符"]})

    # -- a 子项目 whose planned class is not a 三调 code: a plan is refused, to be fixed at source
    projects = clean_projects()
    projects[0]["attrs"]["GHDLBM"] = "0130"
    corpus.add("project_unknown_class", "DY01-01's GHDLBM is '0130' (digits swapped).",
               write_scheme(out / "project_unknown_class", "gpkg", scheme(projects=projects)),
               {"error": ["GHDLBM", "0130", "不是三调工作分类编码"]})

    _hostile(corpus, out)
    _pending(corpus, out, clean, clean_figures)
    return corpus.cases


def _curved(corpus: Corpus, out: Path) -> None:
    """Arcs as GeoPackage stores them: the boundary between P1 and P6 bulges 20 m north (P1 gains the
    segment, P6 loses it), and the boundary between DY01 and DY02 bulges 20 m east (DY01 gains the
    segment, split evenly between P3 and P8 by the line y = 200 through its middle)."""
    b0, b1 = P(0, 200), P(200, 200)
    mid_b = arc_points(b0, b1, 20.0)  # left of west→east: north
    u0, u1 = P(400, 0), P(400, 400)
    mid_u = arc_points(u0, u1, -20.0)  # right of south→north: east
    arc_b = f"CIRCULARSTRING ({xy(b0)}, {xy(mid_b)}, {xy(b1)})"
    arc_u = f"CIRCULARSTRING ({xy(u0)}, {xy(mid_u)}, {xy(u1)})"
    arc_b_back = f"CIRCULARSTRING ({xy(b1)}, {xy(mid_b)}, {xy(b0)})"
    arc_u_back = f"CIRCULARSTRING ({xy(u1)}, {xy(mid_u)}, {xy(u0)})"
    p1 = ogr.CreateGeometryFromWkt(f"CURVEPOLYGON (COMPOUNDCURVE (({xy(P(0, 0))}, {xy(P(200, 0))}, {xy(b1)}), "
                                   f"{arc_b_back}, ({xy(b0)}, {xy(P(0, 0))})))")
    p6 = ogr.CreateGeometryFromWkt(f"CURVEPOLYGON (COMPOUNDCURVE ({arc_b}, ({xy(b1)}, {xy(P(200, 400))}, "
                                   f"{xy(P(0, 400))}, {xy(b0)})))")
    dy01 = ogr.CreateGeometryFromWkt(f"CURVEPOLYGON (COMPOUNDCURVE (({xy(P(0, 0))}, {xy(u0)}), {arc_u}, "
                                     f"({xy(u1)}, {xy(P(0, 400))}, {xy(P(0, 0))})))")
    dy02 = ogr.CreateGeometryFromWkt(f"CURVEPOLYGON (COMPOUNDCURVE (({xy(u0)}, {xy(P(800, 0))}, {xy(P(800, 400))}, "
                                     f"{xy(u1)}), {arc_u_back}))")
    parcels = clean_parcels()
    for k, geom in ((0, p1), (5, p6)):
        n, code, kcxs, village, _ = PARCELS[k]
        parcels[k] = parcel(n, code, kcxs, village, geom)
    units = clean_units()
    units[0]["geom"] = dy01
    units[1]["geom"] = dy02
    layers = scheme(parcels, units)
    figures = figures_of(layers)
    # Cross-check of the calculator on arcs, by the segment formula scaled by GK's local area scale:
    # DY01 gains and DY02 loses one segment of chord 400 m and sagitta 20 m.
    scale = geodesic_area(rect(0, 0, 800, 400)) / (800.0 * 400.0)
    segment = segment_area(400.0, 20.0) * scale
    plain = figures_of(scheme())
    for unit, sign in (("DY01", 1), ("DY02", -1)):
        assert abs((figures[unit]["area_mu"] - plain[unit]["area_mu"]) * MU - sign * segment) < 0.5, (unit, segment)
    types = {"DLTB": ogr.wkbMultiSurface, "DY": ogr.wkbMultiSurface}
    multi = {"DLTB": [dict(p, geom=_multi_surface(p["geom"])) for p in parcels],
             "DY": [dict(u, geom=_multi_surface(u["geom"])) for u in units], "XM": layers["XM"],
             "YJJBNTTB": layers["YJJBNTTB"]}
    corpus.add("curved", "Curved parcels (P1, P6) and curved units (DY01, DY02) as MultiSurface of CurvePolygons "
               "in a GeoPackage.", write_scheme(out / "curved", "gpkg", multi, types=types),
               _figures_expect(figures, warnings=["有 2 个要素含曲线（标识码 BSM " + f"{bsm(1)}、{bsm(6)}）",
                                                  "有 2 个要素含曲线（单元编号 DYBH DY01、DY02）"]))


def _multi_surface(geom: ogr.Geometry) -> ogr.Geometry:
    if ogr.GT_Flatten(geom.GetGeometryType()) == ogr.wkbCurvePolygon:
        multi = ogr.Geometry(ogr.wkbMultiSurface)
        multi.AddGeometry(geom)
        return multi
    if ogr.GT_Flatten(geom.GetGeometryType()) == ogr.wkbPolygon:
        return ogr.ForceToMultiPolygon(geom.Clone())
    return geom


def _zm(corpus: Corpus, out: Path, clean_figures: dict) -> None:
    """Z and M as survey instruments and CAD exports leave them: DLTB MultiPolygon ZM, DY Z, XM M, PBF Z."""
    clean = scheme()
    kinds = {"DLTB": ("ZM", ogr.wkbMultiPolygonZM), "DY": ("Z", ogr.wkbMultiPolygon25D),
             "XM": ("M", ogr.wkbMultiPolygonM), "YJJBNTTB": ("Z", ogr.wkbMultiPolygon25D)}
    layers = {name: [dict(f, geom=as_type(f["geom"], kinds[name][0])) for f in features]
              for name, features in clean.items()}
    corpus.add("zm", "Z and M values on every vertex (DLTB ZM, DY Z, XM M, PBF Z) in a GeoPackage.",
               write_scheme(out / "zm", "gpkg", layers, types={k: v[1] for k, v in kinds.items()}),
               _figures_expect(clean_figures, names=UNIT_NAMES, no_warnings=True))


def _bowtie(corpus: Corpus, out: Path) -> None:
    """DY02 drawn as a bowtie (its corners in the wrong order) and P4 too: repaired as the two triangles
    each ring's loops enclose (the engine's repair keeps what was drawn); the land between the
    triangles of P4 is then outside the survey (未知), and P4's booked TBDLMJ is spread over its
    triangles pro rata."""
    units = clean_units()
    units[1]["geom"] = polygon([P(400, 0), P(800, 400), P(800, 0), P(400, 400)])
    parcels = clean_parcels()
    parcels[3]["geom"] = polygon([P(500, 0), P(800, 200), P(800, 0), P(500, 200)])  # TBMJ as booked for 300 × 200
    layers = scheme(parcels, units)
    # The repaired shapes, by hand: each bowtie's two loops meet where its diagonals cross.
    repaired_units = clean_units()
    repaired_units[1]["geom"] = multipolygon(polygon([P(400, 0), P(600, 200), P(400, 400)]),
                                             polygon([P(600, 200), P(800, 400), P(800, 0)]))
    repaired = clean_parcels()
    repaired[3]["geom"] = multipolygon(polygon([P(500, 0), P(650, 100), P(500, 200)]),
                                       polygon([P(650, 100), P(800, 200), P(800, 0)]))
    repaired[3]["attrs"] = parcels[3]["attrs"]
    figures = figures_of(layers, DLTB=repaired, DY=repaired_units)
    # DY02's land between P4's triangles (two triangles of 150 m × 100 m) is outside the survey:
    gaps = [polygon([P(500, 0), P(800, 0), P(650, 100)]), polygon([P(500, 200), P(650, 100), P(800, 200)])]
    outside = sum(geodesic_area(intersection(g, repaired_units[1]["geom"])) for g in gaps) / MU
    corpus.add("invalid_bowtie", "DY02 and P4 are self-intersecting bowties: repaired, with warnings.",
               write_scheme(out / "invalid_bowtie", "gpkg", layers),
               _figures_expect(figures, warnings=[f"{bsm(4)} 几何无效", "DY02 几何无效",
                                                  f"DY02 有 {outside:.2f} 亩不在地类图斑范围内"]))


def _several_crs(corpus: Corpus, out: Path, clean_figures: dict) -> None:
    """DLTB and PBF in EPSG:4549, the units in EPSG:4490 (longitude, latitude), the 子项目 in EPSG:4528
    (the same GK zone with the zone number 40 in front of the easting), one GeoPackage."""
    layers = scheme()
    roles = write_scheme(out / "several_crs", "gpkg", layers, epsg={"DY": 4490, "XM": 4528})
    corpus.add("several_crs", "The same scheme with the units in EPSG:4490 and the 子项目 in EPSG:4528 (40 prefix).",
               roles, _figures_expect(clean_figures, names=UNIT_NAMES, tolerance={"relative": 1e-4}, no_warnings=True))


HOSTILE = [("DY01", "../../上级目录"), ("DY02", "甲\"乙'丙'; DROP TABLE DY; --"), ("DY03", "CON"),
           ("DY04", "田园😀" + "长" * 497)]  # the last: an emoji in 500 characters


def _hostile(corpus: Corpus, out: Path) -> None:
    """Four 200 m × 400 m strips as units, named as file systems and SQL would hate (the export's own test,
    tests/qgis/test_export_hostile_names.py, has reserved characters, dots and device names beside)."""
    units = [{"geom": rect(x, 0, x + 200, 400), "attrs": {"DYBH": uid, "DYMC": name}}
             for x, (uid, name) in zip((0, 200, 400, 600), HOSTILE)]
    layers = scheme(units=units)
    corpus.add("hostile_names", "Units named '../', with quotes, SQL, an emoji, 500 characters, CON, reserved "
               "characters and dots.", write_scheme(out / "hostile_names", "gpkg", layers),
               _figures_expect(figures_of(layers), names=dict(HOSTILE), export_all_units=True))


def _pending(corpus: Corpus, out: Path, clean: dict, clean_figures: dict) -> None:
    """Cases the lead implements: written here with the outcome expected, ``pending: true``."""
    def renamed(features, mapping):
        return [dict(f, attrs={mapping.get(k, k): v for k, v in f["attrs"].items()}) for f in features]

    lower = {k: k.lower() for k in ("BSM", "DLBM", "DLMC", "ZLDWDM", "TBMJ", "KCXS", "KCMJ", "TBDLMJ")}
    layers = dict(clean, DLTB=renamed(clean["DLTB"], lower))
    corpus.add("renamed_fields", "DLTB's fields in lower case (dlbm, tbdlmj …), as ogr2ogr into PostGIS leaves them.",
               write_scheme(out / "renamed_fields", "gpkg", layers), _figures_expect(clean_figures))
    chinese = {"BSM": "标识码", "DLBM": "地类编码", "DLMC": "地类名称", "ZLDWDM": "坐落单位代码", "TBMJ": "图斑面积",
               "KCXS": "扣除系数", "KCMJ": "扣除地类面积", "TBDLMJ": "图斑地类面积"}
    layers = dict(clean, DLTB=renamed(clean["DLTB"], chinese))
    corpus.add("chinese_field_names", "DLTB's fields named by their Chinese aliases (地类编码, 图斑地类面积 …).",
               write_scheme(out / "chinese_field_names", "gpkg", layers),
               _figures_expect(clean_figures, warnings=["已按同名含义的字段读取", "“地类编码”作 DLBM"]))
    # 用地用海 planned classes (YDYHFLDM) instead of GHDLBM: 0103 旱地 and 0101 水田 (the same codes in both
    # guides), and a third 子项目 on the south half of P7 (1104): 2023's 0703 农村宅基地 (三调 0702), or the
    # 2020 trial's 1313 其他公用设施用地 (三调 0809; a code only the trial has, which tells the versions apart).
    for name, code, sandiao, kind, fragments in (
            ("ydyh_2023", "0703", "0702", "农民集聚安置", ["自然资发〔2023〕234号", "0703→0702"]),
            ("ydyh_2020_trial", "1313", "0809", "特色任务", ["自然资办发〔2020〕51号", "1313→0809"])):
        projects = [dict(p, attrs={**{k: v for k, v in p["attrs"].items() if k != "GHDLBM"},
                                   "YDYHFLDM": p["attrs"]["GHDLBM"]}) for p in clean_projects()]
        projects.append({"geom": rect(200, 200, 300, 300), "attrs": {"XMBH": "DY01-02", "XMMC": "甲村第三个子项目",
                                                                      "XMLX": kind, "YDYHFLDM": code}})
        as_sandiao = [dict(p, attrs={**p["attrs"], "GHDLBM": sandiao if p["attrs"]["YDYHFLDM"] == code
                                     else p["attrs"]["YDYHFLDM"]}) for p in projects]
        layers = dict(clean, XM=projects)
        corpus.add(name, f"子项目 with 用地用海 classes in YDYHFLDM (the third one {code}), no GHDLBM.",
                   write_scheme(out / name, "gpkg", layers),
                   _figures_expect(figures_of(clean, XM=as_sandiao), warnings=fragments))
    roles = write_scheme(out / "crs_undefined", "shp", clean, encoding="UTF-8")
    (out / "crs_undefined" / "DLTB.prj").unlink()
    corpus.add("crs_undefined", "DLTB.shp without its .prj: no CRS.", roles,
               {"error": ["没有定义坐标系"]})
    corpus.add("empty_landuse", "A DLTB layer with no features.",
               write_scheme(out / "empty_landuse", "gpkg", dict(clean, DLTB=[]),
                            fields={"DLTB": list(clean["DLTB"][0]["attrs"])}),
               {"error": ["地类图斑", "没有要素"]})


# What the plugin does wrong today, by case and path (checkunits, landusestructure, panel, export, "all", or
# packages_output: test_export_packages_output_names_every_package): the test expects those to fail (xfail,
# strict) until the fault is fixed; then delete the entry and run the script again.
KNOWN_FAULTS: dict[str, dict[str, str]] = {}


HEADER = """\
# The corpus of bad real-world inputs (issue 13), written by tools/make_bad_corpus.py: do not edit by hand,
# change the script and run it again (`/usr/bin/python3 tools/make_bad_corpus.py`).
#
# Each case: `layers` maps a layer name to the file (relative to this folder) that plays its role —
#   DLTB → LANDUSE (地类图斑), DY → UNITS (整治单元, id field DYBH), XM → PROJECTS (子项目), YJJBNTTB → PBF;
# `expect` is what the plugin must do with it, on every path (checkunits, landusestructure, the panel's
# engine, exportunitscheme):
#   figures:  per unit, in 亩, worked out by the script independently of the plugin (geodesic areas of the
#             pieces on GRS80, TBDLMJ pro rata, 子项目 booking their whole area; see the script's docstring):
#             area_mu (the unit's area), booked_mu (what the 结构调整表 totals: TBMJ pro rata, plus the
#             unit's land outside the survey), farmland_before_mu / farmland_after_mu (耕地 0101–0103),
#             construction_before_mu / construction_after_mu (建设用地), pbf_before_mu (现状永久基本农田);
#             they must agree within `tolerance` (default 0.01 亩; {relative: 1e-4} = 0.01 %);
#   warnings: text fragments the planner must see (each in one warning); no_warnings: none may be shown;
#   names:    unit id → DYMC as the plugin must show it (the encodings cases);
#   error:    fragments of the one Chinese message the plugin must refuse with (no traceback, no file left).
# `pending: true`: the lead implements it (the test skips it); `known_fault`: what the plugin does wrong
# today (the test expects it to fail, strictly); `skip`: cannot be built here, and why.
"""


class _Dumper(yaml.SafeDumper):
    """Each case spelled out in full (no &id001 anchors and *id001 references between cases)."""

    def ignore_aliases(self, data) -> bool:
        return True


def main(argv: list[str]) -> int:
    out = Path(argv[1]).resolve() if len(argv) > 1 else DEFAULT_OUT
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cases = build(out)
    for name, fault in KNOWN_FAULTS.items():
        cases[name]["known_fault"] = fault
    text = HEADER + yaml.dump({"version": 1, "crs": f"EPSG:{EPSG}", "cases": cases}, Dumper=_Dumper,
                              allow_unicode=True, sort_keys=False, width=120)
    (out / "cases.yaml").write_text(text, encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(cases)} cases in {out} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
