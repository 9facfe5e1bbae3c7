"""The plugin loads in QGIS, registers its provider and leaves nothing behind on unload."""

import pytest
from qgis.core import QgsApplication

import land_consolidation
from fixtures.plugin_session import unload_session_plugin
from land_consolidation.processing.provider import PROVIDER_ID


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
        text = algorithm.shortHelpString()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), algorithm.id()  # Chinese
        assert len([w for w in text.split() if w.isascii() and w.isalpha()]) < 15, algorithm.id()  # no English copy
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


def test_catalogue_matches_the_algorithms():
    """The dependency-free list the provider falls back on names the real algorithms exactly."""
    from land_consolidation.processing.catalogue import ALGORITHMS
    from land_consolidation.processing.provider import algorithm_classes

    real = [(cls.NAME, cls.DISPLAY, cls.GROUP) for cls in algorithm_classes()]
    assert sorted(real) == sorted(ALGORITHMS)


def test_without_the_engine_libraries_the_algorithms_are_listed_and_explain(monkeypatch, qgis_processing):
    """In a QGIS whose Python lacks shapely 2 or pandas the plugin loads; running says what to install."""
    from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

    import land_consolidation.processing.provider as provider_module

    monkeypatch.setattr(provider_module, "missing_message", lambda purpose="engine": "缺少 shapely>=2")
    plugin = land_consolidation.classFactory(None)
    plugin.initProcessing()
    try:
        provider = _provider()
        ids = sorted(a.id() for a in provider.algorithms())
        assert len(ids) == 11 and "landconsolidation:checkunits" in ids
        algorithm = provider.algorithm("checkunits").create()
        with pytest.raises(QgsProcessingException, match="shapely"):
            algorithm.processAlgorithm({}, QgsProcessingContext(), QgsProcessingFeedback())
    finally:
        plugin.unload()
