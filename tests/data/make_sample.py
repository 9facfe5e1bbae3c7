"""Deterministic generator of a realistic sample 片区 for the land-consolidation plugin.

The landscape model (EPSG:4549, CGCS2000 3-degree Gauss-Krüger CM 120°E, near 余姚):

* The domain is a rectangle of about 1 ha per requested parcel, centred at
  E 615 000 / N 3 316 000, so it grows with the parcel count.
* Meandering rivers (1101, 30-60 m wide) cross it west to east, one per ~16 km of
  height. Their centre lines split the domain into strips; each strip is cut into
  townships (XZQ) by north-south lines that follow a 公路 (1003) for part of their
  length and wander irregularly elsewhere: 2-3 townships at 3,000 parcels, about one
  per 10,000 parcels beyond.
* Each strip has an east-west 公路. Town centres (0701/05H1/08H1 with 1004 streets,
  CZCSXM 202) sit on it with an industrial zone (0601, 202A) along the road beside
  them. Forested hills (0301/0305/0307; 0201/0204 orchards, 可调整 0201K/0301K and
  sloping 旱地 0103 at their foot) take a corner and, at larger sizes, random spots;
  each holds a small reservoir (1103).
* Each township is divided into 行政村 territories (jagged borders from coarse Voronoi
  cells given to the nearest seat) around village clusters (0702, CZCSXM 203). The
  plain of a territory gets a warped, jittered grid of 农村道路 (1006) and 沟渠 (1107)
  aligned with the nearest river or road. Each block between them is filled with
  Voronoi cells computed in a rotated, anisotropically scaled frame and mapped back,
  i.e. elongated fields along the grid, mostly 0101 with clusters of 0102/0103 and
  可调整 land. Ponds (1104), isolated 宅基地 (0702, 复垦 candidates), workshops
  (0601, 203A) and 0404/1206/1202 patches are dropped in the fields off the roads.
* Parcels are the faces of the planar arrangement of all these outlines, built per
  township: every line is noded, the faces polygonised, each face labelled with the
  feature of highest priority covering it (river > reservoir > 公路 > streets >
  农村道路 > 沟渠 > patches) or else with its cell (zone, territory, nearest seed),
  faces dissolved by label and split into parts, fragments and slivers merged into
  the neighbour they share most edge with. DLTB is therefore an exact partition of
  each township; vertices are then shared across township seams (``_share_vertices``).
  The field cell size is tuned per township so the total is within a few % of the
  requested count.
* 三区三线 are dissolved from parcels: YJJBNTTB on ~75% of plain 耕地 (whole parcels,
  per village block, features of 1-30 ha), STBHHX over the hill forest and the
  reservoir, CZKFBJ around the town and industrial zone - so they do not overlap.
* A planner's draft: units (DY, 3-8 km², mostly along roads and rivers, one straight
  cut through fields each) of three kinds - farmland, town edge, hill - and projects
  (XM) on whole parcels: 高标准农田建设, 旱改水, 农村建设用地复垦, 农民集聚安置,
  工业用地整治, 低效用地再开发 with 零星用地, 生态修复, 生态产业开发, 垦造耕地 added until
  each unit gains ~7% 耕地; YJJBNTTB_GH = baseline PBF minus 安置 plus adjacent and
  new farmland. It passes the Ningbo rules except two deliberate mistakes for the
  demo: one 零星用地 of 3.25 亩 and 生态产业开发 at 5% of 生态修复.

TBMJ and MJ are ellipsoidal (GRS80 = CGCS2000 ellipsoid) areas from pyproj's Geod on
EPSG:4490 coordinates, as QgsDistanceArea measures them. The output is a function of
(n_parcels, seed): every random draw comes from a generator seeded with the seed and a
stage number, and pieces GEOS returns are put in a canonical order before they are
used (the same features were obtained with GEOS 3.11 and 3.14).

Usage::

    python tests/data/make_sample.py --parcels 3000 --seed 2022 --out resources/sample/sample_pianqu.gpkg

or ``generate(path, n_parcels=3000, seed=2022)`` from Python (returns the feature count
of every layer). Dependencies: numpy, shapely>=2, pyproj and the GDAL/OGR bindings.
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import sys
import time
from dataclasses import dataclass, field

if "PROJ_DATA" not in os.environ and os.path.exists("/usr/share/proj/proj.db"):
    os.environ["PROJ_DATA"] = "/usr/share/proj"  # Debian's pyproj looks in the venv prefix otherwise

import numpy as np  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402
from shapely import STRtree  # noqa: E402

EPSG = 4549
CENTRE = (615_000.0, 3_316_000.0)
LAND_PER_PARCEL_M2 = 10_000.0  # domain area per requested parcel
ASPECT = 1.4  # domain width / height
M2_PER_MU = 10_000.0 / 15.0
COUNTY = "330281"  # 余姚市

DLMC = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0201K": "可调整果园",
    "0204": "其他园地", "0301": "乔木林地", "0301K": "可调整乔木林地", "0305": "灌木林地",
    "0307": "其他林地", "0404": "其他草地", "05H1": "商业服务业设施用地", "0601": "工业用地",
    "0701": "城镇住宅用地", "0702": "农村宅基地", "08H1": "机关团体新闻出版用地", "0810": "公园与绿地",
    "1003": "公路用地", "1004": "城镇村道路用地", "1006": "农村道路", "1101": "河流水面",
    "1103": "水库水面", "1104": "坑塘水面", "1107": "沟渠", "1202": "设施农用地", "1206": "裸土地",
}
FARMLAND = ("0101", "0102", "0103")

# Feature priorities when outlines overlap (higher wins).
PRIORITY = {"1101": 10, "1103": 9, "1003": 8, "1004": 7, "1006": 6, "1107": 5, "patch": 4}

# Zone kinds of the cells that fill everything not covered by a feature.
PLAIN, HILL, TOWN, IND, VILLAGE = 0, 1, 2, 3, 4
ZONE_CELL = {  # mean cell area (m²), elongation, jitter; fields are sized per township
    PLAIN: (None, None, 0.42),
    HILL: (26_000.0, 1.4, 0.5),
    TOWN: (11_000.0, 1.3, 0.4),
    IND: (24_000.0, 1.6, 0.35),
    VILLAGE: (3_500.0, 1.5, 0.45),
}


# ----------------------------------------------------------------------------- small helpers


def _round_mm(geom):
    """Inputs on a 1 mm grid: outlines that should meet do so at representable points."""
    return shapely.transform(geom, lambda c: np.round(c, 3))


def _polygons(geoms) -> np.ndarray:
    """Polygon parts of geometries (drops lines/points left by overlay), as an array."""
    parts = shapely.get_parts(np.atleast_1d(np.asarray(geoms, dtype=object)))
    if len(parts) == 0:
        return parts
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep]


def _union(geoms):
    geoms = [g for g in np.atleast_1d(np.asarray(geoms, dtype=object)) if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def _canonical_order(geoms: np.ndarray) -> np.ndarray:
    """A stable order that does not depend on how GEOS happened to emit the pieces."""
    pts = shapely.get_coordinates(shapely.centroid(geoms)) if len(geoms) else np.zeros((0, 2))
    areas = shapely.area(geoms)
    return np.lexsort((np.round(areas, 1), np.round(pts[:, 0], 2), np.round(pts[:, 1], 2)))


def _angle_of(line, pt) -> float:
    """Direction (radians, mod pi) of ``line`` near point ``pt``."""
    s = line.project(pt)
    a = line.interpolate(max(s - 60.0, 0.0))
    b = line.interpolate(min(s + 60.0, line.length))
    return math.atan2(b.y - a.y, b.x - a.x) % math.pi


class Noise:
    """Smooth random field in about [-1, 1]: a sum of plane waves."""

    def __init__(self, rng, waves: int = 7, lmin: float = 500.0, lmax: float = 3000.0):
        self.ang = rng.uniform(0, 2 * math.pi, waves)
        self.lam = np.exp(rng.uniform(math.log(lmin), math.log(lmax), waves))
        self.phase = rng.uniform(0, 2 * math.pi, waves)
        self.amp = (self.lam / lmax) ** 0.5
        self.norm = math.sqrt(0.5 * float((self.amp ** 2).sum()))

    def __call__(self, x, y):
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        k = 2 * math.pi / self.lam
        v = self.amp * np.cos(k * (x * np.cos(self.ang) + y * np.sin(self.ang)) + self.phase)
        return np.clip(v.sum(-1) / self.norm / 2.2, -1.0, 1.0)


def _blob(cx, cy, a, b, theta, rng, rough=0.12, n=72):
    """An irregular star-shaped blob around an ellipse (a along theta, b across)."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.ones_like(t)
    for k in (2, 3, 5, 7):
        r += rough * rng.uniform(0.3, 1.0) / (k / 2) * np.sin(k * t + rng.uniform(0, 2 * math.pi))
    x, y = a * r * np.cos(t), b * r * np.sin(t)
    c, s = math.cos(theta), math.sin(theta)
    ring = np.column_stack([cx + c * x - s * y, cy + s * x + c * y])
    return _round_mm(shapely.make_valid(shapely.Polygon(ring)))


def _rect(cx, cy, length, width, theta):
    c, s = math.cos(theta), math.sin(theta)
    pts = np.array([[-length / 2, -width / 2], [length / 2, -width / 2], [length / 2, width / 2],
                    [-length / 2, width / 2]])
    ring = np.column_stack([cx + c * pts[:, 0] - s * pts[:, 1], cy + s * pts[:, 0] + c * pts[:, 1]])
    return _round_mm(shapely.Polygon(ring))


