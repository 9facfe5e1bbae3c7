"""One analysis, every product: given an ``Analysis``, no product reads, validates or reprojects a layer.

The analysis is built once from the hand-made 片区 of ``fixtures/grid.py`` (failing scheme); then
reading is made impossible — validating a layer (``validate.polygons``), bringing geometries into
the working frame (``WorkingFrame.ingest``) and building a baseline or plan all raise — and every
product of the toolbox, the panel's verdicts and the report's model are computed from it.
"""

import pytest

from fixtures import grid
from land_consolidation.core.analysis import analysis as analysis_module
from land_consolidation.core.analysis.analysis import analyse
from land_consolidation.core.geometry.measure import WorkingFrame
from land_consolidation.core.ingest import baseline as baseline_module
from land_consolidation.core.ingest import plan as plan_module
from land_consolidation.core.ingest import validate
from land_consolidation.core.products.check import check
from land_consolidation.core.products.conflicts import control_line_conflicts
from land_consolidation.core.products.patches import PLAN, compare_patches
from land_consolidation.core.products.pbf_ledger import pbf_ledger
from land_consolidation.core.products.potential import survey_potential
from land_consolidation.core.products.tables import land_use_structure, transitions_long
from land_consolidation.report.unit_report import build_unit_report


class LayerRead(AssertionError):
    pass


def _refuse(*_args, **_kwargs):
    raise LayerRead("a product read a layer again")


@pytest.fixture()
def sealed_analysis(monkeypatch):
    projects = [
        grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2)),
        grid.project("DY01-04", "农民集聚安置", "0702", grid.P8),
        grid.project("DY02-02", "农民集聚安置", "0702", grid.WIDE_P3),
    ]
    pbf_plan = [grid.C(*k) for k in grid.PBF_CELLS if k != (1, 0)] + [grid.IN_ECO, grid.IN_UDB]
    analysis = analyse(grid.scheme(projects, pbf_plan, [grid.R(3, 3, 6, 4), grid.C(3, 2)]))
    for target, name in ((validate, "polygons"), (WorkingFrame, "ingest"), (baseline_module, "build_baseline"),
                         (plan_module, "build_plan"), (analysis_module, "build_baseline"),
                         (analysis_module, "build_plan"), (analysis_module, "build_pieces_per_unit")):
        monkeypatch.setattr(target, name, _refuse)
    return analysis


def test_refusing_reads_is_real(sealed_analysis):
    with pytest.raises(LayerRead):
        analyse(grid.scheme([], [grid.C(0, 0)]))


def test_every_product_comes_from_the_analysis(sealed_analysis):
    analysis = sealed_analysis
    result = check(analysis)
    assert result.finding("pbf_control_line_overlap").status == "fail"

    structure = land_use_structure(analysis.indicators.flows, analysis.baseline.classes)
    assert len(structure) and set(structure["scope_id"]) >= {"DY01", "DY02"}
    assert len(transitions_long(analysis.indicators.flows, analysis.baseline.classes, changed_only=True))

    rule = analysis.ruleset.rule("contiguous_pbf")
    patches = compare_patches(analysis, rule.param("gap_tolerance_m"), rule.param("patch_classes"))
    # the toolbox's largest planned patch is the one the rule judges
    assert patches.states[PLAN].largest_m2 == pytest.approx(
        analysis.indicators.patches("pbf_plan", rule.param("gap_tolerance_m"), rule.param("patch_classes")).largest_m2)
    assert len(patches.summary()) == 2

    conflicts = control_line_conflicts(analysis)
    pbf_rows = conflicts.table[conflicts.table["kind"].str.startswith("永久基本农田")]
    assert pbf_rows["area_mu"].sum() == pytest.approx(result.finding("pbf_control_line_overlap").value, rel=1e-9)

    ledger = pbf_ledger(analysis.indicators, 3.0)
    assert ledger.quality["调出"]["area_mu"] > 0

    candidates = survey_potential(analysis)
    assert {"unit_id", "kind", "area_mu"} <= set(candidates.table.columns)

    report = build_unit_report(result, "DY01")
    assert report.chapters and "DY01" in report.all_text()


def test_the_report_counts_overlapping_projects_land_once():
    # Two 生态修复 drawn over each other in DY01: 1.5 cells of land, 2 cells as drawn.
    projects = [grid.project("XF1", "生态修复", "0301", grid.R(1, 2, 2, 3)),
                grid.project("XF2", "生态修复", "0301", grid.R(1.5, 2, 2.5, 3))]
    result = check(analyse(grid.scheme(projects, [grid.C(*k) for k in grid.PBF_CELLS])))
    report = build_unit_report(result, "DY01")
    land = grid.mu(grid.a(grid.R(1, 2, 2.5, 3)))
    table = report.tables["子项目清单"]
    scale = [header for header, _kind in table.columns].index("建设规模（亩）")
    assert sum(row[scale] for row in table.rows) == pytest.approx(grid.mu(2 * grid.a(grid.C(1, 2))), rel=1e-6)  # as drawn
    assert table.total_values()[scale] == pytest.approx(land, rel=1e-6)
    assert f"生态保护修复 2 个、{land:,.2f} 亩" in report.all_text()
