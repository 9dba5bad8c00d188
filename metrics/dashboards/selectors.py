"""What the dashboards show, read from the day rollups only.

Each dashboard reads its rollup rows once (metrics.kpis.selectors.MemberRows) for the widest
range it needs and computes every table and figure from them with the registry formulas: the
cards, the trend, the leaderboard and its sparklines, the scatter, the heatmap, the response
distribution and the alerts. The store funnel and the RFM summary are two more small reads.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

import numpy as np
import pandas as pd
from django.db.models import Max, Min, Q
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from metrics.dashboards import figures
from metrics.db import frame_query, sql_in
from metrics.formatting import EMPTY, kpi_display
from metrics.kpis import grouping
from metrics.kpis.analytics import (
    HEATMAP_MIN_INQUIRIES,
    SEGMENTS,
    Alert,
    alerts_from_rows,
    conversion_cells,
    funnel_get,
    response_shares,
)
from metrics.kpis.frames import rollup_frames_get
from metrics.kpis.selectors import MemberRows, kpi_table, member_rows_load
from metrics.models import (
    OPEN_STAGES,
    BuyerSegmentCount,
    CallDirection,
    CampaignPhase,
    LeadStage,
    MemberDay,
    StoreDay,
    Target,
    TargetDirection,
)
from metrics.registry import KPI_BY_KEY, Direction, Family, Kpi, Level, Unit, kpi_get, kpis_for
from metrics.targets.pace import counted_through, even_pace, forecast_get, period_days, stores_last_day
from metrics.targets.selectors import (
    ACHIEVED,
    AHEAD,
    BEHIND,
    MISSED,
    NO_DATA,
    NOT_STARTED,
    ON_PACE,
    Progress,
    progress_completion,
    progress_status,
    target_pace,
    target_pace_weights,
    targets_progress,
)
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, StaffCost, Store, Team, TeamKind, TeamMembership
from teams.selectors.history import account_holder_join_sql, member_team_join_sql

# The cards of the team dashboard, in the order of the issue: what a manager checks first.
CARD_KPIS = (
    "gmv",
    "paid_orders",
    "aov",
    "inquiry_to_payment_rate",
    "avg_first_response_s",
    "refund_order_rate",
    "items_per_order",
)
# The personal page's table: the same, plus the volume a member controls.
PERSONAL_KPIS = (*CARD_KPIS, "sessions", "inquiring_buyers", "gmv_per_working_day")
DEFAULT_TREND_KPI = "gmv"
DEFAULT_SORT = "gmv"
SEGMENT_LABELS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "new": _("New"),
    "at_risk": _("At risk"),
    "lost": _("Lost"),
    "needs_attention": _("Needs attention"),
}
ALERT_LABELS = {
    "conversion_drop": _("Conversion dropped"),
    "slower_response": _("Slower first response"),
    "unanswered": _("Unanswered sessions"),
}
ALERT_WINDOW_DAYS = 35  # member_alerts: the last 7 days against the 28 before
SERVICE_FAMILIES: tuple[str, ...] = (Family.SERVICE,)  # what a team of no sales kind shows


# --- targets on the dashboards ----------------------------------------------------------------

STATUS_LABELS = {
    ACHIEVED: _("Achieved"),
    AHEAD: _("Ahead"),
    ON_PACE: _("On pace"),
    BEHIND: _("Behind"),
    MISSED: _("Missed"),
    NOT_STARTED: _("Not started"),
    NO_DATA: _("No figures yet"),
}
STATUS_CLASSES = {ACHIEVED: "ok", AHEAD: "ok", ON_PACE: "info", BEHIND: "warn", MISSED: "bad"}  # badges, as /targets/
# "Today: about N" spreads what is missing over the working days left, as the decomposition
# plans them (metrics.targets.decomposition): Monday to Saturday.
WORKING_WEEKDAYS = (0, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class TargetSource:
    """A target a card's target is prorated from."""

    target_id: int
    name: str
    start: dt.date
    end: dt.date
    value: Decimal


