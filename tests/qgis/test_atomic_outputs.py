"""Never a partial file (issue 13): every file an algorithm writes through a sink (CSV, GeoPackage, shapefile,
GeoJSON …) is written under a hidden temporary name beside its destination and moved into place when whole.
A failure or a cancel while writing leaves nothing at the destination and no temporary file, a file an earlier
run left there is replaced only by a whole new one, a result loaded on completion is loaded (and styled) from
its final path, and no algorithm changes a byte of its inputs."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from unittest import mock

import pytest
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsProcessingContext,
    QgsProcessingDestinationParameter,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingUtils,
    QgsProject,
    QgsVectorLayer,
)

import processing
from fixtures.paths import ROOT, SAMPLE
from fixtures.qgis_layers import scheme_parameters
from land_consolidation.core.products.check import run_check
from land_consolidation.processing.algorithms import sinks

pytestmark = pytest.mark.usefixtures("empty_project")  # each test's layers leave the project with it

BOM = b"\xef\xbb\xbf"
SHAPEFILE = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@pytest.fixture(scope="module")
def expected(failing_layers):
    result = run_check(failing_layers)
    return {"OUTPUT": len(result.findings), "CONFLICTS": len(result.conflicts)}


def _hidden(folder: Path) -> list:
    """Temporary files (.name.part-…) and set-aside ones (.name.old-…) left in ``folder``."""
    return sorted(p.name for p in folder.rglob(".*"))


def _bytes(folder: Path, stem: str) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name.split(".")[0] == stem}


def _count(path) -> int:
    layer = QgsVectorLayer(str(path), "out", "ogr")
    assert layer.isValid(), path
    return layer.featureCount()


def _run_check(layers, tmp_path, output, conflicts, **run):
    parameters = scheme_parameters(layers)
    parameters.update(OUTPUT=str(tmp_path / output), CONFLICTS=str(tmp_path / conflicts))
    return processing.run("landconsolidation:checkunits", parameters, **run)


class _CountingFeedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.infos = []

    def pushInfo(self, info):  # noqa: N802 - Qt's name
        self.infos.append(info)
        super().pushInfo(info)


def _fail_after(monkeypatch, name: str, calls: int, then=None):
    """Make ``sinks.<name>`` (QgsFeature: once per row; to_qgs_geometry: once per polygon) raise, or call
    ``then`` once, after ``calls`` calls: a failure or a cancel in the middle of writing a sink."""
    real = getattr(sinks, name)
    seen = {"n": 0}

    def counting(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] > calls:
            if then is None:
                raise OSError("disk full (injected)")
            if seen["n"] == calls + 1:
                then()
        return real(*args, **kwargs)

    monkeypatch.setattr(sinks, name, counting)
    return seen


# ----------------------------------------------------------------------------- (1) whole, at the final path

@pytest.mark.parametrize(("output", "conflicts"), [("check.csv", "conflicts.gpkg"), ("check.gpkg", "conflicts.shp"),
                                                   ("check.xlsx", "conflicts.geojson")])
def test_outputs_are_written_whole_at_their_final_paths(plugin_provider, failing_layers, expected, tmp_path,
                                                        output, conflicts):
    result = _run_check(failing_layers, tmp_path, output, conflicts)
    assert result == {"OUTPUT": str(tmp_path / output), "CONFLICTS": str(tmp_path / conflicts)}
    assert _count(result["OUTPUT"]) == expected["OUTPUT"]
    assert _count(result["CONFLICTS"]) == expected["CONFLICTS"] >= 2
    assert _hidden(tmp_path) == []
    if output.endswith(".csv"):
        assert (tmp_path / output).read_bytes().startswith(BOM)
    if conflicts.endswith(".shp"):
        names = {p.name for p in tmp_path.glob("conflicts.*")}
        assert {"conflicts.shp", "conflicts.shx", "conflicts.dbf", "conflicts.prj"} <= names
        assert names <= {"conflicts" + s for s in SHAPEFILE}
    else:  # the layer inside is named as a file written in place would name it, not after the temporary file
        from osgeo import ogr

        dataset = ogr.Open(str(tmp_path / conflicts))
        assert [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())] == ["conflicts"]
        dataset = None


def test_an_earlier_result_is_replaced_whole_and_its_stale_sidecars_go(plugin_provider, failing_layers, expected,
                                                                       tmp_path):
    for suffix in SHAPEFILE + (".qix",):  # an earlier, different result, with a spatial index of its own
        (tmp_path / f"conflicts{suffix}").write_bytes(b"old " + suffix.encode())
    (tmp_path / "check.csv").write_bytes(b"old,csv\n")
    result = _run_check(failing_layers, tmp_path, "check.csv", "conflicts.shp")
    assert _count(result["CONFLICTS"]) == expected["CONFLICTS"]
    assert _count(result["OUTPUT"]) == expected["OUTPUT"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    _run_check(failing_layers, fresh, "check.csv", "conflicts.shp")
    new = {p.name for p in fresh.glob("conflicts.*")}
    assert {p.name for p in tmp_path.glob("conflicts.*")} == new  # no .qix, nor any other file of the old one
    assert not any(p.read_bytes().startswith(b"old ") for p in tmp_path.glob("*.*"))
    assert _hidden(tmp_path) == []


def test_a_table_sent_to_a_shapefile_is_the_dbf_that_loads(plugin_provider, failing_layers, expected, tmp_path):
    result = _run_check(failing_layers, tmp_path, "check.shp", "conflicts.gpkg")
    assert result["OUTPUT"] == str(tmp_path / "check.dbf")  # QGIS itself reports a check.shp it never writes
    assert _count(result["OUTPUT"]) == expected["OUTPUT"]
    assert _hidden(tmp_path) == []


# ----------------------------------------------------------------------------- (2) a failure while writing

@pytest.mark.parametrize("extension", ["csv", "gpkg", "shp"])
def test_a_failure_while_writing_leaves_nothing(plugin_provider, failing_layers, tmp_path, monkeypatch, extension):
    """The first sink fails at its fourth row: nothing of it, nor of the sink after it, is left."""
    seen = _fail_after(monkeypatch, "QgsFeature", 3)
    with pytest.raises(QgsProcessingException):
        _run_check(failing_layers, tmp_path, f"check.{extension}", f"conflicts.{extension}")
    assert seen["n"] == 4  # it did fail mid-write, and nothing was written after
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("extension", ["csv", "gpkg", "shp"])
def test_a_failure_while_writing_keeps_the_earlier_result(plugin_provider, failing_layers, tmp_path, monkeypatch,
                                                          extension):
    _run_check(failing_layers, tmp_path, "check.csv", f"conflicts.{extension}")
    before = _bytes(tmp_path, "conflicts")
    assert before
    _fail_after(monkeypatch, "to_qgs_geometry", 2)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    with pytest.raises(QgsProcessingException):
        _run_check(failing_layers, tmp_path, "check.csv", f"conflicts.{extension}", context=context)
    assert _bytes(tmp_path, "conflicts") == before  # byte for byte, every file of it
    assert _hidden(tmp_path) == []


# ----------------------------------------------------------------------------- (3) cancel while writing

@pytest.mark.parametrize("extension", ["csv", "gpkg", "shp"])
def test_cancel_while_writing_leaves_nothing_and_says_so(plugin_provider, failing_layers, tmp_path, monkeypatch,
                                                         extension):
    (tmp_path / "earlier").mkdir()
    _run_check(failing_layers, tmp_path / "earlier", "check.csv", f"conflicts.{extension}")
    for path in (tmp_path / "earlier").iterdir():
        shutil.copy2(path, tmp_path / path.name)
    before = _bytes(tmp_path, "conflicts")
    feedback = _CountingFeedback()
    _fail_after(monkeypatch, "to_qgs_geometry", 2, then=feedback.cancel)  # the button, pressed mid-write
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    parameters = scheme_parameters(failing_layers)
    parameters.update(
        OUTPUT=QgsProcessingOutputLayerDefinition(str(tmp_path / "new.csv"), QgsProject.instance()),
        CONFLICTS=QgsProcessingOutputLayerDefinition(str(tmp_path / f"conflicts.{extension}"), QgsProject.instance()))
    loaded = {}
    result = processing.run("landconsolidation:checkunits", parameters, context=context, feedback=feedback,
                            onFinish=lambda alg, ctx, fb: loaded.update(ctx.layersToLoadOnCompletion()))
    assert result == {}
    assert "已取消。" in feedback.infos
    assert _bytes(tmp_path, "conflicts") == before
    assert _hidden(tmp_path) == []
    assert list(loaded) == [str(tmp_path / "new.csv")]  # the whole output written before the cancel, only


def test_cancel_of_a_table_leaves_nothing(plugin_provider, failing_layers, tmp_path, monkeypatch):
    feedback = _CountingFeedback()
    _fail_after(monkeypatch, "QgsFeature", 5, then=feedback.cancel)
    result = _run_check(failing_layers, tmp_path, "check.csv", "conflicts.gpkg", feedback=feedback)
    assert result == {} and "已取消。" in feedback.infos
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- (4) loaded from the final path

def _load_on_completion(context, feedback):
    """What Processing does with the layers a run asks to load (as test_result_outputs does)."""
    project = context.project()
    loaded = {}
    for destination, details in context.layersToLoadOnCompletion().items():
        layer = QgsProcessingUtils.mapLayerFromString(destination, context, typeHint=details.layerTypeHint)
        assert layer is not None, destination
        layer.setName(details.name or layer.name())
        project.addMapLayer(context.temporaryLayerStore().takeMapLayer(layer) or layer)
        if details.postProcessor() is not None:
            details.postProcessor().postProcessLayer(layer, context, feedback)
        loaded[destination] = layer
    return loaded


def test_results_loaded_on_completion_come_from_the_final_paths_styled(plugin_provider, failing_layers, expected,
                                                                        tmp_path):
    project = QgsProject.instance()
    parameters = scheme_parameters(failing_layers)
    table = QgsProcessingOutputLayerDefinition(str(tmp_path / "check.csv"), project)
    conflicts = QgsProcessingOutputLayerDefinition(str(tmp_path / "冲突.shp"), project)
    conflicts.destinationName = "本次冲突图斑"
    conflicts.createOptions = {"fileEncoding": "GBK"}  # the output's own options are kept
    parameters.update(OUTPUT=table, CONFLICTS=conflicts)
    context = QgsProcessingContext()
    context.setProject(project)
    seen = {}

    def finish(alg, ctx, fb):
        seen["keys"] = sorted(ctx.layersToLoadOnCompletion())
        seen["processors"] = {k: d.postProcessor() for k, d in ctx.layersToLoadOnCompletion().items()}
        seen["names"] = {k: d.name for k, d in ctx.layersToLoadOnCompletion().items()}
        seen["layers"] = _load_on_completion(ctx, fb)

    result = processing.run("landconsolidation:checkunits", parameters, context=context,
                            feedback=QgsProcessingFeedback(), onFinish=finish)
    final = {"OUTPUT": str(tmp_path / "check.csv"), "CONFLICTS": str(tmp_path / "冲突.shp")}
    assert result == final
    assert seen["keys"] == sorted(final.values())  # no temporary file, nothing else
    assert all(isinstance(p, sinks.StyleOnLoad) for p in seen["processors"].values())
    assert seen["names"][final["CONFLICTS"]] == "本次冲突图斑"
    layer = seen["layers"][final["CONFLICTS"]]
    assert layer.source().split("|")[0] == final["CONFLICTS"] and layer.name() == "本次冲突图斑"
    assert isinstance(layer.renderer(), QgsCategorizedSymbolRenderer) and layer.renderer().classAttribute() == "kind"
    assert layer.featureCount() == expected["CONFLICTS"]
    assert (tmp_path / "冲突.cpg").read_text().strip().upper() != "UTF-8"  # written in GBK as asked
    assert any(re.search("[\u4e00-\u9fff]", f["message"] or "") for f in layer.getFeatures())  # read back as GBK
    rows = seen["layers"][final["OUTPUT"]]
    assert rows.featureCount() == expected["OUTPUT"] and len(rows.conditionalStyles().rowStyles()) == 4
    assert _hidden(tmp_path) == []


def test_temporary_outputs_register_nothing_that_cannot_load(plugin_provider, failing_layers, tmp_path):
    """A temporary output (memory layer) is loaded by its layer id only, not also as "memory:…"."""
    project = QgsProject.instance()
    parameters = scheme_parameters(failing_layers)
    parameters.update(OUTPUT=QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", project),
                      CONFLICTS=QgsProcessingOutputLayerDefinition(str(tmp_path / "c.json"), project))
    context = QgsProcessingContext()
    context.setProject(project)
    loaded = {}
    result = processing.run("landconsolidation:checkunits", parameters, context=context,
                            feedback=QgsProcessingFeedback(),
                            onFinish=lambda alg, ctx, fb: loaded.update(_load_on_completion(ctx, fb)))
    assert sorted(loaded) == sorted(result.values())
    assert result["CONFLICTS"] == str(tmp_path / "c.json.geojson")  # QGIS's own name for a .json GeoJSON


# ----------------------------------------------------------------------------- (5) inputs never change

TABLES = {"UNITS": "DY", "LANDUSE": "DLTB", "PROJECTS": "XM", "PBF": "YJJBNTTB", "PBF_PLAN": "YJJBNTTB_GH",
          "ECO_REDLINE": "STBHHX", "UDB": "CZKFBJ", "UDB_PLAN": "CZKFBJ", "TOWNSHIPS": "XZQ"}
SPECIAL = {  # inputs other than the scheme's layers and the ruleset
    "exporttxt": lambda inputs: {"INPUT": f"{inputs / SAMPLE.name}|layername=XM"},
    "importtxt": lambda inputs: {"INPUT": str(inputs / "子项目.txt")},
    "exportunitscheme": lambda inputs: {"UNIT_IDS": "DY01"},
}
ALGORITHMS = ("checkunits", "controllineconflicts", "landusestructure", "landuseflow", "contiguouspatches",
              "pbfadjustment", "createscheme", "potentialsurvey", "exporttxt", "importtxt", "exportunitscheme")
SINK_EXTENSIONS = (".csv", ".gpkg", ".shp")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint(folders) -> dict:
    return {str(p): _sha256(p) for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, qgis_processing):
    """Copies of the sample GeoPackage and the default ruleset, and a TXT file made from the sample's 子项目."""
    from fixtures.plugin_session import session_provider

    session_provider()
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy2(SAMPLE, folder / SAMPLE.name)
    shutil.copy2(ROOT / "rules" / "ningbo_2022.yaml", folder / "ningbo_2022.yaml")
    made = tmp_path_factory.mktemp("made")
    processing.run("landconsolidation:exporttxt", {"INPUT": f"{folder / SAMPLE.name}|layername=XM",
                                                   "OUTPUT": str(made / "子项目.txt")})
    shutil.copy2(made / "子项目.txt", folder / "子项目.txt")
    return folder


