"""The code is ready for QGIS 4 (Qt6, PyQt6) while it runs on QGIS 3.22–3.44.

Each check follows one point of QGIS's own PyQt5 → PyQt6 migration script
(``scripts/pyqt5_to_pyqt6`` in the QGIS source), written here as a detector with a test that
it finds what it looks for: scoped enum members (Qt.ItemDataRole.UserRole, not Qt.UserRole),
``exec()`` not ``exec_()``, no QVariant type constants, no QRegExp, no PyQt5 imports or compiled
resources, none of the Qt5-only calls the script warns about, ``.ui`` files that PyQt6's ``uic``
loads, and a metadata.txt that QGIS 4 offers the plugin from.
"""

import ast
import configparser
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import qgis.core
import qgis.gui
from qgis.PyQt import QtCore, QtGui, QtWidgets

from fixtures.paths import ROOT

PLUGIN_DIRS = ("core", "processing", "qgis_bridge", "report", "ui", "tests", "tools")
MEMBER = re.compile(r"\b(Q[A-Za-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[.(])")
# QVariant's own members are checked by qt6_problems (none may be used at all).
ALLOWED = {"QVariant"}


def _classes() -> dict:
    import importlib

    modules = [qgis.core, qgis.gui, QtCore, QtGui, QtWidgets]
    for name in ("qgis.analysis", "qgis.PyQt.QtXml", "qgis.PyQt.QtNetwork", "qgis.PyQt.QtPrintSupport",
                 "qgis.PyQt.QtSvg"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            pass
    found = {}
    for module in modules:
        for name in dir(module):
            if name.startswith("Q"):
                found.setdefault(name, getattr(module, name))
    return found


def unscoped_members(text: str, classes: dict) -> list:
    hits = []
    for match in MEMBER.finditer(text):
        owner, member = match.groups()
        cls = classes.get(owner)
        value = getattr(cls, member, None) if cls is not None and owner not in ALLOWED else None
        if not isinstance(value, int) or type(value) in (int, bool):
            continue
        enum = type(value).__name__
        if enum != member and getattr(getattr(cls, enum, None), member, None) is not None:
            hits.append(f"{owner}.{member} → {owner}.{enum}.{member}")
    return hits


def test_the_detector_sees_an_unscoped_member():
    assert unscoped_members("flags = Qt.UserRole | QgsTask.CanCancel", _classes()) == [
        "Qt.UserRole → Qt.ItemDataRole.UserRole", "QgsTask.CanCancel → QgsTask.Flag.CanCancel"]
    assert unscoped_members("role = Qt.ItemDataRole.UserRole", _classes()) == []


def test_plugin_code_uses_scoped_enum_members():
    classes = _classes()
    here = Path(__file__).resolve()  # its own samples of what not to write
    files = [ROOT / "plugin.py", *[p for d in PLUGIN_DIRS for p in (ROOT / d).rglob("*.py") if p != here]]
    problems = [f"{path.relative_to(ROOT)}: {hit}" for path in files
                for hit in unscoped_members(path.read_text(encoding="utf-8"), classes)]
    assert problems == []


# ----------------------------------------------------------------------------- the migration script's points

REMOVED_NAMES = {
    "QRegExp": "QRegExp is gone in Qt6: use QRegularExpression",
    "QRegExpValidator": "QRegExpValidator is gone in Qt6: use QRegularExpressionValidator",
    "qApp": "qApp is gone in PyQt6: use QApplication.instance()",
    "QDesktopWidget": "QDesktopWidget is gone in Qt6: use QScreen",
}
RENAMED_MEMBERS = {("Qt", "MidButton"), ("Qt", "TextColorRole"), ("Qt", "BackgroundColorRole"),
                   ("QPainter", "HighQualityAntialiasing")}


def qt6_problems(source: str) -> list:
    """What in ``source`` breaks under PyQt6/QGIS 4 (line: reason)."""
    problems = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module.split(".")[0] in ("PyQt5", "PyQt6", "sip"):
                    problems.append(f"{line}: import {module} (use qgis.PyQt, which follows the QGIS line)")
                if module == "qgis.PyQt.Qt":
                    problems.append(f"{line}: qgis.PyQt.Qt is gone in PyQt6: import from qgis.PyQt.QtCore")
                if module.endswith("resources_rc") or module == "resources_rc":
                    problems.append(f"{line}: compiled Qt resources (gone in Qt6): load icons by file path")
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in REMOVED_NAMES or alias.name.endswith("_rc"):
                        problems.append(f"{line}: {REMOVED_NAMES.get(alias.name, 'compiled Qt resources')}")
        elif isinstance(node, ast.Name) and node.id in REMOVED_NAMES:
            problems.append(f"{line}: {REMOVED_NAMES[node.id]}")
        elif isinstance(node, ast.FunctionDef) and node.name == "exec_":
            problems.append(f"{line}: def exec_ (PyQt6 has exec only)")
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr == "exec_":
                problems.append(f"{line}: exec_() (PyQt6 has exec() only)")
            elif owner == "QVariant":
                problems.append(f"{line}: QVariant.{node.attr} (no QVariant type constants in PyQt6: "
                                "QMetaType.Type, see processing/algorithms/fields.py)")
            elif (owner, node.attr) in RENAMED_MEMBERS:
                problems.append(f"{line}: {owner}.{node.attr} was removed in Qt6")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "activated" and isinstance(node.slice, ast.Name) and node.slice.id == "str":
            problems.append(f"{line}: activated[str] is gone in Qt6: use textActivated")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, target = node.func.attr, node.func.value
            if name == "desktop" and not node.args:
                problems.append(f"{line}: QApplication.desktop() is gone in Qt6: use screens()")
            elif name == "addAction" and len(node.args) >= 4:
                problems.append(f"{line}: addAction(text, receiver, slot, shortcut) changed in Qt6: "
                                "create the QAction first")
            elif name == "width" and isinstance(target, ast.Call) and (
                    (isinstance(target.func, ast.Attribute) and target.func.attr == "fontMetrics")
                    or (isinstance(target.func, ast.Name) and target.func.id in ("QFontMetrics", "QFontMetricsF"))):
                problems.append(f"{line}: QFontMetrics.width() is gone in Qt6: use horizontalAdvance()")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "QDateTime" and (
                len(node.args) >= 7 or (len(node.args) == 1 and isinstance(node.args[0], ast.Call)
                                        and getattr(node.args[0].func, "id", "") == "QDate")):
            problems.append(f"{line}: QDateTime(y, m, d, h, m, s, …) and QDateTime(QDate) are gone in Qt6: "
                            "use QDateTime(QDate, QTime)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "QVariant":
            problems.append(f"{line}: QVariant(…) as a value: use NULL from qgis.core (PyQt6 converts QVariants)")
    return sorted(set(problems), key=lambda p: int(p.split(":")[0]))


def project_python_files() -> list:
    skip = {".venv", ".build", "out", "dist", "artifacts", ".git"}
    return sorted(p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts))


def test_the_migration_detector_finds_each_point():
    sample = textwrap.dedent("""\
        from PyQt5.QtCore import QRegExp
        from qgis.PyQt.QtWidgets import qApp
        from . import resources_rc
        dialog.exec_()
        kind = QVariant.Int
        button = Qt.MidButton
        combo.activated[str].connect(slot)
        geometry = QApplication.desktop()
        menu.addAction("text", receiver, slot, "Ctrl+S")
        width = widget.fontMetrics().width("x")
        when = QDateTime(2026, 1, 2, 3, 4, 5, 0)
        def exec_(self):
            pass
        from qgis.PyQt.Qt import Qt
        midnight = QDateTime(QDate(2026, 1, 2))
        empty = QVariant()
        """)
    found = {int(p.split(":")[0]) for p in qt6_problems(sample)}
    assert found == set(range(1, 13)) | {14, 15, 16}, qt6_problems(sample)
    fine = "from qgis.PyQt.QtCore import QMetaType, Qt\nkind = QMetaType.Type.Int\ndialog.exec()\n"
    assert qt6_problems(fine) == []


def test_no_python_file_uses_what_pyqt6_removed():
    problems = [f"{path.relative_to(ROOT)}:{p}" for path in project_python_files()
                for p in qt6_problems(path.read_text(encoding="utf-8"))]
    assert problems == []


def test_no_compiled_qt_resources_are_shipped():
    compiled = [p.relative_to(ROOT) for p in project_python_files()
                if "qt_resource_" + "data" in p.read_text(encoding="utf-8", errors="replace")]
    assert compiled == [] and not list(ROOT.glob("**/*.qrc"))


def test_metadata_lets_qgis_4_offer_the_plugin():
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    general = metadata["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"] == "4.99"  # what QGIS 4 reads; 3.99 hides the plugin there
    assert "supportsqt6" not in general  # no longer read by QGIS


# A widget property PyQt5 accepts and Qt6 removed: the .ui check must reject it.
_QT5_ONLY_UI = """<?xml version="1.0" encoding="UTF-8"?>
<ui version="4.0"><class>Probe</class><widget class="QWidget" name="Probe"><layout class="QVBoxLayout">
<item><widget class="QComboBox" name="combo"><property name="sizeAdjustPolicy">
<enum>QComboBox::AdjustToMinimumContentsLength</enum></property></widget></item></layout></widget></ui>
"""

# Loads every .ui under PyQt6 (QGIS's custom widgets replaced by the Qt classes they extend, which
# PyQt6 alone can build) and compiles it unchanged: prints what failed, one line per file.
_PYQT6_UI_CHECK = """
import io, os, sys, xml.etree.ElementTree as ET
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PyQt6 import uic
from PyQt6.QtWidgets import QApplication
app = QApplication([])
failed = []
for path in sys.argv[1:]:
    try:
        uic.compileUi(path, io.StringIO())
        tree = ET.parse(path)
        bases = {c.findtext("class"): c.findtext("extends") for c in tree.iter("customwidget")}
        for widget in tree.iter("widget"):
            widget.set("class", bases.get(widget.get("class"), widget.get("class")))
        custom = tree.getroot().find("customwidgets")
        if custom is not None:
            tree.getroot().remove(custom)
        plain = path + ".pyqt6.ui"
        tree.write(plain, encoding="utf-8")
        try:
            uic.loadUi(plain)
        finally:
            os.remove(plain)
    except Exception as error:
        failed.append(f"{path}: {type(error).__name__}: {error}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _system_python_with_pyqt6():
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    probe = subprocess.run([python, "-c", "import PyQt6.uic"], capture_output=True)
    return python if probe.returncode == 0 else None


@pytest.mark.skipif(_system_python_with_pyqt6() is None, reason="needs PyQt6 (Debian's python3-pyqt6)")
def test_ui_files_load_with_pyqt6_uic(tmp_path):
    python = _system_python_with_pyqt6()
    files = sorted(str(p) for p in ROOT.glob("ui/*.ui"))
    assert files, "the panel's form is a .ui file"
    completed = subprocess.run([python, "-c", _PYQT6_UI_CHECK, *files], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]
    # The check can fail: a Qt5-only enum value is refused.
    probe = tmp_path / "qt5_only.ui"
    probe.write_text(_QT5_ONLY_UI, encoding="utf-8")
    completed = subprocess.run([python, "-c", _PYQT6_UI_CHECK, str(probe)], capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 1 and "qt5_only.ui" in completed.stdout, completed.stdout + completed.stderr


def test_a_deprecated_call_in_plugin_code_fails_the_suite():
    """pyproject.toml turns deprecation warnings raised from plugin code into errors on every QGIS line."""
    import warnings

    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("QgsField constructor is deprecated", DeprecationWarning, "fields.py", 1,
                               module="land_consolidation.qgis_bridge.fields")
