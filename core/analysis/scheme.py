"""The scheme in the working frame: baseline (cached) and plan, and their overlay into pieces.

``Baseline`` holds what a planner does not edit — 地类图斑, 现状永久基本农田, 生态保护红线,
城镇开发边界, townships — transformed once into the working frame with spatial
indexes and per-parcel booked areas (三调 convention). ``Plan`` holds what the
planner draws: units, 子项目, planned 永久基本农田 and 城镇开发边界. ``build_pieces``
overlays units × parcels × townships × 子项目 × control lines into atomic pieces;
every figure is then a group-by over them (``indicators``). The dock panel keeps
one ``Baseline`` and rebuilds only the pieces of the unit being edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..common.errors import DataError, InputError
from ..common.i18n import tr, translatable
from ..geometry.measure import WorkingFrame, lonlat_bounds, to_mu
from ..geometry.overlay import (
    SLIVER_AREA_M2,
    OverlappingParts,
    PartIndex,
    cut,
    dissolve_overlapping,
    interior_overlaps,
    polygonal,
    robust,
)
from ..geometry.projection import CrsError, crs_facts
from ..ingest import validate as v
from ..ingest.layerdata import LayerData
from ..rules.landclasses import LandClasses, load_land_classes
from ..rules.ruleset import Ruleset

FLAG_LAYERS = ("pbf", "pbf_plan", "eco", "udb", "udb_plan")

# Overlaps between parcels or units above this (m²) are data errors, below it digitising noise.
OVERLAP_TOLERANCE_M2 = 0.01


@dataclass
class SchemeLayers:
    """The raw inputs, as read by the I/O seam (any CRS each)."""

    units: LayerData | None = None
    landuse: LayerData | None = None
    pbf: LayerData | None = None
    projects: LayerData | None = None
    pbf_plan: LayerData | None = None
    eco: LayerData | None = None
    udb: LayerData | None = None
    udb_plan: LayerData | None = None
    townships: LayerData | None = None
    unit_id_field: str = "DYBH"


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
    townships: LayerData | None
    township_parts: PartIndex | None
    township_names: dict
    warnings: list
    _township_geoms: dict = field(default_factory=dict)
    _township_farmland: dict = field(default_factory=dict)
    _township_pbf: dict = field(default_factory=dict)
    _whole: np.ndarray | None = None  # ellipsoidal area of each parcel, measured on first use

    def whole_areas(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        if self._whole is None:
            self._whole = np.full(len(self.landuse), np.nan)
        missing = np.unique(idx[np.isnan(self._whole[idx])])
        if len(missing):
            self._whole[missing] = self.frame.areas(self.landuse.geoms[missing])
        return self._whole[idx]

    def booked(self, idx) -> tuple[np.ndarray, np.ndarray]:
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

    def cut(self, pieces, parts, keep_outside: bool = True, on_overlap: str = "merge"):
        return cut(pieces, parts, keep_outside=keep_outside, min_area=self.sliver, on_overlap=on_overlap)

    def overlap_error(self, error: OverlappingParts, layer: LayerData, role: v.Role) -> DataError:
        """The Chinese message for features of ``layer`` found overlapping where pieces were cut."""
        shown = [tr("{a} 与 {b}（{area:.2f} 平方米）").format(
            a=int(layer.fids[i]), b=int(layer.fids[j]), area=float(self.frame.areas(
                np.array([shapely.intersection(layer.geoms[i], layer.geoms[j])], dtype=object))[0]))
            for i, j, _ in error.pairs[: v.MAX_IDS_IN_MESSAGE]]
        return DataError(tr("{layer}：要素相互重叠，面积会被重复统计：{pairs}。请先消除重叠。").format(
            layer=v.layer_label(layer, role), pairs="；".join(shown)))

    @property
    def has_township_layer(self) -> bool:
        return self.townships is not None

    def township_geometry(self, code: str):
        """The township's polygon: from TOWNSHIPS, else the union of its parcels (cached)."""
        if code not in self._township_geoms:
            if self.has_township_layer:
                members = self.township_parts.geoms[self.townships.attrs["XZQDM"].to_numpy() == code]
            else:
                members = self.landuse.geoms[self.parcel_table["township"].to_numpy() == code]
            self._township_geoms[code] = shapely.union_all(members) if len(members) else shapely.Polygon()
            shapely.prepare(self._township_geoms[code])
        return self._township_geoms[code]

    def township_farmland_m2(self, code: str) -> float:
        """The township's whole 耕地 (三调 TBDLMJ convention), cached."""
        if code not in self._township_farmland:
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
            self._township_farmland[code] = value
        return self._township_farmland[code]

    def township_pbf(self, code: str) -> tuple[np.ndarray, float]:
        """The township's 永久基本农田 as non-overlapping pieces, and their area (m²), cached: every
        plan of the scheme compares its planned PBF with these."""
        if code not in self._township_pbf:
            geom = self.township_geometry(code)
            if shapely.is_empty(geom) or len(self.pbf) == 0:
                self._township_pbf[code] = (np.empty(0, dtype=object), 0.0)
            else:
                candidates = self.pbf.tree.query(geom, predicate="intersects")
                # Overlapping PBF features would count twice in a whole-township sum: dissolved here,
                # for this township only.
                features = dissolve_overlapping(self.pbf.geoms[candidates], self.sliver)
                inside = self.cut(features, PartIndex.build(np.array([geom], dtype=object)), keep_outside=False)
                self._township_pbf[code] = (inside.geoms, float(self.frame.areas(inside.geoms).sum()))
        return self._township_pbf[code]

    def flag_index(self, name: str):
        return {"pbf": self.pbf, "eco": self.eco, "udb": self.udb}.get(name)


