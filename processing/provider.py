"""The ``landconsolidation`` Processing provider: algorithms listed explicitly."""

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.common.i18n import interface_language, tr
from ..core.common.paths import icon_path, plugin_version
from ..core.common.requirements import missing_message
from .catalogue import ALGORITHMS

PROVIDER_ID = "landconsolidation"


class LandConsolidationProvider(QgsProcessingProvider):
    def loadAlgorithms(self):
        reason = missing_message("engine")
        if reason:  # list the algorithms anyway; each explains what to install
            from .algorithms.unavailable import UnavailableAlgorithm

            for name, display, group in ALGORITHMS:
                self.addAlgorithm(UnavailableAlgorithm(name, display, group, reason))
            return
        for algorithm in algorithm_classes():
            self.addAlgorithm(algorithm())

    def id(self):
        return PROVIDER_ID

    def name(self):
        """In the interface language only: 「全域整治」 in Chinese, "Land Consolidation" otherwise."""
        return tr("全域整治") if interface_language() == "zh" else "Land Consolidation"

    def longName(self):
        if interface_language() == "zh":
            return tr("全域国土空间综合整治 {version}").format(version=plugin_version())
        return f"Comprehensive Land Consolidation {plugin_version()}"

    def icon(self):
        return QIcon(icon_path())

    def versionInfo(self):
        return plugin_version()


def algorithm_classes() -> tuple:
    """The algorithm classes (importing them needs the engine's libraries)."""
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

    return (CheckUnitsAlgorithm, ControlLineConflictsAlgorithm, LandUseStructureAlgorithm, LandUseFlowAlgorithm,
            ContiguousPatchesAlgorithm, PbfAdjustmentAlgorithm, CreateSchemeAlgorithm, PotentialSurveyAlgorithm,
            ExportTxtAlgorithm, ImportTxtAlgorithm, ExportUnitSchemeAlgorithm)
