"""A planner's draft scheme: units (DY), 子项目 (XM) and the planned PBF (YJJBNTTB_GH).

Units are 3-8 km², mostly bounded by roads and rivers, with one straight cut through
fields each, of three kinds - farmland, town edge, hill. Projects lie on whole parcels
inside a unit: 高标准农田建设, 旱改水, 农村建设用地复垦, 农民集聚安置, 工业用地整治,
低效用地再开发 with 零星用地, 生态修复, 生态产业开发, then 垦造耕地 added until each
unit gains ~7 % 耕地. YJJBNTTB_GH is the baseline PBF minus 安置, plus adjacent and new
farmland. The draft passes the Ningbo rules except two deliberate mistakes for the demo:
one 零星用地 of 3.25 亩, and 生态产业开发 at 5 % of 生态修复.

The project types are the ruleset's (``engine.RULESET``); all draws come from the
generator seeded with (seed, 6).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from . import geometry as geo
from .controls import pbf_row
from .engine import FARMLAND, RULESET, SQUARE_METRES_PER_MU
from .landscape import HILL, IND, PLAIN, VILLAGE, Landscape, scale
from .survey import Parcels

COST = {  # 万元 per hectare of each 子项目类型 of the ruleset, rough Zhejiang figures
    "垦造耕地": 55.0, "耕地提质改造": 15.0, "旱改水": 30.0, "高标准农田建设": 4.5, "永久基本农田集中连片整治": 6.0,
    "农村建设用地复垦": 90.0, "农民集聚安置": 900.0, "城中村改造": 1200.0, "生态修复": 8.0, "生态产业开发": 150.0,
    "废弃矿山修复": 30.0, "工业用地整治": 150.0, "低效用地再开发": 600.0, "零星用地": 300.0, "特色任务": 20.0,
}
if set(COST) != set(RULESET.all_project_types):
    raise ValueError("COST and the ruleset's 子项目类型 differ: "
                     f"{sorted(set(COST) ^ set(RULESET.all_project_types))}")
NEW_FARMLAND_GAIN = 0.07  # the draft aims at +7% 耕地 inside the units (rule: >= 5%)


@dataclass
class Project:
    """A 子项目 (XM row): its type, planned class and the parcels it is made of."""

    unit: int
    xmlx: str
    ghdlbm: str
    members: list
    kcxs: float | None = None
    geom: object = None  # footprint when it is not the members' whole pieces
    area: float = 0.0  # plane m² of the footprint


class Draft:
    """Units, projects and planned PBF drawn on the parcels (a planner's first draft)."""

    def __init__(self, P: Parcels, land: Landscape, adj: tuple) -> None:
        self.P, self.land = P, land
        self.rng = np.random.default_rng([land.seed, 6])
        self.n = len(P.geom)
        self.indptr, self.nbr = geo.csr(self.n, *adj)
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
        """Units of three kinds (town edge, hill, farmland) around chosen centres, cut by a straight line."""
        P, land, rng = self.P, self.land, self.rng
        c = P.col
        sc = scale(land.n)
        n_units = 3 if sc["n_town"] <= 3 else sc["n_town"]
        area = land.width * land.height
        R = min(1250.0, 0.8 * math.sqrt(area / n_units / math.pi))
        self.R = R
        rep = c["rep"]
        fk = c["feat_kind"]
        corridor = np.isin(fk, ("river", "highway", "road", "ditch", "street", "reservoir"))
        a, b = self.adj
        keep = ~corridor[a] & ~corridor[b]
        block = geo.components(self.n, a[keep], b[keep])
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
        inner = geo.union([t["geom"].boundary for t in land.townships]).difference(land.domain.boundary.buffer(1))
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
            geom = geo.largest(geo.dissolve(P.geom[sel], c["township"][sel]))
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
            geom = geo.largest(shapely.intersection(geom, geo.round_mm(shapely.Polygon(ring))))
            self.units.append({"geom": geom, "kind": kind, "centre": p})
        self._pieces()

    def _pieces(self) -> None:
        """What of each parcel lies in a unit (piece, share of the parcel)."""
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
                pieces[cut] = [geo.union(geo.polygons(x)) for x in shapely.intersection(P.geom[idx[cut]], g)]
            area = shapely.area(pieces)
            ok = area > 1.0
            idx, pieces, area = idx[ok], pieces[ok], area[ok]
            self.unit_of[idx] = u
            self.piece[idx] = pieces
            self.frac[idx] = area / self.plane_area[idx]
        self.piece_area = self.frac * self.plane_area

    # -- projects ----------------------------------------------------------------------------

    def near(self, geom: shapely.Geometry, dist: float, mask: np.ndarray) -> np.ndarray:
        """``mask`` restricted to parcels within ``dist`` of ``geom``."""
        idx = np.flatnonzero(mask)
        out = np.zeros(self.n, bool)
        out[idx[shapely.dwithin(geom, self.P.geom[idx], dist)]] = True
        return out

    def grow(self, cand: np.ndarray, start, target: float, passable: np.ndarray | None = None) -> list:
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

    def add(self, unit: int, xmlx: str, ghdlbm: str, members, kcxs: float | None = None,
            geom: shapely.Geometry | None = None) -> Project | None:
        """A project on the untaken parcels of ``members`` that lie wholly in the unit (None if none do)."""
        # Only parcels wholly inside the unit: a footprint never reuses a cut made by the unit edge.
        members = [int(m) for m in members if not self.taken[m] and self.frac[m] > 0.999]
        if not members:
            return None
        self.taken[members] = True
        pr = Project(unit, xmlx, ghdlbm, members, kcxs, geom)
        pr.area = float(shapely.area(geom)) if geom is not None else float(self.piece_area[members].sum())
        self.projects.append(pr)
        return pr

    def partial(self, i: int, centre, target_m2: float) -> shapely.Geometry:
        """Part of parcel ``i`` cut by a disc around ``centre``, of about ``target_m2``."""
        g = self.piece[i]
        lo, hi = 0.0, 2000.0
        pt = shapely.Point(centre)
        for _ in range(40):
            r = (lo + hi) / 2
            a = shapely.intersection(g, pt.buffer(r, quad_segs=12)).area
            lo, hi = (r, hi) if a < target_m2 else (lo, r)
        return geo.largest(shapely.intersection(g, pt.buffer(hi, quad_segs=12)))

    def build_projects(self) -> None:
        """The projects of every unit, by its kind, then 垦造耕地 up to the farmland gain."""
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
                        zone_geom = geo.dissolve(P.geom[ind], c["township"][ind])
                        near = np.flatnonzero(self.near(zone_geom, 1.0, inu & plain & (fk == "cell") & ~c["in_pbf"]
                                                        & ~self.taken))
                        near = near[np.argsort(np.hypot(rep[near, 0] - zc[0], rep[near, 1] - zc[1]), kind="stable")]
                        targets = [1.6, 3.25, 2.4]
                        for i in near:
                            if not targets:
                                break
                            tgt = targets[0] * SQUARE_METRES_PER_MU * (1 - 1.6e-4)  # plane m² for the ellipsoidal 亩
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

    def farmland_figures(self, unit: int) -> tuple[float, float]:
        """耕地 before/after inside a unit (三调: TBDLMJ x share; projects set GHDLBM)."""
        c = self.P.col
        inu = self.unit_of == unit
        farm = np.isin(c["DLBM"], FARMLAND)
        before = float((c["TBDLMJ"] * self.frac)[inu & farm].sum())
        in_proj = np.zeros(self.n, bool)
        after = 0.0
        for pr in self.projects:
            if pr.unit != unit:
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

    def footprint(self, pr: Project) -> shapely.Geometry:
        """The project's geometry: its own footprint, or its parcels' pieces dissolved."""
        if pr.geom is not None:
            return pr.geom
        m = np.array(pr.members)
        return geo.dissolve(self.piece[m], self.P.col["township"][m])

    # -- planned PBF -------------------------------------------------------------------------

    def plan_pbf(self, pbf_rows: list) -> list:
        """Baseline PBF minus what projects build on, plus new and adjacent farmland in the units."""
        P = self.P
        c = P.col
        outs = [pr for pr in self.projects if pr.ghdlbm not in FARMLAND and c["in_pbf"][pr.members].any()]
        out_union = geo.union([self.footprint(pr) for pr in outs])
        rows = []
        for geom, attrs in pbf_rows:
            if not out_union.is_empty and geom.intersects(out_union):
                geom = geo.union(geo.polygons(shapely.difference(geom, out_union)))
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
        cap = max(2.5 * out_area, 30 * SQUARE_METRES_PER_MU)
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
            geom = geo.dissolve(self.piece[members], c["township"][members])
            existing = np.isin(c["DLBM"][members], FARMLAND).all()
            geom_row, attrs = pbf_row(P, members, dlbm="0101" if not existing else None, geom=geom)
            if not existing:
                attrs["GDDB"] = None  # new farmland, not graded yet
            rows.append((geom_row, attrs))
        return rows