@dataclass
class Plan:
    units: LayerData  # working frame
    unit_ids: np.ndarray
    unit_names: np.ndarray
    unit_parts: PartIndex
    projects: LayerData | None
    project_table: pd.DataFrame  # positional: id, type, code_after, kcxs
    project_parts: PartIndex | None
    pbf_plan: PartIndex
    udb_plan: PartIndex | None
    warnings: list
    # Whole-township (PBF, PBF − PBF_PLAN) areas by township code; valid while pbf_plan is unchanged.
    township_pbf_cache: dict = field(default_factory=dict)
    # unit id -> (unit outline WKB, its 子项目 areas): reused while neither changes (live edits)
    project_area_cache: dict = field(default_factory=dict)
    # 城镇开发边界 figures (whole layers); valid while udb_plan is unchanged.
    udb_cache: dict = field(default_factory=dict)

    def unchanged_pbf(self, geoms: np.ndarray) -> np.ndarray:
        """Which geometries are, exactly, features of the planned PBF (nothing of them is adjusted out)."""
        same = np.zeros(len(geoms), dtype=bool)
        if len(geoms) == 0 or len(self.pbf_plan) == 0:
            return same
        a, b = self.pbf_plan.tree.query(geoms)  # bounding boxes meet
        plan = self.pbf_plan.geoms
        box = (shapely.bounds(geoms)[a] == shapely.bounds(plan)[b]).all(axis=1)
        a, b = a[box], b[box]
        same[a[shapely.equals_exact(geoms[a], plan[b], tolerance=0.0)]] = True
        return same


def build_baseline(layers: SchemeLayers, ruleset: Ruleset, classes: LandClasses | None = None) -> Baseline:
    """Validate and ingest the baseline layers (the expensive, cacheable part)."""
    classes = classes or load_land_classes()
    report = v.Report()
    roles = v.ROLES
    landuse = v.polygons(layers.landuse, roles["landuse"], report)
    v.require_fields(landuse, roles["landuse"])
    if len(landuse) == 0:
        raise InputError(tr("{layer} 没有要素。").format(layer=v.layer_label(landuse, roles["landuse"])))
    frame = WorkingFrame.for_data(landuse.crs_wkt, lonlat_bounds(landuse.geoms, landuse.crs_wkt))
    landuse = landuse.with_geoms(frame.ingest(landuse.geoms, landuse.crs_wkt), frame.wkt)
    # Parcel overlaps are found where units cut the parcels (cheap), not over the whole county.

    townships = None
    township_parts = None
    township_names = {}
    if layers.townships is not None and len(layers.townships):
        drawn = v.polygons(layers.townships, roles["townships"], report)
        v.require_fields(drawn, roles["townships"])
        drawn.attrs["XZQDM"] = v.codes(drawn, "XZQDM")
        _refuse_overlaps(drawn, roles["townships"], frame, OVERLAP_TOLERANCE_M2)
        townships = _to_frame(drawn, roles["townships"], frame)
        township_parts = PartIndex.build(_without_reprojection_slivers(townships.geoms))
        names = townships.column("XZQMC", "")
        township_names = {c: ("" if n is None else str(n)) for c, n in zip(townships.attrs["XZQDM"], names)}

    parcel_table = _parcel_table(landuse, classes, report, with_township=townships is None)
    pbf = (_flag_parts(layers.pbf, roles["pbf"], frame, report, dissolve=False) if layers.pbf is not None
           else PartIndex.build(np.empty(0, dtype=object)))
    eco = _flag_parts(layers.eco, roles["eco"], frame, report, dissolve=False) if layers.eco is not None else None
    udb = _flag_parts(layers.udb, roles["udb"], frame, report) if layers.udb is not None else None
    return Baseline(frame=frame, classes=classes, landuse=landuse, parcels=PartIndex.build(landuse.geoms),
                    parcel_table=parcel_table, pbf=pbf, eco=eco, udb=udb, townships=townships,
                    township_parts=township_parts, township_names=township_names, warnings=report.warnings)


