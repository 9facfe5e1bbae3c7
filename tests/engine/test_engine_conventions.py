"""Area conventions of the engine, on hand-made layers with answers worked out by hand.

Land-class areas follow 三调 statistics: a parcel cut by a unit contributes
TBDLMJ × (piece area ÷ parcel area); without TBMJ/TBDLMJ, area × (1 − KCXS); without
KCXS, the area. A 子项目 that turns land into another class books it without deduction
unless the project gives KCXS. All areas are ellipsoidal.
"""

import pytest

from fixtures.builders import cell, dltb_record, geodesic_area, layer, rect, reproject
from land_consolidation.core.analysis.pieces import flows
from land_consolidation.core.common.errors import DataError
from land_consolidation.core.geometry.measure import ellipsoidal_areas, to_mu
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check

TOWN = "330281101"
S = 100.0  # cell size, m


def _one_parcel_scheme(record, unit_geom, projects=None):
    parcel = cell(0, 0, S)
    return SchemeLayers(
        units=layer("DY", [unit_geom], [{"DYBH": "DY01", "DYMC": "测试单元"}]),
        landuse=layer("DLTB", [parcel], [record]),
        pbf=layer("PBF", []),
        projects=projects,
    )


def test_working_frame_areas_are_ellipsoidal():
    """Engine areas equal an independent geodesic computation, and differ from the plane GK area."""
    shapes = [cell(0, 0, S), rect(0, 0, 7.3, 2.1, S), rect(-300, 40, -297, 45, S)]
    engine = ellipsoidal_areas(layer("x", shapes).geoms, layer("x", shapes).crs_wkt)
    for geom, area in zip(shapes, engine):
        assert area == pytest.approx(geodesic_area(geom), rel=1e-8)
        assert abs(area / geom.area - 1) > 1e-5  # the plane area would be visibly wrong in 亩


def test_parcel_cut_by_unit_contributes_tbdlmj_pro_rata():
    whole = geodesic_area(cell(0, 0, S))
    record = dltb_record("0101", TOWN, whole, kcxs=0.1)
    unit = rect(0.25, 0, 1, 1, S)  # three quarters of the parcel
    result = run_check(_one_parcel_scheme(record, unit))
    share = geodesic_area(unit) / whole
    expected = record["TBDLMJ"] * share
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(expected, rel=1e-7)
    pieces = result.indicators.pieces.table
    assert pieces["total_m2"].sum() == pytest.approx(record["TBMJ"] * share, rel=1e-7)


def test_without_tbmj_the_area_times_one_minus_kcxs():
    half = rect(0, 0, 0.5, 1, S)
    record = {"DLBM": "0103", "ZLDWDM": TOWN + "0010000000", "KCXS": 0.15}
    result = run_check(_one_parcel_scheme(record, half))
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(
        geodesic_area(half) * (1 - 0.15), rel=1e-7)


def test_without_kcxs_the_area():
    half = rect(0, 0, 0.5, 1, S)
    record = {"DLBM": "0102", "ZLDWDM": TOWN + "0010000000"}
    result = run_check(_one_parcel_scheme(record, half))
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(geodesic_area(half), rel=1e-7)


@pytest.mark.parametrize("planned, kcxs, expected_share", [
    ("0702", None, 1.0),     # to another class: no deduction
    ("0101", None, 1.0),     # 旱改水 0103 → 0101 is another class too
    ("0103", None, 0.8),     # kept in its class: the survey's deduction stays
    ("0101", 0.05, 0.95),    # the project gives its own KCXS
])
def test_project_sets_class_and_deduction(planned, kcxs, expected_share):
    whole = geodesic_area(cell(0, 0, S))
    record = dltb_record("0103", TOWN, whole, kcxs=0.2)
    footprint = rect(0, 0, 0.5, 1, S)
    project = {"XMBH": "P1", "XMLX": "旱改水", "GHDLBM": planned}
    if kcxs is not None:
        project["KCXS"] = kcxs
    scheme = _one_parcel_scheme(record, cell(0, 0, S), projects=layer("XM", [footprint], [project]))
    result = run_check(scheme)
    t = result.indicators.pieces.table
    changed = t[t["project"] == 0]
    half_total = record["TBMJ"] * geodesic_area(footprint) / whole
    assert changed["code_after"].tolist() == [planned]
    assert changed["main_after_m2"].sum() == pytest.approx(half_total * expected_share, rel=1e-7)
    # Flows conserve the booked total of every piece.
    rows = flows(result.indicators.pieces, "1203")
    assert rows["m2"].sum() == pytest.approx(t["total_m2"].sum(), rel=1e-9)


