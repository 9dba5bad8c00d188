"""The day rollups of a store, read a calendar month of a table at a time and kept in the cache
by the month's version, as numpy columns for the KPI selectors.

Every dashboard, KPI table and export reads day rollups for some stores and local days. Reading
them from the database on every request is what made a computed page slow (about 80,000 buyer-day
rows for a 30-day team page: 0.2 s of SQL, transfer and frame building, per request). Here a
store's month of a table (member-days, inquiry buyer-days, store-days or store buyer-days: a
"piece") is read once, with COPY on PostgreSQL, and kept in the cache under that month's version
(metrics.models.StoreMonthVersion), which every rollup rebuild bumps for the months it rebuilds,
in the same transaction as its writes: a piece never outlives its data, an import of a few days
makes only its own months stale, and a range of days is the concatenation of its months' pieces.

Two levels: the shared cache (Redis in production), which every web process and the worker fill
and read, holds pieces compressed; each process also keeps the pieces it used last, decoded, in
memory (ROLLUP_MEMORY_MB, least recently used first out), so a page of a month seen before costs
no transfer at all.

Not cached (read fresh from the database instead):
- a month with no version: its rollups were never written through the rollup service (rows made
  by hand, e.g. in tests), so nothing would tell when they change;
- inside a transaction that may not commit (any atomic block but a test case's): its own
  uncommitted rows and version must never reach the shared cache.

Buyers are dictionary-encoded per table and month; `rollup_frames_get` unifies the dictionaries of
the months it returns, so a buyer has one integer code across them (distinct counts need only the
codes, and integers are much faster to count than text).
"""

# SQL here names tables and columns this package owns; values are typed ints and dates.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import io
import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from metrics.kpis import grouping
from metrics.kpis.grouping import Columns
from metrics.kpis.sql import SALES_DAY_MEASURES
from metrics.models import StoreMonthVersion
from perfmgmt.common.periods import month_last, months_between

# How long a piece stays in the cache (seconds). A data change makes it unreachable at once (its
# key holds the month's version); this only bounds how long an unused one takes space.
PIECE_SECONDS = 24 * 3600
# Compression of the cached pieces: buyer names and repeated ids compress about four times.
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")

MEMBER_SUMS = ("sessions", "unanswered_sessions", "answered_sessions", "response_seconds", "answered_15s",
               "answered_30s", "answered_180s", "paid_orders", "refunded_orders", "items", "gmv_cents",
               "refund_cents",
               *SALES_DAY_MEASURES)  # calls and the sales pipeline (docs/sales-kpis.md)  # fmt: skip
STORE_SUMS = ("uv", "pv", "cart_adds", "orders_placed", "paid_orders", "gmv_cents", "refund_cents", "silent_gmv_cents")

_INT = pa.int64()
_BOOL = pa.bool_()


@dataclass(frozen=True)
class RollupTable:
    """One rollup table as the pieces hold it: its columns besides store_id and date."""

    db_table: str
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _type in self.columns]


ROLLUP_TABLES: dict[str, RollupTable] = {
    "days": RollupTable(
        "metrics_memberday", (("member_id", _INT), ("team_id", _INT), *((name, _INT) for name in MEMBER_SUMS))
    ),
    "buyers": RollupTable(
        "metrics_inquirybuyerday",
        (
            ("hour", _INT),
            ("member_id", _INT),
            ("team_id", _INT),
            ("buyer", pa.string()),
            ("ordered", _BOOL),
            ("paid", _BOOL),
        ),
    ),
    "store_days": RollupTable("metrics_storeday", tuple((name, _INT) for name in STORE_SUMS)),
    "store_buyers": RollupTable(
        "metrics_storebuyerday",
        (("buyer", pa.string()), ("placed_orders", _INT), ("paid_orders", _INT), ("gmv_cents", _INT)),
    ),
}
TABLE_NAMES = tuple(ROLLUP_TABLES)


def month_versions(store_ids: Iterable[int], months: Sequence[dt.date]) -> dict[tuple[int, dt.date], int]:
    """The versions of the stores' months (metrics.models.StoreMonthVersion) among `months`
    (ascending); a month missing here was never rebuilt by the rollup service."""
    ids = sorted(set(store_ids))
    if not months or not ids:
        return {}
    found = StoreMonthVersion.objects.filter(store_id__in=ids, month__range=(months[0], months[-1]))
    return {(store, month): version for store, month, version in found.values_list("store_id", "month", "version")}


