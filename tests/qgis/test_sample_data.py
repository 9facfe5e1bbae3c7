"""The shipped sample 片区 (resources/sample/sample_pianqu.gpkg) and its generator.

The sample is what planners first see and what the engine's cross-checks run on, so
it must be clean survey data: valid geometry, DLTB an exact partition of every
township, 三调 area fields consistent, ellipsoidal TBMJ that QGIS agrees with, the
三条控制线 coordinated and a draft scheme whose units and projects do not overlap.
The generator (tools/sample, ``python -m tools.sample``) must be deterministic and
the shipped file must be what it makes today.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import shapely
from osgeo import ogr
from shapely import STRtree

from fixtures.paths import ROOT

GENERATOR = ROOT / "tools" / "sample" / "__init__.py"
LAYERS = ("XZQ", "DLTB", "YJJBNTTB", "STBHHX", "CZKFBJ", "DY", "XM", "YJJBNTTB_GH")
FIELDS = {
    "XZQ": {"XZQDM", "XZQMC"},
    "DLTB": {"BSM", "YSDM", "TBBH", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC", "ZLDWDM", "ZLDWMC", "TBMJ",
             "KCDLBM", "KCXS", "KCMJ", "TBDLMJ", "GDLX", "GDPDJB", "GDDB", "ZZSXDM", "CZCSXM"},
    "YJJBNTTB": {"BSM", "YSDM", "DLBM", "DLMC", "ZLDWDM", "XZQDM", "GDDB", "GDPDJB", "MJ"},
    "STBHHX": {"BSM", "HXMC", "HXLX", "MJ"},
    "CZKFBJ": {"BSM", "XZQDM", "CZKFBJLX", "MJ"},
    "DY": {"DYBH", "DYMC", "PQMC", "RWLX"},
    "XM": {"XMBH", "XMMC", "XMLX", "GHDLBM", "GHDLMC", "KCXS", "TZ", "KSNF", "JSNF", "DYBH"},
    "YJJBNTTB_GH": {"BSM", "YSDM", "DLBM", "DLMC", "ZLDWDM", "XZQDM", "GDDB", "GDPDJB", "MJ"},
}
FARMLAND = {"0101", "0102", "0103"}
MU = 10000.0 / 15.0


def _generator():
    spec = importlib.util.spec_from_file_location("make_sample", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_sample", module)
    spec.loader.exec_module(module)
    return module


def read_layers(path) -> dict:
    """{layer: (shapely geometries, list of attribute dicts, OGR validity)} in FID order."""
    ds = ogr.Open(str(path))
    assert ds is not None, path
    out = {}
    for i in range(ds.GetLayerCount()):
        layer = ds.GetLayerByIndex(i)
        defn = layer.GetLayerDefn()
        names = [defn.GetFieldDefn(k).GetName() for k in range(defn.GetFieldCount())]
        geoms, rows, ogr_valid = [], [], []
        for feature in layer:
            g = feature.GetGeometryRef()
            ogr_valid.append(g is not None and g.IsValid())
            geoms.append(shapely.from_wkb(bytes(g.ExportToWkb())) if g is not None else None)
            rows.append({n: feature.GetField(k) for k, n in enumerate(names)})
        out[layer.GetName()] = (np.array(geoms, dtype=object), rows, np.array(ogr_valid))
    return out


def features(path) -> dict:
    """{layer: [(WKB, attributes)]} for exact comparisons."""
    ds = ogr.Open(str(path))
    out = {}
    for i in range(ds.GetLayerCount()):
        layer = ds.GetLayerByIndex(i)
        out[layer.GetName()] = [(bytes(f.GetGeometryRef().ExportToWkb()), f.items()) for f in layer]
    return out


@pytest.fixture(scope="module")
def sample(sample_gpkg):
    return read_layers(sample_gpkg)


@pytest.fixture(scope="module")
def dltb(sample):
    geoms, rows, _ = sample["DLTB"]
    return geoms, rows


def test_layers_fields_and_crs(sample_gpkg, sample):
    ds = ogr.Open(str(sample_gpkg))
    assert [ds.GetLayerByIndex(i).GetName() for i in range(ds.GetLayerCount())] == list(LAYERS)
    for name in LAYERS:
        layer = ds.GetLayerByName(name)
        srs = layer.GetSpatialRef()
        assert srs is not None and srs.GetAuthorityCode(None) == "4549", name
        assert ogr.GT_Flatten(layer.GetGeomType()) == ogr.wkbMultiPolygon, name
        defn = layer.GetLayerDefn()
        present = {defn.GetFieldDefn(k).GetName() for k in range(defn.GetFieldCount())}
        assert FIELDS[name] <= present, (name, FIELDS[name] - present)
        assert all(g.geom_type == "MultiPolygon" for g in sample[name][0]), name
    counts = {name: len(sample[name][0]) for name in LAYERS}
    assert 2700 <= counts["DLTB"] <= 3300
    assert 2 <= counts["XZQ"] <= 3
    assert 2 <= counts["DY"] <= 3
    assert 20 <= counts["XM"] <= 40
    assert counts["YJJBNTTB"] > 0 and counts["STBHHX"] > 0 and counts["CZKFBJ"] > 0
    assert sample_gpkg.stat().st_size < 4.5e6


def test_geometries_valid_and_not_empty(sample):
    for name, (geoms, _, ogr_valid) in sample.items():
        assert len(geoms), name
        assert not shapely.is_empty(geoms).any(), name
        assert shapely.is_valid(geoms).all(), (name, [shapely.is_valid_reason(g) for g in geoms if not g.is_valid])
        assert ogr_valid.all(), name


def _overlap_area(geoms) -> float:
    a, b = STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    return float(shapely.area(shapely.intersection(geoms[a[keep]], geoms[b[keep]])).sum())


def test_dltb_parcels_do_not_overlap(dltb):
    geoms, _ = dltb
    total = shapely.area(geoms).sum()
    assert _overlap_area(geoms) < 1e-6 * total


def test_dltb_is_a_partition_of_each_township(sample, dltb):
    geoms, rows = dltb
    towns, town_rows, _ = sample["XZQ"]
    rep = shapely.point_on_surface(geoms)
    tree = STRtree(towns)
    owner = np.full(len(geoms), -1)
    a, b = tree.query(rep, predicate="within")
    owner[a] = b
    assert (owner >= 0).all(), "every parcel lies in a township"
    area = shapely.area(geoms)
    # No parcel crosses a township boundary.
    inside = shapely.area(shapely.intersection(geoms, towns[owner]))
    assert np.all(np.abs(inside - area) <= 1e-6 + 1e-9 * area)
    for t, town in enumerate(towns):
        mine = geoms[owner == t]
        covered = shapely.union_all(mine)
        assert abs(covered.area - town.area) <= 1e-6 * town.area, town_rows[t]["XZQDM"]
        assert shapely.symmetric_difference(covered, town).area <= 1e-6 * town.area
        assert area[owner == t].sum() == pytest.approx(town.area, rel=1e-6)
        # ZLDWDM starts with the code of the township that holds the parcel.
        code = town_rows[t]["XZQDM"]
        assert len(code) == 9 and code.startswith("330281")
        for i in np.flatnonzero(owner == t):
            assert rows[i]["ZLDWDM"][:9] == code, rows[i]["BSM"]


def test_dltb_attributes(dltb):
    _, rows = dltb
    bsm = [r["BSM"] for r in rows]
    assert len(set(bsm)) == len(bsm)
    for r in rows:
        tbmj, kcxs, kcmj, tbdlmj = r["TBMJ"], r["KCXS"], r["KCMJ"], r["TBDLMJ"]
        assert kcmj == round(tbmj * kcxs, 2), r["BSM"]
        assert tbdlmj == round(tbmj - kcmj, 2), r["BSM"]
        assert 0 <= kcxs < 0.25 and round(kcxs, 4) == kcxs
        assert r["KCDLBM"] == ("1203" if kcxs > 0 else "")
        assert len(r["ZLDWDM"]) == 19 and len(r["QSDWDM"]) == 19 and r["ZLDWDM"].endswith("0000000")
        assert r["QSXZ"] in ("20", "30") and r["YSDM"] == "2001010100"
        farm = r["DLBM"] in FARMLAND
        assert (r["GDDB"] is not None) == farm and (r["GDPDJB"] != "") == farm, r["BSM"]
        if farm:
            assert 1 <= r["GDDB"] <= 15 and r["GDPDJB"] in ("1", "2", "3", "4", "5")
            assert (r["GDLX"] in ("PD", "TT")) == (r["GDPDJB"] != "1")
        else:
            assert r["GDLX"] == "" and r["ZZSXDM"] == ""
    codes = {r["DLBM"] for r in rows}
    assert {"0101", "0102", "0103", "0201K", "0301K", "0601", "0702", "0701", "1003", "1006", "1101", "1103",
            "1104", "1107"} <= codes
    assert {r["CZCSXM"] for r in rows} >= {"", "202", "202A", "203", "203A"}


def test_tbmj_is_the_ellipsoidal_area_qgis_measures(qgis_app, sample_gpkg):
    from qgis.core import QgsDistanceArea, QgsProject, QgsVectorLayer

    for name, field in (("DLTB", "TBMJ"), ("YJJBNTTB", "MJ"), ("YJJBNTTB_GH", "MJ"), ("STBHHX", "MJ"),
                        ("CZKFBJ", "MJ")):
        layer = QgsVectorLayer(f"{sample_gpkg}|layername={name}", name, "ogr")
        assert layer.isValid()
        crs = layer.crs()
        assert crs.authid() == "EPSG:4549"
        measure = QgsDistanceArea()
        measure.setSourceCrs(crs, QgsProject.instance().transformContext())
        assert measure.setEllipsoid(crs.ellipsoidAcronym())
        assert measure.willUseEllipsoid()
        worst = 0.0
        for feature in layer.getFeatures():
            area = measure.measureArea(feature.geometry())
            stored = feature[field]
            assert abs(area - stored) <= 0.01 + 1e-6 * area, (name, feature["BSM"], area, stored)
            worst = max(worst, abs(area - feature.geometry().area()) / area)
        assert worst > 5e-5, "the stored area is ellipsoidal, not the plane area"


def test_control_lines_and_scheme_are_consistent(sample):
    def union(name):
        return shapely.union_all(sample[name][0])

    pbf, pbf_plan, eco, udb = union("YJJBNTTB"), union("YJJBNTTB_GH"), union("STBHHX"), union("CZKFBJ")
    for a, b in ((pbf, eco), (pbf, udb), (pbf_plan, eco), (pbf_plan, udb)):
        assert shapely.intersection(a, b).area < 1e-3
    units, unit_rows, _ = sample["DY"]
    projects, project_rows, _ = sample["XM"]
    assert _overlap_area(units) < 1e-6
    assert _overlap_area(projects) < 1e-6
    assert shapely.difference(shapely.union_all(projects), shapely.union_all(units)).area < 1e-3
    assert all(3e6 <= u.area <= 8e6 for u in units)
    towns = sample["XZQ"][0]
    spans = [sum(shapely.intersection(u, t).area > 1e4 for t in towns) for u in units]
    assert max(spans) >= 2, "one unit spans two townships"
    ids = {r["DYBH"] for r in unit_rows}
    assert {r["DYBH"] for r in project_rows} <= ids
    for r in project_rows:
        assert r["XMBH"].startswith(r["DYBH"] + "-")
        assert 2023 <= r["KSNF"] <= r["JSNF"] <= 2027 and r["TZ"] > 0
    # A unit cuts through parcels somewhere (partial parcels occur).
    dl = sample["DLTB"][0]
    cut = 0
    for u in units:
        hit = dl[STRtree(dl).query(u, predicate="intersects")]
        share = shapely.area(shapely.intersection(hit, u)) / shapely.area(hit)
        cut += int(((share > 0.01) & (share < 0.99)).sum())
    assert cut > 0
    # The deliberate mistakes of the draft are there: a 零星用地 over 3 亩, eco-industry over 3 %.
    ms = _generator()
    scattered = [ms.ellipsoidal_area([g])[0] / MU for g, r in zip(projects, project_rows) if r["XMLX"] == "零星用地"]
    assert 2 <= len(scattered) <= 3 and max(scattered) > 3.0 and min(scattered) >= 1.0
    by_type = {}
    for g, r in zip(projects, project_rows):
        by_type[r["XMLX"]] = by_type.get(r["XMLX"], 0.0) + g.area
    assert 0.03 < by_type["生态产业开发"] / by_type["生态修复"] < 0.08


def _assert_same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for k, (x, y) in enumerate(zip(a[name], b[name])):
            assert x[1] == y[1], (name, k, x[1], y[1])
            assert x[0] == y[0], (name, k, "geometry differs")


def test_generator_is_deterministic(tmp_path):
    ms = _generator()
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    counts = ms.generate(first, n_parcels=400, seed=7)
    assert counts == ms.generate(second, n_parcels=400, seed=7)
    assert 360 <= counts["DLTB"] <= 440
    _assert_same(features(first), features(second))
    other = tmp_path / "c.gpkg"
    ms.generate(other, n_parcels=400, seed=8)
    assert features(other)["DLTB"] != features(first)["DLTB"]


def test_shipped_sample_is_what_the_generator_makes(tmp_path, sample_gpkg):
    ms = _generator()
    fresh = tmp_path / "sample_pianqu.gpkg"
    ms.generate(fresh)  # the defaults: 3,000 parcels, seed 2022
    _assert_same(features(sample_gpkg), features(fresh))


def test_shipped_sample_keeps_the_rollback_journal():
    """The shipped file keeps SQLite's rollback journal (header bytes 18-19 = 1, not WAL's 2).

    A WAL GeoPackage needs to create -wal/-shm files beside it, which fails where an
    installed plugin folder is read-only; QGIS switches a file it opens for update to WAL,
    so demo, tests and bench work on copies and this guards the shipped file.
    """
    from fixtures.paths import SAMPLE

    header = SAMPLE.read_bytes()[:20]
    assert header[:16] == b"SQLite format 3\x00"
    assert (header[18], header[19]) == (1, 1), f"{SAMPLE.name} was switched to WAL journaling"
