"""The 「全域整治」 panel through a planner's day in the real QGIS desktop (Xvfb, laptops of 1366×768 and 1280×720):
it fits the screen, greys refused figures, lists warnings, and follows project switches and
layer removals without a Python error."""

import shutil

import pytest

from fixtures.harness import run_desktop

SCRIPT = """
import sys, time, traceback
from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, QRect
from qgis.PyQt.QtWidgets import QPushButton
from qgis.utils import iface, plugins
import qgis.utils

errors = []
sys.excepthook = lambda kind, value, tb: errors.append("".join(traceback.format_exception(kind, value, tb)))

def pump(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)

def settle(dock, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QgsApplication.processEvents()
        controller = dock.controller
        if controller._task is None and not controller._timer.isActive():
            if controller.last_error is not None:
                return False
            if controller.idle and controller.result is not None:
                return True
        time.sleep(0.02)
    raise AssertionError("the live check did not settle")

def rows(dock):
    return [dock.rulesTree.topLevelItem(i) for i in range(dock.rulesTree.topLevelItemCount())]

win = iface.mainWindow()

def box(widget):
    return QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())

def layout(dock, name):
    pump(1.0)
    tree = dock.rulesTree
    shown = box(tree.viewport()).intersected(box(dock.bodyScroll.viewport())).intersected(win.rect())
    visible_rows = 0
    for item in rows(dock):
        r = tree.visualItemRect(item)  # rows are wider than the view: whole in height, their start in view
        top = tree.viewport().mapTo(win, r.topLeft())
        if r.isValid() and shown.top() <= top.y() and top.y() + r.height() <= shown.bottom() + 1 \
                and shown.left() <= max(top.x(), shown.left()) < shown.right():
            visible_rows += 1
    buttons = [b for b in dock.findChildren(QPushButton) if b.isVisibleTo(dock)]
    hidden = [b.text() for b in buttons if not (b.isVisible() and win.rect().contains(box(b)))]
    canvas = iface.mapCanvas()
    result[name] = {"window": [win.width(), win.height()], "dock": [dock.width(), dock.height()],
                    "canvas": [canvas.width(), canvas.height()], "visible_rows": visible_rows,
                    "rows": len(rows(dock)), "hidden_buttons": hidden, "buttons": len(buttons),
                    # every column (verdict, rule, scope, value, requirement) without scrolling sideways
                    "columns": [tree.header().length(), tree.viewport().width()]}
    win.grab().save(str(workdir / (name + ".png")))

win.setGeometry(QgsApplication.primaryScreen().availableGeometry())  # maximised on the laptop
gpkg = GPKG
for name in ("XZQ", "DLTB", "YJJBNTTB", "STBHHX", "CZKFBJ", "YJJBNTTB_GH", "XM", "DY"):
    QgsProject.instance().addMapLayer(QgsVectorLayer(gpkg + "|layername=" + name, name, "ogr"))
dock = plugins["land_consolidation"].show_panel(True)
pump(0.5)
result["first_open"] = {"window": [win.width(), win.height()], "dock": [dock.width(), dock.height()]}
result["pickers_before_apply"] = {r: (l.name() if l else None) for r, l in dock.roles().items()}
win.grab().save(str(workdir / "first_open.png"))
result["applied"] = dock.apply()
from land_consolidation.qgis_bridge.styles import apply_role_styles
from land_consolidation.core.rules.landclasses import load_land_classes
roles = {r: l for r, l in dock.roles().items() if l is not None}
apply_role_styles(roles, dock.controller.ruleset, load_land_classes())
result["good"] = settle(dock)
result["unit_field_after_style"] = [dock.unitIdField.currentField(), dock.unit_id_field()]
units = roles["units"]
canvas = iface.mapCanvas()
extent = units.extent()
extent.scale(1.1)
canvas.setExtent(extent)
canvas.refresh()
layout(dock, "laptop")
result["marks"] = [r.text(0)[0] for r in rows(dock)]
result["summary"] = [dock.farmlandValue.text(), dock.pbfValue.text(), dock.patchValue.text()]

# A refused edit: a 子项目 over an existing one with another planned class.
projects = roles["projects"]
first = next(projects.getFeatures())
projects.startEditing()
feature = QgsFeature(projects.fields())
feature.setGeometry(QgsGeometry(first.geometry()))
feature.setAttribute("XMBH", "测试-重叠")
feature.setAttribute("XMLX", first["XMLX"])
feature.setAttribute("GHDLBM", "0702" if str(first["GHDLBM"]) != "0702" else "0101")
projects.addFeature(feature)
result["refused_settled_good"] = settle(dock)
pump(0.3)
result["stale"] = {"banner": dock.staleBanner.text() if dock.staleBanner.isVisible() else None,
                   "banner_in_view": dock.staleBanner.visibleRegion().boundingRect().height() == dock.staleBanner.height(),
                   "marks": [r.text(0) for r in rows(dock)][:3],
                   "struck": all(r.font(0).strikeOut() for r in rows(dock)),
                   "title": dock.summaryGroup.title(), "warnings": dock.warnings_shown()[:1]}
layout(dock, "refused")
projects.rollBack()
result["after_rollback_good"] = settle(dock)
result["after_rollback_stale"] = dock.is_stale

# A warning: a self-intersecting (bow-tie) unit left of the others, repaired for the computation.
e = units.extent()
x, y, s = e.xMinimum() - 300.0, e.yMinimum() + 0.3 * e.height(), 200.0
units.startEditing()
bowtie = QgsFeature(units.fields())
bowtie.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({x} {y}, {x + s} {y + s}, {x + s} {y}, {x} {y + s}, {x} {y}))"))
bowtie.setAttribute(dock.unit_id_field(), "DY99")
units.addFeature(bowtie)
result["warning_settled_good"] = settle(dock)
shown = dock.warnings_shown()
result["warnings"] = shown
item = next((dock.warningsList.item(i) for i, t in enumerate(shown) if "几何无效" in t), None)
if item is not None:
    layer, ids = dock.locate_warning(item)
    result["warning_selected"] = [layer.name() if layer else None, list(ids), list(units.selectedFeatureIds()),
                                  bowtie.id()]
layout(dock, "warning")
units.rollBack()
settle(dock)

# Another project: save this one, 新建工程, then open the saved one.
project_file = str(workdir / "pianqu.qgz")
result["written"] = QgsProject.instance().write(project_file)
QgsProject.instance().clear()
pump(0.5)
result["after_clear"] = {"rows": len(rows(dock)), "stale": dock.is_stale, "status": dock.statusLabel.text(),
                         "pickers": [l is not None for l in dock.roles().values()]}
result["apply_after_clear"] = dock.apply()
pump(0.5)
result["read"] = QgsProject.instance().read(project_file)
pump(1.0)
result["after_read"] = {"rows": len(rows(dock)), "status": dock.statusLabel.text(),
                        "pickers": {r: (l.name() if l else None) for r, l in dock.roles().items()}}
result["apply_after_read"] = dock.apply()
result["after_read_good"] = settle(dock)
result["after_read_rows"] = len(rows(dock))
layout(dock, "reopened")

# Layers removed while the check runs.
QgsProject.instance().removeMapLayer(QgsProject.instance().mapLayersByName("XM")[0].id())
pump(0.5)
result["after_remove_xm"] = {"rows": len(rows(dock)), "status": dock.statusLabel.text(),
                             "projects": dock.projectsLayer.currentLayer() is None}
result["apply_without_xm"] = dock.apply()
result["without_xm_good"] = settle(dock)
QgsProject.instance().removeMapLayer(QgsProject.instance().mapLayersByName("DY")[0].id())
pump(0.5)
result["after_remove_dy"] = {"rows": len(rows(dock)), "status": dock.statusLabel.text()}
result["apply_without_dy"] = dock.apply()
layout(dock, "removed")
QgsProject.instance().clear()
pump(0.3)
result["unloaded"] = qgis.utils.unloadPlugin("land_consolidation")
pump(0.3)
result["errors"] = errors
"""


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("qgis.bin") is None,
                    reason="needs xvfb-run and the QGIS desktop")
