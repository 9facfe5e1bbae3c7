"""Vertex sharing: polygons built separately meet vertex for vertex.

Townships are noded one by one, and a unit's cut line or a partial project footprint
crosses parcel edges at points the parcels do not have. Without shared vertices the
layers would meet at nearly, not exactly, identical boundaries, and the engine's
overlays and validity checks would see slivers the survey does not have.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import shapely
from shapely import STRtree

from . import geometry as geo


def _rebuild(geom: shapely.Geometry, ring_fn: Callable[[np.ndarray], np.ndarray]) -> shapely.Geometry:
    """``geom`` with every ring passed through ``ring_fn`` (degenerate rings dropped)."""
    polys = []
    for poly in shapely.get_parts(geom):
        shell = ring_fn(np.asarray(poly.exterior.coords))
        if len(shell) < 4:
            continue
        holes = [r for r in (ring_fn(np.asarray(r.coords)) for r in poly.interiors) if len(r) >= 4]
        polys.append(shapely.Polygon(shell, holes))
    if not polys:
        return shapely.Polygon()
    if geom.geom_type == "MultiPolygon" or len(polys) > 1:
        return shapely.MultiPolygon(polys)
    return polys[0]


def _dedup(coords: np.ndarray) -> np.ndarray:
    """``coords`` without consecutive repeated points."""
    keep = np.ones(len(coords), bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    return coords[keep]


def _insert_points(geom: shapely.Geometry, pts: np.ndarray, eps: float) -> shapely.Geometry:
    """``geom`` with the points of ``pts`` that lie on its edges inserted as vertices."""
    def ring_with(coords: np.ndarray) -> np.ndarray:
        a, b = coords[:-1], coords[1:]
        d = b - a
        L2 = np.maximum((d ** 2).sum(1), 1e-300)
        t = ((pts[None, :, 0] - a[:, None, 0]) * d[:, None, 0] + (pts[None, :, 1] - a[:, None, 1]) * d[:, None, 1]) / L2[:, None]
        px = a[:, None, 0] + t * d[:, None, 0] - pts[None, :, 0]
        py = a[:, None, 1] + t * d[:, None, 1] - pts[None, :, 1]
        on = (px ** 2 + py ** 2 <= eps * eps) & (t > 0) & (t < 1)
        if not on.any():
            return coords
        out = []
        for k in range(len(a)):
            out.append(a[k])
            hit = np.flatnonzero(on[k])
            for h in hit[np.argsort(t[k, hit])]:
                out.append(pts[h])
        out.append(coords[-1])
        return _dedup(np.array(out))

    return _rebuild(geom, ring_with)


def _share_vertices(geoms: np.ndarray, source: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Make polygons built separately share vertices exactly.

    Polygons from different sources (two townships noded separately; a unit's cut line
    and the parcels it crosses) meet at nodes computed twice, which may differ in the
    last bits, or at a vertex of one that lies on an edge of the other. Vertices of
    different sources closer than ``eps`` are snapped together, then every vertex lying
    on another source's edge is inserted there, so overlays and predicates downstream
    see identical boundaries rather than nearly identical ones. ``eps`` stays far below
    the distance of genuinely distinct, nearly collinear vertices of one source.
    """
    out = np.asarray(geoms, dtype=object).copy()
    source = np.asarray(source, dtype=np.int64)
    if len(out) == 0:
        return out

    def vertex_table(arr: np.ndarray) -> tuple:
        coords, gidx = shapely.get_coordinates(arr, return_index=True)
        uniq, vid = np.unique(coords, axis=0, return_inverse=True)
        vid = vid.ravel().astype(np.int64)
        return uniq, vid, gidx, np.unique(source[gidx] * len(uniq) + vid)

    uniq, vid, gidx, owned = vertex_table(out)
    pts = shapely.points(uniq)
    a, b = STRtree(pts).query(pts, predicate="dwithin", distance=eps)
    pairs = [(i, j) for i, j in zip(a, b) if i < j]
    if pairs:
        nv = len(uniq)
        src_of = {}
        for key in owned:
            src_of.setdefault(int(key % nv), set()).add(int(key // nv))
        pairs = [(i, j) for i, j in pairs if not (src_of[i] & src_of[j])]
    if pairs:
        pa, pb = np.array(pairs).T
        rep = geo.components(len(uniq), pa, pb)
        moved = rep != np.arange(len(uniq))
        lookup = {tuple(uniq[i]): uniq[rep[i]] for i in np.flatnonzero(moved)}

        def snap(ring: np.ndarray) -> np.ndarray:
            return _dedup(np.array([lookup.get(tuple(p), p) for p in ring]))

        for g in np.unique(gidx[moved[vid]]):
            out[g] = _rebuild(out[g], snap)
        uniq, vid, gidx, owned = vertex_table(out)
        pts = shapely.points(uniq)
    nv = len(uniq)
    gi, vi = STRtree(pts).query(shapely.boundary(out), predicate="dwithin", distance=eps)
    foreign = ~np.isin(source[gi] * nv + vi, owned)
    gi, vi = gi[foreign], vi[foreign]
    for g in np.unique(gi):
        out[g] = _insert_points(out[g], uniq[vi[gi == g]], eps)
    bad = ~shapely.is_valid(out)
    if bad.any():  # pragma: no cover - not seen in practice; keep the data usable
        out[bad] = [geo.union(geo.polygons(shapely.make_valid(g))) for g in out[bad]]
    return out


def share_near(layers: list, sources: list, seams: np.ndarray) -> list:
    """_share_vertices on the polygons of ``layers`` that touch the ``seams`` lines only."""
    sizes = [len(g) for g in layers]
    allg = np.concatenate([np.asarray(g, dtype=object) for g in layers])
    src = np.concatenate([np.asarray(s, dtype=np.int64) for s in sources])
    hit = np.unique(STRtree(allg).query(seams, predicate="dwithin", distance=1e-6)[1])
    if len(hit):
        allg[hit] = _share_vertices(allg[hit], src[hit])
    res, k = [], 0
    for n in sizes:
        res.append(allg[k:k + n])
        k += n
    return res
