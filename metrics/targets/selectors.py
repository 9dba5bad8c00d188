"""Targets: who may see and change them, and how far each has come, from the rollups.

Progress of a target on a day (metrics/targets/pace.py has the pace rule every page shares):
- actual: the KPI at the target's scope over its days so far (up to the store's last day with
  data, at most the day, today's orders included), or the behaviour's recorded count;
- expected to date: for a sum (money, counts, behaviours) the value times the share of the
  period's complete days with data (up to yesterday, in the store's time zone), evenly or by
  weekday weights; for a rate or an average, the value itself;
- forecast at the end: a sum at the pace of those complete days; a rate as it stands;
- status: achieved or missed once the period is over (or a sum already reached); otherwise ahead
  (5% better than expected), on pace (within 5%), behind, comparing the complete days' actual
  with the complete days' expected (today's orders cannot flip it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Min, Q, QuerySet, Sum

from metrics.kpis.selectors import kpi_table
from metrics.models import BehaviourRecord, PaceMethod, StoreDay, Target, TargetDirection
from metrics.registry import KPI_BY_KEY, Kpi, Level, Unit
from metrics.targets.pace import (
    DayWeight,
    counted_through,
    even_pace,
    forecast_get,
    stores_last_day,
    weekday_pace,
)
from perfmgmt.common.periods import Period
from teams.models import TeamMembership
from teams.selectors.scoping import Viewer, member_list, store_list, team_list_overseen

MARGIN = Decimal("0.05")  # ahead / behind: 5% better or worse than expected
ACHIEVED, AHEAD, ON_PACE, BEHIND, MISSED, NOT_STARTED = (
    "achieved",
    "ahead",
    "on_pace",
    "behind",
    "missed",
    "not_started",
)
NO_DATA = "no_data"  # running, but no day of it has figures yet (a Monday before the week's import)


def target_list(*, viewer: Viewer) -> QuerySet[Target]:
    """Targets the viewer may see: of the stores, teams and members they may see (staff: their
    own, their team's and their store's, so they see what they contribute to)."""
    targets = Target.objects.select_related("store", "team", "member", "behaviour", "phase__campaign", "owner")
    if viewer.sees_everything:
        return targets
    if not viewer.is_authenticated:
        return targets.none()
    members = member_list(viewer=viewer).values("pk")
    overseen = team_list_overseen(viewer=viewer)
    q = Q(store_id__in=viewer.managed_store_ids) | Q(team__in=overseen) | Q(member__in=members)
    if viewer.member_id:
        own_teams = TeamMembership.objects.filter(member_id=viewer.member_id).values("team_id")
        own_stores = store_list(viewer=viewer).values("pk")
        q |= Q(team_id__in=own_teams, member__isnull=True) | Q(store_id__in=own_stores, team__isnull=True,
                                                                 member__isnull=True)  # fmt: skip
    return targets.filter(q).distinct()


def target_can_edit(*, viewer: Viewer, store_id: int, team_id: int | None, member_id: int | None) -> bool:
    """Admins anywhere; managers in their stores; team leads for their team and its members.
    HR and staff never (staff record behaviours, they do not set their own targets)."""
    if viewer.is_admin:
        return True
    if store_id in viewer.managed_store_ids:
        return True
    if not viewer.led_team_ids:
        return False
    if team_id is not None and member_id is None:
        return team_id in viewer.led_team_ids
    if member_id is not None:
        teams = set(TeamMembership.objects.filter(member_id=member_id).values_list("team_id", flat=True))
        return bool(teams & set(viewer.led_team_ids)) and (team_id is None or team_id in viewer.led_team_ids)
    return False


@dataclass(frozen=True)
class Progress:
    actual: Decimal | None  # to date: up to the last day with data (today's orders included)
    expected: Decimal | None
    forecast: Decimal | None
    completion: Decimal | None  # actual / value (at least) or value / actual (at most); 1 = met
    status: str
    as_of: dt.date | None  # the last day in the actual
    elapsed: Decimal  # share of the period counted (by the pace method)
    is_sum: bool  # a sum paces through the period; a rate or an average does not
    through: dt.date | None = None  # the last complete day in expected and forecast (pace.counted_through)
    days_counted: int = 0  # days counted in expected and forecast: "N of M days"
    days: int = 0  # days of the period


def target_kpi(target: Target) -> Kpi | None:
    return KPI_BY_KEY.get(target.kpi_key) if target.kpi_key else None


def _is_sum(target: Target) -> bool:
    kpi = target_kpi(target)
    if kpi is None:
        return True  # a behaviour count
    formula = kpi.formula(target.level)
    return formula is not None and not formula.denominator


def target_pace(target: Target, weights: dict[int, dict[int, Decimal]]) -> DayWeight:
    """The day weights of the target's pace rule: even, or by weekday (`weights`: from
    target_pace_weights, by target id)."""
    return weekday_pace(weights.get(target.pk)) if target.pace == PaceMethod.WEEKDAYS else even_pace


def target_pace_weights(targets: list[Target]) -> dict[int, dict[int, Decimal]]:
    """The weekday weights of each target paced by weekday, by target id: its store's sales by
    weekday in the weeks before its start (store_weekday_weights), so a target paces the same on
    every page whatever other targets the page shows."""
    found: dict[tuple[int, dt.date], dict[int, Decimal]] = {}
    weights: dict[int, dict[int, Decimal]] = {}
    for target in targets:
        if target.pace == PaceMethod.WEEKDAYS:
            key = (target.store_id, target.start)
            if key not in found:
                found[key] = store_weekday_weights(store_id=target.store_id, before=target.start)
            weights[target.pk] = found[key]
    return weights


def _to_decimal(kpi: Kpi | None, value) -> Decimal | None:
    if value is None:
        return None
    if kpi is not None and kpi.unit == Unit.MONEY:
        return Decimal(value)
    return Decimal(str(value))


def _actuals(targets: list[Target], until: dict[int, dt.date | None]) -> dict[int, Decimal | None]:
    """Each target's value from its start to `until` (its id → last day; None: nothing yet); KPI
    targets grouped into one table per (level, store, days)."""
    result: dict[int, Decimal | None] = {}
    groups: dict[tuple, list[Target]] = {}
    for target in targets:
        last = until.get(target.pk)
        if last is None or last < target.start:
            result[target.pk] = None
            continue
        if target.behaviour_id:
            result[target.pk] = _behaviour_count(target, min(last, target.end))
            continue
        groups.setdefault((target.level, target.store_id, target.start, min(last, target.end)), []).append(target)
    for (level, store_id, start, end), members in groups.items():
        table_level = Level.MEMBER if level == "member" else (Level.TEAM if level == "team" else Level.STORE)
        table = kpi_table(level=table_level, grain="range", start=start, end=end, store_ids=[store_id])
        rows = {int(r["entity_id"]): r for r in table.to_dict("records")}
        for target in members:
            entity = target.member_id or target.team_id or target.store_id
            row = rows.get(entity)
            result[target.pk] = _to_decimal(target_kpi(target), row.get(target.kpi_key)) if row else None
    return result


def _behaviour_count(target: Target, end: dt.date) -> Decimal:
    records = BehaviourRecord.objects.filter(behaviour_id=target.behaviour_id, date__range=(target.start, end))
    if target.member_id:
        records = records.filter(member_id=target.member_id)
    elif target.team_id:
        records = records.filter(member__memberships__team_id=target.team_id).distinct()
    else:
        records = records.filter(member__memberships__team__store_id=target.store_id).distinct()
    return Decimal(records.aggregate(total=Sum("count"))["total"] or 0)


def targets_progress(targets: list[Target], *, today: dt.date, as_of: dt.date | None = None) -> dict[int, Progress]:
    """Progress of each target (keyed by target id) on `as_of` (default today; a past day counts
    whole), `today` being the store's local day."""
    day = min(as_of or today, today)
    last_days = stores_last_day(store_ids={t.store_id for t in targets})
    until: dict[int, dt.date | None] = {}  # the actual's last day
    counted: dict[int, dt.date | None] = {}  # the pace's last day (a complete day)
    for target in targets:
        if target.behaviour_id:
            last = day  # staff record behaviours up to today
        else:
            last = last_days.get(target.store_id)
            last = min(last, day) if last else None
        until[target.pk] = last
        counted[target.pk] = counted_through(start=target.start, end=target.end, today=today, last_day=last)
    actuals = _actuals(targets, until)
    # The complete days' actual: read again only for targets whose data reach into today.
    partial = [t for t in targets if counted[t.pk] is not None and counted[t.pk] < min(until[t.pk], t.end)]
    again = _actuals(partial, counted) if partial else {}
    paced = {t.pk: None if counted[t.pk] is None else again.get(t.pk, actuals.get(t.pk)) for t in targets}
    weights = target_pace_weights(targets)
    return {t.pk: _progress(t, actuals.get(t.pk), paced.get(t.pk), until[t.pk], day, today, weights) for t in targets}