def _offset_band(coords: np.ndarray, left, right) -> shapely.Polygon:
    """Polygon between the left and right offsets of a smooth polyline (widths may vary)."""
    d = np.gradient(coords, axis=0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    left = np.broadcast_to(left, len(coords))[:, None]
    right = np.broadcast_to(right, len(coords))[:, None]
    ring = np.vstack([coords + normal * left, (coords - normal * right)[::-1]])
    poly = shapely.make_valid(shapely.Polygon(ring))
    return _round_mm(_union(_polygons(poly)))


def _wavy(rng, start, end, amp, step=25.0, waves=3, lam=(300.0, 1500.0)):
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


# ----------------------------------------------------------------------------- landscape (global)


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
    geom: object
    kind: int
    theta: float
    centre: tuple
    name: str = ""


@dataclass
class Landscape:
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
VILLAGE_FIRST = ["东", "西", "南", "北", "上", "下", "前", "后", "新", "大", "小", "徐", "陈", "王", "张", "周", "沈",
                 "胡", "朱", "施", "邵", "毛", "史", "姚", "黄", "叶", "方", "魏", "潘", "杨", "罗", "谢", "金", "蒋"]
VILLAGE_SECOND = ["家岙", "家桥", "塘", "埠", "墩", "浦", "湾", "堰", "家店", "庄", "岭下", "山头", "溪口", "河头",
                  "港口", "桥头", "洋", "江", "家弄", "家门"]


def _township_names(count: int, rng) -> list:
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


def _scale(n: int) -> dict:
    area = n * LAND_PER_PARCEL_M2
    width = round(math.sqrt(area * ASPECT))
    height = round(area / width)
    n_town = 2 if n < 1500 else max(3, round(n / 10_000))
    return {"area": area, "width": float(width), "height": float(height), "n_town": n_town,
            "n_river": max(1, round(height / 16_000)), "n_hill": max(1, round(area / 1e6 / 35.0)),
            "n_centre": max(1, round(area / 1e6 / 70.0))}


def build_landscape(n: int, seed: int) -> Landscape:
    rng = np.random.default_rng([seed, 0])
    sc = _scale(n)
    w, h = sc["width"], sc["height"]
    x0, y0 = CENTRE[0] - w / 2, CENTRE[1] - h / 2
    domain = _round_mm(shapely.box(x0, y0, x0 + w, y0 + h))
    land = Landscape(n=n, seed=seed, domain=domain, width=w, height=h)
    land.noise = {"gddb": Noise(rng, lmin=600, lmax=4000), "class": Noise(rng, lmin=300, lmax=1500),
                  "pbf": Noise(rng, lmin=500, lmax=2500), "k": Noise(rng, lmin=400, lmax=1500)}

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
        line = _round_mm(shapely.LineString(coords))
        river_lines.append(line)
        poly = _offset_band(coords, width / 2, width / 2)
        land.rivers.append(Feature(poly, "1101", PRIORITY["1101"], "river", line, 900.0))

    # Strips between river centre lines, south to north.
    strips = _polygons(shapely.polygonize(shapely.get_parts(shapely.unary_union(
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
            line = _round_mm(shapely.LineString(np.column_stack([bx, ys])))
            split_lines.append(shapely.intersection(line, strip.buffer(60)))
    faces = _polygons(shapely.polygonize(shapely.get_parts(shapely.unary_union(
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
        line = _round_mm(shapely.LineString(coords))
        land.highways.append(Feature(_offset_band(coords, width / 2, width / 2), "1003", PRIORITY["1003"],
                                     "highway", line, 600.0))
    ew_lines = []
    xs = np.arange(x0 - 400.0, x0 + w + 400.0, 25.0)
    for strip in strips:
        ymid = _strip_mid(strip, xs)
        y = ymid + 110 * np.sin(2 * math.pi * xs / rng.uniform(4000, 8000) + rng.uniform(0, 6.3))
        coords = np.column_stack([xs, y])
        width = rng.uniform(12, 18)
        line = _round_mm(shapely.LineString(coords))
        ew_lines.append(line)
        land.highways.append(Feature(_offset_band(coords, width / 2, width / 2), "1003", PRIORITY["1003"],
                                     "highway", line, 600.0))

    _place_towns(land, rng, ew_lines, sc["n_centre"])
    _place_hills(land, rng, sc["n_hill"])
    return land


def _strip_mid(strip, xs):
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


def _place_towns(land: Landscape, rng, ew_lines, count: int) -> None:
    """Town centres on east-west roads, an industrial zone along the road beside each."""
    boundaries = _union([t["geom"].boundary for t in land.townships])
    rivers = _union([r.geom for r in land.rivers])
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
        theta = _angle_of(line, p)
        # Industrial zone on the side of the nearer township boundary.
        ahead, behind = line.interpolate(min(s + 1500, line.length)), line.interpolate(max(s - 1500, 0))
        side = 1 if boundaries.distance(ahead) < boundaries.distance(behind) else -1
        half = rng.uniform(600, 750)
        town = _road_band(line, s - half, s + half, rng.uniform(380, 480), rng.uniform(380, 480), rng)
        town_geom = _round_mm(town)
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
        ind = _round_mm(shapely.difference(ind, town_geom.buffer(40)))
        ind = _union(_polygons(ind))
        mid = line.interpolate((i0 + i1) / 2)
        land.towns.append(Zone(ind, IND, theta, (mid.x, mid.y)))
        # Streets: a grid aligned with the road.
        for zone, spacing, width in ((land.towns[-2], 210.0, 9.0), (land.towns[-1], 300.0, 10.0)):
            for feat in _street_grid(zone, rng, spacing, width, "1004", "street"):
                land.streets.append(feat)


def _road_band(line, s0, s1, left, right, rng, rough=25.0):
    """A zone hugging a road between two along-positions, with uneven edges."""
    s = np.arange(max(s0, 0.0), min(s1, line.length), 20.0)
    coords = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    n = len(s)
    u = np.linspace(0, 1, n)
    taper = np.clip(np.minimum(u, 1 - u) * 8, 0.35, 1.0)  # rounded ends
    lw = left * taper + rough * np.sin(2 * math.pi * u * rng.uniform(2, 5) + rng.uniform(0, 6.3))
    rw = right * taper + rough * np.sin(2 * math.pi * u * rng.uniform(2, 5) + rng.uniform(0, 6.3))
    return _offset_band(coords, lw, rw)


def _street_grid(zone: Zone, rng, spacing, width, code, kind) -> list:
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
            pts = _wavy(rng, a, b, 4.0)
            xy = np.column_stack([cx + c * pts[:, 0] - s * pts[:, 1], cy + s * pts[:, 0] + c * pts[:, 1]])
            lines.append(shapely.LineString(xy))
            pos += spacing * (1.5 if axis == 1 else 1.0)
    clipped = shapely.intersection(np.array(lines, dtype=object), g)
    out = []
    for ln in clipped:
        for part in shapely.get_parts(ln):
            if part.geom_type == "LineString" and part.length > 60:
                poly = _round_mm(shapely.buffer(part, width / 2, cap_style="flat", quad_segs=2))
                out.append(Feature(poly, code, PRIORITY["1004"], kind, None, 0.0))
    return out


def _place_hills(land: Landscape, rng, count: int) -> None:
    x0, y0, x1, y1 = land.domain.bounds
    rivers = _union([r.geom for r in land.rivers])
    towns = _union([t.geom for t in land.towns])
    roads = _union([hw.geom for hw in land.highways])
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
        blob = _blob(cx, cy, radius * rng.uniform(1.0, 1.2), radius * rng.uniform(0.8, 1.0), rng.uniform(0, math.pi),
                     rng, rough=0.16)
        blob = shapely.difference(blob, shapely.union(river_keep, towns.buffer(200)))
        blob = _round_mm(_largest(blob))
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
            lobes.append(_blob(rx + 140 * k * math.cos(a2), ry + 140 * k * math.sin(a2), rng.uniform(150, 230),
                               rng.uniform(70, 110), a2, rng, rough=0.1))
        res = _largest(shapely.intersection(_union(lobes), inner))
        if not res.is_empty and res.area > 5e4:
            land.reservoirs.append(Feature(_round_mm(res), "1103", PRIORITY["1103"], "reservoir"))
    land.hills = placed


def _largest(geom):
    parts = _polygons(geom)
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[int(np.argmax(shapely.area(parts)))]


# ----------------------------------------------------------------------------- parcels (per township)


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


def _seeds(piece_geom, origin, theta, elong, area, jitter, rng) -> np.ndarray:
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


def _cell_edges(piece: Piece):
    """Voronoi edges of the piece's seeds (computed in the scaled frame), clipped near the piece."""
    if len(piece.seeds) < 2:
        return None
    uv = piece.scaled(piece.seeds)
    box = shapely.box(uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()).buffer(500)
    edges = shapely.voronoi_polygons(shapely.multipoints(uv), only_edges=True, extend_to=box)
    edges = shapely.transform(edges, piece.unscale)
    return shapely.intersection(edges, piece.geom.buffer(5, quad_segs=2))


def _nearest_feature_angle(land: Landscape, pt) -> float:
    """Direction of the river or 公路 nearest to ``pt``: fields and villages line up with it."""
    lines = [r.line for r in land.rivers] + [hw.line for hw in land.highways]
    d = [ln.distance(pt) for ln in lines]
    return _angle_of(lines[int(np.argmin(d))], pt)


def _village_names(count, rng) -> list:
    pool = [a + b for a in VILLAGE_FIRST for b in VILLAGE_SECOND]
    idx = rng.choice(len(pool), size=count, replace=False)
    return [pool[i] + "村" for i in idx]


@dataclass
class TownshipParcels:
    geoms: np.ndarray
    attrs: dict  # column -> array
    villages: list  # Zone (VILLAGE)
    territories: list  # dict(geom, code, name, kind)
    plain_cell: float = 0.0


def _place_villages(land: Landscape, tgeom, rng) -> list:
    count = max(1, round(tgeom.area / 1e6 / 5.5))
    near = tgeom.buffer(400)
    occupied = _union([h.geom for h in land.hills if h.geom.intersects(near)]
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
        blob = _blob(p[0], p[1], rng.uniform(230, 360), rng.uniform(110, 160), theta, rng, rough=0.2)
        blob = _round_mm(_largest(shapely.difference(blob, occupied)))
        if blob.area > 2e4:
            villages.append(Zone(blob, VILLAGE, theta, (float(p[0]), float(p[1]))))
    return villages


def _territories(land: Landscape, tgeom, villages, town_zones, rng):
    """行政村 territories: coarse Voronoi cells given to the nearest seat (jagged borders)."""
    seats = [(v.centre, "village") for v in villages] + [(t.centre, "town") for t in town_zones]
    if not seats:
        p = tgeom.point_on_surface()
        seats = [((p.x, p.y), "village")]
    x0, y0, x1, y1 = tgeom.bounds
    d = 430.0
    gx, gy = np.meshgrid(np.arange(x0 - 2 * d, x1 + 2 * d, d), np.arange(y0 - 2 * d, y1 + 2 * d, d))
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.4, 0.4, (gx.size, 2)) * d
    cells = _polygons(shapely.voronoi_polygons(shapely.multipoints(np.round(pts, 3)),
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
        out.append({"geom": _round_mm(geom), "kind": seats[k][1], "seat": tuple(sxy[k])})
    return out


def _grid_lines(plain, theta, rng, spacing_long, spacing_cross):
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

    def to_real(uu, vv):
        uu2 = uu + amp1 * np.sin(2 * math.pi * vv / lam1 + ph1)
        vv2 = vv + amp2 * np.sin(2 * math.pi * uu / lam2 + ph2)
        return np.column_stack([origin[0] + uu2 * c - vv2 * s, origin[1] + uu2 * s + vv2 * c])

    def crossing_index(xy):
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
    geoms = shapely.intersection(np.array([_round_mm(shapely.LineString(ln)) for ln in lines], dtype=object), plain)
    for g, code, width, splitter in zip(geoms, codes, widths, split):
        for part in shapely.get_parts(g):
            if part.geom_type != "LineString" or part.length < 40:
                continue
            poly = _round_mm(shapely.buffer(part, width / 2, cap_style="flat", quad_segs=2))
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


def _patches(plain, theta_of, corridors, rng) -> list:
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
                g = _blob(p[0], p[1], a, b, rng.uniform(0, math.pi), rng, rough=0.15, n=24)
            else:
                g = _rect(p[0], p[1], a, b, theta + (math.pi / 2 if rng.uniform() < 0.5 else 0.0))
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


def _cell_code(kind: int, xy: np.ndarray, land: Landscape, rng, hill_geom=None, villages=None,
               highways=None) -> list:
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


def _plain_cell_area(land: Landscape, T, zones) -> float:
    """Field cell size that brings the township to its share of the requested parcel count."""
    target = land.n * T.area / land.domain.area
    zone_area = {k: 0.0 for k in ZONE_YIELD}
    for z in zones:
        zone_area[z.kind] += shapely.intersection(z.geom, T).area
    corridors = shapely.intersection(_union([f.geom for f in land.rivers + land.highways if f.geom.intersects(T)]),
                                     T).area
    expected = sum(zone_area[k] * ZONE_YIELD[k] for k in ZONE_YIELD) + corridors * CORRIDOR_YIELD
    plain_km2 = (T.area - sum(zone_area.values()) - corridors) / 1e6
    density = (target - expected) / max(plain_km2, 1e-3) - PLAIN_EXTRA_PER_KM2
    if density <= 0:
        return 24_000.0
    return float(np.clip(1e6 / (PLAIN_SPLIT * density), 9_000.0, 24_000.0))


def build_township(land: Landscape, ti: int, plain_cell: float | None = None) -> TownshipParcels:
    rng = np.random.default_rng([land.seed, 1, ti])
    T = land.townships[ti]["geom"]
    Tb = T.buffer(5, quad_segs=2)
    shapely.prepare(T)

    hills = [h for h in land.hills if h.geom.intersects(T)]
    towns = [z for z in land.towns if z.geom.intersects(T)]
    villages = _place_villages(land, T, rng)
    zones = hills + towns + villages  # disjoint by construction
    seat_towns = [z for z in towns if z.kind == TOWN and T.contains(shapely.Point(z.centre))]
    terrs = _territories(land, T, villages, seat_towns, rng)
    zone_union = _union([z.geom for z in zones])

    # Corridors that cross the township.
    feats: list = [f for f in land.rivers + land.reservoirs + land.highways + land.streets if f.geom.intersects(Tb)]
    for v in villages:
        feats += _street_grid(v, rng, 160.0, 5.0, "1004", "street")
    pieces: list = []
    plains = []
    for terr in terrs:
        tg = shapely.intersection(terr["geom"], T)
        plain = _union(_polygons(shapely.difference(tg, zone_union)))
        plains.append(plain)
        seat = shapely.Point(terr["seat"])
        theta = _nearest_feature_angle(land, seat) + rng.normal(0, 0.12)
        terr["theta"] = theta
        feats += _grid_lines(plain, theta, rng, rng.uniform(270, 340), rng.uniform(420, 560))
    corridors = [f.geom for f in feats]
    all_plain = _union(plains)
    terr_tree = STRtree(np.array([t["geom"] for t in terrs], dtype=object))

    def theta_of(p):
        idx = terr_tree.query(shapely.Point(p), predicate="within")
        return terrs[int(idx[0])]["theta"] if len(idx) else 0.0

    feats += _patches(all_plain, theta_of, corridors, rng)

    # Cells. In the plain each block between corridors gets its own seeds, so fields are
    # bounded by roads and ditches; zones (hill, town, village...) get one piece per territory.
    if plain_cell is None:
        plain_cell = _plain_cell_area(land, T, zones)
    village_union = _union([v.geom for v in villages])
    hw_union = _union([hw.geom for hw in land.highways if hw.geom.intersects(Tb)])
    corridor_union = _union([f.geom for f in feats if f.kind != "patch"])
    for k, terr in enumerate(terrs):
        tg = shapely.intersection(terr["geom"], T)
        parts = []
        plain_theta = terr["theta"] + (0.0 if rng.uniform() < 0.5 else math.pi / 2)
        plain_elong = rng.uniform(2.2, 3.4)
        if not plains[k].is_empty:
            blocks = _polygons(shapely.difference(plains[k], corridor_union))
            for block in blocks[_canonical_order(blocks)]:  # GEOS versions emit parts in different orders
                parts.append((block, PLAIN, -1, None))
        for zi, z in enumerate(zones):
            if z.geom.intersects(tg):
                parts.append((_union(_polygons(shapely.intersection(tg, z.geom))), z.kind, zi, z))
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
    faces = _polygons(shapely.polygonize(shapely.get_parts(noded)))
    rep = shapely.point_on_surface(faces)
    rxy = shapely.get_coordinates(rep)
    inside = shapely.contains_xy(T, rxy[:, 0], rxy[:, 1])
    faces, rep, rxy = faces[inside], rep[inside], rxy[inside]
    order = _canonical_order(faces)
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
        for part in _polygons(geom):
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


def _merge_fragments(geoms: np.ndarray, group: np.ndarray, group_is_feature: np.ndarray):
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
            parts = _polygons(u)
            u = parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))
            out_geoms.append(u)
        out_group.append(group[tgt])
    return np.array(out_geoms, dtype=object), np.array(out_group)


# ----------------------------------------------------------------------------- assembly


def _transformer():
    return pyproj.Transformer.from_crs(EPSG, 4490, always_xy=True), pyproj.Geod(ellps="GRS80")


def ellipsoidal_area(geoms) -> np.ndarray:
    """Area on the CGCS2000 (= GRS80) ellipsoid, m², like 三调 图斑面积."""
    geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
    tr, geod = _transformer()
    lonlat = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in lonlat], dtype=float)


@dataclass
class Parcels:
    geom: np.ndarray
    col: dict
    territories: list
    villages: list


def build_parcels(land: Landscape) -> Parcels:
    geoms, cols, terrs, villages = [], [], [], []
    for ti, t in enumerate(land.townships):
        res = build_township(land, ti)
        # The cell size is an estimate; if the township is off its share by more than 5 %
        # (10 % when many townships average out), build it again with field cells resized by
        # what the first try yielded.
        target = land.n * t["geom"].area / land.domain.area
        fields = int(np.sum((res.attrs["zone_kind"] == PLAIN) & (res.attrs["feat_kind"] == "cell")))
        tolerance = 0.05 if len(land.townships) <= 4 else 0.10
        if abs(len(res.geoms) - target) > tolerance * target and fields > 10:
            wanted = max(fields + target - len(res.geoms), 0.3 * fields)
            res = build_township(land, ti, res.plain_cell * fields / wanted)
        rng = np.random.default_rng([land.seed, 3, ti])
        order = sorted(range(len(res.territories)),
                       key=lambda k: (-round(res.territories[k]["seat"][1] / 300.0), res.territories[k]["seat"][0]))
        n_village = sum(1 for tt in res.territories if tt["kind"] != "town")
        names = _village_names(n_village, rng)
        remap, nv, nt = {}, 0, 0
        for k in order:
            tt = res.territories[k]
            if tt["kind"] == "town":
                nt += 1
                code3, name = f"{nt:03d}", t["name"][:-1] + ("社区" if nt == 1 else f"{nt}社区")
            else:
                nv += 1
                code3, name = f"{200 + nv:03d}", names[nv - 1]
            remap[k] = len(terrs)
            terrs.append({"township": ti, "code": t["code"] + code3 + "0000000", "name": name,
                          "geom": shapely.intersection(tt["geom"], t["geom"]), "theta": tt["theta"],
                          "kind": tt["kind"]})
        res.attrs["territory"] = np.array([remap[k] for k in res.attrs["territory"]], dtype=np.int64)
        tree = STRtree(np.array([terrs[remap[k]]["geom"] for k in range(len(res.territories))], dtype=object))
        for v in res.villages:
            hit = tree.query(shapely.Point(v.centre), predicate="within")
            v.name = terrs[remap[int(hit[0])]]["name"] if len(hit) else ""
        villages += res.villages
        # Reading order inside the township: rows of 250 m north to south, west to east.
        rep = shapely.get_coordinates(shapely.point_on_surface(res.geoms))
        order = np.lexsort((np.round(rep[:, 0], 3), -np.floor(rep[:, 1] / 250.0)))
        geoms.append(res.geoms[order])
        cols.append({k: v[order] for k, v in res.attrs.items()})
    geom = np.concatenate(geoms)
    col = {k: np.concatenate([c[k] for c in cols]) for k in cols[0]}
    # Parcels of neighbouring townships meet on the same boundary, vertex for vertex.
    tgeoms = np.array([t["geom"] for t in land.townships], dtype=object)
    seams = shapely.boundary(tgeoms)
    geom, tgeoms = _share_near([geom, tgeoms], [col["township"], 1000 + np.arange(len(tgeoms))], seams)
    for t, g in zip(land.townships, tgeoms):
        t["geom"] = g
    col["rep"] = shapely.get_coordinates(shapely.point_on_surface(geom))
    return Parcels(geom, col, terrs, villages)


def _attributes(P: Parcels, land: Landscape) -> None:
    """三调 attributes of every parcel (TBMJ ellipsoidal, KCXS by township and slope)."""
    rng = np.random.default_rng([land.seed, 2])
    c = P.col
    n = len(P.geom)
    code = c["code"]
    town = c["township"]
    rep = c["rep"]
    farm = np.isin(code, FARMLAND)
    hill = c["zone_kind"] == HILL
    hill_index = {id(h): i for i, h in enumerate(land.hills)}
    c["hill"] = np.array([hill_index.get(id(o), -1) for o in c["zone_obj"]], dtype=np.int64)
    depth = np.full(n, np.inf)
    for h in np.unique(c["hill"][c["hill"] >= 0]):
        idx = np.flatnonzero(c["hill"] == h)
        depth[idx] = shapely.distance(land.hills[h].geom.boundary, shapely.points(rep[idx]))
    c["depth"] = depth
    slope = np.ones(n, dtype=np.int64)
    slope[hill] = np.where(depth[hill] < 60, 2, np.where(depth[hill] < 110, 3, 4))
    slope[hill & (depth > 120) & (rng.uniform(size=n) < 0.3)] = 5
    c["slope"] = slope

    # 扣除系数: one value per township and slope class, as 三调 tables them.
    kc_table = {}
    for ti in range(len(land.townships)):
        r = np.random.default_rng([land.seed, 4, ti])
        kc_table[ti] = {"0101": r.uniform(0.055, 0.08), "dry": r.uniform(0.02, 0.05), "K": r.uniform(0.03, 0.08),
                        2: r.uniform(0.10, 0.12), 3: r.uniform(0.12, 0.15), 4: r.uniform(0.15, 0.18),
                        5: r.uniform(0.18, 0.20), "g2": r.uniform(0.03, 0.05), "g3": r.uniform(0.05, 0.07),
                        "g4": r.uniform(0.07, 0.09), "g5": r.uniform(0.09, 0.10)}
    kcxs = np.zeros(n)
    garden_forest = np.array([cd[:2] in ("02", "03") for cd in code])
    kcoded = np.array([cd.endswith("K") for cd in code])
    for i in range(n):
        t = kc_table[town[i]]
        if farm[i]:
            kcxs[i] = t[int(slope[i])] if hill[i] else (t["0101"] if code[i] == "0101" else t["dry"])
        elif garden_forest[i] and hill[i] and depth[i] < 170:
            kcxs[i] = t[f"g{slope[i]}"]
        elif kcoded[i]:
            kcxs[i] = t["K"]
    kcxs = np.round(kcxs, 4)

    tbmj = np.round(ellipsoidal_area(P.geom), 2)
    kcmj = np.array([round(float(a) * float(k), 2) for a, k in zip(tbmj, kcxs)])
    tbdlmj = np.array([round(float(a) - float(m), 2) for a, m in zip(tbmj, kcmj)])

    noise = land.noise["gddb"](rep[:, 0], rep[:, 1])
    gddb = np.full(n, -1, dtype=np.int64)
    plain_farm = farm & ~hill
    g = np.where(code == "0101", 5.5 + 1.7 * noise, 6.9 + 1.0 * noise) + rng.normal(0, 0.35, n)
    gddb[plain_farm] = np.clip(np.round(g), np.where(code == "0101", 4, 6), np.where(code == "0101", 7, 8))[plain_farm]
    gddb[farm & hill] = np.clip(7 + slope + rng.integers(-2, 1, n), 7, 11)[farm & hill]
    gdlx = np.where(farm & hill, np.where(rng.uniform(size=n) < 0.35, "TT", "PD"), "").astype(object)
    gdpdjb = np.where(farm, slope.astype(str), "").astype(object)
    zz = np.where(code == "0101", rng.choice(["LS", "LS", "LS", "LYFL", "FLS", ""], size=n),
                  rng.choice(["FLS", "LS", "LYFL", "WG", "XG", ""], size=n))
    zzsxdm = np.where(farm, zz, "").astype(object)

    state = np.isin(code, ("1003", "1101", "1103")) | np.isin(c["zone_kind"], (TOWN, IND))
    terr = c["territory"]
    zl = np.array([P.territories[k]["code"] for k in terr], dtype=object)
    zlmc = np.array([P.territories[k]["name"] for k in terr], dtype=object)
    xzq = np.array([land.townships[t]["code"] for t in town], dtype=object)
    xzqmc = np.array([land.townships[t]["name"] for t in town], dtype=object)
    serial = np.zeros(n, dtype=np.int64)
    tbbh = np.zeros(n, dtype=np.int64)
    for ti in np.unique(town):
        idx = np.flatnonzero(town == ti)
        serial[idx] = np.arange(1, len(idx) + 1)
    for k in np.unique(terr):
        idx = np.flatnonzero(terr == k)
        tbbh[idx] = np.arange(1, len(idx) + 1)
    c.update({
        "BSM": np.array([f"{x}{s:07d}" for x, s in zip(xzq, serial)], dtype=object),
        "YSDM": np.full(n, "2001010100", dtype=object),
        "TBBH": tbbh.astype(str).astype(object),
        "DLBM": code,
        "DLMC": np.array([DLMC[cd] for cd in code], dtype=object),
        "QSXZ": np.where(state, "20", "30").astype(object),
        "QSDWDM": np.where(state, xzq + "0000000000", zl).astype(object),
        "QSDWMC": np.where(state, xzqmc, zlmc + "农民集体").astype(object),
        "ZLDWDM": zl, "ZLDWMC": zlmc,
        "TBMJ": tbmj, "KCDLBM": np.where(kcxs > 0, "1203", "").astype(object), "KCXS": kcxs, "KCMJ": kcmj,
        "TBDLMJ": tbdlmj, "GDLX": gdlx, "GDPDJB": gdpdjb, "GDDB": gddb, "ZZSXDM": zzsxdm,
        "CZCSXM": c["czcsxm"], "XZQDM": xzq,
    })


# ----------------------------------------------------------------------------- 三区三线


def _rebuild(geom, ring_fn):
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
    keep = np.ones(len(coords), bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    return coords[keep]


def _insert_points(geom, pts: np.ndarray, eps: float):
    """``geom`` with the points of ``pts`` that lie on its edges inserted as vertices."""
    def ring_with(coords):
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

    def vertex_table(arr):
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
        rep = _components(len(uniq), pa, pb)
        moved = rep != np.arange(len(uniq))
        lookup = {tuple(uniq[i]): uniq[rep[i]] for i in np.flatnonzero(moved)}

        def snap(ring):
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
        out[bad] = [_union(_polygons(shapely.make_valid(g))) for g in out[bad]]
    return out


def _share_near(layers: list, sources: list, seams: np.ndarray) -> list:
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


def _dissolve(geoms, townships=None):
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
    return _union(_polygons(out)) if out.geom_type not in ("Polygon", "MultiPolygon") else out


def _adjacency(geoms):
    tree = STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    return a[keep], b[keep]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
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


def _csr(n, a, b):
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    indptr = np.searchsorted(src, np.arange(n + 1))
    return indptr, dst


HILL_NAMES = ["凤凰山", "龙泉山", "青峰山", "白云山", "马鞍山", "狮子山", "大岚山", "鹰嘴岩", "翠屏山", "石门山"]


def _three_lines(P: Parcels, land: Landscape, adj) -> dict:
    rng = np.random.default_rng([land.seed, 5])
    c = P.col
    n = len(P.geom)
    code, zk, rep, town = c["DLBM"], c["zone_kind"], c["rep"], c["township"]
    corridor = np.isin(c["feat_kind"], ("river", "highway", "reservoir"))

    # 城镇开发边界: built-up town and industrial zone, a flexible ring and a special-use strip.
    udb_rows = []
    in_udb = np.zeros(n, bool)
    core = np.isin(zk, (TOWN, IND))
    in_udb |= core
    for ti in np.unique(town[core]):
        sel = core & (town == ti)
        udb_rows.append((_dissolve(P.geom[sel], town[sel]), {"XZQDM": land.townships[ti]["code"],
                                                             "CZKFBJLX": "城镇集中建设区"}))
    towns = [z for z in land.towns if z.kind == TOWN]
    rep_points = shapely.points(rep)
    rep_tree = STRtree(rep_points)
    for z in towns:
        zone = _union([zz.geom for zz in land.towns if zz.geom.distance(z.geom) < 200])
        d = np.full(n, np.inf)
        close = rep_tree.query(zone, predicate="dwithin", distance=260)
        d[close] = shapely.distance(zone, rep_points[close])
        ring = (d > 0) & (d < 260) & (zk == PLAIN) & ~corridor & ~in_udb
        ang = (np.arctan2(rep[:, 1] - z.centre[1], rep[:, 0] - z.centre[0]) - rng.uniform(0, 2 * math.pi)) % (2 * math.pi)
        for kind, lo, hi in (("城镇弹性发展区", 0.0, 2.6), ("特别用途区", 3.3, 4.3)):
            sel = ring & (ang >= lo) & (ang < hi)
            in_udb |= sel
            for ti in np.unique(town[sel]):
                s2 = sel & (town == ti)
                udb_rows.append((_dissolve(P.geom[s2], town[s2]), {"XZQDM": land.townships[ti]["code"],
                                                                   "CZKFBJLX": kind}))
    c["in_udb"] = in_udb

    # 生态保护红线: hill forest away from the foot, and the reservoirs.
    eco_rows = []
    in_eco = np.zeros(n, bool)
    forest = np.isin(code, ("0301", "0305", "0307", "0404", "1206"))
    for h, hz in enumerate(land.hills):
        mine = c["hill"] == h
        name = HILL_NAMES[h % len(HILL_NAMES)] + ("" if h < len(HILL_NAMES) else str(h // len(HILL_NAMES) + 1))
        hz.name = name
        sel = mine & forest & (c["depth"] >= 170)
        if sel.any():
            in_eco |= sel
            eco_rows.append((_dissolve(P.geom[sel], town[sel]), {"HXMC": f"{name}生物多样性维护生态保护红线",
                                                                 "HXLX": "生物多样性维护"}))
        sel = mine & (code == "1103")
        if sel.any():
            in_eco |= sel
            eco_rows.append((_dissolve(P.geom[sel], town[sel]), {"HXMC": f"{name}水库水源涵养生态保护红线",
                                                                 "HXLX": "水源涵养"}))
    c["in_eco"] = in_eco

    # 永久基本农田: most plain farmland, whole parcels, coordinated with the two lines above.
    farm = np.isin(code, FARMLAND) & (zk == PLAIN) & ~in_udb & ~in_eco
    score = land.noise["pbf"](rep[:, 0], rep[:, 1]) + rng.normal(0, 0.25, n) + np.where(code == "0101", 0.35, 0.0)
    area = c["TBMJ"]
    idx = np.flatnonzero(farm)
    order = idx[np.argsort(-score[idx], kind="stable")]
    cum = np.cumsum(area[order])
    chosen = order[cum <= 0.78 * area[idx].sum()]
    pbf = np.zeros(n, bool)
    pbf[chosen] = True
    pbf_rows, pbf_feature = _pbf_features(P, land, pbf, adj)
    c["in_pbf"] = pbf_feature >= 0
    c["pbf_feature"] = pbf_feature
    return {"udb": udb_rows, "eco": eco_rows, "pbf": pbf_rows}


def _pbf_features(P: Parcels, land: Landscape, pbf: np.ndarray, adj, max_ha=30.0, min_ha=1.0):
    """Dissolve PBF parcels per block (same village) and cut blocks into features of 1-30 ha."""
    c = P.col
    n = len(P.geom)
    a, b = adj
    keep = pbf[a] & pbf[b] & (c["territory"][a] == c["territory"][b])
    label = _components(n, a[keep], b[keep])
    rows, feature_of = [], np.full(n, -1)
    area = c["TBMJ"]
    idx = np.flatnonzero(pbf)
    idx = idx[np.argsort(label[idx], kind="stable")]
    starts = np.flatnonzero(np.r_[True, label[idx][1:] != label[idx][:-1]])
    for s0, s1 in zip(starts, np.r_[starts[1:], len(idx)]):
        members = idx[s0:s1]
        total = area[members].sum()
        if total < min_ha * 1e4:
            continue
        theta = P.territories[c["territory"][members[0]]]["theta"]
        proj = c["rep"][members, 0] * math.cos(theta) + c["rep"][members, 1] * math.sin(theta)
        members = members[np.argsort(proj, kind="stable")]
        pieces = max(1, math.ceil(total / (max_ha * 1e4 * 0.85)))
        cut = np.minimum((np.cumsum(area[members]) - area[members] / 2) / total * pieces, pieces - 1).astype(int)
        for k in range(pieces):
            grp = members[cut == k]
            if len(grp) == 0:
                continue
            rows.append(_pbf_row(P, grp))
            feature_of[grp] = len(rows) - 1
    return rows, feature_of


def _pbf_row(P: Parcels, grp, dlbm=None, gddb=None, geom=None):
    c = P.col
    area = c["TBMJ"][grp]
    codes = c["DLBM"][grp]
    if dlbm is None:
        uniq = sorted(set(codes))
        dlbm = max(uniq, key=lambda u: area[codes == u].sum())
    if gddb is None:
        g = c["GDDB"][grp]
        ok = g > 0
        gddb = int(round(float(np.average(g[ok], weights=area[ok])))) if ok.any() else None
    terr = c["territory"][grp]
    t = max(set(terr), key=lambda k: area[terr == k].sum())
    geom = _dissolve(P.geom[grp], c["township"][grp]) if geom is None else geom
    return (geom, {"DLBM": dlbm, "DLMC": DLMC[dlbm], "ZLDWDM": P.territories[t]["code"],
                   "XZQDM": P.territories[t]["code"][:9], "GDDB": gddb, "GDPDJB": "1"})


# ----------------------------------------------------------------------------- the planner's draft scheme

TASK = {  # 子项目类型 -> 5+X task (RWLX)
    "垦造耕地": "农用地整治", "耕地提质改造": "农用地整治", "旱改水": "农用地整治", "高标准农田建设": "农用地整治",
    "永久基本农田集中连片整治": "农用地整治", "农村建设用地复垦": "村庄整治", "农民集聚安置": "村庄整治",
    "城中村改造": "村庄整治", "生态修复": "生态保护修复", "生态产业开发": "生态保护修复", "废弃矿山修复": "生态保护修复",
    "工业用地整治": "工业用地整治", "低效用地再开发": "城镇低效用地再开发", "零星用地": "城镇低效用地再开发",
    "特色任务": "X",
}
TASK_ORDER = ["农用地整治", "村庄整治", "生态保护修复", "工业用地整治", "城镇低效用地再开发", "X"]
COST = {  # 万元 per hectare, rough Zhejiang figures
    "垦造耕地": 55.0, "耕地提质改造": 15.0, "旱改水": 30.0, "高标准农田建设": 4.5, "永久基本农田集中连片整治": 6.0,
    "农村建设用地复垦": 90.0, "农民集聚安置": 900.0, "城中村改造": 1200.0, "生态修复": 8.0, "生态产业开发": 150.0,
    "废弃矿山修复": 30.0, "工业用地整治": 150.0, "低效用地再开发": 600.0, "零星用地": 300.0, "特色任务": 20.0,
}
CONSTRUCTION = ("05H1", "0601", "0701", "0702", "08H1", "0810", "1003", "1004")
NEW_FARMLAND_GAIN = 0.07  # the draft aims at +7% 耕地 inside the units (rule: >= 5%)


@dataclass
class Project:
    unit: int
    xmlx: str
    ghdlbm: str
    members: list
    kcxs: float | None = None
    geom: object = None  # footprint when it is not the members' whole pieces
    area: float = 0.0  # plane m² of the footprint


class Draft:
    """Units, projects and planned PBF drawn on the parcels (a planner's first draft)."""

    def __init__(self, P: Parcels, land: Landscape, adj):
        self.P, self.land = P, land
        self.rng = np.random.default_rng([land.seed, 6])
        self.n = len(P.geom)
        self.indptr, self.nbr = _csr(self.n, *adj)
        self.adj = adj
        self.units: list = []  # dict(geom, kind, centre)
        self.unit_of = np.full(self.n, -1)
        self.piece = np.empty(self.n, dtype=object)
        self.frac = np.zeros(self.n)
        self.taken = np.zeros(self.n, bool)
        self.projects: list = []
        self.plane_area = shapely.area(P.geom)

    # -- units -------------------------------------------------------------------------------

    def place_units(self) -> None:
        P, land, rng = self.P, self.land, self.rng
        c = P.col
        sc = _scale(land.n)
        n_units = 3 if sc["n_town"] <= 3 else sc["n_town"]
        area = land.width * land.height
        R = min(1250.0, 0.8 * math.sqrt(area / n_units / math.pi))
        self.R = R
        rep = c["rep"]
        fk = c["feat_kind"]
        corridor = np.isin(fk, ("river", "highway", "road", "ditch", "street", "reservoir"))
        a, b = self.adj
        keep = ~corridor[a] & ~corridor[b]
        block = _components(self.n, a[keep], b[keep])
        w = self.plane_area
        bsum = np.bincount(block, weights=w, minlength=self.n)
        bx = np.bincount(block, weights=w * rep[:, 0], minlength=self.n) / np.maximum(bsum, 1e-9)
        by = np.bincount(block, weights=w * rep[:, 1], minlength=self.n) / np.maximum(bsum, 1e-9)
        sel_xy = rep.copy()
        small_block = ~corridor & (bsum[block] <= 50e4)
        sel_xy[small_block, 0] = bx[block[small_block]]
        sel_xy[small_block, 1] = by[block[small_block]]

        x0, y0, x1, y1 = land.domain.bounds
        mid = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        cands = {"eco": [], "town": [], "farm": []}
        for h in land.hills:
            core = shapely.intersection(h.geom, land.domain)
            p = shapely.get_coordinates(core.centroid)[0]
            v = mid - p
            p = p + v / max(np.hypot(*v), 1e-9) * 0.45 * R
            cands["eco"].append(p)
        for z in land.towns:
            if z.kind == IND:
                cands["town"].append(shapely.get_coordinates(z.geom.centroid)[0])
        # Farm units: where baseline PBF is densest, preferably astride a township boundary.
        step = max(400.0, R * 0.6)
        gx, gy = np.meshgrid(np.arange(x0 + R * 0.5, x1 - R * 0.49, step), np.arange(y0 + R * 0.5, y1 - R * 0.49, step))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        if len(grid) == 0:
            grid = mid[None, :]
        pbf = np.flatnonzero(c["in_pbf"])
        tree = STRtree(shapely.points(rep[pbf]))
        gi, pi = tree.query(shapely.points(grid), predicate="dwithin", distance=R)
        score = np.bincount(gi, weights=c["TBMJ"][pbf[pi]], minlength=len(grid))
        inner = _union([t["geom"].boundary for t in land.townships]).difference(land.domain.boundary.buffer(1))
        near_b = shapely.distance(inner, shapely.points(grid)) < 0.45 * R if not inner.is_empty else np.zeros(len(grid), bool)
        score = score * np.where(near_b, 1.6, 1.0)
        # ... and with a village to consolidate.
        if P.villages:
            vc = np.array([v.centre for v in P.villages])
            has_v = (np.hypot(grid[:, 0, None] - vc[None, :, 0], grid[:, 1, None] - vc[None, :, 1]) < 0.6 * R).any(1)
            score = score * np.where(has_v, 1.2, 1.0)
        cands["farm"] = list(grid[np.argsort(-score, kind="stable")])

        chosen = []
        cycle = ["town", "eco", "farm"]
        for u in range(n_units):
            want = cycle[u % 3]
            for kind in (want, "farm"):
                pick = None
                for p in cands[kind]:
                    if all(np.hypot(*(p - q)) >= 1.9 * R for q, _ in chosen):
                        pick = p
                        break
                if pick is not None:
                    cands[kind] = [q for q in cands[kind] if q is not pick]
                    chosen.append((pick, kind))
                    break
        # Number units in reading order.
        chosen.sort(key=lambda t: (-round(t[0][1] / 1000.0), t[0][0]))
        centres = np.array([p for p, _ in chosen])
        d = np.hypot(sel_xy[:, 0, None] - centres[None, :, 0], sel_xy[:, 1, None] - centres[None, :, 1])
        nearest = np.argmin(d, axis=1)
        unit_of = np.where(d[np.arange(self.n), nearest] <= R, nearest, -1)
        # A road, ditch or river joins the unit most of its neighbouring land is in, so
        # unit boundaries run along corridors and do not leave slits.
        ci = np.concatenate([a[corridor[a] & ~corridor[b]], b[corridor[b] & ~corridor[a]]])
        nj = np.concatenate([b[corridor[a] & ~corridor[b]], a[corridor[b] & ~corridor[a]]])
        total = np.bincount(ci, minlength=self.n)
        k = len(chosen) + 1
        votes = np.bincount(ci * k + (unit_of[nj] + 1), minlength=self.n * k).reshape(self.n, k)[:, 1:]
        best = votes.argmax(axis=1)
        won = votes[np.arange(self.n), best] > 0.5 * total
        ok = won & (d[np.arange(self.n), best] <= R + 300.0)
        unit_of[corridor] = np.where(ok[corridor], best[corridor], -1)
        for u, (p, kind) in enumerate(chosen):
            sel = np.flatnonzero(unit_of == u)
            if len(sel) == 0:
                continue
            geom = _largest(_dissolve(P.geom[sel], c["township"][sel]))
            # Fill holes that hold no parcel of another unit (a unit is one piece of land).
            bx0, by0, bx1, by1 = geom.bounds
            others = ((unit_of >= 0) & (unit_of != u) & (rep[:, 0] > bx0) & (rep[:, 0] < bx1) & (rep[:, 1] > by0)
                      & (rep[:, 1] < by1))
            holes = []
            for ring in geom.interiors:
                hole = shapely.Polygon(ring)
                shapely.prepare(hole)
                if not shapely.contains_xy(hole, rep[others, 0], rep[others, 1]).any():
                    continue
                holes.append(ring)
            geom = shapely.Polygon(geom.exterior, holes)
            # The planner's line cuts across fields on one side (its crossings with parcel
            # edges are new vertices; _share_vertices later puts them into the parcels too).
            phi = rng.uniform(0, 2 * math.pi)
            cu, su = math.cos(phi), math.sin(phi)
            big = 4 * R
            hp = np.array([[-big, -big], [0.72 * R, -big], [0.72 * R, big], [-big, big]])
            ring = np.column_stack([p[0] + hp[:, 0] * cu - hp[:, 1] * su, p[1] + hp[:, 0] * su + hp[:, 1] * cu])
            geom = _largest(shapely.intersection(geom, _round_mm(shapely.Polygon(ring))))
            self.units.append({"geom": geom, "kind": kind, "centre": p})
        self._pieces()

    def _pieces(self) -> None:
        P = self.P
        tree = STRtree(P.geom)
        for u, unit in enumerate(self.units):
            g = unit["geom"]
            shapely.prepare(g)
            idx = tree.query(g, predicate="intersects")
            idx = idx[self.unit_of[idx] < 0]
            inside = shapely.covered_by(P.geom[idx], g)
            pieces = P.geom[idx].copy()
            cut = ~inside
            if cut.any():
                pieces[cut] = [_union(_polygons(x)) for x in shapely.intersection(P.geom[idx[cut]], g)]
            area = shapely.area(pieces)
            ok = area > 1.0
            idx, pieces, area = idx[ok], pieces[ok], area[ok]
            self.unit_of[idx] = u
            self.piece[idx] = pieces
            self.frac[idx] = area / self.plane_area[idx]
        self.piece_area = self.frac * self.plane_area

    # -- projects ----------------------------------------------------------------------------

    def near(self, geom, dist: float, mask: np.ndarray) -> np.ndarray:
        """``mask`` restricted to parcels within ``dist`` of ``geom``."""
        idx = np.flatnonzero(mask)
        out = np.zeros(self.n, bool)
        out[idx[shapely.dwithin(geom, self.P.geom[idx], dist)]] = True
        return out

    def grow(self, cand: np.ndarray, start, target: float, passable=None) -> list:
        """Parcels of ``cand`` grown from the one nearest ``start`` through shared edges."""
        cand = cand & ~self.taken
        idx = np.flatnonzero(cand)
        if len(idx) == 0 or target <= 0:
            return []
        rep = self.P.col["rep"]
        sx, sy = float(start[0]), float(start[1])
        s = idx[np.argmin(np.hypot(rep[idx, 0] - sx, rep[idx, 1] - sy))]
        heap, seen, out, total = [(0.0, s)], {s}, [], 0.0
        inside = self.unit_of >= 0
        while heap and total < target:
            _, i = heapq.heappop(heap)
            if cand[i]:
                out.append(i)
                total += self.piece_area[i]
            for j in self.nbr[self.indptr[i]:self.indptr[i + 1]]:
                if j not in seen and (cand[j] or (passable is not None and passable[j] and inside[j])):
                    seen.add(j)
                    heapq.heappush(heap, (math.hypot(rep[j, 0] - sx, rep[j, 1] - sy), j))
        return out

    def add(self, unit, xmlx, ghdlbm, members, kcxs=None, geom=None) -> Project | None:
        # Only parcels wholly inside the unit: a footprint never reuses a cut made by the unit edge.
        members = [int(m) for m in members if not self.taken[m] and self.frac[m] > 0.999]
        if not members:
            return None
        self.taken[members] = True
        pr = Project(unit, xmlx, ghdlbm, members, kcxs, geom)
        pr.area = float(shapely.area(geom)) if geom is not None else float(self.piece_area[members].sum())
        self.projects.append(pr)
        return pr

    def partial(self, i: int, centre, target_m2: float):
        """Part of parcel ``i`` cut by a disc around ``centre``, of about ``target_m2``."""
        g = self.piece[i]
        lo, hi = 0.0, 2000.0
        pt = shapely.Point(centre)
        for _ in range(40):
            r = (lo + hi) / 2
            a = shapely.intersection(g, pt.buffer(r, quad_segs=12)).area
            lo, hi = (r, hi) if a < target_m2 else (lo, r)
        return _largest(shapely.intersection(g, pt.buffer(hi, quad_segs=12)))

    def build_projects(self) -> None:
        P, rng = self.P, self.rng
        c = P.col
        code, zk, fk, rep = c["DLBM"], c["zone_kind"], c["feat_kind"], c["rep"]
        plain, hill = zk == PLAIN, zk == HILL
        foot = hill & (c["depth"] < 170)
        passable = np.isin(fk, ("road", "ditch"))
        scattered_house = (fk == "patch") & (code == "0702")
        scattered_works = (fk == "patch") & (code == "0601")
        self.kz_pool = []  # (unit, members, ghdlbm, kcxs): 垦造耕地 added later to reach the gain target
        for u, unit in enumerate(self.units):
            inu = self.unit_of == u
            ctr = unit["centre"]
            kind = unit["kind"]
            if kind == "eco":
                hz = hill & inu & np.isin(code, ("0301", "0305", "0307", "0404")) & ~c["in_pbf"]
                restored = []
                pts = rep[hz]
                if len(pts):
                    far = pts[np.argmax(np.hypot(pts[:, 0] - ctr[0], pts[:, 1] - ctr[1]))]
                    for start in (far, ctr):
                        pr = self.add(u, "生态修复", "0301", self.grow(hz, start, 20e4))
                        if pr:
                            restored.append(pr)
                mine = hill & inu & (code == "1206")
                if mine.any():
                    self.add(u, "废弃矿山修复", "0301", np.flatnonzero(mine))
                rest_area = sum(p.area for p in restored)
                # 生态产业开发 on ~5% of the restored area (over the 3% the text allows: a demo mistake).
                spots = np.flatnonzero(foot & inu & ~self.taken & ~c["in_eco"] & np.isin(code, ("0307", "0204", "0201", "0404"))
                                       & (self.frac * self.plane_area > 0.055 * rest_area))
                if rest_area > 0 and len(spots):
                    i = spots[np.argmin(np.hypot(rep[spots, 0] - ctr[0], rep[spots, 1] - ctr[1]))]
                    part = self.partial(i, rep[i], 0.05 * rest_area)
                    self.add(u, "生态产业开发", "0810", [i], geom=part)
                kz = np.flatnonzero(foot & inu & np.isin(code, ("0201K", "0301K")) & ~self.taken)
                if len(kz):
                    self.kz_pool.append((u, list(kz), "0103", 0.05))
            if kind == "town":
                streets = np.isin(fk, ("street", "road", "ditch"))
                ind = inu & (zk == IND)
                if ind.any():
                    zc = rep[ind][np.argmin(np.hypot(rep[ind, 0] - ctr[0], rep[ind, 1] - ctr[1]))]
                    pr = self.add(u, "低效用地再开发", "0601", self.grow(ind & (code == "0601"), zc, 18e4, streets))
                    if pr:
                        # 零星用地: small plots in the fields touching the industrial zone (one over 3 亩).
                        zone_geom = _dissolve(P.geom[ind], c["township"][ind])
                        near = np.flatnonzero(self.near(zone_geom, 1.0, inu & plain & (fk == "cell") & ~c["in_pbf"]
                                                        & ~self.taken))
                        near = near[np.argsort(np.hypot(rep[near, 0] - zc[0], rep[near, 1] - zc[1]), kind="stable")]
                        targets = [1.6, 3.25, 2.4]
                        for i in near:
                            if not targets:
                                break
                            tgt = targets[0] * M2_PER_MU * (1 - 1.6e-4)  # plane m² for the ellipsoidal 亩
                            if self.piece_area[i] < tgt * 1.5:
                                continue
                            touch = shapely.get_coordinates(shapely.shortest_line(zone_geom, shapely.Point(rep[i])))[0]
                            part = self.partial(i, touch, tgt)
                            if shapely.intersects(part, zone_geom.buffer(0.5)):
                                self.add(u, "零星用地", "0601", [i], geom=part)
                                targets.pop(0)
                works = np.flatnonzero(inu & scattered_works)
                for k, i in enumerate(works[:3]):
                    self.add(u, "工业用地整治", "0301" if k == 1 else "0101", [i])
            # 拆旧: part of a village goes back to paddy; 安置: new houses on farmland beside a village.
            vills = [(shapely.intersection(v.geom, unit["geom"]).area, k, v) for k, v in enumerate(self.P.villages)
                     if v.geom.intersects(unit["geom"])]
            vills = [v for a_, _, v in sorted(vills, key=lambda t: (-t[0], t[1])) if a_ > 1.5e4]
            if vills and kind != "eco":
                streets = np.isin(fk, ("street", "road", "ditch"))
                v = vills[0]
                vcand = self.near(v.geom, 0.0, inu & (zk == VILLAGE) & (code == "0702"))
                pts = rep[vcand]
                if len(pts):
                    far = pts[np.argmax(np.hypot(pts[:, 0] - ctr[0], pts[:, 1] - ctr[1]))]
                    self.add(u, "农村建设用地复垦", "0101", self.grow(vcand, far, 5e4, streets))
                v = vills[-1]
                cand = self.near(v.geom, 250.0, inu & plain & (code == "0101"))
                first = np.flatnonzero(self.near(v.geom, 30.0, cand & c["in_pbf"]))
                start = rep[first[0]] if len(first) else np.array(v.centre)
                self.add(u, "农民集聚安置", "0702", self.grow(cand, start, 2.0e4, streets))
            # Every unit: farmland projects.
            self.add(u, "农村建设用地复垦", "0101", np.flatnonzero(inu & scattered_house & ~self.taken))
            if kind == "farm":
                works = np.flatnonzero(inu & scattered_works & ~self.taken)
                if len(works):
                    self.add(u, "工业用地整治", "0101", works)
            dry = inu & plain & np.isin(code, ("0103", "0102"))
            if dry.any():
                start = rep[dry][0]
                self.add(u, "旱改水", "0101", self.grow(dry & (code == "0103"), start, 12e4, passable))
            paddy = inu & plain & (code == "0101")
            n_hb = 2 if kind == "farm" else 1
            for _ in range(n_hb):
                ang = rng.uniform(0, 2 * math.pi)
                start = ctr + 0.45 * self.R * np.array([math.cos(ang), math.sin(ang)])
                self.add(u, "高标准农田建设", "0101", self.grow(paddy, start, 60e4 if kind == "farm" else 30e4, passable))
            if kind == "farm":
                self.add(u, "永久基本农田集中连片整治", "0101", self.grow(paddy & c["in_pbf"], ctr, 45e4, passable))
                self.add(u, "耕地提质改造", "0101", self.grow(paddy, ctr, 15e4, passable))
            kz = np.flatnonzero(inu & plain & np.isin(code, ("0404", "1206", "0201K", "0301K")) & ~self.taken)
            if len(kz):
                self.kz_pool.append((u, list(kz), "0101", None))
        self._reclaim_to_target()

    def farmland_figures(self, unit: int | None = None):
        """耕地 before/after inside the units (三调: TBDLMJ x share; projects set GHDLBM)."""
        c = self.P.col
        inu = self.unit_of >= 0 if unit is None else self.unit_of == unit
        farm = np.isin(c["DLBM"], FARMLAND)
        before = float((c["TBDLMJ"] * self.frac)[inu & farm].sum())
        in_proj = np.zeros(self.n, bool)
        after = 0.0
        for pr in self.projects:
            if unit is not None and pr.unit != unit:
                continue
            m = np.array(pr.members)
            share = (pr.area / float(self.piece_area[m].sum())) if pr.geom is not None else 1.0
            in_proj[m] = True
            if pr.ghdlbm in FARMLAND:
                tbmj = c["TBMJ"][m] * self.frac[m] * share
                if pr.kcxs is not None:
                    after += float((tbmj * (1 - pr.kcxs)).sum())
                else:
                    same = c["DLBM"][m] == pr.ghdlbm
                    after += float(np.where(same, c["TBDLMJ"][m] * self.frac[m] * share, tbmj).sum())
            if pr.geom is not None and share < 1:  # the rest of a partly used parcel keeps its class
                rest = m[farm[m]]
                after += float((c["TBDLMJ"][rest] * self.frac[rest] * (1 - share)).sum())
        after += float((c["TBDLMJ"] * self.frac)[inu & farm & ~in_proj].sum())
        return before, after

    def _reclaim_to_target(self) -> None:
        """Add 垦造耕地 projects, cluster by cluster, until each unit gains ~7% 耕地."""
        P = self.P
        passable = np.isin(P.col["feat_kind"], ("road", "ditch", "cell", "patch"))
        for u, members, gh, kc in self.kz_pool:
            cand = np.zeros(self.n, bool)
            cand[[m for m in members if not self.taken[m] and self.frac[m] > 0.999]] = True
            while cand.any():
                before, after = self.farmland_figures(u)
                need = NEW_FARMLAND_GAIN * before - (after - before)
                if need <= 0:
                    break
                grp = self.grow(cand, P.col["rep"][np.flatnonzero(cand)[0]], float(np.clip(need, 1e4, 8e4)), passable)
                if not grp:
                    break
                cand[grp] = False
                self.add(u, "垦造耕地", gh, grp, kcxs=kc)

    def footprint(self, pr: Project):
        if pr.geom is not None:
            return pr.geom
        m = np.array(pr.members)
        return _dissolve(self.piece[m], self.P.col["township"][m])

    # -- planned PBF -------------------------------------------------------------------------

    def plan_pbf(self, pbf_rows: list) -> list:
        """Baseline PBF minus what projects build on, plus new and adjacent farmland in the units."""
        P = self.P
        c = P.col
        outs = [pr for pr in self.projects if pr.ghdlbm not in FARMLAND and c["in_pbf"][pr.members].any()]
        out_union = _union([self.footprint(pr) for pr in outs])
        rows = []
        for geom, attrs in pbf_rows:
            if not out_union.is_empty and geom.intersects(out_union):
                geom = _union(_polygons(shapely.difference(geom, out_union)))
                if geom.is_empty or geom.area < 1.0:
                    continue
            rows.append((geom, dict(attrs)))
        out_members = np.array([m for pr in outs for m in pr.members if c["in_pbf"][m]], dtype=np.int64)
        g_out = c["GDDB"][out_members]
        g_out = int(g_out[g_out > 0].min()) if (g_out > 0).any() else 5
        ok_land = (c["zone_kind"] == PLAIN) & ~c["in_eco"] & ~c["in_udb"] & ~c["in_pbf"] & (self.unit_of >= 0)
        # 调入: existing plain farmland next to PBF blocks and of no lower grade than what goes
        # out, and new farmland from reclamation next to PBF; about 2.5 times what goes out.
        a, b = self.adj
        touches = np.zeros(self.n, bool)
        touches[a[c["in_pbf"][b]]] = True
        touches[b[c["in_pbf"][a]]] = True
        free = ~self.taken
        newland = np.zeros(self.n, bool)
        for pr in self.projects:
            if pr.ghdlbm in FARMLAND:
                free[pr.members] = True
                if pr.geom is None and pr.xmlx in ("垦造耕地", "农村建设用地复垦", "工业用地整治"):
                    newland[pr.members] = True
        whole = self.frac > 0.999
        rep = c["rep"]
        existing = np.flatnonzero(ok_land & touches & free & whole & np.isin(c["DLBM"], FARMLAND) & (c["GDDB"] > 0)
                                  & (c["GDDB"] <= g_out))
        existing = existing[np.lexsort((rep[existing, 0], -rep[existing, 1], c["GDDB"][existing]))]
        newland = np.flatnonzero(newland & ok_land & touches & whole)
        out_area = float(self.piece_area[out_members].sum()) if len(out_members) else 0.0
        cap = max(2.5 * out_area, 30 * M2_PER_MU)
        new_in = np.zeros(self.n, bool)
        total = 0.0
        for pool, limit in ((existing, 0.5 * cap), (newland, cap), (existing, cap)):
            for i in pool:
                if total >= limit:
                    break
                if not new_in[i]:
                    new_in[i] = True
                    total += self.piece_area[i]
        grp = np.flatnonzero(new_in)
        keys = np.column_stack([self.unit_of[grp], c["territory"][grp], np.isin(c["DLBM"][grp], FARMLAND)])
        _, inv = np.unique(keys, axis=0, return_inverse=True)
        for k in range(inv.max() + 1 if len(grp) else 0):
            members = grp[inv.ravel() == k]
            geom = _dissolve(self.piece[members], c["township"][members])
            existing = np.isin(c["DLBM"][members], FARMLAND).all()
            geom_row, attrs = _pbf_row(P, members, dlbm="0101" if not existing else None,
                                       gddb=None if existing else None, geom=geom)
            if not existing:
                attrs["GDDB"] = None  # new farmland, not graded yet
            rows.append((geom_row, attrs))
        self.pbf_in = grp
        return rows


# ----------------------------------------------------------------------------- layers and output

STR, REAL, INT = "s", "r", "i"
PBF_FIELDS = [("BSM", STR, 18), ("YSDM", STR, 10), ("DLBM", STR, 5), ("DLMC", STR, 60), ("ZLDWDM", STR, 19),
              ("XZQDM", STR, 9), ("GDDB", INT, 0), ("GDPDJB", STR, 2), ("MJ", REAL, 2)]
SCHEMA = {
    "XZQ": [("XZQDM", STR, 9), ("XZQMC", STR, 50)],
    "DLTB": [("BSM", STR, 18), ("YSDM", STR, 10), ("TBBH", STR, 8), ("DLBM", STR, 5), ("DLMC", STR, 60),
             ("QSXZ", STR, 2), ("QSDWDM", STR, 19), ("QSDWMC", STR, 255), ("ZLDWDM", STR, 19), ("ZLDWMC", STR, 255),
             ("TBMJ", REAL, 2), ("KCDLBM", STR, 5), ("KCXS", REAL, 4), ("KCMJ", REAL, 2), ("TBDLMJ", REAL, 2),
             ("GDLX", STR, 2), ("GDPDJB", STR, 2), ("GDDB", INT, 0), ("ZZSXDM", STR, 6), ("CZCSXM", STR, 4)],
    "YJJBNTTB": PBF_FIELDS,
    "STBHHX": [("BSM", STR, 18), ("HXMC", STR, 100), ("HXLX", STR, 50), ("MJ", REAL, 2)],
    "CZKFBJ": [("BSM", STR, 18), ("XZQDM", STR, 9), ("CZKFBJLX", STR, 20), ("MJ", REAL, 2)],
    "DY": [("DYBH", STR, 10), ("DYMC", STR, 100), ("PQMC", STR, 100), ("RWLX", STR, 100)],
    "XM": [("XMBH", STR, 12), ("XMMC", STR, 100), ("XMLX", STR, 20), ("GHDLBM", STR, 5), ("GHDLMC", STR, 60),
           ("KCXS", REAL, 4), ("TZ", REAL, 2), ("KSNF", INT, 0), ("JSNF", INT, 0), ("DYBH", STR, 10)],
    "YJJBNTTB_GH": PBF_FIELDS,
}


def _with_area(rows: list, bsm_prefix: str = COUNTY) -> list:
    """Drop empty rows, number them (BSM) and give each its ellipsoidal MJ."""
    rows = [(g, a) for g, a in rows if g is not None and not g.is_empty]
    if not rows:
        return rows
    mj = np.round(ellipsoidal_area([g for g, _ in rows]), 2)
    out = []
    for k, ((g, a), m) in enumerate(zip(rows, mj)):
        a = dict(a)
        a.setdefault("BSM", f"{a.get('XZQDM', bsm_prefix)}{k + 1:07d}")
        a["MJ"] = float(m)
        a.setdefault("YSDM", "2001010300")
        out.append((g, a))
    return out


def _layers(P: Parcels, land: Landscape, lines: dict, draft: Draft) -> dict:
    c = P.col
    rng = np.random.default_rng([land.seed, 7])
    layers = {}
    layers["XZQ"] = [(t["geom"], {"XZQDM": t["code"], "XZQMC": t["name"]}) for t in land.townships]
    dltb = {f: c[f] for f, _, _ in SCHEMA["DLTB"]}
    dltb["GDDB"] = np.array([None if g < 0 else int(g) for g in c["GDDB"]], dtype=object)
    layers["YJJBNTTB"] = _with_area(lines["pbf"])
    layers["STBHHX"] = [(g, dict(a, BSM=f"{COUNTY}HX{k + 1:04d}")) for k, (g, a) in enumerate(lines["eco"])]
    layers["STBHHX"] = _with_area(layers["STBHHX"])
    layers["CZKFBJ"] = _with_area([(g, dict(a, BSM=f"{a['XZQDM']}KF{k + 1:03d}"))
                                   for k, (g, a) in enumerate(lines["udb"])])
    for _, a in layers["STBHHX"] + layers["CZKFBJ"]:
        a.pop("YSDM", None)

    # Units and projects.
    town_names = [t["name"] for t in land.townships]
    in_units = sorted({int(t) for t in c["township"][draft.unit_of >= 0]})
    shorts = [town_names[t][:-1] for t in in_units]
    pqmc = ("—".join(shorts[:2]) if len(shorts) <= 3 else f"{shorts[0]}等{len(shorts)}镇") + "全域国土空间综合整治片区"
    dy, xm = [], []
    by_unit = {}
    for pr in draft.projects:
        by_unit.setdefault(pr.unit, []).append(pr)
    for u, unit in enumerate(draft.units):
        dybh = f"DY{u + 1:02d}"
        inu = np.flatnonzero(draft.unit_of == u)
        terr = c["territory"][inu]
        main_t = P.territories[int(np.bincount(terr, weights=draft.piece_area[inu]).argmax())]
        tshort = land.townships[main_t["township"]]["name"][:-1]
        vshort = main_t["name"][:-1]
        if unit["kind"] == "eco":
            hills = c["hill"][inu]
            hills = hills[hills >= 0]
            hn = land.hills[int(np.bincount(hills).argmax())].name if len(hills) else vshort
            name = f"{hn}生态保护修复整治单元"
        elif unit["kind"] == "town":
            name = f"{tshort}产城融合整治单元"
        else:
            name = f"{tshort}{vshort}农田集中连片整治单元"
        projects = by_unit.get(u, [])
        tasks = [t for t in TASK_ORDER if any(TASK[p.xmlx] == t for p in projects)]
        dy.append((unit["geom"], {"DYBH": dybh, "DYMC": name, "PQMC": pqmc, "RWLX": ",".join(tasks)}))
        seen = {}
        for k, pr in enumerate(projects):
            m = np.array(pr.members)
            vt = P.territories[int(np.bincount(c["territory"][m], weights=draft.piece_area[m]).argmax())]
            base = f"{vt['name']}{pr.xmlx}"
            seen[base] = seen.get(base, 0) + 1
            geom = draft.footprint(pr)
            ha = pr.area / 1e4
            start = int(2023 + rng.integers(0, 3))
            xm.append((geom, {
                "XMBH": f"{dybh}-{k + 1:02d}", "XMMC": base + "项目", "XMLX": pr.xmlx, "GHDLBM": pr.ghdlbm,
                "GHDLMC": DLMC[pr.ghdlbm], "KCXS": pr.kcxs, "TZ": round(ha * COST[pr.xmlx] * rng.uniform(0.85, 1.15), 2),
                "KSNF": start, "JSNF": int(min(2027, start + rng.integers(1, 3))), "DYBH": dybh}))
        # Repeated names get 一期/二期.
        counts = {}
        for _, a in xm[len(xm) - len(projects):]:
            base = a["XMMC"][:-2]
            if seen.get(base, 0) > 1:
                counts[base] = counts.get(base, 0) + 1
                a["XMMC"] = f"{base}{'一二三四五六七八九十'[min(counts[base], 10) - 1]}期项目"
    layers["DY"] = dy
    layers["XM"] = xm
    layers["YJJBNTTB_GH"] = _with_area(draft.plan_pbf(lines["pbf"]))
    order = ["XZQ", "DLTB", "YJJBNTTB", "STBHHX", "CZKFBJ", "DY", "XM", "YJJBNTTB_GH"]
    tables = {k: _table(layers[k]) for k in order if k != "DLTB"}
    tables["DLTB"] = (P.geom, dltb)
    return {k: tables[k] for k in order}


def _table(rows: list):
    """(geometries, {field: values}) from [(geometry, {field: value})]."""
    geoms = np.array([g for g, _ in rows], dtype=object)
    names = {k for _, a in rows for k in a}
    return geoms, {k: [a.get(k) for _, a in rows] for k in sorted(names)}


def _write(path: str, layers: dict) -> None:
    from osgeo import ogr, osr

    driver = ogr.GetDriverByName("GPKG")
    if os.path.exists(path):
        driver.DeleteDataSource(path)
    ds = driver.CreateDataSource(path)
    if ds is None:
        raise OSError(f"cannot create {path}")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    types = {STR: ogr.OFTString, REAL: ogr.OFTReal, INT: ogr.OFTInteger}
    for name, (geoms, cols) in layers.items():
        fields = SCHEMA[name]
        lyr = ds.CreateLayer(name, srs, ogr.wkbMultiPolygon, options=["FID=fid", "GEOMETRY_NAME=geom"])
        for fname, kind, width in fields:
            fd = ogr.FieldDefn(fname, types[kind])
            if kind == STR:
                fd.SetWidth(width)
            lyr.CreateField(fd)
        defn = lyr.GetLayerDefn()
        index = [(defn.GetFieldIndex(f), cols.get(f, [None] * len(geoms)), k) for f, k, _ in fields]
        lyr.StartTransaction()
        for row, geom in enumerate(geoms):
            feat = ogr.Feature(defn)
            for i, values, kind in index:
                v = values[row]
                if v is None:
                    feat.SetFieldNull(i)
                elif kind == STR:
                    feat.SetField(i, str(v))
                elif kind == REAL:
                    feat.SetField(i, float(v))
                else:
                    feat.SetField(i, int(v))
            geom = shapely.normalize(geom)
            mp = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
            feat.SetGeometryDirectly(ogr.CreateGeometryFromWkb(shapely.to_wkb(mp)))
            lyr.CreateFeature(feat)
        lyr.CommitTransaction()
    ds = None


def generate(path, n_parcels: int = 3000, seed: int = 2022, verbose: bool = False) -> dict:
    """Write the sample GeoPackage to ``path``; return {layer: feature count}."""
    t0 = time.time()

    def say(msg):
        if verbose:
            print(f"[{time.time() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    land = build_landscape(int(n_parcels), int(seed))
    say(f"landscape: {len(land.townships)} townships, {len(land.hills)} hills, {len(land.towns)} town zones")
    P = build_parcels(land)
    say(f"parcels: {len(P.geom)}")
    _attributes(P, land)
    say("attributes")
    adj = _adjacency(P.geom)
    lines = _three_lines(P, land, adj)
    say("三区三线")
    draft = Draft(P, land, adj)
    draft.place_units()
    draft.build_projects()
    say(f"draft: {len(draft.units)} units, {len(draft.projects)} projects")
    layers = _layers(P, land, lines, draft)
    # Unit cut lines and partial project footprints cross parcel edges at new vertices:
    # give them to every polygon along those edges.
    names = list(layers)
    sources = [P.col["township"] if name == "DLTB" else np.full(len(layers[name][0]), 1000 * (k + 1))
               for k, name in enumerate(names)]
    seams = shapely.boundary(np.concatenate([layers["DY"][0], layers["XM"][0]]))
    shared = _share_near([layers[name][0] for name in names], sources, seams)
    layers = {name: (geoms, layers[name][1]) for name, geoms in zip(names, shared)}
    say("vertices shared")
    _write(str(path), layers)
    say("written")
    return {name: len(geoms) for name, (geoms, _) in layers.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate the sample 片区 GeoPackage (deterministic).")
    parser.add_argument("--parcels", type=int, default=3000, help="number of DLTB parcels (about; default 3000)")
    parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
    parser.add_argument("--out", default="sample_pianqu.gpkg", help="output GeoPackage path")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.time()
    counts = generate(args.out, args.parcels, args.seed, verbose=not args.quiet)
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
