import datetime as dt
import math

from django import template

register = template.Library()


@register.filter
def minutes(value: dt.timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lockout of 90 s reads "2 minutes")."""
    return math.ceil(value.total_seconds() / 60) if value else 0


@register.filter
def get_field(form, name: str):
    """form|get_field:"name" → the bound field, for forms whose fields are built at run time."""
    return form[name]
