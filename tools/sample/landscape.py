"""The landscape the parcels are cut from: rivers, 公路, townships, towns and hills.

The domain is a rectangle of about 1 ha per requested parcel, centred at
E 615 000 / N 3 316 000 (EPSG:4549, near 余姚), so it grows with the parcel count.

* Meandering rivers (1101, 30-60 m wide) cross it west to east, one per ~16 km of
  height. Their centre lines split the domain into strips; each strip is cut into
  townships (XZQ) by north-south lines that follow a 公路 (1003) for part of their
  length and wander irregularly elsewhere: 2-3 townships at 3,000 parcels, about one
  per 10,000 parcels beyond.
* Each strip has an east-west 公路. Town centres (zone TOWN, with 1004 streets) sit on
  it with an industrial zone (IND) along the road beside them.
* Forested hills (zone HILL) take a corner and, at larger sizes, random spots; each
  holds a small reservoir (1103).

Everything here is township-independent; ``township.py`` fills each township with
villages, field grids and parcels. All draws come from the generator seeded with
(seed, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from . import geometry as geo
from .geometry import Rng

CENTRE = (615_000.0, 3_316_000.0)
LAND_PER_PARCEL_M2 = 10_000.0  # domain area per requested parcel
ASPECT = 1.4  # domain width / height
COUNTY = "330281"  # 余姚市

# Feature priorities when outlines overlap (higher wins).
PRIORITY = {"1101": 10, "1103": 9, "1003": 8, "1004": 7, "1006": 6, "1107": 5, "patch": 4}

# Zone kinds of the cells that fill everything not covered by a feature.
PLAIN, HILL, TOWN, IND, VILLAGE = 0, 1, 2, 3, 4


@dataclass
class Feature:
    """A polygon feature that overrides cells: corridor (with centre line) or patch."""

    geom: object
    code: str
    priority: int
    kind: str  # river, highway, street, road, ditch, patch, reservoir
    line: object = None  # centre line, for cutting long corridors into segments
    seg_len: float = 0.0
    czcsxm: str = ""
    splitter: object = None  # xy -> segment number (roads split at the crossings of the grid)


@dataclass
class Zone:
    """An area whose cells get one kind of land (HILL, TOWN, IND, VILLAGE), aligned with ``theta``."""

    geom: object
    kind: int
    theta: float
    centre: tuple
    name: str = ""


@dataclass
class Landscape:
    """Everything drawn before the townships are filled in, and the noise fields used later."""

    n: int
    seed: int
    domain: object
    width: float
    height: float
    rivers: list = field(default_factory=list)  # Feature
    highways: list = field(default_factory=list)  # Feature
    townships: list = field(default_factory=list)  # dict(geom, code, name)
    hills: list = field(default_factory=list)  # Zone
    reservoirs: list = field(default_factory=list)  # Feature
    towns: list = field(default_factory=list)  # Zone (TOWN or IND)
    streets: list = field(default_factory=list)  # Feature (1004 in towns)
    noise: dict = field(default_factory=dict)


TOWN_FIRST = "河丈梁陆牟马泗临鹿兰凤阳梨云松桐青石龙白金竹溪柏枫茗横长"
TOWN_SECOND = "姆亭溪埠山渚门浦岙塘桥港湖岭坑洋墩滨川堰岸"


def _township_names(count: int, rng: Rng) -> list:
    """河姆镇, 丈亭镇, then made-up names (there are more townships on larger domains)."""
    names = ["河姆镇", "丈亭镇"]
    pool = [a + b for a in TOWN_FIRST for b in TOWN_SECOND]
    order = rng.permutation(len(pool))
    for i in order:
        if len(names) >= count:
            break
        name = pool[i] + "镇"
        if name not in names:
            names.append(name)
    return names[:count]


def scale(n: int) -> dict:
    """Domain size and how many townships, rivers, hills and town centres ``n`` parcels get."""
    area = n * LAND_PER_PARCEL_M2
    width = round(math.sqrt(area * ASPECT))
    height = round(area / width)
    n_town = 2 if n < 1500 else max(3, round(n / 10_000))
    return {"area": area, "width": float(width), "height": float(height), "n_town": n_town,
            "n_river": max(1, round(height / 16_000)), "n_hill": max(1, round(area / 1e6 / 35.0)),
            "n_centre": max(1, round(area / 1e6 / 70.0))}


def build_landscape(n: int, seed: int) -> Landscape:
    """Rivers, townships, 公路, towns and hills of the domain for ``n`` parcels."""
    rng = np.random.default_rng([seed, 0])
    sc = scale(n)
    w, h = sc["width"], sc["height"]
    x0, y0 = CENTRE[0] - w / 2, CENTRE[1] - h / 2
    domain = geo.round_mm(shapely.box(x0, y0, x0 + w, y0 + h))
    land = Landscape(n=n, seed=seed, domain=domain, width=w, height=h)
    land.noise = {"gddb": geo.Noise(rng, lmin=600, lmax=4000), "class": geo.Noise(rng, lmin=300, lmax=1500),
                  "pbf": geo.Noise(rng, lmin=500, lmax=2500), "k": geo.Noise(rng, lmin=400, lmax=1500)}

    # Rivers: meanders as a parametric curve (x also oscillates), width varies along it.
    river_lines = []
    for i in range(sc["n_river"]):
        base = y0 + h * (i + 0.5) / sc["n_river"] + rng.uniform(-0.06, 0.06) * h / sc["n_river"]
        t = np.arange(x0 - 400.0, x0 + w + 400.0, 20.0)
        lam1, lam2, lam3 = rng.uniform(1600, 2600), rng.uniform(3500, 7000), rng.uniform(700, 1100)
        p1, p2, p3, p4 = rng.uniform(0, 2 * math.pi, 4)
        a2, a3 = rng.uniform(120, 260), rng.uniform(20, 45)
        # Meander amplitude swells and shrinks along the river.
        a1 = rng.uniform(110, 170) * (1 + 0.45 * np.sin(2 * math.pi * t / rng.uniform(5000, 9000) + p4))
        x = t + 0.45 * lam1 / (2 * math.pi) * np.cos(2 * math.pi * t / lam1 + p1)
        y = (base + a1 * np.sin(2 * math.pi * t / lam1 + p1) + a2 * np.sin(2 * math.pi * t / lam2 + p2)
             + a3 * np.sin(2 * math.pi * t / lam3 + p3))
        coords = np.column_stack([x, y])
        width = rng.uniform(38, 50) + rng.uniform(4, 9) * np.sin(2 * math.pi * t / rng.uniform(2500, 5000)
                                                                 + rng.uniform(0, 6.3))
        line = geo.round_mm(shapely.LineString(coords))
        river_lines.append(line)
        poly = geo.offset_band(coords, width / 2, width / 2)
        land.rivers.append(Feature(poly, "1101", PRIORITY["1101"], "river", line, 900.0))

    # Strips between river centre lines, south to north.
    strips = geo.polygons(shapely.polygonize(shapely.get_parts(shapely.unary_union(
        [domain.boundary] + [shapely.intersection(r, domain.buffer(50)) for r in river_lines]))))
    strips = strips[np.argsort([s.centroid.y for s in strips])]
    strips = strips[shapely.area(strips) > 1e5]

    # Townships per strip, proportional to area (largest remainder, at least one).
    share = shapely.area(strips) / shapely.area(strips).sum() * sc["n_town"]
    per_strip = np.maximum(1, np.floor(share).astype(int))
    while per_strip.sum() < sc["n_town"]:
        per_strip[np.argmax(share - per_strip)] += 1
    while per_strip.sum() > sc["n_town"] and per_strip.max() > 1:
        per_strip[np.argmax(per_strip - share)] -= 1

    split_lines, ns_roads = [], []
    ys = np.arange(y0 - 400.0, y0 + h + 400.0, 25.0)
    for s, strip in enumerate(strips):
        k = per_strip[s]
        sx0, _, sx1, _ = strip.bounds
        for j in range(1, k):
            xc = sx0 + (sx1 - sx0) * j / k + rng.uniform(-0.08, 0.08) * (sx1 - sx0) / k
            irregular = np.zeros_like(ys)
            for lam, amp in ((350.0, 45.0), (1100.0, 120.0), (3000.0, 220.0)):
                irregular += amp * rng.uniform(0.5, 1.0) * np.sin(2 * math.pi * ys / lam + rng.uniform(0, 6.3))
            road_x = xc + 80 * np.sin(2 * math.pi * ys / rng.uniform(5000, 9000) + rng.uniform(0, 6.3))
            if len(split_lines) % 2 == 0:
                # The boundary follows a 公路 over part of the strip, then leaves it.
                sy0, sy1 = strip.bounds[1], strip.bounds[3]
                f0 = sy0 + (sy1 - sy0) * rng.uniform(0.55, 0.7)
                blend = np.clip((ys - f0) / 500.0, 0, 1)
                blend = blend * blend * (3 - 2 * blend)
                bx = road_x + blend * irregular
                ns_roads.append(np.column_stack([road_x, ys]))
            else:
                bx = xc + irregular
            line = geo.round_mm(shapely.LineString(np.column_stack([bx, ys])))
            split_lines.append(shapely.intersection(line, strip.buffer(60)))
    faces = geo.polygons(shapely.polygonize(shapely.get_parts(shapely.unary_union(
        [domain.boundary] + [shapely.intersection(r, domain.buffer(50)) for r in river_lines] + split_lines))))
    faces = faces[shapely.area(faces) > 1e5]
    cent = shapely.get_coordinates(shapely.point_on_surface(faces))
    # Codes run north to south, west to east (row of the strip first).
    row = np.array([int(np.argmax([s.contains(shapely.Point(p)) for s in strips])) for p in cent])
    faces = faces[np.lexsort((cent[:, 0], -row))]
    names = _township_names(len(faces), rng)
    for i, f in enumerate(faces):
        land.townships.append({"geom": f, "code": f"{COUNTY}{101 + i:03d}", "name": names[i]})

    # 公路: the north-south roads the boundaries follow, and one east-west road per strip.
    for coords in ns_roads:
        width = rng.uniform(12, 18)
        line = geo.round_mm(shapely.LineString(coords))
        land.highways.append(Feature(geo.offset_band(coords, width / 2, width / 2), "1003", PRIORITY["1003"],
                                     "highway", line, 600.0))
    ew_lines = []
    xs = np.arange(x0 - 400.0, x0 + w + 400.0, 25.0)
    for strip in strips:
        ymid = _strip_mid(strip, xs)
        y = ymid + 110 * np.sin(2 * math.pi * xs / rng.uniform(4000, 8000) + rng.uniform(0, 6.3))
        coords = np.column_stack([xs, y])
        width = rng.uniform(12, 18)
        line = geo.round_mm(shapely.LineString(coords))
        ew_lines.append(line)
        land.highways.append(Feature(geo.offset_band(coords, width / 2, width / 2), "1003", PRIORITY["1003"],
                                     "highway", line, 600.0))

    _place_towns(land, rng, ew_lines, sc["n_centre"])
    _place_hills(land, rng, sc["n_hill"])
    return land


def _strip_mid(strip: shapely.Polygon, xs: np.ndarray) -> np.ndarray:
    """A y(x) about midway across a strip (its bounds at each x), smoothed."""
    cx = shapely.get_coordinates(strip.centroid)[0]
    mids = []
    for x in xs:
        seg = shapely.intersection(strip, shapely.LineString([(x, strip.bounds[1] - 1), (x, strip.bounds[3] + 1)]))
        if seg.is_empty:
            mids.append(np.nan)
        else:
            b = seg.bounds
            mids.append((b[1] + b[3]) / 2)
    mids = np.array(mids)
    mids[np.isnan(mids)] = cx[1]
    k = np.ones(81) / 81
    padded = np.pad(mids, 40, mode="edge")
    return np.convolve(padded, k, mode="valid")


def _place_towns(land: Landscape, rng: Rng, ew_lines: list, count: int) -> None:
    """Town centres on east-west roads, an industrial zone along the road beside each."""
    boundaries = geo.union([t["geom"].boundary for t in land.townships])
    rivers = geo.union([r.geom for r in land.rivers])
    cands = []
    for li, line in enumerate(ew_lines):
        for s in np.arange(600.0, line.length - 600.0, 200.0):
            p = line.interpolate(s)
            if not land.domain.contains(p):
                continue
            clear_b = boundaries.distance(p)
            clear_r = rivers.distance(p)
            cands.append((li, s, p, clear_b, clear_r))
    chosen = []
    for _ in range(count):
        best, best_score = None, -1e9
        for li, s, p, cb, cr in cands:
            if cr < 800 or cb < 900:
                continue
            if any(p.distance(q) < 6000 for q in chosen):
                continue
            score = min(cb, 2500) + min(cr, 1500) * 0.5 + rng.uniform(0, 400)
            if score > best_score:
                best, best_score = (li, s, p), score
        if best is None:
            break
        li, s, p = best
        chosen.append(p)
        line = ew_lines[li]
        theta = geo.angle_of(line, p)
        # Industrial zone on the side of the nearer township boundary.
        ahead, behind = line.interpolate(min(s + 1500, line.length)), line.interpolate(max(s - 1500, 0))
        side = 1 if boundaries.distance(ahead) < boundaries.distance(behind) else -1
        half = rng.uniform(600, 750)
        town = _road_band(line, s - half, s + half, rng.uniform(380, 480), rng.uniform(380, 480), rng)
        town_geom = geo.round_mm(town)
        land.towns.append(Zone(town_geom, TOWN, theta, (p.x, p.y)))
        i0 = s + side * (half + 60)
        i1 = i0 + side * rng.uniform(900, 1200)
        # Stop before a township boundary (the zone stays in one township).
        step = 50 * side
        probe = i0
        while (probe - i1) * side < 0 and boundaries.distance(line.interpolate(probe)) > 250:
            probe += step
        i1 = probe
        ind = _road_band(line, min(i0, i1), max(i0, i1), rng.uniform(250, 350), rng.uniform(300, 420), rng,
                         rough=8.0)
        ind = geo.round_mm(shapely.difference(ind, town_geom.buffer(40)))
        ind = geo.union(geo.polygons(ind))
        mid = line.interpolate((i0 + i1) / 2)
        land.towns.append(Zone(ind, IND, theta, (mid.x, mid.y)))
        # Streets: a grid aligned with the road.
        for zone, spacing, width in ((land.towns[-2], 210.0, 9.0), (land.towns[-1], 300.0, 10.0)):
            for feat in street_grid(zone, rng, spacing, width, "1004", "street"):
                land.streets.append(feat)


def _road_band(line: shapely.LineString, s0: float, s1: float, left: float, right: float, rng: Rng,
               rough: float = 25.0) -> shapely.Geometry:
    """A zone hugging a road between two along-positions, with uneven edges."""
    s = np.arange(max(s0, 0.0), min(s1, line.length), 20.0)
    coords = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    n = len(s)
    u = np.linspace(0, 1, n)
    taper = np.clip(np.minimum(u, 1 - u) * 8, 0.35, 1.0)  # rounded ends
    lw = left * taper + rough * np.sin(2 * math.pi * u * rng.uniform(2, 5) + rng.uniform(0, 6.3))
    rw = right * taper + rough * np.sin(2 * math.pi * u * rng.uniform(2, 5) + rng.uniform(0, 6.3))
    return geo.offset_band(coords, lw, rw)


def street_grid(zone: Zone, rng: Rng, spacing: float, width: float, code: str, kind: str) -> list:
    """1004 streets: a jittered grid in the zone's frame, clipped to the zone."""
    g = zone.geom
    if g.is_empty:
        return []
    cx, cy = zone.centre
    c, s = math.cos(zone.theta), math.sin(zone.theta)
    coords = shapely.get_coordinates(g)
    u = (coords[:, 0] - cx) * c + (coords[:, 1] - cy) * s
    v = -(coords[:, 0] - cx) * s + (coords[:, 1] - cy) * c
    lines = []
    for axis in (0, 1):
        lo, hi = (v.min(), v.max()) if axis == 0 else (u.min(), u.max())
        span_lo, span_hi = (u.min(), u.max()) if axis == 0 else (v.min(), v.max())
        pos = lo + spacing * 0.5
        while pos < hi - spacing * 0.3:
            p = pos + rng.uniform(-0.15, 0.15) * spacing
            if axis == 0:
                a, b = (span_lo - 50, p), (span_hi + 50, p)
            else:
                a, b = (p, span_lo - 50), (p, span_hi + 50)
            pts = geo.wavy(rng, a, b, 4.0)
            xy = np.column_stack([cx + c * pts[:, 0] - s * pts[:, 1], cy + s * pts[:, 0] + c * pts[:, 1]])
            lines.append(shapely.LineString(xy))
            pos += spacing * (1.5 if axis == 1 else 1.0)
    clipped = shapely.intersection(np.array(lines, dtype=object), g)
    out = []
    for ln in clipped:
        for part in shapely.get_parts(ln):
            if part.geom_type == "LineString" and part.length > 60:
                poly = geo.round_mm(shapely.buffer(part, width / 2, cap_style="flat", quad_segs=2))
                out.append(Feature(poly, code, PRIORITY["1004"], kind, None, 0.0))
    return out


