"""The day rollups of a store, read a calendar month at a time and kept in the cache by the
month's data version, as numpy columns for the KPI selectors.

Every dashboard, KPI table and export reads day rollups for some stores and local days. Reading
them from the database on every request is what made a computed page slow (about 80,000 buyer-day
rows for a 30-day team page: 0.2 s of SQL, transfer and frame building, per request). Here a
store's month (its member-days, inquiry buyer-days, store-days and store buyer-days) is read once,
with COPY on PostgreSQL, and kept in the cache under that month's version (metrics.models.
StoreMonthVersion), which every rollup rebuild bumps for the months it rebuilds, in the same
transaction as its writes: a chunk never outlives its data, an import of a few days makes only
its own months stale, and a range of days is the concatenation of its months' chunks.

Two levels: the shared cache (Redis in production), which every web process and the worker fill
and read, holds chunks compressed; each process also keeps the chunks it used last, decoded, in
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
import pyarrow.csv as pa_csv
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from metrics.models import StoreMonthVersion
from metrics.selectors.grouping import Columns
from metrics.services.rollups import SALES_DAY_MEASURES

# How long a chunk stays in the cache (seconds). A data change makes it unreachable at once (its
# key holds the data version); this only bounds how long an unused one takes space.
CHUNK_SECONDS = 24 * 3600
# Compression of the cached chunks: buyer names and repeated ids compress about four times.
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
    """One rollup table as the chunks hold it: its columns besides store_id and date."""

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


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_last(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the calendar months that overlap start … end."""
    months, month = [], month_first(start)
    while month <= end:
        months.append(month)
        month = month_last(month) + dt.timedelta(days=1)
    return months


def month_versions(store_ids: Iterable[int], months: Sequence[dt.date]) -> dict[tuple[int, dt.date], int]:
    """The versions of the stores' months (metrics.models.StoreMonthVersion); 0 for a month whose
    rollups were never rebuilt by the rollup service."""
    ids = sorted(set(store_ids))
    found = StoreMonthVersion.objects.filter(store_id__in=ids, month__in=list(months))
    versions = {
        (store_id, month): version for store_id, month, version in found.values_list("store_id", "month", "version")
    }
    return {(store_id, month): versions.get((store_id, month), 0) for store_id in ids for month in months}


def _shared_cache_usable() -> bool:
    """Outside any transaction but a test case's own: what is read here is committed."""
    return not any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


# --- reading a chunk from the database --------------------------------------------------------


def _schema(table: RollupTable) -> pa.Schema:
    return pa.schema([("date", pa.date32()), *table.columns])


