"""The staging table and the set-based merge into the fact tables.

Checked rows go into a temporary staging table (COPY on PostgreSQL, executemany on SQLite).
When the whole file has been read, one statement per kind merges it:

    INSERT INTO fact SELECT … FROM (staging, last line per key)
    ON CONFLICT (store, key) DO UPDATE SET <columns the file has> WHERE <any of them changed>

so a re-import of the same file changes nothing, a later export updates what changed, and
columns a file does not have are left as they were. A lock per (kind, store), taken inside the
merge transaction, makes two imports into the same store merge one after the other.
"""

# SQL here is assembled from identifiers this module owns (model table names, the column lists
# above, an integer batch id); every value travels as a query parameter or through COPY.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db import connection, transaction

from metrics.importing.normalize import STAGING_COLUMNS
from metrics.importing.readers import csv_bytes_of
from metrics.models import ChatSession, ImportKind, Order, TrafficDay

# Staging column types: (PostgreSQL, SQLite).
_TYPES = {
    "line": ("integer", "INTEGER"),
    "store_id": ("bigint", "INTEGER"),
    "payable_cents": ("bigint", "INTEGER"),
    "paid_cents": ("bigint", "INTEGER"),
    "refund_cents": ("bigint", "INTEGER"),
    "created_at": ("bigint", "INTEGER"),  # UTC epoch seconds
    "paid_at": ("bigint", "INTEGER"),
    "started_at": ("bigint", "INTEGER"),
    "first_response_at": ("bigint", "INTEGER"),
    "ended_at": ("bigint", "INTEGER"),
    "item_count": ("bigint", "INTEGER"),
    "buyer_messages": ("bigint", "INTEGER"),
    "agent_messages": ("bigint", "INTEGER"),
    "uv": ("bigint", "INTEGER"),
    "pv": ("bigint", "INTEGER"),
    "cart_adds": ("bigint", "INTEGER"),
    "date": ("date", "TEXT"),
    "created_date": ("date", "TEXT"),
    "started_date": ("date", "TEXT"),
    "started_hour": ("smallint", "INTEGER"),
}
_EPOCH_COLUMNS = {"created_at", "paid_at", "started_at", "first_response_at", "ended_at"}

_MODELS = {ImportKind.ORDERS: Order, ImportKind.CHATS: ChatSession, ImportKind.TRAFFIC: TrafficDay}
_KEYS = {
    ImportKind.ORDERS: ("order_id",),
    ImportKind.CHATS: ("session_id",),
    ImportKind.TRAFFIC: ("date", "channel"),
}
# Fact columns each import field writes (when the field is not listed, it writes its own name).
_FIELD_COLUMNS = {
    "status": ("status", "status_raw"),
    "created_at": ("created_at", "created_date"),
    "started_at": ("started_at", "started_date", "started_hour"),
    "account": ("account_id",),
    "payable_amount": ("payable_cents",),
    "paid_amount": ("paid_cents",),
    "refund_amount": ("refund_cents",),
}
ANALYZE_AFTER_ROWS = 10_000
_LOCK_NAMESPACE = {ImportKind.ORDERS: 7301, ImportKind.CHATS: 7302, ImportKind.TRAFFIC: 7303}


@dataclass
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int
    store_ids: tuple[int, ...] = ()  # the stores the staged rows belong to


