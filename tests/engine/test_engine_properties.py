"""Invariants of the overlay and the 三调 booking on random partitions (hypothesis).

Each example is a random Voronoi partition of a 1 km square into parcels with random
classes and deductions, a random unit and random non-overlapping 子项目. The engine's
figures are checked against a direct computation (shapely intersection per parcel,
geodesic areas) and against conservation laws. Agreement is asked to 5e-5 (the native cross-check asks 1e-4): vertex-based
ellipsoidal areas are not exactly additive (a vertex inserted on a long straight edge
moves the ellipsoidal edge by fractions of a millimetre: ~0.1 m² on a 1 km edge), and
GEOS floating-point overlays differ on needle-thin slivers by as much (hence also 0.1 m² absolute); both are far
below the 0.01 亩 planners read, and the reason 三调 statistics pro-rate TBDLMJ.
"""

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.builders import X0, Y0, dltb_record, geodesic_area, layer
from land_consolidation.core.analysis.pieces import flows
from land_consolidation.core.ingest.layers import SchemeLayers
from land_consolidation.core.products.check import run_check

CODES = ["0101", "0102", "0103", "0201", "0301", "0404", "0601", "0702", "1006", "1104"]
TOWNS = ["330281101", "330281102"]


def _random_scheme(seed: int) -> tuple[SchemeLayers, list, list, object]:
    rng = np.random.default_rng(seed)
    extent = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    points = shapely.multipoints(rng.uniform([X0, Y0], [X0 + 1000, Y0 + 1000], size=(rng.integers(8, 40), 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=extent))
    cells = shapely.set_precision(shapely.intersection(cells, extent), 0.001)
    cells = [c for c in cells if c.area > 1.0]
    records = []
    for geom in cells:
        code = str(rng.choice(CODES))
        kcxs = float(rng.choice([0.0, 0.05, 0.13])) if code.startswith("01") else 0.0
        town = TOWNS[int(shapely.centroid(geom).x > X0 + 500)]
        records.append(dltb_record(code, town, geodesic_area(geom), kcxs))
    hull = shapely.convex_hull(shapely.multipoints(rng.uniform([X0 + 50, Y0 + 50], [X0 + 950, Y0 + 950], (6, 2))))
    projects, project_records = [], []
    for k in range(int(rng.integers(0, 4))):
        x, y = X0 + 250 * k + rng.uniform(0, 50), Y0 + rng.uniform(100, 700)
        projects.append(shapely.box(x, y, x + rng.uniform(50, 200), y + rng.uniform(50, 250)))
        project_records.append({"XMBH": f"P{k}", "XMLX": "垦造耕地", "GHDLBM": str(rng.choice(["0101", "0702"]))})
    scheme = SchemeLayers(
        units=layer("DY", [hull], [{"DYBH": "U"}]),
        landuse=layer("DLTB", cells, records),
        pbf=layer("PBF", [c for c, r in zip(cells, records) if r["DLBM"] == "0101"]),
        projects=layer("XM", projects, project_records) if projects else None,
    )
    return scheme, cells, records, hull


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_pieces_partition_the_unit_and_booking_matches_a_direct_computation(seed):
    scheme, cells, records, hull = _random_scheme(seed)
    result = run_check(scheme)
    figures = result.indicators.per_unit.loc["U"]
    t = result.indicators.pieces.table

    # The pieces tile the unit: their areas add up to its ellipsoidal area.
    assert t["area_m2"].sum() == pytest.approx(geodesic_area(hull), rel=5e-5)

    # 耕地 before: Σ TBDLMJ × (unit ∩ parcel) / parcel, computed directly.
    expected = 0.0
    for geom, record in zip(cells, records):
        if record["DLBM"] in ("0101", "0102", "0103"):
            piece = shapely.intersection(geom, hull)
            if not piece.is_empty and piece.area > 0:
                expected += record["TBDLMJ"] * geodesic_area(piece) / geodesic_area(geom)
    assert figures["farmland_before_m2"] == pytest.approx(expected, rel=5e-5, abs=0.1)

    # Flows conserve each piece's booked total, and 耕地 change = gains − losses.
    rows = flows(result.indicators.pieces, "1203")
    assert rows["m2"].sum() == pytest.approx(t["total_m2"].sum(), rel=1e-9)
    net = figures["farmland_after_m2"] - figures["farmland_before_m2"]
    assert net == pytest.approx(figures["farmland_gained_m2"] - figures["farmland_lost_m2"], abs=1e-6)

    # PBF before is the geometry area of PBF ∩ unit.
    pbf = shapely.union_all(scheme.pbf.geoms) if len(scheme.pbf) else shapely.Polygon()
    inside = shapely.intersection(pbf, hull)
    expected_pbf = geodesic_area(inside) if not inside.is_empty else 0.0
    assert figures["pbf_before_m2"] == pytest.approx(expected_pbf, rel=5e-5, abs=0.1)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=40),
       st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=80))
def test_connected_components_match_a_breadth_first_search(n, edges):
    from land_consolidation.core.geometry.overlay import connected_components

    a = np.array([i % n for i, _ in edges], dtype=np.int64)
    b = np.array([j % n for _, j in edges], dtype=np.int64)
    labels = connected_components(n, a, b)
    neighbours = {i: set() for i in range(n)}
    for i, j in zip(a, b):
        neighbours[i].add(j)
        neighbours[j].add(i)
    seen = {}
    for start in range(n):
        if start in seen:
            continue
        queue, seen[start] = [start], start
        while queue:
            node = queue.pop()
            for other in neighbours[node]:
                if other not in seen:
                    seen[other] = start
                    queue.append(other)
    for i in range(n):
        for j in range(n):
            assert (labels[i] == labels[j]) == (seen[i] == seen[j])
    assert all(labels[i] <= i for i in range(n))  # the label is the smallest member


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 4), st.integers(1, 4)),
                min_size=2, max_size=9))
def test_interior_overlaps_finds_exactly_the_pairs_sharing_area(rectangles):
    """On integer rectangles (edge and corner contacts, containment, duplicates are all common),
    the pairs found are those whose intersection has area, with that area."""
    from land_consolidation.core.geometry.overlay import interior_overlaps

    geoms = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in rectangles], dtype=object)
    expected = {}
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            area = geoms[i].intersection(geoms[j]).area
            if area > 0.5:  # integer rectangles share 0 or at least 1 unit²
                expected[(i, j)] = area
    found = {(i, j): area for i, j, area in interior_overlaps(geoms, 0.5)}
    assert found == pytest.approx(expected)
    subset = [0]
    found_for_first = {(i, j) for i, j, _ in interior_overlaps(geoms, 0.5, among=subset)}
    assert found_for_first == {pair for pair in expected if 0 in pair}