def test_the_input_test_runs_every_algorithm(plugin_provider):
    assert sorted(a.name() for a in plugin_provider.algorithms()) == sorted(ALGORITHMS)


def _parameters(algorithm, inputs: Path, out: Path) -> dict:
    parameters = {}
    for name, table in TABLES.items():
        if algorithm.parameterDefinition(name) is not None:
            parameters[name] = f"{inputs / SAMPLE.name}|layername={table}"
    if algorithm.parameterDefinition("RULESET") is not None:
        parameters["RULESET"] = str(inputs / "ningbo_2022.yaml")
    parameters.update(SPECIAL.get(algorithm.name(), lambda _: {})(inputs))
    sinks_seen = 0
    for definition in algorithm.parameterDefinitions():
        if not isinstance(definition, QgsProcessingDestinationParameter):
            continue
        name = definition.name()
        if isinstance(definition, QgsProcessingParameterFeatureSink):
            parameters[name] = str(out / f"{name}{SINK_EXTENSIONS[sinks_seen % len(SINK_EXTENSIONS)]}")
            sinks_seen += 1
        elif isinstance(definition, QgsProcessingParameterFolderDestination):
            parameters[name] = str(out / name)
        elif isinstance(definition, QgsProcessingParameterFileDestination):
            parameters[name] = str(out / f"{name}.{definition.defaultFileExtension()}")
    return parameters


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "exportunitscheme" else n
                                  for n in ALGORITHMS])
def test_no_algorithm_changes_its_inputs(plugin_provider, inputs, tmp_path, name):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(f"landconsolidation:{name}")
    shipped = [ROOT / "rules", ROOT / "resources" / "templates"]  # the plugin's own files, read by every run
    before = _fingerprint([inputs, *shipped])
    parameters = _parameters(algorithm, inputs, tmp_path)
    from land_consolidation.report import maps

    with mock.patch.object(maps, "DPI", 40):  # the export's maps: inputs and files are tested, not pixels
        result = processing.run(algorithm.id(), parameters)
    assert result, name
    assert _fingerprint([inputs, *shipped]) == before
    assert _hidden(tmp_path) == []
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written, name  # the run did write its outputs, to files
