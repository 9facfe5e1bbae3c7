"""附表.xlsx: one sheet per standard table, Chinese headers with units, 2-decimal formats,
frozen header rows, totals as real Excel formulas."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .unit_report import UnitReport

FORMATS = {"area": "#,##0.00", "percent": "0.00", "number": "0.00", "integer": "0", "text": "@"}
SHEET_ORDER = ("土地利用结构调整表", "永久基本农田调出调入表", "子项目清单", "指标核算表", "地类流向表")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FONT = "宋体"


def write_workbook(report: UnitReport, path: str) -> None:
    book = Workbook()
    book.remove(book.active)
    for key in SHEET_ORDER:
        table = report.tables[key]
        sheet = book.create_sheet(key)
        sheet.append([f"{report.unit_id} {report.unit_name} {table.caption}"])
        sheet["A1"].font = Font(name=FONT, bold=True, size=12)
        header_row = 2
        for column, (header, _kind) in enumerate(table.columns, start=1):
            cell = sheet.cell(row=header_row, column=column, value=header)
            cell.font = Font(name=FONT, bold=True)
            cell.fill = HEADER_FILL
            cell.border = BORDER
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        first = header_row + 1
        for offset, values in enumerate(table.rows):
            for column, ((_header, kind), value) in enumerate(zip(table.columns, values), start=1):
                cell = sheet.cell(row=first + offset, column=column, value=_cell_value(value, kind))
                cell.number_format = FORMATS[kind]
                cell.border = BORDER
                cell.font = Font(name=FONT)
        last = first + len(table.rows) - 1
        if table.total_row is not None:
            total_at = last + 1
            for column, ((_header, kind), value) in enumerate(zip(table.columns, table.total_row), start=1):
                letter = get_column_letter(column)
                if value == "SUM":
                    value = f"=SUM({letter}{first}:{letter}{last})" if last >= first else 0
                elif isinstance(value, str) and value.startswith("SUMIF:"):  # sum only rows of one level
                    level = value.split(":", 1)[1]
                    value = (f'=SUMIF(A{first}:A{last},"{level}",{letter}{first}:{letter}{last})'
                             if last >= first else 0)
                cell = sheet.cell(row=total_at, column=column, value=_cell_value(value, kind))
                cell.number_format = FORMATS[kind]
                cell.font = Font(name=FONT, bold=True)
                cell.border = BORDER
        sheet.freeze_panes = sheet.cell(row=first, column=1)
        for column, (header, kind) in enumerate(table.columns, start=1):
            width = 40 if header in ("说明",) else 12 if kind != "text" else 16
            sheet.column_dimensions[get_column_letter(column)].width = width
    book.properties.creator = "全域整治 Land Consolidation"
    book.save(path)


def _cell_value(value, kind):
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
