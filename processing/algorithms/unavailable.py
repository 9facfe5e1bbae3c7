"""A stand-in for an algorithm whose libraries are missing: listed like the real one, explains on run."""

from qgis.core import QgsProcessingException, QgsProcessingParameterString

from ...core.common.i18n import tr
from .base import LandConsolidationAlgorithm


class UnavailableAlgorithm(LandConsolidationAlgorithm):
    def __init__(self, name="", display="", group="check", reason=""):
        super().__init__()
        self.NAME, self.DISPLAY, self.GROUP, self.reason = name, display, group, reason
        self.HELP_ZH = reason
        self.HELP_EN = "Needs Python libraries missing from this QGIS: " + reason

    def createInstance(self):
        return UnavailableAlgorithm(self.NAME, self.DISPLAY, self.GROUP, self.reason)

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterString("NOTE", tr("说明"), defaultValue=self.reason, optional=True))

    def processAlgorithm(self, parameters, context, feedback):
        raise QgsProcessingException(self.reason)
