"""Targets: who may see and change them, and how far each has come, from the rollups.

Progress of a target on a day:
- actual: the KPI at the target's scope over its days so far (up to the store's last day with
  data, at most today), or the behaviour's recorded count;
- expected to date: for a sum (money, counts, behaviours) the value times the share of the
  period elapsed, evenly or by weekday weights; for a rate or an average, the value itself;
- forecast at the end: a sum extrapolated at the pace so far; a rate as it stands;
- status: achieved or missed once the period is over (or a sum already reached); otherwise ahead
  (5% better than expected), on pace (within 5%), behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Min, Q, QuerySet, Sum

from metrics.models import BehaviourRecord, StoreDay, Target, TargetDirection
from metrics.registry import KPI_BY_KEY, Kpi, Level, Unit
from metrics.selectors.kpis import kpi_table
from metrics.selectors.periods import Period
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
    actual: Decimal | None
    expected: Decimal | None
    forecast: Decimal | None
    completion: Decimal | None  # actual / value (at least) or value / actual (at most); 1 = met
    status: str
    as_of: dt.date | None  # the last day counted
    elapsed: Decimal  # share of the period counted (by the pace method)
    is_sum: bool  # a sum paces through the period; a rate or an average does not


def target_kpi(target: Target) -> Kpi | None:
    return KPI_BY_KEY.get(target.kpi_key) if target.kpi_key else None


def _is_sum(target: Target) -> bool:
    kpi = target_kpi(target)
    if kpi is None:
        return True  # a behaviour count
    formula = kpi.formula(target.level)
    return formula is not None and not formula.denominator


def _elapsed(target: Target, as_of: dt.date, weights: dict[int, Decimal] | None) -> Decimal:
    days = [target.start + dt.timedelta(days=n) for n in range((target.end - target.start).days + 1)]
    weight = (lambda d: weights.get(d.weekday(), Decimal(0))) if weights else (lambda d: Decimal(1))
    total = sum(weight(d) for d in days)
    if not total:
        return Decimal(0)
    return sum(weight(d) for d in days if d <= as_of) / total


def _to_decimal(kpi: Kpi | None, value) -> Decimal | None:
    if value is None:
        return None
    if kpi is not None and kpi.unit == Unit.MONEY:
        return Decimal(value)
    return Decimal(str(value))


def _actuals(targets: list[Target], as_of: dict[int, dt.date | None]) -> dict[int, Decimal | None]:
    """Each target's value so far; KPI targets grouped into one table per (level, store, days)."""
    result: dict[int, Decimal | None] = {}
    groups: dict[tuple, list[Target]] = {}
    for target in targets:
        last = as_of.get(target.pk)
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


def targets_progress(
    targets: list[Target], *, today: dt.date, weights: dict[int, dict[int, Decimal]] | None = None
) -> dict[int, Progress]:
    """Progress of each target as of today (local day), keyed by target id. `weights`: weekday
    weights per store for targets paced by weekday."""
    last_days = dict(
        StoreDay.objects.filter(store_id__in={t.store_id for t in targets})
        .values("store_id")
        .annotate(last=Max("date"))
        .values_list("store_id", "last")
    )
    as_of: dict[int, dt.date | None] = {}
    for target in targets:
        if target.behaviour_id:
            as_of[target.pk] = today  # staff record behaviours up to today
        else:
            last = last_days.get(target.store_id)
            as_of[target.pk] = min(last, today) if last else None
    actuals = _actuals(targets, as_of)
    weights = dict(weights or {})
    for store_id in {t.store_id for t in targets if t.pace == "weekdays"} - set(weights):
        first = min(t.start for t in targets if t.store_id == store_id and t.pace == "weekdays")
        weights[store_id] = store_weekday_weights(store_id=store_id, before=first)
    return {t.pk: _progress(t, actuals.get(t.pk), as_of[t.pk], today, (weights or {}).get(t.store_id)) for t in targets}


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
    target: Target, actual: Decimal | None, as_of: dt.date | None, today: dt.date, weights: dict[int, Decimal] | None
) -> Progress:
    value, at_least, is_sum = target.value, target.direction == TargetDirection.AT_LEAST, _is_sum(target)
    if today < target.start:
        return Progress(None, None, None, None, NOT_STARTED, None, Decimal(0), is_sum)
    use_weights = weights if target.pace == "weekdays" else None
    elapsed = _elapsed(target, as_of, use_weights) if as_of else Decimal(0)
    if actual is None:
        ended = today > target.end
        # Nothing of it counted yet: missed once over, otherwise not behind but without figures.
        return Progress(None, None, None, None, MISSED if ended else NO_DATA, as_of, elapsed, is_sum)
    expected = value * elapsed if is_sum else value
    forecast = (actual / elapsed if elapsed else None) if is_sum else actual
    if at_least:
        completion = actual / value if value else None
        met = actual >= value
    else:
        completion = value / actual if actual else None
        met = actual <= value
    ended = today > target.end or (as_of is not None and as_of >= target.end)
    if ended:
        status = ACHIEVED if met else MISSED
    elif met and is_sum and at_least:
        status = ACHIEVED  # already there, whatever the rest of the period brings
    else:
        status = _pace_status(actual, expected, at_least)
    return Progress(actual, expected, forecast, completion, status, as_of, elapsed, is_sum)


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
