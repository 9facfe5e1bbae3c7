"""永久基本农田调出调入台账 (``pbfadjustment``): every 调出/调入 piece per unit, township and 地类图斑,
with its quality (耕地等别, 坡度级别), and the township totals against the cap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..analysis.indicators import Indicators
from ..analysis.pieces import dissolve_pieces
from ..common.i18n import tr, translatable
from ..geometry.measure import to_mu

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


@dataclass
class Ledger:
    table: pd.DataFrame  # direction, unit_id, township, bsm, dlbm, dlmc, gddb, gdpdjb, area_m2, area_mu
    geoms: np.ndarray  # overlay CRS
    townships: pd.DataFrame
    quality: dict[str, dict[str, float | None]]  # direction -> area_mu, mean_gddb (None: no 等别), unknown_mu


ADJUSTED_OUT = translatable("调出")
ADJUSTED_IN = translatable("调入")


def pbf_ledger(ind: Indicators, cap_percent: float | None) -> Ledger:
    """Every 调出/调入 piece (per unit, township and 地类图斑) with its quality, and township totals."""
    t = ind.pieces.table
    parcels = ind.baseline.parcel_table
    classes = ind.baseline.classes
    before, after = t["in_pbf"].to_numpy(bool), t["in_pbf_plan"].to_numpy(bool)
    rows: list[dict[str, object]] = []
    geoms: list[BaseGeometry] = []
    for direction, mask in ((ADJUSTED_OUT, before & ~after), (ADJUSTED_IN, ~before & after)):
        groups = dissolve_pieces(ind.pieces, mask, {name: t[name].to_numpy() for name in ("unit_id", "township",
                                                                                          "parcel")})
        for (unit_id, township, parcel), geom, area in zip(groups.keys, groups.geoms, groups.areas_m2):
            parcel = int(parcel)
            has = parcel >= 0
            code = parcels["code"].iat[parcel] if has else ""
            area = float(area)
            gddb = parcels["gddb"].iat[parcel] if has else np.nan
            rows.append({"direction": tr(direction), "unit_id": unit_id, "township": township,
                         "bsm": parcels["bsm"].iat[parcel] if has else "", "dlbm": code,
                         "dlmc": classes.name(code) if code else "", "gddb": None if np.isnan(gddb) else float(gddb),
                         "gdpdjb": parcels["gdpdjb"].iat[parcel] if has else "", "area_m2": area,
                         "area_mu": to_mu(area)})
            geoms.append(geom)
    table = pd.DataFrame(rows, columns=["direction", "unit_id", "township", "bsm", "dlbm", "dlmc", "gddb", "gdpdjb",
                                        "area_m2", "area_mu"])
    towns = ind.per_township.copy()
    inside_in = t[~t["in_pbf"] & t["in_pbf_plan"]].groupby("township")["area_m2"].sum()
    towns["pbf_in_in_units_m2"] = [float(inside_in.get(code, 0.0)) for code in towns.index]
    towns["pbf_out_share"] = np.where(towns["pbf_total_m2"] > 0,
                                      towns["pbf_out_m2"] / towns["pbf_total_m2"].where(towns["pbf_total_m2"] > 0, 1)
                                      * 100, np.nan)
    towns["cap_percent"] = cap_percent if cap_percent is not None else np.nan
    quality: dict[str, dict[str, float | None]] = {}
    for direction in (ADJUSTED_OUT, ADJUSTED_IN):
        rows_d = table[table["direction"] == tr(direction)]
        known = rows_d[rows_d["gddb"].notna()]
        quality[direction] = {
            "area_mu": float(rows_d["area_mu"].sum()),
            "mean_gddb": float(np.average(known["gddb"], weights=known["area_m2"])) if len(known) else None,
            "unknown_mu": float(rows_d.loc[rows_d["gddb"].isna(), "area_mu"].sum()),
        }
    return Ledger(table=table, geoms=np.asarray(geoms, dtype=object), townships=towns, quality=quality)
