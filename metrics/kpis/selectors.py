"""KPI values for any level, grain and date range, computed from the day rollups.

Additive measures are sums of day rows; distinct-buyer measures are counted from the buyer-day
tables over the whole period and group; every KPI is then its registry formula over those
measures (a rate is recomputed from numerator and denominator, empty when the denominator is 0).
Nothing here reads the fact tables, except for stores with leads or calls (a cheap EXISTS check
first): the leads touched and the pipeline at each period's end are read from the stage history
(see `_sales_measures` and docs/sales-kpis.md).
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Q

from metrics.db import frame_query, sql_in
from metrics.kpis import grouping
from metrics.kpis.frames import MEMBER_SUMS, STORE_SUMS, rollup_frames_get
from metrics.kpis.grouping import Columns
from metrics.kpis.rollups import stage_order
from metrics.models import LeadStage, Target
from metrics.registry import Formula, Kpi, Level, Unit, kpis_for
from teams.models import Member, Store

GRAINS = ("day", "week", "month", "quarter", "range")
_CENT = Decimal("0.01")


def period_start(dates: pd.Series, *, grain: str, start: dt.date, as_dates: bool = True) -> pd.Series:
    """First day of each date's period: ISO week (Monday), calendar month or quarter, or the range
    (the rule of grouping.period_start_days, for a pandas series).

    datetime.date values, or pandas timestamps with `as_dates=False` (faster to group by)."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; one of {GRAINS}")
    days = grouping.day_numbers(pd.to_datetime(dates)) if len(dates) else np.empty(0, dtype=np.int64)
    first = pd.Series(
        grouping.period_start_days(days, grain=grain, start=start).astype("datetime64[D]").astype("datetime64[s]"),
        index=dates.index,
    )
    return first.dt.date if as_dates else first


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
    sales measures by the event's local day, and those of `_sales_measures`. As a frame, with
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
    sales = _sales_measures(
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


# --- Sales measures that are not sums of day rows (docs/sales-kpis.md) ----------------------

# Targets of these KPIs, at member or team scope, give the denominators of the completion rates.
TARGET_MEASURES = {
    "won_amount": "target_won_cents",
    "collected_amount": "target_collected_cents",
    "new_customers": "target_new_customers",
    "new_product_amount": "target_new_product_cents",
}
SALES_MEASURES = ("leads_touched", "pipeline_cents", *TARGET_MEASURES.values(), "new_hires", "qualified_new_hires")


def stores_have_sales_facts(*, store_ids) -> bool:
    """Whether any of the stores (None: any store) has a lead or a call: two indexed EXISTS."""
    where, values = sql_in("store_id", store_ids) if store_ids is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN EXISTS (SELECT 1 FROM metrics_lead WHERE 1 = 1{where}) "
            f"OR EXISTS (SELECT 1 FROM metrics_call WHERE 1 = 1{where}) THEN 1 ELSE 0 END",
            [*values, *values],
        )
        return bool(cursor.fetchone()[0])


def _sales_measures(
    *, level: str, grain: str, start: dt.date, end: dt.date, store_ids, member_ids, team_ids, has_sales: bool | None
) -> pd.DataFrame:
    """leads_touched, pipeline_cents, the four target measures, new_hires and qualified_new_hires
    per (store, member or team, period start), indexed like the day sums; empty when the stores
    have no leads or calls (shop-service pages pay one EXISTS query)."""
    entity = "member_id" if level == Level.MEMBER else "team_id"
    keys = ["store_id", entity, "period_start"]
    if has_sales is None:
        has_sales = stores_have_sales_facts(store_ids=store_ids)
    if not has_sales:
        return pd.DataFrame(columns=[*keys, *SALES_MEASURES]).set_index(keys)
    ends = _period_ends(grain=grain, start=start, end=end)
    history = _Histories.load()
    filters = {"member_ids": member_ids, "team_ids": team_ids}
    parts = [
        _leads_touched(start=start, end=end, store_ids=store_ids, **filters),
        _pipeline(ends=ends, start=start, end=end, store_ids=store_ids, history=history, **filters),
        _new_hires(level=level, ends=ends, start=start, end=end, store_ids=store_ids, history=history, **filters),
    ]
    frames = []
    for part in parts:
        part = part.dropna(subset=[entity])
        if part.empty:
            continue
        part = part.astype({"store_id": "int64", entity: "int64"})
        part = part.assign(period_start=period_start(part["date"], grain=grain, start=start, as_dates=False))
        frames.append(part.groupby(keys)[[c for c in part.columns if c in SALES_MEASURES]].sum())
        if "lead_id" in part:  # leads touched: distinct over the whole period and group
            frames[-1]["leads_touched"] = part.groupby(keys)["lead_id"].nunique()
    targets = _targets(level=level, start=start, end=end, store_ids=store_ids, history=history, **filters)
    if not targets.empty:
        targets = targets.astype({"store_id": "int64", entity: "int64"})
        targets = targets.assign(period_start=period_start(targets["date"], grain=grain, start=start, as_dates=False))
        sums = targets.groupby(keys)[list(TARGET_MEASURES.values())].sum()
        for name in TARGET_MEASURES.values():
            # cents: whole cents, rounded half up once per period; counts: a number (may be a fraction)
            exact = sums[name].map(Decimal)
            if name.endswith("_cents"):
                sums[name] = [int(value.quantize(Decimal(1), ROUND_HALF_UP)) for value in exact]
            else:
                sums[name] = [float(value) for value in exact]
        frames.append(sums)
    if not frames:
        return pd.DataFrame(columns=[*keys, *SALES_MEASURES]).set_index(keys)
    measures = pd.concat(frames, axis=1).fillna(0)
    for name in SALES_MEASURES:
        if name not in measures:
            measures[name] = 0
    return measures[list(SALES_MEASURES)]


