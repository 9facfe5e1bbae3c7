"""全域整治 Land Consolidation — a QGIS plugin for 全域国土空间综合整治 unit schemes."""


def classFactory(iface):  # noqa: N802 - QGIS's entry point name
    from .plugin import LandConsolidationPlugin

    return LandConsolidationPlugin(iface)
