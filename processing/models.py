"""Processing models built in code: output names that stay the same on every QGIS line."""

from __future__ import annotations


def with_explicit_output_names(model):
    """The model with its outputs named ``child_id:output_name`` on every QGIS line.

    QGIS 3.26 and later name the outputs of a model created in this session after their
    descriptions, keeping only ASCII letters and digits: Chinese labels such as 合规性核算表
    become '' and '_2', which qgis_process and scripts cannot address, while 3.22 and models
    saved before 3.26 use ``child_id:output_name``. Reloading the model's definition without
    its internal version gives it the latter naming on every line; the Chinese descriptions stay
    the labels planners see.
    """
    definition = model.toVariant()
    definition.pop("internal_version", None)
    if not model.loadVariant(definition):
        raise RuntimeError("could not reload the model's definition")
    return model