def build_plan(layers: SchemeLayers, baseline: Baseline, ruleset: Ruleset, changed_units=None) -> Plan:
    """Validate and ingest the planner's layers (cheap; rebuilt after edits).

    ``changed_units`` (unit ids) limits the unit overlap check to the units an edit changed.
    """
    report = v.Report()
    roles = v.ROLES
    frame = baseline.frame
    drawn = v.polygons(layers.units, roles["units"], report)
    if len(drawn) == 0:
        raise InputError(tr("{layer} 没有要素：请先绘制整治单元。").format(layer=v.layer_label(drawn, roles["units"])))
    ids = v.unit_ids(drawn, roles["units"], layers.unit_id_field).to_numpy()
    among = None if changed_units is None else np.flatnonzero(np.isin(ids, list(changed_units)))
    _refuse_overlaps(drawn, roles["units"], frame, OVERLAP_TOLERANCE_M2, labels=ids, among=among)
    units = _to_frame(drawn, roles["units"], frame)
    names = units.column("DYMC", "").map(lambda n: "" if n is None else str(n)).to_numpy()

    projects = None
    project_table = pd.DataFrame({"id": [], "type": [], "code_after": [], "kcxs": []})
    project_parts = None
    if layers.projects is not None and len(layers.projects):
        drawn = v.polygons(layers.projects, roles["projects"], report)
        v.require_fields(drawn, roles["projects"])
        project_table = _project_table(drawn, baseline.classes, ruleset, report)
        projects = _to_frame(drawn, roles["projects"], frame)
        parts = _non_overlapping_projects(drawn, projects, project_table, ruleset, frame)
        project_parts = PartIndex.build(parts)

    pbf_plan = (_flag_parts(layers.pbf_plan, roles["pbf_plan"], frame, report, dissolve=False)
                if layers.pbf_plan is not None else baseline.pbf)
    udb_plan = (_flag_parts(layers.udb_plan, roles["udb_plan"], frame, report)
                if layers.udb_plan is not None else baseline.udb)
    return Plan(units=units, unit_ids=ids, unit_names=names, unit_parts=PartIndex.build(units.geoms),
                projects=projects, project_table=project_table, project_parts=project_parts,
                pbf_plan=pbf_plan, udb_plan=udb_plan, warnings=report.warnings)


def build_survey_plan(layers: SchemeLayers, baseline: Baseline, ruleset: Ruleset, survey_after: LayerData) -> Plan:
    """The 'after' state taken from a later survey (年度变更调查 B) instead of 子项目.

    Each parcel of B acts as a 子项目 that sets its DLBM with its own deduction ratio, so
    地类流向 between two surveys is the same group-by as plan-vs-baseline (clause （十六）).
    """
    plan = build_plan(SchemeLayers(units=layers.units, landuse=layers.landuse, unit_id_field=layers.unit_id_field),
                      baseline, ruleset)
    report = v.Report()
    role = v.Role("landuse_after", translatable("后期地类图斑"), required=("DLBM",))
    drawn = v.polygons(survey_after, role, report)
    v.require_fields(drawn, role)
    _refuse_overlaps(drawn, role, baseline.frame, OVERLAP_TOLERANCE_M2)
    after = _to_frame(drawn, role, baseline.frame)
    table = _parcel_table(after, baseline.classes, report, with_township=False)
    total, main = booked_areas(table, baseline.frame.areas(after.geoms), np.arange(len(table)))
    deduction = np.where(total > 0, 1.0 - main / np.where(total > 0, total, 1.0), 0.0)
    plan.project_table = pd.DataFrame({
        "id": [b or tr("要素{fid}").format(fid=int(f)) for b, f in zip(table["bsm"], after.fids)],
        "type": "", "code_after": table["code"].to_numpy(), "kcxs": deduction, "name": ""})
    plan.project_parts = PartIndex.build(_without_reprojection_slivers(after.geoms))
    plan.projects = after
    plan.warnings = plan.warnings + report.warnings
    return plan


