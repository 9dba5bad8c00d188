"""Group-by with numpy for the KPI selectors: sums and distinct buyer counts per group.

A dashboard computes a dozen small tables from the same rollup rows (tens of thousands of
buyer-days). pandas' groupby costs milliseconds of overhead per call whatever the size; sorting
integer keys once and cutting the sorted array at each change of key does the same work in a
fraction of it. Everything here is exact: integer sums stay integers, distinct counts are counts
of distinct integer codes.

Days are whole days since 1970-01-01 (int64), as `day_numbers` gives them. Rows travel as
`Columns` (named numpy arrays of equal length): selecting rows of a pandas frame costs a
millisecond or more each time, of numpy arrays a few microseconds.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

_EPOCH = dt.date(1970, 1, 1)
# Wider than any span of days the product holds (2,870 years): codes of (something, day offset)
# are something × DAY_SPAN + offset.
DAY_SPAN = 1 << 20


class Columns:
    """Rows as named numpy arrays of one length, read-only by convention (slices share memory
    with the process's cached rollups: never write into them)."""

    __slots__ = ("_data", "_length")

    def __init__(self, data: dict[str, np.ndarray], length: int | None = None) -> None:
        self._data = data
        self._length = len(next(iter(data.values()))) if length is None and data else (length or 0)

    @classmethod
    def of(cls, rows: Columns | pd.DataFrame) -> Columns:
        """Columns as they are, or a pandas frame's columns."""
        if isinstance(rows, Columns):
            return rows
        return cls({str(name): rows[name].to_numpy() for name in rows.columns}, len(rows))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return self._length

    @property
    def empty(self) -> bool:
        return self._length == 0

    @property
    def names(self) -> list[str]:
        return list(self._data)

    def where(self, mask: np.ndarray) -> Columns:
        """The rows where `mask` is true (all of them: the same object)."""
        if mask.all():
            return self
        return Columns({name: column[mask] for name, column in self._data.items()}, int(mask.sum()))

    def matrix(self, names: list[str], dtype=np.int64) -> np.ndarray:
        """The columns side by side (rows × len(names))."""
        if not names:
            return np.empty((self._length, 0), dtype=dtype)
        return np.column_stack([self._data[name].astype(dtype, copy=False) for name in names])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._data)


def day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


def day_numbers(column: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps (or datetime64 values) as whole days since 1970-01-01."""
    return np.asarray(column).astype("datetime64[D]").astype(np.int64)


def days_as_dates(days: np.ndarray) -> list[dt.date]:
    return [_EPOCH + dt.timedelta(days=int(day)) for day in days]


def period_start_days(days: np.ndarray, *, grain: str, start: dt.date) -> np.ndarray:
    """The first day of each day's period (as day numbers): the day, its ISO week's Monday, its
    calendar month's or quarter's first day, or `start` for the whole range."""
    if grain == "day":
        return days
    if grain == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    if grain in ("month", "quarter"):
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        if grain == "quarter":
            months = months - months % 3
        return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    if grain == "range":
        return np.full(len(days), day_number(start), dtype=np.int64)
    raise ValueError(f"unknown grain {grain!r}")


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for integers, by sorting (numpy's own is several times slower on large arrays)."""
    if not len(values):
        return values
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


class KeyCodes:
    """One int64 code per row for a tuple of integer key columns, ordered as the tuples are
    (so sorting codes sorts rows by key), shared by every frame encoded with the same instance.

    Built from every frame's key columns first (`values`), so the codes of a key are the same in
    all of them."""

    def __init__(self, *columns_of_frames: list[np.ndarray]) -> None:
        # columns_of_frames: for each key column, the arrays of that column in every frame.
        self.values = [sorted_unique(np.concatenate([np.asarray(a, dtype=np.int64) for a in arrays]))
                       for arrays in columns_of_frames]  # fmt: skip
        self.sizes = [max(len(v), 1) for v in self.values]

    def encode(self, *columns: np.ndarray) -> np.ndarray:
        """Codes of keys that were among the values given when built (others have none)."""
        code = np.zeros(len(columns[0]), dtype=np.int64)
        for values, size, column in zip(self.values, self.sizes, columns, strict=True):
            column = np.asarray(column, dtype=np.int64)
            position = np.searchsorted(values, column)
            if len(column) and (position.max() >= len(values) or not np.array_equal(values[position], column)):
                raise ValueError("a key that was not among the values the codes were built from")
            code = code * size + position
        return code

    def decode(self, codes: np.ndarray) -> list[np.ndarray]:
        columns = []
        for values, size in zip(reversed(self.values), reversed(self.sizes), strict=True):
            columns.append(values[codes % size] if len(values) else np.zeros(len(codes), dtype=np.int64))
            codes = codes // size
        return columns[::-1]


def group_sums(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes, sorted; the column sums of `values` (rows × columns) per code)."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = _run_starts(ordered)
    sums = np.add.reduceat(values[order], starts, axis=0) if len(starts) else values[:0]
    return ordered[starts], sums


def distinct_count(codes: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes, sorted; how many distinct `items` (non-negative ints) each has)."""
    if not len(codes):
        return codes, codes
    pairs = sorted_unique(codes * (int(items.max()) + 1) + items) // (int(items.max()) + 1)
    starts = _run_starts(pairs)
    return pairs[starts], np.diff(np.append(starts, len(pairs)))


def distinct_flagged(
    codes: np.ndarray, items: np.ndarray, flags: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per code: how many distinct items, and how many of them have each flag set on any row.
    (Distinct inquiring buyers, and of them those who ordered, those who paid.)"""
    if not len(codes):
        return codes, codes, [codes for _flag in flags]
    width = int(items.max()) + 1
    bits = np.zeros(len(codes), dtype=np.int64)
    for position, flag in enumerate(flags):
        bits |= np.asarray(flag, dtype=np.int64) << position
    shift = len(flags)
    ordered = np.sort(((codes * width + items) << shift) | bits)
    pairs = ordered >> shift
    pair_starts = _run_starts(pairs)
    pair_bits = np.bitwise_or.reduceat(ordered & ((1 << shift) - 1), pair_starts) if shift else None
    pair_codes = pairs[pair_starts] // width
    starts = _run_starts(pair_codes)
    counts = np.diff(np.append(starts, len(pair_codes)))
    flagged = [np.add.reduceat((pair_bits >> position) & 1, starts) for position in range(shift)]
    return pair_codes[starts], counts, flagged


def group_min(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys, sorted; the smallest value of each)."""
    if not len(keys):
        return keys, values
    order = np.lexsort((values, keys))
    starts = _run_starts(keys[order])
    return keys[order][starts], values[order][starts]


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Positions where a new value starts in a sorted array."""
    if not len(ordered):
        return np.empty(0, dtype=np.int64)
    change = np.empty(len(ordered), dtype=bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    return np.flatnonzero(change)


def lookup(keys: np.ndarray, found: np.ndarray, values: np.ndarray, default=0) -> np.ndarray:
    """For each of `keys`, the value of the same key in `found` (sorted), else `default`."""
    result = np.full(len(keys), default, dtype=values.dtype if len(values) else np.int64)
    if not len(found) or not len(keys):
        return result
    position = np.clip(np.searchsorted(found, keys), 0, len(found) - 1)
    hit = found[position] == keys
    result[hit] = values[position[hit]]
    return result
