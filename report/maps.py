"""附图: the five maps of a 单元方案, from the layout template, as 300 dpi PNG and PDF.

Each map is drawn from memory layers made of the check's own pieces (so the maps show
exactly what was counted), in a private QgsProject that leaves the planner's project alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFillSymbol,
    QgsLayoutExporter,
    QgsPrintLayout,
    QgsProject,
    QgsReadWriteContext,
    QgsRectangle,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.PyQt.QtXml import QDomDocument

from ..core.common.i18n import tr
from ..core.products.check import CheckResult
from ..core.products.pbf_ledger import ADJUSTED_IN, ADJUSTED_OUT
from ..qgis_bridge import styles
from ..qgis_bridge.fields import make_fields
from ..qgis_bridge.layer_io import crs_wkt_of, to_qgs_geometry
from .layout_template import LAYOUT_TEMPLATE
from .unit_report import MAP_TITLES

DPI = 300
# A qualitative palette legible on the land-use colours (Tableau 10): one colour per 子项目 type in the unit.
PROJECT_PALETTE = ("#1f77b4", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#2ca02c",
                   "#7f7f7f", "#bcbd22")
TOWNSHIP_FILL = "#f4f1e4"
PBF_BEFORE = "#b35806"  # 现状永久基本农田: orange-brown hatch and outline
PBF_AFTER = "#a6d96a"  # 规划永久基本农田: solid yellow-green
PBF_OUT, PBF_IN = "#d7191c", "#2b83ba"  # 调出 red, 调入 blue


def outlined_fill(colour: str, fill_alpha: int = 50, width: float = 0.7, style: str = "solid") -> QgsFillSymbol:
    """A fill of ``colour`` at low opacity with a full-strength outline: what lies beneath still reads."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return QgsFillSymbol.createSimple({"color": f"{red},{green},{blue},{fill_alpha}", "outline_color": colour,
                                       "outline_width": str(width), "style": style})


def style_project_types(layer: QgsVectorLayer, ruleset, kinds) -> None:
    """子项目 categorized by XMLX, one palette colour per type present, outline-strong and see-through."""
    categories = []
    for k, kind in enumerate(kinds):
        colour = PROJECT_PALETTE[k % len(PROJECT_PALETTE)]
        symbol = outlined_fill(colour, 45, 0.8, style="solid" if k < len(PROJECT_PALETTE) else "b_diagonal")
        task = ruleset.task_of(kind) or tr("其他")
        categories.append(QgsRendererCategory(kind, symbol, f"{task}：{kind}"))
    layer.setRenderer(QgsCategorizedSymbolRenderer("XMLX", categories))
    styles.label(layer, "XMBH", 8.0)


