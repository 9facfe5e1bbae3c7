"""Geometry helpers every stage of the sample draws with.

Shapes (blobs, rectangles, bands along a polyline, wavy lines) are snapped to a 1 mm
grid so that outlines meant to meet do so at the same representable points; pieces
GEOS returns are put in a canonical order so that the output does not depend on the
GEOS version. ``ellipsoidal_area`` is the 三调 图斑面积 every area field is filled with,
and the graph helpers work on the parcels' adjacency (pairs of touching parcels).
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import shapely
from shapely import STRtree

EPSG = 4549  # CGCS2000 3-degree Gauss-Krüger CM 120°E, the sample's CRS
Rng = np.random.Generator


def round_mm(geom: shapely.Geometry) -> shapely.Geometry:
    """Inputs on a 1 mm grid: outlines that should meet do so at representable points."""
    return shapely.transform(geom, lambda c: np.round(c, 3))


def polygons(geoms) -> np.ndarray:
    """Polygon parts of geometries (drops lines/points left by overlay), as an array."""
    parts = shapely.get_parts(np.atleast_1d(np.asarray(geoms, dtype=object)))
    if len(parts) == 0:
        return parts
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep]


def union(geoms) -> shapely.Geometry:
    """Union of the non-empty geometries among ``geoms`` (an empty polygon when there are none)."""
    geoms = [g for g in np.atleast_1d(np.asarray(geoms, dtype=object)) if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def largest(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon part of ``geom`` with the largest area (an empty polygon when there is none)."""
    parts = polygons(geom)
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[int(np.argmax(shapely.area(parts)))]


def dissolve(geoms, townships: np.ndarray | None = None) -> shapely.Geometry:
    """Union of parcels: exact coverage union inside a township, overlay union across."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return shapely.Polygon()
    if townships is None:
        townships = np.zeros(len(geoms), dtype=np.int64)
    parts = []
    for t in np.unique(townships):
        sel = geoms[townships == t]
        parts.append(sel[0] if len(sel) == 1 else shapely.coverage_union_all(sel))
    out = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    if not out.is_valid:
        out = shapely.make_valid(out)
    return union(polygons(out)) if out.geom_type not in ("Polygon", "MultiPolygon") else out


def canonical_order(geoms: np.ndarray) -> np.ndarray:
    """A stable order that does not depend on how GEOS happened to emit the pieces."""
    pts = shapely.get_coordinates(shapely.centroid(geoms)) if len(geoms) else np.zeros((0, 2))
    areas = shapely.area(geoms)
    return np.lexsort((np.round(areas, 1), np.round(pts[:, 0], 2), np.round(pts[:, 1], 2)))


def angle_of(line: shapely.LineString, pt: shapely.Point) -> float:
    """Direction (radians, mod pi) of ``line`` near point ``pt``."""
    s = line.project(pt)
    a = line.interpolate(max(s - 60.0, 0.0))
    b = line.interpolate(min(s + 60.0, line.length))
    return math.atan2(b.y - a.y, b.x - a.x) % math.pi


class Noise:
    """Smooth random field in about [-1, 1]: a sum of plane waves."""

    def __init__(self, rng: Rng, waves: int = 7, lmin: float = 500.0, lmax: float = 3000.0) -> None:
        self.ang = rng.uniform(0, 2 * math.pi, waves)
        self.lam = np.exp(rng.uniform(math.log(lmin), math.log(lmax), waves))
        self.phase = rng.uniform(0, 2 * math.pi, waves)
        self.amp = (self.lam / lmax) ** 0.5
        self.norm = math.sqrt(0.5 * float((self.amp ** 2).sum()))

    def __call__(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        k = 2 * math.pi / self.lam
        v = self.amp * np.cos(k * (x * np.cos(self.ang) + y * np.sin(self.ang)) + self.phase)
        return np.clip(v.sum(-1) / self.norm / 2.2, -1.0, 1.0)


def blob(cx: float, cy: float, a: float, b: float, theta: float, rng: Rng, rough: float = 0.12,
         n: int = 72) -> shapely.Geometry:
    """An irregular star-shaped blob around an ellipse (a along theta, b across)."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.ones_like(t)
    for k in (2, 3, 5, 7):
        r += rough * rng.uniform(0.3, 1.0) / (k / 2) * np.sin(k * t + rng.uniform(0, 2 * math.pi))
    x, y = a * r * np.cos(t), b * r * np.sin(t)
    c, s = math.cos(theta), math.sin(theta)
    ring = np.column_stack([cx + c * x - s * y, cy + s * x + c * y])
    return round_mm(shapely.make_valid(shapely.Polygon(ring)))


