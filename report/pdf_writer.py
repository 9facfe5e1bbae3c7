"""单元方案.pdf for filing: the same document model as the Word file, typeset by Qt with CJK fonts.

Qt embeds the fonts it uses with a ToUnicode map for each, so the PDF's text can be searched and
extracted as written. Two faults of Qt 5.15's PDF engine are worked around:

- OpenType shaping (kerning, ligatures, the CJK fonts' Latin-context digit forms) gives glyphs that
  are not in the font's cmap, and Qt's ToUnicode map, built by looking glyphs up in the cmap, leaves
  them out: "DY02" extracted as "DY", "fi" as a ligature. Latin and Han need no shaping, so the
  document's font asks for none (QFont.StyleStrategy.PreferNoShaping): every glyph drawn is a cmap glyph.
- Qt maps each glyph to the lowest code point the cmap gives it, and Noto CJK (like most CJK fonts)
  draws the Kangxi radical ⽥ U+2F65 and the ideograph 田 U+7530 with one glyph: 田 came out as ⽥.
  The written PDF's ToUnicode maps are rewritten so that a radical (or a control character sharing
  the space glyph) reads as the character it stands for (``fix_to_unicode``).
"""

from __future__ import annotations

import html
import re
import unicodedata
import zlib
from pathlib import Path

from qgis.PyQt.QtCore import QMarginsF, QUrl
from qgis.PyQt.QtGui import QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from .table_layout import SMALL_TABLE_PT, TABLE_PT, cell_text, column_widths, latin_runs, table_layout
from .unit_report import Figure, Table, UnitReport

MARGIN_MM = 20
EMU_PER_MM = 36000
TEXT_WIDTH = (210 - 2 * MARGIN_MM) * EMU_PER_MM  # A4's width less the margins, in EMU (the unit of table_layout)
NARROW_TABLE_PT = 7.0
PDF_TABLE_PT = {TABLE_PT: 8.5, SMALL_TABLE_PT: 8.0}  # Word's 五号 and 小五 beside an 11 pt body
SERIF = "'Noto Serif CJK SC', 'Source Han Serif SC', 'SimSun', 'Songti SC', serif"
SANS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'SimHei', 'Heiti SC', sans-serif"
STYLE = f"""
body {{ font-family: {SERIF}; font-size: 11pt; }}
h1.title {{ font-family: {SANS}; font-size: 20pt; text-align: center; }}
h2 {{ font-family: {SANS}; font-size: 14pt; margin-top: 14pt; }}
p {{ text-indent: 2em; line-height: 150%; margin: 4pt 0; }}
p.center {{ text-align: center; text-indent: 0; }}
p.caption {{ font-family: {SANS}; text-align: center; text-indent: 0; font-size: 10pt; }}
table {{ border-collapse: collapse; }}
th {{ font-family: {SANS}; background-color: #ddebf7; }}
td.number {{ text-align: right; }}
"""


