"""Day rollups, rebuilt per (store, range of local days) partition from the facts.

Each recompute deletes the partition's rows in the four rollup tables and inserts them anew with
one INSERT … SELECT … GROUP BY each, in one transaction under a per-store lock: running it twice
gives identical rows, and two runs on the same store wait for each other instead of double
counting. The member of a session is the one its account was assigned to on the session's local
day, and the team that member's team on that day (range joins on the dated histories).
"""

# SQL here names tables and columns this package owns; values travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction

from metrics.db import store_data_version_bump, store_lock

ROLLUP_LOCK = 7402
_TABLES = ("metrics_memberday", "metrics_inquirybuyerday", "metrics_storeday", "metrics_storebuyerday")


@dataclass(frozen=True)
class PartitionCounts:
    member_days: int
    inquiry_buyer_days: int
    store_days: int
    store_buyer_days: int


def _response_seconds() -> str:
    """Seconds from a session's start to its first response (NULL when unanswered)."""
    if connection.vendor == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM (c.first_response_at - c.started_at)) AS BIGINT)"
    return "CAST(strftime('%%s', c.first_response_at) AS INTEGER) - CAST(strftime('%%s', c.started_at) AS INTEGER)"


def _on_day(alias: str, table: str, key: str, key_value: str, day: str) -> str:
    """LEFT JOIN of a dated history (start and end both inclusive, end empty while open)."""
    return (
        f"LEFT JOIN {table} {alias} ON {alias}.{key} = {key_value} AND {day} >= {alias}.start_date "
        f"AND ({alias}.end_date IS NULL OR {day} <= {alias}.end_date)"
    )


def _sessions() -> str:
    """The partition's chat sessions with their member and team of the day."""
    return (
        f"SELECT c.id, c.started_date AS date, c.started_hour AS hour, c.buyer, aa.member_id, tm.team_id, "
        f"c.first_response_at IS NULL AS unanswered, {_response_seconds()} AS response "
        "FROM metrics_chatsession c "
        + _on_day("aa", "teams_accountassignment", "account_id", "c.account_id", "c.started_date")
        + " "
        + _on_day("tm", "teams_teammembership", "member_id", "aa.member_id", "c.started_date")
        + " WHERE c.store_id = %s AND c.started_date BETWEEN %s AND %s"
    )


def _within(limit: int) -> str:
    return f"SUM(CASE WHEN NOT unanswered AND response <= {limit} THEN 1 ELSE 0 END)"


