"""Writing engine tables (pandas) and geometries (shapely) into Processing sinks."""

from __future__ import annotations

import math
from typing import Callable, Mapping, Optional, Union

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsProcessingLayerPostProcessorInterface,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ...core.common.numbers import AREA_DECIMALS, is_missing, rounded
from ...qgis_bridge.fields import make_fields
from ...qgis_bridge.layer_io import to_qgs_geometry

Style = Callable[[QgsVectorLayer], None]

# field → decimals, or field → (row → decimals) for figures judged at their rule's own decimals
Decimals = Mapping[str, Union[int, Callable[[dict], int]]]


def _plain(value):
    if value is None:
        return None
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_, bool)):
        return int(bool(value))
    if isinstance(value, np.generic):  # numpy.str_ and friends: sip wants plain Python values
        return value.item()
    return value


def is_csv_destination(algorithm, parameters, context, name: str) -> bool:
    """Whether sink ``name`` is written to a CSV file."""
    if parameters.get(name) in (None, ""):
        return False
    destination = algorithm.parameterAsOutputLayer(parameters, name, context) or ""
    return destination.split("|")[0].lower().endswith(".csv")


def csv_layer_options() -> list:
    """OGR's CSV layer options with a UTF-8 BOM (Excel on Chinese Windows then reads UTF-8, not GBK)."""
    options = [o for o in QgsVectorFileWriter.defaultLayerOptions("CSV") if not o.upper().startswith("WRITE_BOM=")]
    return options + ["WRITE_BOM=YES"]


def as_printed(rows, spec, decimals: Decimals | None = None) -> list:
    """``rows`` with every float field rounded as printed: ``decimals`` per field, else AREA_DECIMALS."""
    decimals = decimals or {}
    floats = [field for field, kind in spec if kind is float]
    printed = []
    for row in rows:
        row = dict(row)
        for field in floats:
            value = _plain(row.get(field))
            if isinstance(value, float) and not is_missing(value):
                places = decimals.get(field, AREA_DECIMALS)
                row[field] = rounded(value, places(row) if callable(places) else places) + 0.0  # no -0.0
        printed.append(row)
    return printed


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Styles a result layer when Processing loads it into the project (the plugin's look for it)."""

    def __init__(self, style: Style) -> None:
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - Qt's name
        if isinstance(layer, QgsVectorLayer):
            self.style(layer)
            layer.triggerRepaint()


# Processing holds post-processors by pointer only: Python must keep them until the layers are loaded
# (a batch of runs loads them all at its end), and cannot tell Python when it is done with them: all are
# kept for the session (a few hundred bytes each, one per result layer loaded).
_KEPT: list = []


def style_on_load(context, destination: Optional[str], style: Optional[Style]) -> Optional[StyleOnLoad]:
    """Apply ``style`` to ``destination`` when the context loads it on completion (None if it does not)."""
    if style is None or not destination or not context.willLoadLayerOnCompletion(destination):
        return None
    processor = StyleOnLoad(style)
    _KEPT.append(processor)
    context.layerToLoadOnCompletionDetails(destination).setPostProcessor(processor)
    return processor


def write_table(algorithm, parameters, context, name: str, spec, rows, geoms=None, crs=None, feedback=None,
                decimals: Decimals | None = None, style: Optional[Style] = None):
    """Write ``rows`` (dicts with the keys of ``spec``: ((field, type), …)) to sink ``name``.

    With ``geoms`` (shapely, already in ``crs``) the sink is a MultiPolygon layer. A CSV
    destination is written with a UTF-8 BOM and its figures as printed (``as_printed``:
    ``decimals`` per field, areas and percentages at 2); layers keep full precision. Returns the
    destination id, or None when the optional sink was not requested. ``style`` (a function of
    qgis_bridge/styles.py) styles the layer when Processing loads it into a project.
    """
    fields = make_fields(spec)
    kind = QgsWkbTypes.Type.MultiPolygon if geoms is not None else QgsWkbTypes.Type.NoGeometry
    crs = crs if crs is not None else QgsCoordinateReferenceSystem()
    if is_csv_destination(algorithm, parameters, context, name):
        rows = as_printed(rows, spec, decimals)
        sink, dest = algorithm.parameterAsSink(parameters, name, context, fields, kind, crs,
                                               layerOptions=csv_layer_options())
    else:
        sink, dest = algorithm.parameterAsSink(parameters, name, context, fields, kind, crs)
    if sink is None:
        return None
    for position, row in enumerate(rows):
        if feedback is not None and feedback.isCanceled():
            break
        feature = QgsFeature(fields)
        if geoms is not None:
            feature.setGeometry(to_qgs_geometry(geoms[position], multi=True))
        feature.setAttributes([_plain(row.get(field)) for field, _ in spec])
        if not sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
            raise RuntimeError(f"could not write feature {position} to {name}: {sink.lastError()}")
    style_on_load(context, dest, style)
    return dest


def records(frame) -> list:
    return frame.to_dict("records") if frame is not None and len(frame) else []