def _ingest(layer: LayerData, role: v.Role, frame: WorkingFrame, report: v.Report) -> LayerData:
    return _to_frame(v.polygons(layer, role, report), role, frame)


def _to_frame(layer: LayerData, role: v.Role, frame: WorkingFrame) -> LayerData:
    """The layer in the overlay CRS; coordinates the transformation cannot place (a layer whose
    declared CRS is not the one its coordinates are in) are refused, not silently dropped."""
    geoms = frame.ingest(layer.geoms, layer.crs_wkt)
    if len(geoms):
        lost = ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
        if lost.any():
            raise InputError(tr("{layer}：要素 {ids} 转换到地类图斑的坐标系后坐标无效，"
                                "多半是图层设置的坐标系（{crs}）与数据实际的坐标系不符，请核对后重试。").format(
                layer=v.layer_label(layer, role), ids=v.id_list(layer.fids[lost]), crs=_crs_name(layer.crs_wkt)))
    return layer.with_geoms(geoms, frame.wkt)


def _crs_name(wkt: str) -> str:
    try:
        facts = crs_facts(wkt)
    except CrsError:
        return tr("未知")
    return f"EPSG:{facts.epsg} {facts.name}" if facts.epsg else facts.name


def _without_reprojection_slivers(geoms: np.ndarray) -> np.ndarray:
    """Parts that only touch where they were drawn can overlap by slivers once reprojected (a vertex
    on one side of a shared edge that the other side lacks leaves the straight line): the later
    feature gives way there, so the overlay never counts such a sliver twice."""
    slivers = interior_overlaps(geoms, 0.0)
    if not slivers:
        return geoms
    geoms = np.asarray(geoms, dtype=object).copy()
    for i, j, _ in sorted(slivers):
        geoms[j] = polygonal(robust(shapely.difference, np.array([geoms[j]], dtype=object), geoms[i]))[0]
    return geoms


def _flag_parts(layer: LayerData, role: v.Role, frame: WorkingFrame, report: v.Report,
                dissolve: bool = True) -> PartIndex:
    """A control-line layer as parts. Overlapping features are dissolved up front for the small
    layers whose whole area is summed (城镇开发边界); for the large ones (永久基本农田, 红线) the
    overlay merges them where pieces are cut, so a county's layer is never checked pair by pair."""
    layer = _ingest(layer, role, frame, report)
    geoms = dissolve_overlapping(layer.geoms, frame.square_metres_to_units(SLIVER_AREA_M2)) if dissolve \
        else layer.geoms
    return PartIndex.build(geoms)


def _overlaps_m2(layer: LayerData, frame: WorkingFrame, tolerance_m2: float, among=None) -> list:
    """Interior overlaps of a layer's features as drawn (in the layer's own CRS, where features that
    share an edge do not overlap), above ``tolerance_m2`` of ellipsoidal area: (i, j, m²)."""
    pairs = interior_overlaps(layer.geoms, 0.0, among=among)
    if not pairs:
        return []
    shared = robust(shapely.intersection, layer.geoms[[i for i, _, _ in pairs]], layer.geoms[[j for _, j, _ in pairs]])
    areas = frame.areas(frame.ingest(polygonal(shared), layer.crs_wkt))
    return [(i, j, float(area)) for (i, j, _), area in zip(pairs, areas) if area > tolerance_m2]


def _refuse_overlaps(layer: LayerData, role: v.Role, frame: WorkingFrame, tolerance_m2: float,
                     labels=None, among=None) -> None:
    overlaps = _overlaps_m2(layer, frame, tolerance_m2, among=among)
    if not overlaps:
        return
    shown = []
    for i, j, area in overlaps[: v.MAX_IDS_IN_MESSAGE]:
        a = labels[i] if labels is not None else int(layer.fids[i])
        b = labels[j] if labels is not None else int(layer.fids[j])
        shown.append(tr("{a} 与 {b}（{area:.2f} 平方米）").format(a=a, b=b, area=area))
    raise DataError(tr("{layer}：要素相互重叠，面积会被重复统计：{pairs}。请先消除重叠。").format(
        layer=v.layer_label(layer, role), pairs="；".join(shown)))


