"""``landconsolidation:createscheme`` — a new 方案 GeoPackage with styled, form-configured layers."""

from __future__ import annotations

import os
import shutil
import tempfile

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDefaultValue,
    QgsFeature,
    QgsFeatureRequest,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ...core.common.errors import Cancelled, InputError
from ...core.common.i18n import tr
from ...core.rules.landclasses import load_land_classes
from ...qgis_bridge import styles
from ...qgis_bridge.fields import make_field
from ...qgis_bridge.layer_io import save_default_style
from .base import LandConsolidationAlgorithm
from .scheme_inputs import read_ruleset

UNITS_LAYER, PROJECTS_LAYER, PBF_PLAN_LAYER = "DY", "XM", "YJJBNTTB_GH"
UNIT_FIELDS = (("DYBH", str), ("DYMC", str), ("PQMC", str), ("RWLX", str))
# A public contract (the 单元方案's 子项目清单, the panel read these names): add fields, never rename them.
PROJECT_FIELDS = (("XMBH", str), ("XMMC", str), ("XMLX", str), ("GHDLBM", str), ("KCXS", float), ("TZ", float),
                  ("KSNF", int), ("JSNF", int), ("DYBH", str), ("SZXZ", str), ("SZC", str), ("JSGM", float),
                  ("ZJLY", str), ("SSZT", str))
PBF_FIELDS = (("BSM", str), ("DLBM", str), ("DLMC", str), ("ZLDWDM", str), ("XZQDM", str), ("GDDB", int),
              ("GDPDJB", str))
DISPLAY_NAMES = {UNITS_LAYER: "整治单元", PROJECTS_LAYER: "子项目", PBF_PLAN_LAYER: "规划永久基本农田"}


class CreateSchemeAlgorithm(LandConsolidationAlgorithm):
    NAME = "createscheme"
    DISPLAY = "新建整治方案"
    GROUP = "scheme"
    HELP_ZH = (
        "<p>新建一个方案 GeoPackage，含三个空图层并配置好中文别名、样式和表单：整治单元 DY（DYBH 单元编号、DYMC 单元名称、"
        "PQMC 片区名称、RWLX 整治任务）、子项目 XM（XMBH 子项目编号、XMMC 子项目名称、XMLX 子项目类型下拉表按 5+X 任务分组、"
        "GHDLBM 规划地类下拉表为三调地类、KCXS 扣除系数、TZ 投资万元、KSNF/JSNF 起止年份、DYBH 所在单元编号、SZXZ 所在乡镇、"
        "SZC 所在村、JSGM 建设规模（亩）、ZJLY 资金来源下拉表、SSZT 实施主体）、规划永久基本农田 YJJBNTTB_GH。"
        "在面板中绘制的子项目自动编号（单元内为“单元编号-序号”，如 DY01-03；单元外为 XM001 起）并填入所在单元；用 QGIS 自带工具添加的子项目按 XM 序号自动编号。给出现状永久基本农田时，"
        "规划永久基本农田以其副本开始。样式随图层保存在 GeoPackage 中，打开即生效。已有同名文件时不覆盖，除非勾选覆盖。</p>"
    )
    HELP_EN = (
        "<p>Creates a scheme GeoPackage with three empty, styled layers with Chinese aliases and forms: units (DY: "
        "DYBH, DYMC, PQMC, RWLX), sub-projects (XM: XMBH, XMMC, XMLX with a drop-down of the 5+X project types, GHDLBM "
        "with a drop-down of the survey classes, KCXS, TZ, KSNF, JSNF, DYBH, township SZXZ, village SZC, size JSGM in mu, "
        "funding source ZJLY with a drop-down, implementing body SSZT) and planned permanent "
        "basic farmland (YJJBNTTB_GH), optionally seeded with a copy of the baseline. Sub-projects drawn in the panel "
        "get the next free id (the unit's id and a sequence such as DY01-03, XM001 onwards outside units) and their "
        "unit; those added with QGIS's own tools get the next XM number. Styles are stored in the "
        "GeoPackage. An existing file is not overwritten unless asked.</p>"
    )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterCrs("CRS", tr("坐标系（缺省同现状永久基本农田，或 EPSG:4549）"),
                                                    optional=True))
        self.addParameter(QgsProcessingParameterString("PQMC", tr("片区名称"), defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "PBF", tr("现状永久基本农田（复制为规划永久基本农田的初始内容）"), [QgsProcessing.SourceType.TypeVectorPolygon],
            optional=True))
        self.addParameter(QgsProcessingParameterFile("RULESET", tr("规则集文件（子项目类型表）"), extension="yaml",
                                                     optional=True))
        self.addParameter(QgsProcessingParameterBoolean("OVERWRITE", tr("覆盖已有文件"), False))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", tr("方案 GeoPackage"),
                                                                "GeoPackage (*.gpkg)"))
        for name, label in (("UNITS_LAYER", "整治单元"), ("PROJECTS_LAYER", "子项目"),
                            ("PBF_PLAN_LAYER", "规划永久基本农田")):
            self.addOutput(QgsProcessingOutputVectorLayer(name, tr(label)))

    def perform(self, parameters, context, feedback, progress):
        path = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        if not path.lower().endswith(".gpkg"):
            path += ".gpkg"
        if os.path.exists(path) and not self.parameterAsBoolean(parameters, "OVERWRITE", context):
            raise InputError(tr("文件 {path} 已存在：为免覆盖已有方案，请换一个文件名或勾选“覆盖已有文件”。").format(path=path))
        ruleset = read_ruleset(self, parameters, context)
        seed = self.parameterAsSource(parameters, "PBF", context)
        if seed is not None and QgsWkbTypes.geometryType(seed.wkbType()) != QgsWkbTypes.GeometryType.PolygonGeometry:
            raise InputError(tr("图层“{layer}”（现状永久基本农田）应为面图层，不能复制为规划永久基本农田。").format(
                layer=seed.sourceName()))
        if parameters.get("CRS") not in (None, ""):
            crs = self.parameterAsCrs(parameters, "CRS", context)
        elif seed is not None:
            crs = seed.sourceCrs()
        else:
            crs = QgsCoordinateReferenceSystem("EPSG:4549")
        area_name = self.parameterAsString(parameters, "PQMC", context)

        # Build in a temporary file, then move into place: a failed run leaves nothing half-made.
        workdir = tempfile.mkdtemp(prefix="lc_scheme_", dir=os.path.dirname(os.path.abspath(path)) or None)
        temporary = os.path.join(workdir, "scheme.gpkg")
        try:
            _create_layer(temporary, UNITS_LAYER, UNIT_FIELDS, crs, context, first=True)
            _create_layer(temporary, PROJECTS_LAYER, PROJECT_FIELDS, crs, context)
            pbf_fields = seed.fields() if seed is not None else None
            _create_layer(temporary, PBF_PLAN_LAYER, PBF_FIELDS, crs, context, fields=pbf_fields)
            if seed is not None:
                copied = _copy_features(seed, temporary, PBF_PLAN_LAYER, crs, context, feedback)
                feedback.pushInfo(tr("规划永久基本农田已复制现状 {n} 个图斑。").format(n=copied))
            progress.step(70, tr("写入样式与表单"))
            _style(temporary, ruleset, area_name)
            os.replace(temporary, path)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

        outputs = {"OUTPUT": path}
        for key, layer_name in (("UNITS_LAYER", UNITS_LAYER), ("PROJECTS_LAYER", PROJECTS_LAYER),
                                ("PBF_PLAN_LAYER", PBF_PLAN_LAYER)):
            uri = f"{path}|layername={layer_name}"
            outputs[key] = uri
            if context.project() is not None:
                details = QgsProcessingContext.LayerDetails(tr(DISPLAY_NAMES[layer_name]), context.project(), key)
                context.addLayerToLoadOnCompletion(uri, details)
        return outputs


