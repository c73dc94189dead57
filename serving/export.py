"""Lists as Excel workbooks (.xlsx, openpyxl): Chinese headers with units, numbers rounded to what they
mean (no float noise such as 4.199999999), and text that a spreadsheet would run made inert.

Text starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is a formula to Excel and
LibreOffice (CSV/formula injection, OWASP): such a cell is written as text with a leading apostrophe,
never as a formula, whatever a tip's words or a note say."""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass

from fastapi import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # Chinese, with the unit: "未说明去向（吨）"
    digits: int | None = None  # decimals kept for a number; None: as it is (integers, text)
    width: int = 14


def inert(text: str) -> str:
    """``text`` as a spreadsheet shows it and never evaluates it (control characters a workbook cannot
    hold dropped)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_value(value, digits: int | None):
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int) and digits is not None:
        return round(float(value), digits)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, int | float | dt.date):
        return value
    if isinstance(value, list | tuple):
        value = "；".join(str(v) for v in value)
    return inert(str(value))


def add_sheet(wb: Workbook, title: str, columns: list[Column], rows: list[dict]) -> None:
    ws = wb.create_sheet(title[:31])
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows[:MAX_ROWS]:
        ws.append([cell_value(row.get(c.key), c.digits) for c in columns])
    for i, c in enumerate(columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = c.width
        if c.digits is not None:
            fmt = "0" if c.digits == 0 else "0." + "0" * c.digits
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
        for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even if it looks like a formula
    ws.freeze_panes = "A2"


def workbook(sheets: list[tuple[str, list[Column], list[dict]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, rows in sheets:
        add_sheet(wb, title, columns, rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