class Staging:
    """A temporary table holding one import's checked rows, on the current connection."""

    def __init__(self, *, kind: str, batch_id: int) -> None:
        self.kind = kind
        self.table = f"import_stage_{int(batch_id)}"
        self.columns = ("line", "store_id", *STAGING_COLUMNS[kind])
        self.postgres = connection.vendor == "postgresql"
        self.rows = 0

    def __enter__(self) -> Staging:
        column_sql = ", ".join(
            f"{c} {_TYPES.get(c, ('text', 'TEXT'))[0 if self.postgres else 1]}" for c in self.columns
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({column_sql})")
        return self

    def __exit__(self, *exc) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def load(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        rows = rows[list(self.columns)]
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.copy_expert(
                    f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN WITH (FORMAT csv)",
                    csv_bytes_of(rows),
                )
            else:
                placeholders = ", ".join(["%s"] * len(self.columns))
                values = rows.astype(object).where(rows.notna(), None).itertuples(index=False, name=None)
                cursor.executemany(f"INSERT INTO {self.table} VALUES ({placeholders})", list(values))
        self.rows += len(rows)

    def stores_rename(self, temporary_to_real: dict[int, int]) -> None:
        """Give rows of stores created at merge time their real ids."""
        with connection.cursor() as cursor:
            for temporary, real in temporary_to_real.items():
                cursor.execute(f"UPDATE {self.table} SET store_id = %s WHERE store_id = %s", [real, temporary])

    def store_ids(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT store_id FROM {self.table} ORDER BY store_id")
            return [row[0] for row in cursor.fetchall()]

    def merge(self, *, batch_id: int, present_fields: set[str], now: dt.datetime) -> MergeCounts:
        """Merge staged rows into the fact table. Call inside transaction.atomic()."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("Staging.merge runs inside the caller's transaction")
        stores = self.store_ids()
        if not stores:
            return MergeCounts(0, 0, 0)
        with connection.cursor() as cursor:
            self._lock(cursor, stores)
            if self.kind == ImportKind.CHATS:
                self._accounts_create(cursor, now)
            statement, params = self._merge_sql(batch_id=batch_id, present_fields=present_fields)
            if self.postgres:
                cursor.execute(statement, params)
                inserted, updated = cursor.fetchone()
            else:
                table = _MODELS[self.kind]._meta.db_table
                count_sql = f"SELECT count(*) FROM {table} WHERE store_id IN ({', '.join(['%s'] * len(stores))})"
                cursor.execute(count_sql, stores)
                before = cursor.fetchone()[0]
                cursor.execute(statement, params)
                changed = cursor.rowcount
                cursor.execute(count_sql, stores)
                inserted = cursor.fetchone()[0] - before
                updated = changed - inserted
        return MergeCounts(
            inserted=inserted, updated=updated, unchanged=self.rows - inserted - updated, store_ids=tuple(stores)
        )

    def statistics_refresh(self, counts: MergeCounts) -> None:
        """After a large merge, refresh PostgreSQL's statistics of the fact table now: queries
        that follow at once (the KPI recompute) would otherwise be planned for the table as it
        was, and a plan for thousands of rows run on a million takes minutes, not seconds."""
        if self.postgres and counts.inserted + counts.updated >= ANALYZE_AFTER_ROWS:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {_MODELS[self.kind]._meta.db_table}")

    def _lock(self, cursor, stores: list[int]) -> None:
        if self.postgres:
            # Always in ascending store order, so two imports spanning several stores cannot deadlock.
            for store_id in stores:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE[self.kind], store_id])
        # SQLite: the transaction began IMMEDIATE (settings), which already holds the write lock.

    def _accounts_create(self, cursor, now: dt.datetime) -> None:
        """Accounts seen for the first time are created unassigned: no chat is ever dropped."""
        cursor.execute(
            f"INSERT INTO teams_platformaccount (store_id, name, first_seen_at) "
            f"SELECT DISTINCT store_id, account, %s FROM {self.table} WHERE true "
            f"ON CONFLICT (store_id, name) DO NOTHING",
            [connection.ops.adapt_datetimefield_value(now)],
        )

    def _merge_sql(self, *, batch_id: int, present_fields: set[str]) -> tuple[str, list]:
        model = _MODELS[self.kind]
        keys = _KEYS[self.kind]
        partition = ", ".join(("store_id", *keys))
        # A key repeated within the file: its last line wins (and the row is merged once).
        if self.postgres:
            latest = f"(SELECT DISTINCT ON ({partition}) * FROM {self.table} ORDER BY {partition}, line DESC) s"
        else:
            latest = (
                f"(SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY {partition} "
                f"ORDER BY line DESC) AS rn FROM {self.table} s) ranked WHERE rn = 1) s"
            )
        source = latest
        expressions: dict[str, str] = {"store_id": "s.store_id", "batch_id": "%s"}
        for column in STAGING_COLUMNS[self.kind]:
            if column == "account":
                source += " JOIN teams_platformaccount a ON a.store_id = s.store_id AND a.name = s.account"
                expressions["account_id"] = "a.id"
            elif column in _EPOCH_COLUMNS:
                expressions[column] = (
                    f"to_timestamp(s.{column})" if self.postgres else f"datetime(s.{column}, 'unixepoch')"
                )
            elif column == "title":
                expressions[column] = "COALESCE(s.title, '')"
            else:
                expressions[column] = f"s.{column}"
        columns = list(expressions)
        updatable = [
            column
            for name in present_fields
            for column in _FIELD_COLUMNS.get(name, (name,))
            if column in expressions and column not in keys and column != "store_id"
        ]
        conflict = ", ".join(("store_id", *keys))
        insert = (
            f"INSERT INTO {model._meta.db_table} AS t ({', '.join(columns)}) "
            f"SELECT {', '.join(expressions[c] for c in columns)} FROM {source} WHERE true "
            f"ON CONFLICT ({conflict}) DO "
        )
        if updatable:
            insert += (
                "UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in [*updatable, "batch_id"])
                + " WHERE "
                + " OR ".join(f"t.{c} IS DISTINCT FROM excluded.{c}" for c in updatable)
            )
        else:
            insert += "NOTHING"
        if self.postgres:
            statement = (
                f"WITH merged AS ({insert} RETURNING (xmax = 0) AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"
            )
        else:
            statement = insert
        return statement, [batch_id]
