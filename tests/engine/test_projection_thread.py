"""pyproj runs on the engine's own projection thread only (pyproj issue 1509: QGIS 3.40's pyproj 3.7
crashed on Qt's pooled threads); what fails there comes back as a plain error.

The engine in QGIS's background tasks: ``tests/qgis/test_background_tasks.py``.
"""

import pytest


def test_a_failure_on_the_projection_thread_comes_back_as_a_plain_error():
    """Errors keep no traceback of the projection thread (whose frames hold pyproj objects)."""
    from land_consolidation.core.geometry import projection

    with pytest.raises(projection.CrsError) as raised:
        projection.canonical_wkt("not a coordinate reference system")
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    frames = [frame.f_code.co_name for frame, _ in __import__("traceback").walk_tb(raised.value.__traceback__)]
    assert "_run_on_projection_thread" not in frames
    with pytest.raises(RuntimeError, match="off the projection thread"):
        projection._crs.__wrapped__("EPSG:4549")  # pyproj itself is refused on any other thread
