"""One plugin instance for the test session, registered as inside qgis_process (no iface).

Kept out of conftest.py so that tests importing it share the same instance.
"""

_SESSION = {}


def session_provider():
    if "plugin" not in _SESSION:
        import land_consolidation

        plugin = land_consolidation.classFactory(None)
        plugin.initProcessing()
        _SESSION["plugin"] = plugin
    return _SESSION["plugin"].provider


def unload_session_plugin() -> None:
    """Unregister the session's provider (tests of loading and unloading need none)."""
    plugin = _SESSION.pop("plugin", None)
    if plugin is not None:
        plugin.unload()
