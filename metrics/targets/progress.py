"""Targets as the dashboards show them: a card's target (the target of the card's own days,
prorated from the targets covering them, else the one covering the period's end), the trend's
target per day, and a member's own targets of today and this week, each with its progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np
from django.db.models import Q
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from metrics.formatting import EMPTY, kpi_display
from metrics.models import Target, TargetDirection
from metrics.registry import KPI_BY_KEY, Kpi, Level, Unit, kpi_get
from metrics.targets.decomposition import DEFAULT_WORKING_WEEKDAYS
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
from perfmgmt.common.periods import Period
from teams.models import Member, Team

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
# plans them: Monday to Saturday.
WORKING_WEEKDAYS = DEFAULT_WORKING_WEEKDAYS


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
    keys: tuple[str, ...],
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