class MapLayers:
    """Memory layers for one unit's maps, in the output CRS."""

    def __init__(self, result: CheckResult, unit_id: str, crs: QgsCoordinateReferenceSystem, ledger):
        self.result = result
        self.unit_id = unit_id
        self.crs = crs
        self.wkt = crs_wkt_of(crs)
        self.frame = result.baseline.frame
        self.project = QgsProject()
        self.project.setCrs(crs)
        self.ledger = ledger
        t = result.indicators.pieces.table
        self.mine = (t["unit_id"] == unit_id).to_numpy()
        self.unit_geom = result.plan.units.geoms[list(result.plan.unit_ids).index(unit_id)]

    def layer(self, name: str, geoms, rows=None, spec=(("name", str),), style=None) -> QgsVectorLayer:
        geoms = self.frame.export(np.asarray(geoms, dtype=object), self.wkt) if len(geoms) else []
        layer = QgsVectorLayer(f"MultiPolygon?crs={self.crs.authid() or 'EPSG:4549'}", tr(name), "memory")
        if not self.crs.authid():
            layer.setCrs(self.crs)
        provider = layer.dataProvider()
        provider.addAttributes(make_fields(spec).toList())
        layer.updateFields()
        features = []
        for k, geom in enumerate(geoms):
            if shapely.is_empty(geom):
                continue
            feature = QgsFeature(layer.fields())
            feature.setGeometry(to_qgs_geometry(geom, multi=True))
            feature.setAttributes([None if rows is None else rows[k].get(field) for field, _ in spec])
            features.append(feature)
        provider.addFeatures(features)
        layer.updateExtents()
        if style is not None:
            style(layer)
        self.project.addMapLayer(layer, False)
        return layer

    # ------------------------------------------------------------------ the layers
    def unit_outline(self):
        return self.layer("整治单元", [self.unit_geom], [{"DYMC": self._unit_name(), "DYBH": self.unit_id}],
                          (("DYBH", str), ("DYMC", str)), styles.style_units)

    def highlight(self):
        """This unit, filled, for the 区位图 where it stands among the others."""
        return self.layer("本单元", [self.unit_geom], [{"DYMC": self._unit_name()}], (("DYMC", str),),
                          lambda layer: (layer.renderer().setSymbol(styles.fill("#d7191c", "#8b0000", 0.6, alpha=0.8)),
                                         styles.label(layer, "DYMC", 10.0, "#8b0000")))

    def _unit_name(self):
        return str(self.result.indicators.per_unit.loc[self.unit_id, "name"] or self.unit_id)

    def land_use(self, after: bool):
        t = self.result.indicators.pieces.table[self.mine]
        geoms = self.result.indicators.pieces.geoms[self.mine]
        code = t["code_after" if after else "code_before"].to_numpy()
        keys = list(zip(t["parcel"].to_numpy(), t["project"].to_numpy() if after else np.zeros(len(t)), code))
        groups = {}
        for k, key in enumerate(keys):
            groups.setdefault(key, []).append(k)
        merged = [shapely.union_all(geoms[idx]) for idx in groups.values()]
        rows = [{"DLBM": key[2]} for key in groups]
        classes = self.result.baseline.classes
        return self.layer("规划地类" if after else "现状地类", merged, rows, (("DLBM", str),),
                          lambda layer: styles.style_landuse(layer, classes))

    def projects(self):
        plan = self.result.plan
        if plan.project_parts is None:
            return None
        t = self.result.indicators.pieces.table[self.mine]
        geoms = self.result.indicators.pieces.geoms[self.mine]
        rows, merged = [], []
        for project in sorted(set(t["project"]) - {-1}):
            chosen = (t["project"] == project).to_numpy()
            merged.append(shapely.union_all(geoms[chosen]))
            rows.append({"XMBH": plan.project_table["id"].iat[project], "XMLX": plan.project_table["type"].iat[project]})
        kinds = sorted({r["XMLX"] for r in rows}, key=lambda k: (self.result.ruleset.all_project_types + (k,)).index(k))
        return self.layer("子项目", merged, rows, (("XMBH", str), ("XMLX", str)),
                          lambda layer: style_project_types(layer, self.result.ruleset, kinds))

    def flagged(self, flag: str, name: str, style):
        t = self.result.indicators.pieces.table
        chosen = self.mine & t["in_" + flag].to_numpy(bool)
        geoms = self.result.indicators.pieces.geoms[chosen]
        merged = [shapely.union_all(geoms)] if len(geoms) else []
        return self.layer(name, merged, style=style)

    def adjustments(self):
        table = self.ledger.table
        chosen = (table["unit_id"] == self.unit_id).to_numpy()
        layers = []
        for direction, colour in ((ADJUSTED_OUT, PBF_OUT), (ADJUSTED_IN, PBF_IN)):
            pick = chosen & (table["direction"] == tr(direction)).to_numpy()
            geoms = self.ledger.geoms[pick]
            merged = [shapely.union_all(geoms)] if len(geoms) else []
            layers.append(self.layer(tr("永久基本农田") + tr(direction), merged,
                                     style=lambda layer, c=colour: layer.renderer().setSymbol(
                                         styles.fill(c, c, 0.4, alpha=0.85))))
        return layers

    def conflicts(self):
        conflicts = [c for c in self.result.conflicts if c.scope_id in (self.unit_id, "")]
        return self.layer("冲突", [c.geom for c in conflicts], [{"kind": c.kind} for c in conflicts], (("kind", str),),
                          lambda layer: layer.renderer().setSymbol(styles.fill("#ff0000", "#ff0000", 0.6,
                                                                               style="f_diagonal")))

    def context(self):
        """The whole area for the 区位图: every township (the TOWNSHIPS layer, else the survey's 坐落单位
        townships), named, and every unit outlined; the extent is all of it, not just the units."""
        baseline = self.result.baseline
        if baseline.townships is not None:
            towns = sorted({str(c) for c in baseline.townships.attrs["XZQDM"]} - {""})
        else:
            towns = sorted(set(baseline.parcel_table["township"]) - {""})
        geoms = [baseline.township_geometry(code) for code in towns]
        rows = [{"XZQDM": c, "XZQMC": baseline.township_names.get(c, "") or c} for c in towns]

        def style_towns(layer):
            layer.renderer().setSymbol(styles.fill(TOWNSHIP_FILL, "#000000", 0.9, outline_style="dash dot"))
            styles.label(layer, "XZQMC", 12.0)

        township_layer = self.layer("乡镇", geoms, rows, (("XZQDM", str), ("XZQMC", str)), style_towns)
        units = self.layer("全部整治单元", list(self.result.plan.units.geoms),
                           [{"DYBH": "" if i == self.unit_id else i} for i in self.result.plan.unit_ids],
                           (("DYBH", str),),  # this unit is named by its highlight
                           lambda layer: (layer.renderer().setSymbol(outlined_fill("#d7191c", 40, 0.5)),
                                          styles.label(layer, "DYBH", 8.0, "#8b0000")))
        whole = [g for g in geoms if not shapely.is_empty(g)] + list(self.result.plan.units.geoms)
        return [units, township_layer], shapely.union_all(np.array(whole, dtype=object))


