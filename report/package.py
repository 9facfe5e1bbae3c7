"""One 单元方案 package per unit, written atomically: built in a hidden temporary folder beside
the target, then moved into place, so a planner never finds a half-written package."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from qgis.core import QgsCoordinateReferenceSystem

from ..core.analysis.pieces import dissolve_pieces
from ..core.common.errors import InputError
from ..core.common.files import distinct_file_names, hidden_sibling_name, safe_file_name
from ..core.common.i18n import tr
from ..core.common.paths import plugin_version
from ..core.formats.bubiao_txt import TxtHeader, TxtParcel, cgcs2000_gk_epsg, choose_zone, write_txt
from ..core.geometry.projection import canonical_wkt, crs_facts, lonlat_bounds, transform_geometries
from ..core.products.check import CheckResult
from ..core.products.pbf_ledger import pbf_ledger
from .data_package import write_data_package
from .docx_writer import write_document
from .maps import export_maps
from .pdf_writer import write_pdf
from .unit_report import Figure, build_unit_report
from .xlsx_writer import write_workbook

PACKAGE_SUFFIX = "_单元方案"
FALLBACK_NAME = "单元"  # a unit whose id and name leave nothing usable
FOLDER_MAX_CHARS = 120


def safe_name(text: str, limit: int = 80) -> str:
    """A file or folder name safe on every file system (see ``safe_file_name``): no separators,
    dots-only parts, control or reserved characters; ``../../甲 村/单元`` becomes ``甲 村_单元``."""
    return safe_file_name(text, max_chars=limit)


def _folder_stem(unit_id: str, unit_name: str) -> str:
    return f"{unit_id}_{unit_name}" if unit_name else str(unit_id)


def package_folder_name(unit_id: str, unit_name: str) -> str:
    """``单元编号_单元名称_单元方案`` made safe: at most 255 UTF-8 bytes and 120 characters."""
    return safe_file_name(_folder_stem(unit_id, unit_name), suffix=PACKAGE_SUFFIX, fallback=FALLBACK_NAME,
                          max_chars=FOLDER_MAX_CHARS)


def package_folder_names(units: Mapping[str, str]) -> dict[str, str]:
    """Each unit's package folder (unit id → folder name), all different even where the file system ignores
    case: in the order of the unit ids, a unit whose folder name is taken gets ``…_2_单元方案``, ``_3`` …"""
    return distinct_file_names({u: _folder_stem(u, name) for u, name in units.items()}, suffix=PACKAGE_SUFFIX,
                               fallback=FALLBACK_NAME, max_chars=FOLDER_MAX_CHARS)


def _unit_name(result: CheckResult, unit_id: str) -> str:
    return str(result.indicators.per_unit.loc[unit_id, "name"] or "")


def export_package(result: CheckResult, unit_id: str, output_folder: str | Path, crs: QgsCoordinateReferenceSystem,
                   title: str = "", organisation: str = "", inputs: dict | None = None, date: str | None = None,
                   progress=None) -> Path:
    """Write the unit's package under ``output_folder``; returns the package folder."""
    output_folder = Path(output_folder).resolve()
    output_folder.mkdir(parents=True, exist_ok=True)
    name = _unit_name(result, unit_id)
    folders = package_folder_names({u: _unit_name(result, u) for u in result.indicators.per_unit.index})
    final = (output_folder / folders[unit_id]).resolve()
    if final.parent != output_folder:  # belt and braces: the name cannot leave the folder
        raise InputError(tr("单元名称“{name}”不能用作文件夹名。").format(name=name))
    date = date or _dt.date.today().isoformat()
    temporary = output_folder / hidden_sibling_name(final.name, f".part-{uuid.uuid4().hex[:8]}")
    temporary.mkdir()
    try:
        _write_contents(result, unit_id, temporary, crs, title, organisation, inputs or {}, date, progress)
        _replace_folder(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def _step(progress, percent, text):
    if progress is not None:
        progress(percent, text)


def _write_contents(result, unit_id, folder: Path, crs, title, organisation, inputs, date, progress):
    report = build_unit_report(result, unit_id, title=title, organisation=organisation, date=date)
    ledger = pbf_ledger(result.indicators, None)
    _step(progress, 10, tr("出图"))
    maps = export_maps(result, unit_id, folder / "附图", crs, ledger, organisation=organisation, date=date)
    for chapter in report.chapters:
        for block in chapter.blocks:
            if isinstance(block, Figure) and block.key in maps:
                block.path = maps[block.key]
    _step(progress, 55, tr("写 Word"))
    write_document(report, str(folder / "单元方案.docx"))
    _step(progress, 65, tr("写 PDF"))
    write_pdf(report, str(folder / "单元方案.pdf"), maps)
    _step(progress, 75, tr("写附表"))
    write_workbook(report, str(folder / "附表.xlsx"))
    _step(progress, 80, tr("写数据"))
    write_data_package(result, unit_id, folder / "数据.gpkg", crs, ledger)
    _write_txt(result, unit_id, folder / "子项目坐标.txt", organisation)
    _step(progress, 95, tr("写清单"))
    _write_manifest(result, report, folder, inputs)


def _write_txt(result: CheckResult, unit_id: str, path: Path, organisation: str) -> None:
    t = result.indicators.pieces.table
    plan = result.plan
    frame = result.baseline.frame
    groups = dissolve_pieces(result.indicators.pieces, (t["unit_id"] == unit_id).to_numpy() & (t["project"] >= 0).to_numpy(),
                             {"project": t["project"].to_numpy()})
    parcels = [int(key[0]) for key in groups.keys]
    pieces = list(groups.geoms)
    text = ""
    if parcels:
        lon_min, _, lon_max, _ = lonlat_bounds(np.array(pieces, dtype=object), frame.overlay_wkt)
        # As exporttxt: the survey layer's own 3° zone when it has one, else the zone of the longitude.
        choice = choose_zone(crs_facts(frame.overlay_wkt).epsg, (lon_min + lon_max) / 2.0)
        zone = choice.zone
        target = canonical_wkt(f"EPSG:{cgcs2000_gk_epsg(zone)}")
        local = transform_geometries(np.array(pieces, dtype=object), frame.overlay_wkt, target)
        areas = frame.areas(np.array(pieces, dtype=object))
        records = [TxtParcel(geometry=g, number=str(plan.project_table["id"].iat[p]),
                             name=str(plan.project_table["name"].iat[p] or ""), use=plan.project_table["type"].iat[p],
                             class_code=plan.project_table["code_after"].iat[p], area_ha=float(a) / 10000.0)
                   for g, p, a in zip(local, parcels, areas)]
        text = write_txt(records, TxtHeader(zone=zone, producer=organisation),
                         prefix_zone=choice.layer_prefix if choice.from_layer else True)
    path.write_bytes(text.encode("gb18030"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_manifest(result: CheckResult, report, folder: Path, inputs: dict) -> None:
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        files.append({"path": path.relative_to(folder).as_posix(), "bytes": path.stat().st_size,
                      "sha256": _sha256(path)})
    ruleset = result.ruleset
    manifest = {
        "format": "land_consolidation/unit-scheme/1",
        "unit": {"id": report.unit_id, "name": report.unit_name},
        "title": report.title, "organisation": report.organisation, "date": report.date,
        "plugin_version": plugin_version(),
        "ruleset": {"id": ruleset.id, "version": ruleset.version, "title": ruleset.title_zh, "path": ruleset.path,
                    "sha256": ruleset.sha256},
        "conventions": tr("面积为 CGCS2000 椭球面积；地类面积按三调统计口径（TBDLMJ 按比例分摊，田坎单列）；1 亩 = 10000/15 平方米"),
        "inputs": inputs,
        "facts": report.facts,
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=float),
                                          encoding="utf-8")


def _replace_folder(new: Path, final: Path) -> None:
    """Move ``new`` to ``final``; an existing package is set aside first and removed after."""
    old = None
    if final.exists():
        old = final.parent / hidden_sibling_name(final.name, f".old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)  # put the previous package back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
