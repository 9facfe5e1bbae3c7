"""Outputs that open well: CSVs Excel reads (UTF-8 BOM, figures as printed), result layers styled on load,
the provider and its help in the interface language only, and the unit id field kept in the dialog."""

import csv
import re

import pytest
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsProject,
    QgsSettings,
)

import processing
from fixtures.qgis_layers import scheme_parameters
from land_consolidation.core.common.numbers import rounded
from land_consolidation.core.products.check import run_check
from land_consolidation.qgis_bridge import styles

pytestmark = pytest.mark.usefixtures("empty_project")  # each test's layers leave the project with it

BOM = b"\xef\xbb\xbf"


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _read_csv(path):
    data = path.read_bytes()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return data, list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- CSV

def test_check_csv_has_a_bom_and_figures_at_each_rules_decimals(plugin_provider, failing_layers, tmp_path):
    parameters = scheme_parameters(failing_layers)
    parameters["OUTPUT"] = str(tmp_path / "check.csv")
    processing.run("landconsolidation:checkunits", parameters)
    data, rows = _read_csv(tmp_path / "check.csv")
    assert data.startswith(BOM) and not data.startswith(BOM * 2)
    assert list(rows[0]) == ["scope", "scope_id", "rule_id", "title", "value", "threshold", "unit", "status",
                             "clause", "message"]  # the contract's names, the first one without the BOM
    result = run_check(failing_layers)
    expected = {(f.scope, f.scope_id, f.rule_id): f for f in result.findings}
    assert len(rows) == len(expected)
    rounded_somewhere = False
    for row in rows:
        finding = expected[(row["scope"], row["scope_id"], row["rule_id"])]
        places = result.ruleset.rule(finding.rule_id).decimals
        for field, value in (("value", finding.value), ("threshold", finding.threshold)):
            if value is None:
                assert row[field] == ""
                continue
            assert _decimals(row[field]) <= places, (row["rule_id"], field, row[field])
            assert float(row[field]) == rounded(value, places)  # exactly the printed figure
            rounded_somewhere |= float(row[field]) != value
    assert rounded_somewhere  # the engine's figures carry more digits than are printed


def test_table_csvs_print_areas_and_shares_at_two_decimals(plugin_provider, failing_layers, tmp_path):
    parameters = scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PROJECTS"))
    parameters["OUTPUT"] = str(tmp_path / "structure.csv")
    processing.run("landconsolidation:landusestructure", parameters)
    data, rows = _read_csv(tmp_path / "structure.csv")
    assert data.startswith(BOM)
    figures = [row[f] for row in rows for f in ("before_mu", "after_mu", "change_ha", "before_share", "after_share")]
    assert figures and all(_decimals(text) <= 2 for text in figures if text)
    assert not re.search(r"\d\.\d{3,}", data.decode("utf-8-sig"))  # no 15-digit floats anywhere


def test_layer_outputs_keep_full_precision_and_no_bom(plugin_provider, failing_layers, tmp_path):
    from fixtures.qgis_layers import read_rows

    parameters = scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PROJECTS"))
    parameters.update(OUTPUT=str(tmp_path / "flow.gpkg"), CHANGES=str(tmp_path / "changes.gpkg"))
    out = processing.run("landconsolidation:landuseflow", parameters)
    areas = [r["area_mu"] for r in read_rows(out["CHANGES"])]
    assert areas and any(area != rounded(area, 2) for area in areas)


# ----------------------------------------------------------------------------- styled on load

def _load_on_completion(context, feedback):
    """What Processing does with the layers a run asks to load (processing.gui.Postprocessing, minus its GUI,
    whose arguments differ between QGIS lines): each layer into the project, then its post-processor."""
    project = context.project()
    for destination, details in context.layersToLoadOnCompletion().items():
        layer = QgsProcessingUtils.mapLayerFromString(destination, context, typeHint=details.layerTypeHint)
        assert layer is not None, destination
        layer.setName(details.name or layer.name())
        project.addMapLayer(context.temporaryLayerStore().takeMapLayer(layer) or layer)
        if details.postProcessor() is not None:
            details.postProcessor().postProcessLayer(layer, context, feedback)