def export_maps(result: CheckResult, unit_id: str, folder: Path, crs: QgsCoordinateReferenceSystem, ledger,
                organisation: str = "", date: str = "") -> dict:
    """Write the five maps (PNG at 300 dpi and PDF) into ``folder``; returns title → PNG path."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = MapLayers(result, unit_id, crs, ledger)
    unit = layers.unit_outline()
    unit_extent = layers.unit_geom
    maps = {}
    context_layers, context_extent = layers.context()
    eco = layers.flagged("eco", "生态保护红线", styles.style_eco) if result.baseline.eco is not None else None
    udb = layers.flagged("udb_plan", "城镇开发边界", styles.style_udb) if result.plan.udb_plan is not None else None
    plan_pbf = layers.flagged("pbf_plan", "规划永久基本农田", styles.style_pbf)
    # The comparison map's own two: 现状 hatched orange-brown over 规划 solid yellow-green.
    plan_pbf_compared = layers.flagged("pbf_plan", "规划永久基本农田", lambda layer: layer.renderer().setSymbol(
        styles.fill(PBF_AFTER, "#4d9221", 0.3, alpha=0.85)))
    base_pbf = layers.flagged("pbf", "现状永久基本农田", lambda layer: layer.renderer().setSymbol(
        outlined_fill(PBF_BEFORE, 255, 0.6, style="b_diagonal")))
    projects = layers.projects()
    contents = {
        "区位图": ([layers.highlight()] + context_layers, context_extent),
        "土地利用现状图": ([unit, layers.land_use(after=False)], unit_extent),
        "整治规划图": ([unit] + ([projects] if projects is not None else []) + [layers.land_use(after=True)], unit_extent),
        "永久基本农田调整前后对比图": ([unit] + layers.adjustments() + [base_pbf, plan_pbf_compared], unit_extent),
        "三线关系图": ([unit, layers.conflicts()] + [x for x in (eco, udb) if x is not None] + [plan_pbf], unit_extent),
    }
    name = str(result.indicators.per_unit.loc[unit_id, "name"] or "")
    for title in MAP_TITLES:
        map_layers, extent_geom = contents[title]
        layout = _layout(layers.project)
        _fill(layout, tr(title), f"{unit_id} {name}".strip(), map_layers, extent_geom, layers, crs, organisation, date)
        exporter = QgsLayoutExporter(layout)
        png = folder / f"{tr(title)}.png"
        pdf = folder / f"{tr(title)}.pdf"
        image = QgsLayoutExporter.ImageExportSettings()
        image.dpi = DPI
        image.exportMetadata = False  # no GDAL georeferencing pass over the PNG
        if exporter.exportToImage(str(png), image) != QgsLayoutExporter.ExportResult.Success:
            raise RuntimeError(f"could not export {png}")
        if exporter.exportToPdf(str(pdf), QgsLayoutExporter.PdfExportSettings()) != QgsLayoutExporter.ExportResult.Success:
            raise RuntimeError(f"could not export {pdf}")
        maps[title] = str(png)
    return maps


def _north_arrow() -> str:
    """QGIS's own north arrow SVG, wherever this installation keeps its SVG library."""
    for folder in QgsApplication.svgPaths():
        candidate = Path(folder) / "arrows" / "NorthArrow_02.svg"
        if candidate.exists():
            return str(candidate)
    return ""


def _layout(project) -> QgsPrintLayout:
    layout = QgsPrintLayout(project)
    document = QDomDocument()
    document.setContent(Path(LAYOUT_TEMPLATE).read_text(encoding="utf-8"))
    layout.loadFromTemplate(document, QgsReadWriteContext())
    return layout


def literal(text: str) -> str:
    """``text`` as a layout label shows it, never evaluates it: labels evaluate ``[% … %]`` as QGIS
    expressions, so a unit named ``[% env('HOME') %]`` would print the home folder. A zero-width
    space after the bracket keeps the look and breaks the marker."""
    return str(text).replace("[%", "[\u200b%")


def _fill(layout, title, subtitle, map_layers, extent_geom, layers: MapLayers, crs, organisation, date):
    layout.itemById("title").setText(literal(title))
    layout.itemById("subtitle").setText(literal(subtitle))
    map_item = layout.itemById("map")
    map_item.setCrs(crs)
    map_item.setLayers(map_layers)
    xmin, ymin, xmax, ymax = shapely.bounds(layers.frame.export(np.array([extent_geom], dtype=object),
                                                                layers.wkt)[0])
    # Fit the extent (8% margin) to the map frame's proportions, centred on the features.
    frame = map_item.rect()
    ratio = frame.width() / frame.height()
    width, height = (xmax - xmin) * 1.08, (ymax - ymin) * 1.08
    width, height = max(width, height * ratio), max(height, width / ratio)
    cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    map_item.setExtent(QgsRectangle(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))
    legend = layout.itemById("legend")
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.removeAllChildren()
    for layer in map_layers:
        root.addLayer(layer)
    legend.adjustBoxSize()
    layout.itemById("scalebar").update()
    north = layout.itemById("north")
    if north is not None and not (north.picturePath() and Path(north.picturePath()).is_file()):
        north.setPicturePath(_north_arrow())
    note = tr("坐标系：2000国家大地坐标系（CGCS2000）\n投影：{crs}\n面积：椭球面积，三调统计口径\n制图单位：{org}\n制图日期：{date}").format(
        crs=crs.description(), org=organisation or "—", date=date)
    layout.itemById("note").setText(literal(note))
