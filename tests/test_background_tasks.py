"""The engine in QGIS's background tasks, as the desktop runs it: again and again on Qt's pooled threads.

QGIS runs a toolbox algorithm in a ``QgsProcessingAlgRunnerTask`` and the panel's computations in
``QgsTask``s, both on pooled threads whose Python thread state Qt drops after each task. With
pyproj 3.7 (QGIS 3.40's) any pyproj call there crashed QGIS on the second task (pyproj issue 1509):
these tests run several tasks in a row on the same pool and must come through.
"""

import shutil
import threading

import pytest
from qgis.core import QgsApplication, QgsGeometry

from harness import run_desktop
from panel_support import assert_panel_equals_check, wait_until_idle

SAMPLE_LAYERS = ("XZQ", "DLTB", "YJJBNTTB", "YJJBNTTB_GH", "STBHHX", "CZKFBJ", "XM", "DY")


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("qgis.bin") is None,
                    reason="needs xvfb-run and the QGIS desktop")
def test_toolbox_algorithms_run_again_and_again_in_desktop_tasks(tmp_path, sample_gpkg):
    """As the algorithm dialog does: one QgsProcessingAlgRunnerTask per run, on the task manager's pool."""
    result = run_desktop(f"""
        import time
        from qgis.core import (QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback,
                               QgsProject, QgsVectorLayer)
        gpkg = {str(sample_gpkg)!r}
        ids = {{}}
        for name in {SAMPLE_LAYERS!r}:
            layer = QgsVectorLayer(gpkg + "|layername=" + name, name, "ogr")
            QgsProject.instance().addMapLayer(layer)
            ids[name] = layer.id()
        registry = QgsApplication.processingRegistry()
        runs = []
        plan = [("checkunits", 1), ("checkunits", 2), ("landusestructure", 3), ("checkunits", 4)]
        for algorithm_id, number in plan:
            parameters = {{"UNITS": ids["DY"], "LANDUSE": ids["DLTB"], "PROJECTS": ids["XM"],
                          "OUTPUT": str(workdir / f"run{{number}}.csv")}}
            if algorithm_id == "checkunits":
                parameters.update({{"PBF": ids["YJJBNTTB"], "PBF_PLAN": ids["YJJBNTTB_GH"],
                                   "ECO_REDLINE": ids["STBHHX"], "UDB": ids["CZKFBJ"], "TOWNSHIPS": ids["XZQ"],
                                   "CONFLICTS": "TEMPORARY_OUTPUT"}})
            algorithm = registry.createAlgorithmById("landconsolidation:" + algorithm_id)
            context = QgsProcessingContext()
            context.setProject(QgsProject.instance())
            feedback = QgsProcessingFeedback()
            task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
            done = {{}}
            task.executed.connect(lambda ok, outputs, done=done: done.update(ok=ok, outputs=outputs))
            QgsApplication.taskManager().addTask(task)
            deadline = time.monotonic() + 120
            while "ok" not in done and time.monotonic() < deadline:
                QgsApplication.processEvents()
                time.sleep(0.01)
            runs.append({{"algorithm": algorithm_id, "ok": done.get("ok"), "log": feedback.textLog()[-2000:],
                         "csv": (workdir / f"run{{number}}.csv").read_text(encoding="utf-8")
                         if done.get("ok") else None}})
        result["runs"] = runs
    """, tmp_path / "desktop", timeout=400)
    assert "error" not in result, result.get("error")
    runs = result["runs"]
    assert [r["ok"] for r in runs] == [True] * 4, runs
    checks = [r["csv"] for r in runs if r["algorithm"] == "checkunits"]
    assert checks[0].count("\n") > 10  # a real table: one row per rule and scope
    assert checks[1:] == [checks[0]] * 2  # the same figures every time


def test_the_panel_survives_successive_background_computations(dock, project_layers):
    """Six edits, each computed in its own QgsTask on the pool; every result equals a fresh checkunits."""
    dock.auto_detect()
    dock.apply()
    assert_panel_equals_check(dock, project_layers)
    units = project_layers["units"]
    units.startEditing()
    fid = next(f.id() for f in units.getFeatures() if f["DYBH"] == "DY02")
    areas = []
    for step in range(6):
        geometry = QgsGeometry(units.getGeometry(fid))
        geometry.translate(3.0, 0.0)  # the unit slides east by 3 m a step: new figures each time
        assert units.changeGeometry(fid, geometry)
        shown = wait_until_idle(dock.controller)
        assert dock.controller.last_elapsed_ms is not None
        areas.append(shown.indicators.per_unit.loc["DY02", "area_m2"])
        if step in (0, 5):
            assert_panel_equals_check(dock, project_layers)
    assert len(areas) == 6 and all(area > 0 for area in areas)
    assert units.rollBack()
    assert_panel_equals_check(dock, project_layers)


def test_pyproj_runs_only_on_the_projection_thread(qgis_app):
    """Callers on other threads (a QThread here, a pooled task in QGIS) get plain values back."""
    from qgis.PyQt.QtCore import QThread

    from land_consolidation.core import projection

    seen = {}

    class Worker(QThread):
        def run(self):
            seen["wkt"] = projection.canonical_wkt("EPSG:4549")
            seen["caller_is_projection_thread"] = projection.is_projection_thread()
            seen["thread"] = threading.current_thread().name

    for _ in range(3):  # a fresh Qt thread each time, as pooled tasks give
        worker = Worker()
        worker.start()
        assert worker.wait(30000)
        QgsApplication.processEvents()
        assert isinstance(seen["wkt"], str) and "Gauss-Kruger" in seen["wkt"]
        assert seen["caller_is_projection_thread"] is False
    assert projection.on_projection_thread(projection.is_projection_thread)() is True
    assert projection.on_projection_thread(lambda: threading.current_thread().name)().startswith(
        "land-consolidation-pyproj")
