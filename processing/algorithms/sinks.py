"""Writing engine tables (pandas) and geometries (shapely) into Processing sinks."""

from __future__ import annotations

import math

import numpy as np
from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsWkbTypes

from ...qgis_bridge.fields import make_fields
from ...qgis_bridge.layer_io import to_qgs_geometry


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


def write_table(algorithm, parameters, context, name: str, spec, rows, geoms=None, crs=None, feedback=None):
    """Write ``rows`` (dicts with the keys of ``spec``: ((field, type), …)) to sink ``name``.

    With ``geoms`` (shapely, already in ``crs``) the sink is a MultiPolygon layer. Returns the
    destination id, or None when the optional sink was not requested.
    """
    fields = make_fields(spec)
    kind = QgsWkbTypes.Type.MultiPolygon if geoms is not None else QgsWkbTypes.Type.NoGeometry
    sink, dest = algorithm.parameterAsSink(parameters, name, context, fields, kind,
                                           crs if crs is not None else QgsCoordinateReferenceSystem())
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
    return dest


def records(frame) -> list:
    return frame.to_dict("records") if frame is not None and len(frame) else []