@dataclass(frozen=True)
class TargetRow:
    """A target and its progress as a dashboard shows it (a card's target, a row of "My targets").

    A card's target is either one target with its own period and progress (`prorated` False), or
    the target of the card's own days, prorated from the targets covering them by their pace
    rules (`prorated` True: start and end are the card's, `sources` the targets it comes from)."""

    target_id: int
    name: str
    level: str  # member, team or store
    kpi: Kpi | None  # None: a counted behaviour
    behaviour: str  # the behaviour's name ("" for a KPI)
    unit: str  # the behaviour's unit in the language the row was built in (Behaviour.unit_text)
    period_kind: str
    start: dt.date
    end: dt.date  # inclusive
    value: Decimal
    at_least: bool
    actual: Decimal | None
    expected: Decimal | None
    forecast: Decimal | None
    completion: Decimal | None  # 1 = met
    status: str
    as_of: dt.date | None
    is_sum: bool
    today_about: Decimal | None = None  # for a running sum: about this much today (see WORKING_WEEKDAYS)
    through: dt.date | None = None  # the last complete day in expected and forecast
    days_counted: int = 0  # "N of M days": the days counted in expected and forecast, of `days`
    prorated: bool = False
    sources: tuple[TargetSource, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return self.kpi.label if self.kpi else self.behaviour

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES.get(self.status, "")

    @property
    def completion_percent(self) -> float | None:
        """For a progress bar: 0–100 (capped; the text shows the real figure)."""
        return None if self.completion is None else max(0.0, min(float(self.completion) * 100, 100.0))

    def display(self, value) -> str:
        if value is None:
            return EMPTY
        if self.kpi is not None:
            return kpi_display(self.kpi, value)
        places = 0 if value == int(value) else 1  # a count; an expected count may be fractional
        number = number_format(round(Decimal(value), places), places, use_l10n=True, force_grouping=True)
        return f"{number} {self.unit}".rstrip()

    # Formatted when the page renders (in its language), not when the dashboard is cached.
    @property
    def value_display(self) -> str:
        return self.display(self.value)

    @property
    def actual_display(self) -> str:
        return self.display(self.actual)

    @property
    def expected_display(self) -> str:
        return self.display(self.expected)

    @property
    def forecast_display(self) -> str:
        return self.display(self.forecast)

    @property
    def today_display(self) -> str:
        if self.today_about is None:
            return EMPTY
        about = self.today_about
        if self.kpi is None or self.kpi.unit == Unit.COUNT:
            about = about.quantize(Decimal(1), rounding=ROUND_CEILING)  # whole orders, buyers, calls: rounded up
        return self.display(about)


def _kpi_is_sum(kpi: Kpi, level: str) -> bool:
    """A sum (money, counts) paces through its period; a rate or an average does not."""
    formula = kpi.formula(level)
    return formula is not None and not formula.denominator


def _working_days_left(today: dt.date, end: dt.date) -> int:
    days = sum(1 for n in range((end - today).days + 1) if (today + dt.timedelta(days=n)).weekday() in WORKING_WEEKDAYS)
    return max(days, 1)  # on a Sunday that ends the week: today itself


def _target_row(target: Target, progress: Progress, *, today: dt.date) -> TargetRow:
    at_least = target.direction == TargetDirection.AT_LEAST
    status = progress.status
    today_about = None
    running = target.start <= today <= target.end and status not in (ACHIEVED, MISSED, NOT_STARTED)
    if running and progress.is_sum and at_least:
        left = target.value - (progress.actual or Decimal(0))
        if left > 0:
            today_about = left / _working_days_left(today, target.end)
    return TargetRow(
        target_id=target.pk,
        name=target.name_text,
        level=target.level,
        kpi=KPI_BY_KEY.get(target.kpi_key) if target.kpi_key else None,
        behaviour=target.behaviour.name if target.behaviour_id else "",
        unit=target.behaviour.unit_text if target.behaviour_id else "",
        period_kind=target.period_kind,
        start=target.start,
        end=target.end,
        value=target.value,
        at_least=at_least,
        actual=progress.actual,
        expected=progress.expected,
        forecast=progress.forecast,
        completion=progress.completion,
        status=status,
        as_of=progress.as_of,
        is_sum=progress.is_sum,
        today_about=today_about,
        through=progress.through,
        days_counted=progress.days_counted,
    )


def _most_specific(targets: list[Target]) -> Target | None:
    """Of targets covering the same day, the shortest period (this month before this quarter);
    on a tie the latest created."""
    return min(targets, key=lambda t: ((t.end - t.start).days, -t.pk), default=None)


def card_targets_get(
    *,
    team: Team,
    period: Period,
    today: dt.date,
    actual_of: Callable[[dt.date, dt.date], dict],
    keys: tuple[str, ...] = CARD_KPIS,
) -> dict[str, TargetRow]:
    """For each card KPI (`keys`), the target of the card's own period, keyed by KPI key.

    When the team's own targets of the KPI cover every day of the period, the card's target is
    theirs prorated to its days (each day's share of its target by the target's pace rule; a
    rate's or an average's target is the days' mean value), compared with the card's own value:
    `actual_of(start, end)` gives the team's KPI row over those days. Otherwise the card shows the
    one target covering the period's last day (at most today; the team's, else the store's when
    the KPI is measured at store level too) with its own period and its progress on that day."""
    as_of = min(period.end, today)
    candidates = list(
        Target.objects.filter(
            Q(team=team) | Q(team__isnull=True),
            store_id=team.store_id,
            member__isnull=True,
            kpi_key__in=keys,
            start__lte=period.end,
            end__gte=period.start,
        ).select_related("behaviour")
    )
    result: dict[str, TargetRow] = {}
    fallback: dict[str, Target] = {}
    weights = target_pace_weights(candidates)
    last_day = stores_last_day(store_ids=[team.store_id]).get(team.store_id)
    days = period.dates()
    for key in keys:
        own = [t for t in candidates if t.kpi_key == key and t.team_id == team.pk]
        covering = {day: _most_specific([t for t in own if t.start <= day <= t.end]) for day in days}
        if own and all(covering.values()):
            result[key] = _card_prorated(
                kpi=kpi_get(key), period=period, today=today, covering=covering, last_day=last_day,
                weights=weights, actual_of=actual_of,
            )  # fmt: skip
            continue
        on_day = [t for t in candidates if t.start <= as_of <= t.end]
        own_on_day = [t for t in on_day if t.kpi_key == key and t.team_id == team.pk]
        store = [t for t in on_day if t.kpi_key == key and t.team_id is None] if kpi_get(key).store else []
        target = _most_specific(own_on_day or store)
        if target is not None:
            fallback[key] = target
    progress = targets_progress(list(fallback.values()), today=today, as_of=as_of)
    result.update({key: _target_row(t, progress[t.pk], today=as_of) for key, t in fallback.items()})
    return result


def target_day_weights(target: Target, weights: dict[int, dict[int, Decimal]]) -> dict[dt.date, Decimal]:
    """Each day's share (0 … 1, summing to 1) of a sum target's period by its pace rule (even, or
    by the store's weekday weights)."""
    weight = target_pace(target, weights)
    days = period_days(target.start, target.end)
    total = sum((weight(day) for day in days), Decimal(0))
    if not total:
        weight, total = even_pace, Decimal(len(days))  # no sales on any weekday of it: even
    return {day: weight(day) / total for day in days}


def target_prorated(target: Target, shares: dict[dt.date, Decimal], days: list[dt.date]) -> Decimal:
    """The part of a sum target's value falling on `days` (of its period), by its day shares."""
    covered = [shares[day] for day in days if day in shares]
    return target.value if len(covered) == len(shares) else target.value * sum(covered, Decimal(0))


def _card_prorated(
    *,
    kpi: Kpi,
    period: Period,
    today: dt.date,
    covering: dict[dt.date, Target],
    last_day: dt.date | None,
    weights: dict[int, dict[int, Decimal]],
    actual_of: Callable[[dt.date, dt.date], dict],
) -> TargetRow:
    """The target of the card's days, prorated from the targets covering them (see card_targets_get)."""
    sources = list(dict.fromkeys(covering.values()))
    last = covering[period.end]
    is_sum = _kpi_is_sum(kpi, Level.TEAM)
    if is_sum:
        shares = {t.pk: target_day_weights(t, weights) for t in sources}
        value = sum(
            (target_prorated(t, shares[t.pk], [d for d, c in covering.items() if c == t]) for t in sources), Decimal(0)
        )
        amounts = {day: t.value * shares[t.pk][day] for day, t in covering.items()}  # each day's part of the value
        pace = amounts.get
    else:  # a rate or an average holds on any of its days: the mean of the days' targets
        value = sum((t.value for t in covering.values()), Decimal(0)) / len(covering)
        pace = None
    until = min(last_day, period.end, today) if last_day else None
    actual = _to_decimal(kpi, actual_of(period.start, period.end).get(kpi.key)) if until else None
    through = counted_through(start=period.start, end=period.end, today=today, last_day=until)
    paced = None
    if through is not None:
        paced = actual if through >= until else _to_decimal(kpi, actual_of(period.start, through).get(kpi.key))
    forecast = forecast_get(
        start=period.start, end=period.end, today=today, last_day=until, actual=paced, actual_to_date=actual,
        value=value, is_sum=is_sum, pace=pace,
    )  # fmt: skip
    at_least = last.direction == TargetDirection.AT_LEAST
    ended = today > period.end or (through is not None and through >= period.end)
    if actual is None:
        status, completion = (MISSED if ended else NO_DATA), None
    else:
        completion = progress_completion(actual=actual, value=value, at_least=at_least)
        status = progress_status(actual=actual, paced=paced, expected=forecast.expected, value=value,
                                 at_least=at_least, is_sum=is_sum, ended=ended)  # fmt: skip
    single = len(sources) == 1 and (last.start, last.end) == (period.start, period.end)
    return TargetRow(
        target_id=last.pk,
        name=" + ".join(t.name for t in sources),
        level=last.level,
        kpi=kpi,
        behaviour="",
        unit="",
        period_kind=last.period_kind if single else "custom",
        start=period.start,
        end=period.end,
        value=value,
        at_least=at_least,
        actual=actual,
        expected=forecast.expected,
        forecast=forecast.forecast,
        completion=completion,
        status=status,
        as_of=until,
        is_sum=is_sum,
        through=forecast.through,
        days_counted=forecast.days_counted,
        prorated=not single,
        sources=tuple(TargetSource(t.pk, t.name, t.start, t.end, t.value) for t in sources),
    )


def _to_decimal(kpi: Kpi, value) -> Decimal | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return Decimal(value) if kpi.unit == Unit.MONEY else Decimal(str(value))


def trend_targets_get(*, team: Team, kpi: Kpi, days: list[dt.date]) -> tuple[list[Decimal | None], str]:
    """The team's target of the trend KPI for each day (None where it has none) and the line's
    label: a sum's target per day is the day's share of its value by its pace rule (even or by
    weekday); a rate's or average's, the value."""
    if not days:
        return [], ""
    targets = list(
        Target.objects.filter(
            team=team, member__isnull=True, kpi_key=kpi.key, start__lte=days[-1], end__gte=days[0]
        ).order_by("pk")
    )
    if not targets:
        return [None] * len(days), ""
    is_sum = _kpi_is_sum(kpi, Level.TEAM)
    weights = target_pace_weights(targets)
    shares: dict[int, dict[dt.date, Decimal]] = {}
    values: list[Decimal | None] = []
    for day in days:
        target = _most_specific([t for t in targets if t.start <= day <= t.end])
        if target is None:
            values.append(None)
        elif is_sum:
            if target.pk not in shares:
                shares[target.pk] = target_day_weights(target, weights)
            values.append(target.value * shares[target.pk][day])
        else:
            values.append(target.value)
    last = next((v for v in reversed(values) if v is not None), None)
    if last is None:
        return values, ""
    shown = kpi_display(kpi, last)
    label = _("Target %(value)s / day") % {"value": shown} if is_sum else _("Target %(value)s") % {"value": shown}
    return values, str(label)


def promotion_bands_get(*, store_id: int | None, start: dt.date, end: dt.date) -> list[figures.Band]:
    """Phases of the store's promotions and of those of every store overlapping the days, as
    chart bands; the first band of each promotion names it."""
    scope = Q(campaign__store__isnull=True) | (Q(campaign__store_id=store_id) if store_id else Q(pk__in=[]))
    phases = (
        CampaignPhase.objects.filter(scope, start__lte=end, end__gte=start)
        .select_related("campaign")
        .order_by("start", "pk")
    )
    bands, named = [], set()
    for phase in phases:
        kind = phase.get_kind_display()
        label = kind if phase.campaign_id in named else f"{phase.campaign.name} · {kind}"
        named.add(phase.campaign_id)
        title = f"{phase.campaign.name} · {kind} · {phase.start:%m-%d} – {phase.end:%m-%d}"
        bands.append(figures.Band(start=phase.start, end=phase.end, kind=phase.kind, label=label, title=title))
    return bands


def member_targets_get(*, member: Member, today: dt.date) -> list[TargetRow]:
    """The member's own targets (member scope) running today or this week (Monday to Sunday),
    with their progress today. Only this member's: never another's."""
    monday = today - dt.timedelta(days=today.weekday())
    targets = list(
        Target.objects.filter(member=member, start__lte=monday + dt.timedelta(days=6), end__gte=monday)
        .select_related("behaviour")
        .order_by("start", "end", "name", "pk")
    )
    progress = targets_progress(targets, today=today)
    return [_target_row(t, progress[t.pk], today=today) for t in targets]


@dataclass(frozen=True)
class Card:
    kpi: Kpi
    value: object
    previous: object
    change: float | None  # relative change, or the difference of two rates (then `points`)
    points: bool
    good: bool | None  # the change is good (True), bad (False) or neither / unknown (None)
    target: TargetRow | None = None  # the card's days' target, or the one covering the period's end

    @property
    def target_value(self) -> Decimal | None:
        return self.target.value if self.target else None

    @property
    def completion(self) -> Decimal | None:
        return self.target.completion if self.target else None

    @property
    def status(self) -> str | None:
        return self.target.status if self.target else None


@dataclass(frozen=True)
class LeaderRow:
    member_id: int
    name: str
    rank: int | None
    values: dict[str, object]
    spark: list[float | None]


@dataclass(frozen=True)
class AlertRow:
    member_id: int
    name: str
    kind: str
    label: str
    recent: float
    baseline: float | None


@dataclass
class TeamDashboard:
    team: Team
    period: Period
    previous: Period
    has_data: bool
    last_day: dt.date | None  # the team's last day with data, for the empty state
    cards: list[Card]
    trend_kpi: Kpi
    trend: dict
    columns: list[Kpi]
    sort: str
    descending: bool
    leaderboard: list[LeaderRow]
    families: tuple[str, ...] = SERVICE_FAMILIES  # the KPI families shown (team_families)
    # Service teams (empty for sales teams): the store funnel, volume vs price, the chat
    # conversion heatmap, the first response, alerts and the RFM summary.
    funnel_steps: list[tuple[str, int]] = field(default_factory=list)
    uv_by_channel: list[tuple[str, int]] = field(default_factory=list)
    funnel: dict = field(default_factory=dict)
    scatter: dict = field(default_factory=dict)
    heatmap: dict = field(default_factory=dict)
    response: dict[str, float | None] = field(default_factory=dict)
    response_figure: dict = field(default_factory=dict)
    alerts: list[AlertRow] = field(default_factory=list)
    segments: list[tuple[str, str, int, int]] = field(default_factory=list)  # key, label, buyers, churn risk
    segments_as_of: dt.date | None = None
    targets_as_of: dt.date | None = None  # the day the cards' targets' progress is taken on
    trend_targets: list[Decimal | None] = field(default_factory=list)  # per day of the period
    bands: list[figures.Band] = field(default_factory=list)  # promotion phases in the period
    sales: SalesFigures | None = None  # sales teams: the pipeline and calls figures

    @property
    def is_service(self) -> bool:
        return Family.SERVICE in self.families

    @property
    def churn_risk(self) -> int:
        return sum(row[3] for row in self.segments)

    @property
    def funnel_is_log(self) -> bool:
        return figures.funnel_is_log(self.funnel)

    @property
    def heatmap_minimum(self) -> int:
        """The inquiring buyers a heatmap cell needs before its rate is shown."""
        return HEATMAP_MIN_INQUIRIES

    @property
    def has_trend_target(self) -> bool:
        return any(value is not None for value in self.trend_targets)

    @property
    def has_card_target(self) -> bool:
        return any(card.target is not None for card in self.cards)


def _change(kpi: Kpi, value, previous) -> tuple[float | None, bool, bool | None]:
    if value is None or previous is None:
        return None, kpi.is_rate, None
    if kpi.is_rate:
        change = float(value) - float(previous)
    elif float(previous) == 0:
        return None, False, None
    else:
        change = (float(value) - float(previous)) / float(previous)
    if change == 0 or kpi.direction == Direction.NEUTRAL:
        return change, kpi.is_rate, None
    return change, kpi.is_rate, (change > 0) == (kpi.direction == Direction.HIGHER)


def _only_row(table: pd.DataFrame) -> dict:
    return table.iloc[0].to_dict() if len(table) else {}


# Lower-is-better durations whose zero means "not measured", not "instant": a first response or
# a stage time of exactly 0 s comes from missing or equal timestamps, not from a real best.
UNMEASURED_ZERO_UNITS = (Unit.SECONDS, Unit.DAYS)


def rank_value(value, kpi: Kpi) -> float | None:
    """The number a ranking by `kpi` compares, or None when the entity is not ranked (the rule
    is `ranks`')."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # pandas' NA and the like: no value
        return None
    if not math.isfinite(number):
        return None
    if number == 0 and (kpi.direction != Direction.LOWER or kpi.unit in UNMEASURED_ZERO_UNITS):
        return None
    return number


def ranks(values: dict[int, object], kpi: Kpi) -> dict[int, int | None]:
    """Competition ranks (1, 2, 2, 4) of entities by a KPI, best first in the KPI's direction;
    entities that are not ranked get None. The one rule of who is ranked, for every ranking
    (the leaderboard, the personal page's "rank / of", the team PK champions, the ranking
    awards and the appraisals' rank rule):

    - an empty value (None or NaN: no activity, or a ratio with nothing to divide by) is not
      ranked;
    - zero is not ranked where it means nothing was done: for a higher-is-better or neutral KPI
      (no GMV, no paid orders, no calls, a conversion of 0 %) and for any duration (a first
      response or a stage time of 0 s was not measured);
    - zero is ranked for the other lower-is-better KPIs, where it is the best real value: 0 %
      refunded orders over paid orders, no unanswered session, no refund (an entity with no
      activity has no value there at all, not zero).

    "Rank r of N": N is the number ranked (`ranked_count`), never the number of entities."""
    numbers = {entity: rank_value(value, kpi) for entity, value in values.items()}
    lower_first = kpi.direction == Direction.LOWER
    ordered = sorted(
        ((entity, number) for entity, number in numbers.items() if number is not None),
        key=lambda item: item[1] if lower_first else -item[1],
    )
    result: dict[int, int | None] = dict.fromkeys(values)
    rank, last = 0, None
    for position, (entity, number) in enumerate(ordered, start=1):
        if number != last:
            rank, last = position, number
        result[entity] = rank
    return result


def ranked_count(member_ranks: dict[int, int | None]) -> int:
    """How many entities a ranking ranked: the N of "rank r of N"."""
    return sum(rank is not None for rank in member_ranks.values())


def _median(values) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def _team_last_day(team: Team, *, service: bool = True) -> dt.date | None:
    """For the empty state: the store's last day with shop data; a sales team's last day with
    figures of its own."""
    if not service:
        return MemberDay.objects.filter(team=team).aggregate(last=Max("date"))["last"]
    return StoreDay.objects.filter(store_id=team.store_id).aggregate(last=Max("date"))["last"]


def segments_get(*, store_id: int, as_of: dt.date) -> tuple[list[tuple[str, str, int, int]], dt.date | None]:
    """The RFM summary of the store written last on or before `as_of` (or the earliest after it)."""
    snapshots = BuyerSegmentCount.objects.filter(store_id=store_id)
    day = snapshots.filter(as_of__lte=as_of).aggregate(day=Max("as_of"))["day"]
    if day is None:
        day = snapshots.aggregate(day=Min("as_of"))["day"]
    if day is None:
        return [], None
    counts = {row.segment: row for row in snapshots.filter(as_of=day)}
    rows = [
        (key, str(SEGMENT_LABELS[key]), counts[key].buyers, counts[key].churn_risk) for key in SEGMENTS if key in counts
    ]
    return rows, day


# --- sales teams: KPI families, the pipeline funnel, stage ageing, calls by hour --------------
#
# A team's kind decides which KPI families its pages show (metrics.registry.Family). The KPI
# figures come from the rollups like every other; the three figures below read the leads and
# calls facts of one store and period (indexed by store and local day, a few thousand rows) with
# the owner's member and team of the day joined as the rollups join them, and are cached with the
# page by the store's data version.

FAMILY_CARDS: dict[str, tuple[str, ...]] = {
    Family.SERVICE: CARD_KPIS,
    Family.PIPELINE: ("new_leads", "won_deals", "won_amount", "win_rate", "pipeline_value", "sales_target_completion"),
    Family.CALLS: ("dials", "connected_dials", "connect_rate", "talk_time"),
}
# The personal page's table: the cards plus what a sales member controls day to day.
FAMILY_PERSONAL: dict[str, tuple[str, ...]] = {
    Family.SERVICE: PERSONAL_KPIS,
    Family.PIPELINE: (
        *FAMILY_CARDS[Family.PIPELINE],
        "leads_touched",
        "lead_to_intent_rate",
        "sales_cycle_days",
        "collected_amount",
    ),
    Family.CALLS: (*FAMILY_CARDS[Family.CALLS], "avg_talk_s", "inbound_calls"),
}
# The default trend and leaderboard order: the first family's.
FAMILY_DEFAULT_KPI: dict[str, str] = {
    Family.SERVICE: DEFAULT_TREND_KPI,
    Family.PIPELINE: "won_amount",
    Family.CALLS: "connected_dials",
}


def team_families(*, team: Team | None) -> tuple[str, ...]:
    """The KPI families a team's pages show, first the main one: service teams (pre-sales,
    after-sales, operations) their chats and orders; telesales calls and pipeline; online sales
    the pipeline, and calls too once any member-day of the team has a call."""
    if team is None:
        return SERVICE_FAMILIES
    if team.kind == TeamKind.TELESALES:
        return (Family.CALLS, Family.PIPELINE)
    if team.kind == TeamKind.ONLINE_SALES:
        has_calls = MemberDay.objects.filter(Q(dials__gt=0) | Q(inbound_calls__gt=0), team=team).exists()
        return (Family.PIPELINE, Family.CALLS) if has_calls else (Family.PIPELINE,)
    return SERVICE_FAMILIES


def family_kpis(*, families: tuple[str, ...], level: str = Level.MEMBER) -> list[Kpi]:
    """The KPIs of the families at a level, family by family in the order given (registry order
    within a family)."""
    return [kpi for family in families for kpi in kpis_for(level, families=(family,))]


def family_default_kpi(*, families: tuple[str, ...]) -> str:
    return FAMILY_DEFAULT_KPI[families[0]]


def _family_keys(table: dict[str, tuple[str, ...]], families: tuple[str, ...]) -> list[str]:
    return [key for family in families for key in table[family]]


# Stages in pipeline order; a lead "reached" a stage when it entered it or any later one (won
# counts as having passed intent and negotiation; lost counts as nothing).
_STAGE_RANK = {LeadStage.LEAD: 0, LeadStage.INTENT: 1, LeadStage.NEGOTIATION: 2, LeadStage.WON: 3}
_RANK_SQL = "CASE {column} WHEN 'intent' THEN 1 WHEN 'negotiation' THEN 2 WHEN 'won' THEN 3 ELSE 0 END"
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


def _owner_where(*, team_id: int | None, member_id: int | None) -> tuple[str, list]:
    if team_id is not None:
        return " AND tm.team_id = %s", [team_id]
    return " AND aa.member_id = %s", [member_id]


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
        f"SELECT l.id, {_RANK_SQL.format(column='l.stage')}, "  # noqa: S608
        f"(SELECT MAX({_RANK_SQL.format(column='h.stage')}) FROM metrics_leadstagechange h WHERE h.lead_id = l.id) "
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
    counts = [len(rank), *(int((rank >= _STAGE_RANK[stage]).sum()) for stage, _label in FUNNEL_STEPS[1:])]
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
        f"SELECT l.id, l.stage, l.stage_changed_date FROM metrics_lead l"  # noqa: S608
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


@dataclass(frozen=True)
class HourRow:
    hour: int  # the store's local hour of the call's start
    dials: int
    connected: int

    @property
    def rate(self) -> float | None:
        return self.connected / self.dials if self.dials else None


def calls_by_hour_get(
    *, store_id: int, start: dt.date, end: dt.date, team_id: int | None = None, member_id: int | None = None
) -> list[HourRow]:
    """Outbound calls of local days start … end by the team's (or the member's) accounts of
    the call's day, per local hour of their start: 24 rows, dials and connected."""
    where, params = _owner_where(team_id=team_id, member_id=member_id)
    # The joins' days are the call's: its member and team on that day, as the rollups count it.
    counts = frame_query(
        "SELECT c.started_hour, COUNT(*), SUM(CASE WHEN c.connected THEN 1 ELSE 0 END) FROM metrics_call c"  # noqa: S608
        f"{_owner_join('c.account_id', 'c.started_date', team=team_id is not None)} "
        f"WHERE c.store_id = %s AND c.started_date BETWEEN %s AND %s AND c.direction = %s{where} "
        "GROUP BY c.started_hour",
        [store_id, start, end, CallDirection.OUTBOUND, *params],
        ["hour", "dials", "connected"],
    )
    by_hour = {int(r.hour): (int(r.dials), int(r.connected or 0)) for r in counts.itertuples(index=False)}
    return [HourRow(hour, *by_hour.get(hour, (0, 0))) for hour in range(24)]


