"""The engine tests: land_consolidation.core with shapely, numpy, pandas, pyproj and hypothesis — no QGIS.

``make test-fast`` runs this folder without pytest-qgis (``-p no:pytest_qgis``: no QgsApplication). The
run then refuses to import PyQGIS, QGIS's Processing and the plugin's QGIS side, so that it is what the
engine meets outside QGIS (``core.common.i18n`` falls back to untranslated text) and a test that needs
QGIS fails here, naming the module, instead of passing only because QGIS happens to be installed. In
``make test`` (pytest-qgis loaded) nothing is refused.
"""

from __future__ import annotations

import importlib.abc
import sys

QGIS_SIDE = ("qgis", "processing", "land_consolidation.qgis_bridge", "land_consolidation.processing",
             "land_consolidation.ui", "land_consolidation.report", "land_consolidation.plugin",
             "fixtures.qgis_layers", "fixtures.panel", "fixtures.plugin_session", "fixtures.harness")


class RefuseQgis(importlib.abc.MetaPathFinder):
    """Fails the import of anything in ``QGIS_SIDE``, as on a machine without QGIS."""

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == name or fullname.startswith(name + ".") for name in QGIS_SIDE):
            raise ModuleNotFoundError(f"No module named {fullname!r}: the engine tests run without QGIS "
                                      "(tests/engine/conftest.py); a test that needs it goes to tests/qgis",
                                      name=fullname)


_REFUSE = RefuseQgis()


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("pytest_qgis"):
        sys.meta_path.insert(0, _REFUSE)


def pytest_unconfigure(config):
    if _REFUSE in sys.meta_path:
        sys.meta_path.remove(_REFUSE)
