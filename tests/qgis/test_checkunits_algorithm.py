"""``landconsolidation:checkunits`` as Processing runs it: toolbox, model, and its outputs.

The algorithm is a thin caller of the engine: its table must equal ``run_check`` on the
same layers, row for row.
"""

import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterFeatureSource,
    QgsProject,
    QgsVectorLayer,
)

import processing
from fixtures import grid
from fixtures.qgis_layers import ROLE_PARAMETERS, scheme_parameters
from land_consolidation.core.common.numbers import rounded
from land_consolidation.core.products.check import run_check
from land_consolidation.processing.models import with_explicit_output_names


@pytest.fixture(scope="module")
def failing_scheme():
    projects = grid.failing_projects()
    pbf_plan = [grid.C(*k) for k in grid.PBF_CELLS if k != (4, 1)] + [grid.R(4, 1, 4.5, 2), grid.IN_ECO]
    return grid.scheme(projects, pbf_plan, [grid.R(3, 3, 6, 4), grid.C(3, 2)])


def _parameters(layers, tmp_path):
    parameters = scheme_parameters(layers)
    parameters.update({"UNIT_ID_FIELD": "DYBH", "OUTPUT": str(tmp_path / "check.csv"),
                       "CONFLICTS": str(tmp_path / "conflicts.gpkg")})
    return parameters


def _rows(path):
    layer = QgsVectorLayer(str(path), "rows", "ogr")
    assert layer.isValid(), path
    return [f.attributes() for f in layer.getFeatures()], [f.name() for f in layer.fields()]


def test_algorithm_equals_engine(plugin_provider, failing_scheme, tmp_path):
    parameters = _parameters(failing_scheme, tmp_path)
    outputs = processing.run("landconsolidation:checkunits", parameters)
    rows, names = _rows(outputs["OUTPUT"])
    for required in ("scope", "scope_id", "rule_id", "value", "threshold", "unit", "status", "clause", "message"):
        assert required in names
    engine = run_check(failing_scheme)
    assert len(rows) == len(engine.findings)
    table = {(r[names.index("scope_id")] or "", r[names.index("rule_id")]): r for r in rows}
    for finding in engine.findings:
        row = table[(finding.scope_id, finding.rule_id)]
        assert row[names.index("status")] == finding.status
        assert row[names.index("message")] == finding.message
        value = row[names.index("value")]
        if finding.value is None:
            assert value in (None, "") or value != value
        else:
            decimals = engine.ruleset.rule(finding.rule_id).decimals  # the CSV holds the value as printed
            assert float(value) == rounded(finding.value, decimals)

    conflicts = QgsVectorLayer(outputs["CONFLICTS"], "conflicts", "ogr")
    assert conflicts.crs().authid() == "EPSG:4549"
    found = {(f["rule_id"], f["scope_id"]) for f in conflicts.getFeatures()}
    assert ("eco_redline_construction", "DY01") in found
    assert ("pbf_control_line_overlap", "DY01") in found
    for feature in conflicts.getFeatures():
        assert feature.geometry().isGeosValid() and feature["area"] > 0


def test_algorithm_runs_inside_a_model(plugin_provider, failing_scheme, tmp_path):
    """Every parameter is usable from the graphical modeller: wire the algorithm into a model."""
    model = QgsProcessingModelAlgorithm("检查", "测试")
    child = QgsProcessingModelChildAlgorithm("landconsolidation:checkunits")
    child.setChildId("check")
    for role, name in ROLE_PARAMETERS.items():
        if getattr(failing_scheme, role) is None:
            continue
        model.addModelParameter(QgsProcessingParameterFeatureSource(name, name), QgsProcessingModelParameter(name))
        child.addParameterSources(name, [QgsProcessingModelChildParameterSource.fromModelParameter(name)])
    child.addParameterSources("UNIT_ID_FIELD", [QgsProcessingModelChildParameterSource.fromStaticValue("DYBH")])
    output = QgsProcessingModelOutput("result", "合规性核算表")
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({"result": output})
    model.addChildAlgorithm(child)
    with_explicit_output_names(model)  # QGIS 3.26+ would name the output '' after its Chinese label
    assert [p.name() for p in model.destinationParameterDefinitions()] == ["check:result"]
    parameters = _parameters(failing_scheme, tmp_path)
    inputs = {k: v for k, v in parameters.items() if k in ROLE_PARAMETERS.values()}
    inputs["check:result"] = str(tmp_path / "model.csv")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    results, ok = model.run(inputs, context, QgsProcessingFeedback())
    assert ok
    rows, names = _rows(results["check:result"])
    failed = {r[names.index("rule_id")] for r in rows if r[names.index("status")] == "fail"}
    assert {"eco_redline_construction", "pbf_control_line_overlap", "udb_expansion_factor"} <= failed


def test_bad_input_is_refused_with_a_message_not_a_traceback(plugin_provider, failing_scheme, tmp_path):
    parameters = _parameters(failing_scheme, tmp_path)
    parameters["UNIT_ID_FIELD"] = "DYMC"  # then empty one unit's DYMC: a unit without an id
    units = QgsProject.instance().mapLayer(parameters["UNITS"])
    units.startEditing()
    first = next(units.getFeatures())
    units.changeAttributeValue(first.id(), units.fields().indexOf("DYMC"), None)
    units.commitChanges()
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as error:
        processing.run("landconsolidation:checkunits", parameters)
    message = str(error.value)
    assert "单元编号为空" in message and "DYMC" in message and "Traceback" not in message