def report_html(report: UnitReport, images: dict) -> str:
    parts = [f"<html><head><style>{STYLE}</style></head><body>",
             f"<h1 class='title'>{html.escape(report.title)}</h1>",
             f"<p class='center'>{html.escape(report.organisation)}　{html.escape(report.date)}</p>"]
    for chapter in report.chapters:
        parts.append(f"<h2>{html.escape(chapter.title)}</h2>")
        for block in chapter.blocks:
            if isinstance(block, str):
                parts.append(f"<p>{html.escape(block)}</p>")
            elif isinstance(block, Table):
                parts.append(_table_html(block))
            elif isinstance(block, Figure) and block.key in images:
                parts.append(f"<p class='center'><img src='{images[block.key]}' width='620'></p>")
                parts.append(f"<p class='caption'>{html.escape(block.caption)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _table_html(table: Table) -> str:
    """A table with its columns fitted as in the Word file; one too wide for 小五 in 7 pt."""
    keep = [i for i, (header, _kind) in enumerate(table.columns) if header != "说明"]
    headers = [table.columns[i][0] for i in keep]
    kinds = [table.columns[i][1] for i in keep]
    texts = [[cell_text(values[i], table.columns[i][1]) for i in keep] for values in table.rows + table.evaluated_totals()]
    font_pt, widths, fits = table_layout(headers, texts, kinds, TEXT_WIDTH)
    if not fits:  # no landscape page in one QTextDocument: a smaller type instead
        font_pt = NARROW_TABLE_PT
        widths = column_widths(headers, texts, TEXT_WIDTH, font_pt, kinds)
    size = f"font-size: {PDF_TABLE_PT.get(font_pt, font_pt):g}pt"  # the PDF's body is 11 pt, not Word's 14
    out = [f"<p class='caption'>{html.escape(table.caption)}</p>",
           "<table border='1' cellspacing='0' cellpadding='3' width='100%'><tr>"]
    out += [f"<th width='{100 * w / sum(widths):.1f}%' style='{size}'>{html.escape(h)}</th>"
            for h, w in zip(headers, widths)]
    out.append("</tr>")
    for row in texts:
        out.append("<tr>")
        for text, kind in zip(row, kinds):
            whole = kind != "text" or (" " not in text and latin_runs(text) == [text])
            look = f"{size}; white-space: nowrap" if whole else size  # figures, ids, years never wrap
            css = " class='number'" if kind != "text" else ""
            out.append(f"<td{css} style='{look}'>{html.escape(text)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def write_pdf(report: UnitReport, path: str, figure_paths: dict) -> None:
    document = QTextDocument()
    font = document.defaultFont()
    font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)  # only cmap glyphs: see the module's note
    document.setDefaultFont(font)
    images = {}
    for key, image_path in figure_paths.items():
        url = f"figure://{len(images)}"
        image = QImage(str(image_path))
        if not image.isNull():
            # The 300 dpi map is scaled to the page width; a lighter copy keeps the PDF small.
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image.scaledToWidth(2000))
            images[key] = url
    document.setHtml(report_html(report, images))
    writer = QPdfWriter(str(Path(path)))
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(300)
    writer.setTitle(report.title)
    writer.setCreator("全域整治 Land Consolidation")
    # Qt lays the document out on the page itself (fonts in points, images in layout pixels).
    if hasattr(document, "print_"):
        document.print_(writer)
    else:  # PyQt6
        document.print(writer)
    del writer  # the file is complete once the writer is gone
    fix_to_unicode(Path(path))


# ----------------------------------------------------------------------------- ToUnicode maps

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
_SECTION = re.compile(rb"\d+\s+begin(bfchar|bfrange)(.*?)end\1", re.S)
_OBJECT = re.compile(rb"(\d+) 0 obj\s*<<((?:(?!endobj).)*?)>>\s*stream\r?\n", re.S)
# Other code points fonts draw with one glyph, read as the one the report writes: control characters and
# the no-break space as a space, the figure dash U+2012 (which the plugin never writes) as the en dash of
# "2024–2026".
_SAME_GLYPH = {0x09: 0x20, 0x0A: 0x20, 0x0D: 0x20, 0xA0: 0x20, 0x2012: 0x2013}
# The unified ideograph each CJK Radicals Supplement character U+2E80..U+2EF3 stands for ("-": none), from
# Unicode's EquivalentUnifiedIdeograph.txt (these have no NFKC decomposition; the Kangxi radicals do).
_SUPPLEMENT = ("-厂乛乚乙亻冂𠘨刀刂卜㔾小小兀尣尢𡯂巳幺彑𫜹忄心扌攵-旡日月歺母民氵氺灬爫爫丬牛"
               "犭王𤴔目示礻𥫗糹纟罓罒㓁冗𦉫羊𦍌𦍋耂肀聿肉𦥑艹艹艹虎衤覀西见角𧢲讠贝𧾷车辶辶辶邑"
               "钅長镸长门𨸏阝雨青韦页风飞食𩙿飠饣𩠐马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀龟")


def _reading(text: str) -> str:
    """What a glyph shared by several code points should read as: a Kangxi radical or CJK radical
    supplement character as the ideograph it is the compatibility form of, a control character as a space."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0x2E80 <= code < 0x2E80 + len(_SUPPLEMENT):
            out.append(ch if _SUPPLEMENT[code - 0x2E80] == "-" else _SUPPLEMENT[code - 0x2E80])
        elif 0x2F00 <= code <= 0x2FDF:
            folded = unicodedata.normalize("NFKC", ch)
            out.append(folded if len(folded) == 1 else ch)
        else:
            out.append(chr(_SAME_GLYPH.get(code, code)))
    return "".join(out)


def _utf16(hex_digits: bytes) -> str:
    return bytes.fromhex(hex_digits.decode("ascii")).decode("utf-16-be", errors="replace")


def _parse_cmap(cmap: bytes) -> dict:
    """code (int) -> text, from a ToUnicode CMap's bfchar and bfrange sections."""
    mapping = {}
    for kind, body in _SECTION.findall(cmap):
        if kind == b"bfchar":
            codes = _HEX.findall(body)
            for source, target in zip(codes[0::2], codes[1::2]):
                mapping[int(source, 16)] = _utf16(target)
            continue
        for line in re.finditer(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)", body):
            low, high, target = int(line.group(1), 16), int(line.group(2), 16), line.group(3)
            if target.startswith(b"["):
                for offset, item in enumerate(_HEX.findall(target)):
                    mapping[low + offset] = _utf16(item)
            else:
                first = _utf16(_HEX.match(target).group(1))
                for offset in range(high - low + 1):  # the last UTF-16 unit counts up
                    mapping[low + offset] = first[:-1] + chr(ord(first[-1]) + offset)
    return mapping


