"""Counting a store's pipeline and calls over a period, for the pages' figures and grids: the
funnel of the period's leads, the ageing of the open ones, the outbound calls by hour (one count
for the dashboards' chart and the best-hours grid) and the stage advances by hour.

The leads and calls facts of one store and period (indexed by store and local day, a few
thousand rows) are read with the owner's member and team of the day joined as the rollups join
them (metrics.kpis.rollups), so the figures count what the KPI cards count."""

# SQL here names tables and columns this app owns; values travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from django.db.models import Count, F, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.utils.translation import gettext_lazy as _

from metrics.db import frame_query, sql_in
from metrics.kpis.sql import STAGE_RANK, stage_rank
from metrics.kpis.values import kpi_evaluate
from metrics.models import OPEN_STAGES, CallDirection, LeadStage, LeadStageChange
from metrics.registry import Level
from perfmgmt.common.periods import Period
from teams.models import Store
from teams.selectors.history import account_holder_join_sql, account_holder_subquery, member_team_join_sql

_LOST = f"'{LeadStage.LOST}'"  # a lost lead reaches no step of the funnel, whatever its rank

# --- the pipeline funnel and the stage ageing -------------------------------------------------

FUNNEL_STEPS = (
    ("created", _("Leads created")),
    (LeadStage.INTENT, _("Reached intent")),
    (LeadStage.NEGOTIATION, _("Reached negotiation")),
    (LeadStage.WON, _("Won")),
)
# Age of an open lead in its current stage, in whole local days since it entered it.
AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 3), (4, 7), (8, 14), (15, 30), (31, None))


def age_bucket_label(low: int, high: int | None) -> str:
    if high is None:
        return str(_("> %(days)s days") % {"days": low - 1})
    return str(_("%(low)s–%(high)s days") % {"low": low, "high": high})


def _owner_join(account: str, day: str, *, team: bool) -> str:
    """The owner's member on the day (and that member's team on the day), by the rollups' rule
    (teams.selectors.history). A `day` given as a parameter (%s) is used four times per join."""
    sql = " " + account_holder_join_sql(alias="aa", account=account, day=day)
    if team:
        sql += " " + member_team_join_sql(alias="tm", member="aa.member_id", day=day)
    return sql


def _owner_where(
    *, team_id: int | None = None, member_id: int | None = None, member_ids: list[int] | None = None
) -> tuple[str, list]:
    """The rows of the team's members, of one member, or of some members (with _owner_join)."""
    if team_id is not None:
        return " AND tm.team_id = %s", [team_id]
    if member_id is not None:
        return " AND aa.member_id = %s", [member_id]
    return sql_in("aa.member_id", member_ids or [])


@dataclass(frozen=True)
class FunnelStep:
    key: str  # created, intent, negotiation, won
    label: str
    count: int
    of_created: float | None  # share of the leads created
    of_previous: float | None  # share of the step before


def pipeline_funnel_get(
    *, store_id: int, start: dt.date, end: dt.date, team_id: int | None = None, member_id: int | None = None
) -> list[FunnelStep]:
    """The cohort of leads created on local days start … end by the team's (or the member's)
    owners of that day, and how many of them have reached intent, negotiation and won since
    (by their stage history and current stage). Owner at creation: the account of the lead's
    first recorded stage, else its account now."""
    first_account = (
        "COALESCE((SELECT c.account_id FROM metrics_leadstagechange c WHERE c.lead_id = l.id "
        "ORDER BY c.changed_at, c.id LIMIT 1), l.account_id)"
    )
    where, params = _owner_where(team_id=team_id, member_id=member_id)
    reached = frame_query(
        f"SELECT l.id, CASE WHEN l.stage = {_LOST} THEN 0 ELSE {stage_rank('l')} END, "
        f"(SELECT MAX({stage_rank('h')}) FROM metrics_leadstagechange h WHERE h.lead_id = l.id AND h.stage <> {_LOST}) "
        f"FROM metrics_lead l{_owner_join(first_account, 'l.created_date', team=team_id is not None)} "
        f"WHERE l.store_id = %s AND l.created_date BETWEEN %s AND %s{where}",
        [store_id, start, end, *params],
        ["lead", "now", "history"],
    )
    if not reached.empty:
        reached = reached.drop_duplicates("lead")
        rank = reached[["now", "history"]].fillna(0).astype(int).max(axis=1)
    else:
        rank = pd.Series(dtype=int)
    counts = [len(rank), *(int((rank >= STAGE_RANK[stage]).sum()) for stage, _label in FUNNEL_STEPS[1:])]
    steps = []
    for position, ((key, label), count) in enumerate(zip(FUNNEL_STEPS, counts, strict=True)):
        previous = counts[position - 1] if position else None
        steps.append(
            FunnelStep(
                key=str(key),
                label=str(label),
                count=count,
                of_created=count / counts[0] if counts[0] else None,
                of_previous=(count / previous if previous else None) if position else None,
            )
        )
    return steps


