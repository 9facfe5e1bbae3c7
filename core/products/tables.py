"""Standard tables of a 单元方案, each a group-by over the flows of the check's pieces.

- 土地利用结构调整表 (``land_use_structure``): before/after/change by 三调 class, first-level
  group and 农用地/建设用地/未利用地, per unit and for the scheme; 田坎 (1203, the KCXS
  deduction) is its own row, as in 三调 statistics.

Areas stay in m² in the frames; the callers format 亩/公顷.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..common.i18n import tr
from ..geometry.measure import to_hectares, to_mu
from ..rules.landclasses import AGRICULTURAL, CONSTRUCTION, UNKNOWN, UNUSED, LandClasses, base_code

SCHEME_SCOPE_ID = ""
LEVEL_CLASS = "二级类"
LEVEL_GROUP = "一级类"
LEVEL_THREE_WAY = "三大类"
LEVEL_TOTAL = "合计"
THREE_WAY_ORDER = (AGRICULTURAL, CONSTRUCTION, UNUSED, UNKNOWN)


def _class_order(code: str) -> tuple[str, str, str]:
    base = base_code(code)
    return (base[:2] if base else "99", base, code)


def land_use_structure(flow: pd.DataFrame, classes: LandClasses,
                       scopes: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Long table: one row per (scope, level, code) with before/after/change in m², 亩, 公顷 and shares.

    ``scopes`` maps scope ids to a boolean mask over ``flow`` rows; by default one scope per
    unit plus the whole scheme ("").
    """
    if scopes is None:
        scopes = {SCHEME_SCOPE_ID: np.ones(len(flow), dtype=bool)}
        for unit_id in sorted(set(flow["unit_id"])):
            scopes[unit_id] = (flow["unit_id"] == unit_id).to_numpy()
    frames = [_structure_for(flow[mask], classes, scope_id) for scope_id, mask in scopes.items()]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _structure_for(flow: pd.DataFrame, classes: LandClasses, scope_id: str) -> pd.DataFrame:
    before = flow.groupby("from")["m2"].sum()
    after = flow.groupby("to")["m2"].sum()
    codes = sorted(set(before.index) | set(after.index), key=_class_order)
    rows = []
    for code in codes:
        rows.append({"level": LEVEL_CLASS, "code": code, "name": classes.name(code) if code else tr("未知"),
                     "group": classes.group_code(code), "three_way": classes.three_way(code),
                     "before_m2": float(before.get(code, 0.0)), "after_m2": float(after.get(code, 0.0))})
    detail = pd.DataFrame(rows, columns=["level", "code", "name", "group", "three_way", "before_m2", "after_m2"])
    out = []
    for three_way in THREE_WAY_ORDER:
        members = detail[detail["three_way"] == three_way]
        if members.empty:
            continue
        out.append({"level": LEVEL_THREE_WAY, "code": "", "name": three_way, "before_m2": members["before_m2"].sum(),
                    "after_m2": members["after_m2"].sum()})
        for group, in_group in members.groupby("group", sort=True):
            out.append({"level": LEVEL_GROUP, "code": group, "name": classes.groups.get(group, tr("未知")),
                        "before_m2": in_group["before_m2"].sum(), "after_m2": in_group["after_m2"].sum()})
            out.extend(in_group[["level", "code", "name", "before_m2", "after_m2"]].to_dict("records"))
    out.append({"level": LEVEL_TOTAL, "code": "", "name": tr("合计"), "before_m2": detail["before_m2"].sum(),
                "after_m2": detail["after_m2"].sum()})
    table = pd.DataFrame(out)
    total_before = table.loc[table["level"] == LEVEL_TOTAL, "before_m2"].iloc[0]
    total_after = table.loc[table["level"] == LEVEL_TOTAL, "after_m2"].iloc[0]
    table["change_m2"] = table["after_m2"] - table["before_m2"]
    for prefix in ("before", "after", "change"):
        table[f"{prefix}_mu"] = to_mu(table[f"{prefix}_m2"])
        table[f"{prefix}_ha"] = to_hectares(table[f"{prefix}_m2"])
    table["before_share"] = table["before_m2"] / total_before * 100 if total_before > 0 else 0.0
    table["after_share"] = table["after_m2"] / total_after * 100 if total_after > 0 else 0.0
    table.insert(0, "scope_id", scope_id)
    table.insert(0, "scope", "scheme" if scope_id == SCHEME_SCOPE_ID else "unit")
    return table


def transitions_long(flow: pd.DataFrame, classes: LandClasses, changed_only: bool = False) -> pd.DataFrame:
    """地类流向 as rows (scope, from, to, m²), per unit and for the scheme."""
    frames = []
    for scope_id, rows in [(SCHEME_SCOPE_ID, flow)] + [(u, flow[flow["unit_id"] == u])
                                                        for u in sorted(set(flow["unit_id"]))]:
        grouped = rows.groupby(["from", "to"], sort=False)["m2"].sum().reset_index()
        if changed_only:
            grouped = grouped[grouped["from"] != grouped["to"]]
        grouped.insert(0, "scope_id", scope_id)
        grouped.insert(0, "scope", "scheme" if scope_id == SCHEME_SCOPE_ID else "unit")
        frames.append(grouped)
    table = pd.concat(frames, ignore_index=True)
    table["from_name"] = [classes.name(c) if c else tr("未知") for c in table["from"]]
    table["to_name"] = [classes.name(c) if c else tr("未知") for c in table["to"]]
    table["mu"] = to_mu(table["m2"])
    keys = [(scope != "scheme", scope_id, _class_order(a), _class_order(b))
            for scope, scope_id, a, b in zip(table["scope"], table["scope_id"], table["from"], table["to"])]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return table.iloc[order].reset_index(drop=True)
