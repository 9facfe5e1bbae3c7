"""The engine against an independent computation with QGIS's own tools, on the sample 片区.

The reference uses only QGIS: ``native:intersection`` / ``native:difference`` for the
overlays and ``QgsDistanceArea`` (ellipsoid of the layer CRS) for areas, then sums
in plain Python the way 三调 statistics are kept. Every figure must agree to 0.01%.
"""

from collections import defaultdict

import pytest
from qgis.core import QgsDistanceArea, QgsProject, QgsVectorLayer

import processing
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.ingest.validate import ROLES
from land_consolidation.core.products.check import run_check
from land_consolidation.core.rules.landclasses import load_land_classes
from land_consolidation.qgis_bridge.layer_io import read_features

TOLERANCE = 1e-4  # 0.01%
LAYERS = {"units": "DY", "landuse": "DLTB", "projects": "XM", "pbf": "YJJBNTTB", "pbf_plan": "YJJBNTTB_GH",
          "eco": "STBHHX", "udb": "CZKFBJ", "townships": "XZQ"}


@pytest.fixture(scope="module")
def sample_layers(sample_gpkg, qgis_processing):
    layers = {role: QgsVectorLayer(f"{sample_gpkg}|layername={name}", name, "ogr") for role, name in LAYERS.items()}
    for layer in layers.values():
        assert layer.isValid()
        # The project owns them: an OGR layer freed by Python at module teardown crashes QGIS.
        QgsProject.instance().addMapLayer(layer, False)
    return layers


@pytest.fixture(scope="module")
def engine(sample_layers):
    data = {role: read_features(layer, layer.name(), ROLES[role].fields + (("DYBH",) if role == "units" else ()))
            for role, layer in sample_layers.items()}
    return run_check(SchemeLayers(**data))


@pytest.fixture(scope="module")
def measure(sample_layers):
    crs = sample_layers["landuse"].crs()
    distance_area = QgsDistanceArea()
    distance_area.setSourceCrs(crs, QgsProject.instance().transformContext())
    distance_area.setEllipsoid(crs.ellipsoidAcronym())
    return lambda geometry: distance_area.measureArea(geometry)


def _run(algorithm, **parameters):
    parameters.setdefault("OUTPUT", "memory:")
    return processing.run(algorithm, parameters)["OUTPUT"]


@pytest.fixture(scope="module")
def reference(sample_layers, measure):
    """Figures per unit and per township, computed with native algorithms only."""
    classes = load_land_classes()
    landuse, units = sample_layers["landuse"], sample_layers["units"]
    whole = {f["BSM"]: measure(f.geometry()) for f in landuse.getFeatures()}

    def booked(feature, area):
        ratio = area / whole[feature["BSM"]]
        return feature["TBMJ"] * ratio, feature["TBDLMJ"] * ratio

    figures = defaultdict(float)
    pieces = _run("native:intersection", INPUT=landuse, OVERLAY=units, OVERLAY_FIELDS=["DYBH"])
    # The prefix keeps the project's KCXS apart from the parcel's KCXS.
    changed = _run("native:intersection", INPUT=pieces, OVERLAY=sample_layers["projects"],
                   OVERLAY_FIELDS=["GHDLBM", "KCXS"], OVERLAY_FIELDS_PREFIX="XM_")
    unchanged = _run("native:difference", INPUT=pieces, OVERLAY=sample_layers["projects"])
    for feature in pieces.getFeatures():
        total, main = booked(feature, measure(feature.geometry()))
        if classes.is_farmland(feature["DLBM"]):
            figures[("farmland_before", feature["DYBH"])] += main
    for feature in unchanged.getFeatures():
        if classes.is_farmland(feature["DLBM"]):
            figures[("farmland_after", feature["DYBH"])] += booked(feature, measure(feature.geometry()))[1]
    for feature in changed.getFeatures():
        total, main = booked(feature, measure(feature.geometry()))
        planned = feature["XM_GHDLBM"]
        kcxs = feature["XM_KCXS"]
        if kcxs is not None and kcxs == kcxs and str(kcxs) != "NULL":
            after = total * (1 - float(kcxs))
        else:
            after = main if planned == feature["DLBM"] else total
        if classes.is_farmland(planned):
            figures[("farmland_after", feature["DYBH"])] += after

    for name, layer in (("pbf", sample_layers["pbf"]), ("pbf_plan", sample_layers["pbf_plan"])):
        inside = _run("native:intersection", INPUT=layer, OVERLAY=units, OVERLAY_FIELDS=["DYBH"])
        for feature in inside.getFeatures():
            figures[(name, feature["DYBH"])] += measure(feature.geometry())
    out = _run("native:difference", INPUT=_run("native:intersection", INPUT=sample_layers["pbf"], OVERLAY=units,
                                              OVERLAY_FIELDS=["DYBH"]), OVERLAY=sample_layers["pbf_plan"])
    for feature in out.getFeatures():
        figures[("pbf_out", feature["DYBH"])] += measure(feature.geometry())

    towns = sample_layers["townships"]
    by_town = _run("native:intersection", INPUT=landuse, OVERLAY=towns, OVERLAY_FIELDS=["XZQDM"])
    for feature in by_town.getFeatures():
        if classes.is_farmland(feature["DLBM"]):
            figures[("town_farmland", feature["XZQDM"])] += booked(feature, measure(feature.geometry()))[1]
    pbf_towns = _run("native:intersection", INPUT=sample_layers["pbf"], OVERLAY=towns, OVERLAY_FIELDS=["XZQDM"])
    for feature in pbf_towns.getFeatures():
        figures[("town_pbf", feature["XZQDM"])] += measure(feature.geometry())
    for feature in _run("native:difference", INPUT=pbf_towns, OVERLAY=sample_layers["pbf_plan"]).getFeatures():
        figures[("town_pbf_out", feature["XZQDM"])] += measure(feature.geometry())
    return dict(figures)


