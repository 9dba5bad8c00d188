"""Fields, widgets and labels the target forms share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.models import (
    PeriodKind,
)
from metrics.registry import Unit
from perfmgmt.common.periods import month_last
from teams.models import Team

HUNDRED = Decimal(100)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NUMBER = forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
UNIT_NAMES = {
    Unit.MONEY: _("yuan"),
    Unit.RATE: "%",
    Unit.SECONDS: _("seconds"),
    Unit.COUNT: _("count"),
    Unit.DAYS: _("days"),
}
WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


class PercentField(forms.DecimalField):
    """A percentage typed by people (6 for 6%), cleaned to the fraction the arithmetic uses."""

    def __init__(self, *, allow_zero: bool = True, **kwargs):
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100"}))
        super().__init__(min_value=0, max_value=100, max_digits=9, decimal_places=4, **kwargs)
        self.allow_zero = allow_zero

    def clean(self, value):
        number = super().clean(value)
        if number is None:
            return None
        if not self.allow_zero and number == 0:
            raise forms.ValidationError(_("Must be more than 0%."), code="zero")
        return number / HUNDRED


def team_label(team: Team) -> str:
    return f"{team.store.name} / {team.name}"


def period_end(kind: str, start: dt.date) -> dt.date | None:
    """The last day of a period of `kind` that starts on `start` (None: custom lengths)."""
    if kind == PeriodKind.DAY:
        return start
    if kind == PeriodKind.WEEK:
        return start + dt.timedelta(days=6)
    if kind == PeriodKind.MONTH:
        return month_last(start)
    if kind == PeriodKind.QUARTER:
        last_month = (start.month - 1) // 3 * 3 + 3
        return month_last(dt.date(start.year, last_month, 1))
    if kind == PeriodKind.YEAR:
        return dt.date(start.year, 12, 31)
    return None