@dataclass(frozen=True)
class Ageing:
    """Open leads by current stage × days in it, as of a local day."""

    as_of: dt.date
    stages: list[tuple[str, str]]  # (stage, label)
    buckets: list[str]  # labels, in AGE_BUCKETS order
    counts: dict[str, list[int]]  # stage → one count per bucket
    stuck_days: int  # the store's threshold: in negotiation longer than this is stuck
    stuck: int  # deals in negotiation longer than the threshold

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts.values())


def stage_ageing_get(
    *, store: Store, as_of: dt.date, team_id: int | None = None, member_id: int | None = None
) -> Ageing:
    """The leads open now (lead, intent, negotiation) whose account belongs, on `as_of`, to a
    member of the team (or to the member), by stage and whole local days since they entered it:
    0–3, 4–7, 8–14, 15–30, over 30 (a lead that entered its stage 7 days ago is in 4–7)."""
    where, params = _owner_where(team_id=team_id, member_id=member_id)
    stages = [str(stage) for stage in OPEN_STAGES]
    stage_in, stage_params = sql_in("l.stage", stages)
    leads = frame_query(
        f"SELECT l.id, l.stage, l.stage_changed_date FROM metrics_lead l"
        f"{_owner_join('l.account_id', '%s', team=team_id is not None)} WHERE l.store_id = %s{stage_in}{where}",
        [*[as_of] * 4, *([as_of] * 4 if team_id is not None else []), store.pk, *stage_params, *params],
        ["lead", "stage", "since"],
    ).drop_duplicates("lead")
    counts = {stage: [0] * len(AGE_BUCKETS) for stage in stages}
    stuck = 0
    if not leads.empty:
        ages = (pd.Timestamp(as_of) - pd.to_datetime(leads["since"])).dt.days.clip(lower=0)
        for stage, age in zip(leads["stage"], ages, strict=True):
            index = next(i for i, (low, high) in enumerate(AGE_BUCKETS) if age >= low and (high is None or age <= high))
            counts[stage][index] += 1
            stuck += int(stage == LeadStage.NEGOTIATION and age > store.stuck_deal_days)
    return Ageing(
        as_of=as_of,
        stages=[(stage, str(LeadStage(stage).label)) for stage in stages],
        buckets=[age_bucket_label(low, high) for low, high in AGE_BUCKETS],
        counts=counts,
        stuck_days=store.stuck_deal_days,
        stuck=stuck,
    )


def connect_rate(*, connected: int, dials: int) -> float | None:
    """The connect_rate KPI of these outbound calls, by the registry's formula (None: no call)."""
    return kpi_evaluate(key="connect_rate", level=Level.MEMBER, measures={"connected_dials": connected, "dials": dials})


def _connect_rate_decimal(connected: int, dials: int) -> Decimal | None:
    rate = connect_rate(connected=connected, dials=dials)
    return None if rate is None else Decimal(str(rate))


@dataclass(frozen=True)
class HourRow:
    hour: int  # the store's local hour of the call's start
    dials: int
    connected: int

    @property
    def rate(self) -> float | None:
        return connect_rate(connected=self.connected, dials=self.dials)


def _outbound_calls(
    *,
    store_id: int,
    start: dt.date,
    end: dt.date,
    team_id: int | None = None,
    member_id: int | None = None,
    member_ids: list[int] | None = None,
) -> pd.DataFrame:
    """The one count of outbound calls by local day and hour of their start (columns date, hour,
    dials, connected) on local days start … end: of the accounts of the team's members (its
    members of the call's day), of one member or of some members on the call's day, joined as
    the rollups join them (so the chart counts the dials of the cards); all the store's calls
    (unassigned accounts too) when none is given."""
    owned = team_id is not None or member_id is not None or member_ids is not None
    join, where, params = "", "", []
    if owned:
        join = _owner_join("c.account_id", "c.started_date", team=team_id is not None)
        where, params = _owner_where(team_id=team_id, member_id=member_id, member_ids=member_ids)
    frame = frame_query(
        "SELECT c.started_date, c.started_hour, COUNT(*), SUM(CASE WHEN c.connected THEN 1 ELSE 0 END) "
        f"FROM metrics_call c{join} "
        f"WHERE c.store_id = %s AND c.started_date BETWEEN %s AND %s AND c.direction = %s{where} "
        "GROUP BY c.started_date, c.started_hour",
        [store_id, start, end, CallDirection.OUTBOUND, *params],
        ["date", "hour", "dials", "connected"],
    )
    return frame.fillna({"connected": 0}).astype({"hour": int, "dials": int, "connected": int})


def calls_by_hour_get(
    *, store_id: int, start: dt.date, end: dt.date, team_id: int | None = None, member_id: int | None = None
) -> list[HourRow]:
    """Outbound calls of local days start … end by the team's (or the member's) accounts of
    the call's day, per local hour of their start: 24 rows, dials and connected."""
    calls = _outbound_calls(store_id=store_id, start=start, end=end, team_id=team_id, member_id=member_id)
    by_hour = calls.groupby("hour")[["dials", "connected"]].sum()
    counts = {int(hour): (int(r.dials), int(r.connected)) for hour, r in by_hour.iterrows()}
    return [HourRow(hour, *counts.get(hour, (0, 0))) for hour in range(24)]


