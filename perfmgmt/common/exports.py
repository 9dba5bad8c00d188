"""Writing tables for people: CSV (UTF-8 with BOM, so Excel reads Chinese), JSON and XLSX.

Every text cell is formula-safe: a spreadsheet runs a cell that starts with = + - @ (or a tab or
carriage return) as a formula, so such text is written as inert text. Money stays exact: it
arrives as Decimal and is written with two decimals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """Text a spreadsheet shows as it is: a leading apostrophe stops formula evaluation."""
    return f"'{text}" if text[:1] in _FORMULA_START else text


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, str):
        return formula_safe(value)
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([_cell_text(c) for c in columns])
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def json_bytes(columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """A list of objects; money as strings with two decimals (exact), rates as numbers."""
    records = [
        {
            c: (f"{v:.2f}" if isinstance(v, Decimal) else (round(v, 6) if isinstance(v, float) else v))
            for c, v in zip(columns, row, strict=True)
        }
        for row in rows
    ]
    return json.dumps(records, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode("utf-8")


def xlsx_bytes(columns: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Sheet1") -> bytes:
    """One sheet. `sheet` may be any text (a team or member name): it is made a valid sheet name."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(xlsx_sheet_title(sheet, set()))
    worksheet.append([_xlsx_any(worksheet, c) for c in columns])
    for row in rows:
        worksheet.append([_xlsx_any(worksheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_any(worksheet, value):
    # Text as inert text (quote prefix, no control characters xlsx cannot hold); money with two decimals.
    return xlsx_text_cell(worksheet, value) if isinstance(value, str) else _xlsx_cell(worksheet, value)


def _xlsx_cell(worksheet, value):
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = "0.00"
        return cell
    return value


# --- workbooks of several sheets (the HR exports) ------------------------------------------

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGUAGES = ("zh-hans", "en")  # the languages an export's headers can be written in
MONEY = "#,##0.00"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters xlsx cannot hold


def xlsx_text_cell(worksheet, text: str):
    text = _ILLEGAL.sub("", text)
    cell = _xlsx_cell(worksheet, text)  # data type "s": never a formula
    if formula_safe(text) != text:
        cell.quotePrefix = True  # and stays text when someone edits it in Excel
    return cell


def xlsx_value_cell(worksheet, value, number_format: str | None = None):
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if isinstance(value, str):
        return xlsx_text_cell(worksheet, value)
    cell = WriteOnlyCell(worksheet, value=value)
    if number_format:
        cell.number_format = number_format
    return cell


def xlsx_sheet_title(base: str, used: set[str]) -> str:
    """≤ 31 characters, none of []:*?/\\, not starting or ending with an apostrophe, unique
    (sheet names are case-insensitive)."""
    title = _SHEET_FORBIDDEN.sub("_", _ILLEGAL.sub("", base)).strip().strip("'").strip()[:31].strip() or "Sheet"
    candidate, n = title, 2
    while candidate.lower() in used or candidate.lower() == "history":  # "History" is Excel's own
        suffix = f" ({n})"
        candidate, n = title[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def xlsx_column_widths(ws, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def month_parse(text: str) -> dt.date:
    """The first day of the month written "YYYY-MM"; ValueError otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}", (text or "").strip()):
        raise ValueError(text)
    return dt.datetime.strptime(text.strip(), "%Y-%m").date()
