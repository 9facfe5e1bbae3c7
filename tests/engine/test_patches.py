"""Contiguous patches (连片): how pieces join (the rule on the grid 片区: ``test_rules_ningbo.py``; the
toolbox's algorithm: ``tests/qgis/test_toolbox.py``)."""

import pytest


def test_a_clipped_multipart_piece_does_not_join_distant_patches():
    import numpy as np
    import shapely

    from land_consolidation.core.analysis.patches import find_patches

    left, right = shapely.box(0, 0, 100, 100), shapely.box(500, 0, 600, 100)
    pieces = np.array([shapely.MultiPolygon([left, right]), shapely.box(105, 0, 200, 100)], dtype=object)
    patches = find_patches(pieces, shapely.area(pieces), 10.0, [])
    assert len(patches.table) == 2
    assert patches.largest_m2 == pytest.approx(left.area + pieces[1].area)
