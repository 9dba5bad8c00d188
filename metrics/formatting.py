"""KPI values as people read them, in the active language (grouping, decimals, units).

Rates are fractions in data and percentages on screen; money is Decimal yuan; seconds keep one
decimal. Undefined values (a zero denominator) show as an em dash, never as 0."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from metrics.registry import KPI_BY_KEY, Kpi, Unit

EMPTY = "—"

# d3-format strings for plotly's hover and axis labels, by unit.
D3_FORMATS = {Unit.MONEY: ",.2f", Unit.RATE: ".1%", Unit.SECONDS: ",.1f"}  # counts and days: by their decimals


def d3_format(kpi: Kpi) -> str:
    if kpi.unit in (Unit.COUNT, Unit.DAYS):
        return f",.{kpi.decimals}f" if kpi.decimals else ",d"
    return D3_FORMATS[kpi.unit]


def share_display(value, *, places: int = 1) -> str:
    """A fraction as a percentage with exactly `places` decimals, in the active language, as KPI
    values and shares of a whole show (0.4567 → 45.7%; columns of figures line up). Rules and
    thresholds people set use percent_display."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return EMPTY
    shown = (Decimal(str(value)) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{number_format(shown, places, use_l10n=True, force_grouping=True)}%"


def count_display(value) -> str:
    """A count as a whole number grouped by thousands in the active language: 152396 → 152,396
    (never plotly's 152.396k)."""
    if value is None or (isinstance(value, float) and value != value):
        return EMPTY
    return number_display(round(float(value)))


def money_display(value) -> str:
    """Yuan as pages show them: ¥1,234.50 (two decimals, grouped), rounded to the cent half up as
    pay is (number_format alone cuts: 36,666.666… → .66)."""
    cents = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"¥{number_format(cents, 2, use_l10n=True, force_grouping=True)}"


def percent_display(fraction, *, places: int = 1) -> str:
    """A fraction as a percentage with at most `places` decimals, trailing zeros dropped, for
    rules and shares people set (a threshold of 0.4 reads "40%", a rate of 0.015 "1.5%"). KPI
    values use kpi_display (always one decimal, "40.0%"), so columns of figures line up."""
    if fraction is None:
        return EMPTY
    shown = (Decimal(str(fraction)) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    shown = shown.normalize() if shown != shown.to_integral_value() else shown.quantize(Decimal(1))
    decimals = max(0, -shown.as_tuple().exponent)
    return f"{number_format(shown, decimals, use_l10n=True, force_grouping=True)}%"


def number_display(value, *, places: int = 0) -> str:
    """A plain number with grouping and `places` decimals: 1,500 or 12.5."""
    if value is None:
        return EMPTY
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(rounded, places, use_l10n=True, force_grouping=True)


# A rate of a pay plan or a rule is stored with up to 5 decimals (0.01255): as a percentage, 3.
RULE_PERCENT_PLACES = 3


def rate_display(rate) -> str:
    """A rate or a threshold people set (a commission rate, a tier's start, a weight) exactly as
    set, as a percentage: 0.01255 → 1.255%, 0.4 → 40% (percent_display, up to 3 decimals)."""
    return percent_display(rate, places=RULE_PERCENT_PLACES)


def kpi_label_text(key: str) -> str:
    """A KPI's label in the active language; a key the registry does not know (a plan or a statement
    line can outlive a KPI) shows as itself."""
    kpi = KPI_BY_KEY.get(key)
    return str(kpi.label) if kpi else key


def kpi_value_text(key: str, value) -> str:
    """A value of the KPI `key` as pages show it (kpi_display); of a key the registry does not know,
    the value as it is."""
    kpi = KPI_BY_KEY.get(key)
    return kpi_display(kpi, value) if kpi else str(value)


def kpi_display(kpi: Kpi, value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return EMPTY
    if kpi.unit == Unit.RATE:
        return share_display(value)
    if kpi.unit == Unit.MONEY:
        return money_display(value)
    if kpi.unit == Unit.SECONDS:
        if float(value) >= 3600:  # talk time over a month: hours read better than 493,903 s
            hours = number_format(round(float(value) / 3600, 1), 1, use_l10n=True, force_grouping=True)
            return _("%(hours)s h") % {"hours": hours}
        return _("%(seconds)s s") % {"seconds": number_format(round(float(value), 1), 1, use_l10n=True)}
    # Counts and days show the registry's decimals (working days: 0; average days in a stage: 1).
    decimals = kpi.decimals if kpi.unit in (Unit.COUNT, Unit.DAYS) else 0
    return number_format(round(float(value), decimals), decimals, use_l10n=True, force_grouping=True)


def change_display(change: float | None, *, points: bool) -> str:
    """A change against the previous period: relative (+12.5%) or in percentage points (+1.2 pp)."""
    if change is None:
        return EMPTY
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    if points:
        return _("%(sign)s%(value)s pp") % {"sign": sign, "value": number_format(abs(change) * 100, 1, use_l10n=True)}
    return f"{sign}{number_format(abs(change) * 100, 1, use_l10n=True)}%"
