"""The built-in metrics, one file per family; importing the package declares them all."""

from . import construction, control_lines, farmland, pbf, projects  # noqa: F401