def _run_and_load(algorithm, parameters, outputs, tmp_path):
    """As the algorithm dialog runs it: outputs loaded into the project, post-processors applied."""
    project = QgsProject.instance()
    for name, filename in outputs.items():
        parameters[name] = QgsProcessingOutputLayerDefinition(str(tmp_path / filename), project)
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    results = processing.run(f"landconsolidation:{algorithm}", parameters, context=context, feedback=feedback,
                             onFinish=lambda alg, ctx, fb: _load_on_completion(ctx, fb))
    loaded = {}
    for name in outputs:
        layers = [layer for layer in project.mapLayers().values()
                  if layer.source().split("|")[0] == str(tmp_path / outputs[name])]
        assert len(layers) == 1, (name, [lyr.source() for lyr in project.mapLayers().values()])
        loaded[name] = layers[0]
    return results, loaded


def _categories(layer):
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer), type(renderer)
    return renderer.classAttribute(), {c.value(): c.symbol().color().name() for c in renderer.categories()}


def test_checkunits_results_are_styled_when_loaded(plugin_provider, failing_layers, tmp_path):
    parameters = scheme_parameters(failing_layers)
    _, loaded = _run_and_load("checkunits", parameters, {"OUTPUT": "check.csv", "CONFLICTS": "conflicts.gpkg"},
                              tmp_path)
    rows = loaded["OUTPUT"].conditionalStyles().rowStyles()
    colours = {style.rule(): style.textColor().name() for style in rows}
    assert colours == {"\"status\" = 'pass'": "#2e7d32", "\"status\" = 'fail'": "#c62828",
                       "\"status\" = 'not_applicable'": "#9e9e9e", "\"status\" = 'error'": "#b26a00"}
    attribute, categories = _categories(loaded["CONFLICTS"])
    kinds = {f["kind"] for f in loaded["CONFLICTS"].getFeatures()}
    assert attribute == "kind" and set(categories) == kinds and len(kinds) >= 2
    assert all(colour == styles.value_colour(kind) for kind, colour in categories.items())


def test_patches_ledger_conflicts_and_changes_are_styled_when_loaded(plugin_provider, failing_layers, tmp_path):
    _, patches = _run_and_load("contiguouspatches", scheme_parameters(failing_layers, ("UNITS", "PBF", "PBF_PLAN")),
                               {"OUTPUT": "patches.gpkg"}, tmp_path)
    attribute, categories = _categories(patches["OUTPUT"])
    assert attribute == "class_name" and categories.get("百亩方") == "#74c476"

    _, ledger = _run_and_load("pbfadjustment", scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PBF",
                                                                                 "PBF_PLAN")),
                              {"OUTPUT": "ledger.gpkg", "SUMMARY": "summary.csv"}, tmp_path)
    assert _categories(ledger["OUTPUT"]) == ("direction", {"调出": "#d7191c", "调入": "#1a9641"})
    assert len(ledger["SUMMARY"].conditionalStyles().rowStyles()) == 4  # pass, fail, not_applicable, error

    _, lines = _run_and_load("controllineconflicts", scheme_parameters(
        failing_layers, ("UNITS", "LANDUSE", "PROJECTS", "PBF_PLAN", "ECO_REDLINE", "UDB_PLAN")),
        {"OUTPUT": "lines.gpkg"}, tmp_path)
    assert _categories(lines["OUTPUT"])[0] == "kind"

    _, flow = _run_and_load("landuseflow", scheme_parameters(failing_layers, ("UNITS", "LANDUSE", "PROJECTS")),
                            {"OUTPUT": "flow.csv", "CHANGES": "changes.gpkg"}, tmp_path)
    attribute, categories = _categories(flow["CHANGES"])
    assert attribute == 'left("to_code", 2)' and categories["01"] == styles.LANDUSE_GROUP_COLOURS["01"]