@dataclass
class SalesFigures:
    """The pipeline and calls figures of a team's or member's page (None: not the page's family)."""

    funnel: list[FunnelStep] | None = None
    funnel_figure: dict = field(default_factory=dict)
    ageing: Ageing | None = None
    ageing_figure: dict = field(default_factory=dict)
    calls: list[HourRow] | None = None
    calls_figure: dict = field(default_factory=dict)

    @property
    def has_funnel(self) -> bool:
        return bool(self.funnel and self.funnel[0].count)

    @property
    def funnel_is_log(self) -> bool:
        return figures.funnel_is_log(self.funnel_figure)

    @property
    def has_ageing(self) -> bool:
        return self.ageing is not None and self.ageing.total > 0

    @property
    def has_calls(self) -> bool:
        return bool(self.calls and any(row.dials for row in self.calls))

    @property
    def any(self) -> bool:
        return self.has_funnel or self.has_ageing or self.has_calls


def sales_figures_get(
    *,
    families: tuple[str, ...],
    store: Store,
    period: Period,
    as_of: dt.date,
    team_id: int | None = None,
    member_id: int | None = None,
) -> SalesFigures:
    """The sales figures of the families: pipeline (funnel of the period's leads, ageing of the
    open ones as of `as_of`) and calls (by hour over the period)."""
    result = SalesFigures()
    owner = {"team_id": team_id, "member_id": member_id}
    if Family.PIPELINE in families:
        result.funnel = pipeline_funnel_get(store_id=store.pk, start=period.start, end=period.end, **owner)
        result.funnel_figure = figures.funnel_figure(steps=[(step.label, step.count) for step in result.funnel])
        result.ageing = stage_ageing_get(store=store, as_of=as_of, **owner)
        result.ageing_figure = figures.ageing_figure(
            stages=result.ageing.stages,
            buckets=result.ageing.buckets,
            counts=result.ageing.counts,
            stuck_position=_stuck_position(result.ageing.stuck_days),
            stuck_label=str(_("Stuck after %(days)s days in negotiation") % {"days": result.ageing.stuck_days}),
        )
    if Family.CALLS in families:
        result.calls = calls_by_hour_get(store_id=store.pk, start=period.start, end=period.end, **owner)
        result.calls_figure = figures.calls_hour_figure(
            hours=[row.hour for row in result.calls],
            dials=[row.dials for row in result.calls],
            connected=[row.connected for row in result.calls],
            rates=[row.rate for row in result.calls],
        )
    return result