def _shared_cache_usable() -> bool:
    """Outside any transaction but a test case's own: what is read here is committed."""
    return not any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


# --- reading a piece from the database ---------------------------------------------------------


def _schema(table: RollupTable) -> pa.Schema:
    return pa.schema([("date", pa.date32()), *table.columns])


def _read_postgresql(table: RollupTable, store_id: int, first: dt.date, last: dt.date) -> pa.Table:
    """COPY the rows to CSV and parse them with Arrow: several times faster than fetching tuples."""
    columns = ["date", *table.names]
    sql = (
        f"COPY (SELECT {', '.join(columns)} FROM {table.db_table} WHERE store_id = {int(store_id)} "
        f"AND date BETWEEN '{first.isoformat()}' AND '{last.isoformat()}') TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, buffer)
    schema = _schema(table)
    if not buffer.getbuffer().nbytes:
        return schema.empty_table()
    buffer.seek(0)
    # Dates come as ISO text: psycopg2 sets the connection's DateStyle to ISO. A buyer name may
    # hold a line break inside its quotes.
    return pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=columns),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict(zip(schema.names, schema.types, strict=True)),
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=False,  # COPY writes "" for an empty text and nothing for NULL
        ),
    ).select(columns)


def _read_other(table: RollupTable, store_id: int, first: dt.date, last: dt.date) -> pa.Table:
    columns = ["date", *table.names]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table.db_table} WHERE store_id = %s AND date BETWEEN %s AND %s",
            [store_id, first, last],
        )
        rows = cursor.fetchall()
    schema = _schema(table)
    values = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    arrays = []
    for field, column in zip(schema, values, strict=True):
        if pa.types.is_date32(field.type):
            column = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in column]
        elif pa.types.is_boolean(field.type):
            column = [None if v is None else bool(v) for v in column]
        arrays.append(pa.array(column, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _rows_read(store_id: int, first: dt.date, last: dt.date, name: str) -> pa.Table:
    """A store's rows of one rollup table over local days first … last, in date order (sorted here:
    cheaper than in SQL), buyers dictionary-encoded with their names in sorted order, so that the
    same rows always give the same codes, whatever order the database returned them in (the
    buyer codes unified over pieces are kept by the pieces' keys)."""
    read = _read_postgresql if connection.vendor == "postgresql" else _read_other
    table = read(ROLLUP_TABLES[name], store_id, first, last).sort_by("date")
    if "buyer" in table.column_names:
        names = table.column("buyer").combine_chunks()
        dictionary = pc.unique(names)
        dictionary = dictionary.take(pc.sort_indices(dictionary))
        codes = pc.index_in(names, value_set=dictionary).cast(pa.int32())
        encoded = pa.DictionaryArray.from_arrays(codes, dictionary)
        table = table.set_column(table.column_names.index("buyer"), "buyer", encoded)
    return table


def _piece_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _piece_unpack(packed: bytes) -> pa.Table:
    return pa.ipc.open_stream(packed).read_all()


# Part of every piece's key: a change to what a piece holds (tables, columns, order) changes it.
_PIECE_FORMAT = 3  # 2: keyed by the month's version (StoreMonthVersion); 3: one table a piece


def piece_key(store_id: int, month: dt.date, version: int, name: str) -> str:
    """The cache key of one table (`name`, of ROLLUP_TABLES) of a store's month at a version."""
    return f"rollups:{_PIECE_FORMAT}:{store_id}:{month:%Y-%m}:{version}:{name}"


# --- decoded pieces in this process -------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A piece decoded: columns in the dtypes the selectors use, rows in date order (so a range of
    days is a slice), and the names behind its buyer codes."""

    columns: Columns
    days: np.ndarray  # the rows' days (days since 1970-01-01), ascending
    buyers: pa.Array | None  # names of the codes in columns["buyer"] (None: no buyer column)

    @property
    def nbytes(self) -> int:
        arrays = sum(self.columns[name].nbytes for name in self.columns.names) + self.days.nbytes
        return arrays + (self.buyers.nbytes if self.buyers is not None else 0)


def _decode(table: pa.Table, store_id: int) -> _Part:
    """Arrow to numpy: dates as datetime64[s], ids and sums as int64 (float64 where a null is
    present, NaN for it, as pandas reads them), buyer as integer codes, booleans as bool."""
    columns: dict[str, np.ndarray] = {"store_id": np.full(table.num_rows, store_id, dtype=np.int64)}
    buyers = None
    days = np.empty(0, dtype=np.int64)
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name == "date":
            dates = column.to_numpy().astype("datetime64[D]")
            days = dates.astype(np.int64)
            columns["date"] = dates.astype("datetime64[s]")
        elif field.name == "buyer":
            encoded = column.combine_chunks()
            if not pa.types.is_dictionary(encoded.type):
                encoded = encoded.dictionary_encode()
            columns["buyer"] = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            buyers = encoded.dictionary
        elif pa.types.is_boolean(field.type):
            columns[field.name] = column.to_numpy().astype(bool)
        elif column.null_count:
            columns[field.name] = column.to_numpy().astype(np.float64)
        else:
            columns[field.name] = column.to_numpy().astype(np.int64)
    for array in (*columns.values(), days):
        array.flags.writeable = False  # shared by every reader of the cached piece: a write would corrupt it
    return _Part(Columns(columns, table.num_rows), days, buyers)


class _PieceMemory:
    """Decoded pieces of this process, least recently used first out once over the budget
    (ROLLUP_MEMORY_MB); and the buyer codes unified over sets of pieces (`unified`, within a
    quarter of that again), which a page asks for again and again."""

    def __init__(self) -> None:
        self._parts: OrderedDict[str, _Part] = OrderedDict()
        self._bytes = 0
        self._unified: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
        self._unified_bytes = 0
        self._lock = threading.Lock()  # gthread workers share the process

    def get(self, key: str) -> _Part | None:
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
            return part

    def put(self, key: str, part: _Part) -> None:
        budget = settings.ROLLUP_MEMORY_MB * 1024 * 1024
        if part.nbytes > budget:
            return
        with self._lock:
            if key in self._parts:
                return
            self._parts[key] = part
            self._bytes += part.nbytes
            while self._bytes > budget:
                _key, dropped = self._parts.popitem(last=False)
                self._bytes -= dropped.nbytes

    def unified(self, key: tuple) -> list[np.ndarray] | None:
        with self._lock:
            found = self._unified.get(key)
            if found is not None:
                self._unified.move_to_end(key)
            return found

    def unified_put(self, key: tuple, mappings: list[np.ndarray]) -> None:
        # A quarter of the budget on top of it: a map is as long as its pieces' buyer names.
        budget = settings.ROLLUP_MEMORY_MB * 1024 * 1024 // 4
        size = sum(mapping.nbytes for mapping in mappings)
        if size > budget:
            return
        with self._lock:
            if key in self._unified:
                return
            self._unified[key] = mappings
            self._unified_bytes += size
            while self._unified_bytes > budget:
                _key, dropped = self._unified.popitem(last=False)
                self._unified_bytes -= sum(mapping.nbytes for mapping in dropped)

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()
            self._unified.clear()
            self._bytes = self._unified_bytes = 0


_memory = _PieceMemory()


def rollup_memory_clear() -> None:
    """Forget this process's decoded pieces (tests start each from nothing)."""
    _memory.clear()


def _pieces_get(
    wanted: list[tuple[int, dt.date, int, str]], *, keep: bool
) -> dict[tuple[int, dt.date, str], tuple[str, _Part]]:
    """For each (store, month, version, table): the piece's key and the decoded piece. From this
    process's memory, else the shared cache (one round trip for all of them), else read from the
    database; kept at both levels when `keep` (committed data: see _shared_cache_usable)."""
    found: dict[tuple[int, dt.date, str], tuple[str, _Part]] = {}
    missing: dict[str, tuple[int, dt.date, str]] = {}
    for store_id, month, version, name in wanted:
        key = piece_key(store_id, month, version, name)
        part = _memory.get(key) if keep else None
        if part is not None:
            found[store_id, month, name] = (key, part)
        elif keep:
            missing[key] = (store_id, month, name)
    for key, packed in (cache.get_many(list(missing)) if missing else {}).items():
        store_id, month, name = missing[key]
        part = _decode(_piece_unpack(packed), store_id)
        _memory.put(key, part)
        found[store_id, month, name] = (key, part)
    fresh = {}
    for store_id, month, version, name in wanted:
        if (store_id, month, name) in found:
            continue
        key = piece_key(store_id, month, version, name)
        table = _rows_read(store_id, month, month_last(month), name)
        part = _decode(table, store_id)
        if keep:
            fresh[key] = _piece_bytes(table)
            _memory.put(key, part)
        found[store_id, month, name] = (key, part)
    if fresh:
        cache.set_many(fresh, PIECE_SECONDS)
    return found


def _unify(parts: list[_Part], key: tuple | None) -> list[np.ndarray]:
    """For each part, the map from its buyer codes to codes shared by all the parts (one name,
    one code). Kept per set of pieces when `key` is given."""
    found = _memory.unified(key) if key is not None else None
    if found is not None:
        return found
    names = pa.chunked_array([part.buyers for part in parts], type=pa.string()).combine_chunks()
    codes = names.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    bounds = np.cumsum([0, *(len(part.buyers) for part in parts)])
    mappings = [codes[low:high] for low, high in itertools.pairwise(bounds)]
    if key is not None:
        _memory.unified_put(key, mappings)
    return mappings


def _empty_columns(name: str) -> Columns:
    return _decode(_schema(ROLLUP_TABLES[name]).empty_table(), 0).columns


def _runs(months: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive months as (first day, last day) runs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for month in months:
        if runs and runs[-1][1] + dt.timedelta(days=1) == month:
            runs[-1] = (runs[-1][0], month_last(month))
        else:
            runs.append((month, month_last(month)))
    return runs


def rollup_frames_get(
    *, store_ids: Iterable[int], start: dt.date, end: dt.date, tables: Sequence[str] = TABLE_NAMES
) -> dict[str, Columns]:
    """Each of `tables` (names of ROLLUP_TABLES) for the stores and local days start … end, as
    Columns: store_id, date (datetime64[s]), then the table's columns; `buyer` is an integer code,
    the same for the same buyer name in every row of a table (not across tables). The arrays are
    the cache's own, read-only.

    Months with a version come from their cached pieces; the months without one (never rebuilt
    by the rollup service: no rows at all, mostly, or rows made by hand) are read fresh, one query
    per store, table and run of such months, so a range of many empty years costs a few queries."""
    store_ids = sorted(set(store_ids))
    months = months_between(start, end)
    versions = month_versions(store_ids, months)
    first, last = grouping.day_number(start), grouping.day_number(end)
    keep = _shared_cache_usable()
    pieces = _pieces_get(
        [(store, month, version, name) for (store, month), version in sorted(versions.items()) for name in tables],
        keep=keep,
    )
    all_kept = keep and len(versions) == len(store_ids) * len(months)  # every part a cached piece
    result = {}
    for name in tables:
        parts = []  # (key or None, part, first row, end row) of the parts with rows in the range
        for store in store_ids:
            unversioned = [month for month in months if (store, month) not in versions]
            fresh = {run_first: _decode(_rows_read(store, run_first, run_last, name), store)
                     for run_first, run_last in _runs(unversioned)}  # fmt: skip
            for month in months:
                if (store, month) in versions:
                    key, part = pieces[store, month, name]
                elif month in fresh:
                    key, part = None, fresh[month]
                else:
                    continue  # inside a run already read
                low, high = np.searchsorted(part.days, [first, last + 1])
                if high > low:
                    parts.append((key, part, int(low), int(high)))
        if not parts:
            result[name] = _empty_columns(name)
            continue
        names = parts[0][1].columns.names
        slices = [{column: part.columns[column][low:high] for column in names} for _key, part, low, high in parts]
        if "buyer" in names:
            key = tuple(key for key, _part, _low, _high in parts) if all_kept else None
            mappings = _unify([part for _key, part, _low, _high in parts], key)
            for rows, mapping in zip(slices, mappings, strict=True):
                rows["buyer"] = mapping[rows["buyer"]]
        if len(slices) == 1:
            result[name] = Columns(slices[0])
        else:
            result[name] = Columns({column: np.concatenate([rows[column] for rows in slices]) for column in names})
    return result
