"""Who held an account, and which team a member was in, on a day: the one rule every figure uses.

The organisation's histories are dated periods: an account's assignments to members
(AccountAssignment) and a member's memberships of teams (TeamMembership). A period covers the days
from its start to its end, both inclusive; an open period (no end) covers every day from its start.

**The rule.** The holder of an account on day D is the member of the assignment covering D; the
team of a member on day D is the team of the membership covering D. When several periods of the
same account (or member) cover D, which the services never write but an administrator's edit or an
older installation can leave, the period that started last counts, and of periods starting the same
day the one recorded last (the greatest id). A day no period covers has no holder (no team).

The figures read the rule in three forms, all here so that they cannot drift apart, and pinned
together by tests/teams/test_history_rule.py on the same overlapping histories:

- SQL, for the rollups and the raw reads: `account_holder_join_sql`, `member_team_join_sql`;
- pandas, for frames of rows (attribution, the KPI reads beyond the rollups): `periods_on_day`
  with `assignment_periods_read` / `membership_periods_read`;
- the ORM, for pages and services: `account_holder_subquery`, `member_team_subquery`,
  `member_team_on`.
"""

# SQL here names tables and columns of this app and the caller's own columns; no values are inlined.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt

import pandas as pd
from django.db import connection
from django.db.models import Expression, F, OuterRef, Q, QuerySet, Subquery

from teams.models import AccountAssignment, Team, TeamMembership

# --- SQL --------------------------------------------------------------------------------------


def _covering_sql(alias: str, day: str) -> str:
    return f"{day} >= {alias}.start_date AND ({alias}.end_date IS NULL OR {day} <= {alias}.end_date)"


def _period_join_sql(*, alias: str, table: str, key: str, key_value: str, day: str) -> str:
    """LEFT JOIN of the one period of `table` whose `key` is `key_value` covering `day` (the rule
    above): a covering period counts unless another covering period of the same key started
    later, or on the same day with a greater id."""
    later = f"{alias}_later"
    return (
        f"LEFT JOIN {table} {alias} ON {alias}.{key} = {key_value} AND {_covering_sql(alias, day)} "
        f"AND NOT EXISTS (SELECT 1 FROM {table} {later} WHERE {later}.{key} = {alias}.{key} "
        f"AND {_covering_sql(later, day)} AND ({later}.start_date > {alias}.start_date "
        f"OR ({later}.start_date = {alias}.start_date AND {later}.id > {alias}.id)))"
    )


def account_holder_join_sql(*, alias: str, account: str, day: str) -> str:
    """SQL: LEFT JOIN teams_accountassignment as `alias`, the assignment of the account `account`
    (a column or parameter) covering `day` (a date column or parameter); `{alias}.member_id` is
    the holder, NULL when none."""
    return _period_join_sql(alias=alias, table="teams_accountassignment", key="account_id", key_value=account, day=day)


def member_team_join_sql(*, alias: str, member: str, day: str) -> str:
    """SQL: LEFT JOIN teams_teammembership as `alias`, the membership of the member `member`
    covering `day`; `{alias}.team_id` is the member's team that day, NULL when none."""
    return _period_join_sql(alias=alias, table="teams_teammembership", key="member_id", key_value=member, day=day)


# --- pandas -----------------------------------------------------------------------------------

PERIOD_COLUMNS = ["id", "key", "value", "start", "end"]


def _periods_read(sql: str) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=PERIOD_COLUMNS)
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def assignment_periods_read() -> pd.DataFrame:
    """Every account assignment as (id, key: account id, value: member id, start, end)."""
    return _periods_read("SELECT id, account_id, member_id, start_date, end_date FROM teams_accountassignment")


def membership_periods_read() -> pd.DataFrame:
    """Every team membership as (id, key: member id, value: team id, start, end)."""
    return _periods_read("SELECT id, member_id, team_id, start_date, end_date FROM teams_teammembership")


def periods_on_day(*, keys: pd.Series, days: pd.Series, periods: pd.DataFrame) -> pd.Series:
    """For each row (`keys[i]`, `days[i]`), the `value` of the one period of that key covering that
    day by the rule above (a float Series aligned on `keys`, NaN where no period covers the day)."""
    result = pd.Series(float("nan"), index=keys.index, dtype="float64")
    usable = keys.notna() & days.notna()
    if periods.empty or not usable.any():
        return result
    rows = pd.DataFrame({"key": keys[usable].astype("int64"), "day": pd.to_datetime(days[usable])})
    rows = rows.reset_index(names="row")
    joined = rows.merge(periods, on="key")
    inside = (joined["start"] <= joined["day"]) & (joined["end"].isna() | (joined["day"] <= joined["end"]))
    covering = joined.loc[inside]
    chosen = covering.sort_values(["row", "start", "id"], ascending=[True, False, False]).drop_duplicates("row")
    result.loc[chosen["row"].to_numpy()] = chosen["value"].to_numpy(dtype="float64")
    return result


# --- the ORM ----------------------------------------------------------------------------------


def _covering(day: dt.date | Expression) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gte=day))


def _chosen(periods: QuerySet, field: str) -> Subquery:
    return Subquery(periods.order_by("-start_date", "-id").values(field)[:1])


def account_holder_subquery(*, day: dt.date | Expression, account: str = "account_id") -> Subquery:
    """For a queryset of rows with an account (the field `account`): the member holding it on
    `day` (a date, or an expression such as F("created_date") of the row)."""
    if isinstance(day, F):
        day = OuterRef(day.name)
    return _chosen(AccountAssignment.objects.filter(_covering(day), account_id=OuterRef(account)), "member_id")


def member_team_subquery(*, day: dt.date | Expression, member: str = "member_id") -> Subquery:
    """For a queryset of rows with a member (the field `member`): the member's team on `day`."""
    if isinstance(day, F):
        day = OuterRef(day.name)
    return _chosen(TeamMembership.objects.filter(_covering(day), member_id=OuterRef(member)), "team_id")


def member_team_on(*, member_id: int, day: dt.date, store_id: int | None = None) -> Team | None:
    """The member's team on `day`, by the rule above (None when the member was in no team); with
    `store_id`, their team among that store's teams (a member can work in two stores at once)."""
    memberships = TeamMembership.objects.filter(_covering(day), member_id=member_id)
    if store_id is not None:
        memberships = memberships.filter(team__store_id=store_id)
    membership = memberships.select_related("team__store").order_by("-start_date", "-id").first()
    return membership.team if membership else None
