"""The staging table and the set-based merge into the fact tables.

Checked rows go into a temporary staging table (COPY on PostgreSQL, executemany on SQLite).
When the whole file has been read, one statement per kind merges it:

    INSERT INTO fact SELECT … FROM (staging, last line per key)
    ON CONFLICT (store, key) DO UPDATE SET <columns the file has> WHERE <any of them changed>

so a re-import of the same file changes nothing, a later export updates what changed, and
columns a file does not have are left as they were. A lock per (kind, store), taken inside the
merge transaction, makes two imports into the same store merge one after the other.

Leads differ in two ways (`_lead_merge`): a row updates a lead only when its stage change is not
older than the stored one (exports may arrive out of order), and every staged row also adds its
(lead, stage, time) to the stage history, so exports taken a week apart give the lead's path.
"""

# SQL here is assembled from identifiers this module owns (model table names, the column lists
# above, an integer batch id); every value travels as a query parameter or through COPY.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db import connection, transaction

from metrics.db import csv_bytes_of
from metrics.importing.normalize import STAGING_COLUMNS
from metrics.importing.schema import KEYS
from metrics.models import Call, ChatSession, ImportKind, Lead, LeadStage, LeadStageChange, Order, TrafficDay

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
    "stage_changed_at": ("bigint", "INTEGER"),
    "stage_changed_date": ("date", "TEXT"),
    "expected_close": ("date", "TEXT"),
    "amount_cents": ("bigint", "INTEGER"),
    "guide_price_cents": ("bigint", "INTEGER"),
    "collected_cents": ("bigint", "INTEGER"),
    "new_product": ("smallint", "INTEGER"),  # 1/0
    "connected": ("smallint", "INTEGER"),  # 1/0
    "duration_seconds": ("bigint", "INTEGER"),
}
_EPOCH_COLUMNS = {"created_at", "paid_at", "started_at", "first_response_at", "ended_at", "stage_changed_at"}
_BOOLEAN_COLUMNS = {"new_product", "connected"}

_MODELS = {
    ImportKind.ORDERS: Order,
    ImportKind.CHATS: ChatSession,
    ImportKind.TRAFFIC: TrafficDay,
    ImportKind.LEADS: Lead,
    ImportKind.CALLS: Call,
}
# Kinds whose rows name a platform account, created unassigned when first seen.
_ACCOUNT_KINDS = {ImportKind.CHATS, ImportKind.LEADS, ImportKind.CALLS}
# Fact columns each import field writes (when the field is not listed, it writes its own name).
_FIELD_COLUMNS = {
    "status": ("status", "status_raw"),
    "created_at": ("created_at", "created_date"),
    "started_at": ("started_at", "started_date", "started_hour"),
    "account": ("account_id",),
    "payable_amount": ("payable_cents",),
    "paid_amount": ("paid_cents",),
    "refund_amount": ("refund_cents",),
    "stage": ("stage", "stage_raw"),
    "stage_changed_at": ("stage_changed_at", "stage_changed_date"),
    "amount": ("amount_cents",),
    "guide_price": ("guide_price_cents",),
    "collected": ("collected_cents",),
    "duration": ("duration_seconds",),
}
ANALYZE_AFTER_ROWS = 10_000
_LOCK_NAMESPACE = {
    ImportKind.ORDERS: 7301,
    ImportKind.CHATS: 7302,
    ImportKind.TRAFFIC: 7303,
    ImportKind.LEADS: 7304,
    ImportKind.CALLS: 7305,
}


@dataclass
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int
    store_ids: tuple[int, ...] = ()  # the stores the staged rows belong to
    history: int = 0  # leads: stage-history rows added (beyond the inserted/updated leads)


