"""DLTB, the land-use survey: the townships' parcels assembled, named and given 三调 attributes.

Territories become 行政村 (ZLDWDM/ZLDWMC: 社区 for town seats, villages otherwise),
parcels are numbered in reading order (BSM per township, TBBH per 行政村), vertices
are shared across township seams, and every parcel gets the 三调 fields: TBMJ as the
ellipsoidal area, KCXS from a per-township table by slope class (KCMJ booked to the
engine's deduction class), 耕地 grade and slope (GDDB, GDPDJB, GDLX), ZZSXDM and
QSXZ/QSDWDM (state land for 公路, rivers, reservoirs, towns and industry).
DLMC and the 耕地 classes are the engine's (``engine.py``). Draws come from generators
seeded with (seed, 2), (seed, 3, township) for names and (seed, 4, township) for KCXS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from . import geometry as geo
from .engine import ADJUSTABLE_SUFFIX, CLASSES, FARMLAND
from .geometry import Rng
from .landscape import HILL, IND, PLAIN, TOWN, Landscape
from .seams import share_near
from .township import build_township

VILLAGE_FIRST = ["东", "西", "南", "北", "上", "下", "前", "后", "新", "大", "小", "徐", "陈", "王", "张", "周", "沈",
                 "胡", "朱", "施", "邵", "毛", "史", "姚", "黄", "叶", "方", "魏", "潘", "杨", "罗", "谢", "金", "蒋"]
VILLAGE_SECOND = ["家岙", "家桥", "塘", "埠", "墩", "浦", "湾", "堰", "家店", "庄", "岭下", "山头", "溪口", "河头",
                  "港口", "桥头", "洋", "江", "家弄", "家门"]


def _village_names(count: int, rng: Rng) -> list:
    """``count`` different made-up 行政村 names."""
    pool = [a + b for a in VILLAGE_FIRST for b in VILLAGE_SECOND]
    idx = rng.choice(len(pool), size=count, replace=False)
    return [pool[i] + "村" for i in idx]


@dataclass
class Parcels:
    """DLTB: parcel geometries, their columns (labels, then 三调 fields) and the 行政村 and villages."""

    geom: np.ndarray
    col: dict
    territories: list
    villages: list


def build_parcels(land: Landscape) -> Parcels:
    """The parcels of every township, with 行政村 codes and names, in reading order."""
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
    geom, tgeoms = share_near([geom, tgeoms], [col["township"], 1000 + np.arange(len(tgeoms))], seams)
    for t, g in zip(land.townships, tgeoms):
        t["geom"] = g
    col["rep"] = shapely.get_coordinates(shapely.point_on_surface(geom))
    return Parcels(geom, col, terrs, villages)


def add_survey_attributes(P: Parcels, land: Landscape) -> None:
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
    kcoded = np.array([cd.endswith(ADJUSTABLE_SUFFIX) for cd in code])
    for i in range(n):
        t = kc_table[town[i]]
        if farm[i]:
            kcxs[i] = t[int(slope[i])] if hill[i] else (t["0101"] if code[i] == "0101" else t["dry"])
        elif garden_forest[i] and hill[i] and depth[i] < 170:
            kcxs[i] = t[f"g{slope[i]}"]
        elif kcoded[i]:
            kcxs[i] = t["K"]
    kcxs = np.round(kcxs, 4)

    tbmj = np.round(geo.ellipsoidal_area(P.geom), 2)
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
        "DLMC": np.array([CLASSES.name(cd) for cd in code], dtype=object),
        "QSXZ": np.where(state, "20", "30").astype(object),
        "QSDWDM": np.where(state, xzq + "0000000000", zl).astype(object),
        "QSDWMC": np.where(state, xzqmc, zlmc + "农民集体").astype(object),
        "ZLDWDM": zl, "ZLDWMC": zlmc,
        "TBMJ": tbmj, "KCDLBM": np.where(kcxs > 0, CLASSES.deduction_class, "").astype(object), "KCXS": kcxs, "KCMJ": kcmj,
        "TBDLMJ": tbdlmj, "GDLX": gdlx, "GDPDJB": gdpdjb, "GDDB": gddb, "ZZSXDM": zzsxdm,
        "CZCSXM": c["czcsxm"], "XZQDM": xzq,
    })
