"""The I/O seam for QGIS: feature sources and layers in, ``LayerData`` out.

Only this module of the engine imports ``qgis.core``. It reads just the fields the
engine asks for (matched case-insensitively, as shapefiles often lower-case them),
reads uncommitted edits when given a layer in edit mode, and turns geometries into
shapely through WKB in one vectorised call. Curves (arcs, which GEOS cannot hold) are
linearised on the way and Z/M dropped; the layer notes which features had arcs, for
the engine to report. A PostGIS reader that pushes the overlay into SQL replaces this
module, not the engine.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Collection, Protocol

import numpy as np
import pandas as pd
import shapely
from qgis.core import (
    Qgis,
    QgsAbstractGeometry,
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsGeometry,
    QgsUnitTypes,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, QTime, QVariant

from ..core.common.errors import Cancelled
from ..core.common.i18n import tr
from ..core.geometry.projection import canonical_wkt
from ..core.ingest.dbf_encoding import UndeclaredText, undeclared_chinese_text
from ..core.ingest.field_names import match_fields
from ..core.ingest.layerdata import LayerData
from ..core.ingest.validate import note_linearised

if TYPE_CHECKING:
    from qgis.core import QgsVectorLayer


class _Feedback(Protocol):
    """What ``read_features`` asks of its feedback: a ``QgsFeedback`` or the panel's own."""

    def isCanceled(self) -> bool: ...


