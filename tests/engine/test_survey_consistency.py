"""The survey read as the survey: its booked areas checked against each other, and parcels digitised
twice or overlapping counted once (issue 13).

A strip of 100 m cells in EPSG:4549 (``builders``), one township, one unit over the parcels drawn.
三调 books TBDLMJ = TBMJ − KCMJ and KCMJ = round(TBMJ × KCXS, 2); answers are worked out here from
the geodesic areas of the cells and those bookings.
"""

import pytest

from fixtures.builders import dltb_record, geodesic_area, layer, rect
from land_consolidation.core.common.errors import DataError
from land_consolidation.core.ingest.layers import MAX_PARCEL_OVERLAP_SHARE, SchemeLayers
from land_consolidation.core.ingest.validate import SURVEY_AREA_TOLERANCE_M2
from land_consolidation.core.products.check import run_check

TOWN = "330281101"
S = 100.0


def cell(k: int, y0: float = 0.0, y1: float = 1.0):
    return rect(k, y0, k + 1, y1, S)


def bsm(k: int) -> str:
    return f"33028100000{k:05d}"


def record(k: int, geom, code: str = "0101", kcxs: float = 0.1, **changes) -> dict:
    out = dltb_record(code, TOWN, geodesic_area(geom), kcxs, BSM=bsm(k))
    out.update(changes)
    return out


# The rest of the survey, away from the unit: 300 cells of 林地 (3,000,000 m² or so), so that a cell
# counted twice is 0.3 % of the layer (below MAX_PARCEL_OVERLAP_SHARE) and four cells 1.3 % (above).
FILLER = rect(10, 0, 310, 1, S)


def scheme(geoms, records, unit=None) -> SchemeLayers:
    unit = unit if unit is not None else rect(0, 0, 4, 1, S)
    filler = record(99, FILLER, "0301", 0.0)
    if not any("BSM" in r for r in records):
        del filler["BSM"]
    return SchemeLayers(units=layer("DY", [unit], [{"DYBH": "DY01"}]),
                        landuse=layer("DLTB", list(geoms) + [FILLER], list(records) + [filler]))


def farmland(result) -> float:
    return float(result.indicators.per_unit.loc["DY01", "farmland_before_m2"])


def survey_warnings(result) -> list[str]:
    return [w for w in result.warnings if "DLTB" in w]


CELLS = [cell(k) for k in range(4)]
CLEAN = [record(k, g) for k, g in enumerate(CELLS)]


def test_consistent_survey_reads_without_a_warning():
    result = run_check(scheme(CELLS, CLEAN))
    assert survey_warnings(result) == []
    # 4 cells of 0101 with KCXS 0.1: the class area is the booked TBDLMJ.
    assert farmland(result) == pytest.approx(sum(r["TBDLMJ"] for r in CLEAN), rel=1e-9)


def test_tbdlmj_that_is_not_tbmj_minus_kcmj_is_reported_by_bsm_and_used_as_recorded():
    records = [dict(r) for r in CLEAN]
    records[2]["TBDLMJ"] = round(records[2]["TBDLMJ"] + 5.0, 2)  # 5 m² more than TBMJ − KCMJ
    result = run_check(scheme(CELLS, records))
    warnings = [w for w in survey_warnings(result) if "TBDLMJ" in w]
    assert len(warnings) == 1
    text = warnings[0]
    assert bsm(2) in text and "相差 5.00 平方米" in text and "1 个图斑" in text
    assert bsm(0) not in text and bsm(1) not in text and bsm(3) not in text
    assert f"{5.0 / (10000 / 15):.2f} 亩" in text  # 0.01 亩
    assert "按 TBDLMJ 原值" in text
    assert not any("KCMJ（扣除面积）与 TBMJ" in w for w in result.warnings)  # KCMJ = TBMJ × KCXS still holds
    # The figures use TBDLMJ as recorded: 5 m² more than the consistent survey.
    assert farmland(result) == pytest.approx(sum(r["TBDLMJ"] for r in CLEAN) + 5.0, rel=1e-9)


def test_kcmj_that_is_not_tbmj_times_kcxs_is_reported():
    records = [dict(r) for r in CLEAN]
    # KCXS 0.2 on cell 1 while KCMJ and TBDLMJ were booked with 0.1: KCMJ is short by 0.1 × TBMJ.
    records[1]["KCXS"] = 0.2
    gap = records[1]["TBMJ"] * 0.2 - records[1]["KCMJ"]
    result = run_check(scheme(CELLS, records))
    warnings = [w for w in survey_warnings(result) if "KCXS（扣除系数）不符" in w]
    assert len(warnings) == 1 and bsm(1) in warnings[0] and f"相差 {gap:.2f} 平方米" in warnings[0]
    assert farmland(result) == pytest.approx(sum(r["TBDLMJ"] for r in CLEAN), rel=1e-9)


def test_rounding_to_the_hundredth_is_not_an_inconsistency():
    records = [dict(r) for r in CLEAN]
    records[0]["TBDLMJ"] = round(records[0]["TBDLMJ"] + SURVEY_AREA_TOLERANCE_M2, 2)
    assert survey_warnings(run_check(scheme(CELLS, records))) == []


def test_survey_without_the_area_fields_is_not_checked():
    records = [{k: v for k, v in r.items() if k not in ("KCMJ",)} for r in CLEAN]
    records[0]["TBDLMJ"] = records[0]["TBDLMJ"] + 50.0
    assert survey_warnings(run_check(scheme(CELLS, records))) == []


