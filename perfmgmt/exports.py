"""Writing tables for people: CSV (UTF-8 with BOM, so Excel reads Chinese), JSON and XLSX.

Every text cell is formula-safe: a spreadsheet runs a cell that starts with = + - @ (or a tab or
carriage return) as a formula, so such text is written as inert text. Money stays exact: it
arrives as Decimal and is written with two decimals."""

from __future__ import annotations

import csv
import io
import json
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
    writer.writerow(columns)
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
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(list(columns))
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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
