"""The bundled graphical model runs headless; createscheme makes a styled, form-configured scheme."""

import csv

import pytest
from qgis.core import QgsProject, QgsVectorLayer

import processing
from fixtures.harness import qgis_process
from fixtures.paths import ROOT
from land_consolidation.core.rules.ruleset import load_ruleset

MODEL = ROOT / "resources" / "models" / "单元方案检查.model3"


def test_model_runs_headless_on_the_sample(sample_gpkg, tmp_path):
    def layer(name):
        return f"{sample_gpkg}|layername={name}"

    outputs = {"structure:STRUCTURE": "structure.csv", "flow:FLOW": "flow.csv", "patches:PATCHES": "patches.gpkg",
               "conflicts:LINE_CONFLICTS": "lines.gpkg", "check:CHECK": "check.csv",
               "check:CHECK_CONFLICTS": "conflicts.gpkg"}
    arguments = [f"{name}={layer(gpkg_layer)}" for name, gpkg_layer in (
        ("UNITS", "DY"), ("LANDUSE", "DLTB"), ("PROJECTS", "XM"), ("PBF", "YJJBNTTB"), ("PBF_PLAN", "YJJBNTTB_GH"),
        ("ECO_REDLINE", "STBHHX"), ("UDB", "CZKFBJ"), ("TOWNSHIPS", "XZQ"))]
    arguments += [f"{name}={tmp_path / filename}" for name, filename in outputs.items()]
    completed = qgis_process("run", str(MODEL), "--", *arguments)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    for filename in outputs.values():
        assert (tmp_path / filename).exists(), filename
    with open(tmp_path / "check.csv", encoding="utf-8-sig") as handle:  # written with a BOM, for Excel
        check = list(csv.DictReader(handle))
    with open(tmp_path / "structure.csv", encoding="utf-8-sig") as handle:
        structure = list(csv.DictReader(handle))
    assert {r["rule_id"] for r in check} == {r.id for r in load_ruleset().rules}
    # The structure table and the check agree on 耕地 (same engine, same layers).
    farmland = next(r for r in structure if r["scope"] == "scheme" and r["level"] == "一级类" and r["code"] == "01")
    gain = next(r for r in check if r["rule_id"] == "farmland_net_gain" and r["scope"] == "scheme")
    before, after = float(farmland["before_mu"]), float(farmland["after_mu"])
    # Both tables print their figures (亩 at 2 decimals, the rule's value at its own): agree within that.
    decimals = load_ruleset().rule("farmland_net_gain").decimals
    tolerance = 0.5 * 10 ** -decimals + 100 * 0.005 * (1 / before + after / before ** 2) + 1e-9
    assert float(gain["value"]) == pytest.approx((after - before) / before * 100, abs=tolerance)


def test_the_shipped_model_is_what_make_model_builds(plugin_provider):
    """Same outputs, named child:output on this QGIS line, whether loaded from the file or built now."""
    import importlib.util

    from qgis.core import QgsProcessingModelAlgorithm

    spec = importlib.util.spec_from_file_location("make_model", ROOT / "tools" / "make_model.py")
    make_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_model)
    built = make_model.build()
    shipped = QgsProcessingModelAlgorithm()
    assert shipped.fromFile(str(MODEL))

    def names(model):
        return sorted(p.name() for p in model.destinationParameterDefinitions())

    assert names(built) == names(shipped) == make_model.output_names()
    assert "check:CHECK" in names(shipped)
    assert sorted(p.name() for p in built.parameterDefinitions() if not p.isDestination()) == sorted(
        p.name() for p in shipped.parameterDefinitions() if not p.isDestination())
    labels = {p.name(): p.description() for p in shipped.destinationParameterDefinitions()}
    assert labels["check:CHECK"] == "合规性核算表"  # planners see the Chinese label


