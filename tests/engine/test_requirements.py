"""The plugin judges its libraries by what they can do, not by the version text they report."""

import types

import shapely

from land_consolidation.core.common import requirements


def test_a_shapely_that_reports_no_usable_version_is_accepted(monkeypatch):
    # Debian sid's python3-shapely says "0+unknown" although it is shapely 2.
    monkeypatch.setattr(shapely, "__version__", "0+unknown")
    assert requirements.missing("engine") == []


def test_a_shapely_without_the_vectorised_api_is_reported(monkeypatch):
    old_style = types.ModuleType("shapely")
    old_style.__version__ = "2.0.0"  # claims 2.0, but has no ufunc API: the capability decides
    old_style.STRtree = object
    monkeypatch.setitem(__import__("sys").modules, "shapely", old_style)
    assert ("shapely", "shapely>=2") in requirements.missing("engine")
    assert "shapely>=2" in requirements.missing_message("engine")


def test_export_needs_the_engine_libraries_and_its_own(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "docx", None)  # import docx → ImportError
    assert requirements.missing("export") == [("docx", "python-docx")]
    assert requirements.missing("engine") == []


def test_a_shapely_built_for_a_newer_geos_than_qgis_loaded_is_refused_with_the_fix(monkeypatch):
    built = tuple(shapely.geos_version[:2])
    older = (built[0], built[1] - 1)
    monkeypatch.setattr(requirements, "_geos_loaded_by_host", lambda: older)
    message = requirements.missing_message("engine")
    assert f"GEOS {built[0]}.{built[1]}" in message and f"GEOS {older[0]}.{older[1]}" in message
    assert "pip install" in message
    monkeypatch.setattr(requirements, "_geos_loaded_by_host", lambda: built)
    assert requirements.missing_message("engine") == ""
    monkeypatch.setattr(requirements, "_geos_loaded_by_host", lambda: None)  # no GEOS in the global scope
    assert requirements.missing_message("engine") == ""
    monkeypatch.setattr(requirements, "_geos_loaded_by_host", lambda: (3, 10))  # older than any wheel's
    assert "--no-binary shapely" in requirements.missing_message("engine")


def test_only_linux_is_asked_which_geos_is_loaded(monkeypatch):
    # On Windows ctypes.CDLL(None) raises TypeError; DLLs and macOS namespaces keep shapely on its own GEOS.
    for platform in ("win32", "darwin"):
        monkeypatch.setattr(requirements.sys, "platform", platform)
        assert requirements._geos_loaded_by_host.__wrapped__() is None


def test_a_broken_binary_module_is_reported_not_raised(monkeypatch):
    def broken():
        raise OSError("libgeos_c.so: cannot open shared object file")

    monkeypatch.setattr(requirements, "REQUIRED", (requirements.Requirement("shapely", "shapely>=2", "engine", broken),))
    assert requirements.missing("engine") == [("shapely", "shapely>=2")]
