"""The plugin loads in QGIS, registers its provider and leaves nothing behind on unload."""

import pytest
from qgis.core import QgsApplication

import land_consolidation
from land_consolidation.processing.provider import PROVIDER_ID
from plugin_session import unload_session_plugin


@pytest.fixture(autouse=True)
def no_provider_registered(qgis_processing):
    unload_session_plugin()
    assert _provider() is None


def _provider():
    return QgsApplication.processingRegistry().providerById(PROVIDER_ID)


def test_class_factory_init_gui_and_unload(qgis_iface, qgis_processing):
    plugin = land_consolidation.classFactory(qgis_iface)
    plugin.initGui()
    provider = _provider()
    assert provider is not None
    algorithm_ids = {a.id() for a in provider.algorithms()}
    assert "landconsolidation:checkunits" in algorithm_ids
    for algorithm in provider.algorithms():
        assert algorithm.shortHelpString().strip(), algorithm.id()
        assert algorithm.group(), algorithm.id()
        assert not algorithm.icon().isNull(), algorithm.id()
    assert plugin.actions, "initGui adds at least one action"

    plugin.unload()
    assert _provider() is None
    assert plugin.actions == []


def test_init_processing_without_iface(qgis_processing):
    """Inside qgis_process there is no iface: initProcessing alone must register the provider."""
    plugin = land_consolidation.classFactory(None)
    plugin.initProcessing()
    try:
        assert _provider() is not None
    finally:
        plugin.unload()
    assert _provider() is None
