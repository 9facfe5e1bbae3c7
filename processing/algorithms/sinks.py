"""Writing engine tables (pandas) and geometries (shapely) into Processing sinks.

A sink written to a file (CSV, GeoPackage, shapefile, GeoJSON …) is written under a hidden temporary name
beside its destination and moved into place only when it is complete (issue 13): a run that fails or is
cancelled while writing leaves neither a half-written file nor a temporary one, and a file an earlier run left
at the destination is replaced only by a whole new one.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import uuid
from typing import Callable, Mapping, Optional, Union

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputLayerDefinition,
    QgsProperty,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ...core.common.errors import Cancelled
from ...core.common.files import NAME_MAX_BYTES, hidden_sibling_name
from ...core.common.i18n import tr
from ...core.common.numbers import AREA_DECIMALS, is_missing, rounded
from ...qgis_bridge.fields import make_fields
from ...qgis_bridge.layer_io import to_qgs_geometry

Style = Callable[[QgsVectorLayer], None]

# field → decimals, or field → (row → decimals) for figures judged at their rule's own decimals
Decimals = Mapping[str, Union[int, Callable[[dict], int]]]


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


def is_csv_destination(algorithm, parameters, context, name: str) -> bool:
    """Whether sink ``name`` is written to a CSV file."""
    if parameters.get(name) in (None, ""):
        return False
    destination = algorithm.parameterAsOutputLayer(parameters, name, context) or ""
    return destination.split("|")[0].lower().endswith(".csv")


def csv_layer_options() -> list:
    """OGR's CSV layer options with a UTF-8 BOM (Excel on Chinese Windows then reads UTF-8, not GBK)."""
    options = [o for o in QgsVectorFileWriter.defaultLayerOptions("CSV") if not o.upper().startswith("WRITE_BOM=")]
    return options + ["WRITE_BOM=YES"]