def _stuck_position(days: int) -> float:
    """Where `days` falls on the ageing chart's category axis (bucket i at x = i): after the
    bucket it ends, or inside the bucket that holds it."""
    for index, (low, high) in enumerate(AGE_BUCKETS):
        if high is None or days <= high:
            if days < low:
                return index - 0.5
            width = (high - low + 1) if high is not None else 1
            return index - 0.5 + min((days - low + 1) / width, 1.0)
    return len(AGE_BUCKETS) - 0.5


def team_dashboard_get(
    *,
    team: Team,
    period: Period,
    trend_kpi: str = DEFAULT_TREND_KPI,
    sort: str = DEFAULT_SORT,
    descending: bool | None = None,
    member_link: Callable[[int], str],
    day_link: Callable[[dt.date], str],
    today: dt.date | None = None,
) -> TeamDashboard:
    """Everything the team dashboard shows for one team and period (local days, inclusive).

    Targets: a card shows the target of its own days, prorated from the team's targets covering
    them, else the one target covering the period's end (at most today: the store's local day
    unless given) with its own period and progress (card_targets_get); the trend draws the team's
    target per day."""
    previous = period.previous()
    families = team_families(team=team)
    service = Family.SERVICE in families
    default_kpi = family_default_kpi(families=families)
    team_kpis = {k.key: k for k in family_kpis(families=families, level=Level.TEAM)}
    trend = team_kpis.get(trend_kpi) or team_kpis[default_kpi]
    sort_kpi = team_kpis.get(sort) or team_kpis[default_kpi]
    if sort_kpi.key != sort and sort in KPI_BY_KEY:
        descending = None  # another family's KPI: the team's default order
    first = min(previous.start, period.end - dt.timedelta(days=ALERT_WINDOW_DAYS - 1))
    rows = member_rows_load(start=first, end=period.end, store_ids=[team.store_id], team_ids=[team.pk])
    current = rows.between(period.start, period.end)

    def table(level: str, grain: str, span: Period, only: list[str] | None = None) -> pd.DataFrame:
        return kpi_table(level=level, grain=grain, start=span.start, end=span.end, rows=rows, only=only)

    now, before = _only_row(table(Level.TEAM, "range", period)), _only_row(table(Level.TEAM, "range", previous))
    today = today or store_today(team.store)
    targets_as_of = min(period.end, today)
    card_keys = tuple(_family_keys(FAMILY_CARDS, families))

    def actual_of(start: dt.date, end: dt.date) -> dict:
        """The team's KPI row over some of the period's days (a card's target compares with it)."""
        if (start, end) == (period.start, period.end):
            return now
        return _only_row(table(Level.TEAM, "range", Period(start, end)))

    card_targets = card_targets_get(team=team, period=period, today=today, actual_of=actual_of, keys=card_keys)
    cards = []
    for key in card_keys:
        kpi = kpi_get(key)
        change, points, good = _change(kpi, now.get(key), before.get(key))
        cards.append(Card(kpi, now.get(key), before.get(key), change, points, good, card_targets.get(key)))

    team_days = table(Level.TEAM, "day", period, only=[trend.key]).set_index("period_start")
    dates = period.dates()
    trend_values = [team_days[trend.key].get(day) if trend.key in team_days else None for day in dates]
    trend_targets, target_label = trend_targets_get(team=team, kpi=trend, days=dates)
    bands = promotion_bands_get(store_id=team.store_id, start=period.start, end=period.end)
    trend_figure = figures.trend_figure(
        kpi=trend,
        days=dates,
        values=trend_values,
        links=[day_link(day) for day in dates],
        targets=trend_targets,
        target_label=target_label,
        bands=bands,
    )

    # Leaderboard: every member KPI of the period, ranked by the sort KPI; a sparkline of it.
    members = table(Level.MEMBER, "range", period)
    member_days = table(Level.MEMBER, "day", period, only=[sort_kpi.key])  # the sparklines
    names = dict(Member.objects.filter(pk__in=members["entity_id"].tolist()).values_list("id", "display_name"))
    columns = family_kpis(families=families, level=Level.MEMBER)
    values_by_member = {int(r["entity_id"]): r for r in members.to_dict("records")}
    member_ranks = ranks({m: r[sort_kpi.key] for m, r in values_by_member.items()}, sort_kpi)
    sparks: dict[int, dict[dt.date, object]] = {}
    for record in member_days[["entity_id", "period_start", sort_kpi.key]].itertuples(index=False):
        sparks.setdefault(int(record[0]), {})[record[1]] = record[2]
    leaderboard = [
        LeaderRow(
            member_id=m,
            name=names.get(m, f"#{m}"),
            rank=member_ranks.get(m),
            values={k.key: r[k.key] for k in columns},
            spark=[None if sparks.get(m, {}).get(d) is None else float(sparks[m][d]) for d in dates],
        )
        for m, r in values_by_member.items()
    ]
    wanted_descending = (sort_kpi.direction != Direction.LOWER) if descending is None else descending
    # The ranked in the order asked for, then the unranked (an empty value, or a zero that ranks
    # nobody: see `ranks`) by name, whichever the direction.
    present = [row for row in leaderboard if row.rank is not None]
    missing = [row for row in leaderboard if row.rank is None]
    present.sort(key=lambda row: float(row.values[sort_kpi.key]), reverse=wanted_descending)
    leaderboard = present + sorted(missing, key=lambda row: row.name)

    # Sales teams: the pipeline and calls figures from the facts; the ageing is of today (the
    # leads as the latest export shows them), whatever the period.
    sales = sales_figures_get(families=families, store=team.store, period=period, as_of=today, team_id=team.pk)
    has_data = not current.days.empty or sales.any
    service_parts = (
        _service_parts(
            team=team,
            period=period,
            rows=rows,
            current=current,
            names=names,
            leaderboard=leaderboard,
            member_link=member_link,
        )
        if service
        else {}
    )
    return TeamDashboard(
        team=team,
        period=period,
        previous=previous,
        has_data=has_data,
        last_day=None if has_data else _team_last_day(team, service=service),
        cards=cards,
        trend_kpi=trend,
        trend=trend_figure,
        columns=columns,
        sort=sort_kpi.key,
        descending=wanted_descending,
        leaderboard=leaderboard,
        targets_as_of=targets_as_of,
        trend_targets=trend_targets,
        bands=bands,
        families=families,
        sales=sales,
        **service_parts,
    )


