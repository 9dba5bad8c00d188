"""Excel workbooks (XLSX) read as a stream of string chunks: the header from the sheet's XML at a
bounded cost (what an upload request does), the rows in openpyxl's streaming mode after checks
against zip bombs and a count of the sheet's cells (metrics.importing.readers opens the file)."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from metrics.importing.readers import Chunk, ImportRefused, Source, headers_check
from metrics.messages import megabytes
from metrics.messages import number as number_param

# --- ---------------------------------------------------------------------------------


# Reading an upload's header must cost the same for any file: at most this much of the sheet's
# XML (decompressed) is read to find its header row among its first 20 rows, and of the shared
# strings to name its columns. A real export's first rows are a few KB.
_HEAD_BYTES = 16 * 1024 * 1024
_XML_BLOCK = 1024 * 1024  # bytes decompressed and parsed at a time
# Excel's own limits; a sheet beyond them was not written by Excel or an export.
_EXCEL_MAX_COLUMNS = 16_384


class _Stop(Exception):
    """Enough has been read (raised from an XML handler to end the parse early)."""


def _xml_read(archive: zipfile.ZipFile, name: str, handlers: dict, *, budget: int | None, over: ImportRefused) -> None:
    """Parse one member of the workbook as it is decompressed, `handlers` being expat's (names
    arrive as "namespace local"). Stops at _Stop; `over` is raised past `budget` bytes. A DTD is
    refused (entity expansion: a billion laughs), as defusedxml makes openpyxl do."""
    from xml.parsers import expat

    def no_dtd(*_args) -> None:
        raise ImportRefused("metrics.import_xlsx_unreadable", error="DTDForbidden")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.buffer_text = True
    for attribute, handler in handlers.items():
        setattr(parser, attribute, handler)
    read = 0
    try:
        with archive.open(name) as member:
            while block := member.read(_XML_BLOCK):
                read += len(block)
                if budget is not None and read > budget:
                    raise over
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except _Stop:
        return
    except expat.ExpatError as error:
        raise ImportRefused("metrics.import_xlsx_unreadable", error=f"ExpatError: {error}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError):
        raise ImportRefused("metrics.import_xlsx_damaged") from None


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _column_index(reference: str) -> int:
    """0-based column of a cell reference: "A7" → 0, "AB12" → 27; -1 when there is none."""
    index = 0
    for char in reference:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _xlsx_sheets(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, member path) of each worksheet, in the workbook's order."""
    targets: dict[str, str] = {}
    listed: list[tuple[str, str]] = []

    def relationship(name: str, attrs: dict) -> None:
        if _local(name) == "Relationship" and attrs.get("Type", "").endswith("/worksheet"):
            target = attrs.get("Target", "")
            targets[attrs.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.normpath(f"xl/{target}")

    def sheet(name: str, attrs: dict) -> None:
        if _local(name) == "sheet":
            # r:id, whichever namespace the relationships have (transitional or strict OOXML).
            listed.append((attrs.get("name", ""), next((v for k, v in attrs.items() if k.endswith(" id")), "")))

    unreadable = ImportRefused("metrics.import_xlsx_unreadable", error="workbook.xml")
    _xml_read(archive, "xl/_rels/workbook.xml.rels", {"StartElementHandler": relationship}, budget=_HEAD_BYTES,
              over=unreadable)  # fmt: skip
    _xml_read(archive, "xl/workbook.xml", {"StartElementHandler": sheet}, budget=_HEAD_BYTES, over=unreadable)
    return [(name, targets[rid]) for name, rid in listed if rid in targets]


def _xlsx_head(archive: zipfile.ZipFile, member: str) -> tuple[int, list[tuple[int, str, str | None]], tuple[int, int]]:
    """The sheet's first non-empty row among its first 20, read from the start of its XML:
    (its row number or 0, its cells as (column, type, raw text), (last column, last row) declared
    by <dimension>, or (0, 0))."""
    state = {"row": 0, "cells": [], "cell": None, "text": None, "phonetic": 0, "dimension": (0, 0), "found": 0}
    found: list = []

    def start(name: str, attrs: dict) -> None:
        tag = _local(name)
        if tag == "c":
            cells = state["cells"]
            column = _column_index(attrs.get("r", ""))
            column = column if column >= 0 else (cells[-1][0] + 1 if cells else 0)
            state["cell"] = [column, attrs.get("t", "n"), None]
        elif tag in ("v", "t") and state["cell"] is not None and not state["phonetic"]:
            state["text"] = []
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "row":
            state["row"] = int(attrs["r"]) if attrs.get("r", "").isdigit() else state["row"] + 1
            if state["row"] > 20:
                raise _Stop
            state["cells"] = []
        elif tag == "dimension":
            last = attrs.get("ref", "").rpartition(":")[2]
            digits = "".join(c for c in last if c.isdigit())
            state["dimension"] = (_column_index(last) + 1, int(digits) if digits else 0)

    def end(name: str) -> None:
        tag = _local(name)
        if tag in ("v", "t") and state["text"] is not None:
            cell = state["cell"]
            cell[2] = (cell[2] or "") + "".join(state["text"])
            state["text"] = None
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "c" and state["cell"] is not None:
            state["cells"].append(tuple(state["cell"]))
            state["cell"] = None
        elif tag == "row":
            if any(value not in (None, "") for _column, _type, value in state["cells"]):
                found.extend(state["cells"])
                state["found"] = state["row"]
                raise _Stop
        elif tag == "sheetData":
            raise _Stop

    def text(data: str) -> None:
        if state["text"] is not None:
            state["text"].append(data)

    _xml_read(
        archive, member,
        {"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text},
        budget=_HEAD_BYTES, over=ImportRefused("metrics.import_xlsx_head_too_big", limit=megabytes(_HEAD_BYTES)),
    )  # fmt: skip
    return state["found"], found, state["dimension"]


def _shared_strings(archive: zipfile.ZipFile, wanted: set[int]) -> dict[int, str]:
    """The shared strings of these indexes, read up to the last of them (Excel lists strings in
    the order it first meets them, so a header's are among the first)."""
    strings: dict[int, str] = {}
    if not wanted or "xl/sharedStrings.xml" not in archive.namelist():
        return strings
    last = max(wanted)
    state = {"index": -1, "parts": None, "phonetic": 0, "in_t": False}

    def start(name: str, _attrs: dict) -> None:
        tag = _local(name)
        if tag == "si":
            state["index"] += 1
            state["parts"] = [] if state["index"] in wanted else None
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "t":
            state["in_t"] = True

    def end(name: str) -> None:
        tag = _local(name)
        if tag == "si":
            if state["parts"] is not None:
                strings[state["index"]] = "".join(state["parts"])
            if state["index"] >= last:
                raise _Stop
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def text(data: str) -> None:
        if state["in_t"] and not state["phonetic"] and state["parts"] is not None:
            state["parts"].append(data)

    _xml_read(
        archive, "xl/sharedStrings.xml",
        {"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text},
        budget=_HEAD_BYTES, over=ImportRefused("metrics.import_xlsx_head_too_big", limit=megabytes(_HEAD_BYTES)),
    )  # fmt: skip
    return strings


def _head_value(kind: str, raw: str | None, strings: dict[int, str]):
    """A header cell as openpyxl reads it (then shown by _cell_text)."""
    if raw is None:
        return None
    if kind == "s":
        return strings.get(int(raw)) if raw.strip().isdigit() else None
    if kind in ("inlineStr", "str", "e"):
        return raw
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            return raw
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() and "." not in raw and "E" not in raw.upper() else number


def xlsx_open(path: Path, *, sheet: str | None) -> Source:
    """Check the archive and read the sheet's header, at a bounded cost whatever the file: the
    upload request calls this, so it never parses the workbook (openpyxl would read every row to
    count them when the sheet does not declare its size, and every shared string). The rows are
    counted, their cells limited, and the workbook parsed by the import (xlsx_chunks)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise ImportRefused("metrics.import_zip_not_xlsx")
            unpacked = sum(m.file_size for m in members)
            packed = max(1, sum(m.compress_size for m in members))
            limit = settings.IMPORT_MAX_XLSX_UNPACKED_MB * 1024 * 1024
            if unpacked > limit:
                raise ImportRefused(
                    "metrics.import_xlsx_unpacked_over_limit", size=megabytes(unpacked), limit=megabytes(limit)
                )
            if unpacked / packed > 200:
                raise ImportRefused("metrics.import_xlsx_bomb", size=megabytes(unpacked))
            if "xl/_rels/workbook.xml.rels" not in names:
                raise ImportRefused("metrics.import_xlsx_unreadable", error="workbook.xml.rels")
            sheets = [(title, member) for title, member in _xlsx_sheets(archive) if member in names]
            if not sheets:
                raise ImportRefused("metrics.import_xlsx_unreadable", error="no worksheet")
            if sheet:
                if sheet not in {title for title, _member in sheets}:
                    raise ImportRefused(
                        "metrics.import_no_sheet", sheet=sheet, sheets=", ".join(title for title, _m in sheets)
                    )
                title, member = next((t, m) for t, m in sheets if t == sheet)
            else:
                title, member = sheets[0]
            header_row, cells, (columns, last_row) = _xlsx_head(archive, member)
            strings = _shared_strings(archive, {int(v) for _c, k, v in cells if k == "s" and v and v.isdigit()})
    except zipfile.BadZipFile:
        raise ImportRefused("metrics.import_xlsx_damaged") from None
    texts = [""] * (max((column for column, _k, _v in cells), default=-1) + 1)
    for column, kind, raw in cells:
        texts[column] = _cell_text(_head_value(kind, raw, strings))
    while texts and not texts[-1]:
        texts.pop()
    headers = [t.strip() for t in texts]
    if not header_row or not headers:
        raise ImportRefused("metrics.import_sheet_empty", sheet=title)
    headers_check(headers)
    # What the sheet declares (<dimension>, written by Excel and most exporters): refused here when
    # over a limit. A sheet that does not declare it, or understates it, is counted as it is read.
    rows = max(0, last_row - header_row)
    if rows > settings.IMPORT_MAX_ROWS:
        raise ImportRefused("metrics.import_sheet_rows", rows=rows, limit=settings.IMPORT_MAX_ROWS)
    if last_row * columns > settings.IMPORT_MAX_XLSX_CELLS:
        raise ImportRefused("metrics.import_xlsx_cells", limit=number_param(settings.IMPORT_MAX_XLSX_CELLS))
    return Source(path=path, format="xlsx", headers=headers, sheet=title, rows_estimate=rows, header_line=header_row)


def _cell_text(value) -> str:
    """A cell as the text an export would have had; Excel dates become ISO text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# The sheet's root element, and the namespace prefix its elements carry (none, or "x:" and such).
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")


def _tag_pattern(prefix: bytes, name: bytes) -> re.Pattern:
    """An element's start tag: <c r="A1">, <c>, <c/> (not <col>, <cfRule>); <row r="7"> (not
    <rowBreaks>). Text cannot hold a raw "<", so only tags match (and comments: on the safe
    side). Starting with a literal, the pattern is searched for about as fast as bytes.find."""
    return re.compile(re.escape(b"<" + prefix + name) + rb"[\s/>]")


# A cell takes at least 4 bytes of XML (<c/>): a row in fewer bytes than this cannot be too wide.
_WIDE_ROW_BYTES = 4 * _EXCEL_MAX_COLUMNS


def _xlsx_cells_check(path: Path, *, sheet: str) -> None:
    """Count the sheet's cells in its XML as it is decompressed, before openpyxl parses any of it:
    refused past IMPORT_MAX_XLSX_CELLS, or at a row wider than Excel allows (openpyxl holds a
    row's cells at once). Memory: one block of the XML; time: decompressing it and a search for
    two tags (docs/faults.md, "Bad files"), where openpyxl builds every cell."""
    limit = settings.IMPORT_MAX_XLSX_CELLS
    try:
        with zipfile.ZipFile(path) as archive:
            member = dict(_xlsx_sheets(archive))[sheet]
            cells, open_row, tail = 0, 0, b""  # open_row: cells so far of the row the last block ended in
            cell_tag = row_tag = None
            with archive.open(member) as stream:
                while True:
                    block = stream.read(_XML_BLOCK)
                    buffer = tail + block
                    if cell_tag is None:
                        root = _ROOT_TAG.search(buffer)
                        prefix = (root.group(1) or b"") if root else b""
                        cell_tag, row_tag = _tag_pattern(prefix, b"c"), _tag_pattern(prefix, b"row")
                    # Up to the last "<": a tag cut by the end of the block is counted with the next.
                    cut = buffer.rfind(b"<") if block else len(buffer)
                    piece = buffer[: len(buffer) if cut < 0 else cut]
                    cells += len(cell_tag.findall(piece))
                    first, *rows = row_tag.split(piece)
                    open_row += len(cell_tag.findall(first))
                    widest = open_row
                    if rows:
                        # Only a long row can be too wide: counted, the others not.
                        widest = max(
                            [widest, *(len(cell_tag.findall(r)) for r in rows[:-1] if len(r) > _WIDE_ROW_BYTES)]
                        )
                        open_row = len(cell_tag.findall(rows[-1]))
                        widest = max(widest, open_row)
                    if widest > _EXCEL_MAX_COLUMNS:
                        raise ImportRefused("metrics.import_xlsx_row_too_wide", limit=number_param(_EXCEL_MAX_COLUMNS))
                    if cells > limit:
                        raise ImportRefused("metrics.import_xlsx_cells", limit=number_param(limit))
                    tail = buffer[len(piece) :]
                    if not block:
                        break
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError):
        raise ImportRefused("metrics.import_xlsx_damaged") from None


def xlsx_chunks(source: Source, chunk_rows: int) -> Iterator[Chunk]:
    import openpyxl

    _xlsx_cells_check(source.path, sheet=source.sheet)
    try:
        workbook = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as error:  # a damaged part the header's reading did not meet
        raise ImportRefused("metrics.import_xlsx_unreadable", error=error.__class__.__name__) from None
    try:
        worksheet = workbook[source.sheet]
        width = len(source.headers)
        rows: list[list[str]] = []
        lines: list[int] = []
        count = 0
        # Cells openpyxl produced, every row counted at the headers' width: empty rows too, which
        # it makes up for row numbers a sheet skips (<row r="1000000">), which the check above
        # cannot see.
        produced, limit = 0, settings.IMPORT_MAX_XLSX_CELLS
        for number, row in enumerate(
            worksheet.iter_rows(min_row=source.header_line + 1, max_col=width, values_only=True),
            start=source.header_line + 1,
        ):
            produced += width
            if produced > limit:
                raise ImportRefused("metrics.import_xlsx_cells", limit=number_param(limit))
            cells = [_cell_text(v) for v in row[:width]]
            if not any(cells):
                continue
            count += 1
            if count > settings.IMPORT_MAX_ROWS:
                raise ImportRefused("metrics.import_sheet_too_many", limit=settings.IMPORT_MAX_ROWS)
            cells += [""] * (width - len(cells))
            rows.append(cells)
            lines.append(number)
            if len(rows) >= chunk_rows:
                yield Chunk(frame=pd.DataFrame(rows, columns=source.headers, dtype=str), lines=np.array(lines))
                rows, lines = [], []
        if rows:
            yield Chunk(frame=pd.DataFrame(rows, columns=source.headers, dtype=str), lines=np.array(lines))
    finally:
        workbook.close()