def test_inputs_in_different_crs_give_the_same_figures():
    whole = geodesic_area(cell(0, 0, S))
    records = [dltb_record("0101", TOWN, whole, kcxs=0.1), dltb_record("0702", TOWN, whole)]
    base = SchemeLayers(
        units=layer("DY", [rect(0.5, 0, 2, 1, S)], [{"DYBH": "DY01"}]),
        landuse=layer("DLTB", [cell(0, 0, S), cell(1, 0, S)], records),
        pbf=layer("PBF", [cell(0, 0, S)]),
        projects=layer("XM", [rect(1, 0, 2, 0.5, S)], [{"XMBH": "P1", "XMLX": "农村建设用地复垦",
                                                         "GHDLBM": "0101"}]),
    )
    reference = run_check(base).indicators.per_unit
    for crs in ("EPSG:4490", "EPSG:4528", "EPSG:4326"):
        moved = SchemeLayers(units=reproject(base.units, crs), landuse=base.landuse,
                             pbf=reproject(base.pbf, crs), projects=reproject(base.projects, crs))
        figures = run_check(moved).indicators.per_unit
        for column in ("area_m2", "farmland_before_m2", "farmland_after_m2", "pbf_before_m2"):
            assert figures.loc["DY01", column] == pytest.approx(reference.loc["DY01", column], rel=2e-6), crs


def test_overlapping_projects_with_different_classes_are_a_data_error():
    whole = geodesic_area(cell(0, 0, S))
    projects = layer("XM", [rect(0, 0, 0.6, 1, S), rect(0.4, 0, 1, 1, S)], [
        {"XMBH": "DY01-01", "XMLX": "垦造耕地", "GHDLBM": "0101"},
        {"XMBH": "DY01-02", "XMLX": "农民集聚安置", "GHDLBM": "0702"}])
    scheme = _one_parcel_scheme(dltb_record("0404", TOWN, whole), cell(0, 0, S), projects=projects)
    with pytest.raises(DataError) as error:
        run_check(scheme)
    assert "DY01-01" in str(error.value) and "DY01-02" in str(error.value)
    assert to_mu(0.2 * whole) == pytest.approx(float(str(error.value).split("重叠 ")[1].split(" 亩")[0]), abs=0.01)


def test_overlapping_projects_with_the_same_class_count_once():
    whole = geodesic_area(cell(0, 0, S))
    projects = layer("XM", [rect(0, 0, 0.6, 1, S), rect(0.4, 0, 1, 1, S)], [
        {"XMBH": "A", "XMLX": "垦造耕地", "GHDLBM": "0101"}, {"XMBH": "B", "XMLX": "垦造耕地", "GHDLBM": "0101"}])
    result = run_check(_one_parcel_scheme(dltb_record("0404", TOWN, whole), cell(0, 0, S), projects=projects))
    figures = result.indicators.per_unit.loc["DY01"]
    assert figures["farmland_after_m2"] == pytest.approx(whole, rel=1e-6)
    # Each 子项目 keeps its own area as drawn (its size limits and list entry), although the
    # land it turns into 耕地 counts once.
    areas = result.indicators.project_areas.set_index("project_id")["area_m2"]
    assert areas["A"] == pytest.approx(geodesic_area(rect(0, 0, 0.6, 1, S)), rel=1e-6)
    assert areas["B"] == pytest.approx(geodesic_area(rect(0.4, 0, 1, 1, S)), rel=1e-6)
