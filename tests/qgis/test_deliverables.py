"""The 单元方案 package as a reviewer opens it (issue 12): the Word file rendered by LibreOffice shows
each map whole, its tables fit the page with repeated headers, it has page numbers, a real table of
contents and Chinese as its language; the plugin's PDF extracts as written (田 not the radical ⽥,
"DY02" whole); the Excel sheets print on A4 landscape one page wide; the 永久基本农田 ledger totals
调出, 调入 and the net change separately."""

import re
import shutil
import zlib
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from fixtures.deliverables import (
    docx_part,
    export_sample_unit,
    pdf_images,
    pdf_text,
    picture_extents_cm,
    render_with_libreoffice,
)
from land_consolidation.report.unit_report import MAP_TITLES, Table

POINTS_PER_CM = 72 / 2.54


@pytest.fixture(scope="module")
def package(sample_gpkg, qgis_processing, tmp_path_factory):
    return export_sample_unit(sample_gpkg, tmp_path_factory.mktemp("deliverables"))


@pytest.fixture(scope="module")
def rendered(package, tmp_path_factory, artifacts_dir):
    """单元方案.docx laid out by LibreOffice (the PDF), its pages left in artifacts/ for a person."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: tools/install-system-deps")
    pdf = render_with_libreoffice(package / "单元方案.docx", tmp_path_factory.mktemp("rendered"))
    pages = artifacts_dir / "deliverables_docx_pages"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    import subprocess

    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(pages / "单元方案")], check=True)
    return pdf


def _words(pdf: Path) -> list[dict]:
    """Every word of the PDF with its page and box (points, from the top), from pdftotext -bbox."""
    import subprocess

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        found = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', line)
        if found:
            x0, y0, x1, y1 = (float(v) for v in found.groups()[:4])
            words.append({"page": page, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "text": found.group(5)})
    return words


# ----------------------------------------------------------------------------- Word: maps

def test_docx_maps_are_drawn_at_the_size_the_writer_set(package, rendered):
    extents = picture_extents_cm(docx_part(package / "单元方案.docx", "word/document.xml"))
    assert len(extents) == len(MAP_TITLES)
    from qgis.PyQt.QtGui import QImage

    source = QImage(str(package / "附图" / f"{MAP_TITLES[0]}.png"))
    aspect = source.width() / source.height()
    for width_cm, height_cm in extents:
        assert width_cm == pytest.approx(15.6, abs=0.05)  # the text width of the template's A4 page
        assert width_cm / height_cm == pytest.approx(aspect, rel=0.01)
    images = [i for i in pdf_images(rendered) if i["width"] > 500]
    assert len(images) == len(MAP_TITLES)
    for image in images:  # the image placed at its size, with its proportions
        assert image["width"] / image["height"] == pytest.approx(aspect, rel=0.01)
        assert image["width"] / image["x_ppi"] * 2.54 == pytest.approx(extents[0][0], rel=0.03)
    # What is visible: the map fills the space between the text above it and its caption. An exact
    # 28 pt line height clipped it to a 28 pt strip (the image placement alone does not show that).
    words = _words(rendered)
    expected = extents[0][1] * POINTS_PER_CM
    for number in range(1, len(MAP_TITLES) + 1):
        caption = [w for k, w in enumerate(words) if w["text"] == "图" and k + 1 < len(words)
                   and words[k + 1]["text"] == str(number) and words[k + 1]["page"] == w["page"]]
        assert len(caption) == 1, number
        top = caption[0]
        above = [w["y1"] for w in words if w["page"] == top["page"] and w["y1"] < top["y0"] - 1]
        gap = top["y0"] - (max(above) if above else 3.7 * POINTS_PER_CM)  # else: from the top margin
        assert gap >= 0.97 * expected, (number, gap, expected)
        assert gap < expected + 3 * POINTS_PER_CM, (number, gap)


def test_docx_picture_paragraphs_have_single_spacing_and_keep_with_caption(package):
    document = Document(str(package / "单元方案.docx"))
    pictures = [p for p in document.paragraphs if p._p.xpath(".//w:drawing")]
    assert len(pictures) == len(MAP_TITLES)
    for paragraph in pictures:
        spacing = paragraph._p.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}spacing")
        assert spacing is not None and spacing.get(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}lineRule") == "auto"
        assert paragraph.paragraph_format.first_line_indent == 0
        assert paragraph.paragraph_format.keep_with_next
        following = paragraph._p.getnext()
        assert following is not None and "图" in "".join(following.itertext())


# ----------------------------------------------------------------------------- Word: structure

def test_docx_tables_toc_footer_and_language(package):
    docx = package / "单元方案.docx"
    body = docx_part(docx, "word/document.xml")
    styles = docx_part(docx, "word/styles.xml")
    settings = docx_part(docx, "word/settings.xml")
    assert "<w:tblHeader" in body  # header rows repeat on each page
    assert body.count("<w:tblLayout w:type=\"fixed\"/>") == body.count("<w:tbl>")
    assert re.search(r'<w:instrText[^>]*>TOC \\o "1-2" \\h \\z \\u</w:instrText>', body)
    assert re.search(r'<w:updateFields w:val="(true|1)"/>', settings)
    defaults = re.search(r"<w:docDefaults>.*?</w:docDefaults>", styles, re.S).group(0)
    assert re.search(r'<w:lang [^>]*w:eastAsia="zh-CN"', defaults) and 'w:val="zh-CN"' in defaults
    footers = [docx_part(docx, n) for n in _names(docx) if n.startswith("word/footer")]
    assert any(re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", f) for f in footers)
    document = Document(str(docx))
    # the table of contents holds every chapter before Word updates it
    chapters = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    entries = [p for p in document.paragraphs if "PAGEREF _Toc" in p._p.xml]
    assert [p.text.strip() for p in entries] == chapters  # one linked entry per chapter, in order
    assert "TOC \\o" in entries[0]._p.xml and 'w:fldCharType="end"' in entries[-1]._p.xml[-400:]
    toc_text = "".join(p.text for p in entries)
    assert "打开文件时更新目录" not in toc_text
    assert all(heading.style.element.xpath("./w:pPr/w:outlineLvl/@w:val") == ["0"] for heading in
               document.paragraphs if heading.style.name == "Heading 1")
    # columns fitted to their contents: 指标核算表's 指标 column is the widest, its 单位 one narrow
    indicator = [t for t in document.tables if t.cell(0, 0).text == "指标"][0]
    widths = [int(w) for w in indicator._tbl.xpath("./w:tblGrid/w:gridCol/@w:w")]
    assert len(set(widths)) > 2 and widths[0] == max(widths)
    assert sum(widths) <= 15.6 / 2.54 * 1440 + 5  # twips: within the text width
    first_row_cells = indicator.rows[1]._tr.xpath("./w:tc/w:tcPr/w:tcW/@w:w")
    assert [int(w) for w in first_row_cells] == widths
    for cell in indicator._tbl.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"):
        xml = cell.xml if hasattr(cell, "xml") else ""
        assert 'w:lineRule="exact"' not in xml and "w:firstLine=\"560\"" not in xml


def _names(docx: Path) -> list:
    import zipfile

    with zipfile.ZipFile(docx) as zipped:
        return zipped.namelist()


# ----------------------------------------------------------------------------- PDF text

def test_pdf_text_extracts_as_written(package):
    text = pdf_text(package / "单元方案.pdf")  # no NFKC: the characters as the report wrote them
    flat = text.replace("\n", "")
    for expected in ("永久基本农田", "DY02", "CGCS2000", "土地利用现状图", "整治后耕地", "面积"):
        assert expected in flat, expected
    assert not [ch for ch in text if 0x2E80 <= ord(ch) <= 0x2FDF], "no Kangxi / CJK radicals"
    assert "\ufb01" not in text and "\ufb02" not in text  # no ligature glyphs (fi, fl)


def test_to_unicode_rewrite_keeps_the_pdf_valid(tmp_path):
    """A Qt-written PDF whose ToUnicode map reads 田 as ⽥ (U+2F65) and the space as a tab: the rewrite
    maps them to 田 and the space, and the xref table still points at every object."""
    from qgis.PyQt.QtGui import QPdfWriter, QTextDocument

    from land_consolidation.report.pdf_writer import fix_to_unicode

    document = QTextDocument()
    document.setHtml("<p style=\"font-family:'Noto Serif CJK SC'\">永久基本农田 用地 DY02</p>")
    path = tmp_path / "raw.pdf"
    writer = QPdfWriter(str(path))
    document.print_(writer) if hasattr(document, "print_") else document.print(writer)
    del writer
    before = pdf_text(path)
    assert "\u2f65" in before or "\u7530" in before  # Qt's own map (the radical on Qt 5.15)
    changed = fix_to_unicode(path)
    after = pdf_text(path)
    assert "永久基本农田" in after and "用地" in after
    assert changed == ("\u2f65" in before)
    data = path.read_bytes()
    start = int(re.search(rb"startxref\s+(\d+)", data).group(1))
    table = re.match(rb"xref\s+(\d+)\s+(\d+)\s*\n", data[start:])
    assert table is not None
    base = start + table.end()
    for k in range(int(table.group(2))):
        entry = data[base + 20 * k:base + 20 * k + 20]
        if entry[17:18] == b"n":
            assert data[int(entry[:10]):].startswith(b"%d 0 obj" % k), k
    for stream in re.findall(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", data):
        assert int(stream) > 0
    zlib.compress(data)  # (the file reads back whole)


# ----------------------------------------------------------------------------- totals

def test_ledger_totals_are_out_in_and_net(package):
    book = load_workbook(package / "附表.xlsx")
    sheet = book["永久基本农田调出调入表"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    parcels = [r for r in rows if r[0] in ("调出", "调入")]
    out = sum(r[7] for r in parcels if r[0] == "调出")
    into = sum(r[7] for r in parcels if r[0] == "调入")
    assert out > 0 and into > 0
    cells = {r[0].value: r[7].value for r in sheet.iter_rows(min_row=3) if r[0].value not in ("调出", "调入")}
    first, last = 3, 2 + len(parcels)
    assert cells["调出合计"] == f'=SUMIF(A{first}:A{last},"调出",H{first}:H{last})'
    assert cells["调入合计"] == f'=SUMIF(A{first}:A{last},"调入",H{first}:H{last})'
    net_label = "净增（调入−调出）" if into >= out else "净减少（调出−调入）"
    plus, minus = ("调入", "调出") if into >= out else ("调出", "调入")
    assert cells[net_label] == (f'=SUMIF(A{first}:A{last},"{plus}",H{first}:H{last})'
                                f'-SUMIF(A{first}:A{last},"{minus}",H{first}:H{last})')
    assert "合计" not in cells  # no more 调出 + 调入 added together
    # Word prints the same three totals, evaluated
    document = Document(str(package / "单元方案.docx"))
    ledger = [t for t in document.tables if t.cell(0, 0).text == "类型"][0]
    printed = {row.cells[0].text: row.cells[-1].text for row in ledger.rows}
    assert printed["调出合计"] == f"{out:,.2f}" and printed["调入合计"] == f"{into:,.2f}"
    assert printed[net_label] == f"{abs(into - out):,.2f}"
    # and the PDF
    text = pdf_text(package / "单元方案.pdf", layout=True)
    assert re.search(rf"调出合计\s+{re.escape(f'{out:,.2f}')}", text)
    assert re.search(rf"调入合计\s+{re.escape(f'{into:,.2f}')}", text)


def test_table_totals_markers_by_hand():
    table = Table("t", "t", [("类型", "text"), ("面积", "area")],
                  [["调出", 1.25], ["调入", 4.0], ["调出", 0.5], ["调入", 2.0]],
                  totals=[["调出合计", "SUMIF:调出"], ["调入合计", "SUMIF:调入"], ["净增", "DIFF:调入:调出"],
                          ["合计", "SUM"]])
    assert table.evaluated_totals() == [["调出合计", 1.75], ["调入合计", 6.0], ["净增", 4.25], ["合计", 7.75]]
    assert table.total_values() == ["调出合计", 1.75]
    single = Table("s", "s", [("a", "text"), ("b", "area")], [["x", 1.0], ["y", 2.5]], total_row=["合计", "SUM"])
    assert single.total_values() == ["合计", 3.5] and single.totals == [["合计", "SUM"]]
    assert single.total_row == ["合计", "SUM"]


# ----------------------------------------------------------------------------- Excel print set-up

def test_xlsx_prints_landscape_one_page_wide_with_titles(package):
    book = load_workbook(package / "附表.xlsx")
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert str(sheet.page_setup.paperSize) == "9", sheet.title  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0, sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.print_title_rows.replace("$", "") == "1:2", sheet.title
        widths = {letter: d.width for letter, d in sheet.column_dimensions.items()}
        assert len(set(widths.values())) > 1, sheet.title
    indicator = book["指标核算表"]
    longest = max(len(str(r[0])) for r in indicator.iter_rows(min_row=3, values_only=True) if r[0])
    assert indicator.column_dimensions["A"].width >= 2 * longest  # CJK names count double


# ----------------------------------------------------------------------------- Word: wide tables

def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    import subprocess

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r'<page width="([\d.]+)" height="([\d.]+)"', html)]


def test_docx_wide_table_gets_a_landscape_page_and_its_figures_do_not_wrap(package, rendered):
    """The 11-column 子项目清单 does not fit a portrait A4 even in 小五: it is set on a landscape page of its
    own, the pages around it stay portrait, and no figure is broken over two lines."""
    sizes = _page_sizes(rendered)
    words = _words(rendered)
    caption_pages = {w["page"] for w in words if w["text"] == "子项目清单"}
    table_page = min(p for p in caption_pages if sizes[p - 1][0] > sizes[p - 1][1])  # the caption's page
    assert sizes[table_page - 1][0] > sizes[table_page - 1][1]  # landscape
    assert sizes[0][0] < sizes[0][1] and sizes[-1][0] < sizes[-1][1]  # the rest portrait
    figures = [w["text"] for w in words if w["page"] in (table_page, table_page + 1)
               and re.fullmatch(r"-?[\d,]+\.\d+", w["text"])]
    assert figures and all(re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", f) for f in figures), figures
    ids = [w["text"] for w in words if w["page"] == table_page and re.match(r"DY02-", w["text"])]
    assert ids and all(re.fullmatch(r"DY02-\d\d", i) for i in ids), ids  # ids whole, not wrapped


def test_pdf_tables_never_break_figures_ids_or_years(package):
    """In the plugin's PDF (one portrait page size) the 子项目清单 is set smaller instead of turned: its
    figures, ids and years stay on one line each."""
    words = _words(package / "单元方案.pdf")
    pages = sorted({w["page"] for w in words if w["text"] == "子项目清单"})
    on_table = [w["text"] for w in words if w["page"] in (pages[-1], pages[-1] + 1)]
    figures = [t for t in on_table if re.fullmatch(r"-?[\d,]+\.\d+", t)]
    assert figures and all(re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", f) for f in figures), figures
    ids = [t for t in on_table if t.startswith("DY02-")]
    assert ids and all(re.fullmatch(r"DY02-\d\d", i) for i in ids), ids
    years = [t for t in on_table if re.match(r"20\d\d", t)]
    assert years and all(re.fullmatch(r"20\d\d(–20\d\d)?", y) for y in years), years
