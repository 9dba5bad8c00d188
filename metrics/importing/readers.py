"""Read any real-world export as a stream of string chunks, without loading the file.

CSV: UTF-8 (with or without BOM), GB18030/GBK (what Chinese Excel writes) or UTF-16 (Excel's
"Unicode text"), comma, tab or semicolon separated. XLSX: the first sheet or a named one; its
header read from the sheet's XML at a bounded cost (what an upload request does), its rows in
openpyxl's streaming mode after checks against zip bombs and a count of its cells. Everything
else is refused with a message a person can act on.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import posixpath
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from metrics.messages import Param, megabytes, message, message_render
from metrics.messages import number as number_param


class ImportRefused(Exception):
    """The file as a whole cannot be imported; nothing was written. Why: `message`, a message
    (metrics/messages.py) that the batch keeps and each reader sees in their language; str()
    renders it in the active language."""

    def __init__(self, key: str, /, **params: Param) -> None:
        self.message = message(key, **params)
        super().__init__(key)

    def __str__(self) -> str:
        return message_render(message=self.message)


@dataclass
class Chunk:
    """Rows of the file as strings (columns = the file's headers) and the line of each row."""

    frame: pd.DataFrame
    lines: np.ndarray  # 1-based physical line (CSV) or sheet row (XLSX) of each row
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # rows that could not be split into cells


@dataclass
class Source:
    path: Path
    format: str  # "csv" or "xlsx"
    headers: list[str]
    encoding: str = ""  # as shown to users: "UTF-8", "UTF-8 (BOM)", "GB18030", "UTF-16"
    sheet: str = ""
    delimiter: str = ","
    rows_estimate: int = 0  # data rows, for the progress bar
    _codec: str = ""
    header_line: int = 1

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        if self.format == "xlsx":
            yield from _xlsx_chunks(self, chunk_rows)
        else:
            yield from _csv_chunks(self, chunk_rows)


_BLOCK = 8 * 1024 * 1024


def file_size_check(*, size: int) -> None:
    """Refuse a file over IMPORT_MAX_FILE_MB (size in bytes), before it is kept or read."""
    limit = settings.IMPORT_MAX_FILE_MB * 1024 * 1024
    if size > limit:
        raise ImportRefused("metrics.import_file_over_limit", size=megabytes(size), limit=megabytes(limit))


def source_open(path: Path, *, sheet: str | None = None, encoding: str = "") -> Source:
    """Open and sniff `path`; raise ImportRefused with the reason when it cannot be imported.

    `encoding`: the label found when the file was first inspected, to skip decoding it again."""
    size = path.stat().st_size
    file_size_check(size=size)
    if size == 0:
        raise ImportRefused("metrics.import_empty")
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_open(path, sheet=sheet)
    if head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!")):
        raise ImportRefused("metrics.import_not_table")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in head:
        raise ImportRefused("metrics.import_not_text")
    return _csv_open(path, encoding=encoding)


_CODECS = {"UTF-8 (BOM)": "utf-8-sig", "UTF-16": "utf-16", "UTF-8": "utf-8", "GB18030": "gb18030"}


def _detect_encoding(path: Path, known: str = "") -> tuple[str, str, int]:
    """(codec, label, number of line breaks): the whole file is decoded once, in blocks."""
    if known in _CODECS and known != "UTF-16":
        newlines = 0
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                newlines += block.count(b"\n")
        return _CODECS[known], known, newlines
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith(codecs.BOM_UTF8):
        # The BOM says which encoding, not that every byte after it is valid: decoded like any
        # other file, so a bad byte or a NUL gets the same refusal as without a BOM (issue 20).
        candidates = [("utf-8-sig", "UTF-8 (BOM)")]
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "UTF-16")]
    else:
        candidates = [("utf-8", "UTF-8"), ("gb18030", "GB18030")]
    for codec, label in candidates:
        decoder = codecs.getincrementaldecoder(codec)()
        newlines = 0
        try:
            with path.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    text = decoder.decode(block)
                    if "\x00" in text:
                        raise ImportRefused("metrics.import_not_text")
                    newlines += text.count("\n")
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return codec, label, newlines
    raise ImportRefused("metrics.import_encoding")


