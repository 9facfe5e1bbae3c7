"""The dock panel on the hand-made grid 片区 as memory layers in the project, and how to compare
what it shows with a fresh checkunits (shared by the panel's tests)."""

import time

import pytest
from qgis.core import QgsApplication

from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.ingest.validate import ROLES
from land_consolidation.core.products.check import run_check
from land_consolidation.qgis_bridge.layer_io import read_features

ROLE_LAYERS = {"units": "DY", "landuse": "DLTB", "projects": "XM", "pbf": "YJJBNTTB", "pbf_plan": "YJJBNTTB_GH",
               "eco": "STBHHX", "udb": "CZKFBJ"}


def wait_until_idle(controller, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QgsApplication.processEvents()
        if controller.idle and controller.result is not None:
            return controller.result
        time.sleep(0.01)
    raise AssertionError("the live check did not settle")


def reference(layers) -> object:
    """checkunits' engine on the layers as they are now (uncommitted edits included)."""
    data = {role: read_features(layer, layer.name(), ROLES[role].fields + (("DYBH",) if role == "units" else ()))
            for role, layer in layers.items()}
    return run_check(SchemeLayers(**data))


def assert_panel_equals_check(dock, layers):
    shown = wait_until_idle(dock.controller)
    expected = reference(layers)
    assert [(f.rule_id, f.scope_id, f.status) for f in shown.findings] == \
           [(f.rule_id, f.scope_id, f.status) for f in expected.findings]
    for mine, theirs in zip(shown.findings, expected.findings):
        assert (mine.value is None) == (theirs.value is None)
        if theirs.value is not None:
            assert mine.value == pytest.approx(theirs.value, rel=1e-9, abs=1e-9), mine.rule_id
    # What the planner sees: one tree row per visible finding, with the status mark and the value.
    dock.shown_scope = dock.scopeCombo.currentData()
    dock.scopeCombo.setCurrentIndex(0)
    rows = [dock.rulesTree.topLevelItem(i) for i in range(dock.rulesTree.topLevelItemCount())]
    assert len(rows) == len(shown.findings)
    marks = {"pass": "✓", "fail": "✗", "not_applicable": "–"}
    for row, finding in zip(rows, shown.findings):
        assert row.text(0).startswith(marks[finding.status])
        assert row.text(1) == finding.title
    return shown
