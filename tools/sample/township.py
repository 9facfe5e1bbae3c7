"""One township's parcels: villages, 行政村 territories, field grids, patches and the faces.

* Each township is divided into 行政村 territories (jagged borders from coarse Voronoi
  cells given to the nearest seat) around village clusters (zone VILLAGE, CZCSXM 203).
  The plain of a territory gets a warped, jittered grid of 农村道路 (1006) and 沟渠
  (1107) aligned with the nearest river or road. Each block between them is filled with
  Voronoi cells computed in a rotated, anisotropically scaled frame and mapped back,
  i.e. elongated fields along the grid, mostly 0101 with clusters of 0102/0103 and
  可调整 land. Ponds (1104), isolated 宅基地 (0702, 复垦 candidates), workshops
  (0601, 203A) and 0404/1206/1202 patches are dropped in the fields off the roads.
  Hills get forest (0301/0305/0307; 0201/0204 orchards, 可调整 0201K/0301K and sloping
  旱地 0103 at their foot), towns 0701/05H1/08H1 (CZCSXM 202), industrial zones 0601 (202A).
* Parcels are the faces of the planar arrangement of all these outlines: every line is
  noded, the faces polygonised, each face labelled with the feature of highest priority
  covering it (river > reservoir > 公路 > streets > 农村道路 > 沟渠 > patches) or else
  with its cell (zone, territory, nearest seed), faces dissolved by label and split into
  parts, fragments and slivers merged into the neighbour they share most edge with. The
  parcels are therefore an exact partition of the township.
* The field cell size is tuned per township so that the total comes within a few % of
  the township's share of the requested parcel count.

All draws come from the generator seeded with (seed, 1, township index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely
from shapely import STRtree

from . import geometry as geo
from .geometry import Rng
from .landscape import HILL, IND, PLAIN, PRIORITY, TOWN, VILLAGE, Feature, Landscape, Zone, street_grid

ZONE_CELL = {  # mean cell area (m²), elongation, jitter; fields are sized per township
    PLAIN: (None, None, 0.42),
    HILL: (26_000.0, 1.4, 0.5),
    TOWN: (11_000.0, 1.3, 0.4),
    IND: (24_000.0, 1.6, 0.35),
    VILLAGE: (3_500.0, 1.5, 0.45),
}


@dataclass
class Piece:
    """Part of a territory in one zone: its cells are the Voronoi cells of ``seeds``."""

    geom: object
    kind: int
    territory: int
    zone: int  # index into the township's zone list, -1 for plain
    origin: tuple
    theta: float
    elong: float
    seeds: np.ndarray  # real coordinates
    codes: list  # class code of each cell

    def scaled(self, xy: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.theta), math.sin(self.theta)
        dx, dy = xy[:, 0] - self.origin[0], xy[:, 1] - self.origin[1]
        return np.column_stack([(dx * c + dy * s) / self.elong, -dx * s + dy * c])

    def unscale(self, uv: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.theta), math.sin(self.theta)
        u, v = uv[:, 0] * self.elong, uv[:, 1]
        return np.column_stack([self.origin[0] + u * c - v * s, self.origin[1] + u * s + v * c])


def _seeds(piece_geom: shapely.Geometry, origin: tuple, theta: float, elong: float, area: float, jitter: float,
           rng: Rng) -> np.ndarray:
    """Jittered-grid seeds in the scaled frame, kept inside the piece."""
    tmp = Piece(piece_geom, 0, 0, 0, origin, theta, elong, np.zeros((0, 2)), [])
    ring = shapely.get_coordinates(piece_geom)
    uv = tmp.scaled(ring)
    d = math.sqrt(area / elong)
    u = np.arange(uv[:, 0].min() - d / 2, uv[:, 0].max() + d, d)
    v = np.arange(uv[:, 1].min() - d / 2, uv[:, 1].max() + d, d)
    gu, gv = np.meshgrid(u, v)
    grid = np.column_stack([gu.ravel(), gv.ravel()])
    grid += rng.uniform(-jitter, jitter, grid.shape) * d
    xy = tmp.unscale(grid)
    shapely.prepare(piece_geom)
    inside = shapely.contains_xy(piece_geom, xy[:, 0], xy[:, 1])
    xy = xy[inside]
    if len(xy) == 0:
        xy = shapely.get_coordinates(shapely.point_on_surface(piece_geom))
    return np.round(xy, 3)


def _cell_edges(piece: Piece) -> shapely.Geometry | None:
    """Voronoi edges of the piece's seeds (computed in the scaled frame), clipped near the piece."""
    if len(piece.seeds) < 2:
        return None
    uv = piece.scaled(piece.seeds)
    box = shapely.box(uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()).buffer(500)
    edges = shapely.voronoi_polygons(shapely.multipoints(uv), only_edges=True, extend_to=box)
    edges = shapely.transform(edges, piece.unscale)
    return shapely.intersection(edges, piece.geom.buffer(5, quad_segs=2))


