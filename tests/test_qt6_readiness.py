"""Enum members are written scoped (Qt.ItemDataRole.UserRole, not Qt.UserRole): PyQt6 and QGIS 4 drop
the unscoped names, while QGIS 3.22 already accepts the scoped ones."""

import re
from pathlib import Path

import qgis.core
import qgis.gui
from qgis.PyQt import QtCore, QtGui, QtWidgets

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIRS = ("core", "processing", "report", "ui")
MEMBER = re.compile(r"\b(Q[A-Za-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[.(])")
# QVariant's types live behind processing/algorithms/fields.py, which picks QMetaType on newer QGIS.
ALLOWED = {"QVariant"}


def _classes() -> dict:
    found = {}
    for module in (qgis.core, qgis.gui, QtCore, QtGui, QtWidgets):
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
    files = [ROOT / "plugin.py", *[p for d in PLUGIN_DIRS for p in (ROOT / d).rglob("*.py")]]
    problems = [f"{path.relative_to(ROOT)}: {hit}" for path in files
                for hit in unscoped_members(path.read_text(encoding="utf-8"), classes)]
    assert problems == []
