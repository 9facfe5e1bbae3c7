"""What the plugin needs beyond PyQGIS, checked without importing the engine (no shapely here)."""

from __future__ import annotations

import importlib

from .i18n import tr

# module, minimum version, pip name, what needs it
REQUIRED = (
    ("shapely", "2.0", "shapely>=2", "engine"),
    ("pandas", "1.3", "pandas", "engine"),
    ("pyproj", "3.0", "pyproj", "engine"),
    ("yaml", "5.1", "PyYAML", "engine"),
    ("openpyxl", "3.0", "openpyxl", "export"),
    ("docx", "0.8", "python-docx", "export"),
)


def _version_tuple(text: str) -> tuple:
    parts = []
    for piece in str(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def missing(purpose: str = "engine") -> list:
    """(module, pip name) of requirements for ``purpose`` ('engine' or 'export') that are absent or too old."""
    absent = []
    for module, minimum, pip_name, needed_for in REQUIRED:
        if needed_for != purpose and not (purpose == "export" and needed_for == "engine"):
            continue
        try:
            imported = importlib.import_module(module)
        except ImportError:
            absent.append((module, pip_name))
            continue
        version = getattr(imported, "__version__", "") or getattr(imported, "VERSION", "")
        if version and _version_tuple(version) < _version_tuple(minimum):
            absent.append((module, pip_name))
    return absent


def missing_message(purpose: str = "engine") -> str:
    absent = missing(purpose)
    if not absent:
        return ""
    names = " ".join(f'"{pip}"' for _module, pip in absent)
    return tr("全域整治插件缺少 Python 库：{modules}。请在 QGIS 的 Python 环境中安装：python -m pip install {names}"
              "（Windows 用 OSGeo4W Shell），然后重启 QGIS。").format(
        modules="、".join(pip for _module, pip in absent), names=names)
