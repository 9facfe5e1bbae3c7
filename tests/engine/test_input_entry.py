"""The one validation entry point (issue 13): fields under other names, undefined CRS, empty layers,
unknown codes counted, and a unit whose overlay fails marked ``error`` while the others are checked."""

from dataclasses import replace

import pytest

from fixtures.builders import cell, dltb_record, geodesic_area, layer
from land_consolidation.core.analysis import pieces as pieces_module
from land_consolidation.core.common.errors import DataError, InputError
from land_consolidation.core.ingest.field_names import match_fields
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check
from land_consolidation.core.rules.evaluate import ERROR

TOWN = "330281101"
S = 100.0
WHOLE = geodesic_area(cell(0, 0, S))


def _scheme(**overrides):
    layers = dict(
        units=layer("整治单元", [cell(0, 0, S), cell(1, 0, S)], [{"DYBH": "DY01"}, {"DYBH": "DY02"}]),
        landuse=layer("地类图斑", [cell(0, 0, S), cell(1, 0, S)],
                      [dltb_record("0101", TOWN, WHOLE, 0.1, BSM="B1"), dltb_record("0702", TOWN, WHOLE, BSM="B2")]),
        pbf=layer("永农", [cell(0, 0, S)]),
    )
    layers.update(overrides)
    return SchemeLayers(**layers)


def test_fields_are_found_under_their_standard_aliases_case_and_own_name_first():
    present = ["地类编码", "dlbm_old", "tbmj", "图斑地类面积", "TBDLMJ", "扣除地类系数"]
    found, renamed = match_fields(present, ["DLBM", "TBMJ", "TBDLMJ", "KCXS", "ZLDWDM"])
    # own name (any case) wins over an alias; aliases in the standard's wording; missing stays missing
    assert found == {"DLBM": "地类编码", "TBMJ": "tbmj", "TBDLMJ": "TBDLMJ", "KCXS": "扣除地类系数"}
    assert renamed == {"DLBM": "地类编码", "KCXS": "扣除地类系数"}
    # a field serves one wanted name only
    found, _ = match_fields(["扣除面积"], ["KCMJ", "KCXS"])
    assert found == {"KCMJ": "扣除面积"}


def test_a_field_read_under_another_name_is_said_once_per_layer():
    scheme = _scheme()
    scheme.landuse = replace(scheme.landuse, renamed_fields=(("DLBM", "地类编码"),))
    result = run_check(scheme)
    said = [w for w in result.warnings if "地类编码" in w]
    assert len(said) == 1 and "地类图斑" in said[0] and "DLBM" in said[0]
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(WHOLE * 0.9, rel=1e-6)


def test_a_layer_without_crs_is_refused_naming_it_before_any_work():
    units = _scheme().units
    for role, broken in (("units", replace(units, crs_wkt="")), ("pbf", replace(_scheme().pbf, crs_wkt=""))):
        with pytest.raises(InputError, match="没有定义坐标系") as error:
            run_check(_scheme(**{role: broken}))
        assert ("整治单元" if role == "units" else "现状永久基本农田") in str(error.value)


def test_an_empty_control_line_layer_is_said():
    result = run_check(_scheme(pbf=layer("永农", [])))
    assert any("永农" in w and "没有要素" in w for w in result.warnings)


def test_unknown_codes_are_listed_with_their_counts_and_parcels_by_bsm():
    records = [dltb_record(code, TOWN, WHOLE / 4, BSM=f"B{k}") for k, code in enumerate(["9999", "9999", "0101", "77"])]
    quarters = [cell(0, 0, S / 2), cell(1, 0, S / 2), cell(0, 1, S / 2), cell(1, 1, S / 2)]
    result = run_check(_scheme(landuse=layer("地类图斑", quarters, records),
                               units=layer("整治单元", [cell(0, 0, S)], [{"DYBH": "DY01"}])))
    said = next(w for w in result.warnings if "不是三调工作分类编码" in w)
    assert "9999（2 个）" in said and "77（1 个）" in said and "标识码 BSM B0、B1、B3" in said


def _fail_overlay_of_dy02(monkeypatch):
    """GEOS failing on DY02: the overlay raises whenever DY02 is among the units cut."""
    real = pieces_module.build_pieces

    def failing_for_dy02(baseline, plan, unit_positions=None):
        positions = range(len(plan.units)) if unit_positions is None else list(unit_positions)
        if any(plan.unit_ids[k] == "DY02" for k in positions):
            raise ValueError("GEOS could not cut DY02")
        return real(baseline, plan, unit_positions)

    monkeypatch.setattr(pieces_module, "build_pieces", failing_for_dy02)


