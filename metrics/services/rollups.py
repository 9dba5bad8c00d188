"""Day rollups, rebuilt per (store, local-day range) partition from the facts.

Each recompute deletes the partition's rows in the four rollup tables and inserts them anew from
the facts, in one transaction under a per-store lock: running it twice gives identical rows, and
two runs on the same store wait for each other instead of double counting.
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection, transaction

from metrics.db import frame_insert, frame_query, store_lock
from metrics.history import member_of_account_on, team_of_member_on
from teams.models import Store

ROLLUP_LOCK = 7402
_TABLES = ("metrics_memberday", "metrics_inquirybuyerday", "metrics_storeday", "metrics_storebuyerday")


@dataclass(frozen=True)
class PartitionCounts:
    member_days: int
    inquiry_buyer_days: int
    store_days: int
    store_buyer_days: int


def _seconds_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS BIGINT)"
    return f"CAST(strftime('%%s', {later}) AS INTEGER) - CAST(strftime('%%s', {earlier}) AS INTEGER)"


def rollup_partition_recompute(*, store: Store, start: dt.date, end: dt.date) -> PartitionCounts:
    """Rebuild the rollups of `store` for local days start … end (both inclusive)."""
    with transaction.atomic():
        store_lock(ROLLUP_LOCK, store.pk)
        with connection.cursor() as cursor:
            for table in _TABLES:
                cursor.execute(
                    f"DELETE FROM {table} WHERE store_id = %s AND date BETWEEN %s AND %s",
                    [store.pk, start, end],
                )
        member_days, buyer_days = _member_side(store, start, end)
        store_days, store_buyer_days = _store_side(store, start, end)
        frame_insert("metrics_memberday", member_days)
        frame_insert("metrics_inquirybuyerday", buyer_days)
        frame_insert("metrics_storeday", store_days)
        frame_insert("metrics_storebuyerday", store_buyer_days)
    return PartitionCounts(len(member_days), len(buyer_days), len(store_days), len(store_buyer_days))


def _member_side(store: Store, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions by their local day and the orders credited to them, per member and buyer."""
    chats = frame_query(
        f"SELECT id, started_date, started_hour, account_id, buyer, first_response_at IS NULL, "
        f"{_seconds_between('first_response_at', 'started_at')} "
        "FROM metrics_chatsession WHERE store_id = %s AND started_date BETWEEN %s AND %s",
        [store.pk, start, end],
        ["session", "date", "hour", "account", "buyer", "unanswered", "response"],
    )
    orders = frame_query(
        "SELECT credited_session_id, credited_date, credited_member_id, buyer, paid_at IS NOT NULL, paid_cents, "
        "refund_cents, item_count FROM metrics_order WHERE store_id = %s AND credited_date BETWEEN %s AND %s",
        [store.pk, start, end],
        ["session", "date", "member", "buyer", "paid", "gmv_cents", "refund_cents", "items"],
    )
    chats["date"] = pd.to_datetime(chats["date"])
    orders["date"] = pd.to_datetime(orders["date"])
    chats["member"] = member_of_account_on(chats)
    orders["member"] = orders["member"].astype("float64")  # ids with NaN for none, as in chats
    chats["unanswered"] = chats["unanswered"].astype(bool)
    orders["paid"] = orders["paid"].astype(bool)

    # Buyer-days: one row per (day, hour, member or none, buyer) that chatted, with what followed:
    # an order credited to one of those sessions, a paid one.
    chats["hour"] = chats["hour"].astype("float64")
    hour_of_session = chats.set_index("session")["hour"]
    orders["hour"] = orders["session"].map(hour_of_session).astype("float64")
    keys = ["date", "hour", "member", "buyer"]
    buyers = chats[keys].drop_duplicates()
    flags = orders.groupby(keys, dropna=False)["paid"].any().rename("paid").reset_index()
    buyers = buyers.merge(flags, on=keys, how="left")
    buyers["ordered"] = buyers["paid"].notna()
    buyers["paid"] = buyers["paid"].fillna(False).astype(bool)
    buyers["team"] = team_of_member_on(buyers)

    answered = chats.loc[~chats["unanswered"]]
    response = pd.to_numeric(chats["response"], errors="coerce")  # seconds; NaN when unanswered
    for limit in (15, 30, 180):
        chats[f"answered_{limit}s"] = response <= limit
    sessions = (
        chats.dropna(subset=["member"])
        .groupby(["date", "member"])
        .agg(
            sessions=("buyer", "size"),
            unanswered_sessions=("unanswered", "sum"),
            answered_15s=("answered_15s", "sum"),
            answered_30s=("answered_30s", "sum"),
            answered_180s=("answered_180s", "sum"),
        )
    )
    response = (
        answered.dropna(subset=["member"]).groupby(["date", "member"])["response"].sum().rename("response_seconds")
    )
    paid = orders.loc[orders["paid"]].dropna(subset=["member"])
    sales = paid.groupby(["date", "member"]).agg(
        paid_orders=("buyer", "size"),
        refunded_orders=("refund_cents", lambda cents: int((cents > 0).sum())),
        items=("items", "sum"),
        gmv_cents=("gmv_cents", "sum"),
        refund_cents=("refund_cents", "sum"),
    )
    days = sessions.join(response, how="outer").join(sales, how="outer").fillna(0).reset_index()
    days["answered_sessions"] = days["sessions"] - days["unanswered_sessions"]
    days["team"] = team_of_member_on(days)
    days["store_id"] = store.pk
    member_days = days.rename(columns={"member": "member_id", "team": "team_id"})[
        ["store_id", "date", "member_id", "team_id", "sessions", "unanswered_sessions", "answered_sessions",
         "response_seconds", "answered_15s", "answered_30s", "answered_180s", "paid_orders", "refunded_orders",
         "items", "gmv_cents", "refund_cents"]
    ]  # fmt: skip
    buyer_days = buyers.assign(store_id=store.pk).rename(columns={"member": "member_id", "team": "team_id"})[
        ["store_id", "date", "hour", "member_id", "team_id", "buyer", "ordered", "paid"]
    ]
    return _typed(member_days), _typed(buyer_days)


