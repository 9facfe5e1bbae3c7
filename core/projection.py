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
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Callable, TypeVar

import numpy as np

if TYPE_CHECKING:
    import pyproj

_T = TypeVar("_T")
_marker = threading.local()
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="land-consolidation-pyproj",
                               initializer=lambda: setattr(_marker, "is_projection_thread", True))


def on_projection_thread(function: Callable[..., _T]) -> Callable[..., _T]:
    """Run ``function`` on the projection thread and wait for its result (exceptions re-raised)."""

    @wraps(function)
    def call(*args, **kwargs):
        if getattr(_marker, "is_projection_thread", False):
            return function(*args, **kwargs)
        return _executor.submit(function, *args, **kwargs).result()

    return call


_data_dir_checked = False


def _pyproj():
    """pyproj, imported on the projection thread and pointed at PROJ's data once."""
    global _data_dir_checked
    import warnings

    with warnings.catch_warnings():  # "PROJ data directory not found" in a venv: handled just below
        warnings.simplefilter("ignore")
        import pyproj

    if not _data_dir_checked:
        _data_dir_checked = True
        _point_at_proj_data(pyproj)
    return pyproj


def _point_at_proj_data(pyproj) -> None:
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


class CrsError(ValueError):
    """A CRS that PROJ cannot read."""


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
    pyproj = _pyproj()
    try:
        return pyproj.CRS.from_user_input(user_input)
    except pyproj.exceptions.CRSError as error:
        raise CrsError(str(error)) from error


@on_projection_thread
@lru_cache(maxsize=256)
def canonical_wkt(user_input: str) -> str:
    """PROJ's WKT of an authority id ('EPSG:4549'), a WKT or a PROJ string."""
    return _crs(str(user_input)).to_wkt()


@on_projection_thread
@lru_cache(maxsize=256)
def crs_facts(user_input: str) -> CrsFacts:
    crs = _crs(str(user_input))
    geodetic = crs.geodetic_crs
    if crs.is_geographic:
        unit = math.pi / 180.0 * crs.ellipsoid.semi_major_metre
    else:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return CrsFacts(wkt=crs.to_wkt(), name=crs.name, epsg=crs.to_epsg(min_confidence=70),
                    is_geographic=bool(crs.is_geographic), datum_name=geodetic.name if geodetic else None,
                    semi_major_metre=float(crs.ellipsoid.semi_major_metre) if crs.ellipsoid else math.nan,
                    metres_per_unit=float(unit))


@on_projection_thread
def equal_area_wkt(crs_wkt: str, centre_lon: float, centre_lat: float) -> str:
    """A Lambert azimuthal equal-area projection on the datum of ``crs_wkt`` centred on the point:
    plane areas there are ellipsoidal areas."""
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion

    geodetic = _crs(crs_wkt).geodetic_crs
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
    return _pyproj().Transformer.from_crs(_crs(source), _crs(target), always_xy=True)


@on_projection_thread
def transform_xy(x: np.ndarray, y: np.ndarray, source_wkt: str, target_wkt: str) -> tuple[np.ndarray, np.ndarray]:
    """Reproject coordinate arrays (x = easting/longitude)."""
    tx, ty = _transformer(source_wkt, target_wkt).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)


@on_projection_thread
def transform_geometries(geoms: np.ndarray, source_wkt: str, target_wkt: str) -> np.ndarray:
    """Reproject an array of shapely geometries (vertex-wise, vectorised)."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    if source_wkt == target_wkt or len(geoms) == 0:
        return geoms
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


@on_projection_thread
@lru_cache(maxsize=64)
def _geographic_wkt(crs_wkt: str) -> str:
    geodetic = _crs(crs_wkt).geodetic_crs
    if geodetic is None:
        raise CrsError("CRS without a geodetic datum")
    return geodetic.to_wkt()


def is_projection_thread() -> bool:
    return bool(getattr(_marker, "is_projection_thread", False))
