"""Deterministic generator of a realistic sample 片区 for the land-consolidation plugin.

It makes the shipped resources/sample/sample_pianqu.gpkg (``make sample``), the larger
benchmark data sets and the small ones the tests build. The GeoPackage holds, in
EPSG:4549 (CGCS2000 3-degree Gauss-Krüger CM 120°E, near 余姚):

* XZQ and DLTB - townships and the land-use survey, DLTB an exact partition of each
  township with consistent 三调 fields (``landscape.py``, ``township.py``, ``survey.py``);
* YJJBNTTB, STBHHX, CZKFBJ - the 三区三线, which do not overlap (``controls.py``);
* DY, XM, YJJBNTTB_GH - a planner's draft scheme with two deliberate rule breaches for
  the demo (``scheme.py``).

``layers.py`` turns these into attribute tables, ``gpkg.py`` writes them, ``seams.py``
makes polygons built separately share their vertices, ``geometry.py`` holds the shape
helpers and ``engine.py`` the plugin's own tables (class names, 耕地, project types)
that the sample is drawn with.

TBMJ and MJ are ellipsoidal (GRS80 = CGCS2000 ellipsoid) areas from pyproj's Geod on
EPSG:4490 coordinates, as QgsDistanceArea measures them. The output is a function of
(n_parcels, seed): every random draw comes from a generator seeded with the seed and a
stage number, and pieces GEOS returns are put in a canonical order before they are
used (the same features were obtained with GEOS 3.11 and 3.14).

Usage, from the checkout::

    python -m tools.sample --parcels 3000 --seed 2022 --out resources/sample/sample_pianqu.gpkg

or ``generate(path, n_parcels=3000, seed=2022)`` from Python (returns the feature count
of every layer). Dependencies: numpy, shapely>=2, pyproj, PyYAML, the GDAL/OGR bindings
and the plugin itself (see ``engine.py``).
"""

import os

if "PROJ_DATA" not in os.environ and os.path.exists("/usr/share/proj/proj.db"):
    os.environ["PROJ_DATA"] = "/usr/share/proj"  # Debian's pyproj looks in the venv prefix otherwise

from .build import generate  # noqa: E402
from .geometry import ellipsoidal_area  # noqa: E402

__all__ = ["ellipsoidal_area", "generate"]