def _parcel_table(landuse: LayerData, classes: LandClasses, report: v.Report, with_township: bool) -> pd.DataFrame:
    """Per parcel: class, township, and what its booked areas are made of (三调 convention).

    A parcel's booked total is TBMJ and its class area TBDLMJ (KCMJ goes to 1203 田坎);
    without TBMJ/TBDLMJ the class area is area × (1 − KCXS), and without KCXS the area.
    A piece of a parcel books these pro rata to its share of the parcel's ellipsoidal area.
    Ellipsoidal areas of whole parcels are measured only when needed (``Baseline.booked``).
    """
    role = v.ROLES["landuse"]
    code = v.check_class_codes(landuse, role, "DLBM", classes, report)
    tbmj = v.numbers(landuse, role, "TBMJ", report).to_numpy()
    tbdlmj = v.numbers(landuse, role, "TBDLMJ", report).to_numpy()
    kcxs = v.numbers(landuse, role, "KCXS", report).to_numpy()
    booked = ~np.isnan(tbmj) & ~np.isnan(tbdlmj) & (tbmj > 0)
    v.deduction_ratios(landuse, role, kcxs, used=~booked, report=report)
    table = pd.DataFrame({
        "code": code.to_numpy(),
        "booked": booked,
        "tbmj": np.where(booked, tbmj, np.nan),
        "tbdlmj": np.where(booked, tbdlmj, np.nan),
        "area_factor": np.where(np.isnan(kcxs), 1.0, 1.0 - np.nan_to_num(kcxs)),
        "is_farmland": code.map(classes.is_farmland).to_numpy(dtype=bool),
        "czcsxm": v.codes(landuse, "CZCSXM").to_numpy(),
        "gddb": v.numbers(landuse, role, "GDDB", report).to_numpy(),
        "gdpdjb": v.codes(landuse, "GDPDJB").to_numpy(),
        "bsm": landuse.column("BSM", "").map(lambda b: "" if b is None else str(b)).to_numpy(),
    })
    if with_township:
        table["township"] = v.township_codes_from_landuse(landuse, role).to_numpy()
    return table