def _read_postgresql(table: RollupTable, store_id: int, first: dt.date, last: dt.date) -> pa.Table:
    """COPY the rows to CSV and parse them with Arrow: several times faster than fetching tuples."""
    columns = ["date", *table.names]
    sql = (
        f"COPY (SELECT {', '.join(columns)} FROM {table.db_table} WHERE store_id = {int(store_id)} "
        f"AND date BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' ORDER BY date) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, buffer)
    schema = _schema(table)
    if not buffer.getbuffer().nbytes:
        return schema.empty_table()
    buffer.seek(0)
    return pa_csv.read_csv(
        buffer,
        read_options=pa_csv.ReadOptions(column_names=columns),
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
            f"SELECT {', '.join(columns)} FROM {table.db_table} WHERE store_id = %s AND date BETWEEN %s AND %s "
            "ORDER BY date",
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


def _chunk_read(store_id: int, month: dt.date, tables: Sequence[str] = TABLE_NAMES) -> dict[str, pa.Table]:
    """A store's month of the rollup tables (all of them for the cache), buyers dictionary-encoded."""
    read = _read_postgresql if connection.vendor == "postgresql" else _read_other
    first, last = month, month_last(month)
    chunk = {}
    for name in tables:
        frame = read(ROLLUP_TABLES[name], store_id, first, last)
        if "buyer" in frame.column_names:
            position = frame.column_names.index("buyer")
            frame = frame.set_column(position, "buyer", frame.column("buyer").dictionary_encode())
        chunk[name] = frame
    return chunk


def _chunk_bytes(chunk: dict[str, pa.Table]) -> dict[str, bytes]:
    packed = {}
    for name, table in chunk.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as writer:
            writer.write_table(table)
        packed[name] = sink.getvalue().to_pybytes()
    return packed


def _chunk_unpack(packed: dict[str, bytes]) -> dict[str, pa.Table]:
    return {name: pa.ipc.open_stream(data).read_all() for name, data in packed.items()}


# Part of every chunk's key: a change to what a chunk holds (tables, columns, order) changes it.
_CHUNK_FORMAT = 2  # 2: keyed by the month's version (StoreMonthVersion), not the store's


def chunk_key(store_id: int, month: dt.date, version: int) -> str:
    return f"rollups:{_CHUNK_FORMAT}:{store_id}:{month:%Y-%m}:{version}"


@dataclass(frozen=True)
class _Part:
    """One table of a chunk, decoded: columns in the dtypes the selectors use, rows in date order
    (so a range of days is a slice), and the names behind its buyer codes."""

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
    return _Part(Columns(columns, table.num_rows), days, buyers)


class _ChunkMemory:
    """Decoded chunks of this process, least recently used first out once over the budget; and
    the buyer codes unified over sets of chunks (`unified`), which a page asks for again and again."""

    def __init__(self) -> None:
        self._chunks: OrderedDict[str, dict[str, _Part]] = OrderedDict()
        self._bytes = 0
        self._unified: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers share the process

    @staticmethod
    def _size(chunk: dict[str, _Part]) -> int:
        return sum(part.nbytes for part in chunk.values())

    def get(self, key: str) -> dict[str, _Part] | None:
        with self._lock:
            chunk = self._chunks.get(key)
            if chunk is not None:
                self._chunks.move_to_end(key)
            return chunk

    def put(self, key: str, chunk: dict[str, _Part]) -> None:
        budget = settings.ROLLUP_MEMORY_MB * 1024 * 1024
        size = self._size(chunk)
        if size > budget:
            return
        with self._lock:
            if key in self._chunks:
                return
            self._chunks[key] = chunk
            self._bytes += size
            while self._bytes > budget:
                _key, dropped = self._chunks.popitem(last=False)
                self._bytes -= self._size(dropped)

    def unified(self, key: tuple) -> list[np.ndarray] | None:
        with self._lock:
            found = self._unified.get(key)
            if found is not None:
                self._unified.move_to_end(key)
            return found

    def unified_put(self, key: tuple, mappings: list[np.ndarray]) -> None:
        with self._lock:
            self._unified[key] = mappings
            while len(self._unified) > _UNIFIED_KEPT:
                self._unified.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._unified.clear()
            self._bytes = 0


_UNIFIED_KEPT = 256  # sets of chunks whose buyer codes are kept unified (a few hundred KB each)
_memory = _ChunkMemory()


def rollup_memory_clear() -> None:
    """Forget this process's decoded chunks (tests start each from nothing)."""
    _memory.clear()


def _chunks_get(
    store_id: int, months: Sequence[tuple[dt.date, int]], tables: Sequence[str]
) -> list[tuple[str, dict[str, _Part], bool]]:
    """For each (month, version) of the store: the chunk's key, the decoded chunk and whether it
    is kept (`shared`). From this process's memory, else the shared cache, else read from the
    database: every table, kept at both levels, when it may be kept; else only `tables`."""
    usable = _shared_cache_usable()
    wanted = [(chunk_key(store_id, month, version), month, usable and version > 0) for month, version in months]
    chunks: dict[str, dict[str, _Part]] = {}
    for key, _month, shared in wanted:
        chunk = _memory.get(key) if shared else None
        if chunk is not None:
            chunks[key] = chunk
    missing = [key for key, _month, shared in wanted if shared and key not in chunks]
    for key, packed in (cache.get_many(missing) if missing else {}).items():
        chunks[key] = {name: _decode(table, store_id) for name, table in _chunk_unpack(packed).items()}
        _memory.put(key, chunks[key])
    fresh = {}
    for key, month, shared in wanted:
        if key not in chunks:
            tables_read = _chunk_read(store_id, month, TABLE_NAMES if shared else tables)
            chunks[key] = {name: _decode(table, store_id) for name, table in tables_read.items()}
            if shared:
                fresh[key] = _chunk_bytes(tables_read)
                _memory.put(key, chunks[key])
    if fresh:
        cache.set_many(fresh, CHUNK_SECONDS)
    return [(key, chunks[key], shared) for key, _month, shared in wanted]


def _unify(parts: list[_Part], key: tuple | None) -> list[np.ndarray]:
    """For each part, the map from its buyer codes to codes shared by all the parts (one name,
    one code). Kept per set of chunks when `key` is given."""
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


def rollup_frames_get(
    *, store_ids: Iterable[int], start: dt.date, end: dt.date, tables: Sequence[str] = TABLE_NAMES
) -> dict[str, Columns]:
    """Each of `tables` (names of ROLLUP_TABLES) for the stores and local days start … end, as
    Columns: store_id, date (datetime64[s]), then the table's columns; `buyer` is an integer code,
    the same for the same buyer name in every row of a table (not across tables). The arrays may
    be the cache's own: read them, never write into them."""
    store_ids = sorted(set(store_ids))
    months = months_between(start, end)
    versions = month_versions(store_ids, months)
    first, last = (start - dt.date(1970, 1, 1)).days, (end - dt.date(1970, 1, 1)).days
    parts: dict[str, list[tuple[str, _Part, int, int]]] = {name: [] for name in tables}
    all_shared = True
    for store_id in store_ids:
        for key, chunk, shared in _chunks_get(
            store_id, [(month, versions[store_id, month]) for month in months], tables
        ):
            all_shared = all_shared and shared
            for name in tables:
                part = chunk[name]
                low, high = np.searchsorted(part.days, [first, last + 1])
                if high > low:
                    parts[name].append((key, part, int(low), int(high)))
    result = {}
    for name in tables:
        if not parts[name]:
            result[name] = _empty_columns(name)
            continue
        names = parts[name][0][1].columns.names
        pieces = [{column: part.columns[column][low:high] for column in names} for _key, part, low, high in parts[name]]
        if "buyer" in names:
            key = (name, *(key for key, _part, _low, _high in parts[name])) if all_shared else None
            mappings = _unify([part for _key, part, _low, _high in parts[name]], key)
            for piece, mapping in zip(pieces, mappings, strict=True):
                piece["buyer"] = mapping[piece["buyer"]]
        if len(pieces) == 1:
            result[name] = Columns(pieces[0])
        else:
            result[name] = Columns({column: np.concatenate([piece[column] for piece in pieces]) for column in names})
    return result
