"""Targets: which a viewer sees (who may change them: teams.selectors.scoping), how far each has
come, from the rollups, and the reads of the target pages and API (lists, alerts, promotions,
staff's counts).

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
from django.utils.translation import gettext_lazy

from metrics.kpis.selectors import kpi_table
from metrics.models import (
    Behaviour,
    BehaviourRecord,
    Campaign,
    PaceMethod,
    StoreDay,
    Target,
    TargetAlert,
    TargetDirection,
)
from metrics.registry import KPI_BY_KEY, Kpi, Level, Unit
from metrics.targets.pace import (
    DayWeight,
    counted_through,
    even_pace,
    forecast_get,
    stores_last_day,
    weekday_pace,
)
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Store, Team, TeamMembership
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
# The status vocabulary of pages, API and exports, in the order pages list them: key → (label, badge).
STATUSES = {
    ACHIEVED: (gettext_lazy("Achieved"), "ok"),
    AHEAD: (gettext_lazy("Ahead"), "ok"),
    ON_PACE: (gettext_lazy("On pace"), "info"),
    BEHIND: (gettext_lazy("Behind"), "warn"),
    MISSED: (gettext_lazy("Missed"), "bad"),
    NO_DATA: (gettext_lazy("No figures yet"), ""),
    NOT_STARTED: (gettext_lazy("Not started"), ""),
}
# The list's period filters, against the viewer's today: key → label.
PERIOD_FILTERS = {
    "open": gettext_lazy("Running and upcoming"),
    "current": gettext_lazy("Running"),
    "upcoming": gettext_lazy("Upcoming"),
    "past": gettext_lazy("Ended"),
    "all": gettext_lazy("All"),
}


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


# --- the reads of the pages and the API -----------------------------------------------------------


def targets_progress_by_store(*, targets: list[Target]) -> dict[int, Progress]:
    """Progress of targets of several stores, each as of its store's local today."""
    by_store: dict[int, list[Target]] = {}
    for target in targets:
        by_store.setdefault(target.store_id, []).append(target)
    result: dict[int, Progress] = {}
    for store_targets in by_store.values():
        result.update(targets_progress(store_targets, today=store_today(store_targets[0].store)))
    return result


def targets_with_status(*, targets: QuerySet[Target], status: str) -> tuple[list[Target], dict[int, Progress]]:
    """The targets whose progress has this status (computed, not stored), with every target's progress."""
    everything = list(targets)
    progress = targets_progress_by_store(targets=everything)
    return [t for t in everything if progress[t.pk].status == status], progress


def target_list_filtered(
    *,
    viewer: Viewer,
    today: dt.date | None = None,
    period: str = "all",
    store_id: int | None = None,
    team_id: int | None = None,
    member_id: int | None = None,
    tier: str = "",
    active_on: dt.date | None = None,
) -> QuerySet[Target]:
    """The targets the viewer sees, filtered: `period` one of PERIOD_FILTERS against `today` (needed
    unless "all"); `active_on`, those whose days include it; an id the viewer may not see matches
    nothing."""
    targets = target_list(viewer=viewer)
    if period == "current":
        targets = targets.filter(start__lte=today, end__gte=today)
    elif period == "upcoming":
        targets = targets.filter(start__gt=today)
    elif period == "past":
        targets = targets.filter(end__lt=today)
    elif period == "open":
        targets = targets.filter(end__gte=today)
    if store_id:
        targets = targets.filter(store_id=store_id)
    if team_id:
        targets = targets.filter(team_id=team_id)
    if member_id:
        targets = targets.filter(member_id=member_id)
    if tier:
        targets = targets.filter(tier=tier)
    if active_on is not None:
        targets = targets.filter(start__lte=active_on, end__gte=active_on)
    return targets


def target_ancestors(*, target: Target, visible: QuerySet[Target]) -> list[Target]:
    """The visible targets above this one, the root first."""
    chain, node, seen = [], target, {target.pk}
    while node.parent_id and node.parent_id not in seen:
        parent = visible.filter(pk=node.parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        node = parent
    return list(reversed(chain))


def target_descendant_count(*, target: Target) -> int:
    """How many targets are below this one (all of them, seen or not: a delete removes them)."""
    count, frontier = 0, [target.pk]
    while frontier:
        frontier = list(Target.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        count += len(frontier)
    return count


def member_list_active(*, store: Store, team: Team | None, period: Period) -> list[Member]:
    """Active members of the team (or of the store's teams) at some time in the period."""
    memberships = TeamMembership.objects.filter(team__store=store, start_date__lte=period.end).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=period.start)
    )
    if team is not None:
        memberships = memberships.filter(team=team)
    return list(
        Member.objects.filter(pk__in=memberships.values("member_id"), active=True).order_by("display_name", "pk")
    )


