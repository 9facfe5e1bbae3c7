"""What the plugin needs beyond PyQGIS, checked without importing the engine.

Each library is judged by what it can do, not by its version text: distributions report
versions the plugin cannot parse (Debian's python3-shapely says ``0+unknown``), while the
API the engine calls is what matters.
"""

from __future__ import annotations

import ctypes
import importlib
import re
import sys
from functools import lru_cache
from typing import Callable, NamedTuple

from .i18n import tr


def _shapely_2() -> bool:
    # The vectorised ufunc API (shapely 2.0) that the overlay is built on.
    module = importlib.import_module("shapely")
    return all(callable(getattr(module, name, None))
               for name in ("from_wkb", "to_wkb", "union_all", "make_valid", "transform", "STRtree"))


def _pandas() -> bool:
    module = importlib.import_module("pandas")
    return callable(getattr(module, "DataFrame", None)) and hasattr(module, "NA")


def _pyproj() -> bool:
    from ..geometry.projection import pyproj_is_usable  # probes on the projection thread (see projection.py)

    return pyproj_is_usable()


def _yaml() -> bool:
    module = importlib.import_module("yaml")
    return callable(getattr(module, "safe_load", None))


def _openpyxl() -> bool:
    module = importlib.import_module("openpyxl")
    return callable(getattr(module, "Workbook", None)) and callable(getattr(module, "load_workbook", None))


def _docx() -> bool:
    module = importlib.import_module("docx")
    return callable(getattr(module, "Document", None))


class Requirement(NamedTuple):
    module: str
    pip_name: str
    needed_for: str  # 'engine' or 'export'
    usable: Callable[[], bool]  # imports the module itself (pyproj: on its own thread)


REQUIRED = (
    Requirement("shapely", "shapely>=2", "engine", _shapely_2),
    Requirement("pandas", "pandas", "engine", _pandas),
    Requirement("pyproj", "pyproj", "engine", _pyproj),
    Requirement("yaml", "PyYAML", "engine", _yaml),
    Requirement("openpyxl", "openpyxl", "export", _openpyxl),
    Requirement("docx", "python-docx", "export", _docx),
)


def missing(purpose: str = "engine") -> list[tuple[str, str]]:
    """(module, pip name) of requirements for ``purpose`` ('engine' or 'export') that are absent or unusable."""
    absent: list[tuple[str, str]] = []
    for requirement in REQUIRED:
        if requirement.needed_for != purpose and not (purpose == "export" and requirement.needed_for == "engine"):
            continue
        try:
            usable = requirement.usable()
        except Exception:  # noqa: BLE001 - a broken binary module (OSError, AttributeError …) is as good as absent
            usable = False
        if not usable:
            absent.append((requirement.module, requirement.pip_name))
    return absent


def geos_mismatch() -> str:
    """Why shapely cannot work inside this process, if the GEOS it was built for is newer than the one
    QGIS already loaded (on Linux shapely's calls then bind to QGIS's GEOS and fail at random)."""
    loaded = _geos_loaded_by_host()
    try:
        import shapely
    except ImportError:
        return ""
    built = tuple(shapely.geos_version[:2])
    if loaded is None or loaded >= built:
        return ""
    # shapely's wheels carry GEOS 3.11 (2.0) and 3.13 (2.1); for an older GEOS only a shapely built
    # against the system's own GEOS fits.
    if loaded >= (3, 11):
        install = "python -m pip install \"{}\"".format("shapely<2.1" if loaded < (3, 13) else "shapely<2.2")
    else:
        install = "python -m pip install --no-binary shapely \"shapely>=2\""
    return tr("shapely {version} 是为 GEOS {built} 编译的，而 QGIS 使用的是较旧的 GEOS {loaded}，两者不能共用。"
              "请安装与 QGIS 的 GEOS 相符的 shapely（例如发行版自带的 python3-shapely，或 {install}），"
              "然后重启 QGIS。").format(
        version=shapely.__version__, built=".".join(map(str, built)), loaded=".".join(map(str, loaded)),
        install=install)


@lru_cache(maxsize=1)
def _geos_loaded_by_host() -> tuple[int, int] | None:
    """(major, minor) of the GEOS in the process's global symbol scope (QGIS's), None if there is none.

    Only Linux binds a library's symbols to the first copy loaded; Windows DLLs and macOS's two-level
    namespaces keep shapely on the GEOS it ships.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None).GEOSversion
        function.restype = ctypes.c_char_p
        numbers = re.findall(r"\d+", function().decode("ascii", "replace").split("-")[0])
    except Exception:  # noqa: BLE001 - no GEOS in the global scope (plain Python), or an odd libc
        return None
    return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else None


def missing_message(purpose: str = "engine") -> str:
    absent = missing(purpose)
    if not absent:
        return geos_mismatch()
    names = " ".join(f'"{pip}"' for _module, pip in absent)
    return tr("全域整治插件缺少 Python 库：{modules}。请在 QGIS 的 Python 环境中安装：python -m pip install {names}"
              "（Windows 用 OSGeo4W Shell），然后重启 QGIS。").format(
        modules="、".join(pip for _module, pip in absent), names=names)