def test_many_inconsistent_parcels_list_ten_then_the_count():
    geoms = [rect(k / 2, 0, (k + 1) / 2, 1, S) for k in range(12)]
    records = [record(k, g) for k, g in enumerate(geoms)]
    for r in records:
        r["TBDLMJ"] = round(r["TBDLMJ"] - 1.0, 2)
    result = run_check(scheme(geoms, records, unit=rect(0, 0, 6, 1, S)))
    text = next(w for w in survey_warnings(result) if "TBDLMJ" in w)
    assert "12 个图斑" in text and "等 12 个" in text and bsm(9) in text and bsm(10) not in text
    assert "合计相差 12.00 平方米" in text and "最大相差 1.00 平方米" in text


def test_a_parcel_digitised_twice_is_counted_once_and_reported_by_bsm():
    geoms = CELLS + [CELLS[1]]
    records = CLEAN + [record(9, CELLS[1])]
    result = run_check(scheme(geoms, records))
    assert farmland(result) == pytest.approx(farmland(run_check(scheme(CELLS, CLEAN))), rel=1e-9)
    assert result.indicators.per_unit.loc["DY01", "area_m2"] == pytest.approx(
        sum(geodesic_area(g) for g in CELLS), rel=1e-9)
    text = next(w for w in result.warnings if "重叠" in w and "DLTB" in w)
    whole = geodesic_area(CELLS[1])
    assert f"{bsm(1)} 与 {bsm(9)}（{whole:.2f} 平方米）" in text  # the earlier feature keeps the land
    assert "只计一次" in text and "要素号较小" in text


def test_a_parcel_overlapping_half_of_another_is_counted_once():
    # Feature 5 (0103, no deduction) over the right half of cell 1 and the left half of cell 2: cells 1
    # and 2 (earlier) keep their land, feature 5 keeps nothing; over its own land it is 0 m².
    # Then a parcel over the right half of cell 3 and beyond: it keeps the half outside, and books its
    # TBDLMJ in proportion to that half.
    over = rect(1.5, 0, 2.5, 1, S)
    beyond = rect(3.5, 0, 4.5, 1, S)
    unit = rect(0, 0, 4.5, 1, S)
    geoms = CELLS + [over, beyond]
    records = CLEAN + [record(5, over, "0103", 0.0), record(6, beyond, "0102", 0.0)]
    result = run_check(scheme(geoms, records, unit=unit))
    per_unit = result.indicators.per_unit.loc["DY01"]
    outside = rect(4, 0, 4.5, 1, S)
    kept = records[5]["TBDLMJ"] * geodesic_area(outside) / geodesic_area(beyond)
    assert per_unit["area_m2"] == pytest.approx(geodesic_area(unit), rel=1e-9)
    assert farmland(result) == pytest.approx(sum(r["TBDLMJ"] for r in CLEAN) + kept, rel=1e-7)
    text = next(w for w in result.warnings if "重叠" in w and "DLTB" in w)
    assert bsm(1) in text and bsm(2) in text and bsm(3) in text and bsm(5) in text and bsm(6) in text
    half = geodesic_area(rect(1.5, 0, 2, 1, S))
    assert f"{bsm(1)} 与 {bsm(5)}（{half:.2f} 平方米）" in text
    assert "重叠 3 处" in text


def test_overlaps_above_the_limit_are_refused_with_the_list():
    # Cells 0–3 loaded twice: 40,000 m² counted twice of 3,080,000 m² or so (1.3 %), above the limit.
    assert MAX_PARCEL_OVERLAP_SHARE == 0.01
    geoms = CELLS + CELLS
    records = CLEAN + [record(10 + k, g) for k, g in enumerate(CELLS)]
    with pytest.raises(DataError) as error:
        run_check(scheme(geoms, records))
    text = str(error.value)
    assert "DLTB" in text and "要素相互重叠" in text and "请先消除重叠" in text
    for k in range(4):
        assert f"{bsm(k)} 与 {bsm(10 + k)}" in text
    removed = sum(geodesic_area(g) for g in CELLS)
    layer_m2 = sum(r["TBMJ"] for r in records) + round(geodesic_area(FILLER), 2)
    assert f"重复面积合计 {removed:.2f} 平方米" in text
    assert f"{removed / layer_m2 * 100:.1f}" == "1.3" and "占图层总面积的 1.3%" in text


def test_an_overlap_just_below_the_limit_is_counted_once_not_refused():
    # A strip of 2 % of cell 0 drawn again over it.
    strip = rect(0, 0, 0.02, 1, S)
    geoms = CELLS + [strip]
    records = CLEAN + [record(7, strip, "0101", 0.1)]
    result = run_check(scheme(geoms, records))
    assert farmland(result) == pytest.approx(sum(r["TBDLMJ"] for r in CLEAN), rel=1e-9)
    assert any(bsm(7) in w and "重叠" in w for w in result.warnings)


def test_layer_without_bsm_names_feature_ids():
    geoms = CELLS + [CELLS[1]]
    records = [{k: v for k, v in r.items() if k != "BSM"} for r in CLEAN + [record(9, CELLS[1])]]
    result = run_check(scheme(geoms, records))
    text = next(w for w in result.warnings if "重叠" in w and "DLTB" in w)
    assert "要素号 2 与 5" in text
