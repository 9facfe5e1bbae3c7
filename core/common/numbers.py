"""How figures are printed: one rule for the panel, the report, the tables and the CSVs.

- A value is printed at a fixed number of decimals (2 for areas, a rule's own ``decimals`` for
  its value and threshold), with Python's rounding of the binary value — the same rule the
  rules judge by (``evaluate.holds`` compares as printed), so a printed ✓ never contradicts
  its printed figures.
- Areas are 亩 (10000/15 m²) with 公顷 beside them where planners expect both.
- A change is said with a word and a magnitude ("净增 12.00 亩", "净减少 3.10 亩"), never
  with a word and a sign; a signed figure ("+12.00") is only used where there is no word.
"""

from __future__ import annotations

import math
from typing import Optional

from .i18n import tr

AREA_DECIMALS = 2
PERCENT_DECIMALS = 2
SQUARE_METRES_PER_MU = 10000.0 / 15.0
SQUARE_METRES_PER_HECTARE = 10000.0
MISSING = "—"
CLOSE_UNITS = ("%", "‰")  # set without a space after the figure


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rounded(value: float, decimals: int = AREA_DECIMALS) -> float:
    """The value as printed at ``decimals`` (what CSV cells hold, what a reader sees)."""
    return float(f"{value:.{decimals}f}")


def number_text(value: Optional[float], decimals: int = AREA_DECIMALS, signed: bool = False) -> str:
    """``1,234.57``; ``+1,234.57`` when ``signed``; "—" for a missing value. Never "-0.00"."""
    if is_missing(value):
        return MISSING
    assert value is not None
    if float(f"{value:.{decimals}f}") == 0.0:  # -0.004 prints as 0.00: no sign, never "-0.00"
        return f"{0.0:,.{decimals}f}"
    return f"{value:{'+' if signed else ''},.{decimals}f}"


def mu_text(square_metres: Optional[float], decimals: int = AREA_DECIMALS) -> str:
    """``1,234.57 亩``."""
    if is_missing(square_metres):
        return MISSING
    assert square_metres is not None
    return tr("{mu} 亩").format(mu=number_text(square_metres / SQUARE_METRES_PER_MU, decimals))


def area_text(square_metres: Optional[float], decimals: int = AREA_DECIMALS) -> str:
    """``1,234.57 亩（82.30 公顷）``: 亩 as planners count, 公顷 as the 三调 tables do."""
    if is_missing(square_metres):
        return MISSING
    assert square_metres is not None
    return tr("{mu} 亩（{ha} 公顷）").format(
        mu=number_text(square_metres / SQUARE_METRES_PER_MU, decimals),
        ha=number_text(square_metres / SQUARE_METRES_PER_HECTARE, decimals))


def change_text(square_metres: float, gain: str = "净增", loss: str = "净减少", unchanged: str = "持平",
                decimals: int = AREA_DECIMALS, hectares: bool = False) -> str:
    """"净增 12.00 亩" / "净减少 3.10 亩" / "持平": the word carries the sign, the figure is a magnitude."""
    magnitude = abs(square_metres)
    if float(f"{magnitude / SQUARE_METRES_PER_MU:.{decimals}f}") == 0.0:
        return tr(unchanged)
    amount = area_text(magnitude, decimals) if hectares else mu_text(magnitude, decimals)
    return f"{tr(gain if square_metres > 0 else loss)} {amount}"


def percent_text(value: Optional[float], decimals: int = PERCENT_DECIMALS, signed: bool = False) -> str:
    if is_missing(value):
        return MISSING
    return number_text(value, decimals, signed) + "%"


def value_text(value: Optional[float], decimals: int, unit: str = "") -> str:
    """A rule's value or threshold as both the panel and the report print it (the rule's decimals):
    "35.07 亩", "1.8227 倍", but "0.39%" (a percent sign is set close, as in the rule messages)."""
    if is_missing(value):
        return MISSING
    gap = "" if unit in CLOSE_UNITS else " "
    return f"{number_text(value, decimals)}{gap}{unit}".strip()
