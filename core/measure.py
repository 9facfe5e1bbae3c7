"""Units and ellipsoidal areas.

Convention (stated in every help text and report): areas are ellipsoidal areas on
the ellipsoid of the land-use layer's geodetic datum (CGCS2000 for 三调 data),
whatever CRS each input comes in. Every input is brought into the land-use
layer's CRS for the overlay; pieces are then projected into a Lambert azimuthal
equal-area projection on the same datum, centred on the data, whose plane areas
are ellipsoidal areas (agreement with QGIS's ``QgsDistanceArea.measureArea`` is
checked in the tests). Both steps run vectorised in shapely and pyproj.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
import pyproj.datadir
import pyproj.exceptions
import shapely
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion


def _ensure_proj_data() -> None:
    """Point pyproj at PROJ's data when it runs from a virtualenv over the system Python.

    pyproj looks under ``sys.prefix``; in a ``--system-site-packages`` venv the data
    sit under ``sys.base_prefix`` instead.
    """
    import os
    import sys
    import warnings

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


_ensure_proj_data()

SQUARE_METRES_PER_MU = 10000.0 / 15.0
SQUARE_METRES_PER_HECTARE = 10000.0

# Centre of the working projection is rounded so that the same data always give
# the same frame, whichever caller (panel, algorithm, exporter) builds it.
_CENTRE_STEP_DEGREES = 0.05


def to_mu(square_metres):
    return square_metres / SQUARE_METRES_PER_MU


def to_hectares(square_metres):
    return square_metres / SQUARE_METRES_PER_HECTARE


def crs_from(user_input) -> pyproj.CRS:
    """A pyproj CRS from an authid ('EPSG:4549'), WKT or a pyproj CRS."""
    return pyproj.CRS.from_user_input(user_input)


@lru_cache(maxsize=64)
def _transformer(source_wkt: str, target_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(
        pyproj.CRS.from_wkt(source_wkt), pyproj.CRS.from_wkt(target_wkt), always_xy=True
    )


def transform_geometries(geoms: np.ndarray, source_wkt: str, target_wkt: str) -> np.ndarray:
    """Reproject an array of shapely geometries (vertex-wise, vectorised)."""
    if source_wkt == target_wkt or len(geoms) == 0:
        return np.asarray(geoms, dtype=object)
    transformer = _transformer(source_wkt, target_wkt)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _apply)


@dataclass(frozen=True)
class WorkingFrame:
    """Where computations run: overlays in the land-use layer's own CRS, areas on the ellipsoid.

    Overlays run in the land-use layer's CRS, where the survey's straight edges are
    straight and shared boundaries coincide exactly (no slivers from reprojection).
    Areas are measured by projecting pieces into a Lambert azimuthal equal-area
    projection on the same datum, centred on the data: plane areas there are the
    ellipsoidal areas.
    """

    overlay_wkt: str
    area_wkt: str
    centre_lon: float
    centre_lat: float
    datum_name: str
    metres_per_unit: float  # approximate, for converting tolerances only

    @classmethod
    def for_data(cls, crs_input, bounds_lonlat: tuple[float, float, float, float]) -> "WorkingFrame":
        """Build the frame on ``crs_input`` (the land-use layer's CRS), centred on ``bounds_lonlat``."""
        source = crs_from(crs_input)
        geodetic = source.geodetic_crs
        if geodetic is None:
            raise ValueError("CRS without a geodetic datum")
        min_lon, min_lat, max_lon, max_lat = bounds_lonlat
        lon = _round_to_step((min_lon + max_lon) / 2.0)
        lat = _round_to_step((min_lat + max_lat) / 2.0)
        projected = ProjectedCRS(
            conversion=LambertAzimuthalEqualAreaConversion(latitude_natural_origin=lat,
                                                           longitude_natural_origin=lon),
            geodetic_crs=geodetic,
            name=f"Equal-area frame ({geodetic.name}, {lat:.2f}N {lon:.2f}E)",
        )
        if source.is_geographic:
            metres = math.pi / 180.0 * source.ellipsoid.semi_major_metre * math.cos(math.radians(lat)) ** 0.5
        else:
            metres = source.axis_info[0].unit_conversion_factor if source.axis_info else 1.0
        return cls(overlay_wkt=source.to_wkt(), area_wkt=projected.to_wkt(), centre_lon=lon, centre_lat=lat,
                   datum_name=geodetic.name, metres_per_unit=float(metres))

    @property
    def wkt(self) -> str:
        return self.overlay_wkt

    def ingest(self, geoms: np.ndarray, source_wkt: str) -> np.ndarray:
        """Bring geometries from any CRS into the overlay CRS."""
        return transform_geometries(geoms, source_wkt, self.overlay_wkt)

    def export(self, geoms: np.ndarray, target_wkt: str) -> np.ndarray:
        return transform_geometries(geoms, self.overlay_wkt, target_wkt)

    def metric(self, geoms: np.ndarray) -> np.ndarray:
        """Overlay geometries in the equal-area metric projection (for distances and areas)."""
        return transform_geometries(geoms, self.overlay_wkt, self.area_wkt)

    def from_metric(self, geoms: np.ndarray) -> np.ndarray:
        return transform_geometries(geoms, self.area_wkt, self.overlay_wkt)

    def areas(self, geoms: np.ndarray) -> np.ndarray:
        """Ellipsoidal areas (m²) of overlay geometries."""
        geoms = np.asarray(geoms, dtype=object)
        if len(geoms) == 0:
            return np.zeros(0)
        return shapely.area(self.metric(geoms))

    def square_metres_to_units(self, square_metres: float) -> float:
        return square_metres / self.metres_per_unit ** 2


def _round_to_step(value: float) -> float:
    return round(math.floor(value / _CENTRE_STEP_DEGREES + 0.5) * _CENTRE_STEP_DEGREES, 6)


def lonlat_bounds(geoms: np.ndarray, source_wkt: str) -> tuple[float, float, float, float]:
    """Bounds in longitude/latitude of the geometries (of their bounding box corners)."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    source = pyproj.CRS.from_wkt(source_wkt)
    geographic = source.geodetic_crs
    transformer = pyproj.Transformer.from_crs(source, geographic, always_xy=True)
    xs = np.array([xmin, xmin, xmax, xmax, (xmin + xmax) / 2])
    ys = np.array([ymin, ymax, ymin, ymax, (ymin + ymax) / 2])
    lon, lat = transformer.transform(xs, ys)
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def ellipsoidal_areas(geoms: np.ndarray, source_wkt: str, frame: WorkingFrame | None = None) -> np.ndarray:
    """Ellipsoidal areas (m²) of geometries given in any CRS."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0)
    if frame is None:
        frame = WorkingFrame.for_data(source_wkt, lonlat_bounds(geoms, source_wkt))
    return frame.areas(frame.ingest(geoms, source_wkt))
