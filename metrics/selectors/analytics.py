"""Analytics beyond the KPI table, from the day rollups: funnel, when chats convert, how fast
sessions are answered, customer RFM and churn risk, and alerts against a member's own baseline."""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection

from metrics.db import frame_query, sql_filters


def _between(table: str, columns: list[str], start, end, where: str = "", params=()) -> pd.DataFrame:
    frame = frame_query(
        f"SELECT {', '.join(columns)} FROM {table} WHERE date BETWEEN %s AND %s{where}", [start, end, *params], columns
    )
    if "date" in frame and not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def funnel_get(*, store_id: int, start: dt.date, end: dt.date) -> dict:
    """UV → inquiring buyers → ordering buyers → paying buyers → repeat buyers, and UV by channel."""
    # Counted in the database: a month of a big store is ~100,000 buyer-days, one row back each.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(uv), 0) FROM metrics_storeday WHERE store_id = %s AND date BETWEEN %s AND %s",
            [store_id, start, end],
        )
        uv = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(DISTINCT buyer) FROM metrics_inquirybuyerday WHERE store_id = %s AND date BETWEEN %s AND %s",
            [store_id, start, end],
        )
        inquiring = cursor.fetchone()[0]
        cursor.execute(
            "SELECT SUM(CASE WHEN placed > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN paid > 0 THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN paid >= 2 THEN 1 ELSE 0 END) FROM (SELECT buyer, SUM(placed_orders) AS placed, "
            "SUM(paid_orders) AS paid FROM metrics_storebuyerday WHERE store_id = %s AND date BETWEEN %s AND %s "
            "GROUP BY buyer) per_buyer",
            [store_id, start, end],
        )
        ordered, paying, repeat = (value or 0 for value in cursor.fetchone())
    channels = frame_query(
        "SELECT channel, SUM(uv) FROM metrics_trafficday WHERE store_id = %s AND date BETWEEN %s AND %s "
        "GROUP BY channel ORDER BY SUM(uv) DESC",
        [store_id, start, end],
        ["channel", "uv"],
    )
    return {
        "steps": [
            ("uv", int(uv)),
            ("inquiring_buyers", int(inquiring)),
            ("ordered_buyers", int(ordered)),
            ("paying_buyers", int(paying)),
            ("repeat_buyers", int(repeat)),
        ],
        "uv_by_channel": [(row.channel, int(row.uv)) for row in channels.itertuples()],
    }


