"""「全域整治」 dock panel: pick the scheme's layers once, then watch every rule while drawing.

The form is ``dock.ui`` (loaded at runtime). Figures come from ``LiveController``, i.e.
the same engine as ``checkunits``; this module only shows them.

The panel follows the project: a new or another project, or the removal of a layer it uses,
stops the live check and clears what it showed (never calling into a deleted layer); a
computation the engine refuses leaves the figures shown, greyed out under a banner that says
why, until the next good result. Failing rows come first.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsExpression,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsVectorLayer,
    QgsVectorLayerUtils,
    QgsWkbTypes,
)
from qgis.gui import QgsDockWidget
from qgis.PyQt import sip, uic
from qgis.PyQt.QtCore import QSize, Qt, QTimer
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import QHeaderView, QListWidgetItem, QTreeWidgetItem, QWidget

from ..core.common.errors import LandConsolidationError
from ..core.common.i18n import tr, translatable
from ..core.common.numbers import SQUARE_METRES_PER_MU, area_text, change_text, percent_text, value_text
from ..core.ingest.validate import ROLES
from ..core.rules.evaluate import COMPARE_TEXT, ERROR, FAIL, NOT_APPLICABLE, PASS, share
from ..core.rules.landclasses import load_land_classes
from ..processing.algorithms.scheme_inputs import PARAMETER_OF_ROLE
from ..qgis_bridge import styles
from ..qgis_bridge.layer_io import to_qgs_geometry
from .layer_roles import guess_roles, message_targets
from .live_controller import LiveController
from .sketch_tool import SketchTool

FORM_CLASS, _ = uic.loadUiType(str(Path(__file__).with_name("dock.ui")))
logger = logging.getLogger(__name__)

PROJECT_SCOPE = "land_consolidation"
ROLE_WIDGETS = {"units": "unitsLayer", "projects": "projectsLayer", "pbf_plan": "pbfPlanLayer",
                "landuse": "landuseLayer", "pbf": "pbfLayer", "eco": "ecoLayer", "udb": "udbLayer",
                "udb_plan": "udbPlanLayer", "townships": "townshipsLayer"}
REQUIRED_ROLES = ("units", "landuse")
# status → (mark, word, text colour, background); the words through tr() where they are shown
STATUS_LOOK = {PASS: ("✓", translatable("符合"), "#1a7f37", "#e6f4ea"),
               FAIL: ("✗", translatable("不符合"), "#c62828", "#fdecea"),
               NOT_APPLICABLE: ("–", translatable("不适用"), "#6e6e6e", "#f2f2f2"),
               ERROR: ("⚠", translatable("计算出错"), "#8a4b00", "#fff4e5")}
STATUS_ORDER = {ERROR: 0, FAIL: 1, PASS: 2, NOT_APPLICABLE: 3}  # failing rows first, then passing, then not applicable
STALE_LOOK = ("#9e9e9e", "#f5f5f5")  # grey text on a grey background: figures of an earlier state
STALE_ROLE = Qt.ItemDataRole.UserRole + 1  # a row's status while it is greyed out
SCHEME_VIEW = ""
DEFAULT_UNIT_ID_FIELD = "DYBH"
DOCK_WIDTH = 400  # px on first show (QGIS gives 300): the rule table's figures in view beside its titles
LIST_LINES = 5  # the warnings and conflicts lists show this many lines, then scroll
RULE_ROWS = 8  # rule rows the table keeps in view (the body scrolls when the dock is lower than that)


class _Body(QWidget):
    """The dock's content: asks for a laptop-sized dock (the map keeps most of the window), forces nothing."""

    def sizeHint(self):
        line = self.fontMetrics().lineSpacing()
        return QSize(24 * line, 30 * line)