# --- best hours: the calls by weekday and hour, the stage advances by weekday and hour -----

WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)  # ISO: Monday = 1
BEST_SLOTS = 3
MIN_CALLS = 10  # a slot needs this many outbound calls before its connect rate can be "best"
ADVANCE_STAGES = (LeadStage.INTENT, LeadStage.NEGOTIATION, LeadStage.WON)


@dataclass
class HourCell:
    weekday: int
    hour: int
    count: int = 0  # calls made / stage advances
    hits: int = 0  # calls connected / (advances: same as count)
    rate: Decimal | None = None  # connect rate / share of all advances
    best: bool = False


@dataclass
class HourGrid:
    cells: dict[tuple[int, int], HourCell] = field(default_factory=dict)
    total: int = 0
    total_hits: int = 0
    best: list[HourCell] = field(default_factory=list)
    calls: bool = False  # a grid of outbound calls: its rates are the connect_rate KPI

    @property
    def hours(self) -> list[int]:
        """The hours from the first to the last one with data (a compact table)."""
        if not self.cells:
            return []
        hours = [h for _w, h in self.cells]
        return list(range(min(hours), max(hours) + 1))

    def cell(self, weekday: int, hour: int) -> HourCell | None:
        return self.cells.get((weekday, hour))

    @property
    def rows(self) -> list[tuple[int, list[HourCell | None]]]:
        return [(w, [self.cell(w, h) for h in self.hours]) for w in WEEKDAYS]

    @property
    def rate(self) -> Decimal | None:
        if self.calls:  # the calls' connect rate over the whole grid
            return _connect_rate_decimal(self.total_hits, self.total)
        return Decimal(self.total_hits) / Decimal(self.total) if self.total else None


def _held_by(rows: QuerySet, member_ids: list[int], day_field: str) -> QuerySet:
    """The rows whose account was held by one of the members on the row's local day (the one rule
    of teams.selectors.history)."""
    return rows.alias(holder=account_holder_subquery(day=F(day_field))).filter(holder__in=member_ids)


def call_hours_grid(
    *, store: Store, period: Period, member_ids: list[int] | None = None, min_calls: int = MIN_CALLS
) -> HourGrid:
    """Outbound calls by local weekday and start hour: connected ÷ made. `member_ids` None is
    the whole store (also accounts not assigned to anyone). The best slots are the three highest
    connect rates among slots with at least `min_calls` calls (ties: more calls first)."""
    calls = _outbound_calls(store_id=store.pk, start=period.start, end=period.end, member_ids=member_ids)
    calls["weekday"] = pd.to_datetime(calls["date"]).dt.day_of_week + 1  # ISO: Monday = 1
    grouped = calls.groupby(["weekday", "hour"])[["dials", "connected"]].sum()
    grid = HourGrid(calls=True)
    for (weekday, hour), row in grouped.iterrows():
        cell = HourCell(weekday=int(weekday), hour=int(hour), count=int(row.dials), hits=int(row.connected))
        cell.rate = _connect_rate_decimal(cell.hits, cell.count)
        grid.cells[(cell.weekday, cell.hour)] = cell
        grid.total += cell.count
        grid.total_hits += cell.hits
    eligible = [c for c in grid.cells.values() if c.count >= min_calls and c.hits]
    eligible.sort(key=lambda c: (-c.rate, -c.count, c.weekday, c.hour))
    grid.best = eligible[:BEST_SLOTS]
    for cell in grid.best:
        cell.best = True
    return grid


def stage_advance_hours_grid(*, store: Store, period: Period, member_ids: list[int] | None = None) -> HourGrid:
    """Stage advances (a lead entering intent, negotiation or won) by the local weekday and hour
    of the change: each slot's count and its share of all advances in the period. The best slots
    are the three with the most advances (ties: earlier in the week and day)."""
    zone = zoneinfo.ZoneInfo(store.time_zone)
    changes = LeadStageChange.objects.filter(
        store=store, stage__in=ADVANCE_STAGES, changed_date__gte=period.start, changed_date__lte=period.end
    )
    if member_ids is not None:
        changes = _held_by(changes, member_ids, "changed_date")
    grouped = (
        changes.annotate(weekday=ExtractIsoWeekDay("changed_date"), hour=ExtractHour("changed_at", tzinfo=zone))
        .values("weekday", "hour")
        .annotate(advances=Count("pk"))
    )
    grid = HourGrid()
    for row in grouped:
        cell = HourCell(weekday=row["weekday"], hour=row["hour"], count=row["advances"], hits=row["advances"])
        grid.cells[(cell.weekday, cell.hour)] = cell
        grid.total += cell.count
    grid.total_hits = grid.total
    for cell in grid.cells.values():
        cell.rate = Decimal(cell.count) / Decimal(grid.total)
    ranked = sorted(grid.cells.values(), key=lambda c: (-c.count, c.weekday, c.hour))
    grid.best = ranked[:BEST_SLOTS]
    for cell in grid.best:
        cell.best = True
    return grid