def _plain(value: Any) -> Any:
    """A QVariant-free Python value (NULL → None, dates → ISO text)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    if isinstance(value, QDateTime):
        return value.toString("yyyy-MM-ddTHH:mm:ss") if value.isValid() else None
    if isinstance(value, QDate):
        return value.toString("yyyy-MM-dd") if value.isValid() else None
    if isinstance(value, QTime):
        return value.toString("HH:mm:ss") if value.isValid() else None
    return value


# Curves — CircularString, CompoundCurve, CurvePolygon, MultiSurface: the arcs GeoPackage and
# FileGDB store — have no counterpart in GEOS (shapely fails on them with "Unknown WKB type 12"),
# so each arc is replaced by chords where geometries cross from QGIS to shapely: no point of a
# chord lies farther than CURVE_TOLERANCE_M from its arc (QGIS's MaximumDifference segmentation,
# equal steps along each arc). One millimetre is below what survey coordinates resolve;
# a chord of sagitta d cuts off about 2/3·d·(its length) of area, so an arc loses at most
# 2/3 × 0.001 m × its length: 0.07 m² per 100 m of arc (0.0001 亩). In a geographic CRS the
# tolerance is converted to degrees (QGIS's factor: 1° = 111,319.49 m).
CURVE_TOLERANCE_M = 0.001
_MAXIMUM_DEVIATION = QgsAbstractGeometry.SegmentationToleranceType.MaximumDifference
# QGIS 3.30 moved the distance units to Qgis.DistanceUnit.
_METRES = (Qgis.DistanceUnit.Meters if Qgis.QGIS_VERSION_INT >= 33000
           else QgsUnitTypes.DistanceUnit.DistanceMeters)
# ISO WKB geometry types (modulo 1000: Z, M, ZM add 1000, 2000, 3000) that GEOS cannot read:
# CircularString, CompoundCurve, CurvePolygon, MultiCurve, MultiSurface.
_CURVED_WKB_TYPES = frozenset({8, 9, 10, 11, 12})


def curve_tolerance(crs: QgsCoordinateReferenceSystem) -> float:
    """``CURVE_TOLERANCE_M`` in the units of ``crs`` (metres when they are unknown)."""
    factor = QgsUnitTypes.fromUnitToUnitFactor(_METRES, crs.mapUnits())
    return CURVE_TOLERANCE_M * factor if factor > 0 else CURVE_TOLERANCE_M


def _to_shapely_wkb(geometry: QgsGeometry, tolerance: float) -> tuple[bytes | None, bool]:
    """WKB shapely reads (curves linearised to ``tolerance``, in layer units), and whether it had arcs."""
    if geometry.isNull():
        return None, False
    arcs = geometry.constGet().hasCurvedSegments()  # also arcs inside a GeometryCollection
    if arcs or QgsWkbTypes.isCurvedType(geometry.wkbType()):  # a CurvePolygon of straight rings too
        geometry = QgsGeometry(geometry.constGet().segmentize(tolerance, _MAXIMUM_DEVIATION))
    return bytes(geometry.asWkb()), arcs


def _iso_type(wkb: bytes) -> int:
    """The geometry type of an ISO (or EWKB) WKB, without its Z/M/SRID flags."""
    code = struct.unpack_from("<I" if wkb[0] == 1 else ">I", wkb, 1)[0]
    return (code & 0x0FFFFFFF) % 1000


def _linearised_wkbs(wkbs: np.ndarray, fids: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """``wkbs`` with the curved geometries linearised through QGIS; the fids of those that had arcs."""
    out = np.asarray(wkbs, dtype=object).copy()
    arcs = []
    for k, wkb in enumerate(out):
        if wkb is None or len(wkb) < 5 or _iso_type(bytes(wkb[:5])) not in _CURVED_WKB_TYPES:
            continue
        geometry = QgsGeometry()
        geometry.fromWkb(QByteArray(bytes(wkb)))
        out[k], had_arcs = _to_shapely_wkb(geometry, tolerance)
        if had_arcs:
            arcs.append(fids[k])
    return out, np.asarray(arcs, dtype=np.int64)


def read_features(source: Any, name: str, fields: Collection[str] = (), request: QgsFeatureRequest | None = None,
                  crs: QgsCoordinateReferenceSystem | None = None, feedback: _Feedback | None = None,
                  source_text: str = "", layer_fields: Any = None) -> LayerData:
    """Read a QGIS feature source (layer, Processing source) into ``LayerData``.

    ``crs`` overrides the source's CRS (Processing sources know theirs as ``sourceCrs()``);
    ``layer_fields`` gives the fields of sources that do not know them (a layer's
    ``QgsVectorLayerFeatureSource``, the thread-safe snapshot the panel reads in a task).
    """
    all_fields = layer_fields if layer_fields is not None else source.fields()
    available = [f.name() for f in all_fields]
    mapping, renamed = match_fields(available, fields)
    request = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    request.setSubsetOfAttributes(list(mapping.values()), all_fields)
    if crs is None:
        crs = source.sourceCrs() if hasattr(source, "sourceCrs") else source.crs()
    tolerance = curve_tolerance(crs)
    wkbs: list[bytes | None] = []
    fids: list[int] = []
    curved: list[int] = []
    rows: list[list[Any]] = []
    indexes = [all_fields.indexOf(actual) for actual in mapping.values()]
    for count, feature in enumerate(source.getFeatures(request)):
        if feedback is not None and count % 2000 == 0 and feedback.isCanceled():
            raise Cancelled(tr("已取消。"))  # never hand on a half-read layer as if it were whole
        wkb, arcs = _to_shapely_wkb(feature.geometry(), tolerance)
        wkbs.append(wkb)
        fids.append(feature.id())
        if arcs:
            curved.append(feature.id())
        attributes = feature.attributes()
        rows.append([attributes[i] for i in indexes])
    columns = {key: [_plain(row[k]) for row in rows] for k, key in enumerate(mapping)}
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.empty(0, dtype=object)
    geoms = _two_d(geoms)
    attrs = pd.DataFrame(columns) if columns else pd.DataFrame(index=range(len(fids)))
    data = LayerData(name=name, geoms=geoms, attrs=attrs, fids=np.asarray(fids, dtype=np.int64),
                     crs_wkt=crs_wkt_of(crs), source=source_text, available_fields=tuple(available),
                     renamed_fields=tuple(renamed.items()))
    return note_linearised(data, curved, CURVE_TOLERANCE_M)


def crs_wkt_of(crs: QgsCoordinateReferenceSystem) -> str:
    """The pyproj WKT of a ``QgsCoordinateReferenceSystem`` (by authority id when it has one); empty
    for an undefined CRS (the validation refuses such a layer, naming it)."""
    if not crs.isValid():
        return ""
    authid = crs.authid()
    return canonical_wkt(authid if authid else crs.toWkt(_PREFERRED_WKT))


# QGIS 3.36 moved the WKT variants to Qgis.CrsWktVariant and deprecated the old names.
_PREFERRED_WKT = (Qgis.CrsWktVariant.Preferred if Qgis.QGIS_VERSION_INT >= 33600
                  else QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED)


def to_qgs_geometry(geom: shapely.Geometry, multi: bool = False) -> QgsGeometry:
    """A ``QgsGeometry`` from a shapely geometry (by WKB; works on 3.22 and later)."""
    geometry = QgsGeometry()
    geometry.fromWkb(QByteArray(shapely.to_wkb(geom)))
    if multi:
        geometry.convertToMultiType()
    return geometry


def _two_d(geoms: np.ndarray) -> np.ndarray:
    """Drop Z and M only when present: rewriting every geometry is the slowest step of a read.

    GEOS before 3.12 drops M as it reads WKB; later ones keep it (shapely 2.1's ``has_m``)."""
    if not len(geoms):
        return geoms
    has_m = getattr(shapely, "has_m", None)
    if shapely.has_z(geoms).any() or (has_m is not None and has_m(geoms).any()):
        return shapely.force_2d(geoms)
    return geoms


def read_layer(layer: QgsVectorLayer, name: str, fields: Collection[str] = (),
               feedback: _Feedback | None = None) -> LayerData:
    """Read a ``QgsVectorLayer``: straight from the GeoPackage through GDAL's Arrow interface when
    the layer is a whole, unedited GeoPackage table (300,000 parcels in well under a second),
    else feature by feature through QGIS (edit buffers, filters, other providers). A shapefile
    whose GBK text QGIS would decode as UTF-8 is read as GBK (``readable_layer``)."""
    fast = _read_geopackage_arrow(layer, name, fields)
    if fast is not None:
        return fast
    readable, undeclared = readable_layer(layer)
    data = read_features(readable, name, fields, crs=layer.crs(), feedback=feedback, source_text=layer.source())
    return with_undeclared_encoding(data, undeclared)


def readable_layer(layer: QgsVectorLayer) -> tuple[QgsVectorLayer, tuple[str, ...]]:
    """The layer to read ``layer``'s features from, and ``LayerData.undeclared_encoding``.

    A shapefile with no code page (no .cpg, language driver id 0) whose text is GBK is decoded by
    QGIS as UTF-8 unless the planner set the layer's data source encoding. It is then read through a
    private layer on the same source decoded as GBK: the planner's layer is left as it is (the
    algorithms run in threads, and the panel only reads). A layer with unsaved edits is read as it
    is (its edit buffer lives in it), and the note says the encoding was not applied."""
    undeclared = _undeclared_text(layer)
    if undeclared is None:
        return layer, ()
    if layer.isEditable() and layer.isModified():
        return layer, ("", undeclared.example)
    from qgis.core import QgsVectorLayer

    private = QgsVectorLayer(layer.source(), layer.name(), "ogr")
    if not private.isValid():
        return layer, ("", undeclared.example)
    private.setProviderEncoding(undeclared.encoding)
    return private, (undeclared.encoding, undeclared.example)


def with_undeclared_encoding(data: LayerData, undeclared: tuple[str, ...]) -> LayerData:
    """``data`` noting how its text was decoded (nothing when the layer declared its encoding)."""
    if undeclared:
        data.undeclared_encoding = undeclared  # in place: keeps the reader's other notes (curves)
    return data


def _undeclared_text(layer: QgsVectorLayer) -> UndeclaredText | None:
    """``dbf_encoding``'s verdict for an OGR shapefile layer that QGIS decodes as UTF-8."""
    if layer.providerType() != "ogr" or layer.dataProvider() is None:
        return None
    if layer.dataProvider().encoding().upper().replace("-", "") not in ("UTF8", "SYSTEM"):
        return None  # GBK from a .cpg or the language driver, or set by the planner: QGIS decodes it
    from qgis.core import QgsProviderRegistry

    path = QgsProviderRegistry.instance().decodeUri("ogr", layer.source()).get("path", "")
    return undeclared_chinese_text(path) if path else None


def _read_geopackage_arrow(layer: QgsVectorLayer, name: str, fields: Collection[str]) -> LayerData | None:
    try:
        from osgeo import gdal, ogr
        from qgis.core import QgsProviderRegistry
    except ImportError:  # pragma: no cover
        return None
    if layer.providerType() != "ogr" or layer.isEditable() or layer.subsetString():
        return None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    path = parts.get("path", "")
    if not path.lower().endswith(".gpkg"):
        return None
    gdal.UseExceptions()
    dataset = ogr.Open(path)
    if dataset is None:
        return None
    table = dataset.GetLayerByName(parts.get("layerName") or "") if parts.get("layerName") else \
        dataset.GetLayer(int(parts.get("layerId") or 0))
    if table is None or not hasattr(table, "GetArrowStreamAsNumPy"):
        return None
    definition = table.GetLayerDefn()
    available = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    mapping, renamed = match_fields(available, fields)
    table.SetIgnoredFields([n for n in available if n not in mapping.values()])
    geometry_column = table.GetGeometryColumn() or "wkb_geometry"
    fid_column = table.GetFIDColumn() or "OGC_FID"
    chunks: dict[str, list[np.ndarray]] = {}
    for batch in table.GetArrowStreamAsNumPy():
        for key, values in batch.items():
            chunks.setdefault(key, []).append(values)
    if not chunks:
        return None
    fids = np.concatenate(chunks[fid_column]).astype(np.int64)
    wkbs = np.concatenate(chunks[geometry_column])
    columns = {key: _arrow_values(np.ma.concatenate(chunks[actual])) for key, actual in mapping.items()}
    curved = np.empty(0, dtype=np.int64)
    try:
        geoms = shapely.from_wkb(wkbs)
    # Curves: GEOS before 3.13 cannot parse arcs (GEOSException), shapely 2.1 on GEOS 3.13 parses them but
    # makes no Python object of them (NotImplementedError). Either way: linearise those, read again.
    except (shapely.errors.GEOSException, NotImplementedError):
        wkbs, curved = _linearised_wkbs(wkbs, fids, curve_tolerance(layer.crs()))
        geoms = shapely.from_wkb(wkbs)
    geoms = _two_d(geoms)
    attrs = pd.DataFrame(columns) if columns else pd.DataFrame(index=range(len(fids)))
    data = LayerData(name=name, geoms=geoms, attrs=attrs, fids=fids, crs_wkt=crs_wkt_of(layer.crs()),
                     source=layer.source(), available_fields=tuple(available), renamed_fields=tuple(renamed.items()))
    return note_linearised(data, curved, CURVE_TOLERANCE_M)


def _arrow_values(values: np.ndarray) -> np.ndarray:
    """Arrow column → values: bytes decoded as UTF-8, masked (NULL) entries → None (vectorised)."""
    mask = np.ma.getmaskarray(values)
    data = np.ma.getdata(values)
    if data.dtype.kind == "S":
        out = np.char.decode(data, "utf-8", errors="replace").astype(object)
    else:
        out = data.astype(object)
    out[mask] = None
    return out


def save_default_style(layer: QgsVectorLayer, name: str, description: str) -> str:
    """Store the layer's style in its GeoPackage as the default; the error text, empty on success.

    QGIS 3.44 deprecates ``saveStyleToDatabase`` for ``saveStyleToDatabaseV2`` (which returns the
    outcome flags and the message); older releases have only the first.
    """
    save_v2 = getattr(layer, "saveStyleToDatabaseV2", None)
    if save_v2 is not None:
        outcome, error = save_v2(name, description, True, "")
        failed = type(layer).SaveStyleResult  # flags of what failed; an SLD that cannot be made is no loss here
        if not error and (outcome & failed.QmlGenerationFailed or outcome & failed.DatabaseWriteFailed):
            error = tr("样式未能写入数据库")
        return error or ""
    return layer.saveStyleToDatabase(name, description, True, "") or ""
