"""A polygon drawing tool whose rubber band reports every change, so figures update while drawing.

Left click adds a vertex, the mouse shows the next one, Backspace removes the last,
right click (or Enter) finishes, Esc cancels. ``sketchChanged`` carries the polygon so
far (with the mouse position as its last vertex), throttled; ``sketchFinished`` the
final polygon. Geometries are in the map canvas's CRS.

Vertices snap as QGIS's own digitising does: the canvas's snapping utils with the project's
snapping settings (the snapping toolbar), the snap indicator showing where a click would land.
"""

from __future__ import annotations

import time

from qgis.core import QgsGeometry, QgsPointLocator, QgsPointXY, QgsProject, QgsWkbTypes
from qgis.gui import QgsMapTool, QgsRubberBand, QgsSnapIndicator
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

THROTTLE_S = 0.08


class SketchTool(QgsMapTool):
    sketchChanged = pyqtSignal(object)  # QgsGeometry or None
    sketchFinished = pyqtSignal(object)  # QgsGeometry
    sketchCancelled = pyqtSignal()

    def __init__(self, canvas, colour: str = "#d7191c"):
        super().__init__(canvas)
        self.points = []
        self._last_emit = 0.0
        self.band = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
        colour = QColor(colour)
        self.band.setStrokeColor(colour)
        fill = QColor(colour)
        fill.setAlpha(50)
        self.band.setFillColor(fill)
        self.band.setWidth(2)
        self.snap_indicator = QgsSnapIndicator(canvas)

    def polygon(self, hover: QgsPointXY | None = None) -> QgsGeometry | None:
        points = list(self.points) + ([hover] if hover is not None else [])
        if len(points) < 3:
            return None
        geometry = QgsGeometry.fromPolygonXY([points + [points[0]]])
        return geometry if geometry.isGeosValid() else geometry.makeValid()

    def snap(self, event) -> QgsPointXY:
        """The map point of a mouse event, snapped by the project's snapping settings (and the indicator shown)."""
        point = self.toMapCoordinates(event.pos())
        utils = self.canvas().snappingUtils()
        config = QgsProject.instance().snappingConfig()
        if utils.config() != config:  # QGIS keeps them equal; a bare canvas (or a test) may not
            utils.setConfig(config)
        match = utils.snapToMap(point)
        self.snap_indicator.setMatch(match)
        return QgsPointXY(match.point()) if match.isValid() else point

    def canvasPressEvent(self, event):
        if event.button() == Qt.MouseButton.RightButton:
            self.finish()
            return
        self.points.append(self.snap(event))
        self._redraw(None, force=True)

    def canvasMoveEvent(self, event):
        point = self.snap(event)
        if self.points:
            self._redraw(point)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_Escape:
            self.reset()
            self.sketchCancelled.emit()
        elif event.key() == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._redraw(None, force=True)
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()

    def finish(self):
        geometry = self.polygon()
        self.reset()
        if geometry is not None:
            self.sketchFinished.emit(geometry)
        else:
            self.sketchCancelled.emit()

    def reset(self):
        self.points = []
        self.band.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
        self.snap_indicator.setMatch(QgsPointLocator.Match())

    def deactivate(self):
        self.reset()
        super().deactivate()

    def _redraw(self, hover, force=False):
        geometry = self.polygon(hover)
        self.band.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
        for point in self.points + ([hover] if hover is not None else []):
            self.band.addPoint(point, True)
        now = time.monotonic()
        if geometry is not None and (force or now - self._last_emit >= THROTTLE_S):
            self._last_emit = now
            self.sketchChanged.emit(geometry)