@dataclass(frozen=True)
class WeekdayWeights:
    """How a store's GMV falls on each weekday: Monday = 0 → its share (the shares add up to 1),
    and the days they were learned from (None without history: the pace is then even)."""

    weights: dict[int, Decimal]
    window: Period | None


def store_weekday_history(*, store_id: int, before: dt.date, days: int = 56) -> WeekdayWeights:
    """The store's weekday weights from up to `days` days of data before a day: the window ends
    on the last day with data before it (data of the last days may not be imported yet) and
    starts no earlier than the store's first day with data. Each weekday weighs its mean GMV per
    calendar day of the window, so a window of 31 days (five Mondays, four Sundays) does not
    count one weekday more often than another; a day without a row sold nothing."""
    rows = StoreDay.objects.filter(store_id=store_id, date__lt=before)
    bounds = rows.aggregate(first=Min("date"), last=Max("date"))
    if bounds["last"] is None:
        return WeekdayWeights({}, None)
    window = Period(max(bounds["first"], bounds["last"] - dt.timedelta(days=days - 1)), bounds["last"])
    totals: dict[int, int] = {}
    for day, cents in rows.filter(date__gte=window.start).values_list("date", "gmv_cents"):
        totals[day.weekday()] = totals.get(day.weekday(), 0) + cents
    occurrences: dict[int, int] = {}
    for day in window.dates():
        occurrences[day.weekday()] = occurrences.get(day.weekday(), 0) + 1
    means = {weekday: Decimal(cents) / occurrences[weekday] for weekday, cents in totals.items()}
    grand = sum(means.values())
    if not grand:
        return WeekdayWeights({}, None)
    return WeekdayWeights({weekday: mean / grand for weekday, mean in sorted(means.items())}, window)


