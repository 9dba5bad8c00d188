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


def month_last(day: dt.date) -> dt.date:
    """The last day of the day's calendar month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the calendar months that overlap start … end (none if end < start)."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = month_last(month) + dt.timedelta(days=1)
    return months