def _nearest_feature_angle(land: Landscape, pt: shapely.Point) -> float:
    """Direction of the river or 公路 nearest to ``pt``: fields and villages line up with it."""
    lines = [r.line for r in land.rivers] + [hw.line for hw in land.highways]
    d = [ln.distance(pt) for ln in lines]
    return geo.angle_of(lines[int(np.argmin(d))], pt)


@dataclass
class TownshipParcels:
    """The parcels of one township, with the labels their attributes are derived from."""

    geoms: np.ndarray
    attrs: dict  # column -> array
    villages: list  # Zone (VILLAGE)
    territories: list  # dict(geom, code, name, kind)
    plain_cell: float = 0.0


def _place_villages(land: Landscape, tgeom: shapely.Geometry, rng: Rng) -> list:
    """Village clusters (zone VILLAGE), about one per 5.5 km², off hills, towns, rivers and 公路."""
    count = max(1, round(tgeom.area / 1e6 / 5.5))
    near = tgeom.buffer(400)
    occupied = geo.union([h.geom for h in land.hills if h.geom.intersects(near)]
                         + [t.geom.buffer(250) for t in land.towns if t.geom.intersects(near)]
                         + [r.geom.buffer(60) for r in land.rivers if r.geom.intersects(near)]
                         + [hw.geom.buffer(30) for hw in land.highways if hw.geom.intersects(near)])
    avail = shapely.difference(tgeom.buffer(-320), occupied)
    if avail.is_empty:
        avail = tgeom.buffer(-100) if not tgeom.buffer(-100).is_empty else tgeom
    shapely.prepare(avail)
    x0, y0, x1, y1 = avail.bounds
    pts = np.column_stack([rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400)])
    pts = pts[shapely.contains_xy(avail, pts[:, 0], pts[:, 1])]
    chosen = []
    for p in pts:
        if all(math.hypot(p[0] - q[0], p[1] - q[1]) > 1300 for q in chosen):
            chosen.append(p)
        if len(chosen) >= count:
            break
    villages = []
    for p in chosen:
        pt = shapely.Point(p)
        theta = _nearest_feature_angle(land, pt) + rng.normal(0, 0.15)
        blob = geo.blob(p[0], p[1], rng.uniform(230, 360), rng.uniform(110, 160), theta, rng, rough=0.2)
        blob = geo.round_mm(geo.largest(shapely.difference(blob, occupied)))
        if blob.area > 2e4:
            villages.append(Zone(blob, VILLAGE, theta, (float(p[0]), float(p[1]))))
    return villages


