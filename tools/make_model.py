"""Generate resources/models/单元方案检查.model3: structure → flow → patches → conflicts → check.

Run with the plugin importable (``make model``). The model is committed; this script
documents how it is built so that it can be regenerated when parameters change.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "resources" / "models" / "单元方案检查.model3"

INPUTS = (  # model parameter, description, optional
    ("UNITS", "整治单元", False),
    ("LANDUSE", "现状地类图斑（DLTB）", False),
    ("PROJECTS", "子项目", False),
    ("PBF", "现状永久基本农田", False),
    ("PBF_PLAN", "规划永久基本农田", False),
    ("ECO_REDLINE", "生态保护红线", True),
    ("UDB", "城镇开发边界", True),
    ("TOWNSHIPS", "乡镇行政区", True),
)
STEPS = (  # child id, algorithm, inputs it takes, outputs (child output → (model output name, label))
    ("structure", "landconsolidation:landusestructure", ("UNITS", "LANDUSE", "PROJECTS"),
     {"OUTPUT": ("STRUCTURE", "土地利用结构调整表")}),
    ("flow", "landconsolidation:landuseflow", ("UNITS", "LANDUSE", "PROJECTS"), {"OUTPUT": ("FLOW", "地类流向表")}),
    ("patches", "landconsolidation:contiguouspatches", ("UNITS", "PBF", "PBF_PLAN"), {"OUTPUT": ("PATCHES", "集中连片片块")}),
    ("conflicts", "landconsolidation:controllineconflicts",
     ("UNITS", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB"), {"OUTPUT": ("LINE_CONFLICTS", "三线冲突图斑")}),
    ("check", "landconsolidation:checkunits",
     ("UNITS", "LANDUSE", "PROJECTS", "PBF", "PBF_PLAN", "ECO_REDLINE", "UDB", "TOWNSHIPS"),
     {"OUTPUT": ("CHECK", "合规性核算表"), "CONFLICTS": ("CHECK_CONFLICTS", "冲突图斑")}),
)


def build():
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildDependency,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterFeatureSource,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm("单元方案检查", "全域整治")
    model.setHelpContent({"ALG_DESC": "单元方案检查：对同一组图层依次运行土地利用结构 → 地类流向 → 集中连片 → "
                                      "三线冲突 → 合规性检查。"})
    for row, (name, description, optional) in enumerate(INPUTS):
        parameter = QgsProcessingParameterFeatureSource(name, description, [QgsProcessing.SourceType.TypeVectorPolygon],
                                                        optional=optional)
        component = QgsProcessingModelParameter(name)
        component.setPosition(QPointF(120, 60 + 70 * row))
        model.addModelParameter(parameter, component)
    previous = None
    for column, (child_id, algorithm_id, inputs, outputs) in enumerate(STEPS):
        child = QgsProcessingModelChildAlgorithm(algorithm_id)
        child.setChildId(child_id)
        child.setDescription(outputs[next(iter(outputs))][1])
        child.setPosition(QPointF(420 + 240 * column, 120 + 60 * column))
        for name in inputs:
            child.addParameterSources(name, [QgsProcessingModelChildParameterSource.fromModelParameter(name)])
        for name, value in mandatory_defaults(algorithm_id, inputs).items():  # the modeller requires them
            child.addParameterSources(name, [QgsProcessingModelChildParameterSource.fromStaticValue(value)])
        model_outputs = {}
        for output_name, (name, label) in outputs.items():
            output = QgsProcessingModelOutput(name, label)
            output.setChildOutputName(output_name)
            output.setChildId(child_id)
            output.setPosition(QPointF(420 + 240 * column, 220 + 60 * column))
            model_outputs[name] = output
        child.setModelOutputs(model_outputs)
        if previous is not None:  # run in the order a planner reads the results
            child.setDependencies([QgsProcessingModelChildDependency(previous)])
        model.addChildAlgorithm(child)
        previous = child_id
    from land_consolidation.processing.models import with_explicit_output_names

    return with_explicit_output_names(model)


def mandatory_defaults(algorithm_id: str, inputs) -> dict:
    """The algorithm's mandatory non-output parameters the model does not feed, at their defaults.

    A mandatory parameter without a source makes the model invalid in the modeller (e.g. landuseflow's
    CHANGES_ONLY), even though qgis_process would fall back to the default.
    """
    from qgis.core import QgsApplication, QgsProcessingParameterDefinition

    algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    if algorithm is None:
        raise RuntimeError(f"{algorithm_id} is not registered: is the plugin's provider loaded?")
    defaults = {}
    for parameter in algorithm.parameterDefinitions():
        optional = bool(parameter.flags() & QgsProcessingParameterDefinition.Flag.FlagOptional)
        if parameter.isDestination() or optional or parameter.name() in inputs:
            continue
        if parameter.defaultValue() is not None:
            defaults[parameter.name()] = parameter.defaultValue()
    return defaults


def output_names() -> list:
    """The model's output parameters as qgis_process names them (child id:output name)."""
    return sorted(f"{child_id}:{name}" for child_id, _alg, _inputs, outputs in STEPS for name, _ in outputs.values())


def main():
    from qgis.core import QgsApplication

    sys.path.insert(0, str(ROOT / ".build" / "plugins"))
    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    import land_consolidation

    plugin = land_consolidation.classFactory(None)
    plugin.initProcessing()
    model = build()
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    if not model.toFile(str(MODEL)):
        raise SystemExit(f"could not write {MODEL}")
    print(MODEL)
    plugin.unload()


if __name__ == "__main__":
    main()