def _place_hills(land: Landscape, rng: Rng, count: int) -> None:
    """Forested hills away from towns and rivers (the first in a corner), each with a reservoir."""
    x0, y0, x1, y1 = land.domain.bounds
    rivers = geo.union([r.geom for r in land.rivers])
    towns = geo.union([t.geom for t in land.towns])
    roads = geo.union([hw.geom for hw in land.highways])
    river_keep = rivers.buffer(150)
    placed = []
    corners = [(x0, y0, 1, 1), (x1, y0, -1, 1), (x0, y1, 1, -1), (x1, y1, -1, -1)]
    order = rng.permutation(4)
    tries = 0
    largest = 0.26 * math.sqrt(land.width * land.height)  # small domains get smaller hills
    while len(placed) < count and tries < 400:
        tries += 1
        radius = min(rng.uniform(1050, 1300), largest)
        if not placed and tries <= 4:
            cx_, cy_, sx, sy = corners[order[tries - 1]]
            cx, cy = cx_ + sx * 0.5 * radius, cy_ + sy * 0.5 * radius
        else:
            cx, cy = rng.uniform(x0 + radius * 0.6, x1 - radius * 0.6), rng.uniform(y0 + radius * 0.6, y1 - radius * 0.6)
        p = shapely.Point(cx, cy)
        if towns.distance(p) < radius + 350 or rivers.distance(p) < radius * 0.75:
            continue
        if roads.distance(p) < radius * 0.5 and placed:
            continue
        if any(p.distance(shapely.Point(q.centre)) < radius + 1500 for q in placed):
            continue
        blob = geo.blob(cx, cy, radius * rng.uniform(1.0, 1.2), radius * rng.uniform(0.8, 1.0),
                        rng.uniform(0, math.pi), rng, rough=0.16)
        blob = shapely.difference(blob, shapely.union(river_keep, towns.buffer(200)))
        blob = geo.round_mm(geo.largest(blob))
        if shapely.intersection(blob, land.domain).area < min(1.2e6, 0.06 * land.domain.area):
            continue
        zone = Zone(blob, HILL, rng.uniform(0, math.pi), (cx, cy))
        placed.append(zone)
        # A reservoir in a valley of the hill: a few overlapping lobes.
        inner = shapely.intersection(blob.buffer(-90), land.domain.buffer(-60))
        ang = rng.uniform(0, 2 * math.pi)
        lobes = []
        rx, ry = cx + 0.3 * radius * math.cos(ang), cy + 0.3 * radius * math.sin(ang)
        for k in range(3):
            a2 = ang + rng.uniform(-0.9, 0.9)
            lobes.append(geo.blob(rx + 140 * k * math.cos(a2), ry + 140 * k * math.sin(a2), rng.uniform(150, 230),
                                  rng.uniform(70, 110), a2, rng, rough=0.1))
        res = geo.largest(shapely.intersection(geo.union(lobes), inner))
        if not res.is_empty and res.area > 5e4:
            land.reservoirs.append(Feature(geo.round_mm(res), "1103", PRIORITY["1103"], "reservoir"))
    land.hills = placed
