"""The live engine behind the panel: after every kind of edit it equals ``run_check`` on the same layers,
and it overlays again only the units an edit touches."""

import pytest

from fixtures import grid
from fixtures.builders import X0, Y0
from land_consolidation.core.analysis.live import Changes, LiveScheme
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check


def _plan(scheme: SchemeLayers, **overrides) -> SchemeLayers:
    values = dict(units=scheme.units, landuse=scheme.landuse, projects=scheme.projects, pbf=scheme.pbf,
                  pbf_plan=scheme.pbf_plan, eco=scheme.eco, udb=scheme.udb, udb_plan=scheme.udb_plan)
    values.update(overrides)
    return SchemeLayers(**values)


def assert_same(live_result, layers: SchemeLayers):
    reference = run_check(layers)
    assert len(live_result.findings) == len(reference.findings)
    for mine, theirs in zip(live_result.findings, reference.findings):
        assert (mine.rule_id, mine.scope_id, mine.status) == (theirs.rule_id, theirs.scope_id, theirs.status)
        if theirs.value is None:
            assert mine.value is None
        else:
            assert mine.value == pytest.approx(theirs.value, rel=1e-9, abs=1e-9), (mine.rule_id, mine.scope_id)
        assert mine.message == theirs.message
    assert len(live_result.conflicts) == len(reference.conflicts)


@pytest.fixture()
def scheme():
    projects = [grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2)),
                grid.project("DY01-01", "农村建设用地复垦", "0101", grid.C(2, 1))]
    pbf_plan = [grid.C(*k) for k in grid.PBF_CELLS if k != (4, 1)] + [grid.R(4, 1, 4.9, 2), grid.C(5, 1)]
    return grid.scheme(projects, pbf_plan)


def test_every_edit_equals_a_full_check(scheme):
    live = LiveScheme.open(scheme)
    layers = _plan(scheme)
    assert_same(live.update(layers), layers)
    assert live.rebuilt_units == 2

    # Move a vertex of DY01: only DY01 is overlaid again.
    units = grid.layer("DY", [grid.R(0.5, 0, 2.7, 4), grid.UNITS[1]], [{"DYBH": "DY01", "DYMC": "甲"},
                                                                    {"DYBH": "DY02", "DYMC": "乙"}])
    layers = _plan(scheme, units=units)
    assert_same(live.update(layers, Changes(units=True)), layers)
    assert live.rebuilt_units == 1

    # Reshape DY02: it shrinks on one side and grows a notch on another; only the moved outline is redone.
    from shapely.geometry import Polygon

    x, y, c = X0, Y0, grid.S
    reshaped = Polygon([(x + 3 * c, y), (x + 5.5 * c, y), (x + 5.5 * c, y + 4 * c), (x + 3 * c, y + 4 * c),
                        (x + 3 * c, y + 2.2 * c), (x + 2.8 * c, y + 2.2 * c), (x + 2.8 * c, y + 1.8 * c),
                        (x + 3 * c, y + 1.8 * c)])
    units = grid.layer("DY", [grid.R(0.5, 0, 2.7, 4), reshaped], [{"DYBH": "DY01", "DYMC": "甲"},
                                                                   {"DYBH": "DY02", "DYMC": "乙"}])
    layers = _plan(scheme, units=units)
    assert_same(live.update(layers, Changes(units=True)), layers)
    assert live.rebuilt_units == 1

    # A new 子项目 in DY02 (its box is the changed area): only DY02 again.
    projects = grid.layer("XM", [grid.C(4, 2), grid.C(2, 1), grid.STRIP_P3],
                          [{"XMBH": "DY02-01", "XMLX": "垦造耕地", "GHDLBM": "0101"},
                           {"XMBH": "DY01-01", "XMLX": "农村建设用地复垦", "GHDLBM": "0101"},
                           {"XMBH": "DY02-02", "XMLX": "农民集聚安置", "GHDLBM": "0702"}])
    layers = _plan(layers, projects=projects)
    assert_same(live.update(layers, Changes(units=False, projects=[grid.STRIP_P3.bounds])), layers)
    assert live.rebuilt_units == 1

    # Planned PBF loses r0c1 (in DY01, township A): whole-township figures follow.
    pbf_plan = [g for g in scheme.pbf_plan.geoms if not g.equals(grid.C(1, 0))]
    layers = _plan(layers, pbf_plan=grid.layer("YJJBNTTB_GH", pbf_plan))
    result = live.update(layers, Changes(units=False, pbf_plan=[grid.C(1, 0).bounds]))
    assert_same(result, layers)
    assert live.rebuilt_units == 1
    assert result.finding("pbf_adjustment_share", grid.A).value > 0

    # Add a unit, then delete one: positions shift, figures still equal a full check.
    units = grid.layer("DY", [grid.R(0.5, 0, 2.7, 4), reshaped, grid.R(0, 0, 0.4, 1)],
                       [{"DYBH": "DY01"}, {"DYBH": "DY02"}, {"DYBH": "DY03"}])
    layers = _plan(layers, units=units)
    assert_same(live.update(layers, Changes(units=True)), layers)
    assert live.rebuilt_units == 1
    units = grid.layer("DY", [reshaped, grid.R(0, 0, 0.4, 1)], [{"DYBH": "DY02"}, {"DYBH": "DY03"}])
    layers = _plan(layers, units=units)
    assert_same(live.update(layers, Changes(units=True)), layers)
    assert live.rebuilt_units == 0


def test_overlapping_planned_pbf_edits_equal_a_full_check_and_are_checked_locally(scheme, monkeypatch):
    """Planned PBF drawn twice over r0c1, then one copy moved away, then deleted: after each edit the
    panel's figures are the fresh check's, and the pair-by-pair check only probes the edited area."""
    from land_consolidation.core.ingest import layers as ingest_layers

    live = LiveScheme.open(scheme)
    live.update(_plan(scheme))
    probed = []
    original = ingest_layers.overlaps_m2
    monkeypatch.setattr(ingest_layers, "overlaps_m2", lambda layer, frame, tol, among=None: (
        probed.append(None if among is None else len(among)), original(layer, frame, tol, among=among))[1])

    base = list(scheme.pbf_plan.geoms)
    doubled = base + [grid.C(1, 0)]  # r0c1 is already planned PBF: drawn a second time
    layers = _plan(scheme, pbf_plan=grid.layer("YJJBNTTB_GH", doubled))
    result = live.update(layers, Changes(units=False, pbf_plan=[grid.C(1, 0).bounds]))
    by_the_panel = list(probed)
    assert by_the_panel and all(n is not None and n < len(doubled) for n in by_the_panel)  # only near r0c1
    assert_same(result, layers)
    assert any("要素相互重叠" in w for w in result.warnings)

    moved = base + [grid.R(1, 0, 2, 0.5)]  # the copy shrinks to half of r0c1: still overlapping
    layers = _plan(scheme, pbf_plan=grid.layer("YJJBNTTB_GH", moved))
    assert_same(live.update(layers, Changes(units=False, pbf_plan=[grid.C(1, 0).bounds])), layers)

    layers = _plan(scheme, pbf_plan=grid.layer("YJJBNTTB_GH", base))  # deleted
    result = live.update(layers, Changes(units=False, pbf_plan=[grid.C(1, 0).bounds]))
    assert_same(result, layers)
    assert not any("要素相互重叠" in w for w in result.warnings)