def _service_parts(
    *,
    team: Team,
    period: Period,
    rows: MemberRows,
    current: MemberRows,
    names: dict[int, str],
    leaderboard: list[LeaderRow],
    member_link: Callable[[int], str],
) -> dict:
    """The service teams' figures: volume vs price, the chat conversion heatmap, the first
    response, the store funnel, alerts and the RFM summary."""
    scatter_rows = [row for row in leaderboard if row.values["paid_orders"]]
    scatter = figures.scatter_figure(
        names=[row.name for row in scatter_rows],
        paid_orders=[int(row.values["paid_orders"]) for row in scatter_rows],
        aov=[row.values["aov"] for row in scatter_rows],
        links=[member_link(row.member_id) for row in scatter_rows],
        median_orders=_median(row.values["paid_orders"] for row in scatter_rows),
        median_aov=_median(row.values["aov"] for row in scatter_rows),
    )
    response = response_shares(current.days)
    funnel = funnel_get(store_id=team.store_id, start=period.start, end=period.end)
    funnel_labels = {
        "uv": _("Visitors (UV)"),
        "inquiring_buyers": _("Inquiring buyers"),
        "ordered_buyers": _("Ordering buyers"),
        "paying_buyers": _("Paying buyers"),
        "repeat_buyers": _("Repeat buyers"),
    }
    funnel_steps = [(str(funnel_labels[key]), value) for key, value in funnel["steps"]]
    # The rows are the team's days only: every member alerted on was in the team then.
    alerts = [_alert_row(alert, names) for alert in alerts_from_rows(rows.days, rows.buyers, as_of=period.end)]
    segments, segments_as_of = segments_get(store_id=team.store_id, as_of=period.end)
    rates, inquiring = conversion_cells(current.buyers)
    return {
        "funnel_steps": funnel_steps,
        "uv_by_channel": funnel["uv_by_channel"],
        "funnel": figures.funnel_figure(steps=funnel_steps),
        "scatter": scatter,
        "heatmap": figures.heatmap_figure(grid=rates, inquiring=inquiring, minimum=HEATMAP_MIN_INQUIRIES),
        "response": response,
        "response_figure": figures.response_figure(shares=response),
        "alerts": alerts,
        "segments": segments,
        "segments_as_of": segments_as_of,
    }