def _updatable(present_fields: set[str], expressions: dict[str, str], *, fixed: tuple[str, ...]) -> list[str]:
    """The fact columns a re-import may change: those the file's fields write, less the key and
    the columns a merge sets by a rule of its own (`fixed`)."""
    return [
        column
        for name in present_fields
        for column in _FIELD_COLUMNS.get(name, (name,))
        if column in expressions and column not in fixed
    ]


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

    def __exit__(self, exc_type, exc, traceback) -> None:
        if connection.connection is None or (exc_type is not None and not connection.is_usable()):
            # The session is gone (pg_terminate_backend, a restart, the network): its temporary
            # table went with it. A cursor here would open a new session (Django reconnects a
            # connection that fails its health check) and hide that the connection was lost.
            return
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
            if self.kind in _ACCOUNT_KINDS:
                self._accounts_create(cursor, now)
            if self.kind == ImportKind.CALLS:
                # Always written: derived from the talk time when the file has no such column.
                present_fields = {*present_fields, "connected"}
            if self.kind == ImportKind.LEADS:
                statement, params = self._lead_merge_sql(batch_id=batch_id, present_fields=present_fields)
            else:
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
            history, staged = 0, self.rows
            if self.kind == ImportKind.LEADS:
                history = self._lead_history_insert(cursor, batch_id=batch_id)
                # A lead list may show one lead on several lines (its history): count leads.
                cursor.execute(f"SELECT count(*) FROM (SELECT DISTINCT store_id, lead_id FROM {self.table}) k")
                staged = cursor.fetchone()[0]
        return MergeCounts(
            inserted=inserted,
            updated=updated,
            unchanged=staged - inserted - updated,
            store_ids=tuple(stores),
            history=history,
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
        keys = KEYS[self.kind]
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
                expressions[column] = self._timestamp(f"s.{column}")
            elif column in _BOOLEAN_COLUMNS:
                expressions[column] = self._boolean(f"s.{column}")
            elif column == "title":
                expressions[column] = "COALESCE(s.title, '')"
            else:
                expressions[column] = f"s.{column}"
        columns = list(expressions)
        updatable = _updatable(present_fields, expressions, fixed=("store_id", *keys))
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
        return self._counted(insert), [batch_id]

    def _counted(self, insert: str) -> str:
        """PostgreSQL: the upsert returning (inserted, updated); SQLite counts around it."""
        if not self.postgres:
            return insert
        return (
            f"WITH merged AS ({insert} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"
        )

    def _timestamp(self, epoch_sql: str) -> str:
        """An aware timestamp from UTC epoch seconds, as each database stores one."""
        return f"to_timestamp({epoch_sql})" if self.postgres else f"datetime({epoch_sql}, 'unixepoch')"

    def _boolean(self, sql: str) -> str:
        # Staged as 1/0; SQLite's booleans are those integers already.
        return f"({sql} <> 0)" if self.postgres else sql

    def _lead_source(self) -> str:
        """One staged row per lead: its latest stage change (a later line wins a tie), with the
        lead's earliest known time (the export's creation time, else its stage change) beside it."""
        partition = "PARTITION BY store_id, lead_id"
        first = "COALESCE(created_at, stage_changed_at)"
        return (
            f"(SELECT * FROM (SELECT s.*, "
            f"ROW_NUMBER() OVER ({partition} ORDER BY stage_changed_at DESC, line DESC) AS rn, "
            f"MIN({first}) OVER ({partition}) AS first_at, "
            f"FIRST_VALUE(COALESCE(created_date, stage_changed_date)) OVER "
            f"({partition} ORDER BY {first}, line) AS first_date "
            f"FROM {self.table} s) ranked WHERE rn = 1) s"
            " JOIN teams_platformaccount a ON a.store_id = s.store_id AND a.name = s.account"
        )

    def _lead_merge_sql(self, *, batch_id: int, present_fields: set[str]) -> tuple[str, list]:
        """Upsert leads. A row whose stage change is older than the stored one leaves the lead as
        it is (an older export imported late); the creation time only ever moves earlier."""
        expressions: dict[str, str] = {
            "store_id": "s.store_id",
            "batch_id": "%s",
            "lead_id": "s.lead_id",
            "account_id": "a.id",
            "created_at": self._timestamp("s.first_at"),
            "created_date": "s.first_date",
        }
        for column in STAGING_COLUMNS[ImportKind.LEADS]:
            if column in expressions or column in ("account", "created_at", "created_date"):
                continue
            if column in _EPOCH_COLUMNS:
                expressions[column] = self._timestamp(f"s.{column}")
            elif column in _BOOLEAN_COLUMNS:
                expressions[column] = self._boolean(f"s.{column}")
            elif column in ("source", "product", "lost_reason"):
                expressions[column] = f"COALESCE(s.{column}, '')"
            else:
                expressions[column] = f"s.{column}"
        columns = list(expressions)
        # The creation time has its own rule (only ever earlier), below.
        updatable = _updatable(present_fields, expressions, fixed=("store_id", "lead_id", "created_at", "created_date"))
        current = "excluded.stage_changed_at >= t.stage_changed_at"
        earlier = "excluded.created_at < t.created_at"
        changes = [f"{column} = CASE WHEN {current} THEN excluded.{column} ELSE t.{column} END" for column in updatable]
        changes += [
            f"created_at = CASE WHEN {earlier} THEN excluded.created_at ELSE t.created_at END",
            f"created_date = CASE WHEN {earlier} THEN excluded.created_date ELSE t.created_date END",
            "batch_id = excluded.batch_id",
        ]
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM excluded.{c}" for c in updatable) or "false"
        insert = (
            f"INSERT INTO {Lead._meta.db_table} AS t ({', '.join(columns)}) "
            f"SELECT {', '.join(expressions[c] for c in columns)} FROM {self._lead_source()} WHERE true "
            f"ON CONFLICT (store_id, lead_id) DO UPDATE SET {', '.join(changes)} "
            f"WHERE ({current} AND ({differs})) OR {earlier}"
        )
        return self._counted(insert), [batch_id]

    def _lead_history_insert(self, cursor, *, batch_id: int) -> int:
        """Add each staged (lead, stage, time) to the stage history when not yet known, then a
        "lead" entry at the export's creation time for leads the history has never seen as
        leads (first seen further down the pipeline), so cohorts know when they entered.
        Returns the number of history rows added."""
        history = LeadStageChange._meta.db_table
        columns = "store_id, lead_id, stage, changed_at, changed_date, account_id, amount_cents, batch_id"
        staged = (
            f"(SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY store_id, lead_id, stage, "
            f"stage_changed_at ORDER BY line DESC) AS rn FROM {self.table} s) ranked WHERE rn = 1) s"
        )
        joins = (
            f" JOIN {Lead._meta.db_table} l ON l.store_id = s.store_id AND l.lead_id = s.lead_id"
            " JOIN teams_platformaccount a ON a.store_id = s.store_id AND a.name = s.account"
        )
        cursor.execute(
            f"INSERT INTO {history} ({columns}) "
            f"SELECT s.store_id, l.id, s.stage, {self._timestamp('s.stage_changed_at')}, s.stage_changed_date, "
            f"a.id, s.amount_cents, %s FROM {staged}{joins} WHERE true "
            "ON CONFLICT (lead_id, stage, changed_at) DO NOTHING",
            [batch_id],
        )
        added = cursor.rowcount
        created = (
            f"(SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY store_id, lead_id "
            f"ORDER BY created_at, line DESC) AS rn FROM {self.table} s WHERE created_at IS NOT NULL) ranked "
            "WHERE rn = 1) s"
        )
        cursor.execute(
            f"INSERT INTO {history} ({columns}) "
            f"SELECT s.store_id, l.id, %s, {self._timestamp('s.created_at')}, s.created_date, "
            f"a.id, s.amount_cents, %s FROM {created}{joins} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {history} h WHERE h.lead_id = l.id AND h.stage = %s) "
            "ON CONFLICT (lead_id, stage, changed_at) DO NOTHING",
            [LeadStage.LEAD.value, batch_id, LeadStage.LEAD.value],
        )
        return added + cursor.rowcount
