"""KPI values for any level, grain and date range, computed from the day rollups.

Additive measures are sums of day rows; distinct-buyer measures are counted from the buyer-day
tables over the whole period and group; every KPI is then its registry formula over those
measures (a rate is recomputed from numerator and denominator, empty when the denominator is 0).
Nothing here reads the fact tables.
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from metrics.db import frame_query, sql_filters, sql_in
from metrics.registry import Formula, Kpi, Level, Unit, kpis_for

GRAINS = ("day", "week", "month", "quarter", "range")
_CENT = Decimal("0.01")


def period_start(dates: pd.Series, *, grain: str, start: dt.date, as_dates: bool = True) -> pd.Series:
    """First day of each date's period: ISO week (Monday), calendar month or quarter, or the range.

    datetime.date values, or pandas timestamps with `as_dates=False` (faster to group by)."""
    days = pd.to_datetime(dates)
    if grain == "day":
        first = days
    elif grain == "week":
        first = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    elif grain == "month":
        first = days.dt.to_period("M").dt.start_time
    elif grain == "quarter":
        first = days.dt.to_period("Q").dt.start_time
    elif grain == "range":
        first = pd.Series(pd.Timestamp(start), index=days.index)
    else:
        raise ValueError(f"unknown grain {grain!r}; one of {GRAINS}")
    return first.dt.date if as_dates else first


def _rows(
    table: str, columns: list[str], start, end, store_ids, extra: str = "", params=(), timestamps: bool = False
) -> pd.DataFrame:
    """Rollup rows of start … end; `date` as datetime.date, or pandas timestamps (`timestamps`).
    store_ids None: every store."""
    where, values = sql_in("store_id", store_ids) if store_ids is not None else ("", [])
    frame = frame_query(
        f"SELECT {', '.join(columns)} FROM {table} WHERE date BETWEEN %s AND %s{where}{extra}",
        [start, end, *values, *params],
        columns,
    )
    if timestamps:
        frame["date"] = pd.to_datetime(frame["date"])
    elif not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


_MEMBER_SUMS = ["sessions", "unanswered_sessions", "answered_sessions", "response_seconds", "answered_15s",
                "answered_30s", "answered_180s", "paid_orders", "refunded_orders", "items", "gmv_cents",
                "refund_cents"]  # fmt: skip
_STORE_SUMS = ["uv", "pv", "cart_adds", "orders_placed", "paid_orders", "gmv_cents", "refund_cents", "silent_gmv_cents"]


@dataclass(frozen=True)
class MemberRows:
    """The day rollups a set of member or team KPI tables is computed from, read once.

    days: member-day rows; buyers: inquiry buyer-day rows (with the hour); store_days: the
    stores' day rows (for the share of store sales). Dates are pandas timestamps; buyers are
    integer codes (counting distinct codes is what the KPIs need, and much faster than text)."""

    days: pd.DataFrame
    buyers: pd.DataFrame
    store_days: pd.DataFrame

    def between(self, start: dt.date, end: dt.date) -> MemberRows:
        return MemberRows(*(_between_days(frame, start, end) for frame in (self.days, self.buyers, self.store_days)))


def _between_days(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.loc[(frame["date"] >= pd.Timestamp(start)) & (frame["date"] <= pd.Timestamp(end))]


def member_rows_load(*, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None) -> MemberRows:
    """Member-day, buyer-day and store-day rollup rows of start … end (three indexed reads)."""
    extra, params = sql_filters(member_id=member_ids, team_id=team_ids)
    days = _rows("metrics_memberday", ["store_id", "date", "member_id", "team_id", *_MEMBER_SUMS],
                 start, end, store_ids, extra, params, timestamps=True)  # fmt: skip
    buyers = _rows(
        "metrics_inquirybuyerday",
        ["store_id", "date", "hour", "member_id", "team_id", "buyer", "ordered", "paid"],
        start, end, store_ids, extra + " AND member_id IS NOT NULL", params, timestamps=True,
    )  # fmt: skip
    if not buyers.empty:
        buyers["ordered"], buyers["paid"] = buyers["ordered"].astype(bool), buyers["paid"].astype(bool)
        buyers["buyer"] = pd.factorize(buyers["buyer"])[0]
    store_days = _rows("metrics_storeday", ["store_id", "date", *_STORE_SUMS], start, end, store_ids, timestamps=True)
    return MemberRows(days, buyers, store_days)


def measures_member(
    *,
    level: str,
    grain: str,
    start: dt.date,
    end: dt.date,
    store_ids=None,
    member_ids=None,
    team_ids=None,
    rows: MemberRows | None = None,
) -> pd.DataFrame:
    """Member or team measures per (store, entity, period): cohort by the session's local day.

    `rows` (already read, covering start … end) spares the reads when a page needs several
    tables of the same rows; otherwise they are read here."""
    if rows is None:
        rows = member_rows_load(start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids)
    else:
        rows = rows.between(start, end)
    entity = "member_id" if level == Level.MEMBER else "team_id"
    days, buyers = rows.days.dropna(subset=[entity]), rows.buyers.dropna(subset=[entity])
    keys = ["store_id", entity, "period_start"]
    if days.empty:
        return pd.DataFrame(columns=[*keys, *_MEMBER_SUMS])
    days = days.assign(period_start=period_start(days["date"], grain=grain, start=start, as_dates=False))
    measures = days.groupby(keys)[_MEMBER_SUMS].sum()
    measures["working_days"] = days.loc[days["sessions"] > 0].groupby(keys)["date"].nunique()
    if not buyers.empty:
        buyers = buyers.assign(period_start=period_start(buyers["date"], grain=grain, start=start, as_dates=False))
        measures["inquiring_buyers"] = buyers.groupby(keys)["buyer"].nunique()
        measures["ordered_buyers"] = buyers.loc[buyers["ordered"]].groupby(keys)["buyer"].nunique()
        measures["paid_buyers"] = buyers.loc[buyers["paid"]].groupby(keys)["buyer"].nunique()
    store_gmv = _store_day_totals(rows.store_days, grain=grain, start=start, as_dates=False)["store_gmv_cents"]
    measures = measures.join(store_gmv, on=["store_id", "period_start"])
    for name in ("inquiring_buyers", "ordered_buyers", "paid_buyers"):
        if name not in measures:
            measures[name] = 0
    measures = measures.fillna(0).reset_index().rename(columns={entity: "entity_id"})
    measures["period_start"] = measures["period_start"].dt.date
    return measures


def measures_store_day_sums(*, grain: str, start: dt.date, end: dt.date, store_ids) -> pd.DataFrame:
    days = _rows("metrics_storeday", ["store_id", "date", *_STORE_SUMS], start, end, store_ids)
    return _store_day_totals(days, grain=grain, start=start)


def _store_day_totals(days: pd.DataFrame, *, grain: str, start: dt.date, as_dates: bool = True) -> pd.DataFrame:
    """Store-day rows summed per (store, period), the store's own order figures renamed."""
    if days.empty:
        return pd.DataFrame(
            columns=["store_gmv_cents"], index=pd.MultiIndex.from_tuples([], names=["store_id", "period_start"])
        )
    days = days.assign(period_start=period_start(days["date"], grain=grain, start=start, as_dates=as_dates))
    totals = days.groupby(["store_id", "period_start"])[_STORE_SUMS].sum()
    return totals.rename(
        columns={
            "paid_orders": "store_paid_orders",
            "gmv_cents": "store_gmv_cents",
            "refund_cents": "store_refund_cents",
        }
    )