def _write_cmap(cmap: bytes, mapping: dict) -> bytes:
    """The CMap with its mapping sections replaced by bfchar blocks (100 entries each, as the spec allows)."""
    sections = list(_SECTION.finditer(cmap))
    head, tail = cmap[:sections[0].start()], cmap[sections[-1].end():]
    items = sorted(mapping.items())
    blocks = []
    for start in range(0, len(items), 100):
        chunk = items[start:start + 100]
        lines = [b"<%04X> <%s>" % (code, text.encode("utf-16-be").hex().upper().encode("ascii"))
                 for code, text in chunk]
        blocks.append(b"%d beginbfchar\n%s\nendbfchar" % (len(chunk), b"\n".join(lines)))
    return head + b"\n".join(blocks) + tail


def fixed_cmap(cmap: bytes) -> bytes | None:
    """The CMap with every entry read as ``_reading`` says, or None when nothing changes."""
    if not _SECTION.search(cmap):
        return None
    mapping = _parse_cmap(cmap)
    fixed = {code: _reading(text) for code, text in mapping.items()}
    return None if fixed == mapping else _write_cmap(cmap, fixed)


def fix_to_unicode(path: Path) -> bool:
    """Rewrite the ToUnicode streams of a PDF written by Qt (one body, a classic xref table) in place;
    the xref offsets are moved by what each rewritten stream grew. Any other PDF is left as it is."""
    data = path.read_bytes()
    references = {int(n) for n in re.findall(rb"/ToUnicode\s+(\d+)\s+0\s+R", data)}
    start_xref = data.rfind(b"startxref")
    xref_at = data.rfind(b"\nxref", 0, start_xref) + 1
    if not references or data.count(b"startxref") != 1 or xref_at <= 0:
        return False
    edits = []  # (start, end, replacement) in the original bytes
    for number in sorted(references):
        at = re.search(rb"(?:^|\n)(%d 0 obj)" % number, data[:xref_at])
        found = _OBJECT.match(data, at.start(1)) if at else None
        if found is None:
            return False
        dictionary = found.group(2)
        length = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", dictionary)
        if length is None or length.group(2):  # an indirect length: not what Qt writes
            return False
        begin = found.end()
        raw = data[begin:begin + int(length.group(1))]
        compressed = b"/FlateDecode" in dictionary
        cmap = zlib.decompress(raw) if compressed else raw
        new = fixed_cmap(cmap)
        if new is None:
            continue
        body = zlib.compress(new) if compressed else new
        header = data[found.start():begin].replace(length.group(0), b"/Length %d" % len(body), 1)
        edits.append((found.start(), begin + len(raw), header + body))
    if not edits:
        return False
    edits.sort()
    table = re.match(rb"xref\s+(\d+)\s+(\d+)\s*\n", data[xref_at:])
    if table is None:
        return False
    entries_at = xref_at + table.end()
    count = int(table.group(2))
    out, cursor, shifts = [], 0, []
    for start, end, replacement in edits:
        out += [data[cursor:start], replacement]
        shifts.append((start, len(replacement) - (end - start)))
        cursor = end
    out.append(data[cursor:xref_at])

    def moved(offset: int) -> int:
        return offset + sum(delta for start, delta in shifts if start < offset)

    entries = []
    for k in range(count):
        entry = data[entries_at + 20 * k:entries_at + 20 * (k + 1)]
        if entry[17:18] == b"n":
            entry = b"%010d" % moved(int(entry[:10])) + entry[10:]
        entries.append(entry)
    new_xref_at = sum(len(part) for part in out)
    out += [data[xref_at:entries_at], b"".join(entries), data[entries_at + 20 * count:start_xref]]
    out.append(re.sub(rb"startxref\s+\d+", b"startxref\n%d" % new_xref_at, data[start_xref:], count=1))
    path.write_bytes(b"".join(out))
    return True
