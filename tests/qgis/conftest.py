"""Fixtures of the tests that run PyQGIS in this process (pytest-qgis's offscreen QgsApplication)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def plugin_provider(qgis_processing):
    """The plugin's Processing provider, registered as inside qgis_process (no iface)."""
    from fixtures.plugin_session import session_provider

    return session_provider()


@pytest.fixture()
def empty_project():
    """The layers a test adds to the project (inputs, loaded results) leave it with the test."""
    from qgis.core import QgsProject

    yield
    QgsProject.instance().removeAllMapLayers()


@pytest.fixture(scope="module")
def failing_layers():
    """The grid 片区 with 子项目 and plans that break rules of every scope (conflicts included)."""
    from fixtures import grid

    pbf_plan = ([grid.C(*k) for k in grid.PBF_CELLS if k not in ((4, 1), (1, 0))] + [grid.R(4, 1, 4.5, 2)]
                + [grid.IN_SLOPE, grid.IN_ECO, grid.IN_UDB])
    return grid.scheme(grid.failing_projects(), pbf_plan, [grid.R(3, 3, 6, 4), grid.C(3, 2)])


@pytest.fixture()
def project_layers(qgis_new_project):
    """The hand-made grid 片区 (two 子项目) as memory layers in the project, by role."""
    from qgis.core import QgsProject

    from fixtures import grid
    from fixtures.panel import ROLE_LAYERS
    from fixtures.qgis_layers import memory_layer

    scheme = grid.scheme([grid.project("DY02-01", "垦造耕地", "0101", grid.C(4, 2)),
                          grid.project("DY01-01", "农村建设用地复垦", "0101", grid.C(2, 1))],
                         [grid.C(*k) for k in grid.PBF_CELLS if k != (4, 1)] + [grid.R(4, 1, 4.9, 2)])
    layers = {}
    for role in ROLE_LAYERS:
        layer = memory_layer(getattr(scheme, role))
        QgsProject.instance().addMapLayer(layer)
        layers[role] = layer
    yield layers
    QgsProject.instance().removeAllMapLayers()


@pytest.fixture()
def dock(qgis_iface, project_layers):
    """The 「全域整治」 panel on pytest-qgis's iface (not yet configured)."""
    from land_consolidation.ui.dock import LandConsolidationDock

    panel = LandConsolidationDock(qgis_iface)
    yield panel
    panel.shutdown()
    panel.deleteLater()
