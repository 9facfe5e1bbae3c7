"""``landconsolidation:exportunitscheme`` — 单元方案成果包: Word, PDF, Excel, maps, data, TXT, manifest."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingOutputString,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ...core.common.errors import InputError
from ...core.common.i18n import tr
from ...core.common.progress import Progress
from ...core.products.check import run_check
from .base import LandConsolidationAlgorithm, warn
from .help_texts import CONVENTION_EN, CONVENTION_ZH
from .scheme_inputs import LAYER_PARAMETERS, add_scheme_parameters, read_ruleset, read_scheme_layers


class ExportUnitSchemeAlgorithm(LandConsolidationAlgorithm):
    NAME = "exportunitscheme"
    DISPLAY = "导出单元方案成果包"
    GROUP = "export"
    HELP_ZH = (
        "<p>为每个整治单元生成一个单元方案成果包（文件夹“单元编号_单元名称_单元方案”），包括：单元方案.docx（可编辑，"
        "按 resources/templates 中的 Word 模板排版，章节：概况、现状分析、整治目标与指标、整治任务与子项目、永久基本农田布局优化、"
        "三线协调与合规性分析、投资估算与实施时序、附表与附图）、单元方案.pdf（报送用）、附表.xlsx（土地利用结构调整表、"
        "永久基本农田调出调入表、子项目清单、指标核算表、地类流向表）、附图（区位图、土地利用现状图、整治规划图、"
        "永久基本农田调整前后对比图、三线关系图，300 dpi PNG 与 PDF）、数据.gpkg（含样式）、子项目坐标.txt（部标格式）"
        "和 manifest.json（文件清单、规则集及其哈希、插件版本、输入来源、各文件 sha256）。文中数字全部来自合规性检查的同一计算。"
        "成果先写入临时文件夹再整体替换，不会留下半个成果包。</p>"
    ) + CONVENTION_ZH
    HELP_EN = (
        "<p>Writes one unit-scheme package per unit: an editable Word report built from a replaceable template, a PDF "
        "for filing, an Excel workbook of the standard tables, five maps (PNG at 300 dpi and PDF), a GeoPackage of the "
        "unit's layers with styles, the sub-projects as a Ministry TXT file and a manifest with checksums. Every figure "
        "comes from the same computation as checkunits. Packages are written to a temporary folder and moved into "
        "place.</p>"
    ) + CONVENTION_EN

    def flags(self):
        # Layouts and Qt's PDF writer are safest on the main thread; the export reports progress.
        return super().flags() | QgsProcessingAlgorithm.Flag.FlagNoThreading

    def initAlgorithm(self, config=None):
        add_scheme_parameters(self)
        self.addParameter(QgsProcessingParameterString("UNIT_IDS", tr("单元编号（多个用逗号分隔；空则全部单元）"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString("TITLE", tr("方案标题（空则按单元名称）"), optional=True))
        self.addParameter(QgsProcessingParameterString("ORGANISATION", tr("编制单位"), optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", tr("输出文件夹")))
        self.addOutput(QgsProcessingOutputString("PACKAGES", tr("成果包文件夹")))

    def perform(self, parameters, context, feedback, progress):
        from ...core.common.requirements import missing_message

        reason = missing_message("export")
        if reason:
            raise InputError(reason)
        from ...report.package import export_package  # python-docx and openpyxl are needed only here

        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        if os.path.exists(folder) and not os.path.isdir(folder):  # refused before the analysis, not after
            raise InputError(tr("输出文件夹 {folder} 已作为文件存在，请另选文件夹。").format(folder=folder))

        ruleset = read_ruleset(self, parameters, context)
        layers = read_scheme_layers(self, parameters, context, feedback)
        # The analysis is the first tenth of the bar and stops on cancel like the export does.
        analysis = Progress(report=lambda percent, text: progress.step(percent / 10.0, text),
                            cancelled=feedback.isCanceled)
        result = run_check(layers, ruleset=ruleset, progress=analysis)
        for text in result.warnings:
            warn(feedback, text)
        wanted = [u.strip() for u in (self.parameterAsString(parameters, "UNIT_IDS", context) or "").replace(
            "，", ",").split(",") if u.strip()]
        known = list(result.indicators.per_unit.index)
        missing = [u for u in wanted if u not in known]
        if missing:
            raise InputError(tr("没有这些单元：{missing}（现有：{known}）").format(missing="、".join(missing),
                                                                          known="、".join(known)))
        units = wanted or known
        crs = self.source_crs(parameters, "UNITS", context)
        inputs = {}
        for name, role, _label, _optional in LAYER_PARAMETERS:
            data = getattr(layers, role)
            if data is not None:
                inputs[name] = {"layer": data.name, "source": data.source, "features": len(data)}
        packages = []
        share = 100.0 / len(units)
        for k, unit_id in enumerate(units):
            if feedback.isCanceled():
                break

            def report(percent, text, k=k, unit_id=unit_id):
                feedback.setProgress(10.0 + 0.9 * (k * share + percent * share / 100.0))
                feedback.setProgressText(f"{unit_id}：{text}")

            path = export_package(result, unit_id, folder, crs,
                                  title=self.parameterAsString(parameters, "TITLE", context) or "",
                                  organisation=self.parameterAsString(parameters, "ORGANISATION", context) or "",
                                  inputs=inputs, progress=report)
            packages.append(str(path))
            feedback.pushInfo(tr("已导出：{path}").format(path=path))
        return {"OUTPUT_FOLDER": folder, "PACKAGES": ";".join(packages)}