def _period_ends(*, grain: str, start: dt.date, end: dt.date) -> pd.Series:
    """The last day of each period of start … end (cut at `end`), as sorted timestamps."""
    days = pd.Series(pd.date_range(start, end, freq="D"))
    firsts = period_start(days, grain=grain, start=start, as_dates=False)
    return days.groupby(firsts.to_numpy()).max().sort_values().reset_index(drop=True)


def _timestamps(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column.astype(str)) if not column.empty else pd.to_datetime(column)


@dataclass(frozen=True)
class _Histories:
    """Account assignments and team memberships (with the team's store), dates as timestamps; an
    open end is the far future."""

    assignments: pd.DataFrame
    memberships: pd.DataFrame

    @classmethod
    def load(cls) -> _Histories:
        assignments = frame_query(
            "SELECT account_id, member_id, start_date, end_date FROM teams_accountassignment", (),
            ["account_id", "member_id", "start_date", "end_date"],
        )  # fmt: skip
        memberships = frame_query(
            "SELECT tm.member_id, tm.team_id, t.store_id AS team_store_id, tm.start_date, tm.end_date "
            "FROM teams_teammembership tm JOIN teams_team t ON t.id = tm.team_id", (),
            ["member_id", "team_id", "team_store_id", "start_date", "end_date"],
        )  # fmt: skip
        for frame in (assignments, memberships):
            frame["start_date"] = _timestamps(frame["start_date"])
            frame["end_date"] = _timestamps(frame["end_date"].fillna("2200-12-31"))  # open: no end
        return cls(assignments, memberships)

    @staticmethod
    def _on_day(frame: pd.DataFrame, history: pd.DataFrame, key: str, how: str) -> pd.DataFrame:
        """Rows of `frame` with the history row of their `key` covering their `date`."""
        frame = frame.reset_index(drop=True).rename_axis("_row").reset_index()
        merged = frame.merge(history, on=key, how="inner")
        merged = merged.loc[(merged["start_date"] <= merged["date"]) & (merged["date"] <= merged["end_date"])]
        merged = merged.drop(columns=["start_date", "end_date"])
        if how == "left":
            merged = pd.concat([merged, frame.loc[~frame["_row"].isin(merged["_row"])]])
        return merged

    def member_of_account(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (account_id, date) with the member the account was assigned to that day; rows
        of an account assigned to no one are dropped (not credited)."""
        return self._on_day(frame, self.assignments, "account_id", "inner").drop(columns="_row")

    def team_of_member(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (member_id, date) with the member's team that day (the greatest id when there
        are several, as the rollups store; empty when none)."""
        merged = self._on_day(frame, self.memberships.drop(columns="team_store_id"), "member_id", "left")
        merged = merged.sort_values(["_row", "team_id"], na_position="first")
        return merged.drop_duplicates("_row", keep="last").sort_values("_row").drop(columns="_row")

    def teams_of_member(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (member_id, date) with every team (and its store) the member belonged to that day."""
        return self._on_day(frame, self.memberships, "member_id", "inner").drop(columns="_row")


def _filtered(frame: pd.DataFrame, *, member_ids, team_ids) -> pd.DataFrame:
    if member_ids is not None:
        frame = frame.loc[frame["member_id"].isin(list(member_ids))]
    if team_ids is not None:
        frame = frame.loc[frame["team_id"].isin(list(team_ids))]
    return frame


def _leads_touched(*, start: dt.date, end: dt.date, store_ids, member_ids, team_ids) -> pd.DataFrame:
    """(store, day, member, team, lead) of every stage change of the period, for the member of
    the owner's account that day and the member's team that day (as the rollups credit).

    Read from the stage history at query time rather than from a rollup table: a slim
    lead-member-day table would hold about as many rows as the history itself, which the
    (store, changed_date) index already reads by range."""
    where, values = sql_in("h.store_id", store_ids) if store_ids is not None else ("", [])
    frame = frame_query(
        "SELECT h.store_id, h.changed_date, aa.member_id, MAX(tm.team_id), h.lead_id "
        "FROM metrics_leadstagechange h JOIN teams_accountassignment aa ON aa.account_id = h.account_id "
        " AND h.changed_date >= aa.start_date AND (aa.end_date IS NULL OR h.changed_date <= aa.end_date) "
        "LEFT JOIN teams_teammembership tm ON tm.member_id = aa.member_id "
        " AND h.changed_date >= tm.start_date AND (tm.end_date IS NULL OR h.changed_date <= tm.end_date) "
        f"WHERE h.changed_date BETWEEN %s AND %s{where} GROUP BY h.store_id, h.changed_date, aa.member_id, h.lead_id",
        [start, end, *values],
        ["store_id", "date", "member_id", "team_id", "lead_id"],
    )
    frame["date"] = _timestamps(frame["date"])
    return _filtered(frame, member_ids=member_ids, team_ids=team_ids)


def _pipeline(
    *, ends: pd.Series, start: dt.date, end: dt.date, store_ids, history: _Histories, member_ids, team_ids
) -> pd.DataFrame:
    """(store, period's last day, member, team, pipeline_cents): the leads in intent or
    negotiation at the end of each period's last local day, by the stage history as of then, for
    the member the owner's account (of the lead's latest change then) was assigned to that day.

    A lead's state on a day is its last change up to that day (by time, pipeline order, id). Read:
    each lead's last change before `start` when it is open, and the last change of every day of
    start … end; each such state holds until the day before the lead's next one."""
    where, values = sql_in("h.store_id", store_ids) if store_ids is not None else ("", [])
    columns = (
        "h.store_id, h.lead_id, h.stage, h.changed_date, h.account_id, "
        "COALESCE(h.amount_cents, l.amount_cents) AS amount"
    )
    names = ["store_id", "lead_id", "stage", "changed_date", "account_id", "amount"]
    open_stages = ", ".join(f"'{stage.value}'" for stage in (LeadStage.INTENT, LeadStage.NEGOTIATION))
    states = frame_query(
        f"SELECT {', '.join(names)} FROM ("
        f" SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY h.lead_id ORDER BY {stage_order('h', True)}) AS nth"
        f" FROM metrics_leadstagechange h JOIN metrics_lead l ON l.id = h.lead_id WHERE h.changed_date < %s{where}"
        f") s WHERE nth = 1 AND stage IN ({open_stages}) "
        f"UNION ALL SELECT {', '.join(names)} FROM ("
        f" SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY h.lead_id, h.changed_date "
        f"  ORDER BY {stage_order('h', True)}) AS nth"
        f" FROM metrics_leadstagechange h JOIN metrics_lead l ON l.id = h.lead_id "
        f" WHERE h.changed_date BETWEEN %s AND %s{where}"
        ") s WHERE nth = 1",
        [start, *values, start, end, *values],
        names,
    )
    if states.empty:
        return pd.DataFrame(columns=["store_id", "date", "member_id", "team_id", "pipeline_cents"])
    states["changed_date"] = _timestamps(states["changed_date"])
    states = states.sort_values(["lead_id", "changed_date"], kind="stable")
    until = states.groupby("lead_id")["changed_date"].shift(-1) - pd.Timedelta(days=1)
    states["until"] = until.fillna(pd.Timestamp(end))
    states = states.loc[states["stage"].isin([LeadStage.INTENT.value, LeadStage.NEGOTIATION.value])]
    states = states.loc[states["amount"].notna()]
    # The period ends each state holds on: ends[first] … ends[last - 1].
    period_ends = ends.to_numpy()
    first = np.searchsorted(period_ends, states["changed_date"].to_numpy(), side="left")
    last = np.searchsorted(period_ends, states["until"].to_numpy(), side="right")
    count = np.clip(last - first, 0, None)
    rows = states.loc[states.index.repeat(count)].reset_index(drop=True)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
    rows["date"] = period_ends[np.repeat(first, count) + offsets]
    rows = history.member_of_account(rows[["store_id", "date", "account_id", "amount"]])
    rows = history.team_of_member(rows)
    rows = _filtered(rows, member_ids=member_ids, team_ids=team_ids)
    rows["pipeline_cents"] = rows["amount"].astype("int64")
    return rows[["store_id", "date", "member_id", "team_id", "pipeline_cents"]]


def probation_end(hire_dates: pd.Series) -> pd.Series:
    """The last day of probation: settings.PROBATION_MONTHS calendar months after the hire date,
    less a day (hired 10 May, three months: to 9 August)."""
    return pd.to_datetime(hire_dates) + pd.DateOffset(months=settings.PROBATION_MONTHS) - pd.Timedelta(days=1)


def _new_hires(
    *, level: str, ends: pd.Series, start: dt.date, end: dt.date, store_ids, history: _Histories, member_ids, team_ids
) -> pd.DataFrame:
    """(store, probation's last day, member, team, new_hires 1, qualified_new_hires 0/1): members
    whose probation ended in start … end, in each team they belonged to that day (a member-level
    table counts them once per store); qualified when confirmed (转正) on or before the end of
    the period that day falls in."""
    earliest = start - dt.timedelta(days=31 * (settings.PROBATION_MONTHS + 1))
    members = pd.DataFrame.from_records(
        Member.objects.filter(hire_date__range=(earliest, end)).values("id", "hire_date", "confirmed_date"),
        columns=["id", "hire_date", "confirmed_date"],
    ).rename(columns={"id": "member_id"})
    if members.empty:
        return pd.DataFrame(columns=["store_id", "date", "member_id", "team_id", "new_hires", "qualified_new_hires"])
    members["date"] = probation_end(members["hire_date"])
    members = members.loc[(members["date"] >= pd.Timestamp(start)) & (members["date"] <= pd.Timestamp(end))]
    period_ends = ends.to_numpy()
    members["period_end"] = period_ends[np.searchsorted(period_ends, members["date"].to_numpy(), side="left")]
    confirmed = pd.to_datetime(members["confirmed_date"])
    members["qualified_new_hires"] = (confirmed.notna() & (confirmed <= members["period_end"])).astype(int)
    members["new_hires"] = 1
    rows = history.teams_of_member(members).rename(columns={"team_store_id": "store_id"})
    if store_ids is not None:
        rows = rows.loc[rows["store_id"].isin(list(store_ids))]
    rows = _filtered(rows, member_ids=member_ids, team_ids=team_ids)
    if level == Level.MEMBER:
        rows = rows.drop_duplicates(["store_id", "member_id"])
    return rows[["store_id", "date", "member_id", "team_id", "new_hires", "qualified_new_hires"]]


def _targets(*, level: str, start: dt.date, end: dt.date, store_ids, history: _Histories, member_ids, team_ids):
    """(store, day, member or team, target measures) of every day of start … end: the targets of
    won_amount, collected_amount, new_customers and new_product_amount spread evenly over their
    days (a target partly inside a period counts for the days inside it). Where one scope has
    several targets of a KPI on a day (a month's and its weeks'), the longest period's counts.

    Team level: the team's own targets; on a day it has none of a KPI, the sum of its members'
    (membership on that day). Money in cents (rounded per period to the cent), counts as
    fractions of a count."""
    targets = Target.objects.filter(
        kpi_key__in=list(TARGET_MEASURES), behaviour__isnull=True, start__lte=end, end__gte=start
    ).filter(Q(member__isnull=False) | Q(team__isnull=False))
    if store_ids is not None:
        targets = targets.filter(store_id__in=list(store_ids))
    frame = pd.DataFrame.from_records(
        targets.values("id", "kpi_key", "store_id", "team_id", "member_id", "start", "end", "value"),
        columns=["id", "kpi_key", "store_id", "team_id", "member_id", "start", "end", "value"],
    )
    entity = "member_id" if level == Level.MEMBER else "team_id"
    columns = ["store_id", "date", entity, *TARGET_MEASURES.values()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["days"] = [(last - first).days + 1 for first, last in zip(frame["start"], frame["end"], strict=True)]
    frame["first"] = [max(first, start) for first in frame["start"]]
    inside = [(min(last, end) - first).days + 1 for first, last in zip(frame["first"], frame["end"], strict=True)]
    frame = frame.loc[frame.index.repeat(inside)]
    frame["date"] = pd.to_datetime(frame["first"]) + pd.to_timedelta(frame.groupby(level=0).cumcount(), unit="D")
    # Money targets are yuan: a day's share in cents, exact (Decimal) until the period's rounding.
    scale = {key: Decimal(100) if key in ("won_amount", "collected_amount", "new_product_amount") else Decimal(1)
             for key in TARGET_MEASURES}  # fmt: skip
    frame["daily"] = [
        Decimal(value) * scale[key] / days
        for value, key, days in zip(frame["value"], frame["kpi_key"], frame["days"], strict=True)
    ]
    frame["scope"] = np.where(frame["member_id"].notna(), "member", "team")
    # One target per scope, KPI and day: the longest period's (then the latest made).
    frame = frame.sort_values(["days", "id"]).drop_duplicates(
        ["scope", "member_id", "team_id", "kpi_key", "date"], keep="last"
    )
    members = frame.loc[frame["scope"] == "member"].drop(columns="team_id")
    members = history.team_of_member(members)
    members = _filtered(members, member_ids=member_ids, team_ids=team_ids)
    if level == Level.MEMBER:
        daily = members
    else:
        teams = frame.loc[frame["scope"] == "team"]
        teams = _filtered(teams, member_ids=None, team_ids=team_ids)
        summed = members.dropna(subset=["team_id"]).groupby(["store_id", "team_id", "kpi_key", "date"])["daily"].sum()
        summed = summed.reset_index()
        own = teams.set_index(["team_id", "kpi_key", "date"]).index
        summed = summed.loc[~summed.set_index(["team_id", "kpi_key", "date"]).index.isin(own)]
        daily = pd.concat([teams[["store_id", "team_id", "kpi_key", "date", "daily"]], summed])
    if daily.empty:
        return pd.DataFrame(columns=columns)
    wide = daily.groupby(["store_id", "date", entity, "kpi_key"])["daily"].sum().unstack("kpi_key")
    wide = wide.rename(columns=TARGET_MEASURES).reindex(columns=list(TARGET_MEASURES.values()))
    return wide.where(wide.notna(), Decimal(0)).reset_index()


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
REPURCHASE_DAYS = 7


def measures_store(*, grain: str, start: dt.date, end: dt.date, store_ids) -> pd.DataFrame:
    """Store measures per (store, period): orders by creation day, traffic by date (a frame, as
    measures_member)."""
    measures = _store_measures(grain=grain, start=start, end=end, store_ids=store_ids)
    if measures is None:
        columns = ["store_id", "period_start", *(_STORE_RENAMED.get(c, c) for c in _STORE_SUMS), *STORE_BUYER_MEASURES]
        return pd.DataFrame(columns=[*columns, "entity_id"])
    return _as_frame(measures)


def _store_measures(*, grain: str, start: dt.date, end: dt.date, store_ids) -> Columns | None:
    """Store measures per (store, period) as arrays (period_start: day numbers); None when none.

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
    measures.update(_store_buyer_measures(grain=grain, start=start, end=end, store_ids=store_ids, codes=codes,
                                          groups=groups, inquiries=inquiries))  # fmt: skip
    store_of, period_days = codes.decode(groups)
    return Columns({"store_id": store_of, "period_start": period_days, **measures, "entity_id": store_of})


def _store_buyer_measures(
    *, grain: str, start: dt.date, end: dt.date, store_ids: list[int], codes, groups, inquiries: Columns
) -> dict[str, np.ndarray]:
    """The distinct-buyer measures of the store groups (`groups`, coded by `codes`): paying,
    repeat (two paid orders or more in the period), returning (first paid order in the store,
    over all history, before the period), 7-day repurchase, and inquiring buyers."""
    measures = {name: np.zeros(len(groups), dtype=np.int64) for name in STORE_BUYER_MEASURES}
    if len(inquiries):
        inquiry_codes, keep = _codes_of_known(codes, inquiries, grain, start)
        found, counts = grouping.distinct_count(inquiry_codes, inquiries["buyer"][keep])
        measures["store_inquiring_buyers"] = grouping.lookup(groups, found, counts)
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
        measures = _store_measures(grain=grain, start=start, end=end, store_ids=store_ids)
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
