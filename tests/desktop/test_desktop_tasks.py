"""The engine in QGIS's background tasks, as the desktop runs it: again and again on Qt's pooled threads.

QGIS runs a toolbox algorithm in a ``QgsProcessingAlgRunnerTask`` on pooled threads whose Python thread
state Qt drops after each task. With pyproj 3.7 (QGIS 3.40's) any pyproj call there crashed QGIS on the
second task (pyproj issue 1509): the real desktop runs several tasks in a row on the same pool and must
come through (the panel's ``QgsTask``s and the projection thread: ``tests/qgis/test_background_tasks.py``).
"""

import shutil

import pytest

from fixtures.harness import run_desktop

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
