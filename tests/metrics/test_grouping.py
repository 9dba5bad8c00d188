"""The numpy group-by of the KPI selectors against pandas, on random rows, and its edges."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics.kpis import grouping
from metrics.kpis.grouping import Columns, KeyCodes

RNG = np.random.default_rng(20261207)


def _random_rows(n: int = 5000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": RNG.integers(0, 40, n),
            "item": RNG.integers(0, 700, n),
            "ordered": RNG.random(n) < 0.4,
            "paid": RNG.random(n) < 0.2,
            "amount": RNG.integers(0, 10**9, n),
        }
    )


def test_sorted_unique_is_numpys_unique():
    values = RNG.integers(-50, 10**12, 20_000)
    assert np.array_equal(grouping.sorted_unique(values), np.unique(values))
    assert len(grouping.sorted_unique(np.empty(0, dtype=np.int64))) == 0


def test_group_sums_are_pandas_sums_exactly():
    rows = _random_rows()
    found, sums = grouping.group_sums(rows["group"].to_numpy(), rows[["amount", "item"]].to_numpy())
    expected = rows.groupby("group")[["amount", "item"]].sum()
    assert found.tolist() == expected.index.tolist()
    assert sums.tolist() == expected.to_numpy().tolist()  # integers: no float rounding


def test_distinct_counts_and_flags_are_pandas_nunique():
    rows = _random_rows()
    codes, items = rows["group"].to_numpy(), rows["item"].to_numpy()
    found, counts = grouping.distinct_count(codes, items)
    assert counts.tolist() == rows.groupby("group")["item"].nunique().loc[found].tolist()
    found, counts, (ordered, paid) = grouping.distinct_flagged(
        codes, items, [rows["ordered"].to_numpy(), rows["paid"].to_numpy()]
    )
    assert counts.tolist() == rows.groupby("group")["item"].nunique().loc[found].tolist()
    # An item counts as ordered when any of its rows in the group is: not only its first one.
    by_ordered = rows.loc[rows["ordered"]].groupby("group")["item"].nunique()
    by_paid = rows.loc[rows["paid"]].groupby("group")["item"].nunique()
    assert ordered.tolist() == by_ordered.reindex(found, fill_value=0).tolist()
    assert paid.tolist() == by_paid.reindex(found, fill_value=0).tolist()


def test_an_item_flagged_on_one_row_only_counts_once():
    found, counts, (paid,) = grouping.distinct_flagged(
        np.array([7, 7, 7, 9]), np.array([1, 1, 2, 1]), [np.array([False, True, False, False])]
    )
    assert (found.tolist(), counts.tolist(), paid.tolist()) == ([7, 9], [2, 1], [1, 0])


def test_period_starts_of_every_grain():
    days = grouping.day_numbers(pd.to_datetime(["2026-12-31", "2027-01-01", "2027-01-04", "2027-03-31", "2027-04-01"]))
    as_dates = lambda grain: grouping.days_as_dates(  # noqa: E731
        grouping.period_start_days(days, grain=grain, start=dt.date(2026, 12, 20))
    )
    assert as_dates("day")[1] == dt.date(2027, 1, 1)
    # ISO weeks start on Monday: 31 Dec 2026 and 1 Jan 2027 are both in the week of 28 Dec.
    assert as_dates("week") == [dt.date(2026, 12, 28), dt.date(2026, 12, 28), dt.date(2027, 1, 4),
                                dt.date(2027, 3, 29), dt.date(2027, 3, 29)]  # fmt: skip
    assert as_dates("month") == [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 1, 1), dt.date(2027, 3, 1),
                                 dt.date(2027, 4, 1)]  # fmt: skip
    assert as_dates("quarter") == [dt.date(2026, 10, 1), *[dt.date(2027, 1, 1)] * 3, dt.date(2027, 4, 1)]
    assert set(as_dates("range")) == {dt.date(2026, 12, 20)}
    with pytest.raises(ValueError, match="unknown grain"):
        grouping.period_start_days(days, grain="fortnight", start=dt.date(2026, 1, 1))


def test_key_codes_sort_as_their_keys_and_decode_back():
    stores, members, days = np.array([3, 1, 3, 1]), np.array([40, 7, 7, 40]), np.array([20000, 20001, 19999, 20000])
    codes = KeyCodes([stores], [members], [days])
    encoded = codes.encode(stores, members, days)
    order = np.argsort(encoded)
    assert [(stores[i], members[i], days[i]) for i in order] == sorted(zip(stores, members, days, strict=True))
    assert [column.tolist() for column in codes.decode(encoded)] == [stores.tolist(), members.tolist(), days.tolist()]
    with pytest.raises(ValueError, match="not among the values"):
        codes.encode(np.array([2]), np.array([7]), np.array([20000]))


def test_lookup_finds_equal_keys_and_defaults_the_others():
    found, values = np.array([2, 5, 9]), np.array([20, 50, 90])
    assert grouping.lookup(np.array([9, 1, 5, 10]), found, values).tolist() == [90, 0, 50, 0]
    assert grouping.lookup(np.array([1]), found[:0], values[:0], default=-1).tolist() == [-1]


def test_columns_select_rows_and_stack():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [4.0, np.nan, 6.0]})
    rows = Columns.of(frame)
    assert len(rows) == 3 and rows.names == ["a", "b"] and "a" in rows and not rows.empty
    kept = rows.where(rows["a"] != 2)
    assert kept["a"].tolist() == [1, 3] and len(kept) == 2
    assert rows.where(np.ones(3, dtype=bool)) is rows  # nothing dropped: no copy
    assert rows.matrix(["a"]).tolist() == [[1], [2], [3]]
    assert rows.where(np.zeros(3, dtype=bool)).empty
    assert rows.to_frame().equals(frame)
