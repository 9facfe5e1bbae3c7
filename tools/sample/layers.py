"""The attribute tables of the eight layers, from the survey, the control lines and the draft.

Control-line features are numbered (BSM) and measured (MJ, ellipsoidal); units are
named after their hill, township or village and list their 5+X tasks (RWLX, in the
ruleset's order); projects get names (一期/二期 when repeated), a cost (TZ) and years.
All draws come from the generator seeded with (seed, 7).
"""

from __future__ import annotations

import numpy as np

from . import geometry as geo
from .engine import CLASSES, RULESET
from .gpkg import SCHEMA
from .landscape import COUNTY, Landscape
from .scheme import COST, Draft
from .survey import Parcels


def _with_area(rows: list, bsm_prefix: str = COUNTY) -> list:
    """Drop empty rows, number them (BSM) and give each its ellipsoidal MJ."""
    rows = [(g, a) for g, a in rows if g is not None and not g.is_empty]
    if not rows:
        return rows
    mj = np.round(geo.ellipsoidal_area([g for g, _ in rows]), 2)
    out = []
    for k, ((g, a), m) in enumerate(zip(rows, mj)):
        a = dict(a)
        a.setdefault("BSM", f"{a.get('XZQDM', bsm_prefix)}{k + 1:07d}")
        a["MJ"] = float(m)
        a.setdefault("YSDM", "2001010300")
        out.append((g, a))
    return out


def build_layers(P: Parcels, land: Landscape, lines: dict, draft: Draft) -> dict:
    """{layer: (geometries, {field: values})} of the eight layers, in the GeoPackage's order."""
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
        tasks = [t for t in RULESET.project_types if any(RULESET.task_of(p.xmlx) == t for p in projects)]
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
                "GHDLMC": CLASSES.name(pr.ghdlbm), "KCXS": pr.kcxs,
                "TZ": round(ha * COST[pr.xmlx] * rng.uniform(0.85, 1.15), 2),
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


def _table(rows: list) -> tuple[np.ndarray, dict]:
    """(geometries, {field: values}) from [(geometry, {field: value})]."""
    geoms = np.array([g for g, _ in rows], dtype=object)
    names = {k for _, a in rows for k in a}
    return geoms, {k: [a.get(k) for _, a in rows] for k in sorted(names)}