def _store_side(store: Store, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders by their creation day, and traffic by its date."""
    orders = frame_query(
        "SELECT created_date, buyer, paid_at IS NOT NULL, paid_cents, refund_cents, credited_session_id IS NULL "
        "FROM metrics_order WHERE store_id = %s AND created_date BETWEEN %s AND %s",
        [store.pk, start, end],
        ["date", "buyer", "paid", "gmv_cents", "refund_cents", "silent"],
    )
    traffic = frame_query(
        "SELECT date, uv, pv, cart_adds FROM metrics_trafficday WHERE store_id = %s AND date BETWEEN %s AND %s",
        [store.pk, start, end],
        ["date", "uv", "pv", "cart_adds"],
    )
    for frame in (orders, traffic):
        frame["date"] = pd.to_datetime(frame["date"])
    orders["paid"] = orders["paid"].astype(bool)
    orders["silent"] = orders["silent"].astype(bool)
    paid = orders.loc[orders["paid"]]
    placed = orders.groupby("date").size().rename("orders_placed")
    sales = paid.groupby("date").agg(
        paid_orders=("buyer", "size"), gmv_cents=("gmv_cents", "sum"), refund_cents=("refund_cents", "sum")
    )
    silent = paid.loc[paid["silent"]].groupby("date")["gmv_cents"].sum().rename("silent_gmv_cents")
    visits = traffic.groupby("date")[["uv", "pv", "cart_adds"]].sum()
    days = pd.concat([visits, placed, sales, silent], axis=1).fillna(0).reset_index(names="date")
    days["store_id"] = store.pk
    store_days = days[
        ["store_id", "date", "uv", "pv", "cart_adds", "orders_placed", "paid_orders", "gmv_cents", "refund_cents",
         "silent_gmv_cents"]
    ]  # fmt: skip
    orders["paid_gmv"] = orders["gmv_cents"].where(orders["paid"], 0)
    buyer_days = (
        orders.groupby(["date", "buyer"])
        .agg(placed_orders=("paid", "size"), paid_orders=("paid", "sum"), gmv_cents=("paid_gmv", "sum"))
        .reset_index()
        .assign(store_id=store.pk)
    )
    columns = ["store_id", "date", "buyer", "placed_orders", "paid_orders", "gmv_cents"]
    return _typed(store_days), _typed(buyer_days[columns])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole numbers as integers (nullable for ids), dates as ISO text: what COPY and SQLite take."""
    frame = frame.copy()
    for column in frame.columns:
        if column == "date":
            frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
        elif column in ("member_id", "team_id", "hour"):
            frame[column] = frame[column].astype("Int64")
        elif frame[column].dtype.kind == "f":
            frame[column] = np.round(frame[column]).astype("int64")
    return frame
