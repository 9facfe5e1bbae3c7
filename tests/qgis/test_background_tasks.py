"""The engine in QGIS's background tasks, as the desktop runs it: again and again on Qt's pooled threads.

QGIS runs a toolbox algorithm in a ``QgsProcessingAlgRunnerTask`` and the panel's computations in
``QgsTask``s, both on pooled threads whose Python thread state Qt drops after each task. With
pyproj 3.7 (QGIS 3.40's) any pyproj call there crashed QGIS on the second task (pyproj issue 1509):
these tests run several tasks in a row on the same pool and must come through (the toolbox's tasks in
the real desktop: ``tests/desktop/test_desktop_tasks.py``; the projection thread's errors:
``tests/engine/test_projection_thread.py``).
"""

import threading

from qgis.core import QgsApplication, QgsGeometry

from fixtures.panel import assert_panel_equals_check, wait_until_idle


def test_the_panel_survives_successive_background_computations(dock, project_layers, monkeypatch):
    """Six edits, each computed in its own QgsTask on the pool; every result equals a fresh checkunits."""
    from land_consolidation.ui import live_controller

    threads = []  # the OS thread of each task: the crash needs two tasks on one pooled thread
    run = live_controller._LiveTask.run
    monkeypatch.setattr(live_controller._LiveTask, "run",
                        lambda task: threads.append(threading.get_ident()) or run(task))
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
    assert len(threads) >= 7 and len(set(threads)) < len(threads), threads  # a pooled thread ran again
    assert threading.get_ident() not in threads
    assert units.rollBack()
    assert_panel_equals_check(dock, project_layers)


def test_pyproj_objects_are_made_only_on_the_projection_thread(qgis_app, project_layers, monkeypatch):
    """The engine run twice in QgsTasks, as the panel and Processing run it: every pyproj CRS and
    transformer is created on the projection thread, none on a pooled one or the GUI thread."""
    import pyproj
    from qgis.core import QgsTask

    from land_consolidation.core.geometry import projection
    from land_consolidation.core.ingest.layers import SchemeLayers
    from land_consolidation.core.ingest.validate import ROLES
    from land_consolidation.core.products.check import run_check
    from land_consolidation.qgis_bridge.layer_io import read_layer

    projection.shutdown()  # empty every cache: the run below must create its pyproj objects afresh
    created = []
    crs_init, from_crs = pyproj.CRS.__init__, pyproj.Transformer.from_crs

    def recording_init(self, *args, **kwargs):
        created.append(("CRS", threading.current_thread().name))
        crs_init(self, *args, **kwargs)

    def recording_from_crs(*args, **kwargs):
        created.append(("Transformer", threading.current_thread().name))
        return from_crs(*args, **kwargs)

    monkeypatch.setattr(pyproj.CRS, "__init__", recording_init)
    monkeypatch.setattr(pyproj.Transformer, "from_crs", staticmethod(recording_from_crs))
    results, threads = [], []
    for _ in range(2):
        snapshot = {role: read_layer(layer, layer.name(), ROLES[role].fields + (("DYBH",) if role == "units" else ()))
                    for role, layer in project_layers.items()}
        task = QgsTask.fromFunction("engine", lambda _task, layers=snapshot: (
            threads.append(threading.current_thread().name), run_check(SchemeLayers(**layers)))[1])
        task.taskCompleted.connect(lambda task=task: results.append(task.returned_values))
        QgsApplication.taskManager().addTask(task)
        assert task.waitForFinished(60000)
        QgsApplication.processEvents()
        projection.shutdown()  # the second run creates them again (on a new projection thread)
    assert len(results) == 2 and results[0].findings[0].rule_id == results[1].findings[0].rule_id
    assert {kind for kind, _ in created} == {"CRS", "Transformer"}
    assert {name for _, name in created} and all(name.startswith("land-consolidation-pyproj") for _, name in created)
    assert not any(name.startswith("land-consolidation-pyproj") for name in threads)


def test_pyproj_is_imported_only_by_the_projection_module():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # Tests use pyproj on the main thread only: to build expected areas, and here to watch pyproj; the
    # sample generator and the bad-input corpus builder run in processes of their own, without Qt.
    allowed = {root / "core" / "geometry" / "projection.py", root / "tests" / "fixtures" / "builders.py",
               root / "tests" / "fixtures" / "random_schemes.py", Path(__file__).resolve(),
               root / "tools" / "sample" / "geometry.py", root / "tools" / "make_bad_corpus.py"}
    offenders = []
    for path in root.rglob("*.py"):
        parts = set(path.relative_to(root).parts)
        if parts & {".venv", ".build", "out", "dist", "data"} or path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(root)}:{node.lineno}" for n in names if n.split(".")[0] == "pyproj"]
    assert offenders == []