@pytest.mark.parametrize("width,height", [(1366, 768), (1280, 720)])
def test_panel_survives_the_day_on_a_laptop(tmp_path, artifacts_dir, sample_gpkg, width, height):
    workdir = tmp_path / "day"
    result = run_desktop(SCRIPT.replace("GPKG", repr(str(sample_gpkg))), workdir, timeout=420,
                         screen=f"{width}x{height}x24")
    for name in ("first_open", "laptop", "refused", "warning", "reopened", "removed"):
        if (workdir / f"{name}.png").exists():
            shutil.copy(workdir / f"{name}.png", artifacts_dir / f"panel_day_{width}_{name}.png")
    assert "error" not in result, result.get("error")
    assert result["errors"] == [], "\n".join(result["errors"])

    # Pickers start detected from the names, never on a wrong layer.
    pickers = result["pickers_before_apply"]
    assert pickers["units"] == "DY" and pickers["landuse"] == "DLTB" and pickers["udb"] == "CZKFBJ"
    assert result["applied"] and result["good"]
    assert result["unit_field_after_style"] == ["DYBH", "DYBH"]  # the unit style's NOT NULL keeps the field

    # It fits the laptop: the window is not forced taller or wider than the screen, the buttons and
    # at least 8 rule rows show, and the map is wider than the panel.
    assert result["first_open"]["window"][1] <= height and result["first_open"]["window"][0] <= width
    laptop = result["laptop"]
    assert laptop["window"][0] <= width and laptop["window"][1] <= height, laptop
    assert laptop["hidden_buttons"] == [] and laptop["buttons"] >= 5, laptop
    assert laptop["visible_rows"] >= 8, laptop
    assert laptop["columns"][0] <= laptop["columns"][1], laptop  # the figures are in view, not off to the right
    assert laptop["canvas"][0] > laptop["dock"][0], laptop
    assert result["marks"] == sorted(result["marks"], key="✗✓–".index)  # failing rows first
    assert all("公顷" in text for text in result["summary"][:2]), result["summary"]
    assert not any("净增 -" in text or "+-" in text for text in result["summary"]), result["summary"]

    # A refused edit greys every figure under a banner; the next good result restores them.
    assert result["refused_settled_good"] is False
    stale = result["stale"]
    assert stale["banner"] and stale["banner"].startswith("以下结果已过期：子项目相互重叠"), stale
    assert stale["struck"] and all(m.startswith("⊘ 曾") for m in stale["marks"]) and "已过期" in stale["title"]
    assert stale["warnings"] and stale["warnings"][0].startswith("⚠ 未能核算：") and stale["banner_in_view"]
    assert result["after_rollback_good"] and not result["after_rollback_stale"]

    # A warning is listed in the panel and selects the feature it names.
    assert result["warning_settled_good"], result["warnings"]
    assert any("几何无效" in w for w in result["warnings"]), result["warnings"]
    name, ids, selected, fid = result["warning_selected"]
    assert name == "DY" and ids == [fid] and selected == [fid]

    # 新建工程 and opening another project: no stale rows, no deleted wrapper touched.
    assert result["written"] and result["read"]
    cleared = result["after_clear"]
    assert cleared["rows"] == 0 and not cleared["stale"] and not any(cleared["pickers"]), cleared
    assert result["apply_after_clear"] is False
    reopened = result["after_read"]
    assert reopened["rows"] == 0 and reopened["pickers"]["units"] == "DY" and reopened["pickers"]["projects"] == "XM"
    assert result["apply_after_read"] and result["after_read_good"] and result["after_read_rows"] >= 20

    # Layers removed: the check stops naming the role, and runs again on what is left.
    assert result["after_remove_xm"]["rows"] == 0 and "子项目" in result["after_remove_xm"]["status"]
    assert result["after_remove_xm"]["projects"]
    assert result["apply_without_xm"] and result["without_xm_good"]
    assert result["after_remove_dy"]["rows"] == 0 and "整治单元" in result["after_remove_dy"]["status"]
    assert result["apply_without_dy"] is False
    assert result["unloaded"]