def _alert_row(alert: Alert, names: dict[int, str]) -> AlertRow:
    if alert.member_id not in names:
        names[alert.member_id] = (
            Member.objects.filter(pk=alert.member_id).values_list("display_name", flat=True).first() or ""
        )
    return AlertRow(
        member_id=alert.member_id,
        name=names[alert.member_id],
        kind=alert.kind,
        label=str(ALERT_LABELS[alert.kind]),
        recent=alert.recent,
        baseline=alert.baseline,
    )


# --- the personal page ---------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalCell:
    value: object
    team_median: float | None
    rank: int | None
    ranked: int  # members ranked (see `ranks`), the rank's denominator


@dataclass
class PersonalDashboard:
    member: Member
    team: Team | None
    today: dt.date
    spans: list[tuple[str, Period]]  # (label, period): today, this week, this month
    kpis: list[Kpi]
    cells: dict[str, list[PersonalCell]]  # kpi key → one cell per span
    period: Period
    trend_kpi: Kpi
    trend: dict
    response: dict[str, float | None]
    response_figure: dict
    alerts: list[AlertRow]
    has_data: bool
    targets: list[TargetRow] = field(default_factory=list)  # the member's own, of today and this week
    bands: list[figures.Band] = field(default_factory=list)  # promotion phases in the period
    families: tuple[str, ...] = SERVICE_FAMILIES  # those of the member's team (team_families)
    sales: SalesFigures | None = None  # sales staff: their own pipeline and calls figures

    @property
    def is_service(self) -> bool:
        return Family.SERVICE in self.families