def _csv_open(path: Path, *, encoding: str = "") -> Source:
    codec, label, newlines = _detect_encoding(path, encoding)
    try:
        with path.open("r", encoding=codec, newline="") as handle:
            sample = handle.read(64 * 1024)  # characters
    except UnicodeDecodeError:  # only when `encoding` was given and the file is not that
        raise ImportRefused("metrics.import_encoding") from None
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise ImportRefused("metrics.import_no_header")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    # The header is the first non-blank line; some exports put a title line above it, which the
    # column check then reports as missing columns.
    header_line = next(i for i, line in enumerate(sample.splitlines(), start=1) if line.strip())
    headers = [h.strip() for h in next(csv.reader([lines[0]], delimiter=delimiter))]
    if len(headers) < 2:
        raise ImportRefused("metrics.import_one_column")
    _check_headers(headers)
    return Source(
        path=path,
        format="csv",
        headers=headers,
        encoding=label,
        delimiter=delimiter,
        rows_estimate=max(0, newlines - header_line),
        _codec=codec,
        header_line=header_line,
    )


def _check_headers(headers: list[str]) -> None:
    if any(not h for h in headers):
        position = next(i for i, h in enumerate(headers, start=1) if not h)
        raise ImportRefused("metrics.import_column_no_header", position=position)
    duplicates = sorted({h for h in headers if headers.count(h) > 1})
    if duplicates:
        raise ImportRefused("metrics.import_headers_twice", headers=", ".join(duplicates))


_BAD_LINE = re.compile(r"Skipping line (\d+): (.+)")


def _csv_chunks(source: Source, chunk_rows: int) -> Iterator[Chunk]:
    # Row i of the data (0-based, as pandas counts) is on line header_line + 1 + i, plus one for
    # every line pandas skipped before it as malformed (it names those in warnings).
    skipped: list[int] = []
    try:
        # Inside the try: pandas reads its first buffer (hundreds of KB) when the reader is made.
        reader = pd.read_csv(
            source.path,
            encoding=source._codec,
            sep=source.delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skiprows=source.header_line - 1,
            header=0,
            names=source.headers,
            chunksize=chunk_rows,
            on_bad_lines="warn",
            skip_blank_lines=False,
            engine="c",
        )
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                try:
                    frame = next(reader)
                except StopIteration:
                    break
            bad = []
            for warning in caught:
                for match in _BAD_LINE.finditer(str(warning.message)):
                    # pandas counts lines from the first one it read (the header) as line 1.
                    bad.append((int(match.group(1)) + source.header_line - 1, match.group(2).strip()))
            skipped.extend(line for line, _reason in bad)
            index = frame.index.to_numpy()
            lines = _data_lines(index, np.array(sorted(skipped)), first_data_line=source.header_line + 1)
            frame = frame.fillna("")
            # Blank lines read as rows of empty cells: drop them, they are not data.
            blank = (frame == "").all(axis=1).to_numpy()
            if blank.any():
                frame, lines = frame.loc[~blank].reset_index(drop=True), lines[~blank]
            else:
                frame = frame.reset_index(drop=True)
            yield Chunk(frame=frame, lines=lines, bad_lines=bad)
    except UnicodeDecodeError as error:  # detection read the whole file, so this is not expected
        raise ImportRefused("metrics.import_encoding_changes", error=str(error)) from None
    except pd.errors.ParserError as error:
        raise ImportRefused("metrics.import_unreadable", error=str(error)) from None


def _data_lines(index: np.ndarray, skipped_lines: np.ndarray, *, first_data_line: int) -> np.ndarray:
    """Physical line of each data row, given the (sorted) lines pandas skipped as malformed."""
    if skipped_lines.size == 0:
        return index + first_data_line
    # The j-th skipped line (0-based) would have been row skipped_lines[j] - first_data_line - j.
    shifts = skipped_lines - first_data_line - np.arange(skipped_lines.size)
    return index + first_data_line + np.searchsorted(shifts, index, side="right")


# --- XLSX ---------------------------------------------------------------------------------


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


def _xlsx_open(path: Path, *, sheet: str | None) -> Source:
    """Check the archive and read the sheet's header, at a bounded cost whatever the file: the
    upload request calls this, so it never parses the workbook (openpyxl would read every row to
    count them when the sheet does not declare its size, and every shared string). The rows are
    counted, their cells limited, and the workbook parsed by the import (_xlsx_chunks)."""
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
    _check_headers(headers)
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


def _xlsx_chunks(source: Source, chunk_rows: int) -> Iterator[Chunk]:
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


def csv_bytes_of(frame: pd.DataFrame) -> io.BytesIO:
    """A frame as CSV without header, for COPY … FROM STDIN: a null is an unquoted empty cell,
    an empty string a quoted one. Arrow's writer, many times faster than DataFrame.to_csv."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pa_csv.write_csv(table, buffer, write_options=pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    buffer.seek(0)
    return buffer
