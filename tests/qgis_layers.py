"""Memory layers for algorithm tests, built from the engine-test builders' shapes and records."""

from __future__ import annotations

from qgis.core import QgsFeature, QgsField, QgsFields, QgsGeometry, QgsVectorLayer
from qgis.PyQt.QtCore import QVariant

from land_consolidation.core.layerdata import LayerData


def memory_layer(data: LayerData, authid: str = "EPSG:4549") -> QgsVectorLayer:
    """A polygon memory layer holding ``data``'s geometries and attributes."""
    layer = QgsVectorLayer(f"MultiPolygon?crs={authid}", data.name, "memory")
    fields = QgsFields()
    for column in data.attrs.columns:
        values = [v for v in data.attrs[column] if v is not None and v == v]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            kind = QVariant.Int if all(isinstance(v, int) for v in values) else QVariant.Double
        else:
            kind = QVariant.String
        fields.append(QgsField(column, kind))
    provider = layer.dataProvider()
    provider.addAttributes(fields.toList())
    layer.updateFields()
    features = []
    columns = list(data.attrs.columns)
    for position, geom in enumerate(data.geoms):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(geom.wkt))
        values = [data.attrs[c].iloc[position] for c in columns]
        feature.setAttributes([None if (v is None or v != v) else (v.item() if hasattr(v, "item") else v)
                               for v in values])
        features.append(feature)
    ok, _ = provider.addFeatures(features)
    assert ok, f"could not add features to {data.name}"
    layer.updateExtents()
    return layer