def member_team_on(*, member: Member, day: dt.date) -> Team | None:
    """The member's team on `day`, else their latest team."""
    memberships = TeamMembership.objects.filter(member=member).select_related("team__store")
    on_day = memberships.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day).first()
    if on_day:
        return on_day.team
    latest = memberships.order_by("-start_date").first()
    return latest.team if latest else None


def member_dashboard_get(
    *, member: Member, today: dt.date, period: Period, trend_kpi: str = DEFAULT_TREND_KPI, day_link
) -> PersonalDashboard:
    """The member's own KPIs for today, this week and this month against the team median and
    their rank in the team, and a trend over `period` with the team median. Nothing here names
    another member: the team figures are medians and a count."""
    team = member_team_on(member=member, day=today)
    spans = [
        (str(_("Today")), Period(today, today)),
        (str(_("This week")), Period(today - dt.timedelta(days=today.weekday()), today)),
        (str(_("This month")), Period(today.replace(day=1), today)),
    ]
    families = team_families(team=team)
    member_kpis = {k.key: k for k in family_kpis(families=families, level=Level.MEMBER)}
    trend = member_kpis.get(trend_kpi) or member_kpis[family_default_kpi(families=families)]
    kpis = [kpi_get(key) for key in _family_keys(FAMILY_PERSONAL, families)]
    first = min(period.start, spans[-1][1].start, period.end - dt.timedelta(days=ALERT_WINDOW_DAYS - 1))
    last = max(period.end, today)
    if team is not None:
        rows = member_rows_load(start=first, end=last, store_ids=[team.store_id], team_ids=[team.pk])
    else:
        rows = member_rows_load(start=first, end=last, store_ids=None, member_ids=[member.pk])
    cells: dict[str, list[PersonalCell]] = {k.key: [] for k in kpis}
    for _label, span in spans:
        table = kpi_table(level=Level.MEMBER, grain="range", start=span.start, end=span.end, rows=rows)
        by_member = {int(r["entity_id"]): r for r in table.to_dict("records")}
        mine = by_member.get(member.pk, {})
        for kpi in kpis:
            values = {m: r[kpi.key] for m, r in by_member.items()}
            member_ranks = ranks(values, kpi)
            cells[kpi.key].append(
                PersonalCell(
                    value=mine.get(kpi.key),
                    team_median=_median(values.values()),
                    rank=member_ranks.get(member.pk),
                    ranked=ranked_count(member_ranks),
                )
            )
    days = kpi_table(level=Level.MEMBER, grain="day", start=period.start, end=period.end, rows=rows, only=[trend.key])
    dates = period.dates()
    own = days.loc[days["entity_id"] == member.pk].set_index("period_start")[trend.key] if len(days) else {}
    medians = days.groupby("period_start")[trend.key].agg(lambda s: _median(s.tolist())) if len(days) else {}
    bands = promotion_bands_get(store_id=team.store_id if team else None, start=period.start, end=period.end)
    trend_figure = figures.trend_figure(
        kpi=trend,
        days=dates,
        values=[own.get(d) if len(own) else None for d in dates],
        medians=[medians.get(d) if len(medians) else None for d in dates],
        links=[day_link(d) for d in dates],
        bands=bands,
    )
    mine_days = rows.between(period.start, period.end).of_member(member.pk).days
    service = Family.SERVICE in families
    response = response_shares(mine_days) if service else {}
    alerts = []
    if service:
        own_rows = rows.of_member(member.pk)
        names = {member.pk: member.display_name}
        alerts = [
            _alert_row(alert, names)
            for alert in alerts_from_rows(own_rows.days, own_rows.buyers, as_of=min(period.end, today))
        ]
    # Sales staff: their own leads and calls only (member_id), never the team's.
    sales = (
        sales_figures_get(families=families, store=team.store, period=period, as_of=today, member_id=member.pk)
        if team is not None and not service
        else None
    )
    return PersonalDashboard(
        member=member,
        team=team,
        today=today,
        spans=spans,
        kpis=kpis,
        cells=cells,
        period=period,
        trend_kpi=trend,
        trend=trend_figure,
        response=response,
        response_figure=figures.response_figure(shares=response) if service else {},
        alerts=alerts,
        has_data=not mine_days.empty or any(c.value for cs in cells.values() for c in cs) or bool(sales and sales.any),
        targets=member_targets_get(member=member, today=today),
        bands=bands,
        families=families,
        sales=sales,
    )


