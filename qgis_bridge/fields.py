"""Field definitions for every QGIS line, without QVariant's type constants (gone in PyQt6/QGIS 4).

QGIS 3.38 and later take a ``QMetaType.Type``; earlier releases take a ``QVariant::Type``, whose
values for these types are QMetaType's own numbers, so the number is passed there.
"""

from __future__ import annotations

from typing import Iterable

from qgis.core import Qgis, QgsField, QgsFields
from qgis.PyQt.QtCore import QMetaType

_TYPES = {str: QMetaType.Type.QString, float: QMetaType.Type.Double, int: QMetaType.Type.LongLong}
_TAKES_METATYPE = Qgis.QGIS_VERSION_INT >= 33800


def field_type(kind: type) -> QMetaType.Type | int:
    """What ``QgsField`` takes on this QGIS for a Python type (str, float or int)."""
    meta_type = _TYPES[kind]
    return meta_type if _TAKES_METATYPE else int(meta_type)


def make_field(name: str, kind: type) -> QgsField:
    return QgsField(name, field_type(kind))


def make_fields(spec: Iterable[tuple[str, type]]) -> QgsFields:
    fields = QgsFields()
    for name, kind in spec:
        fields.append(make_field(name, kind))
    return fields
