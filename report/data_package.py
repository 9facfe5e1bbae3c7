"""数据.gpkg: the unit's layers as the check counted them, each with its style embedded."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeature,
    QgsMapLayerStyle,
    QgsRendererCategory,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ..core.common.errors import InputError
from ..core.common.i18n import tr
from ..core.products.check import CheckResult
from ..qgis_bridge import styles
from ..qgis_bridge.layer_io import save_default_style
from .maps import MapLayers

TABLES = (("DY", "整治单元"), ("XZDL", "现状地类"), ("GHDL", "规划地类"), ("XM", "子项目"),
          ("YJJBNTTB", "现状永久基本农田"), ("YJJBNTTB_GH", "规划永久基本农田"), ("YJJBNT_TZ", "永久基本农田调出调入"),
          ("CT", "冲突"))


def write_data_package(result: CheckResult, unit_id: str, path: Path, crs, ledger) -> None:
    layers = MapLayers(result, unit_id, crs, ledger)
    adjustments = layers.adjustments()
    made = {
        "DY": layers.unit_outline(),
        "XZDL": layers.land_use(after=False),
        "GHDL": layers.land_use(after=True),
        "XM": layers.projects(),
        "YJJBNTTB": layers.flagged("pbf", "现状永久基本农田", lambda lyr: styles.style_pbf(lyr, planned=False)),
        "YJJBNTTB_GH": layers.flagged("pbf_plan", "规划永久基本农田", styles.style_pbf),
        "YJJBNT_TZ": _merge(adjustments),
        "CT": layers.conflicts(),
    }
    first = True
    for table, title in TABLES:
        layer = made[table]
        if layer is None:
            continue
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = table
        options.fileEncoding = "UTF-8"
        options.actionOnExistingFile = (QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile if first
                                        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer)
        # V3 since QGIS 3.20 (V2 is deprecated there); both return the error code first.
        write = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) or QgsVectorFileWriter.writeAsVectorFormatV2
        error = write(layer, str(path), layers.project.transformContext(), options)
        if error[0] != QgsVectorFileWriter.WriterError.NoError:
            raise InputError(tr("无法写出 {path}：{error}").format(path=path, error=error[1]))
        first = False
        written = QgsVectorLayer(f"{path}|layername={table}", tr(title), "ogr")
        style = QgsMapLayerStyle()
        style.readFromLayer(layer)
        style.writeToLayer(written)
        error = save_default_style(written, tr(title), tr("全域整治插件导出"))
        if error:
            raise InputError(tr("无法保存图层 {layer} 的样式：{error}").format(layer=table, error=error))


def _merge(adjustment_layers):
    """调出 and 调入 in one layer with a direction field (for the data package)."""
    if not adjustment_layers:
        return None
    out_layer, in_layer = adjustment_layers
    merged = QgsVectorLayer(f"MultiPolygon?crs={out_layer.crs().authid()}&field=direction:string",
                            tr("永久基本农田调出调入"), "memory")
    features = []
    for layer, label in ((out_layer, tr("调出")), (in_layer, tr("调入"))):
        for feature in layer.getFeatures():
            copy = QgsFeature(merged.fields())
            copy.setGeometry(feature.geometry())
            copy.setAttributes([label])
            features.append(copy)
    merged.dataProvider().addFeatures(features)
    merged.setRenderer(QgsCategorizedSymbolRenderer("direction", [
        QgsRendererCategory(tr("调出"), styles.fill("#d7191c", "#d7191c", 0.4, alpha=0.85), tr("调出")),
        QgsRendererCategory(tr("调入"), styles.fill("#1a9641", "#1a9641", 0.4, alpha=0.85), tr("调入"))]))
    return merged
