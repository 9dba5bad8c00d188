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
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from metrics.messages import Param, megabytes, message, message_render


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
            from metrics.importing.xlsx import xlsx_chunks

            yield from xlsx_chunks(self, chunk_rows)
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
        from metrics.importing.xlsx import xlsx_open

        return xlsx_open(path, sheet=sheet)
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
    headers_check(headers)
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


def headers_check(headers: list[str]) -> None:
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
