"""附表.xlsx: one sheet per standard table, Chinese headers with units, 2-decimal formats,
frozen header rows, totals as real Excel formulas (the same markers Word and PDF evaluate), and a
print set-up a reviewer can print from: A4 landscape, one page wide, header rows on every page."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from ..core.common.i18n import tr
from .table_layout import cell_text, text_units
from .unit_report import Measure, Table, UnitReport

FORMATS = {"area": "#,##0.00", "percent": "0.00", "number": "0.00", "integer": "0", "text": "@"}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FONT = "宋体"
HEADER_ROW = 2
MAX_WIDTH = 60  # characters; longer texts (说明) wrap
NUMBER_WIDTH = 12


def write_workbook(report: UnitReport, path: str) -> None:
    book = Workbook()
    book.remove(book.active)
    for key, table in report.tables.items():
        sheet = book.create_sheet(key)
        sheet.append([f"{report.unit_id} {report.unit_name} {table.caption}"])
        sheet["A1"].font = Font(name=FONT, bold=True, size=12)
        for column, (header, _kind) in enumerate(table.columns, start=1):
            cell = sheet.cell(row=HEADER_ROW, column=column, value=header)
            cell.font = Font(name=FONT, bold=True)
            cell.fill = HEADER_FILL
            cell.border = BORDER
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        first = HEADER_ROW + 1
        for offset, values in enumerate(table.rows):
            for column, ((_header, kind), value) in enumerate(zip(table.columns, values), start=1):
                cell = sheet.cell(row=first + offset, column=column, value=_cell_value(value, kind))
                cell.number_format = _number_format(value, kind)
                cell.border = BORDER
                cell.font = Font(name=FONT)
        last = first + len(table.rows) - 1
        for k, markers in enumerate(table.totals):
            total_at = last + 1 + k
            for column, ((_header, kind), marker) in enumerate(zip(table.columns, markers), start=1):
                value = _formula(marker, get_column_letter(column), first, last)
                cell = sheet.cell(row=total_at, column=column, value=_cell_value(value, kind))
                cell.number_format = FORMATS[kind]
                cell.font = Font(name=FONT, bold=True)
                cell.border = BORDER
        sheet.freeze_panes = sheet.cell(row=first, column=1)
        _fit_columns(sheet, table)
        _print_setup(sheet)
    book.properties.creator = "全域整治 Land Consolidation"
    book.save(path)


def _formula(marker, letter: str, first: int, last: int):
    """A total row's marker as an Excel formula over the data rows (see unit_report.Table)."""
    if not isinstance(marker, str):
        return marker

    def sumif(level: str) -> str:
        return f'SUMIF(A{first}:A{last},"{level}",{letter}{first}:{letter}{last})'

    if marker == "SUM":
        return f"=SUM({letter}{first}:{letter}{last})" if last >= first else 0
    if marker.startswith("SUMIF:"):  # sum only the rows of one level / direction
        return f"={sumif(marker.split(':', 1)[1])}" if last >= first else 0
    if marker.startswith("DIFF:"):  # one level's sum less another's
        _, plus, minus = marker.split(":", 2)
        return f"={sumif(plus)}-{sumif(minus)}" if last >= first else 0
    return marker


def _fit_columns(sheet, table: Table) -> None:
    """Each column as wide as its longest entry (CJK counted double), headers allowed two lines."""
    for column, (header, kind) in enumerate(table.columns, start=1):
        widths = [max(6, (text_units(header) + 1) // 2 + 1)]  # the header wraps onto two lines
        for values in table.rows + table.totals:
            value = values[column - 1] if column - 1 < len(values) else None
            if value is None or (isinstance(value, str) and (value == "SUM" or value.startswith(("SUMIF:", "DIFF:")))):
                continue
            widths.append(text_units(cell_text(value, kind)) + (kind != "text"))
        width = min(MAX_WIDTH, max(widths) + 2)
        if kind != "text":
            width = max(width, NUMBER_WIDTH)
        sheet.column_dimensions[get_column_letter(column)].width = width
        if width == MAX_WIDTH:  # long messages wrap in their cell instead of running off the page
            for row in sheet.iter_rows(min_row=HEADER_ROW + 1, min_col=column, max_col=column):
                row[0].alignment = Alignment(wrap_text=True, vertical="top")


def _print_setup(sheet) -> None:
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = f"1:{HEADER_ROW}"  # the caption and the header on every printed page
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.page_margins.header = sheet.page_margins.footer = 0.3
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = tr("第 &P 页，共 &N 页")


def _number_format(value, kind: str) -> str:
    """The column's format; a Measure's own decimals (4 for a 倍 figure)."""
    if isinstance(value, Measure):
        return "#,##0" + ("." + "0" * value.decimals if value.decimals else "")
    return FORMATS[kind]


def _cell_value(value, kind):
    if isinstance(value, Measure):
        return value.value
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if kind in ("area", "percent", "number") and not isinstance(value, str):
        return float(value)
    if kind == "integer" and not isinstance(value, str):
        return int(value)
    if kind == "text":
        return str(value)
    return value