def rect(cx: float, cy: float, length: float, width: float, theta: float) -> shapely.Polygon:
    """A rectangle centred on (cx, cy), ``length`` along direction ``theta``."""
    c, s = math.cos(theta), math.sin(theta)
    pts = np.array([[-length / 2, -width / 2], [length / 2, -width / 2], [length / 2, width / 2],
                    [-length / 2, width / 2]])
    ring = np.column_stack([cx + c * pts[:, 0] - s * pts[:, 1], cy + s * pts[:, 0] + c * pts[:, 1]])
    return round_mm(shapely.Polygon(ring))


def offset_band(coords: np.ndarray, left, right) -> shapely.Geometry:
    """Polygon between the left and right offsets of a smooth polyline (widths may vary)."""
    d = np.gradient(coords, axis=0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    left = np.broadcast_to(left, len(coords))[:, None]
    right = np.broadcast_to(right, len(coords))[:, None]
    ring = np.vstack([coords + normal * left, (coords - normal * right)[::-1]])
    poly = shapely.make_valid(shapely.Polygon(ring))
    return round_mm(union(polygons(poly)))


def wavy(rng: Rng, start, end, amp: float, step: float = 25.0, waves: int = 3,
         lam: tuple = (300.0, 1500.0)) -> np.ndarray:
    """Points along a straight segment with a smooth sideways wave (fixed ends stay put)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    length = float(np.hypot(*(end - start)))
    n = max(2, int(length / step) + 1)
    t = np.linspace(0, 1, n)
    pts = start + (end - start) * t[:, None]
    if length == 0 or amp <= 0:
        return pts
    normal = np.array([-(end - start)[1], (end - start)[0]]) / length
    off = np.zeros(n)
    for _ in range(waves):
        lam_k = rng.uniform(*lam)
        off += rng.uniform(0.3, 1.0) * np.sin(2 * math.pi * t * length / lam_k + rng.uniform(0, 2 * math.pi))
    off *= amp / waves
    return pts + normal * off[:, None]


def ellipsoidal_area(geoms) -> np.ndarray:
    """Area on the CGCS2000 (= GRS80) ellipsoid, m², like 三调 图斑面积.

    Measured with pyproj's Geod on EPSG:4490 coordinates, independently of the engine's
    own area code, so that the tests can check the engine and QGIS against it.
    """
    geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
    tr = pyproj.Transformer.from_crs(EPSG, 4490, always_xy=True)
    geod = pyproj.Geod(ellps="GRS80")
    lonlat = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in lonlat], dtype=float)


# ----------------------------------------------------------------------------- parcel graphs


def adjacency(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of geometries that touch or overlap."""
    tree = STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    return a[keep], b[keep]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components (smallest member index as label) of an undirected graph."""
    label = np.arange(n)
    while True:
        new = label.copy()
        np.minimum.at(new, a, label[b])
        np.minimum.at(new, b, label[a])
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def csr(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The undirected graph of edges (a, b) as (indptr, neighbours): node i's are neighbours[indptr[i]:indptr[i + 1]]."""
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    indptr = np.searchsorted(src, np.arange(n + 1))
    return indptr, dst