def _create_layer(path, layer_name, spec, crs, context, first=False, fields=None):
    if fields is None:
        fields = QgsFields()
        for name, kind in spec:
            fields.append(make_field(name, kind))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer_name
    options.fileEncoding = "UTF-8"
    options.actionOnExistingFile = (QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile if first
                                    else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer)
    transform_context = context.transformContext() if context is not None else QgsProject.instance().transformContext()
    writer = QgsVectorFileWriter.create(path, fields, QgsWkbTypes.Type.MultiPolygon, crs, transform_context, options)
    if writer.hasError() != QgsVectorFileWriter.WriterError.NoError:
        raise InputError(tr("无法创建图层 {layer}：{error}").format(layer=layer_name, error=writer.errorMessage()))
    del writer  # closes the layer


def _copy_features(source, path, layer_name, crs, context, feedback) -> int:
    layer = QgsVectorLayer(f"{path}|layername={layer_name}", layer_name, "ogr")
    transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
    features = []
    for feature in source.getFeatures(QgsFeatureRequest()):
        if feedback.isCanceled():
            raise Cancelled(tr("已取消。"))  # the temporary scheme is removed: nothing half-seeded is moved into place
        geometry = feature.geometry()
        if transform.isValid() and source.sourceCrs() != crs:
            geometry.transform(transform)
        geometry.convertToMultiType()
        copy = QgsFeature(layer.fields())
        copy.setGeometry(geometry)
        for field in source.fields():
            index = layer.fields().indexOf(field.name())
            if index >= 0:
                copy.setAttribute(index, feature[field.name()])
        features.append(copy)
    ok, _ = layer.dataProvider().addFeatures(features)
    if not ok:
        raise InputError(tr("复制现状永久基本农田失败：{error}").format(error=layer.dataProvider().lastError()))
    return len(features)


def _style(path, ruleset, area_name):
    classes = load_land_classes()
    for layer_name, apply in ((UNITS_LAYER, styles.style_units),
                              (PROJECTS_LAYER, lambda lyr: styles.style_projects(lyr, ruleset, classes)),
                              (PBF_PLAN_LAYER, styles.style_pbf)):
        layer = QgsVectorLayer(f"{path}|layername={layer_name}", tr(DISPLAY_NAMES[layer_name]), "ogr")
        apply(layer)
        if layer_name == UNITS_LAYER and area_name:
            layer.setDefaultValueDefinition(layer.fields().indexOf("PQMC"),
                                            QgsDefaultValue("'" + area_name.replace("'", "''") + "'"))
        error = save_default_style(layer, tr(DISPLAY_NAMES[layer_name]), tr("全域整治插件生成的缺省样式"))
        if error:
            raise InputError(tr("无法保存图层 {layer} 的样式：{error}").format(layer=layer_name, error=error))

