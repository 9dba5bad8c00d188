"""A number as a person types it into a form (and as a sheet's text shows it): no grouping, no
trailing zeros, no exponent, the same in every language. The one rule for a form's initial value
of an amount, a rate or a share, and for numbers written into exports' sentences."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def decimal_plain(value, *, places: str | None = None) -> str:
    """100, 1.5, 0.025 ("" for None); rounded half up to `places` ("0.01") when given."""
    if value is None:
        return ""
    number = Decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(places), rounding=ROUND_HALF_UP)
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "") else text


def percent_plain(fraction, *, places: str | None = None) -> str:
    """A fraction as the percentage typed into a form, without the sign: 0.025 → "2.5" ("" for
    None); rounded to `places` of a point when given (0.06123, "0.01" → "6.12")."""
    if fraction is None:
        return ""
    return decimal_plain(Decimal(str(fraction)) * HUNDRED, places=places)
