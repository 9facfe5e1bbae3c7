"""The plugin's only door to pyproj: every pyproj object lives on one long-lived Python thread.

Why: QGIS runs Processing algorithms and the panel's computations in ``QgsTask``s on Qt's
pooled threads. Each time Python code runs there, the thread gets a fresh Python thread
state, which Qt's pool drops afterwards. pyproj 3.7 keeps one PROJ context per thread and
frees it with that thread state while still pointing at it, so the second use on the same
pooled thread dereferences freed memory and QGIS crashes (pyproj issue 1509; QGIS 3.40
and later ship the affected pyproj). A thread created by Python keeps its thread state —
and its PROJ context — for its whole life, so all pyproj work is handed to one such thread
and only plain values (WKT text, numbers, numpy arrays, shapely geometries) come back.
This does not depend on how pyproj manages contexts, and also serialises pyproj use, which
pyproj objects need anyway.

Call from any thread; calls made on the projection thread itself run inline.
"""

from __future__ import annotations

import math
import os
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np

if TYPE_CHECKING:
    from types import ModuleType

    import pyproj
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")

_T = TypeVar("_T")
_marker = threading.local()
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
# Geometries per hop in transform_geometries: a call from the GUI thread waits one chunk at most.
TRANSFORM_CHUNK = 20_000


class CrsError(ValueError):
    """A CRS that PROJ cannot read or use."""


def _mark_projection_thread() -> None:
    _marker.is_projection_thread = True


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="land-consolidation-pyproj",
                                           initializer=_mark_projection_thread)
        return _executor


def is_projection_thread() -> bool:
    return bool(getattr(_marker, "is_projection_thread", False))



def _plain_error(error: BaseException) -> BaseException:
    """An exception to hand back to the caller that holds no pyproj object (no traceback, no cause):
    objects in the frames of a traceback would otherwise be freed on the caller's thread."""
    if isinstance(error, CrsError) or type(error).__module__.startswith("pyproj"):
        return CrsError(str(error))
    if all(isinstance(arg, (str, int, float)) for arg in error.args):
        try:
            return type(error)(*error.args)
        except Exception:  # noqa: BLE001 - an exception type with a constructor of its own
            pass
    return RuntimeError(f"{type(error).__name__}: {error}")


def _run_on_projection_thread(function: Callable[..., Any], args: tuple[Any, ...],
                              kwargs: dict[str, Any]) -> tuple[bool, Any]:
    try:
        return True, function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the caller, cleaned
        failure = _plain_error(error)
        traceback.clear_frames(error.__traceback__)
    return False, failure


def on_projection_thread(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``function`` on the projection thread and wait for its result (exceptions re-raised, as
    plain copies). On the projection thread itself the call runs inline."""

    @wraps(function)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        if is_projection_thread():
            return function(*args, **kwargs)
        ok, value = _get_executor().submit(_run_on_projection_thread, function, args, kwargs).result()
        if not ok:
            raise value
        return value

    return call


def _clear_caches() -> None:
    for cached in (_crs, _transformer):
        cached.cache_clear()


def shutdown() -> None:
    """Free pyproj's objects on their own thread and stop the thread (plugin unload). A later call
    starts a new one."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.submit(_clear_caches).result()
        executor.shutdown(wait=True)
    for cached in (canonical_wkt, crs_facts, equal_area_wkt, _geographic_wkt, pyproj_is_usable):
        cached.cache_clear()


def _forget_executor_after_fork() -> None:
    # A forked child has no projection thread: it starts its own on first use.
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor_after_fork)


def _require_projection_thread() -> None:
    if not is_projection_thread():
        raise RuntimeError("pyproj used off the projection thread (see core/projection.py)")


_data_dir_checked = False


def _pyproj() -> ModuleType:
    """pyproj, imported on the projection thread and pointed at PROJ's data once."""
    global _data_dir_checked
    import warnings

    _require_projection_thread()
    with warnings.catch_warnings():  # "PROJ data directory not found" in a venv: handled just below
        warnings.simplefilter("ignore")
        import pyproj

    if not _data_dir_checked:
        _data_dir_checked = True
        _point_at_proj_data(pyproj)
    return pyproj


def _point_at_proj_data(pyproj: ModuleType) -> None:
    """In a --system-site-packages venv pyproj looks for proj.db under sys.prefix; the system's
    data sit under sys.base_prefix."""
    import os
    import sys
    import warnings

    import pyproj.datadir
    import pyproj.exceptions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pyproj.datadir.get_data_dir()
            return
        except pyproj.exceptions.DataDirError:
            pass
    for candidate in (os.path.join(sys.base_prefix, "share", "proj"), "/usr/share/proj"):
        if os.path.exists(os.path.join(candidate, "proj.db")):
            pyproj.datadir.set_data_dir(candidate)
            return


