"""Without units, an analysis covers the land the layers cover: the same figures as one unit drawn around
everything (the failing scheme of the hand-made 片区, ``fixtures.grid``)."""

import pytest

from fixtures import grid
from fixtures.builders import layer
from land_consolidation.core.analysis.analysis import analyse
from land_consolidation.core.products.conflicts import control_line_conflicts
from land_consolidation.core.products.patches import PLAN, compare_patches
from land_consolidation.core.products.potential import survey_potential


def _layers(with_unit: bool):
    pbf_plan = [grid.C(*k) for k in grid.PBF_CELLS if k != (1, 0)] + [grid.IN_ECO, grid.IN_UDB]
    layers = grid.scheme(grid.failing_projects(), pbf_plan, [grid.R(3, 3, 6, 4), grid.C(3, 2)])
    layers.units = layer("DY", [grid.R(-1, -1, 7, 5)], [{"DYBH": "ALL"}]) if with_unit else None
    return layers


@pytest.fixture(scope="module")
def both():
    return analyse(_layers(False)), analyse(_layers(True))


def test_the_whole_area_is_the_land_of_the_layers(both):
    whole, boxed = both
    assert whole.whole_area and not boxed.whole_area
    assert whole.indicators.per_unit["area_m2"].sum() == pytest.approx(
        boxed.indicators.per_unit["area_m2"].sum() - boxed.indicators.per_unit["outside_landuse_m2"].sum(), rel=1e-9)


def test_products_agree_with_one_unit_around_everything(both):
    whole, boxed = both
    rule = whole.ruleset.rule("contiguous_pbf")
    gap, classes = rule.param("gap_tolerance_m"), rule.param("patch_classes")
    assert compare_patches(whole, gap, classes).states[PLAN].table["area_m2"].tolist() == pytest.approx(
        compare_patches(boxed, gap, classes).states[PLAN].table["area_m2"].tolist(), rel=1e-9)
    by_kind = [control_line_conflicts(a).table.groupby("kind")["area_m2"].sum() for a in (whole, boxed)]
    assert by_kind[0].to_dict() == pytest.approx(by_kind[1].to_dict(), rel=1e-9)
    assert set(control_line_conflicts(whole).table["unit_id"]) == {""}  # no units: no unit ids
    found = [survey_potential(a).table.groupby("kind")["area_m2"].sum() for a in (whole, boxed)]
    assert found[0].to_dict() == pytest.approx(found[1].to_dict(), rel=1e-9)
    flows = [a.indicators.flows[a.indicators.flows["from"] != ""].groupby(["from", "to"])["m2"].sum()
             for a in (whole, boxed)]
    assert flows[0].to_dict() == pytest.approx(flows[1].to_dict(), rel=1e-9)
