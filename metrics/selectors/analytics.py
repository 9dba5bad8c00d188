"""Analytics beyond the KPI table, from the day rollups: funnel, when chats convert, how fast
sessions are answered, customer RFM and churn risk, and alerts against a member's own baseline."""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    store = " AND store_id = %s"
    uv = _between("metrics_storeday", ["date", "uv"], start, end, store, [store_id])["uv"].sum()
    inquiring = _between("metrics_inquirybuyerday", ["date", "buyer"], start, end, store, [store_id])["buyer"].nunique()
    buyers = _between(
        "metrics_storebuyerday", ["date", "buyer", "placed_orders", "paid_orders"], start, end, store, [store_id]
    )
    per_buyer = buyers.groupby("buyer")[["placed_orders", "paid_orders"]].sum()
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
            ("ordered_buyers", int((per_buyer["placed_orders"] > 0).sum())),
            ("paying_buyers", int((per_buyer["paid_orders"] > 0).sum())),
            ("repeat_buyers", int((per_buyer["paid_orders"] >= 2).sum())),
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
    grid = pd.DataFrame(np.nan, index=range(7), columns=range(24))
    if rows.empty:
        return grid
    rows["weekday"] = rows["date"].dt.day_of_week
    inquiring = rows.groupby(["weekday", "hour"])["buyer"].nunique()
    paying = rows.loc[rows["paid"].astype(bool)].groupby(["weekday", "hour"])["buyer"].nunique()
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
    sessions = days["sessions"].sum()
    if not sessions:
        return {"within_15s": None, "within_30s": None, "within_3min": None, "unanswered": None}
    return {
        "within_15s": days["answered_15s"].sum() / sessions,
        "within_30s": days["answered_30s"].sum() / sessions,
        "within_3min": days["answered_180s"].sum() / sessions,
        "unanswered": days["unanswered_sessions"].sum() / sessions,
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
    recent_start, baseline_start = as_of - dt.timedelta(days=6), as_of - dt.timedelta(days=34)
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
    alerts: list[Alert] = []
    if days.empty:
        return alerts
    for frame in (days, buyers):
        frame["recent"] = frame["date"] >= pd.Timestamp(recent_start)
    for member_id, member_days in days.groupby("member_id"):
        recent, base = member_days[member_days["recent"]], member_days[~member_days["recent"]]
        mine = buyers[buyers["member_id"] == member_id]
        if recent["sessions"].sum() >= min_sessions and recent["sessions"].sum():
            share = recent["unanswered_sessions"].sum() / recent["sessions"].sum()
            if share > unanswered_share:
                alerts.append(Alert(int(member_id), "unanswered", float(share), None))
        if recent["sessions"].sum() < min_sessions or base["sessions"].sum() < min_sessions:
            continue
        conversion = [_conversion(mine[mine["recent"] == flag]) for flag in (True, False)]
        if conversion[1] and conversion[0] is not None and conversion[0] <= conversion[1] * (1 - drop):
            alerts.append(Alert(int(member_id), "conversion_drop", conversion[0], conversion[1]))
        speed = [_mean_response(frame) for frame in (recent, base)]
        if speed[1] and speed[0] is not None and speed[0] >= speed[1] * (1 + slower):
            alerts.append(Alert(int(member_id), "slower_response", speed[0], speed[1]))
    return alerts


def _conversion(rows: pd.DataFrame) -> float | None:
    inquiring = rows["buyer"].nunique()
    return rows.loc[rows["paid"].astype(bool), "buyer"].nunique() / inquiring if inquiring else None


def _mean_response(days: pd.DataFrame) -> float | None:
    answered = days["answered_sessions"].sum()
    return days["response_seconds"].sum() / answered if answered else None