def _territories(tgeom: shapely.Geometry, villages: list, town_zones: list, rng: Rng) -> list:
    """行政村 territories: coarse Voronoi cells given to the nearest seat (jagged borders)."""
    seats = [(v.centre, "village") for v in villages] + [(t.centre, "town") for t in town_zones]
    if not seats:
        p = tgeom.point_on_surface()
        seats = [((p.x, p.y), "village")]
    x0, y0, x1, y1 = tgeom.bounds
    d = 430.0
    gx, gy = np.meshgrid(np.arange(x0 - 2 * d, x1 + 2 * d, d), np.arange(y0 - 2 * d, y1 + 2 * d, d))
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.4, 0.4, (gx.size, 2)) * d
    cells = geo.polygons(shapely.voronoi_polygons(shapely.multipoints(np.round(pts, 3)),
                                               extend_to=shapely.box(x0 - 3 * d, y0 - 3 * d, x1 + 3 * d, y1 + 3 * d)))
    cells = cells[shapely.intersects(cells, tgeom)]
    cc = shapely.get_coordinates(shapely.centroid(cells))
    sxy = np.array([s[0] for s in seats])
    weight = rng.uniform(0.85, 1.15, len(seats))
    dist = np.hypot(cc[:, 0, None] - sxy[None, :, 0], cc[:, 1, None] - sxy[None, :, 1]) * weight[None, :]
    owner = np.argmin(dist, axis=1)
    out = []
    for k in range(len(seats)):
        mine = cells[owner == k]
        if len(mine) == 0:
            continue
        geom = shapely.coverage_union_all(mine)
        out.append({"geom": geo.round_mm(geom), "kind": seats[k][1], "seat": tuple(sxy[k])})
    return out


def _grid_lines(plain: shapely.Geometry, theta: float, rng: Rng, spacing_long: float,
                spacing_cross: float) -> list:
    """Rural roads (1006) and ditches (1107) of one territory: a warped, jittered grid."""
    feats = []
    if plain.is_empty or plain.area < 5e4:
        return feats
    origin = shapely.get_coordinates(plain.centroid)[0]
    c, s = math.cos(theta), math.sin(theta)
    ring = shapely.get_coordinates(plain)
    u = (ring[:, 0] - origin[0]) * c + (ring[:, 1] - origin[1]) * s
    v = -(ring[:, 0] - origin[0]) * s + (ring[:, 1] - origin[1]) * c
    u0, u1, v0, v1 = u.min() - 50, u.max() + 50, v.min() - 50, v.max() + 50
    vs = np.arange(v0 + rng.uniform(0.2, 0.8) * spacing_long, v1, spacing_long)
    vs = np.sort(vs + rng.uniform(-0.18, 0.18, len(vs)) * spacing_long)
    vs = vs[(vs > v0 + 20) & (vs < v1 - 20)]
    us = np.arange(u0 + rng.uniform(0.2, 0.8) * spacing_cross, u1, spacing_cross)
    us = np.sort(us + rng.uniform(-0.18, 0.18, len(us)) * spacing_cross)
    us = us[(us > u0 + 20) & (us < u1 - 20)]
    # Smooth warp applied to both families keeps their crossings exact while bending them.
    amp1, amp2 = rng.uniform(15, 35), rng.uniform(15, 35)
    lam1, lam2 = rng.uniform(1400, 2600), rng.uniform(1400, 2600)
    ph1, ph2 = rng.uniform(0, 6.3, 2)

    def to_real(uu: np.ndarray, vv: np.ndarray) -> np.ndarray:
        uu2 = uu + amp1 * np.sin(2 * math.pi * vv / lam1 + ph1)
        vv2 = vv + amp2 * np.sin(2 * math.pi * uu / lam2 + ph2)
        return np.column_stack([origin[0] + uu2 * c - vv2 * s, origin[1] + uu2 * s + vv2 * c])

    def crossing_index(xy: np.ndarray) -> np.ndarray:
        """Which gap between cross lines a point is in (inverts the warp by fixed point)."""
        dx, dy = xy[:, 0] - origin[0], xy[:, 1] - origin[1]
        uw, vw = dx * c + dy * s, -dx * s + dy * c
        uu, vv = uw.copy(), vw.copy()
        for _ in range(8):
            uu = uw - amp1 * np.sin(2 * math.pi * vv / lam1 + ph1)
            vv = vw - amp2 * np.sin(2 * math.pi * uu / lam2 + ph2)
        return np.searchsorted(us, uu)

    lines, codes, widths, split = [], [], [], []
    # Long family (v = const): continuous; the cross family (u = const) loses some segments.
    for vv in vs:
        uu = np.arange(u0, u1 + 25, 25.0)
        lines.append(to_real(uu, np.full_like(uu, vv)))
        is_road = rng.uniform() < 0.55
        codes.append("1006" if is_road else "1107")
        widths.append(rng.uniform(4, 6) if is_road else rng.uniform(3, 7))
        split.append(crossing_index)
    edges = np.concatenate([[v0], vs, [v1]])
    for uu in us:
        is_road = rng.uniform() < 0.5
        width = rng.uniform(4, 6) if is_road else rng.uniform(3, 6)
        keep = rng.uniform(size=len(edges) - 1) > 0.2
        k = 0
        while k < len(edges) - 1:
            if not keep[k]:
                k += 1
                continue
            m = k
            while m + 1 < len(edges) - 1 and keep[m + 1]:
                m += 1
            vv = np.arange(edges[k], edges[m + 1] + 1e-6, 25.0)
            if vv[-1] < edges[m + 1]:
                vv = np.append(vv, edges[m + 1])
            lines.append(to_real(np.full_like(vv, uu), vv))
            codes.append("1006" if is_road else "1107")
            widths.append(width)
            split.append(None)
            k = m + 1
    geoms = shapely.intersection(np.array([geo.round_mm(shapely.LineString(ln)) for ln in lines], dtype=object), plain)
    for g, code, width, splitter in zip(geoms, codes, widths, split):
        for part in shapely.get_parts(g):
            if part.geom_type != "LineString" or part.length < 40:
                continue
            poly = geo.round_mm(shapely.buffer(part, width / 2, cap_style="flat", quad_segs=2))
            feats.append(Feature(poly, code, PRIORITY[code], "road" if code == "1006" else "ditch",
                                 splitter=splitter))
    return feats


