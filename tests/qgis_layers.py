"""Memory layers for algorithm tests, built from the engine-test builders' shapes and records."""

from __future__ import annotations

from qgis.core import QgsFeature, QgsFields, QgsGeometry, QgsVectorLayer

from land_consolidation.core.ingest.layerdata import LayerData
from land_consolidation.qgis_bridge.fields import make_field


def memory_layer(data: LayerData, authid: str = "EPSG:4549") -> QgsVectorLayer:
    """A polygon memory layer holding ``data``'s geometries and attributes."""
    layer = QgsVectorLayer(f"MultiPolygon?crs={authid}", data.name, "memory")
    fields = QgsFields()
    for column in data.attrs.columns:
        values = [v for v in data.attrs[column] if v is not None and v == v]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            kind = int if all(isinstance(v, int) for v in values) else float
        else:
            kind = str
        fields.append(make_field(column, kind))
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


ROLE_PARAMETERS = {"units": "UNITS", "landuse": "LANDUSE", "pbf": "PBF", "pbf_plan": "PBF_PLAN",
                   "projects": "PROJECTS", "eco": "ECO_REDLINE", "udb": "UDB", "udb_plan": "UDB_PLAN",
                   "townships": "TOWNSHIPS"}


def scheme_parameters(layers, names=None) -> dict:
    """Processing parameters for a ``SchemeLayers``: each layer added to the project as a memory layer."""
    from qgis.core import QgsProject

    parameters = {}
    for role, name in ROLE_PARAMETERS.items():
        data = getattr(layers, role)
        if data is None or (names is not None and name not in names):
            continue
        layer = memory_layer(data)
        QgsProject.instance().addMapLayer(layer)
        parameters[name] = layer.id()
    return parameters


def read_rows(path) -> list:
    """The features of an output (CSV, GeoPackage …) as dicts; geometry under '_geometry'."""
    layer = QgsVectorLayer(str(path), "rows", "ogr")
    assert layer.isValid(), path
    names = [f.name() for f in layer.fields()]
    rows = []
    for feature in layer.getFeatures():
        row = dict(zip(names, feature.attributes()))
        row["_geometry"] = feature.geometry()
        rows.append(row)
    return rows
