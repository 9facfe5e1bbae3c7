"""How wide a report table's columns are, for the Word and the PDF writer alike.

Widths follow the texts (a CJK character counts as two Latin ones); figures never wrap; a table that
does not fit in 五号 (10.5 pt) is set in 小五 (9 pt), and one that still does not fit is reported so
the writer can give it a landscape page (Word) or a smaller type (PDF).
"""

from __future__ import annotations

import re
import unicodedata

from docx.shared import Cm, Pt

from ..core.common.numbers import number_text
from .unit_report import Measure

TABLE_PT = 10.5  # 五号


def cell_text(value, kind: str) -> str:
    """A cell as every writer prints it (figures by the one rule of core/common/numbers.py)."""
    if isinstance(value, Measure):
        return number_text(value.value, value.decimals)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind in ("area", "percent", "number"):
        return number_text(value) if not isinstance(value, str) else value
    if kind == "integer":
        return str(int(value)) if not isinstance(value, str) else value
    return str(value)


def text_units(text: str) -> int:
    """Display width in Latin characters: a CJK (wide or full-width) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


SMALL_TABLE_PT = 9.0  # 小五: the size Chinese reports set a table in when 五号 does not fit the page


def latin_runs(text: str) -> list:
    """The runs of narrow characters (ids, codes, years) a line should not break inside."""
    return re.findall(r"[^\s\u2e80-\U0002ffff\uff00-\uffef]+", str(text))


def _natural_and_floor(headers: list, rows: list, font_pt: float, kinds: list) -> tuple[list, list]:
    """Each column's width on one line (a header may take two), and the least it may have: figures
    their whole width, text four CJK characters or its longest id/code, whichever is wider."""
    padding = Cm(0.5)  # the cell margins, both sides, and a little air
    unit = Pt(font_pt) * 0.55  # a Latin character or digit is about half an em (a CJK one a whole em)
    natural, floor = [], []
    for j, header in enumerate(headers):
        units = max([(text_units(header) + 1) // 2, 4] + [text_units(r[j]) for r in rows])
        natural.append(int(units * unit + padding))
        if kinds[j] != "text":
            floor.append(natural[-1])
            continue
        token = max([len(t) for r in rows for t in latin_runs(r[j])] + [8])
        floor.append(min(natural[-1], int(token * unit + padding)))
    return natural, floor


def column_widths(headers: list, rows: list, available: int, font_pt: float, kinds: list | None = None) -> list:
    """Column widths (EMU) from the texts' lengths: each column as wide as its longest cell. If that is
    too wide, the text columns give up width in proportion to what they have above their floor (figures,
    ids and codes never wrap); only if that is not enough are all columns scaled."""
    kinds = kinds or ["text"] * len(headers)
    natural, floor = _natural_and_floor(headers, rows, font_pt, kinds)
    excess = sum(natural) - available
    if excess <= 0:
        return natural
    slack = [w - f for w, f in zip(natural, floor)]
    if sum(slack) >= excess:
        return [int(w - s * excess / sum(slack)) for w, s in zip(natural, slack)]
    scale = available / sum(floor)
    return [int(w * scale) for w in floor]


def table_layout(headers: list, texts: list, kinds: list, available: int) -> tuple[float, list, bool]:
    """(font size, widths, fits): 五号 (10.5 pt) if the table fits the width that way, else 小五; ``fits``
    is False when even 小五 would break figures or ids (the caller then turns the page or shrinks the type)."""
    for font_pt in (TABLE_PT, SMALL_TABLE_PT):
        natural, _floor = _natural_and_floor(headers, texts, font_pt, kinds)
        if sum(natural) <= available:
            return font_pt, natural, True
    _natural, floor = _natural_and_floor(headers, texts, SMALL_TABLE_PT, kinds)
    return SMALL_TABLE_PT, column_widths(headers, texts, available, SMALL_TABLE_PT, kinds), sum(floor) <= available