PATCHES = (  # code, per km² of plain, shape, size ranges, CZCSXM
    ("1104", 1.6, "blob", (35, 80), (25, 50), ""),
    ("0702", 3.2, "rect", (18, 36), (16, 30), "203"),
    ("0601", 0.45, "rect", (70, 130), (50, 90), "203A"),
    ("0404", 1.1, "blob", (30, 70), (20, 45), ""),
    ("1206", 0.7, "blob", (25, 55), (20, 40), ""),
    ("1202", 0.7, "rect", (40, 100), (25, 45), ""),
)


def _patches(plain: shapely.Geometry, theta_of: Callable, corridors: list, rng: Rng) -> list:
    """Ponds, isolated houses, workshops, grass/bare/greenhouse patches scattered in the fields."""
    if plain.is_empty:
        return []
    shapely.prepare(plain)
    km2 = plain.area / 1e6
    x0, y0, x1, y1 = plain.bounds
    cands, meta = [], []
    for code, density, shape, la, lb, cz in PATCHES:
        n = int(rng.poisson(density * km2 * 1.6))
        pts = np.column_stack([rng.uniform(x0, x1, n * 3), rng.uniform(y0, y1, n * 3)])
        pts = pts[shapely.contains_xy(plain, pts[:, 0], pts[:, 1])][:n]
        for p in pts:
            theta = theta_of(p)
            a, b = rng.uniform(*la), rng.uniform(*lb)
            if shape == "blob":
                g = geo.blob(p[0], p[1], a, b, rng.uniform(0, math.pi), rng, rough=0.15, n=24)
            else:
                g = geo.rect(p[0], p[1], a, b, theta + (math.pi / 2 if rng.uniform() < 0.5 else 0.0))
            cands.append(g)
            meta.append((code, cz))
    if not cands:
        return []
    cands = np.array(cands, dtype=object)
    ok = shapely.contains(plain, cands)
    if len(corridors):
        tree = STRtree(np.array(corridors, dtype=object))
        hit = tree.query(cands, predicate="dwithin", distance=6.0)[0]
        ok[np.unique(hit)] = False
    tree = STRtree(cands)
    a, b = tree.query(cands, predicate="dwithin", distance=15.0)
    near = {}
    for i, j in zip(a, b):
        if i != j:
            near.setdefault(i, []).append(j)
    taken = np.zeros(len(cands), bool)
    out = []
    for i in range(len(cands)):
        if not ok[i] or any(taken[j] for j in near.get(i, ())):
            continue
        taken[i] = True
        code, cz = meta[i]
        out.append(Feature(cands[i], code, PRIORITY["patch"], "patch", czcsxm=cz))
    return out


