"""The plugin object QGIS creates: registers the Processing provider and the desktop actions.

``initProcessing`` must work inside ``qgis_process``, where ``iface`` is None: it
only registers the provider. Everything that needs the desktop is in ``initGui``.
"""

from __future__ import annotations

import sys

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .core.common.i18n import install_translator, tr
from .core.common.paths import I18N_DIR, icon_path
from .qgis_bridge import log

MENU = "全域整治"


class LandConsolidationPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.panel_action = None
        self.dock = None
        self.log_installed = False  # whether this instance installed the bridge to the QGIS log
        self.translator = install_translator(I18N_DIR)

    # ------------------------------------------------------------------ Processing
    def initProcessing(self):  # noqa: N802 - QGIS's hook name
        from .processing.provider import LandConsolidationProvider

        if not self.log_installed:  # here, not in initGui: qgis_process calls only initProcessing
            log.install()
            self.log_installed = True
        if self.provider is None:
            provider = LandConsolidationProvider()
            # The registry deletes a provider it refuses (e.g. a duplicate id): keep none then.
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    # ------------------------------------------------------------------ desktop
    def initGui(self):  # noqa: N802 - QGIS's hook name
        self.initProcessing()
        if self.iface is None:
            return
        panel = QAction(QIcon(icon_path()), tr("全域整治面板"), self.iface.mainWindow())
        panel.setObjectName("landconsolidation_panel")
        panel.setCheckable(True)
        panel.setToolTip(tr("全域整治：绘制整治单元和子项目，实时查看耕地、永久基本农田指标和三线冲突"))
        panel.toggled.connect(self.show_panel)
        self._add_action(panel)
        self.panel_action = panel

        check = QAction(QIcon(icon_path()), tr("合规性检查…"), self.iface.mainWindow())
        check.setObjectName("landconsolidation_checkunits")
        check.setToolTip(tr("全域整治：检查整治单元方案是否符合规则集"))
        check.triggered.connect(lambda: self.open_algorithm("landconsolidation:checkunits"))
        self._add_action(check)

    def show_panel(self, visible: bool = True):
        """Create the dock on first use and show or hide it."""
        from .core.common.requirements import missing_message

        reason = missing_message("engine")
        if reason:  # tell the planner what to install rather than failing
            self.iface.messageBar().pushWarning(tr("全域整治"), reason)
            self.panel_action.setChecked(False)
            return None
        if self.dock is None:
            from qgis.PyQt.QtCore import Qt

            from .ui.dock import LandConsolidationDock

            self.dock = LandConsolidationDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self.panel_action.setChecked)
        self.dock.setVisible(visible)
        return self.dock

    def _add_action(self, action: QAction) -> None:
        self.iface.addPluginToMenu(tr(MENU), action)
        self.iface.addToolBarIcon(action)
        self.actions.append(action)

    def open_algorithm(self, algorithm_id: str) -> None:
        from processing import execAlgorithmDialog

        execAlgorithmDialog(algorithm_id, {})

    def unload(self):
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginMenu(tr(MENU), action)
                self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        self.panel_action = None
        projection = sys.modules.get(f"{__package__}.core.geometry.projection")
        if projection is not None:  # pyproj's objects go with their thread (a reload starts a new one)
            projection.shutdown()
        if self.log_installed:
            log.uninstall()
            self.log_installed = False
