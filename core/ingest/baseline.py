"""The baseline: what a planner does not edit (地类图斑, 现状永久基本农田, 生态保护红线, 城镇开发边界,
townships), validated and brought once into the working frame with spatial indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ..common.errors import DataError, InputError
from ..common.i18n import tr
from ..geometry.measure import WorkingFrame, lonlat_bounds
from ..geometry.overlay import (
    SLIVER_AREA_M2,
    Cut,
    OverlappingParts,
    PartIndex,
    cut,
)
from ..ingest import validate as v
from ..ingest.layerdata import LayerData, empty_layer
from ..rules.landclasses import LandClasses, load_land_classes
from ..rules.ruleset import Ruleset
from .layers import (
    OVERLAP_TOLERANCE_M2,
    SchemeLayers,
    booked_areas,
    build_parcel_table,
    flag_parts,
    parcels_to_check,
    refuse_overlaps,
    resolve_parcel_overlaps,
    to_frame,
    without_reprojection_slivers,
)

if TYPE_CHECKING:
    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry


@dataclass
class BaselineMemo:
    whole: np.ndarray | None = None  # ellipsoidal area of each parcel (NaN until measured)
    township_geoms: dict[str, BaseGeometry] = field(default_factory=dict)
    township_farmland: dict[str, float] = field(default_factory=dict)
    township_pbf: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)


@dataclass
class Baseline:
    frame: WorkingFrame
    classes: LandClasses
    landuse: LayerData  # geometries in the working frame
    parcels: PartIndex
    parcel_table: pd.DataFrame  # one row per parcel, positional
    pbf: PartIndex
    eco: PartIndex | None
    udb: PartIndex | None
    udb_labels: np.ndarray | None  # each 城镇开发边界 part's zone (UDB_ZONE_FIELD)
    townships: LayerData | None
    township_parts: PartIndex | None
    township_names: dict[str, str]
    warnings: list[str]
    # Figures derived from the baseline alone, measured on first use; the baseline never changes.
    _memo: BaselineMemo = field(default_factory=lambda: BaselineMemo())

    def whole_areas(self, idx: npt.ArrayLike) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        if self._memo.whole is None:
            self._memo.whole = np.full(len(self.landuse), np.nan)
        missing = np.unique(idx[np.isnan(self._memo.whole[idx])])
        if len(missing):
            self._memo.whole[missing] = self.frame.areas(self.landuse.geoms[missing])
        return self._memo.whole[idx]

    def booked(self, idx: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(TBMJ-like total, TBDLMJ-like class area) of whole parcels ``idx``."""
        idx = np.asarray(idx, dtype=np.int64)
        table = self.parcel_table
        needs_area = ~table["booked"].to_numpy()[idx]
        whole = np.full(len(idx), np.nan)
        if needs_area.any():
            whole[needs_area] = self.whole_areas(idx[needs_area])
        return booked_areas(table, whole, idx)

    @property
    def sliver(self) -> float:
        """The sliver area in overlay units²."""
        return self.frame.square_metres_to_units(SLIVER_AREA_M2)

    def cut(self, pieces: np.ndarray, parts: PartIndex | None, keep_outside: bool = True,
            on_overlap: str = "merge") -> Cut:
        return cut(pieces, parts, keep_outside=keep_outside, min_area=self.sliver, on_overlap=on_overlap)

    def overlap_error(self, error: OverlappingParts, layer: LayerData, role: v.Role) -> DataError:
        """The Chinese message for features of ``layer`` found overlapping where pieces were cut."""
        names = v.feature_names(layer)
        shown = [tr("{a} 与 {b}（{area:.2f} 平方米）").format(
            a=names[i], b=names[j], area=float(self.frame.areas(
                np.array([shapely.intersection(layer.geoms[i], layer.geoms[j])], dtype=object))[0]))
            for i, j, _ in error.pairs[: v.MAX_IDS_IN_MESSAGE]]
        return DataError(tr("{layer}：要素相互重叠，面积会被重复统计：{label} {pairs}。请先消除重叠。").format(
            layer=v.layer_label(layer, role), label=v.names_label(layer), pairs="；".join(shown)))

    @property
    def has_township_layer(self) -> bool:
        return self.townships is not None

    def township_geometry(self, code: str) -> BaseGeometry:
        """The township's polygon: from TOWNSHIPS, else the union of its parcels (cached)."""
        if code not in self._memo.township_geoms:
            if self.townships is not None:  # has_township_layer
                if self.township_parts is None:  # cannot be: build_baseline gives both or neither
                    raise AssertionError("a township layer without its parts")
                members = self.township_parts.geoms[self.townships.attrs["XZQDM"].to_numpy() == code]
            else:
                members = self.landuse.geoms[self.parcel_table["township"].to_numpy() == code]
            self._memo.township_geoms[code] = shapely.union_all(members) if len(members) else shapely.Polygon()
            shapely.prepare(self._memo.township_geoms[code])
        return self._memo.township_geoms[code]

    def township_farmland_m2(self, code: str) -> float:
        """The township's whole 耕地 (三调 TBDLMJ convention), cached."""
        if code not in self._memo.township_farmland:
            table = self.parcel_table
            farmland = table["is_farmland"].to_numpy()
            if not self.has_township_layer:
                mask = farmland & (table["township"].to_numpy() == code)
                value = float(self.booked(np.flatnonzero(mask))[1].sum())
            else:
                geom = self.township_geometry(code)
                candidates = self.parcels.tree.query(geom, predicate="intersects")
                candidates = candidates[farmland[candidates]]
                pieces = self.cut(self.landuse.geoms[candidates], PartIndex.build(np.array([geom], dtype=object)),
                                  keep_outside=False)
                parcel = candidates[pieces.source]
                ratio = self.frame.areas(pieces.geoms) / self.whole_areas(parcel)
                value = float((self.booked(parcel)[1] * ratio).sum())
            self._memo.township_farmland[code] = value
        return self._memo.township_farmland[code]

    def township_pbf(self, code: str) -> tuple[np.ndarray, float]:
        """The township's 永久基本农田 as non-overlapping pieces, and their area (m²), cached: every
        plan of the scheme compares its planned PBF with these."""
        if code not in self._memo.township_pbf:
            geom = self.township_geometry(code)
            if shapely.is_empty(geom) or len(self.pbf) == 0:
                self._memo.township_pbf[code] = (np.empty(0, dtype=object), 0.0)
            else:
                candidates = self.pbf.tree.query(geom, predicate="intersects")
                inside = self.cut(self.pbf.geoms[candidates], PartIndex.build(np.array([geom], dtype=object)),
                                  keep_outside=False)
                self._memo.township_pbf[code] = (inside.geoms, float(self.frame.areas(inside.geoms).sum()))
        return self._memo.township_pbf[code]

    def flag_index(self, name: str) -> PartIndex | None:
        return {"pbf": self.pbf, "eco": self.eco, "udb": self.udb}.get(name)



