"""Date presets of the dashboards' filters, and the period each is compared with.

Every range here is local days, both ends inclusive. "Today" is the store's local day (the
caller passes it), so a Shanghai shop's "yesterday" does not depend on the server's clock zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PRESETS: dict[str, str] = {
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "last7": _("Last 7 days"),
    "last30": _("Last 30 days"),
    "this_week": _("This week"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "custom": _("Custom range"),
}
DEFAULT_PRESET = "last30"
# A custom range longer than this is refused: the dashboards read day rollups on request.
MAX_RANGE_DAYS = 400
# Days a user may ask for (dashboards and the API): far enough from date.min and date.max that the
# period arithmetic (previous periods, 400-day windows, a year back) cannot overflow.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The comparison period: a calendar month is compared with the month before, anything
        else with the same number of days just before it."""
        if self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1:
            last = self.start - dt.timedelta(days=1)
            return Period(last.replace(day=1), last)
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]


def period_resolve(*, preset: str, today: dt.date, start: dt.date | None = None, end: dt.date | None = None) -> Period:
    """The local days of a preset; "custom" uses start and end (swapped if reversed)."""
    if preset == "today":
        return Period(today, today)
    if preset == "yesterday":
        day = today - dt.timedelta(days=1)
        return Period(day, day)
    if preset == "last7":  # the seven days up to today
        return Period(today - dt.timedelta(days=6), today)
    if preset == "last30":
        return Period(today - dt.timedelta(days=29), today)
    if preset == "this_week":  # ISO week: Monday first
        return Period(today - dt.timedelta(days=today.weekday()), today)
    if preset == "this_month":
        return Period(today.replace(day=1), today)
    if preset == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last)
    if preset == "custom" and start and end:
        first, last = min(start, end), max(start, end)
        return Period(max(first, last - dt.timedelta(days=MAX_RANGE_DAYS - 1)), last)
    return period_resolve(preset=DEFAULT_PRESET, today=today)


def store_today(store, now: dt.datetime | None = None) -> dt.date:
    """Today (or `now`'s day) in the store's time zone (the server's zone when there is no store)."""
    if store is None:
        return timezone.localdate(now)
    return timezone.localdate(now, timezone=zoneinfo.ZoneInfo(store.time_zone))


# --- calendar months: the one home of month arithmetic (a month is named by its first day) -----


def month_first(day: dt.date) -> dt.date:
    """The first day of the day's calendar month."""
    return day.replace(day=1)


def month_last(day: dt.date) -> dt.date:
    """The last day of the day's calendar month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def month_next(day: dt.date) -> dt.date:
    """The first day of the calendar month after the day's."""
    return month_last(day) + dt.timedelta(days=1)


def month_previous(day: dt.date) -> dt.date:
    """The first day of the calendar month before the day's."""
    return month_first(month_first(day) - dt.timedelta(days=1))


def month_period(day: dt.date) -> Period:
    """The day's whole calendar month."""
    return Period(month_first(day), month_last(day))


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the calendar months that overlap start … end (none if end < start)."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = month_next(month)
    return months


def period_shape(period: Period) -> str:
    """What kind of period the days make: "year", "quarter", "month", "week" (an ISO week, Monday
    to Sunday) or "days" (any other run of days)."""
    start, end = period.start, period.end
    if start.day == 1 and end == month_last(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 12 and start.month == 1:
            return "year"
        if months == 3 and start.month % 3 == 1:
            return "quarter"
        if months == 1:
            return "month"
    if period.days == 7 and start.weekday() == 0:
        return "week"
    return "days"


def period_last_complete(*, period: Period, today: dt.date) -> Period:
    """The latest period of the same shape (period_shape) that is over, ending before today and
    before the period itself: the last complete month for a month, the last complete ISO week for
    a week, the last N whole days for N days. Never a part of a running period."""
    last = min(today, period.start) - dt.timedelta(days=1)  # the last day it may include
    shape = period_shape(period)
    if shape == "week":
        end = last - dt.timedelta(days=(last.weekday() + 1) % 7)  # the last Sunday on or before
        return Period(end - dt.timedelta(days=6), end)
    if shape in ("month", "quarter", "year"):
        months = {"month": 1, "quarter": 3, "year": 12}[shape]
        # The first month after the last complete one: where the period containing `last + 1` starts.
        after = last + dt.timedelta(days=1)
        index = after.year * 12 + after.month - 1
        index -= index % months  # years and quarters start at month indexes divisible by 12 or 3
        end = dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)
        first_index = end.year * 12 + end.month - 1 - (months - 1)
        return Period(dt.date(first_index // 12, first_index % 12 + 1, 1), end)
    return Period(last - dt.timedelta(days=period.days - 1), last)