def rollup_partition_recompute(*, store, start: dt.date, end: dt.date) -> PartitionCounts:
    """Rebuild the rollups of `store` for local days start … end (both inclusive)."""
    partition = [store.pk, start, end]
    paid = "o.paid_at IS NOT NULL"
    # Orders credited to the partition's sessions were created from its first day to at most the
    # store's window after its last: bounding created_date lets the (store, created_date) index
    # find them.
    created_until = end + dt.timedelta(days=store.attribution_window_days)
    created_near = "o.created_date BETWEEN %s AND %s"
    with transaction.atomic(), connection.cursor() as cursor:
        store_lock(ROLLUP_LOCK, store.pk)
        store_data_version_bump(store.pk)
        for table in _TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s AND date BETWEEN %s AND %s", partition)
        counts = []
        # Member-days: the sessions of each day, and the paid orders credited to them.
        cursor.execute(
            "INSERT INTO metrics_memberday (store_id, date, member_id, team_id, sessions, unanswered_sessions, "
            "answered_sessions, response_seconds, answered_15s, answered_30s, answered_180s, paid_orders, "
            "refunded_orders, items, gmv_cents, refund_cents) "
            "SELECT %s, date, member_id, MAX(team_id), SUM(sessions), SUM(unanswered), "
            "SUM(sessions) - SUM(unanswered), SUM(response), SUM(w15), SUM(w30), SUM(w180), SUM(paid_orders), "
            "SUM(refunded), SUM(items), SUM(gmv), SUM(refund) FROM ("
            f" SELECT date, member_id, team_id, COUNT(*) AS sessions, SUM(CASE WHEN unanswered THEN 1 ELSE 0 END) "
            f"  AS unanswered, SUM(CASE WHEN unanswered THEN 0 ELSE response END) AS response, {_within(15)} AS w15, "
            f"  {_within(30)} AS w30, {_within(180)} AS w180, 0 AS paid_orders, 0 AS refunded, 0 AS items, 0 AS gmv, "
            f"  0 AS refund FROM ({_sessions()}) s WHERE member_id IS NOT NULL GROUP BY date, member_id, team_id"
            " UNION ALL"
            " SELECT o.credited_date, o.credited_member_id, tm.team_id, 0, 0, 0, 0, 0, 0, COUNT(*),"
            "  SUM(CASE WHEN o.refund_cents > 0 THEN 1 ELSE 0 END), SUM(o.item_count), SUM(o.paid_cents),"
            "  SUM(o.refund_cents)"
            "  FROM metrics_order o "
            + _on_day("tm", "teams_teammembership", "member_id", "o.credited_member_id", "o.credited_date")
            + f"  WHERE o.store_id = %s AND o.credited_date BETWEEN %s AND %s AND {paid} AND {created_near}"
            "  AND o.credited_member_id IS NOT NULL GROUP BY o.credited_date, o.credited_member_id, tm.team_id"
            ") days GROUP BY date, member_id",
            [store.pk, *partition, *partition, start, created_until],
        )
        counts.append(cursor.rowcount)
        # Buyer-days: who chatted with whom in which hour, and whether an order (a paid one) of
        # those sessions was credited.
        cursor.execute(
            "INSERT INTO metrics_inquirybuyerday (store_id, date, hour, member_id, team_id, buyer, ordered, paid) "
            "SELECT %s, s.date, s.hour, s.member_id, MAX(s.team_id), s.buyer, "
            " MAX(CASE WHEN o.session_id IS NOT NULL THEN 1 ELSE 0 END) = 1, MAX(COALESCE(o.paid, 0)) = 1 "
            f"FROM ({_sessions()}) s LEFT JOIN ("
            # The partition's credited orders, one row per session: a small derived table that
            # PostgreSQL hash-joins and SQLite indexes on the fly (a join straight to the orders
            # table has no index on the session to use and runs as a nested loop on SQLite).
            f" SELECT o.credited_session_id AS session_id, MAX(CASE WHEN {paid} THEN 1 ELSE 0 END) AS paid"
            " FROM metrics_order o WHERE o.store_id = %s AND o.credited_date BETWEEN %s AND %s"
            f" AND {created_near} AND o.credited_session_id IS NOT NULL GROUP BY o.credited_session_id"
            ") o ON o.session_id = s.id GROUP BY s.date, s.hour, s.member_id, s.buyer",
            [store.pk, *partition, *partition, start, created_until],
        )
        counts.append(cursor.rowcount)
        # Store-days: traffic by its date, orders by their creation day.
        cursor.execute(
            "INSERT INTO metrics_storeday (store_id, date, uv, pv, cart_adds, orders_placed, paid_orders, gmv_cents, "
            "refund_cents, silent_gmv_cents) "
            "SELECT %s, date, SUM(uv), SUM(pv), SUM(cart_adds), SUM(placed), SUM(paid), SUM(gmv), SUM(refund), "
            "SUM(silent) FROM ("
            " SELECT date, uv, pv, cart_adds, 0 AS placed, 0 AS paid, 0 AS gmv, 0 AS refund, 0 AS silent"
            "  FROM metrics_trafficday WHERE store_id = %s AND date BETWEEN %s AND %s"
            " UNION ALL"
            f" SELECT o.created_date, 0, 0, 0, 1, CASE WHEN {paid} THEN 1 ELSE 0 END,"
            f"  CASE WHEN {paid} THEN o.paid_cents ELSE 0 END, CASE WHEN {paid} THEN o.refund_cents ELSE 0 END,"
            f"  CASE WHEN {paid} AND o.credited_session_id IS NULL THEN o.paid_cents ELSE 0 END"
            "  FROM metrics_order o WHERE o.store_id = %s AND o.created_date BETWEEN %s AND %s"
            ") days GROUP BY date",
            [store.pk, *partition, *partition],
        )
        counts.append(cursor.rowcount)
        # Store-buyer-days: each buyer's orders placed and paid, and their GMV, per creation day.
        cursor.execute(
            "INSERT INTO metrics_storebuyerday (store_id, date, buyer, placed_orders, paid_orders, gmv_cents) "
            f"SELECT %s, o.created_date, o.buyer, COUNT(*), SUM(CASE WHEN {paid} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {paid} THEN o.paid_cents ELSE 0 END) FROM metrics_order o "
            "WHERE o.store_id = %s AND o.created_date BETWEEN %s AND %s GROUP BY o.created_date, o.buyer",
            [store.pk, *partition],
        )
        counts.append(cursor.rowcount)
    return PartitionCounts(*counts)
