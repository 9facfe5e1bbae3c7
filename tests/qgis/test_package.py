"""`make package` builds a zip QGIS can install: one top folder, no tests, caches or binaries."""

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

from fixtures.harness import qgis_env
from fixtures.paths import ROOT

REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                     "homepage", "tracker", "repository", "tags", "category", "icon", "hasProcessingProvider",
                     "changelog")


def test_metadata_is_complete():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in QGIS's reader
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for key in REQUIRED_METADATA:
        assert general.get(key, "").strip(), key
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert (ROOT / general["icon"]).exists()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in general["about"]), "about has Chinese"
    assert "consolidation" in general["about"].lower(), "about has English"


def test_package_zip_installs_and_loads(tmp_path):
    built = subprocess.run([sys.executable, str(ROOT / "tools" / "package.py"), "--out", str(tmp_path)],
                           capture_output=True, text=True, check=True)
    archive = Path(built.stdout.strip())
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert all(n.startswith("land_consolidation/") for n in names)
        for required in ("metadata.txt", "__init__.py", "plugin.py", "rules/ningbo_2022.yaml",
                         "resources/icons/icon.svg"):
            assert "land_consolidation/" + required in names
        assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so", ".dll", ".exe"))]
        assert not [n for n in names if n.startswith("land_consolidation/tests/") or "/.ci/" in n
                    or n.startswith("land_consolidation/tools/") or n.endswith("Makefile")]
        # Install it the way "Install from ZIP" does, then load it in qgis_process.
        plugins = tmp_path / "plugins"
        zipped.extractall(plugins)
    profile = tmp_path / "profile"
    env = qgis_env({"QGIS_PLUGINPATH": str(plugins), "QGIS_CUSTOM_CONFIG_PATH": str(profile)})
    binary = "qgis_process.bin"
    subprocess.run([binary, "plugins", "enable", "land_consolidation"], env=env, capture_output=True, timeout=120)
    listed = subprocess.run([binary, "list"], env=env, capture_output=True, text=True, timeout=120)
    assert "landconsolidation:checkunits" in listed.stdout, listed.stderr


def test_every_plugin_package_goes_into_the_zip():
    """A new sub-package must not be forgotten by the packager (the zip would fail to load)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("packager", ROOT / "tools" / "package.py")
    packager = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(packager)
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "tools"}
    assert packages <= set(packager.INCLUDE), packages - set(packager.INCLUDE)
