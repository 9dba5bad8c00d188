"""Month arithmetic has one home (perfmgmt.common.periods): a month is named by its first day."""

import datetime as dt

from perfmgmt.common.periods import (
    Period,
    month_first,
    month_last,
    month_next,
    month_period,
    month_previous,
    months_between,
)

D = dt.date


def test_months_across_year_ends_and_leap_years():
    assert month_first(D(2026, 12, 31)) == D(2026, 12, 1)
    assert month_last(D(2028, 2, 3)) == D(2028, 2, 29)
    assert month_last(D(2026, 2, 28)) == D(2026, 2, 28)
    assert month_next(D(2026, 12, 15)) == D(2027, 1, 1)
    assert month_previous(D(2027, 1, 31)) == D(2026, 12, 1)
    assert month_previous(D(2026, 3, 31)) == D(2026, 2, 1)
    assert month_period(D(2026, 4, 30)) == Period(D(2026, 4, 1), D(2026, 4, 30))
    assert months_between(D(2026, 11, 30), D(2027, 1, 1)) == [D(2026, 11, 1), D(2026, 12, 1), D(2027, 1, 1)]
    assert months_between(D(2026, 2, 1), D(2026, 1, 31)) == []
