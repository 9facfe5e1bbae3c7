"""Test setup: the checkout is importable as the installed package ``land_consolidation``.

pytest-qgis starts one QgsApplication for the session (offscreen). The checkout is
exposed under its installed folder name through a symlink in ``.build/plugins``, the
same folder ``tools/qgis-process`` gives to QGIS as QGIS_PLUGINPATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DIR = ROOT / ".build" / "plugins"
ARTIFACTS = ROOT / "artifacts"
SAMPLE = ROOT / "resources" / "sample" / "sample_pianqu.gpkg"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if Path("/usr/share/proj/proj.db").exists():
    os.environ.setdefault("PROJ_DATA", "/usr/share/proj")

PLUGINS_DIR.mkdir(parents=True, exist_ok=True)
_link = PLUGINS_DIR / "land_consolidation"
if not _link.is_symlink() or _link.resolve() != ROOT:
    if _link.is_symlink():
        _link.unlink()
    _link.symlink_to(ROOT, target_is_directory=True)
if str(PLUGINS_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGINS_DIR))
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture(scope="session")
def sample_gpkg(tmp_path_factory) -> Path:
    """A private copy of the shipped sample.

    QGIS's OGR provider opens a GeoPackage for update and switches it to WAL journaling,
    which rewrites the file's header: tests must never touch the shipped file (an
    installed plugin folder may be read-only, where a WAL GeoPackage cannot be opened).
    """
    assert SAMPLE.exists(), "the sample GeoPackage is shipped in the repository"
    copy = tmp_path_factory.mktemp("sample") / SAMPLE.name
    shutil.copy2(SAMPLE, copy)
    return copy


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for a person to look at (screenshots, rendered pages)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture()
def plugin_provider(qgis_processing):
    """The plugin's Processing provider, registered as inside qgis_process (no iface)."""
    from plugin_session import session_provider

    return session_provider()


@pytest.fixture()
def project_layers(qgis_new_project):
    """The hand-made grid 片区 (two 子项目) as memory layers in the project, by role."""
    from qgis.core import QgsProject

    import test_rules_ningbo as grid
    from panel_support import ROLE_LAYERS
    from qgis_layers import memory_layer

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


def pytest_sessionfinish(session, exitstatus):
    from plugin_session import unload_session_plugin

    session.config._land_consolidation_status = int(exitstatus)
    try:
        unload_session_plugin()
    except Exception:  # noqa: BLE001 - QGIS may already be gone at the end of the session
        pass


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the process once pytest has reported, skipping Python's final clean-up.

    QGIS objects that Processing or a module's fixtures kept alive are otherwise destroyed
    after QgsApplication.exitQgis() has run, and PyQGIS then crashes the interpreter at exit
    (a segmentation fault after "N passed"), which would turn a green run red.
    """
    import os
    import sys

    status = getattr(config, "_land_consolidation_status", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
