"""Query filters of the API's lists. Ids are plain integers: an id the user may not see (or that
does not exist) matches nothing, so a filter never tells which ids exist. Values of the wrong type
answer 400, as the schema says; an empty value means "not given", as in an HTML form."""

import re

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from perfmgmt.common.periods import DATE_MAX, DATE_MIN
from teams.models import Member, PlatformAccount, Role, RoleGrant, Team

# Primary keys are BigAutoField: a larger number cannot be an id (and NumberFilter's decimal of 30
# digits reached SQLite as an OverflowError: a 500).
MAX_ID = 2**63 - 1
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number from 1 to MAX_ID (not a decimal, as NumberFilter allows)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IdQueryField(serializers.IntegerField):
    """An optional id in a query string read by a DRF serializer: 1 … MAX_ID."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


# The days from DATE_MIN (1900-01-01) to DATE_MAX (2999-12-31) written YYYY-MM-DD, as a pattern the
# schema states: 31-day and 30-day months, February to the 28th, and the 29th in leap years only
# (1904 … 2996 by four, without 2100, 2200, 2300, 2500, 2600, 2700, 2900). [0-9], not \d: a
# generator reads \d as any Unicode digit. tests/perfmgmt/test_api_input_patterns.py checks it day by day.
_YEAR = "(?:19|2[0-9])[0-9]{2}"
DAY_PATTERN = (
    f"^(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:(?:19|2[0-9])(?:0[48]|[2468][048]|[13579][26])|2[048]00)-02-29)$"
)
_DAY = re.compile(DAY_PATTERN)
# The months of those years, YYYY-MM.
MONTH_PATTERN = f"^{_YEAR}-(?:0[1-9]|1[0-2])$"
_MONTH_OR_DAY = re.compile(f"{MONTH_PATTERN}|{DAY_PATTERN}")


class DayField(serializers.DateField):
    """A day written YYYY-MM-DD, from DATE_MIN to DATE_MAX, for input that periods are computed from.
    The schema states both with DAY_PATTERN (perfmgmt.schema reads `input_pattern`), and this field
    accepts exactly what the pattern matches: not the other spellings DRF's ISO 8601 parsing lets
    through ("2026-1-5", "20260105", "2026-W02-1")."""

    input_pattern = DAY_PATTERN

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not DATE_MIN <= day <= DATE_MAX:
            raise serializers.ValidationError(
                _("Choose a day from %(first)s to %(last)s.") % {"first": DATE_MIN, "last": DATE_MAX}
            )
        if isinstance(value, str) and not _DAY.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return day


@extend_schema_field({"type": "string"})  # not "format: date", which would refuse YYYY-MM
class MonthOrDayField(serializers.DateField):
    """A month, YYYY-MM (its first day), or a day of it, YYYY-MM-DD, from DATE_MIN to DATE_MAX."""

    input_pattern = _MONTH_OR_DAY.pattern

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m", "%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and not _MONTH_OR_DAY.fullmatch(value):
            self.fail("invalid", format="YYYY-MM")
        return super().to_internal_value(value)


class QueryDateField(DayField):
    """An optional day in a query string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """true or false; anything else is an error (Django's NullBooleanField reads it as "unknown"
    and the filter would be silently dropped)."""

    widget = forms.TextInput  # NullBooleanSelect turns any unknown value into None before to_python

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise forms.ValidationError(_("Enter true or false."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class TeamFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id", label="store")
    lead = IdFilter(field_name="lead_id", label="lead")

    class Meta:
        model = Team
        fields = ["store", "kind", "lead"]


class MemberFilter(django_filters.FilterSet):
    active = StrictBooleanFilter(field_name="active", label="active")
    team = IdFilter(field_name="memberships__team", distinct=True, label="team")
    store = IdFilter(field_name="memberships__team__store", distinct=True, label="store")

    class Meta:
        model = Member
        fields = ["active", "team", "store"]


class PlatformAccountFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id", label="store")
    assigned = StrictBooleanFilter(method="filter_assigned", label="assigned")

    class Meta:
        model = PlatformAccount
        fields = ["store", "assigned"]

    def filter_assigned(self, queryset, name, value):
        return queryset.filter(current_member_id__isnull=not value)


class UserFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter(field_name="is_active", label="is_active")
    role = django_filters.ChoiceFilter(field_name="role_grants__role", choices=Role.choices, distinct=True,
                                       label="role")  # fmt: skip
    store = IdFilter(field_name="role_grants__store", distinct=True, label="store")


class RoleGrantFilter(django_filters.FilterSet):
    user = IdFilter(field_name="user_id", label="user")
    store = IdFilter(field_name="store_id", label="store")

    class Meta:
        model = RoleGrant
        fields = ["role", "user", "store"]