def _cell_code(kind: int, xy: np.ndarray, land: Landscape, rng: Rng, hill_geom: shapely.Geometry | None = None,
               villages: shapely.Geometry | None = None, highways: shapely.Geometry | None = None) -> list:
    """Class of each cell of a zone, from its position."""
    n = len(xy)
    r = rng.uniform(size=n)
    if kind == PLAIN:
        c = land.noise["class"](xy[:, 0], xy[:, 1]) + rng.normal(0, 0.12, n)
        codes = np.where(c > 0.5, "0102", np.where(c < -0.55, "0103", "0101")).astype(object)
        # 可调整 nurseries/orchards on former paddy come in clusters.
        k = land.noise["k"](xy[:, 0], xy[:, 1]) + rng.normal(0, 0.1, n)
        kcode = rng.choice(["0201K", "0301K"], size=n)
        codes[k > 0.68] = kcode[k > 0.68]
        if villages is not None and not villages.is_empty:
            near = shapely.dwithin(villages, shapely.points(xy), 220)
            pick = near & (r < 0.16)
            sub = rng.choice(["0201", "0204", "0307", "1202"], size=n, p=[0.4, 0.2, 0.3, 0.1])
            codes[pick] = sub[pick]
        return list(codes)
    if kind == HILL:
        d = shapely.distance(hill_geom.boundary, shapely.points(xy))
        foot = d < 170
        foot_codes = rng.choice(["0103", "0201", "0204", "0201K", "0301K", "0307", "0404"], size=n,
                                p=[0.26, 0.2, 0.1, 0.1, 0.12, 0.12, 0.1])
        core_codes = rng.choice(["0301", "0305", "0307", "0404", "1206"], size=n, p=[0.62, 0.22, 0.12, 0.02, 0.02])
        return list(np.where(foot, foot_codes, core_codes))
    if kind == TOWN:
        near = shapely.dwithin(highways, shapely.points(xy), 110) if highways is not None else np.zeros(n, bool)
        base = rng.choice(["0701", "05H1", "08H1"], size=n, p=[0.72, 0.14, 0.14])
        return list(np.where(near & (r < 0.7), "05H1", base))
    if kind == IND:
        return list(np.where(r < 0.97, "0601", "05H1"))
    return list(np.where(r < 0.95, "0702", "0307"))


# Parcels per m² that each zone ends up with (measured), used to size the field cells.
ZONE_YIELD = {HILL: 1 / 24_000.0, TOWN: 1 / 4_700.0, IND: 1 / 9_300.0, VILLAGE: 1 / 2_100.0}
CORRIDOR_YIELD = 1 / 9_000.0
PLAIN_EXTRA_PER_KM2 = 21.5  # roads, ditches and patches per km² of plain
PLAIN_SPLIT = 0.97  # a field cell ends up as this many m² per parcel and m² of cell


def _plain_cell_area(land: Landscape, T: shapely.Geometry, zones: list) -> float:
    """Field cell size that brings the township to its share of the requested parcel count."""
    target = land.n * T.area / land.domain.area
    zone_area = {k: 0.0 for k in ZONE_YIELD}
    for z in zones:
        zone_area[z.kind] += shapely.intersection(z.geom, T).area
    corridors = shapely.intersection(geo.union([f.geom for f in land.rivers + land.highways if f.geom.intersects(T)]),
                                     T).area
    expected = sum(zone_area[k] * ZONE_YIELD[k] for k in ZONE_YIELD) + corridors * CORRIDOR_YIELD
    plain_km2 = (T.area - sum(zone_area.values()) - corridors) / 1e6
    density = (target - expected) / max(plain_km2, 1e-3) - PLAIN_EXTRA_PER_KM2
    if density <= 0:
        return 24_000.0
    return float(np.clip(1e6 / (PLAIN_SPLIT * density), 9_000.0, 24_000.0))


