"""``landconsolidation:exporttxt`` / ``importtxt`` — 部标 TXT coordinate files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ...core.common.errors import InputError
from ...core.common.files import write_atomically
from ...core.common.i18n import tr
from ...core.formats.bubiao_txt import (
    TxtHeader,
    TxtParcel,
    cgcs2000_gk_epsg,
    choose_zone,
    gauss_kruger_zone,
    read_txt,
    write_txt,
)
from ...core.geometry.measure import ellipsoidal_areas
from ...core.geometry.projection import canonical_wkt, crs_facts, lonlat_bounds, transform_geometries
from ...core.ingest.validate import ROLES, Report, polygons
from .base import LandConsolidationAlgorithm, warn
from .sinks import write_table

ENCODINGS = ("GBK", "UTF-8")
# ZONE_PREFIX: indices 0/1 are what the former checkbox's False/True mean (a script or model passing
# a boolean keeps its meaning); 2, the default, follows the layer's own CGCS2000 3° GK CRS.
ZONE_PREFIX_OPTIONS = ("不加带号", "加带号", "按图层坐标系（经纬度等其他坐标系加带号）")
PREFIX_NO, PREFIX_YES, PREFIX_AS_LAYER = range(3)
TXT_FIELDS = (("DKBH", str), ("DKMC", str), ("DKYT", str), ("DLBM", str), ("TFH", str), ("DKMJ", float))
FORMAT_ZH = (
    "<p>部标 TXT 格式：[属性描述] 段（坐标系 2000 国家大地坐标系、3 度带高斯克吕格、带号、精度）和 [地块坐标] 段；每个地块一行"
    "“界址点数,地块面积(公顷),地块编号,地块名称,面,图幅号,地块用途,地类编码,@”，其后每个界址点一行“J点号,圈号,X(北),Y(东)”；"
    "外圈顺时针、内圈（岛洞）逆时针，点号在地块内连续，每圈以首点闭合（重复首点点号），界址点数含闭合点。"
    "地块面积为椭球面积（公顷，4 位小数）。</p>"
)
FORMAT_EN = (
    "<p>The Ministry TXT format: a [属性描述] header (CGCS2000, 3° Gauss–Krüger, zone, precision) and a [地块坐标] "
    "section: per parcel a record line (points, area in ha, number, name, 面, sheet, use, class, @) then one line per "
    "vertex 'J<n>,<ring>,X(north),Y(east)'; outer rings clockwise, holes counter-clockwise, numbering continuous "
    "within a parcel, each ring closed by repeating its first point. Areas are ellipsoidal hectares.</p>"
)


class ExportTxtAlgorithm(LandConsolidationAlgorithm):
    NAME = "exporttxt"
    DISPLAY = "导出部标 TXT 坐标文件"
    GROUP = "exchange"
    HELP_ZH = ("<p>把子项目（或任意面图层）导出为部标 TXT 界址点坐标文件，供报批、增减挂钩、一张图等系统导入。</p>"
               "<p>带号：图层本身是 CGCS2000 3 度带高斯克吕格坐标系（EPSG:4513–4533 “zone 25–45”，Y（东）坐标含带号；"
               "EPSG:4534–4554 “CM 75E–135E”，不含带号）时，沿用图层的带号，坐标即图层坐标，即使数据跨到相邻带；"
               "其他坐标系（如经纬度 EPSG:4490）按数据中心经度选带并转换到该带。日志写明按哪条规则选的带"
               "（如“按图层坐标系 EPSG:4549 的 40 带输出”或“按数据经度选择 41 带”）；文件头“带号”即所选带号，"
               "部标文件头没有备注项，规则不写入文件。</p>"
               "<p>Y 坐标带号：默认“按图层坐标系”——图层坐标含带号（如 EPSG:4528）则加带号，不含（如 EPSG:4549）"
               "则不加，与图层一致；经纬度等其他坐标系加带号（与原“Y 坐标加带号”默认勾选相同）。"
               "也可指定一律加或不加带号（原勾选框的是/否）。</p>") + FORMAT_ZH
    HELP_EN = ("<p>Exports sub-projects (or any polygon layer) to a Ministry TXT coordinate file for approval and "
               "land-quota systems.</p>"
               "<p>Zone: a layer in a CGCS2000 3° Gauss–Krüger CRS (EPSG:4513–4533 'zone 25–45', eastings with the "
               "zone number; EPSG:4534–4554 'CM 75E–135E', without) keeps its own zone and its coordinates, even where "
               "the data reach into the next zone; any other CRS (e.g. geographic EPSG:4490) gets the zone of the "
               "data's mean longitude. The log says which rule chose the zone; the header's 带号 is that zone (the "
               "Ministry header has no remark field, so the rule is not written into the file).</p>"
               "<p>Zone number on eastings: by default as the layer has it (EPSG:4528 with, EPSG:4549 without); "
               "with the number for other CRSs (the former checkbox's default). 'Always' / 'never' force it, as the "
               "former checkbox's True / False did.</p>") + FORMAT_EN

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", tr("面图层（如子项目）"),
                                                              [QgsProcessing.SourceType.TypeVectorPolygon]))
        for name, label, default in (("ID_FIELD", "地块编号字段", "XMBH"), ("NAME_FIELD", "地块名称字段", "XMMC"),
                                     ("USE_FIELD", "地块用途字段", "XMLX"), ("CLASS_FIELD", "地类编码字段", "GHDLBM")):
            self.addParameter(QgsProcessingParameterField(name, tr(label), defaultValue=default,
                                                          parentLayerParameterName="INPUT", optional=True))
        self.addParameter(QgsProcessingParameterString("PRODUCER", tr("数据产生单位"), defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterNumber("DECIMALS", tr("坐标小数位数"), QgsProcessingParameterNumber.Type.Integer,
                                                       3, minValue=0, maxValue=6))
        self.addParameter(QgsProcessingParameterEnum("ZONE_PREFIX", tr("Y 坐标带号"),
                                                     options=[tr(o) for o in ZONE_PREFIX_OPTIONS],
                                                     defaultValue=PREFIX_AS_LAYER))
        self.addParameter(QgsProcessingParameterEnum("ENCODING", tr("文件编码"), options=list(ENCODINGS),
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", tr("TXT 文件"), "TXT (*.txt)"))
        self.addOutput(QgsProcessingOutputNumber("PARCELS", tr("地块数")))

    def checkParameterValues(self, parameters, context):
        # ZONE_PREFIX was a checkbox: scripts and models passing True / False keep working.
        if isinstance(parameters.get("ZONE_PREFIX"), bool):
            parameters = {**parameters, "ZONE_PREFIX": int(parameters["ZONE_PREFIX"])}
        return super().checkParameterValues(parameters, context)

    def zone_prefix_choice(self, parameters, context) -> int:
        value = parameters.get("ZONE_PREFIX")
        if isinstance(value, bool):
            return PREFIX_YES if value else PREFIX_NO
        return self.parameterAsEnum(parameters, "ZONE_PREFIX", context)

    def perform(self, parameters, context, feedback, progress):
        names = {key: self.parameterAsString(parameters, key, context) for key in
                 ("ID_FIELD", "NAME_FIELD", "USE_FIELD", "CLASS_FIELD")}
        layer = self.read_source(parameters, "INPUT", context, fields=tuple(n for n in names.values() if n),
                                 feedback=feedback)
        report = Report()
        layer = polygons(layer, ROLES["projects"], report)
        for text in report.warnings:
            warn(feedback, text)
        if len(layer) == 0:
            raise InputError(tr("图层“{layer}”没有可导出的面要素。").format(layer=layer.name))
        decimals = self.parameterAsInt(parameters, "DECIMALS", context)
        lon_min, _, lon_max, _ = lonlat_bounds(layer.geoms, layer.crs_wkt)
        epsg = crs_facts(layer.crs_wkt).epsg
        choice = choose_zone(epsg, (lon_min + lon_max) / 2.0)
        zone, layer_prefix = choice.zone, choice.layer_prefix
        if choice.from_layer:
            # The planner's layer is in a zone already: the file keeps it (and its coordinates).
            feedback.pushInfo(tr("按图层坐标系 EPSG:{epsg} 的 {zone} 带输出。").format(epsg=epsg, zone=zone))
            by_longitude = gauss_kruger_zone((lon_min + lon_max) / 2.0)
            if by_longitude != zone:
                feedback.pushInfo(tr("（数据中心经度 {lon:.2f}° 属 {other} 带，仍按图层的 {zone} 带。）").format(
                    lon=(lon_min + lon_max) / 2.0, other=by_longitude, zone=zone))
        else:
            feedback.pushInfo(tr("按数据经度选择 {zone} 带（图层坐标系不是 CGCS2000 3 度带高斯克吕格）。").format(
                zone=zone))
        plain_epsg = cgcs2000_gk_epsg(zone)  # the zone without the number on eastings, as TxtParcel wants
        if epsg == plain_epsg:
            geoms = layer.geoms
        else:
            geoms = transform_geometries(layer.geoms, layer.crs_wkt, canonical_wkt(f"EPSG:{plain_epsg}"))
        areas = ellipsoidal_areas(layer.geoms, layer.crs_wkt)
        parcels = []
        def value(key, position):
            field = names[key]
            raw = layer.attrs[field].iat[position] if field and field in layer.attrs else None
            return "" if raw is None or raw != raw else str(raw)

        for position, geom in enumerate(geoms):
            parcels.append(TxtParcel(geometry=geom, number=value("ID_FIELD", position) or str(position + 1),
                                     name=value("NAME_FIELD", position), use=value("USE_FIELD", position),
                                     class_code=value("CLASS_FIELD", position),
                                     area_ha=float(areas[position]) / 10000.0))
        header = TxtHeader(zone=zone, producer=self.parameterAsString(parameters, "PRODUCER", context),
                           precision=f"{10 ** -decimals:.{decimals}f}" if decimals else "1")
        choice = self.zone_prefix_choice(parameters, context)
        prefix_zone = layer_prefix if choice == PREFIX_AS_LAYER else choice == PREFIX_YES
        text = write_txt(parcels, header, decimals=decimals, prefix_zone=prefix_zone)
        encoding = ENCODINGS[self.parameterAsEnum(parameters, "ENCODING", context)]
        path = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        write_atomically(Path(path), text.encode("gb18030" if encoding == "GBK" else "utf-8"))
        feedback.pushInfo(tr("已导出 {n} 个地块（{zone} 带，Y 坐标{prefix}）。").format(
            n=len(parcels), zone=zone, prefix=tr("含带号") if prefix_zone else tr("不含带号")))
        return {"OUTPUT": path, "PARCELS": len(parcels)}


class ImportTxtAlgorithm(LandConsolidationAlgorithm):
    NAME = "importtxt"
    DISPLAY = "导入部标 TXT 坐标文件"
    GROUP = "exchange"
    HELP_ZH = ("<p>读取部标 TXT 界址点坐标文件为面图层（CGCS2000 3 度带高斯克吕格，按文件带号；Y 坐标带不带带号均可），"
               "字段 DKBH、DKMC、DKYT、DLBM、TFH、DKMJ（文件记载的地块面积，公顷）。编码自动识别（UTF-8 或 GBK）。"
               "</p>") + FORMAT_ZH
    HELP_EN = ("<p>Reads a Ministry TXT coordinate file into a polygon layer (CGCS2000 3° Gauss–Krüger of the file's "
               "zone), with the parcel number, name, use, class, sheet and the area the file states (ha). UTF-8 or GBK "
               "is detected.</p>") + FORMAT_EN

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("INPUT", tr("TXT 文件"), extension="txt"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("地块"), QgsProcessing.SourceType.TypeVectorPolygon))

    def perform(self, parameters, context, feedback, progress):
        path = self.parameterAsFile(parameters, "INPUT", context)
        text = decode_txt(Path(path).read_bytes(), os.path.basename(path))
        header, parcels = read_txt(text, source=os.path.basename(path))
        crs = QgsCoordinateReferenceSystem(f"EPSG:{cgcs2000_gk_epsg(header.zone, header.zone_width)}")
        rows = [{"DKBH": p.number, "DKMC": p.name, "DKYT": p.use, "DLBM": p.class_code, "TFH": p.sheet,
                 "DKMJ": p.area_ha} for p in parcels]
        geoms = np.array([p.geometry for p in parcels], dtype=object)
        feedback.pushInfo(tr("读入 {n} 个地块（{zone} 带）。").format(n=len(parcels), zone=header.zone))
        return {"OUTPUT": write_table(self, parameters, context, "OUTPUT", TXT_FIELDS, rows, geoms=geoms, crs=crs,
                                      feedback=feedback)}


def decode_txt(data: bytes, source: str = "") -> str:
    """TXT files come as UTF-8 (with or without BOM), GBK, or UTF-16 with a BOM (Notepad's
    "Unicode"); GB18030 reads GBK and more. Anything else is refused with the file's name."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise InputError(tr("文件 {source} 不是可识别的文本（支持 UTF-8、GBK/GB18030 和带 BOM 的 UTF-16）。").format(
        source=source or tr("（未命名）")))
