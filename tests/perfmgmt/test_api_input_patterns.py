"""The patterns the schema states for days, months and decimals accept exactly the text the API's
fields accept (schemathesis generates from the patterns: a pattern looser than the field gets valid
requests refused, a stricter one lets invalid requests through)."""

import datetime as dt
import random
import re

import pytest
from django.urls import reverse
from rest_framework import serializers

from perfmgmt.common.periods import DATE_MAX, DATE_MIN
from perfmgmt.schema import _decimal_pattern
from teams.api.filters import DAY_PATTERN, MONTH_PATTERN, DayField, MonthOrDayField


def _accepts(field: serializers.Field, text: str) -> bool:
    try:
        field.run_validation(text)
    except serializers.ValidationError:
        return False
    return True


def test_the_day_pattern_matches_every_day_from_date_min_to_date_max_and_nothing_else():
    day_re = re.compile(DAY_PATTERN)
    day = dt.date(1899, 12, 1)
    while day <= dt.date(3000, 1, 31):
        assert bool(day_re.fullmatch(day.isoformat())) is (DATE_MIN <= day <= DATE_MAX), day
        day += dt.timedelta(days=1)
    # Impossible days and months of every year around the bounds (2100 is not a leap year, 2000 is).
    for year in (1899, 1900, 1904, 2000, 2024, 2100, 2400, 2999, 3000):
        for month in range(14):
            for number in (0, 29, 30, 31, 32):
                text = f"{year:04d}-{month:02d}-{number:02d}"
                try:
                    valid = DATE_MIN <= dt.date.fromisoformat(text) <= DATE_MAX
                except ValueError:
                    valid = False
                assert bool(day_re.fullmatch(text)) is valid, text


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2026-01-05", True), ("1900-01-01", True), ("2999-12-31", True), ("2000-02-29", True),
        ("1899-12-31", False), ("3000-01-01", False), ("0692-12-14", False), ("2100-02-29", False),
        # Spellings DRF's ISO 8601 parsing accepts but the pattern does not.
        ("2026-1-5", False), ("20260105", False), ("2026-W02-1", False), (" 2026-01-05", False), ("", False),
    ],
)  # fmt: skip
def test_a_day_field_accepts_what_its_pattern_matches(text, accepted):
    assert _accepts(DayField(), text) is accepted
    assert bool(re.fullmatch(DAY_PATTERN, text)) is accepted


@pytest.mark.parametrize(
    ("text", "accepted"),
    [("2026-05", True), ("2026-05-31", True), ("1900-01", True), ("2999-12", True), ("0000-01", False),
     ("1899-12", False), ("3000-01", False), ("2026-13", False), ("2026-5", False), ("2026-02-30", False)],
)  # fmt: skip
def test_a_month_field_accepts_what_its_pattern_matches(text, accepted):
    assert _accepts(MonthOrDayField(), text) is accepted
    assert bool(re.fullmatch(MonthOrDayField.input_pattern, text)) is accepted
    if len(text) == 7:
        assert bool(re.fullmatch(MONTH_PATTERN, text)) is accepted


@pytest.mark.parametrize(
    "bounds",
    [
        {"max_digits": 6, "decimal_places": 4},
        {"max_digits": 5, "decimal_places": 2},
        {"max_digits": 12, "decimal_places": 2, "min_value": 0},
        {"max_digits": 6, "decimal_places": 4, "min_value": 0, "max_value": 1},
        {"max_digits": 3, "decimal_places": 3},
        {"max_digits": 18, "decimal_places": 6},
        {"max_digits": 6, "decimal_places": 0},
    ],
)
def test_the_decimal_pattern_matches_what_the_decimal_field_accepts(bounds):
    field = serializers.DecimalField(**bounds)
    pattern = re.compile(_decimal_pattern(field))
    rnd = random.Random(21)
    texts = {"", "-", ".", "0", "-0", "1", "1.", ".5", "0.5", "1.0000", "1.00001", "00.5", "-0.5", "99.9999", "100"}
    texts |= {"".join(rnd.choice("0123456789.-") for _ in range(rnd.randint(1, 9))) for _ in range(6000)}
    assert [text for text in sorted(texts) if bool(pattern.fullmatch(text)) is not _accepts(field, text)] == []


@pytest.mark.django_db
def test_days_and_months_outside_the_bounds_answer_400_not_500(org, api_for):
    api = api_for(org.users["admin"])
    # month=0000-01 matched the former pattern (\d{4}) and then failed date.fromisoformat: a 500.
    for query in ({"month": "0000-01"}, {"month": "1899-12"}, {"month": "١٩٠٠-01"}):
        response = api.get(reverse("statement-list"), query)
        assert response.status_code == 400, (query, response.content)
    assert api.get(reverse("statement-list"), {"month": "2026-05"}).status_code == 200
    for end in ("0692-12-14", "2026-1-5"):
        assert api.get(reverse("kpis"), {"end": end}).status_code == 400, end
