"""Hand-made layers for engine tests, and an area measure independent of the engine.

Cells are squares in EPSG:4549 (CGCS2000 / 3-degree GK CM 120E) near Yuyao. Test
answers are worked out by hand in cell areas; ``geodesic_area`` measures those
cells with pyproj's geodesic polygon area (Karney), not with the engine's
equal-area projection, so the two area computations check each other.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely
from shapely.geometry import box

from land_consolidation.core.ingest.layerdata import LayerData

CRS = "EPSG:4549"
X0, Y0 = 620000.0, 3316000.0
_GEOD = pyproj.Geod(ellps="GRS80")  # the CGCS2000 ellipsoid differs from GRS80 by 0.1 mm in b
_TO_LONLAT = {}


def geodesic_area(geom, crs: str = CRS) -> float:
    """Ellipsoidal area (m²) of a shapely polygon given in ``crs``."""
    if crs not in _TO_LONLAT:
        _TO_LONLAT[crs] = pyproj.Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    transformer = _TO_LONLAT[crs]
    # Vertex-based, as 三调 ellipsoidal areas and QgsDistanceArea are: the polygon's vertices
    # are taken to the ellipsoid and joined there (geodesics), not densified along GK lines.
    geom = _oriented(geom)  # pyproj sums signed rings: holes must run the other way round
    lonlat = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return abs(_GEOD.geometry_area_perimeter(lonlat)[0])


def _oriented(geom):
    from shapely.geometry import MultiPolygon, Polygon
    from shapely.geometry.polygon import orient

    if isinstance(geom, Polygon):
        return orient(geom, 1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(p, 1.0) for p in geom.geoms])
    return geom


def rect(x0: float, y0: float, x1: float, y1: float, size: float = 1.0):
    """A rectangle in cell units (1.0 = one cell of ``size`` metres) from the grid origin."""
    return box(X0 + x0 * size, Y0 + y0 * size, X0 + x1 * size, Y0 + y1 * size)


def cell(col: int, row: int, size: float):
    return rect(col, row, col + 1, row + 1, size)


def layer(name: str, geoms, records=None, crs: str = CRS) -> LayerData:
    geoms = list(geoms)
    if records is None:
        records = [{} for _ in geoms]
    return LayerData.from_shapes(name, geoms, crs, records)


def reproject(data: LayerData, target: str) -> LayerData:
    """The same layer in another CRS (vertices densified first so the shapes stay the same)."""
    transformer = pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(data.crs_wkt), target, always_xy=True)
    dense = shapely.segmentize(data.geoms, 2.0)
    moved = shapely.transform(dense, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return LayerData(name=data.name, geoms=moved, attrs=data.attrs, fids=data.fids,
                     crs_wkt=pyproj.CRS.from_user_input(target).to_wkt())


def dltb_record(code: str, township: str, area: float, kcxs: float = 0.0, **extra) -> dict:
    """A 三调 DLTB record with TBMJ, KCMJ, TBDLMJ booked as the survey does."""
    tbmj = round(area, 2)
    kcmj = round(tbmj * kcxs, 2)
    record = {"DLBM": code, "ZLDWDM": township + "0010000000", "TBMJ": tbmj, "KCXS": kcxs, "KCMJ": kcmj,
              "TBDLMJ": round(tbmj - kcmj, 2)}
    record.update(extra)
    return record