def as_printed(rows, spec, decimals: Decimals | None = None) -> list:
    """``rows`` with every float field rounded as printed: ``decimals`` per field, else AREA_DECIMALS."""
    decimals = decimals or {}
    floats = [field for field, kind in spec if kind is float]
    printed = []
    for row in rows:
        row = dict(row)
        for field in floats:
            value = _plain(row.get(field))
            if isinstance(value, float) and not is_missing(value):
                places = decimals.get(field, AREA_DECIMALS)
                row[field] = rounded(value, places(row) if callable(places) else places) + 0.0  # no -0.0
        printed.append(row)
    return printed


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Styles a result layer when Processing loads it into the project (the plugin's look for it)."""

    def __init__(self, style: Style) -> None:
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - Qt's name
        if isinstance(layer, QgsVectorLayer):
            self.style(layer)
            layer.triggerRepaint()


# Processing holds post-processors by pointer only: Python must keep them until the layers are loaded
# (a batch of runs loads them all at its end), and cannot tell Python when it is done with them: all are
# kept for the session (a few hundred bytes each, one per result layer loaded).
_KEPT: list = []


def style_on_load(context, destination: Optional[str], style: Optional[Style]) -> Optional[StyleOnLoad]:
    """Apply ``style`` to ``destination`` when the context loads it on completion (None if it does not)."""
    if style is None or not destination or not context.willLoadLayerOnCompletion(destination):
        return None
    processor = StyleOnLoad(style)
    _KEPT.append(processor)
    context.layerToLoadOnCompletionDetails(destination).setPostProcessor(processor)
    return processor


def write_table(algorithm, parameters, context, name: str, spec, rows, geoms=None, crs=None, feedback=None,
                decimals: Decimals | None = None, style: Optional[Style] = None):
    """Write ``rows`` (dicts with the keys of ``spec``: ((field, type), …)) to sink ``name``.

    With ``geoms`` (shapely, already in ``crs``) the sink is a MultiPolygon layer. A CSV
    destination is written with a UTF-8 BOM and its figures as printed (``as_printed``:
    ``decimals`` per field, areas and percentages at 2); layers keep full precision. Returns the
    destination id, or None when the optional sink was not requested. ``style`` (a function of
    qgis_bridge/styles.py) styles the layer when Processing loads it into a project.

    A file destination is written whole or not at all (see ``_write_file``); cancelling stops the
    run (``Cancelled``) instead of handing on the rows written so far as if they were all.
    """
    fields = make_fields(spec)
    kind = QgsWkbTypes.Type.MultiPolygon if geoms is not None else QgsWkbTypes.Type.NoGeometry
    crs = crs if crs is not None else QgsCoordinateReferenceSystem()
    feedback = feedback if feedback is not None else context.feedback()
    # parameterAsOutputLayer and parameterAsSink each register the destination to load on completion:
    # only the one finally written stays (never a temporary file, a file not made, or "memory:…").
    loading = set(context.layersToLoadOnCompletion())
    destination = ""
    if parameters.get(name) not in (None, ""):
        destination = algorithm.parameterAsOutputLayer(parameters, name, context) or ""
    options = {}
    if destination.split("|")[0].lower().endswith(".csv"):  # is_csv_destination, without asking again
        rows = as_printed(rows, spec, decimals)
        options["layerOptions"] = csv_layer_options()
    table = _Table(fields, spec, rows, geoms)
    try:
        if _is_plain_file(parameters.get(name), destination):
            dest, registered = _write_file(algorithm, parameters, context, name, destination, table, kind, crs,
                                           options, feedback)
        else:
            dest, registered = _write_in_place(algorithm, parameters, context, name, table, kind, crs, options,
                                               feedback)
    except BaseException:
        _settle_loading(context, loading)
        raise
    _settle_loading(context, loading, registered, dest)
    if dest is None:
        return None
    style_on_load(context, dest, style)
    return dest


def _settle_loading(context, before: set, registered: Optional[str] = None, dest: Optional[str] = None) -> None:
    """Of the layers to load on completion, keep those registered ``before`` this sink and ``dest``, with
    the details Processing registered for the sink under ``registered`` (its temporary file's name)."""
    layers = context.layersToLoadOnCompletion()
    settled = {key: details for key, details in layers.items() if key in before}
    if registered is not None and dest and registered in layers:
        settled[dest] = layers[registered]
    context.setLayersToLoadOnCompletion(settled)


class _Table:
    """What one sink receives: fields, rows (dicts with the keys of ``spec``) and their geometries."""

    def __init__(self, fields, spec, rows, geoms) -> None:
        self.fields = fields
        self.spec = spec
        self.rows = rows
        self.geoms = geoms

    def write(self, open_sink: _OpenSink, feedback, label: str) -> int:
        """Add every row to ``open_sink``; the number written. Raises ``Cancelled`` when the run is cancelled."""
        count = 0
        for position, row in enumerate(self.rows):
            if feedback is not None and feedback.isCanceled():
                raise Cancelled(tr("已取消。"))
            feature = QgsFeature(self.fields)
            if self.geoms is not None:
                feature.setGeometry(to_qgs_geometry(self.geoms[position], multi=True))
            feature.setAttributes([_plain(row.get(field)) for field, _ in self.spec])
            if not open_sink.sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
                raise QgsProcessingException(tr("无法写入输出“{name}”的第 {n} 个要素：{error}").format(
                    name=label, n=position + 1, error=open_sink.sink.lastError()))
            count += 1
        return count


class _OpenSink:
    """Holds the sink QGIS made, so that closing it (flushing and closing its file) does not wait for
    Python to drop every reference: a traceback keeps the frames it passed through, and their locals."""

    def __init__(self, sink) -> None:
        self.sink = sink

    def close(self) -> None:
        sink, self.sink = self.sink, None
        if sink is None:
            return
        try:
            finalize = getattr(sink, "finalize", None)  # QGIS 3.42+: flushes, raises if that fails
            if finalize is not None:
                finalize()
        finally:
            del sink  # Python owns QGIS's sink: deleting it deletes the file writer, which closes the file


def _write_in_place(algorithm, parameters, context, name, table, kind, crs, options, feedback):
    """Memory layers, database tables (postgres:, ``ogr:`` URIs), layers appended into an existing
    GeoPackage (``path|layername=``, a layer of a multi-layer file: nothing that could be moved as a file)
    and rare formats (DXF, GPX, S-57, Interlis …) are written where they are."""
    sink, dest = algorithm.parameterAsSink(parameters, name, context, table.fields, kind, crs, **options)
    if sink is None:
        return None, None
    open_sink = _OpenSink(sink)
    del sink
    try:
        table.write(open_sink, feedback, _label(algorithm, name))
    finally:
        open_sink.close()
    return dest, dest


def _label(algorithm, name: str) -> str:
    """The output as the planner knows it: its description in the dialog (合规性核算表), else its name."""
    definition = algorithm.parameterDefinition(name)
    return definition.description() if definition is not None and definition.description() else name


# ----------------------------------------------------------------------------- file destinations

# QGIS's own test for a "provider:uri" destination (postgres:…, ogr:…, spatialite:…); "C:/…" is a path.
_PROVIDER_URI = re.compile(r"^(.{3,}?):(.*)$")

# Extensions written under a temporary name and moved into place: formats of one file, or of one file and
# sidecars named after it (.shp with .shx .dbf .prj .cpg; .tab with .dat .map .id; .gml with .xsd). A path
# without extension, or with one no driver claims, is a GeoPackage (QGIS appends .gpkg).
_MOVABLE_EXTENSIONS = frozenset({"", ".csv", ".gpkg", ".shp", ".dbf", ".geojson", ".json", ".geojsonl",
                                 ".geojsons", ".fgb", ".kml", ".gml", ".sqlite", ".tab", ".xlsx", ".ods"})

# Files of an earlier result that the new one may not have: removed when the new one is in place, as QGIS
# does when it overwrites a shapefile (a stale .qix would index the old geometries).
_SIDECARS = {
    ".shp": (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".qpj", ".sbn", ".sbx"),
    ".dbf": (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".qpj", ".sbn", ".sbx"),
    ".tab": (".tab", ".dat", ".map", ".id", ".ind"),
    ".gml": (".gml", ".xsd", ".gfs"),
}

# Drivers whose files OGR reads back without guessing (so the features are counted), those it only opens
# (a spreadsheet's header row is guessed), and SQLite's own files next to a database.
_COUNTED = frozenset({"GPKG", "SQLite", "ESRI Shapefile", "CSV", "GeoJSON", "GeoJSONSeq", "FlatGeobuf",
                      "MapInfo File", "LIBKML", "KML"})
_OPENED = frozenset({"XLSX", "ODS"})
_SQLITE = frozenset({"GPKG", "SQLite"})
_SQLITE_FILES = ("-journal", "-wal", "-shm")

_ROOM = 24  # bytes left in a temporary name for what the writer adds (.geojson, -journal …)


def _extension(name: str) -> str:
    """The extension as QGIS reads it from a destination: from the last dot (``.csv`` is a CSV)."""
    return name[name.rfind("."):].lower() if "." in name else ""


def _is_plain_file(value, destination: str) -> bool:
    """Whether ``destination`` is a file path written by QGIS's file writer into a file of its own."""
    if isinstance(value, QgsProcessingOutputLayerDefinition) and value.useRemapping():
        return False  # appended into an existing layer: written in place
    if not destination or destination.startswith("memory:") or "|" in destination:
        return False
    if _PROVIDER_URI.match(destination):
        return False
    extension = _extension(os.path.basename(destination))
    return extension in _MOVABLE_EXTENSIONS or not QgsVectorFileWriter.driverForExtension(extension[1:])


class _Target:
    """A file destination and the hidden temporary name beside it that it is written under."""

    def __init__(self, destination: str) -> None:
        self.folder, name = os.path.split(destination)
        self.extension = _extension(name)
        self.stem = name[: len(name) - len(self.extension)]
        tag = f".part-{uuid.uuid4().hex[:8]}"
        self.temporary_stem = hidden_sibling_name(
            self.stem, tag, NAME_MAX_BYTES - len(self.extension.encode("utf-8")) - _ROOM)
        self.temporary = os.path.join(self.folder, self.temporary_stem + name[len(self.stem):])
        self.layer_name = name.split(".")[0]  # what QGIS names the layer of a new file (QFileInfo.baseName)
        self.driver = QgsVectorFileWriter.driverForExtension(self.extension[1:]) or "GPKG"

    def temporary_files(self) -> list:
        """Every file written under the temporary name (the writer may add sidecars and extensions)."""
        try:
            names = os.listdir(self.folder or os.curdir)
        except OSError:
            return []
        return sorted(os.path.join(self.folder, n) for n in names
                      if n == self.temporary_stem or n.startswith(self.temporary_stem + "."))

    def final(self, temporary: str) -> str:
        return os.path.join(self.folder, self.stem + os.path.basename(temporary)[len(self.temporary_stem):])

    def remove_temporary(self) -> None:
        for path in self.temporary_files():
            with contextlib.suppress(OSError):
                os.remove(path)

    def stale(self) -> list:
        """Files of an earlier result at the destination that the new one replaces even if it has no such file."""
        stem = os.path.join(self.folder, self.stem)
        return [stem + suffix for suffix in _SIDECARS.get(self.extension, ())]


def _write_file(algorithm, parameters, context, name, destination, table, kind, crs, options, feedback):
    """Write to a hidden temporary file beside ``destination``, check it, move it (and its sidecars) into place.

    The sink is made by Processing itself, on a copy of the parameters naming the temporary file: the
    output's create options (file encoding …), display name and project (to load it on completion) are
    kept, and the layer is named as it would be in the destination. On any error or cancel the temporary
    files are removed and nothing at the destination changes."""
    target = _Target(destination)
    value = parameters.get(name)
    definition = (QgsProcessingOutputLayerDefinition(value) if isinstance(value, QgsProcessingOutputLayerDefinition)
                  else QgsProcessingOutputLayerDefinition(destination))
    definition.sink = QgsProperty.fromValue(target.temporary)
    create_options = dict(definition.createOptions or {})
    named = "layerName" not in create_options and bool(target.layer_name)
    if named:  # else the layer inside a GeoPackage, GeoJSON, workbook … would bear the temporary name
        create_options["layerName"] = target.layer_name
    definition.createOptions = create_options
    temporary_parameters = dict(parameters)
    temporary_parameters[name] = definition
    label = _label(algorithm, name)
    open_sink = None
    try:
        try:
            sink, temporary_dest = algorithm.parameterAsSink(temporary_parameters, name, context, table.fields,
                                                             kind, crs, **options)
        except QgsProcessingException as error:  # QGIS's message names the file it could not create
            raise QgsProcessingException(str(error).replace(target.temporary_stem, target.stem)) from error
        if sink is None:
            return None, None
        open_sink = _OpenSink(sink)
        del sink
        count = table.write(open_sink, feedback, label)
        open_sink.close()
        written = _written_file(target, temporary_dest.split("|")[0])
        _check_written(target, written, count, label)
        final_path = target.final(written)
        try:
            _move_into_place(target, written)
        except OSError as error:
            raise QgsProcessingException(tr("无法把输出“{name}”写到 {path}：{error}（文件可能正被其他程序打开）").format(
                name=label, path=final_path, error=error)) from error
    except BaseException:
        if open_sink is not None:
            with contextlib.suppress(Exception):
                open_sink.close()  # closed before its files are removed: nothing is written after
        target.remove_temporary()
        raise
    dest = final_path
    if not named and "|" in temporary_dest:  # the output's own layer name (shapefiles report the file's)
        dest += "|" + temporary_dest.split("|", 1)[1].replace(target.temporary_stem, target.stem)
    return dest, temporary_dest


def _written_file(target: _Target, reported: str) -> str:
    """The file the writer made: a table without geometry sent to a shapefile is a lone .dbf, though QGIS
    reports the .shp it did not write (that path would not load; the .dbf does)."""
    if target.driver == "ESRI Shapefile" and not os.path.exists(reported):
        table = os.path.splitext(reported)[0] + ".dbf"
        if os.path.isfile(table):
            return table
    return reported


def _check_written(target: _Target, path: str, count: int, label: str) -> None:
    """The closed temporary file opens and holds the ``count`` features written (read-only: nothing is
    added beside it); raises otherwise."""
    problem = ""
    leftovers = [p for p in target.temporary_files() if p.endswith(_SQLITE_FILES)]
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        problem = tr("文件没有写成")
    elif leftovers:  # a journal left behind: the database was not closed cleanly
        problem = tr("数据库未正常关闭（{file}）").format(file=os.path.basename(leftovers[0]))
    elif target.driver in _COUNTED or target.driver in _OPENED:
        problem = _read_back(path, target.driver, count if target.driver in _COUNTED else None)
    if problem:
        raise QgsProcessingException(tr("输出“{name}”未能完整写入 {path}：{problem}").format(
            name=label, path=target.final(path), problem=problem))


def _read_back(path: str, driver: str, count: Optional[int]) -> str:
    """What is wrong with ``path`` read back with OGR (read-only), or "" when it is whole."""
    try:
        from osgeo import gdal
    except ImportError:  # pragma: no cover - QGIS always ships GDAL's bindings
        return ""
    try:
        dataset = gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_READONLY, allowed_drivers=[driver])
    except RuntimeError as error:  # GDAL raises once anyone called gdal.UseExceptions()
        return str(error)
    if dataset is None or dataset.GetLayerCount() < 1:
        return tr("文件无法打开")
    try:
        found = dataset.GetLayer(0).GetFeatureCount() if count is not None else None
    finally:
        dataset = None  # closes the file
    if found is not None and found != count:
        return tr("只有 {found} 个要素，应有 {count} 个").format(found=found, count=count)
    return ""


