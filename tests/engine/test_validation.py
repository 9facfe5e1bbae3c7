"""Bad input is refused at one entry point with a Chinese message naming layer, field and feature ids;
what can be repaired is repaired and reported, never silently."""

import pytest
import shapely
from shapely.geometry import LineString, Polygon

from fixtures.builders import cell, dltb_record, geodesic_area, layer, rect
from land_consolidation.core.common.errors import DataError, InputError
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check

TOWN = "330281101"
S = 100.0


def _scheme(**overrides):
    whole = geodesic_area(cell(0, 0, S))
    layers = dict(
        units=layer("整治单元", [cell(0, 0, S)], [{"DYBH": "DY01"}]),
        landuse=layer("地类图斑", [cell(0, 0, S), cell(1, 0, S)],
                      [dltb_record("0101", TOWN, whole, 0.1), dltb_record("0702", TOWN, whole)]),
        pbf=layer("永农", [cell(0, 0, S)]),
    )
    layers.update(overrides)
    return SchemeLayers(**layers)


def test_missing_required_field_names_layer_and_field():
    landuse = layer("地类图斑", [cell(0, 0, S)], [{"ZLDWDM": TOWN + "0010000000"}])
    with pytest.raises(InputError) as error:
        run_check(_scheme(landuse=landuse))
    assert "地类图斑" in str(error.value) and "DLBM" in str(error.value)


def test_empty_and_duplicate_unit_ids_are_refused():
    units = layer("整治单元", [cell(0, 0, S), cell(1, 0, S)], [{"DYBH": "DY01"}, {"DYBH": "DY01"}])
    with pytest.raises(InputError, match="重复.*DY01"):
        run_check(_scheme(units=units))
    units = layer("整治单元", [cell(0, 0, S), cell(1, 0, S)], [{"DYBH": "DY01"}, {"DYBH": " "}])
    with pytest.raises(InputError, match="要素 2 的单元编号为空"):
        run_check(_scheme(units=units))


def test_overlapping_units_are_a_data_error():
    units = layer("整治单元", [rect(0, 0, 1, 1, S), rect(0.5, 0, 2, 1, S)], [{"DYBH": "DY01"}, {"DYBH": "DY02"}])
    with pytest.raises(DataError, match="DY01 与 DY02"):
        run_check(_scheme(units=units))


def test_non_polygon_layer_is_refused():
    units = layer("整治单元", [LineString([(620000, 3316000), (620100, 3316100)])], [{"DYBH": "DY01"}])
    with pytest.raises(InputError, match="应为面图层：单元编号 DYBH DY01 不是面（LineString）"):
        run_check(_scheme(units=units))


def test_invalid_geometry_is_repaired_and_reported():
    x, y = 620000, 3316000
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    assert not shapely.is_valid(bowtie)
    units = layer("整治单元", [bowtie], [{"DYBH": "DY01"}])
    result = run_check(_scheme(units=units))
    assert any("几何无效" in w and "整治单元" in w for w in result.warnings)
    assert result.indicators.per_unit.loc["DY01", "area_m2"] > 0


def test_unknown_planned_class_is_refused_and_unknown_survey_class_warned():
    projects = layer("子项目", [cell(0, 0, S)], [{"XMBH": "P1", "XMLX": "垦造耕地", "GHDLBM": "9999"}])
    with pytest.raises(InputError, match="子项目.*GHDLBM.*9999"):
        run_check(_scheme(projects=projects))
    whole = geodesic_area(cell(0, 0, S))
    landuse = layer("地类图斑", [cell(0, 0, S)], [dltb_record("XX01", TOWN, whole)])
    result = run_check(_scheme(landuse=landuse))
    assert any("XX01" in w for w in result.warnings)


def test_short_zldwdm_without_township_layer_is_refused():
    landuse = layer("地类图斑", [cell(0, 0, S)], [{"DLBM": "0101", "ZLDWDM": "3302"}])
    with pytest.raises(InputError, match="ZLDWDM.*TOWNSHIPS"):
        run_check(_scheme(landuse=landuse))


