"""Errors the engine raises for bad input: each carries a complete Chinese message."""


class LandConsolidationError(Exception):
    """Base class: ``str(error)`` is a message fit to show a planner."""


class InputError(LandConsolidationError):
    """An input layer, field or feature cannot be used (names layer, field and feature ids)."""


class RulesetError(LandConsolidationError):
    """A ruleset file is malformed (names the file, the rule and the field)."""


class DataError(LandConsolidationError):
    """The scheme's data contradict themselves (e.g. overlapping 子项目 with different classes)."""


class Cancelled(LandConsolidationError):
    """The caller asked to stop (Processing cancel button, a newer edit in the panel)."""
