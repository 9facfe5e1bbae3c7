"""The engine's own tables, which the sample is drawn with instead of copies of them.

The sample must speak the plugin's vocabulary: DLMC (class names, 可调整 ones included),
the 耕地 classes, the class KCMJ is booked to and the 5+X task (RWLX) of every
子项目类型 come from ``rules/`` through the engine, so that a change there reaches the
sample the next time it is generated.

The checkout is imported as the installed package ``land_consolidation`` through the
symlink ``.build/plugins/land_consolidation`` that ``make deps`` (tools/check-python-deps)
and the tests (tests/conftest.py) create.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parents[2] / ".build" / "plugins"
if not (PLUGINS_DIR / "land_consolidation").is_dir():
    raise ImportError(f"{PLUGINS_DIR / 'land_consolidation'} is missing: run `make deps` first")
if str(PLUGINS_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGINS_DIR))

from land_consolidation.core.geometry.measure import SQUARE_METRES_PER_MU  # noqa: E402
from land_consolidation.core.rules.landclasses import ADJUSTABLE_SUFFIX, LandClasses, load_land_classes  # noqa: E402
from land_consolidation.core.rules.ruleset import Ruleset, load_ruleset  # noqa: E402

__all__ = ["ADJUSTABLE_SUFFIX", "CLASSES", "FARMLAND", "RULESET", "SQUARE_METRES_PER_MU"]

CLASSES: LandClasses = load_land_classes()  # 三调 classes: CLASSES.name(code) is the DLMC
RULESET: Ruleset = load_ruleset()  # the built-in Ningbo 2022 ruleset the draft is checked against
FARMLAND: tuple = tuple(sorted(CLASSES.farmland))  # 耕地 codes, as a sequence for np.isin
