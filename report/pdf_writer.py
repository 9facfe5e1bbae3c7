"""单元方案.pdf for filing: the same document model as the Word file, typeset by Qt with CJK fonts.

Qt embeds the fonts it uses with their Unicode maps, so the PDF's text can be searched and
extracted (some characters come out as their Kangxi-radical twins; compare after NFKC).
"""

from __future__ import annotations

import html
from pathlib import Path

from qgis.PyQt.QtCore import QMarginsF, QUrl
from qgis.PyQt.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from .unit_report import Figure, Table, UnitReport

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
th {{ font-family: {SANS}; font-size: 8.5pt; background-color: #ddebf7; }}
td {{ font-size: 8.5pt; }}
td.number {{ text-align: right; }}
"""


def _cell(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind in ("area", "percent", "number") and not isinstance(value, str):
        return f"{value:,.2f}"
    if kind == "integer" and not isinstance(value, str):
        return str(int(value))
    return html.escape(str(value))


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
    keep = [i for i, (header, _kind) in enumerate(table.columns) if header != "说明"]
    rows = table.rows + ([table.total_values()] if table.total_row is not None else [])
    out = [f"<p class='caption'>{html.escape(table.caption)}</p>",
           "<table border='1' cellspacing='0' cellpadding='3' width='100%'><tr>"]
    out += [f"<th>{html.escape(table.columns[i][0])}</th>" for i in keep]
    out.append("</tr>")
    for values in rows:
        out.append("<tr>")
        for i in keep:
            kind = table.columns[i][1]
            css = " class='number'" if kind != "text" else ""
            out.append(f"<td{css}>{_cell(values[i], kind)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def write_pdf(report: UnitReport, path: str, figure_paths: dict) -> None:
    document = QTextDocument()
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
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(20, 20, 20, 20),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(300)
    writer.setTitle(report.title)
    writer.setCreator("全域整治 Land Consolidation")
    # Qt lays the document out on the page itself (fonts in points, images in layout pixels).
    if hasattr(document, "print_"):
        document.print_(writer)
    else:  # PyQt6
        document.print(writer)
