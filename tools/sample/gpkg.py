"""Writing the GeoPackage: the layers' schemas and the OGR writer.

Field names are those of the 三调 and control-line databases the plugin reads; every
geometry is normalised and written as a MultiPolygon in EPSG:4549, in the order it
comes, so that the file is the same feature for feature whenever it is generated.
"""

from __future__ import annotations

import os

import shapely
from osgeo import ogr, osr

from .geometry import EPSG

STR, REAL, INT = "s", "r", "i"  # field kinds
PBF_FIELDS = [("BSM", STR, 18), ("YSDM", STR, 10), ("DLBM", STR, 5), ("DLMC", STR, 60), ("ZLDWDM", STR, 19),
              ("XZQDM", STR, 9), ("GDDB", INT, 0), ("GDPDJB", STR, 2), ("MJ", REAL, 2)]
# Fields of every layer, in order: (name, kind, width of a text field).
SCHEMA = {
    "XZQ": [("XZQDM", STR, 9), ("XZQMC", STR, 50)],
    "DLTB": [("BSM", STR, 18), ("YSDM", STR, 10), ("TBBH", STR, 8), ("DLBM", STR, 5), ("DLMC", STR, 60),
             ("QSXZ", STR, 2), ("QSDWDM", STR, 19), ("QSDWMC", STR, 255), ("ZLDWDM", STR, 19), ("ZLDWMC", STR, 255),
             ("TBMJ", REAL, 2), ("KCDLBM", STR, 5), ("KCXS", REAL, 4), ("KCMJ", REAL, 2), ("TBDLMJ", REAL, 2),
             ("GDLX", STR, 2), ("GDPDJB", STR, 2), ("GDDB", INT, 0), ("ZZSXDM", STR, 6), ("CZCSXM", STR, 4)],
    "YJJBNTTB": PBF_FIELDS,
    "STBHHX": [("BSM", STR, 18), ("HXMC", STR, 100), ("HXLX", STR, 50), ("MJ", REAL, 2)],
    "CZKFBJ": [("BSM", STR, 18), ("XZQDM", STR, 9), ("CZKFBJLX", STR, 20), ("MJ", REAL, 2)],
    "DY": [("DYBH", STR, 10), ("DYMC", STR, 100), ("PQMC", STR, 100), ("RWLX", STR, 100)],
    "XM": [("XMBH", STR, 12), ("XMMC", STR, 100), ("XMLX", STR, 20), ("GHDLBM", STR, 5), ("GHDLMC", STR, 60),
           ("KCXS", REAL, 4), ("TZ", REAL, 2), ("KSNF", INT, 0), ("JSNF", INT, 0), ("DYBH", STR, 10)],
    "YJJBNTTB_GH": PBF_FIELDS,
}


def write_gpkg(path: str, layers: dict) -> None:
    """Write ``layers`` ({name: (geometries, {field: values})}) to a new GeoPackage at ``path``."""
    driver = ogr.GetDriverByName("GPKG")
    if os.path.exists(path):
        driver.DeleteDataSource(path)
    ds = driver.CreateDataSource(path)
    if ds is None:
        raise OSError(f"cannot create {path}")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    types = {STR: ogr.OFTString, REAL: ogr.OFTReal, INT: ogr.OFTInteger}
    for name, (geoms, cols) in layers.items():
        fields = SCHEMA[name]
        lyr = ds.CreateLayer(name, srs, ogr.wkbMultiPolygon, options=["FID=fid", "GEOMETRY_NAME=geom"])
        for fname, kind, width in fields:
            fd = ogr.FieldDefn(fname, types[kind])
            if kind == STR:
                fd.SetWidth(width)
            lyr.CreateField(fd)
        defn = lyr.GetLayerDefn()
        index = [(defn.GetFieldIndex(f), cols.get(f, [None] * len(geoms)), k) for f, k, _ in fields]
        lyr.StartTransaction()
        for row, geom in enumerate(geoms):
            feat = ogr.Feature(defn)
            for i, values, kind in index:
                v = values[row]
                if v is None:
                    feat.SetFieldNull(i)
                elif kind == STR:
                    feat.SetField(i, str(v))
                elif kind == REAL:
                    feat.SetField(i, float(v))
                else:
                    feat.SetField(i, int(v))
            geom = shapely.normalize(geom)
            mp = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
            feat.SetGeometryDirectly(ogr.CreateGeometryFromWkb(shapely.to_wkb(mp)))
            lyr.CreateFeature(feat)
        lyr.CommitTransaction()
    ds = None