class LandConsolidationDock(QgsDockWidget, FORM_CLASS):
    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.setObjectName("LandConsolidationDock")
        self.setWindowTitle(tr("全域整治"))
        project = QgsProject.instance()
        # Before the pickers' models connect theirs: the panel lets go of a layer before they move on.
        project.layersWillBeRemoved.connect(self.on_layers_removed)
        body = _Body()  # the .ui form is laid out on the dock's content widget
        self.setupUi(body)
        self.setWidget(body)
        self.controller = LiveController(self)
        self.result = None
        self.stale_reason = None  # why the figures shown are out of date (None: they are current)
        self.editing_unit = None
        self.sketch_tool = None
        self._previous_tool = None
        self._watched_units = None  # the unit layer whose edits tell which unit is being edited
        self._field_layer = None  # the unit layer whose field changes re-apply the remembered id field
        self.remembered_unit_field = DEFAULT_UNIT_ID_FIELD  # the planner's choice, kept across field refreshes
        self._setup_widgets()
        self.controller.statusChanged.connect(self.statusLabel.setText)
        self.controller.resultReady.connect(self.show_result)
        self.controller.errorRaised.connect(self.on_error)
        self._project_slots = [(project.readProject, self.on_project_read), (project.cleared, self.on_project_cleared),
                               (project.layersAdded, self.on_layers_added)]
        for signal, slot in self._project_slots:
            signal.connect(slot)
        self._project_slots.append((project.layersWillBeRemoved, self.on_layers_removed))
        if not self.restore_from_project():
            self._guess_empty_pickers()

    def showEvent(self, event):
        """First shown in the main window: as wide as the panel asks, never more than a third of the window
        (QGIS gives a new right-hand dock 300 px, where the rule table shows too little)."""
        super().showEvent(event)
        window = self.parentWidget()
        if not getattr(self, "_sized", False) and hasattr(window, "resizeDocks") and not self.isFloating():
            self._sized = True
            wanted = min(max(self.widget().sizeHint().width(), DOCK_WIDTH), window.width() // 3)
            if self.width() < wanted:
                window.resizeDocks([self], [wanted], Qt.Orientation.Horizontal)

    # ------------------------------------------------------------------ set-up
    def _setup_widgets(self):
        for name in ROLE_WIDGETS.values():
            combo = getattr(self, name)
            combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
            combo.setAllowEmptyLayer(True)  # empty until chosen or detected: never a wrong layer by default
            combo.setLayer(None)
            combo.setSizeAdjustPolicy(combo.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.unitIdField.setSizeAdjustPolicy(self.unitIdField.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.unitIdField.setMinimumContentsLength(8)
        self.unitsLayer.layerChanged.connect(self._units_layer_changed)
        self.unitIdField.activated.connect(lambda _i: self._remember_unit_field(self.unitIdField.currentField()))
        self._units_layer_changed(self.unitsLayer.currentLayer())
        self.rulesetFile.setFilter("YAML (*.yaml *.yml)")
        self.autoDetectButton.clicked.connect(self.auto_detect)
        self.applyButton.clicked.connect(self.apply)
        self.scopeCombo.currentIndexChanged.connect(lambda _i: self.render())
        self.failingOnlyCheck.toggled.connect(lambda _on: self.render())
        self.conflictsList.itemClicked.connect(self.locate_conflict)
        self.warningsList.itemClicked.connect(self.locate_warning)
        self.fullCheckButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:checkunits"))
        self.newSchemeButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:createscheme"))
        self.exportButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:exportunitscheme"))
        self.sketchUnitButton.toggled.connect(lambda on: self.toggle_sketch("units", on))
        self.sketchProjectButton.toggled.connect(lambda on: self.toggle_sketch("projects", on))
        self.sketchProjectButton.toggled.connect(self._show_sketch_options)
        self._show_sketch_options(False)
        self._fill_sketch_options()
        header = self.rulesTree.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(36)
        # Verdict, scope, value and requirement as wide as their texts; the rule's title takes what is left
        # (elided, whole in the tooltip): every figure stays in view in a dock a third of a laptop wide.
        for column in range(header.count()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for group in (self.setupGroup, self.summaryGroup, self.warningsGroup, self.conflictsGroup):
            group.setSaveCollapsedState(False)  # the panel decides what is open, not an earlier session
        line = self.fontMetrics().lineSpacing()
        for widget in (self.warningsList, self.conflictsList):
            widget.setMaximumHeight(line * LIST_LINES + 8)
        # Inside the scroll area: keeps RULE_ROWS rows in view without forcing the dock's height.
        self.rulesTree.setMinimumHeight(int(line * 1.3) * (RULE_ROWS + 1) + 8)
        self.warningsGroup.setCollapsed(True)
        self.conflictsGroup.setCollapsed(True)
        self.layersGrid.setColumnStretch(1, 1)  # the pickers take the width, the captions what they need
        self.staleBanner.setVisible(False)
        self._render_lists()

    def _fill_sketch_options(self):
        self.sketchTypeCombo.clear()
        for task, types in self.controller.ruleset.project_types.items():
            for kind in types:
                self.sketchTypeCombo.addItem(f"{task}：{kind}", kind)
        self.sketchClassCombo.clear()
        for code, name in load_land_classes().names.items():
            self.sketchClassCombo.addItem(f"{code} {name}", code)
        self.sketchClassCombo.setCurrentIndex(max(0, self.sketchClassCombo.findData("0101")))

    def roles(self) -> dict:
        return {role: getattr(self, name).currentLayer() for role, name in ROLE_WIDGETS.items()}

    # ------------------------------------------------------------------ the unit id field, remembered
    def _units_layer_changed(self, layer):
        previous = self._field_layer
        if previous is not None and not sip.isdeleted(previous):
            try:
                previous.updatedFields.disconnect(self._reapply_unit_field)
            except (TypeError, RuntimeError):
                pass
        self.unitIdField.setLayer(layer)
        self._field_layer = layer
        if layer is not None:
            # After the field model's own slot: a style or a constraint reloads the fields and the
            # combo falls back to its first field (fid); the remembered name is set again.
            layer.updatedFields.connect(self._reapply_unit_field)
        self._reapply_unit_field()

    def _remember_unit_field(self, name):
        if name:
            self.remembered_unit_field = name
        self._reapply_unit_field()

    def _reapply_unit_field(self):
        self._set_remembered_field()
        QTimer.singleShot(0, self._set_remembered_field)  # once the combo's model has finished refreshing

    def _set_remembered_field(self):
        if sip.isdeleted(self.unitIdField):
            return
        layer = self.unitIdField.layer()
        if layer is None or sip.isdeleted(layer):
            return
        name = self.remembered_unit_field
        if name and layer.fields().indexOf(name) >= 0 and self.unitIdField.currentField() != name:
            self.unitIdField.setField(name)

    def unit_id_field(self) -> str:
        """The remembered field when the unit layer has it, else what the combo shows."""
        layer = self.unitsLayer.currentLayer()
        name = self.remembered_unit_field
        if layer is not None and name and layer.fields().indexOf(name) >= 0:
            return name
        return self.unitIdField.currentField() or name or DEFAULT_UNIT_ID_FIELD

    # ------------------------------------------------------------------ layers
    @staticmethod
    def _polygon_layers():
        return [layer for layer in QgsProject.instance().mapLayers().values()
                if isinstance(layer, QgsVectorLayer) and layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry]

    def auto_detect(self):
        """Guess each role from the project's polygon layers (DLTB, YJJBNTTB, STBHHX, CZKFBJ, XZQ, DY, XM…)."""
        guessed = guess_roles(self._polygon_layers())
        for role, name in ROLE_WIDGETS.items():
            getattr(self, name).setLayer(guessed.get(role))
        units = guessed.get("units")
        if units is not None and units.fields().indexOf(DEFAULT_UNIT_ID_FIELD) >= 0:
            self._remember_unit_field(DEFAULT_UNIT_ID_FIELD)
        found = "、".join(tr(_ROLE_LABELS[r]) for r in ROLE_WIDGETS if r in guessed)
        self.statusLabel.setText(tr("识别到：{found}").format(found=found or tr("无")))
        return guessed

    def _guess_empty_pickers(self):
        """Nothing saved in the project: fill the empty pickers with the layers whose names say their role."""
        if self.controller.live is not None or self._has_saved_settings():
            return {}
        taken = {layer.id() for layer in self.roles().values() if layer is not None}
        guessed = {role: layer for role, layer in guess_roles(self._polygon_layers()).items()
                   if layer.id() not in taken and getattr(self, ROLE_WIDGETS[role]).currentLayer() is None}
        if guessed:
            for role, layer in guessed.items():
                getattr(self, ROLE_WIDGETS[role]).setLayer(layer)
            units = self.unitsLayer.currentLayer()
            if "units" in guessed and units.fields().indexOf(DEFAULT_UNIT_ID_FIELD) >= 0:
                self._remember_unit_field(DEFAULT_UNIT_ID_FIELD)
            found = "、".join(tr(_ROLE_LABELS[r]) for r in ROLE_WIDGETS if self.roles()[r] is not None)
            self.statusLabel.setText(tr("已自动识别图层：{found}。核对后点“应用并开始核算”。").format(found=found))
        return guessed

    def apply(self):
        """Remember the layers in the project and start the live check."""
        self.save_to_project()
        try:
            self.controller.configure(self.roles(), self.unit_id_field(), self.rulesetFile.filePath())
        except LandConsolidationError as error:
            logger.warning("面板未能启动实时核算：%s", error)
            self.statusLabel.setText("⚠ " + str(error))
            if self.result is not None:
                self.mark_stale(str(error))
            return False
        self._fill_sketch_options()
        self._watch_units(self.roles()["units"])
        self.setupGroup.setCollapsed(True)
        QTimer.singleShot(0, self._scroll_to_top)  # the apply button had the focus, down the expanded form
        return True

    def _scroll_to_top(self):
        if not sip.isdeleted(self.bodyScroll):
            self.bodyScroll.verticalScrollBar().setValue(0)

    def _watch_units(self, units):
        """Follow which unit is being edited, on one layer at a time (applying twice must not connect twice)."""
        previous = self._watched_units
        if previous is not None and not sip.isdeleted(previous):
            for signal in (previous.geometryChanged, previous.featureAdded):
                try:
                    signal.disconnect(self._remember_edited_unit)
                except (TypeError, RuntimeError):  # not connected, or the layer is gone
                    pass
        self._watched_units = units
        if units is not None:
            units.geometryChanged.connect(self._remember_edited_unit)
            units.featureAdded.connect(self._remember_edited_unit)

    def save_to_project(self):
        project = QgsProject.instance()
        for role, layer in self.roles().items():
            project.writeEntry(PROJECT_SCOPE, f"layers/{role}", layer.id() if layer is not None else "")
        project.writeEntry(PROJECT_SCOPE, "unit_id_field", self.unit_id_field())
        project.writeEntry(PROJECT_SCOPE, "ruleset", self.rulesetFile.filePath())

    @staticmethod
    def _has_saved_settings() -> bool:
        return bool(QgsProject.instance().entryList(PROJECT_SCOPE, "layers"))

    def restore_from_project(self):
        """The layers, field and ruleset saved in the project (every picker, when the project has settings)."""
        project = QgsProject.instance()
        if not self._has_saved_settings():
            return False
        restored = False
        for role, name in ROLE_WIDGETS.items():
            layer_id, ok = project.readEntry(PROJECT_SCOPE, f"layers/{role}", "")
            layer = project.mapLayer(layer_id) if ok and layer_id else None
            getattr(self, name).setLayer(layer)
            restored = restored or layer is not None
        field, ok = project.readEntry(PROJECT_SCOPE, "unit_id_field", DEFAULT_UNIT_ID_FIELD)
        if ok and field:
            self._remember_unit_field(field)
        ruleset, ok = project.readEntry(PROJECT_SCOPE, "ruleset", "")
        if ok:
            self.rulesetFile.setFilePath(ruleset)
        return restored

    # ------------------------------------------------------------------ following the project
    def on_project_cleared(self):
        """新建工程, or the first step of opening another: nothing of the old project is kept."""
        self.reset(tr("工程已关闭或新建，实时核算已停止。"))
        for name in ROLE_WIDGETS.values():
            getattr(self, name).setLayer(None)
        self.remembered_unit_field = DEFAULT_UNIT_ID_FIELD
        self.rulesetFile.setFilePath("")

    def on_project_read(self, *_args):
        self.reset(tr("已打开工程，请核对方案图层后点“应用并开始核算”。"))
        if self.restore_from_project():
            self.statusLabel.setText(tr("已按工程中保存的设置恢复方案图层，点“应用并开始核算”开始核算。"))
        else:
            self._guess_empty_pickers()

    def on_layers_removed(self, layer_ids):
        """Layers about to be deleted: let go of them while their wrappers are still alive."""
        ids = set(layer_ids)
        roles = self.controller.roles_of(ids)
        for name in ROLE_WIDGETS.values():  # else the picker moves on to its next layer: a wrong one
            combo = getattr(self, name)
            if combo.currentLayer() is not None and combo.currentLayer().id() in ids:
                combo.setLayer(None)
        if self._watched_units is not None and (sip.isdeleted(self._watched_units) or self._watched_units.id() in ids):
            self._watch_units(None)
        if self._field_layer is not None and (sip.isdeleted(self._field_layer) or self._field_layer.id() in ids):
            self._units_layer_changed(None)
        if roles:
            names = "、".join(tr("“{name}”（{role}）").format(name=self.controller.layers[r].name(),
                                                          role=tr(_ROLE_LABELS[r])) for r in roles)
            self.reset(tr("图层 {names} 已从工程中移除，实时核算已停止。请重新选择图层后点“应用并开始核算”。").format(
                names=names))
            self.setupGroup.setCollapsed(False)

    def on_layers_added(self, _layers):
        QTimer.singleShot(0, self._guess_empty_pickers)  # after readProject (which restores saved settings)

    def reset(self, reason: str):
        """Stop the live check and clear every figure; the status line says why."""
        if self.sketch_tool is not None:
            self.sketchUnitButton.setChecked(False)
            self.sketchProjectButton.setChecked(False)
        self.controller.stop()
        self._watch_units(None)
        self.result = None
        self.stale_reason = None
        self.editing_unit = None
        self.rulesTree.clear()
        self.scopeCombo.blockSignals(True)
        self.scopeCombo.clear()
        self.scopeCombo.blockSignals(False)
        for label, caption in ((self.farmlandValue, "耕地"), (self.pbfValue, "永久基本农田"),
                               (self.patchValue, "最大连片")):
            label.setText(tr(caption) + "：—")
        self.conflictsList.clear()
        self.warningsList.clear()
        self._messages = []
        self._show_stale_look(False)
        self._render_lists()
        self.setupGroup.setCollapsed(False)
        self.statusLabel.setText(reason)

    # ------------------------------------------------------------------ results
    def _remember_edited_unit(self, fid, *_):
        units = self.roles()["units"]
        if units is None or sip.isdeleted(units):
            return
        feature = units.getFeature(fid)
        field = self.controller.unit_id_field
        if feature is not None and feature.isValid() and units.fields().indexOf(field) >= 0:
            value = feature[field]
            self.editing_unit = None if value is None or str(value) in ("", "NULL") else str(value)

    def show_result(self, result):
        self.result = result
        self.stale_reason = None
        current = self.scopeCombo.currentData()
        wanted = self.editing_unit if self.editing_unit in set(result.indicators.per_unit.index) else current
        self.scopeCombo.blockSignals(True)
        self.scopeCombo.clear()
        self.scopeCombo.addItem(tr("整个方案"), SCHEME_VIEW)
        for unit_id, row in result.indicators.per_unit.iterrows():
            self.scopeCombo.addItem(f"{unit_id} {row['name']}".strip(), unit_id)
        index = self.scopeCombo.findData(wanted) if wanted is not None else 0
        self.scopeCombo.setCurrentIndex(max(0, index))
        self.scopeCombo.blockSignals(False)
        self.render()

    def on_error(self, text):
        """The engine refused the current state (or failed): the banner says why, above the greyed figures."""
        self.mark_stale(text)
        if self.result is not None:
            self.statusLabel.setText(tr("⚠ 未能核算，以下结果已过期（原因见提示）。"))
            QTimer.singleShot(0, self._scroll_to_top)  # the banner in view
        else:
            self.statusLabel.setText("⚠ " + text)

    def mark_stale(self, reason: str):
        """The engine refused the current state: what is shown belongs to an earlier one."""
        self.stale_reason = reason
        self.render()
        if self.result is None:  # nothing shown yet: the refusal is still listed, to locate what it names
            self._render_lists()

    @property
    def is_stale(self) -> bool:
        return self.stale_reason is not None

    def visible_findings(self, unit_id=None):
        """Rows for the whole scheme, or for one unit (its rows, its townships' rows, the scheme's rows):
        failing first, then passing, then not applicable, in the engine's order within each."""
        if self.result is None:
            return []
        findings = self.result.findings_for_unit(unit_id) if unit_id else self.result.findings
        if self.failingOnlyCheck.isChecked():
            findings = [f for f in findings if f.status in (FAIL, ERROR)]
        return sorted(findings, key=lambda f: STATUS_ORDER.get(f.status, len(STATUS_ORDER)))

    def render(self):
        if self.result is None:
            return
        unit_id = self.scopeCombo.currentData() or None
        stale = self.is_stale
        self.rulesTree.clear()
        rules = {r.id: r for r in self.result.ruleset.rules}
        for finding in self.visible_findings(unit_id):
            rule = rules[finding.rule_id]
            mark, word, colour, background = STATUS_LOOK[finding.status]
            text = f"{mark} {tr(word)}"
            if stale:  # the mark is replaced: a ✓ of an earlier state must not read as a ✓ now
                text, (colour, background) = tr("⊘ 曾{word}").format(word=tr(word)), STALE_LOOK
            item = QTreeWidgetItem([text, finding.title, self._scope_text(finding),
                                    self._value_text(finding, rule), self._requirement_text(finding, rule)])
            where = finding.scope_id if finding.scope != "scheme" else tr("方案")
            tip = f"{finding.title}（{where}）\n{finding.message}"
            if stale:
                tip = tr("已过期：{reason}").format(reason=self.stale_reason) + "\n" + tip
            for column in range(5):
                item.setBackground(column, QBrush(QColor(background)))
                item.setForeground(column, QBrush(QColor(colour if column == 0 or stale else "#202020")))
                item.setToolTip(column, tip)
                if stale:
                    font = item.font(column)
                    font.setStrikeOut(True)
                    item.setFont(column, font)
            item.setData(0, Qt.ItemDataRole.UserRole, (finding.rule_id, finding.scope_id))
            item.setData(0, STALE_ROLE, finding.status if stale else None)
            self.rulesTree.addTopLevelItem(item)
        self._render_summary(unit_id)
        self._render_conflicts(unit_id)
        self._render_lists()
        self._show_stale_look(stale)

    def _show_stale_look(self, stale):
        self.staleBanner.setVisible(stale)
        self.staleBanner.setText(tr("以下结果已过期：{reason}").format(reason=self.stale_reason) if stale else "")
        look = "QLabel { color: #9e9e9e; text-decoration: line-through; }" if stale else ""
        for label in (self.farmlandValue, self.pbfValue, self.patchValue):
            label.setStyleSheet(look)
        self.conflictsList.setStyleSheet("QListWidget { color: #9e9e9e; }" if stale else "")
        self.summaryGroup.setTitle(tr("关键指标（已过期）") if stale else tr("关键指标"))

    def _scope_text(self, finding):
        if finding.scope == "scheme":
            return tr("方案")
        if finding.scope == "township":
            name = self.result.indicators.per_township["name"].get(finding.scope_id, "")
            return str(name or finding.scope_id)  # the name is what fits a narrow dock; the code is in the tooltip
        return tr("单元 {id}").format(id=finding.scope_id)

    @staticmethod
    def _value_text(finding, rule):
        return value_text(finding.value, rule.decimals, finding.unit)

    @staticmethod
    def _requirement_text(finding, rule):
        if finding.threshold is None:
            return "—"
        return f"{COMPARE_TEXT[rule.comparison]} {value_text(finding.threshold, rule.decimals, finding.unit)}"

    def _render_summary(self, unit_id):
        indicators = self.result.indicators
        row = indicators.per_unit.loc[unit_id] if unit_id else indicators.scheme
        before, after = row["farmland_before_m2"], row["farmland_after_m2"]
        gain = share(after - before, before)  # the rule's own definition: not applicable without 耕地
        change = change_text(after - before)
        if gain is None:
            change += tr("（现状无耕地，不计比例）")
        elif change != tr("持平"):
            change += tr("（{p}）").format(p=percent_text(abs(gain)))
        self.farmlandValue.setText(tr("耕地：现状 {b} → 规划 {a}，{change}").format(
            b=area_text(before), a=area_text(after), change=change))
        out, inn = row["pbf_out_m2"], row["pbf_in_m2"]
        self.pbfValue.setText(tr("永久基本农田：调出 {o}，调入 {i}，{change}").format(
            o=area_text(out), i=area_text(inn), change=change_text(inn - out)))
        rule = next(iter(self.result.ruleset.rules_of("contiguous_pbf")), None)
        if rule is not None:
            patches = indicators.patches("pbf_plan", rule.param("gap_tolerance_m"), rule.param("patch_classes"),
                                         unit_id=unit_id or None)
            if len(patches.table):
                top = patches.table.iloc[0]
                self.patchValue.setText(tr("最大连片：{area}（{name}），共 {n} 片").format(
                    area=area_text(top["area_mu"] * SQUARE_METRES_PER_MU), name=top["class_name"] or tr("未达百亩方"),
                    n=len(patches.table)))
            else:
                self.patchValue.setText(tr("最大连片：无规划永久基本农田"))

    def _render_conflicts(self, unit_id):
        self.conflictsList.clear()
        units = set(self.result.indicators.per_unit.index)
        for index, conflict in enumerate(self.result.conflicts):
            if unit_id and conflict.scope_id in units and conflict.scope_id != unit_id:
                continue
            # the conflict polygon's own area: the rule's figure (三调统计, TBDLMJ pro-rated) may differ
            text = tr("{kind} · {scope} · 图形面积 {area}").format(
                kind=conflict.kind, scope=conflict.scope_id or tr("方案"), area=area_text(conflict.area_m2))
            self.conflictsList.addItem(text)
            self.conflictsList.item(self.conflictsList.count() - 1).setData(Qt.ItemDataRole.UserRole, index)

    def warnings_shown(self) -> list:
        """The messages of the warnings list (the refusal first while the figures are out of date)."""
        return [self.warningsList.item(i).text() for i in range(self.warningsList.count())]

    def _render_lists(self):
        """The warnings list (the refusal, then the engine's warnings) and both groups' titles and states."""
        messages = []
        if self.stale_reason:
            messages.append(("⚠ " + tr("未能核算：") + self.stale_reason, self.stale_reason))
        for text in (self.result.warnings if self.result is not None else []):
            messages.append((text, text))
        had = self.warningsList.count()
        self.warningsList.clear()
        for position, (shown, text) in enumerate(messages):
            item = QListWidgetItem(shown)
            item.setToolTip(text + "\n" + tr("单击：在图层上选中并缩放到所涉要素"))
            if self.stale_reason and position > 0:  # warnings of the earlier, out-of-date result
                item.setForeground(QBrush(QColor(STALE_LOOK[0])))
            item.setData(Qt.ItemDataRole.UserRole, text)
            self.warningsList.addItem(item)
        self._messages = [text for _, text in messages]  # the engine's Notices: they know the features they name
        count = self.warningsList.count()
        self.warningsGroup.setTitle(tr("警告（{n}）").format(n=count) if count else tr("警告（无）"))
        if count != had:  # open when warnings appear, closed when there are none; else as the planner left it
            self.warningsGroup.setCollapsed(count == 0)
        conflicts = self.conflictsList.count()  # collapsed unless the planner opens it: the title says how many
        self.conflictsGroup.setTitle(tr("冲突 {n} 处（单击定位）").format(n=conflicts) if conflicts else tr("冲突（无）"))
        if conflicts == 0:
            self.conflictsGroup.setCollapsed(True)

    def locate_warning(self, item):
        """Select the features a warning (or the refusal) names on their layer, and zoom to them."""
        row = self.warningsList.row(item)
        messages = getattr(self, "_messages", [])
        text = messages[row] if 0 <= row < len(messages) else item.data(Qt.ItemDataRole.UserRole) or item.text()
        return self.select_named_features(text)

    def _layer_of_message(self, targets):
        for role, spec in ROLES.items():
            if targets["role_label"] and tr(spec.label) == targets["role_label"]:
                layer = self.roles().get(role)
                if layer is not None and not sip.isdeleted(layer):
                    return layer
        by_name = QgsProject.instance().mapLayersByName(targets["layer"]) if targets["layer"] else []
        return by_name[0] if by_name else None

    def select_named_features(self, text) -> tuple:
        """(layer, selected feature ids) for what the message names; the canvas zooms to them."""
        targets = message_targets(text)
        layer, ids = None, []
        if getattr(text, "fids", ()) and getattr(text, "role", ""):  # a Notice: no need to read the text
            layer = self.roles().get(text.role)
            if layer is not None and not sip.isdeleted(layer):
                ids = [fid for fid in text.fids if layer.getFeature(fid).isValid()]
                layer.selectByIds(ids)
        elif targets["fids"]:
            layer = self._layer_of_message(targets)
            if layer is not None:
                ids = [fid for fid in targets["fids"] if layer.getFeature(fid).isValid()]
                layer.selectByIds(ids)
        elif targets["unit_ids"] or targets["project_ids"]:
            role, field, values = (("units", self.unit_id_field(), targets["unit_ids"]) if targets["unit_ids"]
                                   else ("projects", "XMBH", targets["project_ids"]))
            layer = self.roles().get(role)
            if layer is not None and layer.fields().indexOf(field) >= 0:
                expression = "{f} IN ({v})".format(f=QgsExpression.quotedColumnRef(field),
                                                   v=", ".join(QgsExpression.quotedString(v) for v in values))
                layer.selectByExpression(expression)
                ids = list(layer.selectedFeatureIds())
        if layer is not None and ids and self.iface is not None:
            canvas = self.iface.mapCanvas()
            canvas.zoomToSelected(layer)
            canvas.refresh()
            canvas.flashFeatureIds(layer, ids)
        if layer is not None and not ids:
            self.statusLabel.setText(tr("所涉要素已不在图层“{name}”中。").format(name=layer.name()))
        return layer, ids

    def locate_conflict(self, item):
        """Zoom to a conflict and flash it on the canvas."""
        if self.result is None or self.iface is None:
            return
        conflict = self.result.conflicts[item.data(Qt.ItemDataRole.UserRole)]
        canvas = self.iface.mapCanvas()
        frame = self.result.baseline.frame
        geometry = to_qgs_geometry(frame.export([conflict.geom], frame.overlay_wkt)[0])
        crs = QgsCoordinateReferenceSystem.fromWkt(frame.overlay_wkt)
        transform = QgsCoordinateTransform(crs, canvas.mapSettings().destinationCrs(), QgsProject.instance())
        extent = transform.transformBoundingBox(geometry.boundingBox())
        extent.scale(1.5)
        canvas.setExtent(extent)
        canvas.refresh()
        canvas.flashGeometries([geometry], crs)

    # ------------------------------------------------------------------ sketching
    def _show_sketch_options(self, on):
        """The 子项目 type and class pickers only while a 子项目 is drawn: a row more for the rules on a laptop."""
        self.sketchTypeCombo.setVisible(on)
        self.sketchClassCombo.setVisible(on)

    def toggle_sketch(self, role, on):
        other = self.sketchProjectButton if role == "units" else self.sketchUnitButton
        if on:
            other.setChecked(False)
            canvas = self.iface.mapCanvas()
            self.sketch_tool = SketchTool(canvas, "#d7191c" if role == "units" else "#1f78b4")
            self.sketch_tool.sketchChanged.connect(lambda g, r=role: self.sketch_changed(r, g))
            self.sketch_tool.sketchFinished.connect(lambda g, r=role: self.sketch_finished(r, g))
            self.sketch_tool.sketchCancelled.connect(lambda r=role: self.controller.preview(r, None))
            self._previous_tool = canvas.mapTool()
            canvas.setMapTool(self.sketch_tool)
        elif self.sketch_tool is not None:
            self.controller.preview(role, None)
            canvas = self.iface.mapCanvas()
            if canvas.mapTool() is self.sketch_tool and self._previous_tool is not None:
                canvas.setMapTool(self._previous_tool)
            self.sketch_tool = None

    def _to_layer(self, role, geometry):
        layer = self.roles()[role]
        canvas_crs = self.iface.mapCanvas().mapSettings().destinationCrs()
        geometry = type(geometry)(geometry)
        if layer is not None and layer.crs() != canvas_crs:
            geometry.transform(QgsCoordinateTransform(canvas_crs, layer.crs(), QgsProject.instance()))
        return layer, geometry

    def sketch_attributes(self, role, geometry=None):
        """A sketched 子项目's attributes: the chosen type and class. While drawing (no geometry) the id is a
        placeholder for the live figures only; with the finished polygon (in the projects layer's CRS) the
        next free XMBH and the DYBH of the unit it lies in (``styles.next_project_id``, ``styles.unit_of``)."""
        if role != "projects":
            return {}
        attributes = {"XMLX": self.sketchTypeCombo.currentData(), "GHDLBM": self.sketchClassCombo.currentData()}
        layer = self.roles()["projects"]
        if geometry is None or layer is None:
            attributes["XMBH"] = tr("（绘制中）")
            return attributes
        unit_id = styles.unit_of(geometry, layer.crs(), self.roles()["units"], self.controller.unit_id_field)
        attributes["XMBH"] = styles.next_project_id(layer, unit_id)
        if unit_id is not None:
            attributes["DYBH"] = unit_id
        return attributes

    def sketch_changed(self, role, geometry):
        layer, geometry = self._to_layer(role, geometry)
        if layer is not None:
            self.controller.preview(role, geometry, self.sketch_attributes(role))

    def sketch_finished(self, role, geometry):
        """Add the drawn polygon to its layer (opening the layer's form) and end the preview.

        A 子项目 layer without the plugin's form (not made by 新建方案) gets it first, on the layer in the
        project only (its data source's style is left alone): type, class and 资金来源 drop-downs."""
        layer, geometry = self._to_layer(role, geometry)
        self.controller.preview(role, None)
        if layer is None:
            return
        if role == "projects" and not styles.has_project_form(layer):
            styles.configure_project_form(layer, self.controller.ruleset, load_land_classes())
        if not layer.isEditable():
            layer.startEditing()
        attributes = {layer.fields().indexOf(k): v for k, v in self.sketch_attributes(role, geometry).items()
                      if layer.fields().indexOf(k) >= 0}
        feature = QgsVectorLayerUtils.createFeature(layer, geometry, attributes)
        layer.addFeature(feature)
        if self.iface is not None:
            self.iface.openFeatureForm(layer, feature, False, True)

    # ------------------------------------------------------------------ actions
    def algorithm_parameters(self) -> dict:
        parameters = {PARAMETER_OF_ROLE[r]: layer.id() for r, layer in self.roles().items() if layer is not None}
        parameters["UNIT_ID_FIELD"] = self.unit_id_field()
        if self.rulesetFile.filePath():
            parameters["RULESET"] = self.rulesetFile.filePath()
        if self.scopeCombo.currentData():
            parameters["UNIT_IDS"] = self.scopeCombo.currentData()
        return parameters

    def open_algorithm(self, algorithm_id):
        algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
        if algorithm is None:
            self.statusLabel.setText(tr("算法 {id} 尚未提供。").format(id=algorithm_id))
            return
        from processing import execAlgorithmDialog

        known = {p.name() for p in algorithm.parameterDefinitions()}
        execAlgorithmDialog(algorithm_id, {k: v for k, v in self.algorithm_parameters().items() if k in known})

    def shutdown(self):
        """Before the dock is deleted (plugin unload, tests): stop the live check and tools."""
        self.controller.shutdown()
        self._watch_units(None)
        self._units_layer_changed(None)
        if self.sketch_tool is not None:
            self.toggle_sketch("units", False)
        for signal, slot in self._project_slots:
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass


_ROLE_LABELS = {"units": "整治单元", "projects": "子项目", "pbf_plan": "规划永久基本农田", "landuse": "地类图斑",
                "pbf": "现状永久基本农田", "eco": "生态保护红线", "udb": "城镇开发边界", "udb_plan": "规划城镇开发边界",
                "townships": "乡镇行政区"}