def test_a_unit_whose_overlay_fails_is_marked_error_and_the_others_are_checked(monkeypatch):
    _fail_overlay_of_dy02(monkeypatch)
    result = run_check(_scheme())
    errors = [f for f in result.findings if f.status == ERROR]
    unit_rules = [r.id for r in result.ruleset.rules if r.scope == "unit"]
    assert sorted(f.rule_id for f in errors) == sorted(unit_rules) and {f.scope_id for f in errors} == {"DY02"}
    assert all("GEOS could not cut DY02" in f.message for f in errors)
    # DY01 is checked as if alone: its farmland is its own parcel's TBDLMJ
    assert list(result.indicators.per_unit.index) == ["DY01"]
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(WHOLE * 0.9, rel=1e-6)
    assert {f.scope_id for f in result.findings if f.scope == "unit" and f.status != ERROR} == {"DY01"}
    assert any("DY02" in w and "叠加计算出错" in w for w in result.warnings)
    assert result.counts()[ERROR] == len(unit_rules)


def test_when_every_unit_fails_the_reasons_are_the_error(monkeypatch):
    def failing(baseline, plan, unit_positions=None):
        raise ValueError("GEOS could not cut")

    monkeypatch.setattr(pieces_module, "build_pieces", failing)
    with pytest.raises(DataError, match="DY01、DY02 的叠加计算出错"):
        run_check(_scheme())


def test_the_panel_engine_marks_the_failing_unit_as_checkunits_does(monkeypatch):
    from land_consolidation.core.analysis.live import LiveScheme

    _fail_overlay_of_dy02(monkeypatch)
    scheme = _scheme()
    live = LiveScheme.open(scheme).update(scheme)
    batch = run_check(scheme)
    assert [(f.rule_id, f.scope_id, f.status, f.value) for f in live.findings] == \
        [(f.rule_id, f.scope_id, f.status, f.value) for f in batch.findings]
    assert any(f.status == ERROR and f.scope_id == "DY02" for f in live.findings)


def test_slivers_are_left_out_and_counted_in_one_warning():
    import shapely
    from shapely import box

    from fixtures.builders import X0, Y0

    speck = box(X0 + 150, Y0 + 150, X0 + 150.05, Y0 + 150.05)  # 0.0025 m², a separate part of DY01
    speck_alone = box(X0 + 300, Y0 + 300, X0 + 300.01, Y0 + 300.01)
    units = layer("整治单元", [shapely.multipolygons([cell(0, 0, S), speck]), cell(1, 0, S), speck_alone],
                  [{"DYBH": "DY01"}, {"DYBH": "DY02"}, {"DYBH": "DY03"}])
    result = run_check(_scheme(units=units))
    said = [w for w in result.warnings if "碎片" in w]
    assert len(said) == 1 and "2 处" in said[0] and "DY01、DY03" in said[0]
    # DY03 was nothing but a speck: gone; DY01 is its cell alone
    assert list(result.indicators.per_unit.index) == ["DY01", "DY02"]
    assert result.indicators.per_unit.loc["DY01", "farmland_before_m2"] == pytest.approx(WHOLE * 0.9, rel=1e-6)


def _projects(field, code):
    return layer("子项目", [cell(1, 0, S)], [{"XMBH": "XM1", "XMLX": "垦造耕地", field: code}])


def test_planned_classes_given_as_land_use_sea_codes_count_as_their_sandiao_class():
    # DY02's parcel is 0702 农村宅基地; a 子项目 over it planned as 0103 旱地 (the same code in 三调 and both
    # 用地用海 versions) adds that parcel's whole area to 耕地 after — as GHDLBM 0103 does.
    by_sandiao = run_check(_scheme(projects=_projects("GHDLBM", "0103")))
    by_land_use_sea = run_check(_scheme(projects=_projects("YDYHFLDM", "0103")))
    after = by_land_use_sea.indicators.per_unit.loc["DY02", "farmland_after_m2"]
    assert after == pytest.approx(by_sandiao.indicators.per_unit.loc["DY02", "farmland_after_m2"], rel=1e-12)
    assert after == pytest.approx(WHOLE, rel=1e-6)
    said = [w for w in by_land_use_sea.warnings if "YDYHFLDM" in w]
    assert len(said) == 1 and "2023 年版" in said[0] and "0103→0103" in said[0]


def test_land_use_sea_classes_are_read_in_their_own_vocabulary_not_as_sandiao_codes():
    # 1001 is 工业用地 in 用地用海 (三调 0601), but 铁路用地 in 三调: the field decides, not the code.
    result = run_check(_scheme(projects=_projects("YDYHFLDM", "1001")))
    assert list(result.plan.project_table["code_after"]) == ["0601"]


def test_a_land_use_sea_class_without_one_sandiao_class_is_refused_naming_the_project():
    with pytest.raises(InputError, match="YDYHFLDM.*子项目编号 XMBH XM1.*01 耕地.*无唯一对应"):
        run_check(_scheme(projects=_projects("YDYHFLDM", "01")))
    with pytest.raises(InputError, match="9999（不是该分类的编码） 1 个"):
        run_check(_scheme(projects=_projects("YDYHFLDM", "9999")))
