"""Analytics beyond the KPI table, from the day rollups: funnel, when chats convert, how fast
sessions are answered, customer RFM and churn risk, and alerts against a member's own baseline."""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.db import frame_query, sql_filters
from metrics.kpis import grouping
from metrics.kpis.frames import rollup_frames_get
from metrics.kpis.grouping import Columns
from metrics.kpis.selectors import MemberRows, member_rows_load
from metrics.kpis.values import kpi_column_evaluate, kpi_evaluate, member_kpi_table_get
from metrics.registry import Level


def _between(table: str, columns: list[str], start, end, where: str = "", params=()) -> pd.DataFrame:
    frame = frame_query(
        f"SELECT {', '.join(columns)} FROM {table} WHERE date BETWEEN %s AND %s{where}", [start, end, *params], columns
    )
    if "date" in frame and not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def funnel_get(*, store_id: int, start: dt.date, end: dt.date) -> dict:
    """UV → inquiring buyers → ordering buyers → paying buyers → repeat buyers, and UV by channel."""
    # From the store's rollup months (metrics.kpis.frames): a month of a big store is
    # ~100,000 buyer-days, counted here with numpy instead of three aggregate queries.
    frames = rollup_frames_get(
        store_ids=[store_id], start=start, end=end, tables=("buyers", "store_buyers", "store_days")
    )
    uv = int(frames["store_days"]["uv"].sum())
    inquiring = len(grouping.sorted_unique(frames["buyers"]["buyer"]))
    ordered = paying = repeat = 0
    store_buyers = frames["store_buyers"]
    if len(store_buyers):
        _buyers, per_buyer = grouping.group_sums(
            store_buyers["buyer"], store_buyers.matrix(["placed_orders", "paid_orders"])
        )
        placed, paid = per_buyer[:, 0], per_buyer[:, 1]
        ordered, paying, repeat = int((placed > 0).sum()), int((paid > 0).sum()), int((paid >= 2).sum())
    channels = frame_query(
        "SELECT channel, SUM(uv) FROM metrics_trafficday WHERE store_id = %s AND date BETWEEN %s AND %s "
        "GROUP BY channel ORDER BY SUM(uv) DESC",
        [store_id, start, end],
        ["channel", "uv"],
    )
    return {
        "steps": [
            ("uv", uv),
            ("inquiring_buyers", inquiring),
            ("ordered_buyers", ordered),
            ("paying_buyers", paying),
            ("repeat_buyers", repeat),
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


# A heatmap cell's conversion is shown from this many inquiring buyers up: below it one buyer
# more or less moves the rate by over 20 points (1 of 1 is "100 %"), so the cell says "too few"
# and gives its count instead.
HEATMAP_MIN_INQUIRIES = 5


def conversion_cells(rows: Columns | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Buyer-day rows (date, hour, buyer, paid) as two weekday × hour grids: paid / inquiring
    buyers (distinct per cell; NaN where nobody inquired) and the inquiring buyers (0 where none)."""
    rows = Columns.of(rows)
    grid = np.full(7 * 24, np.nan)
    counts = np.zeros(7 * 24, dtype=np.int64)
    if not rows.empty:
        weekday = (grouping.day_numbers(rows["date"]) + 3) % 7  # Monday = 0
        cells = weekday * 24 + rows["hour"].astype(np.int64)
        paid = rows["paid"].astype(bool)
        found, inquiring, (paying,) = grouping.distinct_flagged(cells, _codes(rows["buyer"]), [paid])
        rates = kpi_column_evaluate(key="inquiry_to_payment_rate", level=Level.MEMBER,
                              measures={"paid_buyers": paying, "inquiring_buyers": inquiring})  # fmt: skip
        grid[found] = [np.nan if rate is None else rate for rate in rates]
        counts[found] = inquiring
    shape = {"index": range(7), "columns": range(24)}
    return pd.DataFrame(grid.reshape(7, 24), **shape), pd.DataFrame(counts.reshape(7, 24), **shape)


def conversion_grid(rows: Columns | pd.DataFrame) -> pd.DataFrame:
    """Buyer-day rows (date, hour, buyer, paid) as a weekday × hour grid of paid / inquiring
    buyers (distinct per cell); NaN where nobody inquired."""
    return conversion_cells(rows)[0]


def _codes(buyers: np.ndarray) -> np.ndarray:
    """Buyers as non-negative integer codes (the rollup frames' already are; names are factorised)."""
    if buyers.dtype.kind in "iu":
        return buyers.astype(np.int64)
    return pd.factorize(buyers)[0].astype(np.int64)


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


def response_shares(days: Columns | pd.DataFrame) -> dict[str, float | None]:
    """Member-day rows as shares of sessions answered within 15 s, 30 s, 3 min, and unanswered."""
    sessions = days["sessions"].sum() if not days.empty else 0
    if not sessions:
        return {"within_15s": None, "within_30s": None, "within_3min": None, "unanswered": None}
    # Within 15 s is a KPI (answered_15s_rate): its registry formula over the rows' sums.
    within_15s = kpi_evaluate(key="answered_15s_rate", level=Level.MEMBER,
                              measures={"answered_15s": days["answered_15s"].sum(), "sessions": sessions})  # fmt: skip
    return {
        "within_15s": within_15s,
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
    store_id: int | None = None  # the store the member was judged in (each store on its own)


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
    """The last 7 days against the member's own previous 28, in each store: inquiry-to-payment
    conversion down by `drop` (30%) or more, average first response up by `slower` (50%) or more,
    and an unanswered share above `unanswered_share` (5%). Members with fewer than `min_sessions`
    sessions in either window are not judged."""
    rows = member_rows_load(
        start=as_of - dt.timedelta(days=ALERT_DAYS - 1), end=as_of, store_ids=store_ids, member_ids=member_ids
    )
    return alerts_from_rows(
        rows.days, rows.buyers, as_of=as_of, drop=drop, slower=slower, unanswered_share=unanswered_share,
        min_sessions=min_sessions,
    )  # fmt: skip


ALERT_DAYS = 35  # the last 7 days and the 28 before them
# The KPIs an alert compares (registry keys), each window's value from the KPI engine.
ALERT_KPIS = ("sessions", "unanswered_sessions", "inquiry_to_payment_rate", "avg_first_response_s")


def alerts_from_rows(
    days: Columns | pd.DataFrame,
    buyers: Columns | pd.DataFrame,
    *,
    as_of: dt.date,
    drop: float = 0.3,
    slower: float = 0.5,
    unanswered_share: float = 0.05,
    min_sessions: int = 20,
) -> list[Alert]:
    """member_alerts over member-day and buyer-day rollup rows already read (MemberRows' days and
    buyers; they must cover the 35 days up to `as_of`; rows outside them are ignored). Each
    window's figures are the member's KPIs in the store (kpi_table over those rows)."""
    recent_start, baseline_start = as_of - dt.timedelta(days=6), as_of - dt.timedelta(days=ALERT_DAYS - 1)
    rows = MemberRows(Columns.of(days), Columns.of(buyers), Columns({}, 0))
    if rows.days.empty:
        return []

    def window(start: dt.date, end: dt.date) -> dict[tuple[int, int], dict]:
        """(store, member) → the window's KPIs."""
        table = member_kpi_table_get(grain="range", start=start, end=end, only=ALERT_KPIS, rows=rows)
        return {(int(r["store_id"]), int(r["entity_id"])): r for r in table.to_dict("records")}

    recent = window(recent_start, as_of)
    baseline = window(baseline_start, recent_start - dt.timedelta(days=1))
    alerts: list[Alert] = []
    for store_id, member_id in sorted(recent, key=lambda key: (key[1], key[0])):
        now, before = recent[store_id, member_id], baseline.get((store_id, member_id), {})
        sessions = [int(now["sessions"] or 0), int(before.get("sessions") or 0)]
        if sessions[0] >= min_sessions:
            share = int(now["unanswered_sessions"] or 0) / sessions[0]
            if share > unanswered_share:
                alerts.append(Alert(member_id, "unanswered", share, None, store_id))
        if sessions[0] < min_sessions or sessions[1] < min_sessions:
            continue
        conversion = [now["inquiry_to_payment_rate"], before.get("inquiry_to_payment_rate")]
        if conversion[1] and conversion[0] is not None and conversion[0] <= conversion[1] * (1 - drop):
            alerts.append(Alert(member_id, "conversion_drop", conversion[0], conversion[1], store_id))
        speed = [now["avg_first_response_s"], before.get("avg_first_response_s")]
        if speed[1] and speed[0] is not None and speed[0] >= speed[1] * (1 + slower):
            alerts.append(Alert(member_id, "slower_response", speed[0], speed[1], store_id))
    return alerts