def test_overlapping_parcels_in_a_unit_are_a_data_error():
    """Found where the unit cuts the parcels: their pieces add up to more than the unit."""
    whole = geodesic_area(cell(0, 0, S))
    landuse = layer("地类图斑", [cell(0, 0, S), rect(0.5, 0, 1.5, 1, S)],
                    [dltb_record("0101", TOWN, whole), dltb_record("0101", TOWN, whole)])
    units = layer("整治单元", [rect(0, 0, 1.5, 1, S)], [{"DYBH": "DY01"}])
    with pytest.raises(DataError, match="地类图斑.*要素相互重叠.*1 与 2"):
        run_check(_scheme(landuse=landuse, units=units))


def test_kcxs_typed_as_a_percentage_is_refused_where_it_decides_the_area():
    whole = geodesic_area(cell(0, 0, S))
    percent = dltb_record("0101", TOWN, whole, 0.1)
    percent.update(KCXS=12.5, TBMJ=None, TBDLMJ=None)
    landuse = layer("地类图斑", [cell(0, 0, S)], [percent])
    with pytest.raises(InputError, match="地类图斑.*KCXS：要素号 1 .*12.5.*百分数"):
        run_check(_scheme(landuse=landuse))
    # With TBDLMJ the value is not used: the figures stand, and the planner is told.
    unused = dltb_record("0101", TOWN, whole, 0.1)
    unused.update(KCXS=12.5)
    result = run_check(_scheme(landuse=layer("地类图斑", [cell(0, 0, S)], [unused])))
    assert any("KCXS" in w and "未用此值" in w for w in result.warnings)
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(whole * 0.9, rel=1e-6)


def test_an_empty_unit_layer_is_refused():
    with pytest.raises(InputError, match="整治单元.*没有要素"):
        run_check(_scheme(units=layer("整治单元", [], [])))


def test_a_layer_whose_declared_crs_does_not_fit_its_coordinates_is_refused():
    # Coordinates of EPSG:4549 (x ≈ 620 km) declared as geographic degrees: no place on Earth.
    units = layer("整治单元", [cell(0, 0, S)], [{"DYBH": "DY01"}], crs="EPSG:4490")
    with pytest.raises(InputError, match="整治单元.*单元编号 DYBH DY01 .*坐标无效.*EPSG:4490"):
        run_check(_scheme(units=units))


def test_codes_stored_as_real_numbers_read_as_the_integer_codes():
    from land_consolidation.core.rules.landclasses import normalise_code

    assert [normalise_code(v) for v in (5.0, 201.0, "201A", " 0101 ", None, float("nan"), 5.5)] == \
           ["5", "201", "201A", "0101", "", "", "5.5"]


def test_overlapping_parts_of_one_unit_count_once_not_as_a_hole():
    """A unit drawn as two overlapping parts (100 m square and a 40 m square inside it) is repaired to
    their union, 100 m × 100 m, not to the square with a 40 m hole that make_valid alone gives."""
    x, y = 620000, 3316000
    outer = rect(0, 0, 1, 1, S)
    inner = shapely.box(x + 30, y + 30, x + 70, y + 70)
    units = layer("整治单元", [shapely.MultiPolygon([outer, inner])], [{"DYBH": "DY01"}])
    result = run_check(_scheme(units=units))
    assert any("几何无效" in w and "整治单元" in w for w in result.warnings)
    assert result.indicators.per_unit.loc["DY01", "area_m2"] == pytest.approx(geodesic_area(outer), rel=1e-9)


def test_survey_codes_that_lost_their_leading_zero_are_restored_and_reported():
    whole = geodesic_area(cell(0, 0, S))
    landuse = layer("地类图斑", [cell(0, 0, S), cell(1, 0, S)],
                    [dltb_record("0101", TOWN, whole, 0.1), dltb_record("0702", TOWN, whole)])
    landuse.attrs["DLBM"] = [101, 702]  # a numeric field, as a spreadsheet makes it
    result = run_check(_scheme(landuse=landuse))
    assert any("缺少首位 0" in w and "地类图斑" in w and "0101" in w for w in result.warnings)
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(whole * 0.9, rel=1e-6)


def test_id_lists_say_etc_only_when_ids_are_left_out():
    from land_consolidation.core.ingest.validate import MAX_IDS_IN_MESSAGE, id_list

    assert "等" not in id_list(range(1, MAX_IDS_IN_MESSAGE + 1))
    assert id_list(range(1, MAX_IDS_IN_MESSAGE + 2)).endswith(f"等 {MAX_IDS_IN_MESSAGE + 1} 个")
    assert id_list(range(1, MAX_IDS_IN_MESSAGE + 2)).count("、") == MAX_IDS_IN_MESSAGE - 1
