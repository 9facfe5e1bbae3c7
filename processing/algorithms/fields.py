"""Field definitions that work on QGIS 3.22 (QVariant types) and 3.38+/QGIS 4 (QMetaType)."""

from qgis.core import Qgis, QgsField, QgsFields

if Qgis.QGIS_VERSION_INT >= 33800:
    from qgis.PyQt.QtCore import QMetaType

    _TYPES = {str: QMetaType.Type.QString, float: QMetaType.Type.Double, int: QMetaType.Type.LongLong}
else:
    from qgis.PyQt.QtCore import QVariant

    _TYPES = {str: QVariant.String, float: QVariant.Double, int: QVariant.LongLong}


def make_field(name: str, kind) -> QgsField:
    return QgsField(name, _TYPES[kind])


def make_fields(spec) -> QgsFields:
    fields = QgsFields()
    for name, kind in spec:
        fields.append(make_field(name, kind))
    return fields
