"""The plugin as users meet it in the QGIS desktop (under Xvfb).

Headless, in qgis_process: ``tests/qgis/test_qgis_process.py``.
"""

import shutil

import pytest

from fixtures.harness import run_desktop


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


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("qgis.bin") is None,
                    reason="needs xvfb-run and the QGIS desktop")
def test_desktop_panel_on_the_sample_screenshot(tmp_path, artifacts_dir, sample_gpkg):
    """QGIS with the 「全域整治」 panel open on the sample 片区; the screenshot is kept for people."""
    result = run_desktop(f"""
        import time
        from qgis.core import QgsProject, QgsVectorLayer
        from qgis.utils import iface, plugins
        gpkg = {str(sample_gpkg)!r}
        for name in ("XZQ", "DLTB", "YJJBNTTB", "STBHHX", "CZKFBJ", "YJJBNTTB_GH", "XM", "DY"):
            layer = QgsVectorLayer(gpkg + "|layername=" + name, name, "ogr")
            QgsProject.instance().addMapLayer(layer)
        dock = plugins["land_consolidation"].show_panel(True)
        guessed = dock.auto_detect()
        result["guessed"] = sorted(guessed)
        result["applied"] = dock.apply()
        from land_consolidation.qgis_bridge.styles import apply_role_styles
        from land_consolidation.core.rules.landclasses import load_land_classes
        apply_role_styles(guessed, dock.controller.ruleset, load_land_classes())
        # Draw order a planner would choose: units and projects over the control lines over the survey.
        root = QgsProject.instance().layerTreeRoot()
        order = [guessed[r] for r in ("units", "projects", "eco", "udb", "pbf_plan", "townships", "landuse")]
        root.setHasCustomLayerOrder(True)
        root.setCustomLayerOrder(order)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (dock.controller.idle and dock.controller.result is not None):
            QgsApplication.processEvents()
            time.sleep(0.02)
        result["rows"] = dock.rulesTree.topLevelItemCount()
        result["status"] = dock.statusLabel.text()
        dock.scopeCombo.setCurrentIndex(dock.scopeCombo.findData("DY01"))
        QgsApplication.processEvents()
        result["unit_rows"] = dock.rulesTree.topLevelItemCount()
        result["farmland"] = dock.farmlandValue.text()
        canvas = iface.mapCanvas()
        units = QgsProject.instance().mapLayersByName("DY")[0]
        extent = units.extent()
        extent.scale(1.1)
        canvas.setExtent(extent)
        canvas.refresh()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            QgsApplication.processEvents()
            time.sleep(0.05)
            if not canvas.isDrawing():
                break
        for _ in range(20):
            QgsApplication.processEvents()
            time.sleep(0.05)
        iface.mainWindow().grab().save(str(workdir / "panel.png"))
    """, tmp_path / "desktop", timeout=240, screen="1920x1080x24")
    assert "error" not in result, result.get("error")
    assert result["applied"]
    assert {"units", "landuse", "projects", "pbf", "pbf_plan", "eco", "udb", "townships"} <= set(result["guessed"])
    assert result["rows"] >= 20 and 0 < result["unit_rows"] < result["rows"]
    assert "亩" in result["farmland"] and "已更新" in result["status"]
    shutil.copy(tmp_path / "desktop" / "panel.png", artifacts_dir / "panel_sample.png")
