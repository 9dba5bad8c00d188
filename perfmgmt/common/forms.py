"""Form fields every app's forms share."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class MonthField(forms.DateField):
    """A month typed as YYYY-MM (the browser's month picker), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"}, format="%Y-%m")
    input_formats = ["%Y-%m"]
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


def plain(value: Decimal | None, places: str = "0.01") -> str:
    """A Decimal for an input field: rounded to `places`, without trailing zeros or an exponent
    ("" for None)."""
    if value is None:
        return ""
    text = format(Decimal(value).quantize(Decimal(places)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent_initial(fraction: Decimal | None) -> str:
    """A fraction (0.0612) as the percentage a form's input starts with ("6.12"), to 0.01 point."""
    return "" if fraction is None else plain(Decimal(fraction) * 100, "0.01")