def build_township(land: Landscape, ti: int, plain_cell: float | None = None) -> TownshipParcels:
    """The parcels of township ``ti`` (field cells of ``plain_cell`` m², or the estimate for its share)."""
    rng = np.random.default_rng([land.seed, 1, ti])
    T = land.townships[ti]["geom"]
    Tb = T.buffer(5, quad_segs=2)
    shapely.prepare(T)

    hills = [h for h in land.hills if h.geom.intersects(T)]
    towns = [z for z in land.towns if z.geom.intersects(T)]
    villages = _place_villages(land, T, rng)
    zones = hills + towns + villages  # disjoint by construction
    seat_towns = [z for z in towns if z.kind == TOWN and T.contains(shapely.Point(z.centre))]
    terrs = _territories(T, villages, seat_towns, rng)
    zone_union = geo.union([z.geom for z in zones])

    # Corridors that cross the township.
    feats: list = [f for f in land.rivers + land.reservoirs + land.highways + land.streets if f.geom.intersects(Tb)]
    for v in villages:
        feats += street_grid(v, rng, 160.0, 5.0, "1004", "street")
    pieces: list = []
    plains = []
    for terr in terrs:
        tg = shapely.intersection(terr["geom"], T)
        plain = geo.union(geo.polygons(shapely.difference(tg, zone_union)))
        plains.append(plain)
        seat = shapely.Point(terr["seat"])
        theta = _nearest_feature_angle(land, seat) + rng.normal(0, 0.12)
        terr["theta"] = theta
        feats += _grid_lines(plain, theta, rng, rng.uniform(270, 340), rng.uniform(420, 560))
    corridors = [f.geom for f in feats]
    all_plain = geo.union(plains)
    terr_tree = STRtree(np.array([t["geom"] for t in terrs], dtype=object))

    def theta_of(p: np.ndarray) -> float:
        idx = terr_tree.query(shapely.Point(p), predicate="within")
        return terrs[int(idx[0])]["theta"] if len(idx) else 0.0

    feats += _patches(all_plain, theta_of, corridors, rng)

    # Cells. In the plain each block between corridors gets its own seeds, so fields are
    # bounded by roads and ditches; zones (hill, town, village...) get one piece per territory.
    if plain_cell is None:
        plain_cell = _plain_cell_area(land, T, zones)
    village_union = geo.union([v.geom for v in villages])
    hw_union = geo.union([hw.geom for hw in land.highways if hw.geom.intersects(Tb)])
    corridor_union = geo.union([f.geom for f in feats if f.kind != "patch"])
    for k, terr in enumerate(terrs):
        tg = shapely.intersection(terr["geom"], T)
        parts = []
        plain_theta = terr["theta"] + (0.0 if rng.uniform() < 0.5 else math.pi / 2)
        plain_elong = rng.uniform(2.2, 3.4)
        if not plains[k].is_empty:
            blocks = geo.polygons(shapely.difference(plains[k], corridor_union))
            for block in blocks[geo.canonical_order(blocks)]:  # GEOS versions emit parts in different orders
                parts.append((block, PLAIN, -1, None))
        for zi, z in enumerate(zones):
            if z.geom.intersects(tg):
                parts.append((geo.union(geo.polygons(shapely.intersection(tg, z.geom))), z.kind, zi, z))
        for geom, kind, zi, z in parts:
            if geom.is_empty or geom.area < 1.0:
                continue
            area, elong, jitter = ZONE_CELL[kind]
            theta = plain_theta if kind == PLAIN else z.theta
            if kind == PLAIN:
                elong, area = plain_elong, plain_cell
            origin = tuple(np.round(shapely.get_coordinates(geom.centroid)[0], 0))
            seeds = _seeds(geom, origin, theta, elong, area, jitter, rng)
            codes = _cell_code(kind, seeds, land, rng, hill_geom=z.geom if kind == HILL else None,
                               villages=village_union if kind == PLAIN else None, highways=hw_union)
            pieces.append(Piece(geom, kind, k, zi, origin, theta, elong, seeds, codes))

    # Planar arrangement of every outline, then faces.
    lines = [T.boundary]
    lines += [shapely.intersection(f.geom.boundary, Tb) for f in feats]
    lines += [shapely.intersection(z.geom.boundary, Tb) for z in zones]
    lines += [shapely.intersection(t["geom"].boundary, Tb) for t in terrs]
    for p in pieces:
        e = _cell_edges(p)
        if e is not None:
            lines.append(e)
    lines = [ln for ln in lines if not ln.is_empty]
    try:
        noded = shapely.unary_union(lines)
    except shapely.errors.GEOSException:  # pragma: no cover - robustness fallback
        noded = shapely.unary_union(lines, grid_size=0.001)
    faces = geo.polygons(shapely.polygonize(shapely.get_parts(noded)))
    rep = shapely.point_on_surface(faces)
    rxy = shapely.get_coordinates(rep)
    inside = shapely.contains_xy(T, rxy[:, 0], rxy[:, 1])
    faces, rep, rxy = faces[inside], rep[inside], rxy[inside]
    order = geo.canonical_order(faces)
    faces, rep, rxy = faces[order], rep[order], rxy[order]
    nf = len(faces)

    # Labels: territory and zone; top feature if any, else the cell (piece, nearest seed).
    terr_of = np.full(nf, -1)
    a, b = terr_tree.query(rep, predicate="within")
    terr_of[a] = b
    if (terr_of < 0).any():  # on a border by rounding: take the nearest territory
        miss = np.flatnonzero(terr_of < 0)
        terr_of[miss] = terr_tree.query_nearest(rep[miss], return_distance=False)[1]
    zone_of = np.full(nf, -1)
    if zones:
        ztree = STRtree(np.array([z.geom for z in zones], dtype=object))
        a, b = ztree.query(rep, predicate="within")
        zone_of[a] = b
    feat_of = np.full(nf, -1)
    seg_of = np.zeros(nf, dtype=np.int64)
    if feats:
        ftree = STRtree(np.array([f.geom for f in feats], dtype=object))
        a, b = ftree.query(rep, predicate="within")
        prio = np.array([f.priority for f in feats])
        # Highest priority wins, the earlier feature on ties.
        sort = np.lexsort((b, -prio[b], a))
        a, b = a[sort], b[sort]
        first = np.ones(len(a), bool)
        first[1:] = a[1:] != a[:-1]
        feat_of[a[first]] = b[first]
        for fi in np.unique(feat_of[feat_of >= 0]):
            f = feats[fi]
            if f.line is not None and f.seg_len > 0:
                idx = np.flatnonzero(feat_of == fi)
                seg_of[idx] = (shapely.line_locate_point(f.line, rep[idx]) // f.seg_len).astype(np.int64)
            elif f.splitter is not None:
                idx = np.flatnonzero(feat_of == fi)
                seg_of[idx] = f.splitter(rxy[idx])
    piece_of = np.full(nf, -1)
    zone_piece = {(p.territory, p.zone): i for i, p in enumerate(pieces) if p.kind != PLAIN}
    cellular = feat_of < 0
    for i in np.flatnonzero(cellular & (zone_of >= 0)):
        piece_of[i] = zone_piece.get((terr_of[i], zone_of[i]), -1)
    plain_pieces = np.array([i for i, p in enumerate(pieces) if p.kind == PLAIN])
    todo = np.flatnonzero(cellular & (piece_of < 0))
    if len(todo) and len(plain_pieces):
        btree = STRtree(np.array([pieces[i].geom for i in plain_pieces], dtype=object))
        a, b = btree.query(rep[todo], predicate="within")
        piece_of[todo[a]] = plain_pieces[b]
        miss = todo[piece_of[todo] < 0]
        if len(miss):
            piece_of[miss] = plain_pieces[btree.query_nearest(rep[miss], return_distance=False)[1]]
    seed_of = np.zeros(nf, dtype=np.int64)
    order = np.argsort(piece_of, kind="stable")
    for pi in np.unique(piece_of[piece_of >= 0]):
        idx = np.flatnonzero(piece_of == pi)
        p = pieces[pi]
        tree = STRtree(shapely.points(p.scaled(p.seeds)))
        seed_of[idx] = tree.query_nearest(shapely.points(p.scaled(rxy[idx])), return_distance=False)[1]
    key = np.where(feat_of[:, None] >= 0,
                   np.column_stack([np.ones(nf, np.int64), feat_of, terr_of, zone_of, seg_of]),
                   np.column_stack([np.zeros(nf, np.int64), piece_of, seed_of, np.zeros(nf, np.int64),
                                    np.zeros(nf, np.int64)]))
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    ng = group.max() + 1 if nf else 0

    # Dissolve faces per label and split into connected parts.
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(ng + 1))
    part_geoms, part_group = [], []
    for g in range(ng):
        idx = order[bounds[g]:bounds[g + 1]]
        geom = faces[idx[0]] if len(idx) == 1 else shapely.coverage_union_all(faces[idx])
        for part in geo.polygons(geom):
            part_geoms.append(part)
            part_group.append(g)
    part_geoms = np.array(part_geoms, dtype=object)
    part_group = np.array(part_group)
    first_face = order[bounds[:-1]]  # the label of a group is that of any of its faces
    g_feat = feat_of[first_face]
    g_piece = piece_of[first_face]
    g_seed = seed_of[first_face]
    g_terr = terr_of[first_face]
    g_zone = zone_of[first_face]

    part_geoms, part_group = _merge_fragments(part_geoms, part_group, g_feat >= 0)

    # Attributes.
    n = len(part_geoms)
    code = np.empty(n, dtype=object)
    czcsxm = np.full(n, "", dtype=object)
    feat_kind = np.empty(n, dtype=object)
    gz = g_zone[part_group]
    zone_kind = np.array([zones[z].kind if z >= 0 else PLAIN for z in gz], dtype=np.int64)
    for i, g in enumerate(part_group):
        if g_feat[g] >= 0:
            f = feats[g_feat[g]]
            code[i], feat_kind[i], czcsxm[i] = f.code, f.kind, f.czcsxm
        else:
            p = pieces[g_piece[g]]
            code[i], feat_kind[i] = p.codes[g_seed[g]], "cell"
    for kind, value in {TOWN: "202", IND: "202A", VILLAGE: "203"}.items():
        czcsxm[zone_kind == kind] = value
    attrs = {"code": code, "czcsxm": czcsxm, "zone_kind": zone_kind, "feat_kind": feat_kind,
             "territory": g_terr[part_group], "township": np.full(n, ti),
             "zone_obj": np.array([zones[z] if z >= 0 else None for z in gz], dtype=object)}
    return TownshipParcels(part_geoms, attrs, villages, terrs, plain_cell)


