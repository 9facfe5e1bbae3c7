"""Vectorised overlay primitives (shapely 2): cutting pieces by a layer of parts.

Every overlay in the engine is a repetition of one step: cut an array of pieces
by an array of non-overlapping parts, keeping for each new piece the index of
the part it lies in (or -1 outside every part). Pieces entirely inside one part
are taken whole, with no geometry operation; only pieces crossing a part's
boundary are intersected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import shapely
import shapely.errors
from shapely import STRtree

if TYPE_CHECKING:
    import numpy.typing as npt

# Pieces smaller than this (m², or its equivalent in the overlay CRS's units) are
# numerical slivers of coincident boundaries.
SLIVER_AREA_M2 = 1e-6

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


_POLYGON_IDS = np.array([int(t) for t in _POLYGONAL])
_COLLECTION_ID = int(shapely.GeometryType.GEOMETRYCOLLECTION)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (overlays may add lines and points)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    types = shapely.get_type_id(geoms)
    lower = ~np.isin(types, _POLYGON_IDS) & (types != _COLLECTION_ID)
    if lower.any():  # lines and points where neighbours only touch: nothing polygonal
        geoms = geoms.copy()
        geoms[lower] = shapely.Polygon()
    for i in np.flatnonzero(types == _COLLECTION_ID):
        parts = shapely.get_parts(geoms[i])
        parts = parts[np.isin(shapely.get_type_id(parts), _POLYGON_IDS)]
        geoms[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return geoms


def robust(operation: Callable[[Any, Any], Any], a: npt.ArrayLike, b: npt.ArrayLike,
           grid: float = 1e-6) -> np.ndarray:
    """``operation(a, b)`` vectorised; elements on which GEOS fails (e.g. "side location
    conflict" where two boundaries meet at nearly, not exactly, the same point) are
    retried one by one after snapping both to a fine grid (``grid`` in CRS units)."""
    try:
        return operation(a, b)
    except shapely.errors.GEOSException:
        a = np.broadcast_to(np.asarray(a, dtype=object), np.broadcast(a, b).shape)
        b = np.broadcast_to(np.asarray(b, dtype=object), a.shape)
        out = []
        for left, right in zip(a, b):
            try:
                out.append(operation(left, right))
            except shapely.errors.GEOSException:
                out.append(operation(shapely.set_precision(left, grid), shapely.set_precision(right, grid)))
        return np.asarray(out, dtype=type(out[0]) if out and isinstance(out[0], (bool, np.bool_)) else object)


@dataclass
class PartIndex:
    """Non-overlapping polygon parts with a spatial index, prepared for repeated cutting."""

    geoms: np.ndarray
    tree: STRtree

    @classmethod
    def build(cls, geoms: np.ndarray) -> "PartIndex":
        # Geometries are prepared when first used in a cut, not here: preparing a county's
        # 300,000 parcels up front would cost seconds and gigabytes for the few hundred a unit meets.
        geoms = np.asarray(geoms, dtype=object)
        return cls(geoms=geoms, tree=STRtree(geoms))

    def __len__(self) -> int:
        return len(self.geoms)


@dataclass
class Cut:
    """Result of cutting pieces by parts: one row per new piece."""

    source: np.ndarray  # index of the input piece
    part: np.ndarray  # index of the part it lies in, -1 outside all parts
    geoms: np.ndarray
    areas: np.ndarray


class OverlappingParts(Exception):
    """Parts that should not overlap do, where a piece is cut: ``pairs`` of (i, j, area)."""

    def __init__(self, pairs: list[tuple[int, int, float]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def cut(pieces: np.ndarray, parts: PartIndex | None, keep_outside: bool = True,
        min_area: float = SLIVER_AREA_M2, on_overlap: str = "error") -> Cut:
    """Cut ``pieces`` by ``parts``.

    Areas are in the pieces' CRS units; pieces below ``min_area`` are dropped as slivers.
    Parts are expected not to overlap. Where they do inside a piece (found because the
    piece's parts add up to more than the piece), ``on_overlap`` decides: "error" raises
    ``OverlappingParts`` naming them (survey parcels, townships), "merge" dissolves them
    into one piece there (control lines, whose features may legitimately overlap).
    Checking where pieces are cut costs nothing extra, unlike checking a whole county layer.
    """
    pieces = np.asarray(pieces, dtype=object)
    n = len(pieces)
    if parts is None or len(parts) == 0 or n == 0:
        if not keep_outside:
            return _empty_cut()
        return Cut(np.arange(n), np.full(n, -1), pieces, shapely.area(pieces))

    if len(parts) * 4 < n:
        # Few large parts (a township) against many pieces (its parcels): index the pieces and
        # query with the parts, so each large part is prepared once.
        shapely.prepare(parts.geoms)
        part_idx, piece_idx = STRtree(pieces).query(parts.geoms, predicate="intersects")
    else:
        shapely.prepare(pieces)
        piece_idx, part_idx = parts.tree.query(pieces, predicate="intersects")
    # Whole containment either way needs no geometry operation: a piece inside one part
    # is taken as it is (and needs no cut by its other, edge-touching, parts); a part
    # inside the piece is taken as it is. Only pairs crossing each other are intersected.
    # Bounding boxes rule out most containment tests before GEOS is asked.
    piece_box = shapely.bounds(pieces)
    part_box = shapely.bounds(parts.geoms[part_idx])
    pb = piece_box[piece_idx]
    may_hold_piece = ((part_box[:, 0] <= pb[:, 0]) & (part_box[:, 1] <= pb[:, 1])
                      & (part_box[:, 2] >= pb[:, 2]) & (part_box[:, 3] >= pb[:, 3]))
    may_be_held = ((pb[:, 0] <= part_box[:, 0]) & (pb[:, 1] <= part_box[:, 1])
                   & (pb[:, 2] >= part_box[:, 2]) & (pb[:, 3] >= part_box[:, 3]))
    inside_whole = np.zeros(len(piece_idx), dtype=bool)
    if may_hold_piece.any():
        holders = np.unique(part_idx[may_hold_piece])
        shapely.prepare(parts.geoms[holders])
        inside_whole[may_hold_piece] = robust(shapely.contains, parts.geoms[part_idx[may_hold_piece]],
                                              pieces[piece_idx[may_hold_piece]]).astype(bool)
    whole_piece = np.zeros(n, dtype=bool)
    whole_piece[piece_idx[inside_whole]] = True
    open_pairs = ~inside_whole & ~whole_piece[piece_idx]
    part_inside = np.zeros(len(piece_idx), dtype=bool)
    test = open_pairs & may_be_held
    if test.any():
        shapely.prepare(pieces[np.unique(piece_idx[test])])
        part_inside[test] = robust(shapely.contains, pieces[piece_idx[test]],
                                   parts.geoms[part_idx[test]]).astype(bool)
    crossing = open_pairs & ~part_inside

    sources = [piece_idx[inside_whole], piece_idx[part_inside]]
    part_ids = [part_idx[inside_whole], part_idx[part_inside]]
    geoms = [pieces[piece_idx[inside_whole]], parts.geoms[part_idx[part_inside]]]

    cross_piece = piece_idx[crossing]
    cross_part = part_idx[crossing]
    if len(cross_piece):
        inter = polygonal(robust(shapely.intersection, pieces[cross_piece], parts.geoms[cross_part]))
        sources.append(cross_piece)
        part_ids.append(cross_part)
        geoms.append(inter)

    inner_source = np.concatenate(sources).astype(np.int64)
    inner_part = np.concatenate(part_ids).astype(np.int64)
    inner_geom = np.concatenate([np.asarray(g, dtype=object) for g in geoms])
    inner_area = shapely.area(inner_geom)
    covered = np.bincount(inner_source, minlength=n, weights=inner_area)
    piece_area = shapely.area(pieces)
    excess = covered - piece_area > np.maximum(min_area, 1e-7 * piece_area)
    if excess.any():
        if on_overlap == "error":
            raise OverlappingParts(_overlapping_pairs(inner_source, inner_part, excess, parts, min_area))
        inner_source, inner_part, inner_geom = _merge_overlaps(inner_source, inner_part, inner_geom, excess)
        covered = np.bincount(inner_source, minlength=n, weights=shapely.area(inner_geom))
    sources, part_ids, geoms = [inner_source], [inner_part], [inner_geom]

    if keep_outside:
        # What a piece keeps outside every part is cut out only where the parts do not
        # cover it all (a unit inside the survey's coverage has no remainder to compute).
        uncovered = (piece_area - covered) > np.maximum(min_area, 1e-9 * piece_area)
        untouched = np.setdiff1d(np.arange(n), piece_idx, assume_unique=False)
        untouched = untouched[~whole_piece[untouched]]
        sources.append(untouched)
        part_ids.append(np.full(len(untouched), -1))
        geoms.append(pieces[untouched])
        candidates = np.isin(piece_idx, np.flatnonzero(uncovered & ~whole_piece))
        if candidates.any():
            remainder_src, remainder = _remainders(pieces, piece_idx[candidates], part_idx[candidates], parts)
            sources.append(remainder_src)
            part_ids.append(np.full(len(remainder_src), -1))
            geoms.append(remainder)

    source = np.concatenate(sources).astype(np.int64)
    part = np.concatenate(part_ids).astype(np.int64)
    geom = np.concatenate([np.asarray(g, dtype=object) for g in geoms])
    areas = shapely.area(geom)
    keep = areas > min_area
    order = np.lexsort((part[keep], source[keep]))  # deterministic: by piece, then by part
    return Cut(source[keep][order], part[keep][order], geom[keep][order], areas[keep][order])


def _overlapping_pairs(source: np.ndarray, part: np.ndarray, excess: np.ndarray, parts: PartIndex,
                       min_area: float) -> list[tuple[int, int, float]]:
    pairs: set[tuple[int, int, float]] = set()
    for s in np.flatnonzero(excess):
        members = np.unique(part[source == s])
        for i, j, area in interior_overlaps(parts.geoms[members], min_area):
            pairs.add((int(members[i]), int(members[j]), area))
    return sorted(pairs)


def _merge_overlaps(source: np.ndarray, part: np.ndarray, geom: np.ndarray,
                    excess: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One piece per overlapping group of parts: keep = not excess; excess sources are dissolved."""
    keep = ~excess[source]
    merged_source, merged_part, merged_geom = [source[keep]], [part[keep]], [geom[keep]]
    for s in np.flatnonzero(excess):
        chosen = source == s
        merged_source.append(np.array([s]))
        merged_part.append(np.array([part[chosen].min()]))
        merged_geom.append(np.array([shapely.union_all(geom[chosen])], dtype=object))
    return (np.concatenate(merged_source), np.concatenate(merged_part),
            np.concatenate([np.asarray(g, dtype=object) for g in merged_geom]))


def _remainders(pieces: np.ndarray, cross_piece: np.ndarray, cross_part: np.ndarray,
                parts: PartIndex) -> tuple[np.ndarray, np.ndarray]:
    """What is left of each crossing piece outside all the parts it crosses."""
    order = np.argsort(cross_piece, kind="stable")
    cross_piece = cross_piece[order]
    cross_part = cross_part[order]
    unique_pieces, starts = np.unique(cross_piece, return_index=True)
    single = np.diff(np.append(starts, len(cross_piece))) == 1
    cutters = np.empty(len(unique_pieces), dtype=object)
    cutters[single] = parts.geoms[cross_part[starts[single]]]
    for k in np.flatnonzero(~single):
        stop = starts[k + 1] if k + 1 < len(starts) else len(cross_piece)
        cutters[k] = shapely.union_all(parts.geoms[cross_part[starts[k]:stop]])
    remainder = polygonal(robust(shapely.difference, pieces[unique_pieces], cutters))
    return unique_pieces, remainder


def _empty_cut() -> Cut:
    empty = np.empty(0, dtype=np.int64)
    return Cut(empty, empty.copy(), np.empty(0, dtype=object), np.zeros(0))


def interior_overlaps(geoms: np.ndarray, tolerance_m2: float,
                      among: npt.ArrayLike | None = None) -> list[tuple[int, int, float]]:
    """Pairs (i, j, area) of geometries whose interiors overlap by more than ``tolerance_m2``
    (only pairs involving the indexes ``among`` when given: after an edit, the edited ones)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return []
    tree = STRtree(geoms)
    probes = np.arange(len(geoms)) if among is None else np.asarray(among, dtype=np.int64)
    if len(probes) == 0:
        return []
    # Interiors sharing an area (overlap, containment either way, duplicates) is the DE-9IM
    # pattern "2********"; asking the tree for "intersects" and testing the pattern on those
    # pairs is an order of magnitude faster than the tree's "overlaps"/"contains" predicates.
    a, b = tree.query(geoms[probes])  # bounding boxes meet
    a = probes[a]
    # Interiors can share an area only where the bounding boxes overlap by an area: neighbours in a
    # tiled layer (parcels, 永久基本农田 patches) whose boxes only touch are ruled out without GEOS.
    box = shapely.bounds(geoms)
    keep = (a != b) & (np.minimum(box[a, 2], box[b, 2]) > np.maximum(box[a, 0], box[b, 0])) \
        & (np.minimum(box[a, 3], box[b, 3]) > np.maximum(box[a, 1], box[b, 1]))
    a, b = a[keep], b[keep]
    shared = robust(lambda x, y: shapely.relate_pattern(x, y, "2********"), geoms[a], geoms[b]).astype(bool)
    pairs = np.column_stack([a[shared], b[shared]])
    if len(pairs) == 0:
        return []
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    areas = shapely.area(robust(shapely.intersection, geoms[pairs[:, 0]], geoms[pairs[:, 1]]))
    big = areas > tolerance_m2
    return [(int(i), int(j), float(a)) for (i, j), a in zip(pairs[big], areas[big])]


def dissolve_groups(geoms: np.ndarray, pairs: list) -> tuple[np.ndarray, np.ndarray]:
    """Union the clusters that ``pairs`` (i, j, …) join: (one geometry per cluster, cluster of each input).

    Clusters keep the order of their first member, so a layer without overlaps comes back as it was.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if not pairs:
        return geoms, np.arange(n)
    from_, to = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    roots = connected_components(n, from_, to)
    _, first, cluster = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # clusters in the order of their first member
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cluster = rank[cluster]
    # Most clusters are single features, taken as they are; only merged ones are unioned.
    sizes = np.bincount(cluster, minlength=len(order))
    out = np.empty(len(order), dtype=object)
    out[cluster[::-1]] = geoms[::-1]  # each cluster gets its first member (the last write wins)
    for k in np.flatnonzero(sizes > 1):
        out[k] = shapely.union_all(geoms[cluster == k])
    return out, cluster


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (the smallest member index) of each of ``n`` nodes joined by edges a–b.

    Vectorised label propagation with pointer jumping: a few numpy passes instead of a
    Python union-find over hundreds of thousands of pairs.
    """
    labels = np.arange(n)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    while True:
        smaller = np.minimum(labels[a], labels[b])
        updated = labels.copy()
        np.minimum.at(updated, a, smaller)
        np.minimum.at(updated, b, smaller)
        while True:  # pointer jumping: every node points at its label's label
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, labels):
            return labels
        labels = updated