def test_unit_figures_match_native(engine, reference):
    per_unit = engine.indicators.per_unit
    assert len(per_unit) >= 2
    for unit_id, row in per_unit.iterrows():
        for column, key in (("farmland_before_m2", "farmland_before"), ("farmland_after_m2", "farmland_after"),
                            ("pbf_before_m2", "pbf"), ("pbf_after_m2", "pbf_plan"), ("pbf_out_m2", "pbf_out")):
            expected = reference.get((key, unit_id), 0.0)
            assert row[column] == pytest.approx(expected, rel=TOLERANCE, abs=0.01), (unit_id, column)


def test_township_figures_match_native(engine, reference):
    towns = engine.indicators.per_township
    assert len(towns) >= 2
    for code, row in towns.iterrows():
        assert row["farmland_total_m2"] == pytest.approx(reference[("town_farmland", code)], rel=TOLERANCE)
        assert row["pbf_total_m2"] == pytest.approx(reference[("town_pbf", code)], rel=TOLERANCE)
        assert row["pbf_out_m2"] == pytest.approx(reference.get(("town_pbf_out", code), 0.0), rel=TOLERANCE,
                                                  abs=0.01)


def test_rule_values_match_native(engine, reference):
    units = list(engine.indicators.per_unit.index)
    before = sum(reference.get(("farmland_before", u), 0.0) for u in units)
    after = sum(reference.get(("farmland_after", u), 0.0) for u in units)
    gain = engine.finding("farmland_net_gain", "")
    assert gain.value == pytest.approx((after - before) / before * 100, rel=TOLERANCE)
    out = sum(reference.get(("pbf_out", u), 0.0) for u in units)
    net = sum(reference.get(("pbf_plan", u), 0.0) - reference.get(("pbf", u), 0.0) for u in units)
    if out > 0:
        assert engine.finding("pbf_net_gain", "").value == pytest.approx(net / out * 100, rel=TOLERANCE)
    for code in engine.indicators.per_township.index:
        share = engine.finding("pbf_adjustment_share", code).value
        expected = reference.get(("town_pbf_out", code), 0.0) / reference[("town_pbf", code)] * 100
        assert share == pytest.approx(expected, rel=TOLERANCE, abs=1e-6)



def test_survey_in_lonlat_gives_the_same_verdicts(sample_layers, engine):
    """The sample's survey in EPSG:4326, the plan as drawn in EPSG:4549. 子项目 DY01-03 and DY01-08
    share an edge; reprojected into the survey's CRS they overlap by ~0.016 m² (more than the
    0.01 m² tolerance), which must be neither refused as an overlap nor counted twice."""
    from fixtures.builders import reproject

    data = {role: read_features(layer, layer.name(), ROLES[role].fields + (("DYBH",) if role == "units" else ()))
            for role, layer in sample_layers.items()}
    data["landuse"] = reproject(data["landuse"], "EPSG:4326")
    moved = run_check(SchemeLayers(**data))
    assert [(f.rule_id, f.scope_id, f.status) for f in moved.findings] == \
           [(f.rule_id, f.scope_id, f.status) for f in engine.findings]
    columns = ["area_m2", "farmland_before_m2", "farmland_after_m2", "pbf_before_m2"]
    for unit in engine.indicators.per_unit.index:
        for column in columns:
            assert moved.indicators.per_unit.loc[unit, column] == pytest.approx(
                engine.indicators.per_unit.loc[unit, column], rel=1e-5), (unit, column)
    areas = moved.indicators.project_areas.set_index("project_id")["area_m2"]
    expected = engine.indicators.project_areas.set_index("project_id")["area_m2"]
    assert areas.to_dict() == pytest.approx(expected.to_dict(), rel=1e-5)
