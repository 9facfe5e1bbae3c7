"""三区三线, the control lines, dissolved from whole parcels so that they never overlap.

* CZKFBJ (城镇开发边界): the town and industrial zones (城镇集中建设区), with a
  城镇弹性发展区 ring and a 特别用途区 strip of the plain around each town.
* STBHHX (生态保护红线): the hill forest away from the foot, and the reservoirs.
* YJJBNTTB (永久基本农田): about 78 % of the remaining plain 耕地, whole parcels, dissolved
  per 行政村 block and cut into features of 1-30 ha.

All draws come from the generator seeded with (seed, 5).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import STRtree

from . import geometry as geo
from .engine import CLASSES, FARMLAND
from .landscape import IND, PLAIN, TOWN, Landscape
from .survey import Parcels

HILL_NAMES = ["凤凰山", "龙泉山", "青峰山", "白云山", "马鞍山", "狮子山", "大岚山", "鹰嘴岩", "翠屏山", "石门山"]


def control_lines(P: Parcels, land: Landscape, adj: tuple) -> dict:
    """Rows (geometry, attributes) of the three lines {"udb", "eco", "pbf"}; marks in_udb/in_eco/in_pbf."""
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
        udb_rows.append((geo.dissolve(P.geom[sel], town[sel]), {"XZQDM": land.townships[ti]["code"],
                                                                "CZKFBJLX": "城镇集中建设区"}))
    towns = [z for z in land.towns if z.kind == TOWN]
    rep_points = shapely.points(rep)
    rep_tree = STRtree(rep_points)
    for z in towns:
        zone = geo.union([zz.geom for zz in land.towns if zz.geom.distance(z.geom) < 200])
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
                udb_rows.append((geo.dissolve(P.geom[s2], town[s2]), {"XZQDM": land.townships[ti]["code"],
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
            eco_rows.append((geo.dissolve(P.geom[sel], town[sel]), {"HXMC": f"{name}生物多样性维护生态保护红线",
                                                                 "HXLX": "生物多样性维护"}))
        sel = mine & (code == "1103")
        if sel.any():
            in_eco |= sel
            eco_rows.append((geo.dissolve(P.geom[sel], town[sel]), {"HXMC": f"{name}水库水源涵养生态保护红线",
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
    pbf_rows, pbf_feature = _pbf_features(P, pbf, adj)
    c["in_pbf"] = pbf_feature >= 0
    return {"udb": udb_rows, "eco": eco_rows, "pbf": pbf_rows}


def _pbf_features(P: Parcels, pbf: np.ndarray, adj: tuple, max_ha: float = 30.0,
                  min_ha: float = 1.0) -> tuple[list, np.ndarray]:
    """Dissolve PBF parcels per block (same village) and cut blocks into features of 1-30 ha."""
    c = P.col
    n = len(P.geom)
    a, b = adj
    keep = pbf[a] & pbf[b] & (c["territory"][a] == c["territory"][b])
    label = geo.components(n, a[keep], b[keep])
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
            rows.append(pbf_row(P, grp))
            feature_of[grp] = len(rows) - 1
    return rows, feature_of


def pbf_row(P: Parcels, grp: np.ndarray, dlbm: str | None = None, geom: shapely.Geometry | None = None) -> tuple:
    """A YJJBNTTB row for parcels ``grp``: the main class (unless ``dlbm``), 行政村 and area-weighted grade."""
    c = P.col
    area = c["TBMJ"][grp]
    codes = c["DLBM"][grp]
    if dlbm is None:
        uniq = sorted(set(codes))
        dlbm = max(uniq, key=lambda u: area[codes == u].sum())
    g = c["GDDB"][grp]
    ok = g > 0
    gddb = int(round(float(np.average(g[ok], weights=area[ok])))) if ok.any() else None
    terr = c["territory"][grp]
    t = max(set(terr), key=lambda k: area[terr == k].sum())
    geom = geo.dissolve(P.geom[grp], c["township"][grp]) if geom is None else geom
    return (geom, {"DLBM": dlbm, "DLMC": CLASSES.name(dlbm), "ZLDWDM": P.territories[t]["code"],
                   "XZQDM": P.territories[t]["code"][:9], "GDDB": gddb, "GDPDJB": "1"})

