"""Moving pandas frames in and out of the database, the same way on PostgreSQL and SQLite."""

# SQL here names tables and columns this package owns; values travel as parameters or COPY.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Sequence

import pandas as pd
from django.db import connection

from perfmgmt.common.periods import months_between


def frame_query(sql: str, params: Sequence = (), columns: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of a query as a DataFrame with the given column names."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        names = list(columns) or [c[0] for c in cursor.description]
    return pd.DataFrame.from_records(rows, columns=names)


def sql_in(column: str, values) -> tuple[str, list]:
    """(" AND column IN (%s, …)", values); an empty list matches nothing."""
    values = list(values)
    if not values:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * len(values))})", values


def sql_filters(**columns) -> tuple[str, list]:
    """ " AND column IN (…)" for every column given a list of values; a column given None is not
    filtered, one given an empty list matches nothing."""
    where, params = "", []
    for column, values in columns.items():
        if values is not None:
            more, more_params = sql_in(column, values)
            where, params = where + more, params + more_params
    return where, params


def frame_insert(table: str, frame: pd.DataFrame) -> int:
    """Insert every row of `frame` (its columns named as the table's): COPY on PostgreSQL."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", csv_bytes_of(frame))
        else:
            values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                list(values),
            )
    return len(frame)


def store_lock(namespace: int, store_id: int) -> None:
    """Hold a lock on (namespace, store) until the current transaction ends.

    PostgreSQL: an advisory transaction lock, so a second job on the same store waits. SQLite:
    nothing to do, the transaction already holds the database's single write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, store_id])


def store_data_version_bump(store_id: int) -> None:
    """Count one more change of the store's rollups (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metrics_storedataversion (store_id, version, updated_at) VALUES (%s, 1, CURRENT_TIMESTAMP) "
            "ON CONFLICT (store_id) DO UPDATE SET version = metrics_storedataversion.version + 1, "
            "updated_at = CURRENT_TIMESTAMP",
            [store_id],
        )


def new_version() -> int:
    """A version number for a rebuilt month: random, not a counter, so that a number is never used
    twice for different rows (a database restored from a backup, or a rolled-back rebuild, would
    bring a counter back to numbers the cache already holds rows of)."""
    return secrets.randbelow(2**62) + 1


def store_months_bump(store_id: int, start: dt.date, end: dt.date) -> None:
    """Give each calendar month of the store overlapping start … end a new version (inside the
    caller's transaction): the cached rollups of those months only become unreachable."""
    months = months_between(start, end)
    if not months:
        return
    values = ", ".join(["(%s, %s, %s)"] * len(months))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO metrics_storemonthversion (store_id, month, version) VALUES {values} "
            "ON CONFLICT (store_id, month) DO UPDATE SET version = excluded.version",
            [value for month in months for value in (store_id, month, new_version())],
        )


def store_all_months_bump(store_ids) -> None:
    """A new version for every month of the stores (their rollups changed outside a rebuild: a
    team or member deleted nulls or removes rows of every month), and the stores' data versions."""
    from metrics.models import StoreMonthVersion

    store_ids = sorted(set(store_ids))
    months = list(StoreMonthVersion.objects.filter(store_id__in=store_ids).only("pk"))
    for month in months:
        month.version = new_version()
    StoreMonthVersion.objects.bulk_update(months, ["version"], batch_size=500)  # one UPDATE per 500
    for store_id in store_ids:
        store_data_version_bump(store_id)


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
