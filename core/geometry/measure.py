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
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import shapely

from ..common.numbers import SQUARE_METRES_PER_HECTARE, SQUARE_METRES_PER_MU
from . import projection
from .projection import lonlat_bounds, transform_geometries

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SQUARE_METRES_PER_MU", "SQUARE_METRES_PER_HECTARE", "WorkingFrame", "ellipsoidal_areas",
           "lonlat_bounds", "to_hectares", "to_mu", "transform_geometries"]

# 亩 and 公顷 are defined once, with how figures print (core/common/numbers.py)

# Centre of the working projection is rounded so that the same data always give
# the same frame, whichever caller (panel, algorithm, exporter) builds it.
_CENTRE_STEP_DEGREES = 0.05

# An area or areas in m²: a number, a numpy array or a pandas column; the result is of the same kind.
_Area = TypeVar("_Area", float, "np.ndarray", "pd.Series")


def to_mu(square_metres: _Area) -> _Area:
    return square_metres / SQUARE_METRES_PER_MU


def to_hectares(square_metres: _Area) -> _Area:
    return square_metres / SQUARE_METRES_PER_HECTARE


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
    def for_data(cls, crs_input: str, bounds_lonlat: tuple[float, float, float, float]) -> "WorkingFrame":
        """Build the frame on ``crs_input`` (the land-use layer's CRS), centred on ``bounds_lonlat``."""
        source = projection.crs_facts(crs_input)
        if source.datum_name is None:
            raise ValueError("CRS without a geodetic datum")
        min_lon, min_lat, max_lon, max_lat = bounds_lonlat
        lon = _round_to_step((min_lon + max_lon) / 2.0)
        lat = _round_to_step((min_lat + max_lat) / 2.0)
        if source.is_geographic:
            metres = source.metres_per_unit * math.cos(math.radians(lat)) ** 0.5
        else:
            metres = source.metres_per_unit
        return cls(overlay_wkt=source.wkt, area_wkt=projection.equal_area_wkt(source.wkt, lon, lat),
                   centre_lon=lon, centre_lat=lat, datum_name=source.datum_name, metres_per_unit=float(metres))

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


def ellipsoidal_areas(geoms: np.ndarray, source_wkt: str, frame: WorkingFrame | None = None) -> np.ndarray:
    """Ellipsoidal areas (m²) of geometries given in any CRS."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0)
    if frame is None:
        frame = WorkingFrame.for_data(source_wkt, lonlat_bounds(geoms, source_wkt))
    return frame.areas(frame.ingest(geoms, source_wkt))
