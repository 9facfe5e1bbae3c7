"""Shared plumbing of the plugin's algorithms: naming, help, groups, engine errors."""

from __future__ import annotations

import os

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
)
from qgis.PyQt.QtGui import QIcon

from ...core.common.errors import Cancelled, LandConsolidationError
from ...core.common.i18n import interface_language, tr, translatable
from ...core.common.paths import icon_path
from ...core.common.progress import Progress

GROUPS = {
    "check": translatable("合规性检查"),
    "indicators": translatable("指标统计"),
    "scheme": translatable("方案编制"),
    "exchange": translatable("数据交换"),
    "export": translatable("成果输出"),
}


class LandConsolidationAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses set NAME, DISPLAY, GROUP, HELP_ZH, HELP_EN and implement perform()."""

    NAME = ""
    DISPLAY = ""
    GROUP = "check"
    HELP_ZH = ""
    HELP_EN = ""

    def name(self):
        return self.NAME

    def displayName(self):
        return tr(self.DISPLAY)

    def group(self):
        return tr(GROUPS[self.GROUP])

    def groupId(self):
        return self.GROUP

    def icon(self):
        return QIcon(icon_path())

    def shortHelpString(self):
        """The help in the interface language only (HELP_ZH in Chinese, HELP_EN otherwise)."""
        if interface_language() == "zh" or not self.HELP_EN:
            return tr(self.HELP_ZH)
        return self.HELP_EN

    def createInstance(self):
        return type(self)()

    def processAlgorithm(self, parameters, context, feedback):
        progress = Progress(report=lambda percent, text: _report(feedback, percent, text),
                            cancelled=feedback.isCanceled)
        try:
            return self.perform(parameters, context, feedback, progress)
        except Cancelled:
            feedback.pushInfo(tr("已取消。"))
            return {}
        except LandConsolidationError as error:
            raise QgsProcessingException(str(error)) from error

    def perform(self, parameters, context, feedback, progress):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ reading
    def read_source(self, parameters, name: str, context, fields=(), feedback=None):
        """Read a feature-source parameter through the engine's I/O seam (None when not given).

        Geometry validity is checked by the engine (which repairs and reports), so the
        context's invalid-geometry filter is switched off while reading.
        """
        from ...qgis_bridge.layer_io import (
            read_features,
            read_layer,  # needs the engine's libraries
        )

        if parameters.get(name) in (None, ""):
            return None
        previous = context.invalidGeometryCheck()
        context.setInvalidGeometryCheck(QgsFeatureRequest.InvalidGeometryCheck.GeometryNoCheck)
        try:
            value = parameters.get(name)
            whole_layer = not (isinstance(value, QgsProcessingFeatureSourceDefinition)
                               and (value.selectedFeaturesOnly or value.featureLimit >= 0))
            layer = self.parameterAsVectorLayer(parameters, name, context) if whole_layer else None
            if layer is not None:
                return read_layer(layer, display_name(layer), fields, feedback=feedback)
            source = self.parameterAsSource(parameters, name, context)
            if source is None:
                return None
            return read_features(source, source.sourceName() or name, fields=fields, crs=source.sourceCrs(),
                                 feedback=feedback, source_text=str(value))
        finally:
            context.setInvalidGeometryCheck(previous)


    def analyse_scheme(self, parameters, context, feedback, progress, ruleset=None, survey_after=None):
        """Ruleset + scheme layers through the I/O seam → the engine's one analysis (warnings reported).

        Every algorithm's figures come from this analysis; none reads or overlays a layer itself.
        """
        from ...core.analysis.analysis import analyse
        from .scheme_inputs import read_ruleset, read_scheme_layers

        ruleset = ruleset or read_ruleset(self, parameters, context)
        layers = read_scheme_layers(self, parameters, context, feedback)
        analysis = analyse(layers, ruleset, survey_after=survey_after, progress=progress)
        for text in analysis.warnings:
            warn(feedback, text)
        return analysis

    def source_crs(self, parameters, name: str, context):
        """The CRS of a feature-source parameter (outputs are written in the inputs' CRS)."""
        source = self.parameterAsSource(parameters, name, context)
        return source.sourceCrs() if source is not None else None


def _report(feedback, percent: float, text: str) -> None:
    feedback.setProgress(percent)
    if text:
        feedback.setProgressText(text)


def warn(feedback, text: str) -> None:
    if hasattr(feedback, "pushWarning"):
        feedback.pushWarning(text)
    else:  # pragma: no cover - QGIS < 3.16
        feedback.reportError(text, False)


def display_name(layer) -> str:
    """The name messages use: a layer loaded from a path (qgis_process, models) is named after its
    file, so a GeoPackage's table name (…|layername=DLTB) says which of its layers is meant."""
    from qgis.core import QgsProviderRegistry

    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    table = parts.get("layerName") or ""
    path = parts.get("path") or ""
    stem = os.path.splitext(os.path.basename(path))[0] if path else ""
    if table and layer.name() in (stem, os.path.basename(path), layer.source()):
        return table
    return layer.name()