@lru_cache(maxsize=1)
@on_projection_thread
def pyproj_is_usable() -> bool:
    """pyproj 3's API as the engine uses it is there (checked by capability, not version text)."""
    try:
        pyproj = _pyproj()
        from pyproj.crs import ProjectedCRS  # noqa: F401
        from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion  # noqa: F401
    except ImportError:
        return False
    return callable(getattr(getattr(pyproj, "Transformer", None), "from_crs", None))


@dataclass(frozen=True)
class CrsFacts:
    """What the engine needs to know of a CRS, as plain values."""

    wkt: str
    name: str
    epsg: int | None
    is_geographic: bool
    datum_name: str | None
    semi_major_metre: float
    metres_per_unit: float


@lru_cache(maxsize=256)
def _crs(user_input: str) -> "pyproj.CRS":
    pyproj = _pyproj()  # checks the thread
    try:
        return pyproj.CRS.from_user_input(user_input)
    except pyproj.exceptions.CRSError as error:
        raise CrsError(str(error)) from error


@lru_cache(maxsize=256)
@on_projection_thread
def canonical_wkt(user_input: str) -> str:
    """PROJ's WKT of an authority id ('EPSG:4549'), a WKT or a PROJ string."""
    return _crs(str(user_input)).to_wkt()


@lru_cache(maxsize=256)
@on_projection_thread
def crs_facts(user_input: str) -> CrsFacts:
    crs = _crs(str(user_input))
    geodetic = crs.geodetic_crs
    if crs.is_geographic:
        unit = math.pi / 180.0 * crs.ellipsoid.semi_major_metre  # type: ignore[union-attr]  # geographic: has one
    else:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return CrsFacts(wkt=crs.to_wkt(), name=crs.name, epsg=crs.to_epsg(min_confidence=70),
                    is_geographic=bool(crs.is_geographic), datum_name=geodetic.name if geodetic else None,
                    semi_major_metre=float(crs.ellipsoid.semi_major_metre) if crs.ellipsoid else math.nan,
                    metres_per_unit=float(unit))


@lru_cache(maxsize=64)
@on_projection_thread
def equal_area_wkt(crs_wkt: str, centre_lon: float, centre_lat: float) -> str:
    """A Lambert azimuthal equal-area projection on the datum of ``crs_wkt`` centred on the point:
    plane areas there are ellipsoidal areas."""
    geodetic = _crs(crs_wkt).geodetic_crs  # imports pyproj on first use
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion

    if geodetic is None:
        raise CrsError("CRS without a geodetic datum")
    projected = ProjectedCRS(
        conversion=LambertAzimuthalEqualAreaConversion(latitude_natural_origin=centre_lat,
                                                       longitude_natural_origin=centre_lon),
        geodetic_crs=geodetic,
        name=f"Equal-area frame ({geodetic.name}, {centre_lat:.2f}N {centre_lon:.2f}E)",
    )
    return projected.to_wkt()


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> "pyproj.Transformer":
    return _pyproj().Transformer.from_crs(_crs(source), _crs(target), always_xy=True)  # _pyproj checks the thread


@on_projection_thread
def transform_xy(x: np.ndarray, y: np.ndarray, source_wkt: str, target_wkt: str) -> tuple[np.ndarray, np.ndarray]:
    """Reproject coordinate arrays (x = easting/longitude)."""
    tx, ty = _transformer(source_wkt, target_wkt).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)


def transform_geometries(geoms: np.ndarray, source_wkt: str, target_wkt: str) -> np.ndarray:
    """Reproject an array of shapely geometries (vertex-wise, vectorised), a chunk per hop to the
    projection thread so that a short call from the GUI never waits for a whole county."""
    geoms = np.asarray(geoms, dtype=object)
    if source_wkt == target_wkt or len(geoms) == 0:
        return geoms
    if len(geoms) <= TRANSFORM_CHUNK:
        return _transform_chunk(geoms, source_wkt, target_wkt)
    return np.concatenate([_transform_chunk(geoms[start:start + TRANSFORM_CHUNK], source_wkt, target_wkt)
                           for start in range(0, len(geoms), TRANSFORM_CHUNK)])


@on_projection_thread
def _transform_chunk(geoms: np.ndarray, source_wkt: str, target_wkt: str) -> np.ndarray:
    import shapely

    transformer = _transformer(source_wkt, target_wkt)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _apply)


def lonlat_bounds(geoms: np.ndarray, source_wkt: str) -> tuple[float, float, float, float]:
    """Bounds in longitude/latitude of the geometries (of their bounding box corners and centre)."""
    import shapely

    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    xs = np.array([xmin, xmin, xmax, xmax, (xmin + xmax) / 2])
    ys = np.array([ymin, ymax, ymin, ymax, (ymin + ymax) / 2])
    lon, lat = transform_xy(xs, ys, source_wkt, _geographic_wkt(source_wkt))
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


@lru_cache(maxsize=64)
@on_projection_thread
def _geographic_wkt(crs_wkt: str) -> str:
    geodetic = _crs(crs_wkt).geodetic_crs
    if geodetic is None:
        raise CrsError("CRS without a geodetic datum")
    return geodetic.to_wkt()
