"""The I/O seam for QGIS: feature sources and layers in, ``LayerData`` out.

Only this module of the engine imports ``qgis.core``. It reads just the fields the
engine asks for (matched case-insensitively, as shapefiles often lower-case them),
reads uncommitted edits when given a layer in edit mode, and turns geometries into
shapely through WKB in one vectorised call. A PostGIS reader that pushes the
overlay into SQL replaces this module, not the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from qgis.core import QgsFeatureRequest, QgsGeometry, QgsWkbTypes
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, QTime, QVariant

from .errors import Cancelled
from .i18n import tr
from .layerdata import LayerData
from .measure import crs_from


def _plain(value):
    """A QVariant-free Python value (NULL → None, dates → ISO text)."""
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    if isinstance(value, QDateTime):
        return value.toString("yyyy-MM-ddTHH:mm:ss") if value.isValid() else None
    if isinstance(value, QDate):
        return value.toString("yyyy-MM-dd") if value.isValid() else None
    if isinstance(value, QTime):
        return value.toString("HH:mm:ss") if value.isValid() else None
    return value


def field_map(fields, wanted) -> dict:
    """Requested name → actual field name, case-insensitively; missing names are left out."""
    actual = {f.name().upper(): f.name() for f in fields}
    return {name: actual[name.upper()] for name in wanted if name.upper() in actual}


def _to_shapely_wkb(geometry: QgsGeometry) -> bytes | None:
    if geometry is None or geometry.isNull() or geometry.isEmpty():
        return None
    if QgsWkbTypes.isCurvedType(geometry.wkbType()):
        geometry = QgsGeometry(geometry.constGet().segmentize())
    return bytes(geometry.asWkb())


def read_features(source, name: str, fields=(), request: QgsFeatureRequest | None = None, crs=None,
                  feedback=None, source_text: str = "", layer_fields=None) -> LayerData:
    """Read a QGIS feature source (layer, Processing source) into ``LayerData``.

    ``crs`` overrides the source's CRS (Processing sources know theirs as ``sourceCrs()``);
    ``layer_fields`` gives the fields of sources that do not know them (a layer's
    ``QgsVectorLayerFeatureSource``, the thread-safe snapshot the panel reads in a task).
    """
    all_fields = layer_fields if layer_fields is not None else source.fields()
    available = [f.name() for f in all_fields]
    mapping = field_map(all_fields, fields)
    request = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    request.setSubsetOfAttributes(list(mapping.values()), all_fields)
    if crs is None:
        crs = source.sourceCrs() if hasattr(source, "sourceCrs") else source.crs()
    wkbs, fids = [], []
    columns = {key: [] for key in mapping}
    for count, feature in enumerate(source.getFeatures(request)):
        if feedback is not None and count % 2000 == 0:
            if feedback.isCanceled():  # never hand on a half-read layer as if it were whole
                raise Cancelled(tr("已取消。"))
        wkbs.append(_to_shapely_wkb(feature.geometry()))
        fids.append(feature.id())
        for key, actual in mapping.items():
            columns[key].append(_plain(feature[actual]))
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.empty(0, dtype=object)
    geoms = shapely.force_2d(geoms) if len(geoms) else geoms
    attrs = pd.DataFrame(columns) if columns else pd.DataFrame(index=range(len(fids)))
    return LayerData(name=name, geoms=geoms, attrs=attrs, fids=np.asarray(fids, dtype=np.int64),
                     crs_wkt=crs_wkt_of(crs),
                     source=source_text, available_fields=tuple(available))


def crs_wkt_of(crs) -> str:
    """The pyproj WKT of a ``QgsCoordinateReferenceSystem`` (by authority id when it has one)."""
    authid = crs.authid()
    return crs_from(authid if authid else crs.toWkt(crs.WKT_PREFERRED)).to_wkt()


def to_qgs_geometry(geom, multi: bool = False) -> QgsGeometry:
    """A ``QgsGeometry`` from a shapely geometry (by WKB; works on 3.22 and later)."""
    geometry = QgsGeometry()
    geometry.fromWkb(QByteArray(shapely.to_wkb(geom)))
    if multi:
        geometry.convertToMultiType()
    return geometry