# --- the store overview --------------------------------------------------------------------


@dataclass(frozen=True)
class StoreRow:
    store: Store
    staff: int  # members with at least one session in the period
    daily_inquiries: float | None  # inquiring buyers per day (each day's distinct buyers), 人次
    sessions: int
    gmv: object  # Decimal yuan
    paid_orders: int
    uv: int
    gmv_per_staff: object
    staff_cost: object | None  # Decimal yuan, prorated to the period's days; None when not entered
    cost_share: float | None  # staff cost / GMV


@dataclass
class StoreOverview:
    period: Period
    rows: list[StoreRow]
    figure: dict
    has_data: bool


def staff_cost_for(*, store_id: int, period: Period) -> object | None:
    """Entered monthly staff costs prorated to the period's days (a month's cost spread evenly
    over its days); None when no month of the period has a cost entered."""
    costs = {
        (c.month.year, c.month.month): c.amount_cents
        for c in StaffCost.objects.filter(
            store_id=store_id, month__gte=period.start.replace(day=1), month__lte=period.end
        )
    }
    if not costs:
        return None
    total = Decimal(0)
    for day in period.dates():
        cents = costs.get((day.year, day.month))
        if cents is not None:
            month_days = ((day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).day
            total += Decimal(cents) / month_days
    return (total / 100).quantize(Decimal("0.01"))


def store_overview_get(*, stores, period: Period, store_link: Callable[[int], str]) -> StoreOverview:
    """Stores side by side over the period: staff, daily inquiries, GMV, GMV per staff member and
    staff cost where entered."""
    store_list = list(stores)
    ids = [s.pk for s in store_list]
    frames = rollup_frames_get(
        store_ids=ids, start=period.start, end=period.end, tables=("store_days", "days", "buyers")
    )
    # Per store: GMV, paid orders and UV; staff (members with a session) and their sessions; each
    # day's distinct inquiring buyers, summed ("person-times" as the shops count them).
    store_days, member_days, buyers = frames["store_days"], frames["days"], frames["buyers"]
    found, sums = grouping.group_sums(store_days["store_id"], store_days.matrix(["gmv_cents", "paid_orders", "uv"]))
    totals = {int(store): row.tolist() for store, row in zip(found, sums, strict=True)}
    worked = member_days.where(member_days["sessions"] > 0)
    staff_found, headcounts = grouping.distinct_count(worked["store_id"], worked["member_id"].astype(np.int64))
    headcount_of = dict(zip(staff_found.tolist(), headcounts.tolist(), strict=True))
    session_found, sessions = grouping.group_sums(worked["store_id"], worked.matrix(["sessions"]))
    sessions_of = dict(zip(session_found.tolist(), sessions[:, 0].tolist(), strict=True))
    inquiries: dict[int, int] = {}
    if len(buyers):
        store_ids = np.array(sorted(ids), dtype=np.int64)
        days = grouping.day_numbers(buyers["date"])
        day_codes = np.searchsorted(store_ids, buyers["store_id"]) * grouping.DAY_SPAN + (days - days.min())
        found_days, per_day = grouping.distinct_count(day_codes, buyers["buyer"])
        stores_of_days, inquired = grouping.group_sums(found_days // grouping.DAY_SPAN, per_day.reshape(-1, 1))
        inquiries = dict(zip(store_ids[stores_of_days].tolist(), inquired[:, 0].tolist(), strict=True))
    rows = []
    for store in store_list:
        gmv_cents, paid_orders, uv = totals.get(store.pk, (0, 0, 0))
        gmv = (Decimal(gmv_cents) / 100).quantize(Decimal("0.01"))
        headcount = headcount_of.get(store.pk, 0)
        cost = staff_cost_for(store_id=store.pk, period=period)
        inquired = inquiries.get(store.pk)
        rows.append(
            StoreRow(
                store=store,
                staff=headcount,
                daily_inquiries=None if inquired is None else float(inquired) / period.days,
                sessions=sessions_of.get(store.pk, 0),
                gmv=gmv,
                paid_orders=paid_orders,
                uv=uv,
                gmv_per_staff=(gmv / headcount).quantize(Decimal("0.01")) if headcount else None,
                staff_cost=cost,
                cost_share=float(cost / gmv) if cost is not None and gmv else None,
            )
        )
    figure = figures.stores_figure(
        names=[r.store.name for r in rows],
        gmv=[r.gmv for r in rows],
        staff=[r.staff for r in rows],
        links=[store_link(r.store.pk) for r in rows],
    )
    return StoreOverview(period=period, rows=rows, figure=figure, has_data=any(r.gmv or r.sessions for r in rows))


def kpi_choices(level: str = Level.TEAM, *, families: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """The trend's choices: the KPIs of the families (all member KPIs when None), family by family."""
    kpis = kpis_for(level) if families is None else family_kpis(families=families, level=level)
    return [(k.key, k.label) for k in kpis]