def store_weekday_weights(*, store_id: int, before: dt.date, days: int = 56) -> dict[int, Decimal]:
    """How the store's GMV fell on each weekday (Monday = 0) in the `days` before a day: the
    weights of a target paced by weekday, and of a decomposition weighed by weekday. Empty
    without history (the pace is then even). See store_weekday_history."""
    return store_weekday_history(store_id=store_id, before=before, days=days).weights


def target_progress(target: Target, *, today: dt.date) -> Progress:
    return targets_progress([target], today=today)[target.pk]


def _progress(
    target: Target,
    actual: Decimal | None,
    paced: Decimal | None,
    last: dt.date | None,
    day: dt.date,
    today: dt.date,
    weights: dict[int, dict[int, Decimal]],
) -> Progress:
    """`actual`: up to `last` (the day's data, today's included); `paced`: over the complete days."""
    value, at_least, is_sum = target.value, target.direction == TargetDirection.AT_LEAST, _is_sum(target)
    if day < target.start:
        return Progress(None, None, None, None, NOT_STARTED, None, Decimal(0), is_sum)
    pace = forecast_get(
        start=target.start, end=target.end, today=today, last_day=last, actual=paced, actual_to_date=actual,
        value=value, is_sum=is_sum, pace=target_pace(target, weights),
    )  # fmt: skip
    as_of = min(last, target.end) if last else None
    counted = {"through": pace.through, "days_counted": pace.days_counted, "days": pace.days}
    ended = day > target.end or (pace.through is not None and pace.through >= target.end)
    if actual is None:
        # Nothing of it counted yet: missed once over, otherwise not behind but without figures.
        return Progress(None, None, None, None, MISSED if ended else NO_DATA, as_of, pace.elapsed, is_sum, **counted)
    completion = progress_completion(actual=actual, value=value, at_least=at_least)
    status = progress_status(
        actual=actual, paced=paced, expected=pace.expected, value=value, at_least=at_least, is_sum=is_sum, ended=ended
    )
    return Progress(actual, pace.expected, pace.forecast, completion, status, as_of, pace.elapsed, is_sum, **counted)


def progress_completion(*, actual: Decimal, value: Decimal, at_least: bool) -> Decimal | None:
    """actual / value for "at least", value / actual for "at most"; 1 = met."""
    if at_least:
        return actual / value if value else None
    return value / actual if actual else None


def progress_status(
    *,
    actual: Decimal,
    paced: Decimal | None,
    expected: Decimal | None,
    value: Decimal,
    at_least: bool,
    is_sum: bool,
    ended: bool,
) -> str:
    """Achieved or missed once over (a sum "at least": achieved as soon as reached); otherwise the
    pace: `paced` (the complete days' actual) against `expected` for a sum, the actual against the
    value for a rate or an average."""
    met = actual >= value if at_least else actual <= value
    if ended:
        return ACHIEVED if met else MISSED
    if met and is_sum and at_least:
        return ACHIEVED  # already there, whatever the rest of the period brings
    if is_sum:
        return _pace_status(paced if paced is not None else Decimal(0), expected, at_least)
    return _pace_status(actual, expected, at_least)


def _pace_status(actual: Decimal, expected: Decimal | None, at_least: bool) -> str:
    if expected is None or expected == 0:
        return ON_PACE
    ratio = actual / expected
    if not at_least:
        ratio = 1 / ratio if ratio else Decimal(10)
    if ratio >= 1 + MARGIN:
        return AHEAD
    if ratio >= 1 - MARGIN:
        return ON_PACE
    return BEHIND