def booked_areas(table: pd.DataFrame, whole: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(total, class area) of parcels ``idx`` given their whole ellipsoidal areas."""
    booked = table["booked"].to_numpy()[idx]
    total = np.where(booked, table["tbmj"].to_numpy()[idx], whole)
    main = np.where(booked, table["tbdlmj"].to_numpy()[idx], whole * table["area_factor"].to_numpy()[idx])
    return total, main


def _project_table(projects: LayerData, classes: LandClasses, ruleset: Ruleset, report: v.Report) -> pd.DataFrame:
    role = v.ROLES["projects"]
    code_after = v.check_class_codes(projects, role, "GHDLBM", classes, report=None)
    types = projects.column("XMLX", "").map(lambda t: "" if t is None else str(t).strip())
    unknown = ~types.isin(ruleset.all_project_types).to_numpy()
    if unknown.any():
        report.warn(tr("{layer} 字段 XMLX：要素 {ids} 的子项目类型 {types} 不在规则集的类型表中，按“其他”统计。").format(
            layer=v.layer_label(projects, role), ids=v.id_list(projects.fids[unknown]),
            types="、".join(sorted(set(types[unknown])))))
    ids = projects.column("XMBH", None)
    ids = [str(x).strip() if x not in (None, "") and not (isinstance(x, float) and np.isnan(x))
           else tr("要素{fid}").format(fid=int(f)) for x, f in zip(ids, projects.fids)]
    kcxs = v.numbers(projects, role, "KCXS", report).to_numpy()
    v.deduction_ratios(projects, role, kcxs, used=np.ones(len(kcxs), dtype=bool), report=report)
    return pd.DataFrame({"id": ids, "type": types.to_numpy(), "code_after": code_after.to_numpy(), "kcxs": kcxs,
                         "name": projects.column("XMMC", "").to_numpy()})


def _non_overlapping_projects(drawn: LayerData, projects: LayerData, table: pd.DataFrame, ruleset: Ruleset,
                              frame: WorkingFrame) -> np.ndarray:
    """子项目 as non-overlapping parts in the overlay frame; overlaps (as drawn) with different
    planned classes are a data error."""
    overlaps = _overlaps_m2(drawn, frame, ruleset.project_overlap_tolerance_m2)
    codes = table["code_after"].to_numpy()
    ids = table["id"].to_numpy()
    conflicting = [(i, j, a) for i, j, a in overlaps if codes[i] != codes[j]]
    if conflicting:
        shown = "；".join(tr("{a}（{ca}）与 {b}（{cb}）重叠 {area:.2f} 亩（{m2:.1f} 平方米）").format(
            a=ids[i], ca=codes[i], b=ids[j], cb=codes[j], area=to_mu(area), m2=area)
            for i, j, area in conflicting[: v.MAX_IDS_IN_MESSAGE])
        raise DataError(tr("子项目相互重叠且规划地类不同，无法确定规划后的地类：{pairs}。请调整子项目范围。").format(
            pairs=shown))
    # Same-class overlaps, and overlaps below the tolerance or made by reprojection: the later
    # project (input order) gives way, so area counts once.
    return _without_reprojection_slivers(projects.geoms)


# ----------------------------------------------------------------------------- pieces


@dataclass
class Pieces:
    """Atomic pieces of units × parcels × townships × 子项目 × control lines."""

    table: pd.DataFrame
    geoms: np.ndarray
    metric: np.ndarray | None = None  # the pieces in the equal-area frame, kept once computed

    def __len__(self) -> int:
        return len(self.geoms)

    def metric_geoms(self, frame: WorkingFrame) -> np.ndarray:
        """The pieces in the metric frame (distances for contiguity), computed once."""
        if self.metric is None:
            self.metric = frame.metric(self.geoms)
        return self.metric

    @classmethod
    def concat(cls, parts: list) -> "Pieces":
        parts = [p for p in parts if p is not None]
        if not parts:
            return cls(table=_empty_piece_table(), geoms=np.empty(0, dtype=object))
        metric = (np.concatenate([p.metric for p in parts]) if all(p.metric is not None for p in parts)
                  else None)
        return cls(table=pd.concat([p.table for p in parts], ignore_index=True),
                   geoms=np.concatenate([p.geoms for p in parts]), metric=metric)


_PIECE_COLUMNS = ("unit", "unit_id", "parcel", "township", "project", "area_m2", "total_m2", "main_before_m2",
                  "code_before", "main_after_m2", "code_after") + tuple("in_" + f for f in FLAG_LAYERS)


def _empty_piece_table() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in _PIECE_COLUMNS})


def build_pieces(baseline: Baseline, plan: Plan, unit_positions=None) -> Pieces:
    """Overlay the given units (all by default) with every other layer into atomic pieces."""
    if unit_positions is None:
        unit_positions = np.arange(len(plan.units))
    unit_positions = np.asarray(unit_positions, dtype=np.int64)
    return overlay_areas(baseline, plan, plan.units.geoms[unit_positions], unit_positions)


def overlay_areas(baseline: Baseline, plan: Plan, geoms: np.ndarray, unit_positions: np.ndarray) -> Pieces:
    """Overlay polygons (units, or parts of units) with every other layer; ``unit_positions[i]``
    is the unit that ``geoms[i]`` belongs to."""
    unit_positions = np.asarray(unit_positions, dtype=np.int64)
    if len(unit_positions) == 0:
        return Pieces.concat([])

    try:
        step = baseline.cut(np.asarray(geoms, dtype=object), baseline.parcels, on_overlap="error")
    except OverlappingParts as error:
        raise baseline.overlap_error(error, baseline.landuse, v.ROLES["landuse"]) from error
    unit = unit_positions[step.source]
    parcel = step.part
    geoms = step.geoms

    if baseline.has_township_layer:
        step = baseline.cut(geoms, baseline.township_parts, on_overlap="error")
        unit, parcel, geoms = unit[step.source], parcel[step.source], step.geoms
        codes = baseline.townships.attrs["XZQDM"].to_numpy()
        township = np.where(step.part >= 0, codes[np.maximum(step.part, 0)], "")
    else:
        township_of_parcel = baseline.parcel_table["township"].to_numpy()
        township = np.where(parcel >= 0, township_of_parcel[np.maximum(parcel, 0)], "")

    step = baseline.cut(geoms, plan.project_parts, on_overlap="error")
    unit, parcel, township, geoms = unit[step.source], parcel[step.source], township[step.source], step.geoms
    project = step.part

    flags = {}
    for name in FLAG_LAYERS:
        index = plan.pbf_plan if name == "pbf_plan" else plan.udb_plan if name == "udb_plan" \
            else baseline.flag_index(name)
        step = baseline.cut(geoms, index)
        unit, parcel, township, project, geoms = (unit[step.source], parcel[step.source], township[step.source],
                                                  project[step.source], step.geoms)
        flags = {k: f[step.source] for k, f in flags.items()}
        flags[name] = step.part >= 0
    areas = baseline.frame.areas(geoms)

    table = pd.DataFrame({"unit": unit, "unit_id": plan.unit_ids[unit], "parcel": parcel, "township": township,
                          "project": project, "area_m2": areas})
    for name in FLAG_LAYERS:
        table["in_" + name] = flags[name]
    book_areas(table, baseline, plan)
    return Pieces(table=table, geoms=geoms)


def book_areas(table: pd.DataFrame, baseline: Baseline, plan: Plan) -> None:
    """Class and booked areas before and after the plan, per piece (三调 convention)."""
    parcels = baseline.parcel_table
    parcel = table["parcel"].to_numpy()
    has_parcel = parcel >= 0
    p = np.maximum(parcel, 0)
    area = table["area_m2"].to_numpy()
    whole_total, whole_main = baseline.booked(p)
    ratio = np.where(has_parcel, area / baseline.whole_areas(p), 1.0)
    total = np.where(has_parcel, whole_total * ratio, area)
    main_before = np.where(has_parcel, whole_main * ratio, area)
    code_before = np.where(has_parcel, parcels["code"].to_numpy()[p], "")

    project = table["project"].to_numpy()
    changed = project >= 0
    q = np.maximum(project, 0)
    projects = plan.project_table
    if len(projects):
        planned_code = projects["code_after"].to_numpy()[q]
        planned_kcxs = projects["kcxs"].to_numpy()[q]
    else:
        planned_code = np.full(len(table), "", dtype=object)
        planned_kcxs = np.full(len(table), np.nan)
    same_class = planned_code == code_before
    kept_deduction = np.where(total > 0, 1.0 - main_before / np.where(total > 0, total, 1.0), 0.0)
    # Land a 子项目 turns into another class carries no deduction unless the project gives KCXS;
    # land it keeps in its class keeps the survey's deduction.
    deduction = np.where(~np.isnan(planned_kcxs), planned_kcxs, np.where(same_class, kept_deduction, 0.0))
    table["total_m2"] = total
    table["code_before"] = code_before
    table["main_before_m2"] = main_before
    table["code_after"] = np.where(changed, planned_code, code_before)
    table["main_after_m2"] = np.where(changed, total * (1.0 - deduction), main_before)


def flows(pieces: Pieces, deduction_class: str) -> pd.DataFrame:
    """地类流向 rows (piece, from class, to class, m²) that conserve each piece's booked total.

    Class area goes to class area first; the 田坎 (deduction) share goes to 田坎 as far as it
    is kept, and the difference flows between 田坎 and the classes.
    """
    t = pieces.table
    n = len(t)
    idx = np.arange(n)
    total = t["total_m2"].to_numpy()
    main_b = t["main_before_m2"].to_numpy()
    main_a = t["main_after_m2"].to_numpy()
    tk_b = total - main_b
    tk_a = total - main_a
    code_b = t["code_before"].to_numpy()
    code_a = t["code_after"].to_numpy()
    dk = np.full(n, deduction_class, dtype=object)
    more_kept = tk_b > tk_a
    rows = pd.DataFrame({
        "piece": np.concatenate([idx, idx, idx]),
        "from": np.concatenate([code_b, dk, np.where(more_kept, dk, code_b)]),
        "to": np.concatenate([code_a, dk, np.where(more_kept, code_a, dk)]),
        "m2": np.concatenate([np.minimum(main_b, main_a), np.minimum(tk_b, tk_a), np.abs(tk_b - tk_a)]),
    })
    return rows[rows["m2"] > SLIVER_AREA_M2].reset_index(drop=True)  # drop floating-point residues