def measures_store(*, grain: str, start: dt.date, end: dt.date, store_ids) -> pd.DataFrame:
    """Store measures per (store, period): orders by creation day, traffic by date."""
    measures = measures_store_day_sums(grain=grain, start=start, end=end, store_ids=store_ids)
    # Paid buyer-days up to a week past the end: a repurchase within 7 days may fall after it.
    paid_days = _rows(
        "metrics_storebuyerday",
        ["store_id", "date", "buyer", "paid_orders"],
        start,
        end + dt.timedelta(days=REPURCHASE_DAYS),
        store_ids,
        " AND paid_orders > 0",
    )
    buyers = paid_days.loc[paid_days["date"] <= end] if not paid_days.empty else paid_days
    inquiries = _rows("metrics_inquirybuyerday", ["store_id", "date", "buyer"], start, end, store_ids)
    keys = ["store_id", "period_start"]
    if not buyers.empty:
        buyers["period_start"] = period_start(buyers["date"], grain=grain, start=start)
        per_buyer = buyers.groupby([*keys, "buyer"])["paid_orders"].sum().reset_index()
        measures["paying_buyers"] = per_buyer.groupby(keys)["buyer"].nunique()
        measures["repeat_buyers"] = per_buyer.loc[per_buyer["paid_orders"] >= 2].groupby(keys)["buyer"].nunique()
        first = _first_paid_days(store_ids)
        per_buyer = per_buyer.merge(first, on=["store_id", "buyer"], how="left")
        returning = per_buyer.loc[per_buyer["first_paid"] < per_buyer["period_start"]]
        measures["returning_buyers"] = returning.groupby(keys)["buyer"].nunique()
        measures["repurchase_7d_buyers"] = _repurchasers(buyers, paid_days, keys)
    if not inquiries.empty:
        inquiries["period_start"] = period_start(inquiries["date"], grain=grain, start=start)
        measures["store_inquiring_buyers"] = inquiries.groupby(keys)["buyer"].nunique()
    for name in (
        "paying_buyers",
        "repeat_buyers",
        "returning_buyers",
        "store_inquiring_buyers",
        "repurchase_7d_buyers",
    ):
        if name not in measures:
            measures[name] = 0
    return measures.fillna(0).reset_index().assign(entity_id=lambda f: f["store_id"])


