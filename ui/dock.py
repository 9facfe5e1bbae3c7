"""「全域整治」 dock panel: pick the scheme's layers once, then watch every rule while drawing.

The form is ``dock.ui`` (loaded at runtime). Figures come from ``LiveController``, i.e.
the same engine as ``checkunits``; this module only shows them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsVectorLayer,
    QgsVectorLayerUtils,
    QgsWkbTypes,
)
from qgis.gui import QgsDockWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import QTreeWidgetItem, QWidget

from ..core.common.errors import LandConsolidationError
from ..core.common.i18n import tr
from ..core.geometry.measure import to_mu
from ..core.rules.evaluate import COMPARE_TEXT, FAIL, NOT_APPLICABLE, PASS, share
from ..core.rules.landclasses import load_land_classes
from ..processing.algorithms.scheme_inputs import PARAMETER_OF_ROLE
from ..qgis_bridge.layer_io import to_qgs_geometry
from .layer_roles import guess_roles
from .live_controller import LiveController
from .sketch_tool import SketchTool

FORM_CLASS, _ = uic.loadUiType(str(Path(__file__).with_name("dock.ui")))
logger = logging.getLogger(__name__)

PROJECT_SCOPE = "land_consolidation"
ROLE_WIDGETS = {"units": "unitsLayer", "projects": "projectsLayer", "pbf_plan": "pbfPlanLayer",
                "landuse": "landuseLayer", "pbf": "pbfLayer", "eco": "ecoLayer", "udb": "udbLayer",
                "udb_plan": "udbPlanLayer", "townships": "townshipsLayer"}
REQUIRED_ROLES = ("units", "landuse")
STATUS_LOOK = {PASS: ("✓ 符合", "#1a7f37", "#e6f4ea"), FAIL: ("✗ 不符合", "#c62828", "#fdecea"),
               NOT_APPLICABLE: ("– 不适用", "#6e6e6e", "#f2f2f2")}
SCHEME_VIEW = ""


class LandConsolidationDock(QgsDockWidget, FORM_CLASS):
    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.setObjectName("LandConsolidationDock")
        self.setWindowTitle(tr("全域整治"))
        body = QWidget()  # the .ui form is laid out on the dock's content widget
        self.setupUi(body)
        self.setWidget(body)
        self.controller = LiveController(self)
        self.result = None
        self.editing_unit = None
        self.sketch_tool = None
        self._previous_tool = None
        self._watched_units = None  # the unit layer whose edits tell which unit is being edited
        self._setup_widgets()
        self.controller.statusChanged.connect(self.statusLabel.setText)
        self.controller.resultReady.connect(self.show_result)
        self.controller.errorRaised.connect(lambda text: self.statusLabel.setText("⚠ " + text))
        QgsProject.instance().readProject.connect(self.restore_from_project)
        self.restore_from_project()

    # ------------------------------------------------------------------ set-up
    def _setup_widgets(self):
        for role, name in ROLE_WIDGETS.items():
            combo = getattr(self, name)
            combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
            combo.setAllowEmptyLayer(role not in REQUIRED_ROLES)
            if role not in REQUIRED_ROLES:
                combo.setLayer(None)
        self.unitsLayer.layerChanged.connect(self.unitIdField.setLayer)
        self.unitIdField.setLayer(self.unitsLayer.currentLayer())
        self.rulesetFile.setFilter("YAML (*.yaml *.yml)")
        self.autoDetectButton.clicked.connect(self.auto_detect)
        self.applyButton.clicked.connect(self.apply)
        self.scopeCombo.currentIndexChanged.connect(lambda _i: self.render())
        self.conflictsList.itemClicked.connect(self.locate_conflict)
        self.fullCheckButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:checkunits"))
        self.newSchemeButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:createscheme"))
        self.exportButton.clicked.connect(lambda: self.open_algorithm("landconsolidation:exportunitscheme"))
        self.sketchUnitButton.toggled.connect(lambda on: self.toggle_sketch("units", on))
        self.sketchProjectButton.toggled.connect(lambda on: self.toggle_sketch("projects", on))
        self._fill_sketch_options()
        header = self.rulesTree.header()
        header.setStretchLastSection(False)
        header.resizeSection(0, 70)
        header.resizeSection(1, 170)

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

    def auto_detect(self):
        """Guess each role from the project's polygon layers (DLTB, YJJBNTTB, STBHHX, CZKFBJ, XZQ, DY, XM…)."""
        layers = [layer for layer in QgsProject.instance().mapLayers().values()
                  if isinstance(layer, QgsVectorLayer) and layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry]
        guessed = guess_roles(layers)
        for role, name in ROLE_WIDGETS.items():
            getattr(self, name).setLayer(guessed.get(role))
        units = guessed.get("units")
        if units is not None and units.fields().indexOf("DYBH") >= 0:
            self.unitIdField.setField("DYBH")
        found = "、".join(tr(_ROLE_LABELS[r]) for r in ROLE_WIDGETS if r in guessed)
        self.statusLabel.setText(tr("识别到：{found}").format(found=found or tr("无")))
        return guessed

    def apply(self):
        """Remember the layers in the project and start the live check."""
        self.save_to_project()
        try:
            self.controller.configure(self.roles(), self.unitIdField.currentField() or "DYBH",
                                      self.rulesetFile.filePath())
        except LandConsolidationError as error:
            logger.warning("面板未能启动实时核算：%s", error)
            self.statusLabel.setText("⚠ " + str(error))
            return False
        self._fill_sketch_options()
        self._watch_units(self.roles()["units"])
        self.setupGroup.setCollapsed(True)
        return True

    def _watch_units(self, units):
        """Follow which unit is being edited, on one layer at a time (applying twice must not connect twice)."""
        previous = self._watched_units
        if previous is not None:
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
        project.writeEntry(PROJECT_SCOPE, "unit_id_field", self.unitIdField.currentField() or "DYBH")
        project.writeEntry(PROJECT_SCOPE, "ruleset", self.rulesetFile.filePath())

    def restore_from_project(self):
        project = QgsProject.instance()
        restored = False
        for role, name in ROLE_WIDGETS.items():
            layer_id, ok = project.readEntry(PROJECT_SCOPE, f"layers/{role}", "")
            if ok and layer_id:
                layer = project.mapLayer(layer_id)
                if layer is not None:
                    getattr(self, name).setLayer(layer)
                    restored = True
        field, ok = project.readEntry(PROJECT_SCOPE, "unit_id_field", "DYBH")
        if ok:
            self.unitIdField.setField(field)
        ruleset, ok = project.readEntry(PROJECT_SCOPE, "ruleset", "")
        if ok:
            self.rulesetFile.setFilePath(ruleset)
        return restored

    # ------------------------------------------------------------------ results
    def _remember_edited_unit(self, fid, *_):
        units = self.roles()["units"]
        feature = units.getFeature(fid) if units is not None else None
        field = self.controller.unit_id_field
        if feature is not None and feature.isValid() and units.fields().indexOf(field) >= 0:
            value = feature[field]
            self.editing_unit = None if value is None or str(value) in ("", "NULL") else str(value)

    def show_result(self, result):
        self.result = result
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

    def visible_findings(self, unit_id=None):
        """Rows for the whole scheme, or for one unit (its rows, its townships' rows, the scheme's rows)."""
        if self.result is None:
            return []
        return self.result.findings_for_unit(unit_id) if unit_id else self.result.findings

    def render(self):
        if self.result is None:
            return
        unit_id = self.scopeCombo.currentData() or None
        self.rulesTree.clear()
        rules = {r.id: r for r in self.result.ruleset.rules}
        for finding in self.visible_findings(unit_id):
            rule = rules[finding.rule_id]
            text, colour, background = STATUS_LOOK[finding.status]
            item = QTreeWidgetItem([tr(text), finding.title, self._scope_text(finding),
                                    self._value_text(finding, rule), self._requirement_text(finding, rule)])
            item.setForeground(0, QBrush(QColor(colour)))
            for column in range(5):
                item.setBackground(column, QBrush(QColor(background)))
                item.setToolTip(column, finding.message)
            item.setData(0, Qt.ItemDataRole.UserRole, (finding.rule_id, finding.scope_id))
            self.rulesTree.addTopLevelItem(item)
        self._render_summary(unit_id)
        self._render_conflicts(unit_id)

    def _scope_text(self, finding):
        if finding.scope == "scheme":
            return tr("方案")
        if finding.scope == "township":
            name = self.result.indicators.per_township["name"].get(finding.scope_id, "")
            return f"{finding.scope_id} {name}".strip()
        return tr("单元 {id}").format(id=finding.scope_id)

    @staticmethod
    def _value_text(finding, rule):
        if finding.value is None:
            return "—"
        return f"{finding.value:,.{rule.decimals}f} {finding.unit}".strip()

    @staticmethod
    def _requirement_text(finding, rule):
        if finding.threshold is None:
            return "—"
        return f"{COMPARE_TEXT[rule.comparison]} {finding.threshold:,.{rule.decimals}f} {finding.unit}".strip()

    def _render_summary(self, unit_id):
        indicators = self.result.indicators
        row = indicators.per_unit.loc[unit_id] if unit_id else indicators.scheme
        before, after = row["farmland_before_m2"], row["farmland_after_m2"]
        gain = share(after - before, before)  # the rule's own definition: not applicable without 耕地
        self.farmlandValue.setText(tr("现状 {b:,.2f} 亩 → 规划 {a:,.2f} 亩（净增 {n:+,.2f} 亩，{s}）").format(
            b=to_mu(before), a=to_mu(after), n=to_mu(after - before),
            s=tr("现状无耕地，不计比例") if gain is None else f"{gain:+.2f}%"))
        out, inn = row["pbf_out_m2"], row["pbf_in_m2"]
        self.pbfValue.setText(tr("调出 {o:,.2f} 亩，调入 {i:,.2f} 亩，净 {n:+,.2f} 亩").format(
            o=to_mu(out), i=to_mu(inn), n=to_mu(inn - out)))
        rule = next(iter(self.result.ruleset.rules_of("contiguous_pbf")), None)
        if rule is not None:
            patches = indicators.patches("pbf_plan", rule.param("gap_tolerance_m"), rule.param("patch_classes"),
                                         unit_id=unit_id or None)
            if len(patches.table):
                top = patches.table.iloc[0]
                self.patchValue.setText(tr("{mu:,.2f} 亩（{name}），共 {n} 片").format(
                    mu=top["area_mu"], name=top["class_name"] or tr("未达百亩方"), n=len(patches.table)))
            else:
                self.patchValue.setText(tr("无规划永久基本农田"))

    def _render_conflicts(self, unit_id):
        self.conflictsList.clear()
        units = set(self.result.indicators.per_unit.index)
        for index, conflict in enumerate(self.result.conflicts):
            if unit_id and conflict.scope_id in units and conflict.scope_id != unit_id:
                continue
            text = tr("{kind} · {scope} · {mu:,.2f} 亩").format(kind=conflict.kind, scope=conflict.scope_id or tr("方案"),
                                                              mu=to_mu(conflict.area_m2))
            self.conflictsList.addItem(text)
            self.conflictsList.item(self.conflictsList.count() - 1).setData(Qt.ItemDataRole.UserRole, index)

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

    def sketch_attributes(self, role):
        if role == "projects":
            return {"XMLX": self.sketchTypeCombo.currentData(), "GHDLBM": self.sketchClassCombo.currentData(),
                    "XMBH": tr("（绘制中）")}
        return {}

    def sketch_changed(self, role, geometry):
        layer, geometry = self._to_layer(role, geometry)
        if layer is not None:
            self.controller.preview(role, geometry, self.sketch_attributes(role))

    def sketch_finished(self, role, geometry):
        """Add the drawn polygon to its layer (opening the layer's form) and end the preview."""
        layer, geometry = self._to_layer(role, geometry)
        self.controller.preview(role, None)
        if layer is None:
            return
        if not layer.isEditable():
            layer.startEditing()
        attributes = {layer.fields().indexOf(k): v for k, v in self.sketch_attributes(role).items()
                      if layer.fields().indexOf(k) >= 0 and k != "XMBH"}
        feature = QgsVectorLayerUtils.createFeature(layer, geometry, attributes)
        layer.addFeature(feature)
        if self.iface is not None:
            self.iface.openFeatureForm(layer, feature, False, True)

    # ------------------------------------------------------------------ actions
    def algorithm_parameters(self) -> dict:
        parameters = {PARAMETER_OF_ROLE[r]: layer.id() for r, layer in self.roles().items() if layer is not None}
        parameters["UNIT_ID_FIELD"] = self.unitIdField.currentField() or "DYBH"
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
        if self.sketch_tool is not None:
            self.toggle_sketch("units", False)
        try:
            QgsProject.instance().readProject.disconnect(self.restore_from_project)
        except (TypeError, RuntimeError):
            pass


_ROLE_LABELS = {"units": "整治单元", "projects": "子项目", "pbf_plan": "规划永久基本农田", "landuse": "地类图斑",
                "pbf": "现状永久基本农田", "eco": "生态保护红线", "udb": "城镇开发边界", "udb_plan": "规划城镇开发边界",
                "townships": "乡镇行政区"}
