"""Plain containers for layer data: what the I/O seam produces and the engine consumes.

A ``LayerData`` is a layer read once: shapely geometries, the few attributes the
engine needs (a pandas frame), the source feature ids (for messages that name
features) and the CRS. Readers for QGIS layers (``qgis_io``) — and later PostGIS —
produce these; nothing below this seam knows where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd
import shapely

from ..geometry.projection import canonical_wkt

if TYPE_CHECKING:
    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry


@dataclass
class LayerData:
    name: str
    geoms: np.ndarray
    attrs: pd.DataFrame
    fids: np.ndarray
    crs_wkt: str
    source: str = ""
    # Fields the reader found in the layer (all of them, not only those read).
    available_fields: tuple[str, ...] = field(default=())
    # (name the engine reads, field it was read from) where the layer has the field under another name
    # (``field_names.FIELD_ALTERNATIVES``: 地类编码 for DLBM …); the validation tells the planner.
    renamed_fields: tuple[tuple[str, str], ...] = field(default=())
    # A shapefile whose .dbf declares no code page and whose text is not UTF-8 (``dbf_encoding``):
    # (encoding the reader decoded it with, one value so decoded); the encoding is "" when the reader
    # could not apply it (a layer with unsaved edits) and read the text as QGIS decodes it.
    undeclared_encoding: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.geoms = np.asarray(self.geoms, dtype=object)
        self.fids = np.asarray(self.fids, dtype=np.int64)
        self.attrs = self.attrs.reset_index(drop=True)
        if len(self.attrs.columns) == 0 and len(self.attrs) != len(self.geoms):  # no attributes at all
            self.attrs = pd.DataFrame(index=range(len(self.geoms)))
        if not self.available_fields:
            self.available_fields = tuple(self.attrs.columns)

    def __len__(self) -> int:
        return len(self.geoms)

    @classmethod
    def from_shapes(cls, name: str, geoms: Iterable[BaseGeometry], crs: str,
                    records: Iterable[Mapping[str, Any]] | None = None, fids: npt.ArrayLike | None = None,
                    source: str = "") -> "LayerData":
        """Build from shapely geometries and a list of attribute dicts (tests, scripts)."""
        geoms = np.asarray(list(geoms), dtype=object)
        attrs = pd.DataFrame.from_records(records) if records is not None else pd.DataFrame(index=range(len(geoms)))
        if fids is None:
            fids = np.arange(1, len(geoms) + 1)
        return cls(name=name, geoms=geoms, attrs=attrs, fids=np.asarray(fids), crs_wkt=canonical_wkt(crs),
                   source=source)

    def column(self, name: str, default: object = None) -> pd.Series:
        if name in self.attrs.columns:
            return self.attrs[name]
        return pd.Series([default] * len(self), dtype=object)

    def take(self, positions: npt.ArrayLike) -> "LayerData":
        positions = np.asarray(positions, dtype=np.int64)
        return replace(self, geoms=self.geoms[positions], attrs=self.attrs.iloc[positions], fids=self.fids[positions])

    def with_geoms(self, geoms: np.ndarray, crs_wkt: str) -> "LayerData":
        return replace(self, geoms=geoms, crs_wkt=crs_wkt)

    def bounds(self) -> np.ndarray:
        return shapely.total_bounds(self.geoms)


def empty_layer(name: str, crs_wkt: str, columns: Iterable[str] = ()) -> LayerData:
    return LayerData(name=name, geoms=np.empty(0, dtype=object), attrs=pd.DataFrame(columns=list(columns)),
                     fids=np.empty(0, dtype=np.int64), crs_wkt=crs_wkt)