def test_create_scheme(plugin_provider, tmp_path):
    from fixtures import grid
    from fixtures.qgis_layers import memory_layer

    seed = memory_layer(grid.layer("YJJBNTTB", [grid.C(*k) for k in grid.PBF_CELLS],
                                   [{"BSM": f"P{i}", "DLBM": "0101"} for i in range(len(grid.PBF_CELLS))]))
    QgsProject.instance().addMapLayer(seed)
    path = tmp_path / "方案.gpkg"
    result = processing.run("landconsolidation:createscheme", {"PBF": seed.id(), "PQMC": "河姆片区",
                                                               "OUTPUT": str(path)})
    units = QgsVectorLayer(result["UNITS_LAYER"], "u", "ogr")
    projects = QgsVectorLayer(result["PROJECTS_LAYER"], "p", "ogr")
    planned = QgsVectorLayer(result["PBF_PLAN_LAYER"], "b", "ogr")
    assert units.isValid() and projects.isValid() and planned.isValid()
    assert units.crs().authid() == "EPSG:4549"
    assert [f.name() for f in units.fields()][1:] == ["DYBH", "DYMC", "PQMC", "RWLX"]  # after the gpkg fid
    assert {"XMBH", "XMMC", "XMLX", "GHDLBM", "KCXS", "TZ", "KSNF", "JSNF", "DYBH"} <= set(projects.fields().names())
    assert planned.featureCount() == len(grid.PBF_CELLS)
    # The default style stored in the GeoPackage brings aliases, drop-downs and constraints along.
    assert units.attributeAlias(units.fields().indexOf("DYBH")) == "单元编号"
    setup = projects.editorWidgetSetup(projects.fields().indexOf("XMLX"))
    assert setup.type() == "ValueMap"
    values = [list(entry.values())[0] for entry in setup.config()["map"]]
    assert values == list(load_ruleset().all_project_types)
    classes = projects.editorWidgetSetup(projects.fields().indexOf("GHDLBM")).config()["map"]
    assert {"0101 水田": "0101"} in classes
    assert units.defaultValueDefinition(units.fields().indexOf("PQMC")).expression() == "'河姆片区'"
    # A second run must not overwrite the planner's scheme.
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="已存在"):
        processing.run("landconsolidation:createscheme", {"OUTPUT": str(path)})
    assert QgsVectorLayer(f"{path}|layername=YJJBNTTB_GH", "b", "ogr").featureCount() == len(grid.PBF_CELLS)
    # Points cannot seed planned 永久基本农田 polygons.
    points = QgsVectorLayer("Point?crs=EPSG:4549", "点图层", "memory")
    QgsProject.instance().addMapLayer(points)
    with pytest.raises(QgsProcessingException, match="点图层.*应为面图层"):
        processing.run("landconsolidation:createscheme", {"PBF": points.id(), "OUTPUT": str(tmp_path / "点.gpkg")})
    assert not (tmp_path / "点.gpkg").exists()


SAMPLE_RUNS = {
    "landusestructure": (("UNITS", "LANDUSE", "PROJECTS"), ("OUTPUT",)),
    "landuseflow": (("UNITS", "LANDUSE", "PROJECTS"), ("OUTPUT", "CHANGES")),
    "contiguouspatches": (("UNITS", "PBF", "PBF_PLAN"), ("OUTPUT", "SUMMARY")),
    "controllineconflicts": (("UNITS", "LANDUSE", "PROJECTS", "PBF_PLAN", "ECO_REDLINE", "UDB"), ("OUTPUT",)),
    "pbfadjustment": (("UNITS", "LANDUSE", "PBF", "PBF_PLAN", "TOWNSHIPS"), ("OUTPUT", "SUMMARY")),
    "potentialsurvey": (("UNITS", "LANDUSE", "PBF", "UDB"), ("OUTPUT",)),
}
TABLES = {"UNITS": "DY", "LANDUSE": "DLTB", "PROJECTS": "XM", "PBF": "YJJBNTTB", "PBF_PLAN": "YJJBNTTB_GH",
          "ECO_REDLINE": "STBHHX", "UDB": "CZKFBJ", "TOWNSHIPS": "XZQ"}


@pytest.mark.parametrize("name", sorted(SAMPLE_RUNS))
def test_every_toolbox_algorithm_runs_on_the_sample(plugin_provider, sample_gpkg, tmp_path, name):
    inputs, outputs = SAMPLE_RUNS[name]
    parameters = {key: f"{sample_gpkg}|layername={TABLES[key]}" for key in inputs}
    parameters.update({key: str(tmp_path / f"{key}.gpkg") for key in outputs})
    result = processing.run(f"landconsolidation:{name}", parameters)
    for key in outputs:
        layer = QgsVectorLayer(result[key], key, "ogr")
        assert layer.isValid() and layer.featureCount() > 0, (name, key)