def test_results_not_loaded_get_no_post_processor(plugin_provider, failing_layers, tmp_path):
    from land_consolidation.processing.algorithms import sinks

    before = len(sinks._KEPT)
    parameters = scheme_parameters(failing_layers, ("UNITS", "PBF", "PBF_PLAN"))
    parameters["OUTPUT"] = str(tmp_path / "patches.gpkg")
    processing.run("landconsolidation:contiguouspatches", parameters)
    assert len(sinks._KEPT) == before


# ----------------------------------------------------------------------------- interface language

@pytest.fixture()
def interface_locale():
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in ("locale/overrideFlag", "locale/userLocale")}

    def use(locale):
        settings.setValue("locale/overrideFlag", True)
        settings.setValue("locale/userLocale", locale)

    yield use
    for key, value in saved.items():
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)


def _has_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _english_words(text):
    return [w for w in re.sub(r"<[^>]+>", " ", text).split() if w.isascii() and w.isalpha()]


@pytest.mark.parametrize("locale", ["zh-Hans", "zh_CN"])
def test_chinese_interface_names_and_helps_in_chinese_only(plugin_provider, interface_locale, locale):
    interface_locale(locale)
    assert plugin_provider.name() == "全域整治"
    for algorithm in plugin_provider.algorithms():
        text = algorithm.shortHelpString()
        assert _has_chinese(text), algorithm.id()
        # field names (DYBH, TBDLMJ …) may appear, a second English copy of the help not
        assert len(_english_words(text)) < 15, (algorithm.id(), _english_words(text))


def test_english_interface_names_and_helps_in_english_only(plugin_provider, interface_locale):
    interface_locale("en_US")
    assert plugin_provider.name() == "Land Consolidation"
    assert not _has_chinese(plugin_provider.longName())
    for algorithm in plugin_provider.algorithms():
        text = algorithm.shortHelpString()
        assert len(_english_words(text)) > 10, algorithm.id()
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) < 40, algorithm.id()  # a few terms (田坎), no Chinese copy


def test_interface_language_is_decided_in_one_place(interface_locale):
    from land_consolidation.core.common.i18n import interface_language

    for locale, language in (("zh-Hans", "zh"), ("zh_TW", "zh"), ("en_US", "en"), ("de", "en"), ("C", "zh")):
        interface_locale(locale)
        assert interface_language() == language, locale


# ----------------------------------------------------------------------------- 单元编号字段

def test_unit_id_field_parameter_defaults_to_dybh(plugin_provider):
    for name in ("checkunits", "landusestructure", "exportunitscheme"):
        algorithm = next(a for a in plugin_provider.algorithms() if a.name() == name)
        parameter = algorithm.parameterDefinition("UNIT_ID_FIELD")
        assert parameter.defaultValue() == "DYBH" and parameter.parentLayerParameterName() == "UNITS", name


def test_the_dialog_keeps_dybh_on_a_styled_unit_layer(plugin_provider, sample_gpkg, qgis_iface, monkeypatch):
    """The plugin's unit style makes DYBH NOT NULL: the dialog still offers DYBH, not the first field (fid)."""
    from qgis.core import QgsApplication, QgsVectorLayer

    from processing.gui.AlgorithmDialog import AlgorithmDialog

    monkeypatch.setattr(qgis_iface, "browserModel", lambda: None, raising=False)
    monkeypatch.setattr(qgis_iface, "activeLayer", lambda: None, raising=False)
    units = QgsVectorLayer(f"{sample_gpkg}|layername=DY", "DY", "ogr")
    assert units.isValid() and units.fields().indexOf("fid") == 0
    styles.style_units(units)
    QgsProject.instance().addMapLayer(units)
    try:
        algorithm = QgsApplication.processingRegistry().algorithmById("landconsolidation:checkunits")
        for given in ({}, {"UNITS": units.id()}, {"UNITS": units.id(), "UNIT_ID_FIELD": "DYBH"}):
            dialog = AlgorithmDialog(algorithm.create(), parent=None)
            dialog.setParameters(given)
            assert dialog.mainWidget().wrappers["UNIT_ID_FIELD"].parameterValue() == "DYBH", given
            dialog.deleteLater()
    finally:
        QgsProject.instance().removeMapLayer(units.id())
