"""KPI values for any level, grain and date range, computed from the day rollups.

Additive measures are sums of day rows; distinct-buyer measures are counted from the buyer-day
tables over the whole period and group; every KPI is then its registry formula over those
measures (a rate is recomputed from numerator and denominator, empty when the denominator is 0).
Nothing here reads the fact tables.
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from metrics.db import frame_query, sql_filters, sql_in
from metrics.registry import Formula, Kpi, Level, Unit, kpis_for

GRAINS = ("day", "week", "month", "quarter", "range")
_CENT = Decimal("0.01")


def period_start(dates: pd.Series, *, grain: str, start: dt.date) -> pd.Series:
    """First day of each date's period: ISO week (Monday), calendar month or quarter, or the range."""
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
    return first.dt.date


def _rows(table: str, columns: list[str], start, end, store_ids, extra: str = "", params=()) -> pd.DataFrame:
    where, values = sql_in("store_id", store_ids)
    frame = frame_query(
        f"SELECT {', '.join(columns)} FROM {table} WHERE date BETWEEN %s AND %s{where}{extra}",
        [start, end, *values, *params],
        columns,
    )
    frame["date"] = pd.to_datetime(frame["date"]).dt.date if not frame.empty else frame["date"]
    return frame


def measures_member(
    *, level: str, grain: str, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None
) -> pd.DataFrame:
    """Member or team measures per (store, entity, period): cohort by the session's local day."""
    entity = "member_id" if level == Level.MEMBER else "team_id"
    extra, params = sql_filters(member_id=member_ids, team_id=team_ids)
    sums = ["sessions", "unanswered_sessions", "answered_sessions", "response_seconds", "paid_orders",
            "refunded_orders", "items", "gmv_cents", "refund_cents"]  # fmt: skip
    days = _rows("metrics_memberday", ["store_id", "date", entity, *sums], start, end, store_ids, extra, params)
    buyers = _rows(
        "metrics_inquirybuyerday",
        ["store_id", "date", entity, "buyer", "ordered", "paid"],
        start, end, store_ids, extra + f" AND {entity} IS NOT NULL", params,
    )  # fmt: skip
    keys = ["store_id", entity, "period_start"]
    if days.empty:
        return pd.DataFrame(columns=[*keys, *sums])
    days["period_start"] = period_start(days["date"], grain=grain, start=start)
    buyers["period_start"] = period_start(buyers["date"], grain=grain, start=start) if not buyers.empty else []
    days = days.dropna(subset=[entity])
    measures = days.groupby(keys)[sums].sum()
    measures["working_days"] = days.loc[days["sessions"] > 0].groupby(keys)["date"].nunique()
    for name, mask in (("inquiring_buyers", None), ("ordered_buyers", "ordered"), ("paid_buyers", "paid")):
        chosen = buyers if mask is None else buyers.loc[buyers[mask].astype(bool)]
        measures[name] = chosen.groupby(keys)["buyer"].nunique()
    store_gmv = measures_store_day_sums(grain=grain, start=start, end=end, store_ids=store_ids)["store_gmv_cents"]
    measures = measures.join(store_gmv, on=["store_id", "period_start"])
    return measures.fillna(0).reset_index().rename(columns={entity: "entity_id"})


def measures_store_day_sums(*, grain: str, start: dt.date, end: dt.date, store_ids) -> pd.DataFrame:
    sums = [
        "uv",
        "pv",
        "cart_adds",
        "orders_placed",
        "paid_orders",
        "gmv_cents",
        "refund_cents",
        "silent_gmv_cents",
    ]
    days = _rows("metrics_storeday", ["store_id", "date", *sums], start, end, store_ids)
    if days.empty:
        return pd.DataFrame(
            columns=["store_gmv_cents"], index=pd.MultiIndex.from_tuples([], names=["store_id", "period_start"])
        )
    days["period_start"] = period_start(days["date"], grain=grain, start=start)
    totals = days.groupby(["store_id", "period_start"])[sums].sum()
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
    buyers = _rows(
        "metrics_storebuyerday",
        ["store_id", "date", "buyer", "paid_orders"],
        start,
        end,
        store_ids,
        " AND paid_orders > 0",
    )
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
    if not inquiries.empty:
        inquiries["period_start"] = period_start(inquiries["date"], grain=grain, start=start)
        measures["store_inquiring_buyers"] = inquiries.groupby(keys)["buyer"].nunique()
    for name in ("paying_buyers", "repeat_buyers", "returning_buyers", "store_inquiring_buyers"):
        if name not in measures:
            measures[name] = 0
    return measures.fillna(0).reset_index().assign(entity_id=lambda f: f["store_id"])


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
        return [float(n / d) if d else None for n, d in zip(numerator, denominator, strict=True)]
    value = column(formula.measure) - (column(formula.minus) if formula.minus else 0)
    if kpi.unit == Unit.MONEY:
        return [(Decimal(int(v)) / 100).quantize(_CENT) for v in value]
    return [int(v) for v in value]


def kpi_table(
    *, level: str, grain: str, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None
) -> pd.DataFrame:
    """One row per (store, entity, period) with every KPI of the level, ordered."""
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
        )
    if measures.empty:
        return pd.DataFrame(columns=["store_id", "entity_id", "period_start", *(k.key for k in kpis_for(level))])
    measures["entity_id"] = measures["entity_id"].astype("int64")
    table = kpi_values(measures, level=level)
    return table.sort_values(["store_id", "period_start", "entity_id"], kind="stable").reset_index(drop=True)
