"""The bundled model (resources/models/单元方案检查.model3) is valid in the modeller, as tools/make_model.py builds it."""

import importlib.util

from fixtures.paths import ROOT

MODEL = ROOT / "resources" / "models" / "单元方案检查.model3"


def _make_model():
    spec = importlib.util.spec_from_file_location("make_model", ROOT / "tools" / "make_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shipped():
    from qgis.core import QgsProcessingModelAlgorithm

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL))
    return model


def test_the_shipped_model_is_valid(plugin_provider):
    model = _shipped()
    valid, issues = model.validate()
    assert valid, issues
    for child_id in model.childAlgorithms():
        assert model.validateChildAlgorithm(child_id) == (True, []), child_id


def test_the_built_model_is_valid_and_feeds_every_mandatory_parameter(plugin_provider):
    from qgis.core import QgsProcessingModelChildParameterSource

    make_model = _make_model()
    built = make_model.build()
    assert built.validate()[0], built.validate()[1]
    flow = built.childAlgorithm("flow")
    sources = flow.parameterSources()["CHANGES_ONLY"]  # mandatory: its absence made the model invalid
    static = QgsProcessingModelChildParameterSource.fromStaticValue(False).source()  # the enum moved to Qgis in 3.26+
    assert [s.source() for s in sources] == [static]
    assert sources[0].staticValue() is True
    assert make_model.mandatory_defaults("landconsolidation:landuseflow", ()) == {"CHANGES_ONLY": True}


def test_model_outputs_have_ascii_ids_and_chinese_labels(plugin_provider):
    model = _shipped()
    outputs = {p.name(): p.description() for p in model.destinationParameterDefinitions()}
    assert sorted(outputs) == _make_model().output_names()
    for name, label in outputs.items():
        assert name.isascii() and ":" in name, name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label) and not any(ch.isascii() and ch.isalpha()
                                                                           for ch in label), label
    for child in model.childAlgorithms().values():
        for output in child.modelOutputs().values():
            assert output.childOutputName().isascii() and output.name().isascii()
    help_text = model.helpContent().get("ALG_DESC", "")
    assert help_text and not any(w.isascii() and w.isalpha() and len(w) > 3 for w in help_text.split()), help_text
