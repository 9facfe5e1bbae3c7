"""The ``landconsolidation`` Processing provider: algorithms listed explicitly."""

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.i18n import tr
from ..core.paths import icon_path, plugin_version
from .algorithms.check_units import CheckUnitsAlgorithm
from .algorithms.contiguous_patches import ContiguousPatchesAlgorithm
from .algorithms.control_line_conflicts import ControlLineConflictsAlgorithm
from .algorithms.create_scheme import CreateSchemeAlgorithm
from .algorithms.export_unit_scheme import ExportUnitSchemeAlgorithm
from .algorithms.land_use_flow import LandUseFlowAlgorithm
from .algorithms.land_use_structure import LandUseStructureAlgorithm
from .algorithms.pbf_adjustment import PbfAdjustmentAlgorithm
from .algorithms.potential_survey import PotentialSurveyAlgorithm
from .algorithms.txt_exchange import ExportTxtAlgorithm, ImportTxtAlgorithm

ALGORITHMS = (
    CheckUnitsAlgorithm, ControlLineConflictsAlgorithm, LandUseStructureAlgorithm, LandUseFlowAlgorithm,
    ContiguousPatchesAlgorithm, PbfAdjustmentAlgorithm, CreateSchemeAlgorithm, PotentialSurveyAlgorithm,
    ExportTxtAlgorithm, ImportTxtAlgorithm, ExportUnitSchemeAlgorithm,
)

PROVIDER_ID = "landconsolidation"


class LandConsolidationProvider(QgsProcessingProvider):
    def loadAlgorithms(self):
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())

    def id(self):
        return PROVIDER_ID

    def name(self):
        return tr("全域整治 Land Consolidation")

    def longName(self):
        return tr("全域国土空间综合整治 Land Consolidation {version}").format(version=plugin_version())

    def icon(self):
        return QIcon(icon_path())

    def versionInfo(self):
        return plugin_version()