def _merge_fragments(geoms: np.ndarray, group: np.ndarray,
                     group_is_feature: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge slivers and fragments into the neighbour they share most boundary with."""
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    width = 2 * area / np.maximum(perim, 1e-9)
    is_feat = group_is_feature[group]
    small = (area < 1.0) | (is_feat & (area < 25.0)) | (~is_feat & ((area < 150.0) | ((width < 2.5) & (area < 4000))))
    if not small.any():
        return geoms, group
    tree = STRtree(geoms)
    sidx = np.flatnonzero(small)
    a, b = tree.query(geoms[sidx], predicate="intersects")
    a = sidx[a]
    keep = a != b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b])))
    # Prefer neighbours that stay; among them the longest shared edge; cells before corridors.
    score = shared * np.where(small[b], 0.01, 1.0) * np.where(is_feat[b] & ~is_feat[a], 0.5, 1.0)
    target = np.full(len(geoms), -1)
    best = np.full(len(geoms), -1.0)
    for i, j, sc in zip(a, b, score):
        if sc > best[i]:
            best[i], target[i] = sc, j
    target[best <= 0] = -1
    # Follow chains (small -> small) to a final target.
    for _ in range(5):
        chained = (target >= 0) & (target[np.maximum(target, 0)] >= 0) & small[np.maximum(target, 0)]
        if not chained.any():
            break
        target[chained] = target[target[chained]]
    target[target == np.arange(len(geoms))] = -1
    merged_into = np.where(small & (target >= 0), target, np.arange(len(geoms)))
    out_geoms, out_group = [], []
    order = np.argsort(merged_into, kind="stable")
    keys = merged_into[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    for s, e in zip(starts, ends):
        tgt = keys[s]
        members = order[s:e]
        if len(members) == 1:
            out_geoms.append(geoms[members[0]])
        else:
            u = shapely.coverage_union_all(geoms[members])
            parts = geo.polygons(u)
            u = parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))
            out_geoms.append(u)
        out_group.append(group[tgt])
    return np.array(out_geoms, dtype=object), np.array(out_group)
