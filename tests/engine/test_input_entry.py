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


def test_a_unit_whose_overlay_fails_is_marked_error_and_the_others_are_checked(monkeypatch):
    real = pieces_module.build_pieces

    def failing_for_dy02(baseline, plan, unit_positions=None):
        positions = range(len(plan.units)) if unit_positions is None else list(unit_positions)
        if any(plan.unit_ids[k] == "DY02" for k in positions):
            raise ValueError("GEOS could not cut DY02")
        return real(baseline, plan, unit_positions)

    monkeypatch.setattr(pieces_module, "build_pieces", failing_for_dy02)
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

    real = pieces_module.build_pieces

    def failing_for_dy02(baseline, plan, unit_positions=None):
        positions = range(len(plan.units)) if unit_positions is None else list(unit_positions)
        if any(plan.unit_ids[k] == "DY02" for k in positions):
            raise ValueError("GEOS could not cut DY02")
        return real(baseline, plan, unit_positions)

    monkeypatch.setattr(pieces_module, "build_pieces", failing_for_dy02)
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
