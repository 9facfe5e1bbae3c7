"""Test setup shared by every folder: the checkout is importable as the installed package ``land_consolidation``.

The checkout is exposed under its installed folder name through a symlink in ``.build/plugins``, the
same folder ``tools/qgis-process`` gives to QGIS as QGIS_PLUGINPATH; ``tests/`` goes on sys.path so
that the shared helpers import as the package ``fixtures``.

    tests/engine/    the engine alone (land_consolidation.core, shapely, numpy, pandas, pyproj,
                     hypothesis): no QGIS; ``make test-fast`` runs it with ``-p no:pytest_qgis``
    tests/qgis/      PyQGIS in this process (pytest-qgis: one offscreen QgsApplication for the
                     session, Processing, layers, the panel) and qgis_process
    tests/desktop/   ``desktop``: the real QGIS desktop under Xvfb, in a process of its own
    tests/fixtures/  the helpers they share (not tests)

pytest-qgis, when it is loaded (every run but ``make test-fast``), starts the QgsApplication before this
file is read; the session hooks below then unload the session's plugin and end the process without
Python's final clean-up.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fixtures.paths import ARTIFACTS, PLUGINS_DIR, ROOT, SAMPLE  # noqa: E402 - needs tests/ on sys.path

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


def _with_qgis(config) -> bool:
    """pytest-qgis is loaded: this process holds a QgsApplication (everything but ``-p no:pytest_qgis``)."""
    return config.pluginmanager.hasplugin("pytest_qgis")


def pytest_addoption(parser, pluginmanager):
    if not pluginmanager.hasplugin("pytest_qgis"):  # pyproject.toml's setting for it, unread in engine runs
        parser.addini("qgis_gui_enabled", "pytest-qgis's (not loaded in this run)", type="bool")


def pytest_sessionfinish(session, exitstatus):
    if not _with_qgis(session.config):
        return
    from fixtures.plugin_session import unload_session_plugin

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
    (a segmentation fault after "N passed"), which would turn a green run red. Runs without
    pytest-qgis (``make test-fast``) hold no QGIS objects and exit normally.
    """
    status = getattr(config, "_land_consolidation_status", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