def member_recording_get(*, viewer: Viewer, members: QuerySet[Member] | None = None) -> Member | None:
    """Whose counts a viewer records when they pick no one: themselves (staff linked to a member),
    else the first of `members` (those they may record for, by member_list_recordable; None: only
    themselves). None when there is no one."""
    if members is None:
        return Member.objects.filter(pk=viewer.member_id).first() if viewer.member_id else None
    return members.filter(pk=viewer.member_id).first() or members.first()


def store_list_of_member(*, member: Member) -> QuerySet[Store]:
    """The stores of the member's teams (past and present)."""
    return Store.objects.filter(teams__memberships__member=member).distinct().order_by("name")


def behaviour_list_of_member(*, member: Member) -> QuerySet[Behaviour]:
    """The behaviours the member counts: those of the stores of their teams, by store and name."""
    behaviours = Behaviour.objects.filter(store__in=store_list_of_member(member=member))
    return behaviours.select_related("store").order_by("store__name", "name")


def behaviour_record_list(
    *,
    member_id: int | None,
    behaviour_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[BehaviourRecord]:
    """A member's counts, newest first (none without a member), from `start` to `end` inclusive."""
    if member_id is None:
        return BehaviourRecord.objects.none()
    records = BehaviourRecord.objects.filter(member_id=member_id).select_related("behaviour", "recorded_by")
    if behaviour_id is not None:
        records = records.filter(behaviour_id=behaviour_id)
    if start is not None:
        records = records.filter(date__gte=start)
    if end is not None:
        records = records.filter(date__lte=end)
    return records.order_by("-date", "behaviour__name", "pk")


def target_list_of_member_behaviours(*, viewer: Viewer, member: Member, since: dt.date) -> list[Target]:
    """The member's own behaviour targets the viewer sees, ending on or after `since`."""
    targets = target_list(viewer=viewer).filter(behaviour__isnull=False, member=member, end__gte=since)
    return list(targets.order_by("start", "name"))


# --- alerts


def _alerts_meant_for(viewer: Viewer) -> Q:
    """Alerts meant for the viewer: of targets they own, their own, their teams' (as member or
    lead) and their stores' (as manager)."""
    q = Q(target__owner_id=viewer.user_id)
    teams = set(viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(target__member_id=viewer.member_id)
        teams |= set(TeamMembership.objects.filter(member_id=viewer.member_id).values_list("team_id", flat=True))
    if teams:
        q |= Q(target__team_id__in=teams, target__member__isnull=True)
    if viewer.managed_store_ids:
        q |= Q(target__store_id__in=viewer.managed_store_ids, target__team__isnull=True, target__member__isnull=True)
    return q


def target_alert_list(
    *, viewer: Viewer, mine: bool, unread: bool = False, ids: list[int] | None = None
) -> QuerySet[TargetAlert]:
    """Alerts of the targets the viewer sees, newest first; `mine`: only those meant for them;
    `unread`: only those not read yet; `ids`: only these (an id the viewer may not see matches nothing)."""
    alerts = TargetAlert.objects.filter(target__in=target_list(viewer=viewer).values("pk"))
    if mine:
        alerts = alerts.filter(_alerts_meant_for(viewer))
    if unread:
        alerts = alerts.filter(read_at__isnull=True)
    if ids is not None:
        alerts = alerts.filter(pk__in=ids)
    alerts = alerts.select_related("target__store", "target__team", "target__member", "target__behaviour")
    return alerts.order_by("-created_at", "-pk")


def target_alert_unread_count(*, viewer: Viewer, mine: bool = True) -> int:
    """Unread alerts meant for the viewer (`mine`, by default), or of every target they see."""
    return target_alert_list(viewer=viewer, mine=mine, unread=True).count()


# --- promotions


def campaign_list(*, viewer: Viewer) -> QuerySet[Campaign]:
    """Promotions of the stores the viewer sees, and those of every store, with their phases (by start)."""
    stores = store_list(viewer=viewer)
    campaigns = Campaign.objects.filter(Q(store__in=stores) | Q(store__isnull=True)).select_related("store")
    return campaigns.prefetch_related("phases")  # CampaignPhase's own order: by start


def campaign_focus_targets(*, viewer: Viewer, campaigns: list[Campaign]) -> list[Target]:
    """The focus targets of these promotions' phases that the viewer sees, by team and name."""
    return list(target_list(viewer=viewer).filter(phase__campaign__in=campaigns).order_by("team__name", "name"))