def _move_into_place(target: _Target, written: str) -> None:
    """Move the temporary files to the destination's names, the main file last.

    One file is moved in one step (``os.replace``: a reader finds the old file or the new one). A family
    (shapefile …) is replaced together: the earlier result's files are set aside first and put back if a
    move fails, and removed once every new file is in place."""
    moves = [(path, target.final(path)) for path in target.temporary_files() if path != written]
    moves.append((written, target.final(written)))
    finals = {final for _, final in moves}
    stale = [path for path in target.stale() if path not in finals and os.path.lexists(path)]
    if target.driver in _SQLITE:
        # SQLite would apply an earlier database's journal or write-ahead log to the new file
        for suffix in _SQLITE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.remove(target.final(written) + suffix)
    if len(moves) == 1 and not stale:
        os.replace(written, target.final(written))
        return
    tag = f".old-{uuid.uuid4().hex[:8]}"
    aside: list = []
    moved: list = []
    try:
        for final in [final for _, final in moves] + stale:
            if os.path.lexists(final):
                old = os.path.join(target.folder, hidden_sibling_name(os.path.basename(final), tag))
                os.replace(final, old)
                aside.append((final, old))
        for temporary, final in moves:
            os.replace(temporary, final)
            moved.append((temporary, final))
    except BaseException:
        for temporary, final in reversed(moved):
            with contextlib.suppress(OSError):
                os.replace(final, temporary)  # removed with the other temporary files
        for final, old in reversed(aside):
            with contextlib.suppress(OSError):
                os.replace(old, final)
        raise
    for _, old in aside:
        with contextlib.suppress(OSError):
            os.remove(old)


def records(frame) -> list:
    return frame.to_dict("records") if frame is not None and len(frame) else []