def build_baseline(layers: SchemeLayers, ruleset: Ruleset, classes: LandClasses | None = None) -> Baseline:
    """Validate and ingest the baseline layers (the expensive, cacheable part)."""
    classes = classes or load_land_classes()
    report = v.Report()
    roles = v.ROLES
    v.given_layers({name: getattr(layers, name) for name in roles}, report)
    frame_layer: LayerData | None
    if layers.landuse is not None:
        landuse = v.polygons(layers.landuse, roles["landuse"], report)
        v.require_fields(landuse, roles["landuse"])
        if len(landuse) == 0:
            raise InputError(tr("{layer} 没有要素。").format(layer=v.layer_label(landuse, roles["landuse"])))
        frame_layer = landuse
    else:  # analyses of control lines alone (集中连片, 三线冲突) need no survey
        frame_layer = layers.first_layer()
        if frame_layer is None:
            raise InputError(tr("没有给出任何图层。"))
        landuse = empty_layer(tr(roles["landuse"].label), frame_layer.crs_wkt, roles["landuse"].fields)
    frame = WorkingFrame.for_data(frame_layer.crs_wkt, lonlat_bounds(frame_layer.geoms, frame_layer.crs_wkt))
    landuse = landuse.with_geoms(frame.ingest(landuse.geoms, landuse.crs_wkt), frame.wkt)
    # Parcel overlaps are found where units cut the parcels (cheap), not over the whole county.

    townships = None
    township_parts = None
    township_names: dict[str, str] = {}
    if layers.townships is not None and len(layers.townships):
        drawn = v.polygons(layers.townships, roles["townships"], report)
        v.require_fields(drawn, roles["townships"])
        drawn.attrs["XZQDM"] = v.codes(drawn, "XZQDM")
        refuse_overlaps(drawn, roles["townships"], frame, OVERLAP_TOLERANCE_M2)
        townships = to_frame(drawn, roles["townships"], frame)
        township_parts = PartIndex.build(without_reprojection_slivers(townships.geoms))
        names = townships.column("XZQMC", "")
        township_names = {c: ("" if n is None else str(n)) for c, n in zip(townships.attrs["XZQDM"], names)}

    parcel_table = build_parcel_table(landuse, classes, report, with_township=townships is None)
    # Parcels digitised twice or overlapping are counted once (the earlier keeps the land) and reported,
    # where the units are (the whole layer without units); overlaps elsewhere are still found, and
    # refused, where units cut the parcels (``overlap_error``).
    scope = frame.ingest(layers.units.geoms, layers.units.crs_wkt) if layers.units is not None else None
    landuse = resolve_parcel_overlaps(landuse, parcel_table, frame, report, parcels_to_check(landuse, scope),
                                      SLIVER_AREA_M2)
    pbf = (flag_parts(layers.pbf, roles["pbf"], frame, report).parts if layers.pbf is not None
           else PartIndex.build(np.empty(0, dtype=object)))
    eco = flag_parts(layers.eco, roles["eco"], frame, report).parts if layers.eco is not None else None
    udb = (flag_parts(layers.udb, roles["udb"], frame, report, label_field=layers.udb_zone_field)
           if layers.udb is not None else None)
    return Baseline(frame=frame, classes=classes, landuse=landuse, parcels=PartIndex.build(landuse.geoms),
                    parcel_table=parcel_table, pbf=pbf, eco=eco, udb=udb.parts if udb else None,
                    udb_labels=udb.labels if udb else None, townships=townships,
                    township_parts=township_parts, township_names=township_names, warnings=report.warnings)

