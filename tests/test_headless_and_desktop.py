"""The plugin as users meet it: qgis_process (headless) and the QGIS desktop (under Xvfb)."""

import shutil

import pytest

from harness import qgis_process, run_desktop


def test_qgis_process_lists_the_provider_and_its_algorithms():
    completed = qgis_process("list")
    assert completed.returncode == 0, completed.stderr
    assert "全域整治 Land Consolidation" in completed.stdout
    assert "landconsolidation:checkunits" in completed.stdout


def test_qgis_process_help_shows_parameters_and_conventions():
    completed = qgis_process("help", "landconsolidation:checkunits")
    assert completed.returncode == 0, completed.stderr
    for parameter in ("UNITS", "UNIT_ID_FIELD", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB",
                      "UDB_PLAN", "TOWNSHIPS", "RULESET", "OUTPUT", "CONFLICTS"):
        assert parameter in completed.stdout
    assert "椭球面积" in completed.stdout


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("qgis.bin") is None,
                    reason="needs xvfb-run and the QGIS desktop")
def test_desktop_loads_the_plugin(tmp_path, artifacts_dir):
    result = run_desktop("""
        from qgis.utils import iface, plugins, active_plugins
        registry = QgsApplication.processingRegistry()
        provider = registry.providerById("landconsolidation")
        result["loaded"] = "land_consolidation" in plugins
        result["active"] = "land_consolidation" in active_plugins
        result["algorithms"] = sorted(a.id() for a in provider.algorithms()) if provider else []
        result["actions"] = [a.objectName() for a in iface.mainWindow().findChildren(
            type(iface.actionOpenProject())) if a.objectName().startswith("landconsolidation")]
        iface.mainWindow().grab().save(str(workdir / "desktop.png"))
    """, tmp_path / "desktop")
    assert "error" not in result, result.get("error")
    assert result["loaded"] and result["active"]
    assert "landconsolidation:checkunits" in result["algorithms"]
    assert "landconsolidation_checkunits" in result["actions"]
    shutil.copy(tmp_path / "desktop" / "desktop.png", artifacts_dir / "desktop_plugin_loaded.png")
