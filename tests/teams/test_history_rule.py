"""The one rule "who held this account, which team was this member in, on day D"
(teams.selectors.history), in its SQL, pandas and ORM forms, on overlapping histories: each form
gives the same answer, and the answer is the rule's (the period that started last; on the same
start, the one recorded last; ends inclusive; no holder on a day no period covers)."""

# SQL built from the module's own fragments; values travel as parameters.
# ruff: noqa: S608
import datetime as dt

import pandas as pd
import pytest
from django.db import connection

from teams.models import Member, PlatformAccount
from teams.selectors.history import (
    account_holder_join_sql,
    account_holder_subquery,
    assignment_periods_read,
    member_team_join_sql,
    member_team_on,
    member_team_subquery,
    membership_periods_read,
    periods_on_day,
)
from tests.factories import (
    AccountAssignmentFactory,
    MemberFactory,
    PlatformAccountFactory,
    StoreFactory,
    TeamFactory,
    TeamMembershipFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def histories():
    store = StoreFactory()
    first, second = MemberFactory(), MemberFactory()
    overlapping, same_start, closed = (PlatformAccountFactory(store=store) for _ in range(3))
    # Overlapping: the later start wins where both cover (20–31 January, the 31st included).
    AccountAssignmentFactory(account=overlapping, member=first, start_date=D(2026, 1, 1), end_date=D(2026, 1, 31))
    AccountAssignmentFactory(account=overlapping, member=second, start_date=D(2026, 1, 20))
    # Same start: the one recorded last wins while both cover (1–10 February).
    AccountAssignmentFactory(account=same_start, member=first, start_date=D(2026, 2, 1), end_date=D(2026, 2, 28))
    AccountAssignmentFactory(account=same_start, member=second, start_date=D(2026, 2, 1), end_date=D(2026, 2, 10))
    AccountAssignmentFactory(account=closed, member=first, start_date=D(2026, 3, 1), end_date=D(2026, 3, 15))
    old_team, new_team, other_team = TeamFactory(store=store), TeamFactory(store=store), TeamFactory(store=store)
    TeamMembershipFactory(member=first, team=new_team, start_date=D(2026, 1, 15), end_date=D(2026, 1, 31))
    TeamMembershipFactory(member=first, team=old_team, start_date=D(2026, 1, 1))
    TeamMembershipFactory(member=second, team=new_team, start_date=D(2026, 1, 1))
    TeamMembershipFactory(member=second, team=other_team, start_date=D(2026, 1, 1))
    return {
        "accounts": {"overlapping": overlapping, "same_start": same_start, "closed": closed},
        "members": {"first": first, "second": second},
        "teams": {"old": old_team, "new": new_team, "other": other_team},
    }


def _holder_cases(h):
    a, m = h["accounts"], h["members"]
    return [
        (a["overlapping"], D(2025, 12, 31), None),
        (a["overlapping"], D(2026, 1, 10), m["first"]),
        (a["overlapping"], D(2026, 1, 25), m["second"]),
        (a["overlapping"], D(2026, 1, 31), m["second"]),
        (a["overlapping"], D(2026, 6, 1), m["second"]),
        (a["same_start"], D(2026, 2, 5), m["second"]),
        (a["same_start"], D(2026, 2, 20), m["first"]),
        (a["closed"], D(2026, 3, 15), m["first"]),
        (a["closed"], D(2026, 3, 16), None),
    ]


def _team_cases(h):
    m, t = h["members"], h["teams"]
    return [
        (m["first"], D(2025, 12, 31), None),
        (m["first"], D(2026, 1, 10), t["old"]),
        (m["first"], D(2026, 1, 20), t["new"]),  # the later start, though the other was recorded last
        (m["first"], D(2026, 1, 31), t["new"]),
        (m["first"], D(2026, 2, 1), t["old"]),
        (m["second"], D(2026, 1, 10), t["other"]),  # same start: the one recorded last
    ]


def _pk(row) -> int | None:
    return row.pk if row is not None else None


def _sql_one(sql: str, params: list) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_the_holder_of_an_account_on_a_day_is_the_same_in_sql_pandas_and_the_orm(histories):
    cases = _holder_cases(histories)
    expected = [_pk(member) for _, _, member in cases]
    sql = [
        _sql_one(
            "SELECT aa.member_id FROM teams_platformaccount q "
            + account_holder_join_sql(alias="aa", account="q.id", day="%s")
            + " WHERE q.id = %s",
            [day, day, day, day, account.pk],
        )
        for account, day, _ in cases
    ]
    frame = pd.DataFrame({"account": [a.pk for a, _, _ in cases], "day": [day for _, day, _ in cases]})
    on_day = periods_on_day(keys=frame["account"], days=frame["day"], periods=assignment_periods_read())
    pandas = [None if pd.isna(value) else int(value) for value in on_day]
    orm = [
        PlatformAccount.objects.filter(pk=account.pk)
        .annotate(holder=account_holder_subquery(day=day, account="pk"))
        .values_list("holder", flat=True)
        .get()
        for account, day, _ in cases
    ]
    assert sql == expected
    assert pandas == expected
    assert orm == expected


def test_the_team_of_a_member_on_a_day_is_the_same_in_sql_pandas_and_the_orm(histories):
    cases = _team_cases(histories)
    expected = [_pk(team) for _, _, team in cases]
    sql = [
        _sql_one(
            "SELECT tm.team_id FROM teams_member q "
            + member_team_join_sql(alias="tm", member="q.id", day="%s")
            + " WHERE q.id = %s",
            [day, day, day, day, member.pk],
        )
        for member, day, _ in cases
    ]
    frame = pd.DataFrame({"member": [m.pk for m, _, _ in cases], "day": [day for _, day, _ in cases]})
    on_day = periods_on_day(keys=frame["member"], days=frame["day"], periods=membership_periods_read())
    pandas = [None if pd.isna(value) else int(value) for value in on_day]
    orm = [
        Member.objects.filter(pk=member.pk)
        .annotate(team=member_team_subquery(day=day, member="pk"))
        .values_list("team", flat=True)
        .get()
        for member, day, _ in cases
    ]
    one = [_pk(member_team_on(member_id=member.pk, day=day)) for member, day, _ in cases]
    in_store = [_pk(member_team_on(member_id=m.pk, day=day, store_id=t.store_id if t else None)) for m, day, t in cases]
    elsewhere = StoreFactory()
    assert member_team_on(member_id=cases[1][0].pk, day=cases[1][1], store_id=elsewhere.pk) is None
    assert in_store == expected
    assert sql == expected
    assert pandas == expected
    assert orm == expected
    assert one == expected