REPURCHASE_DAYS = 7


def _repurchasers(buyers: pd.DataFrame, paid_days: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per period: paying buyers who paid again (on a later day) within 7 days after their first
    paid day in the period."""
    first = buyers.groupby([*keys, "buyer"])["date"].min().rename("first").reset_index()
    later = first.merge(paid_days[["store_id", "buyer", "date"]], on=["store_id", "buyer"])
    gap = (pd.to_datetime(later["date"]) - pd.to_datetime(later["first"])).dt.days
    again = later.loc[(gap > 0) & (gap <= REPURCHASE_DAYS)]
    return again.groupby(keys)["buyer"].nunique()


def _first_paid_days(store_ids) -> pd.DataFrame:
    """Each buyer's first paid order day in the store, over all imported history."""
    where, values = sql_in("store_id", store_ids)
    first = frame_query(
        f"SELECT store_id, buyer, MIN(date) FROM metrics_storebuyerday WHERE paid_orders > 0{where} "
        "GROUP BY store_id, buyer",
        values,
        ["store_id", "buyer", "first_paid"],
    )
    first["first_paid"] = pd.to_datetime(first["first_paid"]).dt.date
    return first


def kpi_values(measures: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """Add one column per KPI of the level (registry formulas) to a frame of measures.

    Money KPIs are Decimal yuan (two places); rates are fractions; counts, seconds and days are
    numbers; a ratio whose denominator is zero is None."""
    # Object columns: an undefined value stays None (a float column would turn it into NaN).
    values = {kpi.key: pd.Series(_evaluate(kpi, kpi.formula(level), measures), dtype=object) for kpi in kpis_for(level)}
    keys = [c for c in ("store_id", "entity_id", "period_start") if c in measures]
    return pd.concat([measures[keys].reset_index(drop=True), pd.DataFrame(values)], axis=1)


def _evaluate(kpi: Kpi, formula: Formula, frame: pd.DataFrame) -> list:
    def column(name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype="float64") if name in frame else np.zeros(len(frame))

    if formula.denominator:
        numerator, denominator = column(formula.numerator), column(formula.denominator)
        if kpi.unit == Unit.MONEY:  # cents ÷ count → yuan, exactly, rounded half up to the cent
            return [
                (Decimal(int(n)) / Decimal(int(d)) / 100).quantize(_CENT, ROUND_HALF_UP) if d else None
                for n, d in zip(numerator, denominator, strict=True)
            ]
        scale = formula.scale
        return [float(n / d * scale) if d else None for n, d in zip(numerator, denominator, strict=True)]
    value = column(formula.measure) - (column(formula.minus) if formula.minus else 0)
    if kpi.unit == Unit.MONEY:
        return [(Decimal(int(v)) / 100).quantize(_CENT) for v in value]
    return [int(v) for v in value]


def kpi_table(
    *,
    level: str,
    grain: str,
    start: dt.date,
    end: dt.date,
    store_ids=None,
    member_ids=None,
    team_ids=None,
    rows: MemberRows | None = None,
) -> pd.DataFrame:
    """One row per (store, entity, period) with every KPI of the level, ordered.

    Member and team tables may be computed from `rows` already read (see MemberRows)."""
    if level == Level.STORE:
        measures = measures_store(grain=grain, start=start, end=end, store_ids=store_ids)
    else:
        measures = measures_member(
            level=level,
            grain=grain,
            start=start,
            end=end,
            store_ids=store_ids,
            member_ids=member_ids,
            team_ids=team_ids,
            rows=rows,
        )
    if measures.empty:
        return pd.DataFrame(columns=["store_id", "entity_id", "period_start", *(k.key for k in kpis_for(level))])
    measures["entity_id"] = measures["entity_id"].astype("int64")
    table = kpi_values(measures, level=level)
    return table.sort_values(["store_id", "period_start", "entity_id"], kind="stable").reset_index(drop=True)
