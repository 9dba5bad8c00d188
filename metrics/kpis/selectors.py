"""KPI values for any level, grain and date range, computed from the day rollups.

Additive measures are sums of day rows; distinct-buyer measures are counted from the buyer-day
tables over the whole period and group; every KPI is then its registry formula over those
measures (a rate is recomputed from numerator and denominator, empty when the denominator is 0).
Nothing here reads the fact tables, except for stores with leads or calls (a cheap EXISTS check
first): the leads touched and the pipeline at each period's end are read from the stage history
(see `metrics.kpis.sales` and docs/sales-kpis.md).
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from django.db import connection

from metrics.db import sql_in
from metrics.kpis import grouping
from metrics.kpis.frames import MEMBER_SUMS, STORE_SUMS, rollup_frames_get
from metrics.kpis.grouping import GRAINS, Columns, period_start  # noqa: F401 (GRAINS: re-read by the API and the command)
from metrics.kpis.sales import sales_measures_get, stores_have_sales_facts
from metrics.registry import Formula, Kpi, Level, Unit, kpi_get, kpis_for
from teams.models import Store

_CENT = Decimal("0.01")


_MEMBER_SUMS = list(MEMBER_SUMS)
_STORE_SUMS = list(STORE_SUMS)


@dataclass(frozen=True)
class MemberRows:
    """The day rollups a set of member or team KPI tables is computed from, read once.

    days: member-day rows; buyers: inquiry buyer-day rows (with the hour); store_days: the
    stores' day rows (for the share of store sales); as grouping.Columns (numpy arrays). Dates
    are datetime64; buyers are integer codes (counting distinct codes is what the KPIs need, and
    much faster than text). store_ids, member_ids, team_ids: the filters they were read with
    (None: not filtered), which the measures read at query time (pipeline, targets) apply in turn."""

    days: Columns
    buyers: Columns
    store_days: Columns
    store_ids: list[int] | None = None
    member_ids: list[int] | None = None
    team_ids: list[int] | None = None
    # Whether the stores have leads or calls (the per-query sales measures run only then), read
    # once with the rows so the several tables of a page do not ask again; None: not known yet.
    has_sales: bool | None = None

    def between(self, start: dt.date, end: dt.date) -> MemberRows:
        frames = (_between_days(rows, start, end) for rows in (self.days, self.buyers, self.store_days))
        return MemberRows(*frames, store_ids=self.store_ids, member_ids=self.member_ids, team_ids=self.team_ids,
                          has_sales=self.has_sales)  # fmt: skip

    def of_member(self, member_id: int) -> MemberRows:
        """The member's own rows (the store days stay: they are the store's)."""
        days, buyers = (rows.where(rows["member_id"] == member_id) for rows in (self.days, self.buyers))
        return MemberRows(days, buyers, self.store_days, store_ids=self.store_ids, member_ids=[member_id],
                          team_ids=self.team_ids, has_sales=self.has_sales)  # fmt: skip


def _between_days(rows: Columns, start: dt.date, end: dt.date) -> Columns:
    if rows.empty:
        return rows
    days = rows["date"]
    return rows.where((days >= np.datetime64(start)) & (days <= np.datetime64(end)))


def member_rows_load(*, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None) -> MemberRows:
    """Member-day, buyer-day and store-day rollup rows of start … end (metrics.selectors.
    rollup_frames: a store's months, cached by each month's version). store_ids None: every store."""
    if store_ids is None:
        store_ids = list(Store.objects.values_list("pk", flat=True))
    frames = rollup_frames_get(store_ids=store_ids, start=start, end=end, tables=("days", "buyers", "store_days"))
    days, buyers = frames["days"], frames["buyers"]
    buyers = _with(buyers, "member_id")
    days, buyers = (
        _only(days, member_ids=member_ids, team_ids=team_ids),
        _only(buyers, member_ids=member_ids, team_ids=team_ids),
    )
    as_list = lambda ids: None if ids is None else list(ids)  # noqa: E731
    return MemberRows(days, buyers, frames["store_days"], as_list(store_ids), as_list(member_ids), as_list(team_ids),
                      has_sales=stores_have_sales_facts(store_ids=store_ids))  # fmt: skip


def _only(rows: Columns, *, member_ids, team_ids) -> Columns:
    """The rows of the members and teams (None: any; as SQL's IN, a missing id matches nothing)."""
    for column, ids in (("member_id", member_ids), ("team_id", team_ids)):
        if ids is not None:
            rows = rows.where(np.isin(rows[column], list(ids)))
    return rows


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
    """Member or team measures per (store, entity, period): cohort by the session's local day;
    sales measures by the event's local day, and those of `metrics.kpis.sales`. As a frame, with
    period_start as dates (kpi_table computes from `_member_measures`' arrays)."""
    rows = _rows_of(start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids, rows=rows)
    measures = _member_measures(level=level, grain=grain, start=start, end=end, rows=rows)
    if measures is None:
        entity = "member_id" if level == Level.MEMBER else "team_id"
        return pd.DataFrame(columns=["store_id", entity, "period_start", *_MEMBER_SUMS])
    return _as_frame(measures)


def _as_frame(measures: Columns) -> pd.DataFrame:
    columns = {name: measures[name] for name in measures.names}
    columns["period_start"] = grouping.days_as_dates(measures["period_start"])
    return pd.DataFrame(columns)


def _rows_of(*, start: dt.date, end: dt.date, store_ids, member_ids, team_ids, rows: MemberRows | None) -> MemberRows:
    """The rows of start … end: those given, already read for a wider range (a page reads its
    rows once for several tables), else read here."""
    if rows is None:
        return member_rows_load(start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids)
    return rows.between(start, end)


def _member_measures(*, level: str, grain: str, start: dt.date, end: dt.date, rows: MemberRows) -> Columns | None:
    """measures_member's figures as arrays (period_start: day numbers) from the rows of start …
    end (`_rows_of`); None when there are none."""
    entity = "member_id" if level == Level.MEMBER else "team_id"
    has_sales = rows.has_sales if rows.has_sales is not None else stores_have_sales_facts(store_ids=rows.store_ids)
    sales = sales_measures_get(
        level=level, grain=grain, start=start, end=end,
        store_ids=rows.store_ids, member_ids=rows.member_ids, team_ids=rows.team_ids, has_sales=True,
    ) if has_sales else None  # fmt: skip
    no_sales = sales is None or sales.empty
    days, buyers = rows.days, rows.buyers
    days, buyers = _with(days, entity), _with(buyers, entity)
    if days.empty and no_sales:
        return None
    # Keys as integers: store, entity, the period's first day (grouping.day_numbers).
    day_keys = [days["store_id"], days[entity], _period_days(days, grain, start)]
    buyer_keys = [buyers["store_id"], buyers[entity], _period_days(buyers, grain, start)]
    sales_keys = None if no_sales else [sales.index.get_level_values(i).to_numpy() for i in range(3)]
    if sales_keys is not None:
        sales_keys[2] = grouping.day_numbers(sales_keys[2])
    frames = [day_keys, buyer_keys] + ([sales_keys] if sales_keys is not None else [])
    codes = grouping.KeyCodes(*([frame[i] for frame in frames] for i in range(3)))
    day_codes = codes.encode(*day_keys)
    groups, sums = grouping.group_sums(day_codes, days.matrix(_MEMBER_SUMS))
    measures = dict(zip(_MEMBER_SUMS, sums.T, strict=True))
    # Working days: distinct days with a session, per group (a team has several members a day).
    worked = days["sessions"] > 0
    worked_on = grouping.day_numbers(days["date"])[worked]
    if len(worked_on):
        worked_on = worked_on - worked_on.min()  # distinct_count counts items from 0
    worked_groups, worked_days = grouping.distinct_count(day_codes[worked], worked_on)
    measures["working_days"] = grouping.lookup(groups, worked_groups, worked_days)
    if sales_keys is not None:
        # Outer: an owner with only open deals at the period's end, or only a target, has a row.
        sales_codes = codes.encode(*sales_keys)
        everything = grouping.sorted_unique(np.concatenate([groups, sales_codes]))
        measures = {name: grouping.lookup(everything, groups, column) for name, column in measures.items()}
        order = np.argsort(sales_codes, kind="stable")
        for name in sales.columns:
            column = sales[name].to_numpy()[order]
            measures[name] = grouping.lookup(everything, sales_codes[order], column)
        groups = everything
    if len(buyers):
        found, inquiring, (ordered, paid) = grouping.distinct_flagged(
            codes.encode(*buyer_keys), buyers["buyer"], [buyers["ordered"], buyers["paid"]]
        )
        for name, counts in (("inquiring_buyers", inquiring), ("ordered_buyers", ordered), ("paid_buyers", paid)):
            measures[name] = grouping.lookup(groups, found, counts)
    else:
        for name in ("inquiring_buyers", "ordered_buyers", "paid_buyers"):
            measures[name] = np.zeros(len(groups), dtype=np.int64)
    store_ids_of, entity_ids, period_days = codes.decode(groups)
    measures["store_gmv_cents"] = _store_gmv(rows.store_days, grain, start, store_ids_of, period_days)
    return Columns({"store_id": store_ids_of, "entity_id": entity_ids, "period_start": period_days, **measures})


def _with(rows: Columns, column: str) -> Columns:
    """The rows that have a value in `column` (a member-day of a member without a team has none)."""
    values = rows[column]
    return rows if values.dtype.kind in "iu" else rows.where(~np.isnan(values))


def _period_days(rows: Columns, grain: str, start: dt.date) -> np.ndarray:
    if not len(rows):
        return np.empty(0, dtype=np.int64)
    return grouping.period_start_days(grouping.day_numbers(rows["date"]), grain=grain, start=start)


def _store_gmv(store_days: Columns, grain: str, start: dt.date, store_ids, period_days) -> np.ndarray:
    """The store's GMV (cents) in each (store, period) given, by order creation."""
    if not len(store_days) or not len(store_ids):
        return np.zeros(len(store_ids), dtype=np.int64)
    day_periods = _period_days(store_days, grain, start)
    codes = grouping.KeyCodes([store_days["store_id"], store_ids], [day_periods, period_days])
    found, sums = grouping.group_sums(
        codes.encode(store_days["store_id"], day_periods), store_days.matrix(["gmv_cents"])
    )
    return grouping.lookup(codes.encode(store_ids, period_days), found, sums[:, 0])


_STORE_RENAMED = {
    "paid_orders": "store_paid_orders",
    "gmv_cents": "store_gmv_cents",
    "refund_cents": "store_refund_cents",
}
STORE_BUYER_MEASURES = (
    "paying_buyers",
    "repeat_buyers",
    "returning_buyers",
    "store_inquiring_buyers",
    "repurchase_7d_buyers",
)
# The distinct-buyer measures read from the stores' paid buyer-days since their first paid day
# (the costly part of a store table: skipped when no KPI asked for needs one).
_PAID_BUYER_MEASURES = frozenset(STORE_BUYER_MEASURES) - {"store_inquiring_buyers"}
REPURCHASE_DAYS = 7


def measures_store(*, grain: str, start: dt.date, end: dt.date, store_ids) -> pd.DataFrame:
    """Store measures per (store, period): orders by creation day, traffic by date (a frame, as
    measures_member)."""
    measures = _store_measures(grain=grain, start=start, end=end, store_ids=store_ids)
    if measures is None:
        columns = ["store_id", "period_start", *(_STORE_RENAMED.get(c, c) for c in _STORE_SUMS), *STORE_BUYER_MEASURES]
        return pd.DataFrame(columns=[*columns, "entity_id"])
    return _as_frame(measures)


def _store_measures(
    *, grain: str, start: dt.date, end: dt.date, store_ids, only: Iterable[str] | None = None
) -> Columns | None:
    """Store measures per (store, period) as arrays (period_start: day numbers); None when none.
    `only`: the KPIs (keys) the caller computes; the paid-buyer measures are left at 0 when none
    of them needs one.

    Read from the stores' rollup months (metrics.kpis.frames) and counted with numpy:
    a year of a store is about a million buyer-days, which took the database and pandas a minute
    and then ten seconds (docs/load.md)."""
    store_ids = sorted(set(store_ids))
    frames = rollup_frames_get(store_ids=store_ids, start=start, end=end, tables=("store_days", "buyers"))
    days, inquiries = frames["store_days"], frames["buyers"]
    # A row per (store, period) with store days (orders or traffic). When none of the stores has
    # any, a row per (store, period) with chats: a shop whose orders are not imported yet still
    # shows its inquiries (as before; a store without store days among others has no row).
    rows_of = days if len(days) else inquiries
    if rows_of.empty:
        return None
    group_keys = [rows_of["store_id"], _period_days(rows_of, grain, start)]
    codes = grouping.KeyCodes(*([keys] for keys in group_keys))
    groups = grouping.sorted_unique(codes.encode(*group_keys))
    found, sums = grouping.group_sums(
        codes.encode(days["store_id"], _period_days(days, grain, start)), days.matrix(_STORE_SUMS)
    )
    measures = {
        _STORE_RENAMED.get(name, name): grouping.lookup(groups, found, column)
        for name, column in zip(_STORE_SUMS, sums.T, strict=True)
    }
    paid_needed = only is None or any(
        measure in _PAID_BUYER_MEASURES
        for key in only
        for measure in (kpi_get(key).formula(Level.STORE) or Formula()).measures
    )
    measures.update(_store_buyer_measures(grain=grain, start=start, end=end, store_ids=store_ids, codes=codes,
                                          groups=groups, inquiries=inquiries, paid=paid_needed))  # fmt: skip
    store_of, period_days = codes.decode(groups)
    return Columns({"store_id": store_of, "period_start": period_days, **measures, "entity_id": store_of})


def _store_buyer_measures(
    *,
    grain: str,
    start: dt.date,
    end: dt.date,
    store_ids: list[int],
    codes,
    groups,
    inquiries: Columns,
    paid: bool = True,
) -> dict[str, np.ndarray]:
    """The distinct-buyer measures of the store groups (`groups`, coded by `codes`): paying,
    repeat (two paid orders or more in the period), returning (first paid order in the store,
    over all history, before the period), 7-day repurchase, and inquiring buyers. `paid` False:
    inquiring buyers only (the others stay 0)."""
    measures = {name: np.zeros(len(groups), dtype=np.int64) for name in STORE_BUYER_MEASURES}
    if len(inquiries):
        inquiry_codes, keep = _codes_of_known(codes, inquiries, grain, start)
        found, counts = grouping.distinct_count(inquiry_codes, inquiries["buyer"][keep])
        measures["store_inquiring_buyers"] = grouping.lookup(groups, found, counts)
    if not paid:
        return measures
    # Paid buyer-days from the stores' first paid day (a buyer's first paid order decides whether
    # they return) to a week past the end (a repurchase within 7 days may fall after it).
    first_day = _first_paid_day(store_ids)
    if first_day is None or first_day > end:
        return measures
    paid = rollup_frames_get(
        store_ids=store_ids, start=first_day, end=end + dt.timedelta(days=REPURCHASE_DAYS), tables=("store_buyers",)
    )["store_buyers"]
    paid = paid.where(paid["paid_orders"] > 0)
    if paid.empty:
        return measures
    day = grouping.day_numbers(paid["date"])
    store, buyer, orders = paid["store_id"], paid["buyer"], paid["paid_orders"]
    # One code per (store, buyer); each one's first paid day up to the end.
    width = int(buyer.max()) + 1
    store_buyer = np.searchsorted(np.asarray(store_ids), store) * width + buyer
    until_end = day <= grouping.day_number(end)
    first_codes, first_paid = grouping.group_min(store_buyer[until_end], day[until_end])
    inside = until_end & (day >= grouping.day_number(start))
    if not inside.any():
        return measures
    period_codes, keep = _codes_of_known(codes, paid.where(inside), grain, start)
    pb_store_buyer, pb_day, pb_orders = store_buyer[inside][keep], day[inside][keep], orders[inside][keep]
    # Per (store group, buyer): paid orders in the period, first paid day in it.
    pair_width = int(store_buyer.max()) + 1
    pair = period_codes * pair_width + pb_store_buyer
    pairs, pair_orders = grouping.group_sums(pair, pb_orders.reshape(-1, 1))
    _pairs, pair_first = grouping.group_min(pair, pb_day)
    pair_group, pair_buyer = pairs // pair_width, pairs % pair_width
    _store_of, period_start_days = codes.decode(pair_group)
    returning = grouping.lookup(pair_buyer, first_codes, first_paid, default=np.iinfo(np.int64).max) < period_start_days
    # Repurchase: a paid day of the same (store, buyer) after the first in the period, within 7 days.
    ordered = np.sort(store_buyer * grouping.DAY_SPAN + (day - day.min()))
    base = pair_buyer * grouping.DAY_SPAN + (pair_first - day.min())
    position = np.searchsorted(ordered, base, side="right")
    following = ordered[np.minimum(position, len(ordered) - 1)]
    again = (
        (position < len(ordered))
        & (following // grouping.DAY_SPAN == pair_buyer)
        & (following - base <= REPURCHASE_DAYS)
    )
    for name, flag in (
        ("paying_buyers", np.ones(len(pairs), dtype=bool)),
        ("repeat_buyers", pair_orders[:, 0] >= 2),
        ("returning_buyers", returning),
        ("repurchase_7d_buyers", again),
    ):
        found, counts = grouping.group_sums(pair_group[flag], np.ones((int(flag.sum()), 1), dtype=np.int64))
        measures[name] = grouping.lookup(groups, found, counts[:, 0])
    return measures


def _codes_of_known(codes, rows: Columns, grain: str, start: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """The codes of the rows whose store and period are both among the table's (`keep`: which
    rows those are); a combination that is no group of the table is dropped by the lookups."""
    store, period = rows["store_id"], _period_days(rows, grain, start)
    known_stores, known_periods = codes.values
    keep = np.isin(store, known_stores) & np.isin(period, known_periods)
    return codes.encode(store[keep], period[keep]), keep


def _first_paid_day(store_ids: list[int]) -> dt.date | None:
    """The stores' first day with a paid order (one indexed read)."""
    where, values = sql_in("store_id", store_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(date) FROM metrics_storebuyerday WHERE paid_orders > 0{where}", values)
        first = cursor.fetchone()[0]
    return dt.date.fromisoformat(first) if isinstance(first, str) else first


def kpi_values(measures: pd.DataFrame | Columns, *, level: str, only: Iterable[str] | None = None) -> pd.DataFrame:
    """Add one column per KPI of the level (registry formulas) to a frame of measures; `only`:
    just those KPIs (keys), for a table of which a page shows one or two.

    Money KPIs are Decimal yuan (two places); rates are fractions; counts, seconds and days are
    numbers; a ratio whose denominator is zero is None."""
    measures = Columns.of(measures)
    keys = {c: measures[c] for c in ("store_id", "entity_id", "period_start") if c in measures}
    return pd.DataFrame({**keys, **_kpi_columns(measures, level=level, only=only)})


def _kpi_columns(measures: Columns, *, level: str, only: Iterable[str] | None) -> dict[str, np.ndarray]:
    wanted = None if only is None else set(only)
    # Object columns: an undefined value stays None (a float column would turn it into NaN).
    return {kpi.key: _evaluate(kpi, kpi.formula(level), measures) for kpi in kpis_for(level)
            if wanted is None or kpi.key in wanted}  # fmt: skip


def _evaluate(kpi: Kpi, formula: Formula, measures: Columns) -> np.ndarray:
    """The KPI's value on every row, as an object array (Decimal, float, int or None)."""

    def column(name: str) -> np.ndarray:
        return measures[name].astype("float64") if name in measures else np.zeros(len(measures))

    result = np.full(len(measures), None, dtype=object)
    if formula.denominator:
        numerator, denominator = column(formula.numerator), column(formula.denominator)
        defined = np.flatnonzero(denominator != 0)  # a ratio over zero is undefined: None
        if kpi.unit == Unit.MONEY:  # cents ÷ count → yuan, exactly, rounded half up to the cent
            result[defined] = [
                (Decimal(int(n)) / Decimal(int(d)) / 100).quantize(_CENT, ROUND_HALF_UP)
                for n, d in zip(numerator[defined], denominator[defined], strict=True)
            ]
        else:
            result[defined] = (numerator[defined] / denominator[defined] * formula.scale).tolist()  # Python floats
        return result
    value = column(formula.measure) - (column(formula.minus) if formula.minus else 0)
    if kpi.unit == Unit.MONEY:
        result[:] = [(Decimal(int(v)) / 100).quantize(_CENT) for v in value]
    else:
        result[:] = value.astype(np.int64).tolist()  # truncated toward zero, as int()
    return result


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
    only: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per (store, entity, period) with every KPI of the level (`only`: just those
    keys), ordered.

    Member and team tables may be computed from `rows` already read (see MemberRows)."""
    if level == Level.STORE:
        only = None if only is None else list(only)
        measures = _store_measures(grain=grain, start=start, end=end, store_ids=store_ids, only=only)
    else:
        rows = _rows_of(start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids, rows=rows)
        measures = _member_measures(level=level, grain=grain, start=start, end=end, rows=rows)
    if measures is None or measures.empty:
        keys = [k.key for k in kpis_for(level) if only is None or k.key in set(only)]
        return pd.DataFrame(columns=["store_id", "entity_id", "period_start", *keys])
    store_ids_of, entity_ids = measures["store_id"].astype(np.int64), measures["entity_id"].astype(np.int64)
    period_days = measures["period_start"]
    order = np.lexsort((entity_ids, period_days, store_ids_of))  # by store, period, entity
    values = _kpi_columns(measures, level=level, only=only)
    return pd.DataFrame(
        {
            "store_id": store_ids_of[order],
            "entity_id": entity_ids[order],
            "period_start": grouping.days_as_dates(period_days[order]),
            **{key: column[order] for key, column in values.items()},
        }
    )
