"""Attribution (询单 → 下单), exactly as the KPI spec defines it.

An order is credited to the latest chat session of the same buyer in the same store that
started at or before the order's creation and no more than the store's window before it (both
ends inclusive); of two sessions started in the same second the greater session id wins. No
such session: a silent order. The credit names the session, its account, the member who used
that account on the session's local day, and that day; it is stored on the order.
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from django.db import connection, transaction

from metrics.db import frame_insert, frame_query, store_lock
from metrics.importing.merge import ANALYZE_AFTER_ROWS
from teams.models import Store
from teams.selectors.history import assignment_periods_read, periods_on_day

ATTRIBUTION_LOCK = 7401
_EPOCH_SQL = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM {0}) AS BIGINT)",
    "sqlite": "CAST(strftime('%%s', {0}) AS INTEGER)",
}


@dataclass
class AttributionResult:
    orders_seen: int = 0
    orders_changed: int = 0
    # Local days whose member-level figures change: the credited sessions' days, before and after.
    changed_dates: set[dt.date] = field(default_factory=set)


def _epoch(column: str) -> str:
    return _EPOCH_SQL[connection.vendor].format(column)


_BUYERS_TABLE = "attribution_buyers"


def attribution_recompute(
    *, store: Store, buyers: Iterable[str] | None = None, created: tuple[dt.date, dt.date] | None = None
) -> AttributionResult:
    """Recompute the credit of the store's orders (all of them, or those of `buyers`, or those
    created on the local days `created`, both ends inclusive).

    An order's credit depends only on the sessions of its window, so bounding the orders bounds
    the sessions to read (the window's days before the first order day) and both reads use the
    (store, day) indexes.

    Idempotent: only orders whose credit changes are written. Holds a per-store lock, so two
    recomputes of one store run one after the other."""
    buyer_list = None if buyers is None else sorted(set(buyers))
    result = AttributionResult()
    if buyer_list is not None and not buyer_list:
        return result
    with transaction.atomic():
        store_lock(ATTRIBUTION_LOCK, store.pk)
        if buyer_list is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_BUYERS_TABLE}")
                cursor.execute(f"CREATE TEMPORARY TABLE {_BUYERS_TABLE} (buyer varchar(128) PRIMARY KEY)")
            frame_insert(_BUYERS_TABLE, pd.DataFrame({"buyer": buyer_list}))
        where = "" if buyer_list is None else f" AND buyer IN (SELECT buyer FROM {_BUYERS_TABLE})"
        order_where, chat_where, order_params, chat_params = where, where, [], []
        if created is not None:
            order_where += " AND created_date BETWEEN %s AND %s"
            order_params = [created[0], created[1]]
            chat_where += " AND started_date BETWEEN %s AND %s"
            chat_params = [created[0] - dt.timedelta(days=store.attribution_window_days), created[1]]
        orders = frame_query(
            f"SELECT id, buyer, {_epoch('created_at')}, credited_session_id, credited_account_id, "
            f"credited_member_id, credited_date FROM metrics_order WHERE store_id = %s{order_where}",
            [store.pk, *order_params],
            ["id", "buyer", "at", "old_session", "old_account", "old_member", "old_date"],
        )
        result.orders_seen = len(orders)
        if orders.empty:
            return result
        chats = frame_query(
            f"SELECT id, session_id, buyer, {_epoch('started_at')}, started_date, account_id "
            f"FROM metrics_chatsession WHERE store_id = %s{chat_where}",
            [store.pk, *chat_params],
            ["session", "session_key", "buyer", "at", "date", "account"],
        )
        credit = _match(orders, chats, window_s=store.attribution_window_hours * 3600)
        credit["member"] = periods_on_day(
            keys=credit["account"], days=credit["date"], periods=assignment_periods_read()
        )
        changed = _changed(orders, credit)
        result.orders_changed = len(changed)
        if not changed.empty:
            _write(changed)
            for column in ("date", "old_date"):
                result.changed_dates.update(pd.to_datetime(changed[column].dropna()).dt.date)
        if buyer_list is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_BUYERS_TABLE}")
    if connection.vendor == "postgresql" and result.orders_changed >= ANALYZE_AFTER_ROWS:
        # The credit columns changed wholesale: without fresh statistics the rollups that follow
        # are planned as if no order were credited (nested loops over a million rows).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE metrics_order")
    return result


def _match(orders: pd.DataFrame, chats: pd.DataFrame, *, window_s: int) -> pd.DataFrame:
    """For each order, the session it is credited to (columns session, account, date; NaN if silent)."""
    left = orders[["id", "buyer", "at"]].astype({"at": "int64"}).sort_values("at", kind="stable")
    if chats.empty:
        return left.assign(session=pd.NA, account=pd.NA, date=pd.NA)[["id", "session", "account", "date"]]
    # Same second: the greater session id wins. Left-padding with zeros makes "S100" > "S99" and
    # compares equal-length ids as text, so the last of equal times in this order is the winner.
    right = chats.assign(at=chats["at"].astype("int64"), tie=chats["session_key"].astype(str).str.zfill(64))
    right = right.sort_values(["at", "tie"], kind="stable")
    matched = pd.merge_asof(
        left,
        right[["at", "buyer", "session", "account", "date"]],
        on="at",
        by="buyer",
        direction="backward",
        allow_exact_matches=True,
        tolerance=window_s,
    )
    return matched[["id", "session", "account", "date"]]


def _changed(orders: pd.DataFrame, credit: pd.DataFrame) -> pd.DataFrame:
    both = orders.merge(credit, on="id")
    both["date"] = pd.to_datetime(both["date"]).dt.date
    both["old_date"] = pd.to_datetime(both["old_date"]).dt.date

    def differs(new: str, old: str) -> pd.Series:
        a, b = both[new], both[old]
        return ~((a.isna() & b.isna()) | (a.astype("object") == b.astype("object")))

    mask = differs("session", "old_session") | differs("member", "old_member") | differs("date", "old_date")
    return both.loc[mask]


def _write(changed: pd.DataFrame) -> None:
    table = "attribution_changes"
    frame = pd.DataFrame(
        {
            "id": changed["id"].astype("int64"),
            "session": changed["session"].astype("Int64"),
            "account": changed["account"].astype("Int64"),
            "member": changed["member"].astype("Int64"),
            "day": changed["date"].map(lambda d: d.isoformat() if isinstance(d, dt.date) else None),
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} (id bigint PRIMARY KEY, session bigint, account bigint, "
            "member bigint, day date)"
        )
        frame_insert(table, frame)
        cursor.execute(
            "UPDATE metrics_order SET credited_session_id = c.session, credited_account_id = c.account, "
            f"credited_member_id = c.member, credited_date = c.day FROM {table} c "
            "WHERE metrics_order.id = c.id"
        )
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
