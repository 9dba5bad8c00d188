"""Sales measures that are not sums of day rows (docs/sales-kpis.md): leads touched, the open
pipeline at each period's end, new hires and their probation, and targets spread over their days.
Read at query time by the KPI readers (metrics.kpis.selectors)."""

# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Q

from metrics.db import frame_query, sql_in
from metrics.kpis.grouping import period_start
from metrics.kpis.sql import stage_order
from metrics.models import LeadStage, Target
from metrics.registry import Level
from teams.models import Member
from teams.selectors.history import (
    account_holder_join_sql,
    assignment_periods_read,
    member_team_join_sql,
    membership_periods_read,
    periods_on_day,
)

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


def sales_measures_get(
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
    """The organisation's dated histories, read once per query: account assignments and team
    memberships as periods (teams.selectors.history), and memberships with their team's store
    (dates as timestamps, an open end the far future) for "every team of the day"."""

    assignments: pd.DataFrame
    membership_periods: pd.DataFrame
    memberships: pd.DataFrame

    @classmethod
    def load(cls) -> _Histories:
        memberships = frame_query(
            "SELECT tm.member_id, tm.team_id, t.store_id AS team_store_id, tm.start_date, tm.end_date "
            "FROM teams_teammembership tm JOIN teams_team t ON t.id = tm.team_id", (),
            ["member_id", "team_id", "team_store_id", "start_date", "end_date"],
        )  # fmt: skip
        memberships["start_date"] = _timestamps(memberships["start_date"])
        memberships["end_date"] = _timestamps(memberships["end_date"].fillna("2200-12-31"))  # open: no end
        return cls(assignment_periods_read(), membership_periods_read(), memberships)

    def member_of_account(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (account_id, date) with the member holding the account that day (the one rule of
        teams.selectors.history); rows of an account held by no one are dropped (not credited)."""
        frame = frame.reset_index(drop=True)
        frame["member_id"] = periods_on_day(keys=frame["account_id"], days=frame["date"], periods=self.assignments)
        return frame.dropna(subset=["member_id"]).astype({"member_id": "int64"})

    def team_of_member(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (member_id, date) with the member's team that day (the one rule of
        teams.selectors.history; empty when none)."""
        frame = frame.reset_index(drop=True)
        frame["team_id"] = periods_on_day(keys=frame["member_id"], days=frame["date"], periods=self.membership_periods)
        return frame

    def teams_of_member(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (member_id, date) with every team (and its store) the member belonged to that day."""
        frame = frame.reset_index(drop=True)
        merged = frame.merge(self.memberships, on="member_id", how="inner")
        merged = merged.loc[(merged["start_date"] <= merged["date"]) & (merged["date"] <= merged["end_date"])]
        return merged.drop(columns=["start_date", "end_date"])


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
        "FROM metrics_leadstagechange h "
        + account_holder_join_sql(alias="aa", account="h.account_id", day="h.changed_date")
        + " "
        + member_team_join_sql(alias="tm", member="aa.member_id", day="h.changed_date")
        + f" WHERE h.changed_date BETWEEN %s AND %s AND aa.member_id IS NOT NULL{where}"
        " GROUP BY h.store_id, h.changed_date, aa.member_id, h.lead_id",
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