def conversion_heatmap(*, team_id: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Inquiry-to-payment conversion by local weekday (rows, Monday = 0) and hour (columns) of
    the session's start: paid buyers / inquiring buyers among that team's sessions; NaN when none."""
    from teams.models import Team

    store_id = Team.objects.filter(pk=team_id).values_list("store_id", flat=True).first()
    rows = _between(  # by (store, date) first: the table's index
        "metrics_inquirybuyerday", ["date", "hour", "buyer", "paid"], start, end,
        " AND store_id = %s AND team_id = %s", [store_id, team_id],
    )  # fmt: skip
    return conversion_grid(rows)


def conversion_grid(rows: pd.DataFrame) -> pd.DataFrame:
    """Buyer-day rows (date, hour, buyer, paid) as a weekday × hour grid of paid / inquiring
    buyers (distinct per cell); NaN where nobody inquired."""
    grid = pd.DataFrame(np.nan, index=range(7), columns=range(24))
    if rows.empty:
        return grid
    rows = rows.assign(weekday=pd.to_datetime(rows["date"]).dt.day_of_week, paid=rows["paid"].astype(bool))
    inquiring = rows.groupby(["weekday", "hour"])["buyer"].nunique()
    paying = rows.loc[rows["paid"]].groupby(["weekday", "hour"])["buyer"].nunique()
    rate = (paying.reindex(inquiring.index, fill_value=0) / inquiring).unstack()
    return rate.reindex(index=range(7), columns=range(24))


def first_response_distribution(
    *, start: dt.date, end: dt.date, store_ids=None, team_ids=None, member_ids=None
) -> dict[str, float | None]:
    """Shares of sessions answered within 15 s, 30 s and 3 min, and never answered."""
    where, params = sql_filters(store_id=store_ids, team_id=team_ids, member_id=member_ids)
    days = _between(
        "metrics_memberday",
        ["date", "sessions", "unanswered_sessions", "answered_15s", "answered_30s", "answered_180s"],
        start, end, where, params,
    )  # fmt: skip
    return response_shares(days)


def response_shares(days: pd.DataFrame) -> dict[str, float | None]:
    """Member-day rows as shares of sessions answered within 15 s, 30 s, 3 min, and unanswered."""
    sessions = days["sessions"].sum() if not days.empty else 0
    if not sessions:
        return {"within_15s": None, "within_30s": None, "within_3min": None, "unanswered": None}
    return {
        "within_15s": float(days["answered_15s"].sum() / sessions),
        "within_30s": float(days["answered_30s"].sum() / sessions),
        "within_3min": float(days["answered_180s"].sum() / sessions),
        "unanswered": float(days["unanswered_sessions"].sum() / sessions),
    }


SEGMENTS = ("champions", "loyal", "new", "at_risk", "lost", "needs_attention")


def rfm_buyers(*, store_id: int, as_of: dt.date) -> pd.DataFrame:
    """Per paying buyer up to `as_of`: recency (days since the last paid order), frequency
    (paid orders), monetary (GMV, cents), their quintile scores 1–5, a named segment, the typical
    repurchase interval (median days between paid days, repeat buyers only) and churn risk
    (overdue by more than half of that interval)."""
    rows = frame_query(
        "SELECT buyer, date, paid_orders, gmv_cents FROM metrics_storebuyerday "
        "WHERE store_id = %s AND paid_orders > 0 AND date <= %s ORDER BY buyer, date",
        [store_id, as_of],
        ["buyer", "date", "paid_orders", "gmv_cents"],
    )
    if rows.empty:
        return pd.DataFrame(columns=["buyer", "recency_days", "frequency", "monetary_cents", "segment"])
    rows["date"] = pd.to_datetime(rows["date"])
    buyers = rows.groupby("buyer").agg(
        last=("date", "max"),
        frequency=("paid_orders", "sum"),
        monetary_cents=("gmv_cents", "sum"),
        days=("date", "size"),
    )
    buyers["recency_days"] = (pd.Timestamp(as_of) - buyers["last"]).dt.days
    gaps = rows.groupby("buyer")["date"].diff().dt.days
    buyers["interval_days"] = gaps.groupby(rows["buyer"]).median()
    buyers["churn_risk"] = buyers["interval_days"].notna() & (buyers["recency_days"] > 1.5 * buyers["interval_days"])
    # Quintiles by rank, so ties and small stores still spread over 1–5; recent is better.
    buyers["r"] = _quintile(-buyers["recency_days"])
    buyers["f"] = _quintile(buyers["frequency"])
    buyers["m"] = _quintile(buyers["monetary_cents"])
    buyers["segment"] = np.select(
        [
            (buyers["r"] >= 4) & (buyers["f"] >= 4),
            (buyers["f"] >= 4),
            (buyers["r"] >= 4) & (buyers["frequency"] == 1),
            (buyers["r"] <= 2) & (buyers["f"] >= 3),
            (buyers["r"] == 1),
        ],
        ["champions", "loyal", "new", "at_risk", "lost"],
        "needs_attention",
    )
    return buyers.drop(columns=["last", "days"]).reset_index()


def _quintile(values: pd.Series) -> pd.Series:
    return (np.ceil(values.rank(method="average", pct=True) * 5)).clip(1, 5).astype(int)


def churn_risk_list(*, store_id: int, as_of: dt.date) -> pd.DataFrame:
    """Repeat buyers overdue for their usual repurchase by more than 50%, most overdue first."""
    buyers = rfm_buyers(store_id=store_id, as_of=as_of)
    if buyers.empty:
        return buyers
    risky = buyers.loc[buyers["churn_risk"]].copy()
    risky["overdue_ratio"] = risky["recency_days"] / risky["interval_days"]
    return risky.sort_values("overdue_ratio", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class Alert:
    member_id: int
    kind: str  # "conversion_drop", "slower_response", "unanswered"
    recent: float
    baseline: float | None


def member_alerts(
    *,
    as_of: dt.date,
    store_ids=None,
    member_ids=None,
    drop: float = 0.3,
    slower: float = 0.5,
    unanswered_share: float = 0.05,
    min_sessions: int = 20,
) -> list[Alert]:
    """The last 7 days against the member's own previous 28: inquiry-to-payment conversion down
    by `drop` (30%) or more, average first response up by `slower` (50%) or more, and an
    unanswered share above `unanswered_share` (5%). Members with fewer than `min_sessions`
    sessions in either window are not judged."""
    baseline_start = as_of - dt.timedelta(days=34)
    where, params = sql_filters(store_id=store_ids, member_id=member_ids)
    days = _between(
        "metrics_memberday",
        ["date", "member_id", "sessions", "unanswered_sessions", "answered_sessions", "response_seconds"],
        baseline_start, as_of, where, params,
    )  # fmt: skip
    buyers = _between(
        "metrics_inquirybuyerday", ["date", "member_id", "buyer", "paid"], baseline_start, as_of,
        where + " AND member_id IS NOT NULL", params,
    )  # fmt: skip
    return alerts_from_rows(
        days, buyers, as_of=as_of, drop=drop, slower=slower, unanswered_share=unanswered_share,
        min_sessions=min_sessions,
    )  # fmt: skip


def alerts_from_rows(
    days: pd.DataFrame,
    buyers: pd.DataFrame,
    *,
    as_of: dt.date,
    drop: float = 0.3,
    slower: float = 0.5,
    unanswered_share: float = 0.05,
    min_sessions: int = 20,
) -> list[Alert]:
    """member_alerts over member-day and buyer-day rows already read (they must cover the 35
    days up to `as_of`; rows outside them are ignored)."""
    recent_start, baseline_start = as_of - dt.timedelta(days=6), as_of - dt.timedelta(days=34)
    alerts: list[Alert] = []
    if days.empty:
        return alerts
    window = (pd.Timestamp(baseline_start), pd.Timestamp(as_of))
    frames = []
    for frame in (days, buyers):
        dates = pd.to_datetime(frame["date"]) if not frame.empty else pd.Series(dtype="datetime64[ns]")
        frame = frame.loc[(dates >= window[0]) & (dates <= window[1])].copy()
        frame["recent"] = dates.loc[frame.index] >= pd.Timestamp(recent_start)
        frames.append(frame)
    days, buyers = frames
    sums = days.groupby(["member_id", "recent"])[
        ["sessions", "unanswered_sessions", "answered_sessions", "response_seconds"]
    ].sum()
    inquiring = buyers.groupby(["member_id", "recent"])["buyer"].nunique()
    paying = buyers.loc[buyers["paid"].astype(bool)].groupby(["member_id", "recent"])["buyer"].nunique()

    def get(series: pd.Series, member_id, recent: bool, column: str | None = None) -> float:
        key = (member_id, recent)
        if key not in series.index:
            return 0.0
        value = series.loc[key] if column is None else series.loc[key, column]
        return float(value)

    for member_id in sums.index.get_level_values("member_id").unique():
        sessions = [get(sums, member_id, flag, "sessions") for flag in (True, False)]
        if sessions[0] >= min_sessions:
            share = get(sums, member_id, True, "unanswered_sessions") / sessions[0]
            if share > unanswered_share:
                alerts.append(Alert(int(member_id), "unanswered", share, None))
        if sessions[0] < min_sessions or sessions[1] < min_sessions:
            continue
        conversion = [
            get(paying, member_id, flag) / get(inquiring, member_id, flag) if get(inquiring, member_id, flag) else None
            for flag in (True, False)
        ]
        if conversion[1] and conversion[0] is not None and conversion[0] <= conversion[1] * (1 - drop):
            alerts.append(Alert(int(member_id), "conversion_drop", conversion[0], conversion[1]))
        speed = [
            get(sums, member_id, flag, "response_seconds") / answered
            if (answered := get(sums, member_id, flag, "answered_sessions"))
            else None
            for flag in (True, False)
        ]
        if speed[1] and speed[0] is not None and speed[0] >= speed[1] * (1 + slower):
            alerts.append(Alert(int(member_id), "slower_response", speed[0], speed[1]))
    return alerts
