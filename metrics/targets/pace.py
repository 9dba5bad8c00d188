"""One forecast: how far a period has come by its pace rule, what it should have brought by now
and where it ends. Targets (list, detail, API, alerts), the dashboards' cards and "My targets",
and the pay estimator all call `forecast_get`; nothing else extrapolates a period.

Days counted: the complete days with data. A day counts once it is over in the store's time
zone and the store has data of it: the counted days run from the period's first day to the
store's last day with data, at most yesterday. Orders of today show in the actual (and the
completion) as soon as they are imported, but move neither expected nor forecast until the day
is over: a few orders just after midnight cannot add a whole day to what is expected, and the
pace compares the counted days' actual with the counted days' expected, so status does not
change with the clock alone (00:01 and 23:59 of a day read the same).

Pace rule: even over the days, or by the store's weekday weights (`store_weekday_weights`) when
the target is paced by weekday; a card prorating several targets passes each day's share of its
target (`DayWeight` is any weight per day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max

from metrics.models import StoreDay

# A day's weight in its period's pace: 1 for every day when even; the weekday's share of sales
# when paced by weekday; for a prorated card, the day's part of its target's value.
DayWeight = Callable[[dt.date], Decimal]
ONE = Decimal(1)


def even_pace(day: dt.date) -> Decimal:
    return ONE


def weekday_pace(weights: Mapping[int, Decimal] | None) -> DayWeight:
    """The day weight of a weekday-paced period (Monday = 0); even without history."""
    if not weights:
        return even_pace
    return lambda day: weights.get(day.weekday(), Decimal(0))


def period_days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def counted_through(*, start: dt.date, end: dt.date, today: dt.date, last_day: dt.date | None) -> dt.date | None:
    """The last day counted in a period's pace: the last day with data, never today or later (a
    day counts once over), never after the period's end. None when no day of the period counts."""
    if last_day is None:
        return None
    through = min(last_day, today - dt.timedelta(days=1), end)
    return through if through >= start else None


def stores_last_day(*, store_ids) -> dict[int, dt.date]:
    """Each store's last local day with data (its day rollup), for those that have one."""
    return dict(
        StoreDay.objects.filter(store_id__in=set(store_ids))
        .values("store_id")
        .annotate(last=Max("date"))
        .values_list("store_id", "last")
    )


@dataclass(frozen=True)
class Forecast:
    start: dt.date
    end: dt.date  # inclusive
    through: dt.date | None  # the last day counted (complete, with data); None: none yet
    days: int  # days in the period
    days_counted: int  # days start … through
    elapsed: Decimal  # the counted days' share of the period by the pace rule, 0 … 1
    expected: Decimal | None  # a sum: value × elapsed; a rate or an average: the value
    forecast: Decimal | None  # a sum: the counted days' pace over the whole period; a rate: as it stands


def forecast_get(
    *,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    last_day: dt.date | None,
    actual: Decimal | None,
    actual_to_date: Decimal | None = None,
    value: Decimal | None = None,
    is_sum: bool = True,
    pace: DayWeight | None = None,
) -> Forecast:
    """The pace of a period (start … end, local days) on `today` (the store's), its data ending
    on `last_day`. `actual`: the figure over the counted days (start … `counted_through(...)`);
    `actual_to_date`: the figure including a partial today (default: `actual`), which a sum's
    forecast never falls below and which is a rate's forecast. `value`: the target, for expected
    (None: no expected). `pace`: the day weights (default even)."""
    through = counted_through(start=start, end=end, today=today, last_day=last_day)
    weight = pace or even_pace
    days = period_days(start, end)
    total = sum((weight(d) for d in days), Decimal(0))
    counted = sum((weight(d) for d in days if through is not None and d <= through), Decimal(0))
    elapsed = counted / total if total else Decimal(0)
    to_date = actual if actual_to_date is None else actual_to_date
    if not is_sum:
        return Forecast(start, end, through, len(days), _count(start, through), elapsed, value, to_date)
    expected = None if value is None else value * elapsed
    forecast = None
    if actual is not None and elapsed:
        forecast = actual / elapsed
        if to_date is not None and to_date > forecast:
            forecast = to_date  # a sum never ends below what it has already reached
    return Forecast(start, end, through, len(days), _count(start, through), elapsed, expected, forecast)


def _count(start: dt.date, through: dt.date | None) -> int:
    return 0 if through is None else (through - start).days + 1
