"""What the targets' API modules share: the error translation, the output numbers, and input
fields whose schema states what they accept, so that a request valid by the schema passes the
field (what is left to the services: ids that must exist and be in the user's scope, and rules
across fields, such as the last day not before the first), and that accept only the JSON types
the schema names (DRF's fields also take 5 for "5", "1" for an id, "true" for a boolean).

Decimals travel as strings: their schema's pattern states the digits, the places and the range
(a rate from 0 to 1, a money amount of at least 0.01), which a JSON schema cannot say of a
string otherwise."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from metrics.registry import KPIS
from perfmgmt.common.periods import DATE_MAX, DATE_MIN
from teams.api.filters import DAY_PATTERN, ID_SCHEMA, DayField


def django_errors(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as DRF's (a 400 with the messages per field)."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


def money_json(value: Decimal | None) -> str | None:
    """Money in yuan as a string with two decimals."""
    return None if value is None else f"{Decimal(value):.2f}"


def number_json(value: Decimal | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


# --- days ---------------------------------------------------------------------------------------

# The days DayField accepts (teams.api.filters.DAY_PATTERN: every real day DATE_MIN … DATE_MAX).
DAY_SCHEMA = {
    "type": "string",
    "pattern": DAY_PATTERN,
    "description": f"A day, YYYY-MM-DD, from {DATE_MIN} to {DATE_MAX}.",
}


@extend_schema_field(DAY_SCHEMA)
class DayInputField(DayField):
    """A day from DATE_MIN to DATE_MAX (DayField), its bounds stated in the schema: a pattern,
    not a `format: date`, so that generators need not filter dates by year."""


# --- JSON types as the schema names them -------------------------------------------------------


class StrictCharField(serializers.CharField):
    """Text, as a JSON string only."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole number, as a JSON number only (5 or 5.0, not "5" nor true)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, float) and data.is_integer())):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "true", 1 nor "yes"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, as a JSON string only (not 618 for "618")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


# --- decimals -----------------------------------------------------------------------------------


def _fraction_from(smallest: int, places: int) -> str:
    """Digits after the point, at most `places`, with a non-zero one among the first `smallest`."""
    alternatives = []
    for zeros in range(smallest):
        rest = places - zeros - 1
        alternatives.append("0" * zeros + "[1-9]" + (rf"\d{{0,{rest}}}" if rest else ""))
    return "|".join(alternatives)


def decimal_pattern(*, whole: int, places: int, positive_from: int | None = None, at_most_one: bool = False) -> str:
    """The pattern of a decimal string of at most `whole` digits before the point and `places`
    after it, never negative; `positive_from`: at least 10^-positive_from (0.01 for 2); with
    `at_most_one`, from 0 to 1."""
    if at_most_one:
        one = rf"1(?:\.0{{0,{places}}})?"
        if positive_from is None:
            return rf"^(?:0(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}}|{one})$"
        return rf"^(?:0?\.(?:{_fraction_from(positive_from, places)})|{one})$"
    if positive_from is None:
        return rf"^(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"
    return rf"^(?:[1-9]\d{{0,{whole - 1}}}(?:\.\d{{0,{places}}})?|0?\.(?:{_fraction_from(positive_from, places)}))$"


class StrictDecimalField(serializers.DecimalField):
    """A decimal, as a JSON string only: a JSON number is a binary fraction (0.1 is not 0.1)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def decimal_input(
    *,
    max_digits: int,
    decimal_places: int,
    min_value: Decimal | int = 0,
    max_value: Decimal | int | None = None,
    **kwargs,
) -> serializers.DecimalField:
    """A DecimalField whose schema's pattern states its digits and range. Ranges: from 0, or from
    the smallest positive step (0.01, 0.0001); up to nothing or 1."""
    minimum = Decimal(min_value)
    positive_from = None if minimum == 0 else -minimum.as_tuple().exponent
    if (positive_from is not None and minimum != Decimal(1).scaleb(-positive_from)) or max_value not in (None, 1):
        raise ValueError(f"No pattern for a decimal from {min_value} to {max_value}.")
    pattern = decimal_pattern(
        whole=max_digits - decimal_places,
        places=decimal_places,
        positive_from=positive_from,
        at_most_one=max_value == 1,
    )
    field_class = extend_schema_field({"type": "string", "format": "decimal", "pattern": pattern})(
        type("DecimalInputField", (StrictDecimalField,), {"__module__": __name__})
    )
    return field_class(
        max_digits=max_digits, decimal_places=decimal_places, min_value=min_value, max_value=max_value, **kwargs
    )


# --- ids and choices ----------------------------------------------------------------------------


@extend_schema_field(ID_SCHEMA)
class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """An object's id (1 … MAX_ID), as a JSON number only; one that does not exist or is out of the
    user's scope is a 400."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


KPI_KEYS = [kpi.key for kpi in KPIS]


@extend_schema_field({"type": "string", "enum": [*KPI_KEYS, ""]})
class KpiKeyField(StrictChoiceField):
    """A KPI's key (metrics/registry.py), or empty for a counted behaviour."""

    def __init__(self, **kwargs):
        super().__init__(choices=KPI_KEYS, allow_blank=True, **kwargs)
