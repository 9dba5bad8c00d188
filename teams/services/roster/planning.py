"""Planning a roster (teams.services.roster): what the organisation says now about everything the
rows can touch, what each row changes (or the first problem found in it), and the problems
between rows (an account held by someone else on those days, two leads for one team). Nothing
here writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from teams.models import AccountAssignment, Member, PlatformAccount, RoleGrant, Team, TeamMembership
from teams.services.roster.rows import (
    ACCOUNT_NAME_LENGTH,
    RosterError,
    RosterProblem,
    RosterRow,
    roster_accounts_split,
)

_DAY = dt.timedelta(days=1)


# --- reading what the organisation says now ---------------------------------------------------


@dataclass
class RosterState:
    members: dict[str, Member]  # employee number → member
    memberships: dict[int, list[TeamMembership]]  # member id → their memberships
    teams: dict[tuple[int, str], Team]  # (store id, name) → team
    accounts: dict[tuple[int, str], PlatformAccount]  # (store id, name) → account
    by_account: dict[int, list[AccountAssignment]]  # account id → its assignments
    by_member: dict[int, list[AccountAssignment]]  # member id → their assignments
    users: dict[str, Any]  # username → user, for the logins the roster names
    privileged: set[int]  # the members' users with a role of their own (a grant, staff, superuser)


def roster_state_read(rows: Sequence[RosterRow]) -> RosterState:
    """Everything the rows can touch, locked where two imports could race (members, accounts)."""
    numbers = {row.employee_number for row in rows}
    locked = Member.objects.select_for_update(of=("self",)).select_related("user")
    members = {m.employee_number: m for m in locked.filter(employee_number__in=numbers)}
    memberships: dict[int, list[TeamMembership]] = {}
    for membership in TeamMembership.objects.select_related("team__store").filter(member__in=members.values()):
        memberships.setdefault(membership.member_id, []).append(membership)
    store_ids = {row.store_id for row in rows if row.store_id > 0}
    teams = {(t.store_id, t.name): t for t in Team.objects.select_related("store").filter(store_id__in=store_ids)}
    # The accounts the rows name, and those the members use or used: every assignment of both is
    # read, so that a period a row extends is checked against the account's other holders too.
    names = {name for row in rows for name in roster_accounts_split(text=row.accounts)}
    used = AccountAssignment.objects.filter(member__in=members.values()).values("account_id")
    accounts = {
        (a.store_id, a.name): a
        for a in PlatformAccount.objects.select_for_update(of=("self",)).select_related("store")
        .filter(Q(store_id__in=store_ids, name__in=names) | Q(pk__in=used))
    }  # fmt: skip
    by_account: dict[int, list[AccountAssignment]] = {}
    by_member: dict[int, list[AccountAssignment]] = {}
    assignments = AccountAssignment.objects.select_related("account__store", "member").filter(
        account__in=accounts.values()
    )
    for assignment in assignments:
        by_account.setdefault(assignment.account_id, []).append(assignment)
        by_member.setdefault(assignment.member_id, []).append(assignment)
    logins = {row.login or row.email for row in rows if row.login or row.email}
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=logins)}
    member_users = [m.user_id for m in members.values() if m.user_id]
    privileged = {m.user_id for m in members.values() if m.user_id and (m.user.is_superuser or m.user.is_staff)}
    privileged |= set(RoleGrant.objects.filter(user_id__in=member_users).values_list("user_id", flat=True))
    return RosterState(members, memberships, teams, accounts, by_account, by_member, users, privileged)


# --- planning each row ------------------------------------------------------------------------


@dataclass
class _Claim:
    """A new assignment, or an existing one extended (`existing`): checked against every other
    holder of the account over start … end."""

    account: tuple[int, str]
    start: dt.date
    end: dt.date | None
    existing: AccountAssignment | None = None


@dataclass
class RowPlan:
    row: RosterRow
    member: Member
    new: bool
    member_fields: dict[str, Any] = field(default_factory=dict)
    team_key: tuple[int, str] = (0, "")
    membership_ends: dict[int, dt.date | None] = field(default_factory=dict)  # membership id → new end
    membership_new: tuple[dt.date, dt.date | None] | None = None
    assignment_ends: dict[int, dt.date | None] = field(default_factory=dict)  # assignment id → new end
    claims: list[_Claim] = field(default_factory=list)  # new assignments
    extensions: list[_Claim] = field(default_factory=list)  # existing assignments whose end moves later
    teams_left: list[int] = field(default_factory=list)  # teams the member leaves by a move
    user_new: tuple[str, str] | None = None  # (username, email)
    user_email: str | None = None  # the existing user's new e-mail


def _current(periods: Iterable, leave_date: dt.date | None) -> list:
    """The periods that hold now: open ones, and those that ended on the member's leave date."""
    return [p for p in periods if p.end_date is None or (leave_date is not None and p.end_date == leave_date)]


def _later(a: dt.date | None, b: dt.date | None) -> bool:
    """Whether end `a` is later than end `b` (None: open, the latest)."""
    return (a is None and b is not None) or (a is not None and b is not None and a > b)


class RowRejected(Exception):
    def __init__(self, error: RosterError) -> None:
        self.error = error


def _reject(row: RosterRow, field_name: str, problem: RosterProblem, value: Any = None, **params) -> RowRejected:
    shown = getattr(row, field_name, "") if value is None else value
    text = shown.isoformat() if isinstance(shown, dt.date) else "" if shown is None else str(shown)
    return RowRejected(RosterError(row.line, field_name, text, problem, params))


@dataclass
class RowPlanner:
    state: RosterState
    columns: frozenset[str]
    today: dt.date
    store_ids_allowed: frozenset[int] | None
    seen_numbers: dict[str, int] = field(default_factory=dict)
    seen_logins: dict[str, int] = field(default_factory=dict)
    team_kinds: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)

    def plan(self, row: RosterRow) -> RowPlan:
        """What the row changes, or RowRejected with the first problem found in it."""
        if row.employee_number in self.seen_numbers:
            earlier = self.seen_numbers[row.employee_number]
            raise _reject(row, "employee_number", RosterProblem.EMPLOYEE_TWICE, line=earlier)
        self.seen_numbers[row.employee_number] = row.line
        if row.leave_date is not None and row.leave_date < row.hire_date:
            raise _reject(row, "leave_date", RosterProblem.LEAVE_BEFORE_HIRE)
        member = self.state.members.get(row.employee_number)
        if member is not None and self.store_ids_allowed is not None:
            latest = max(self.state.memberships.get(member.pk, []), key=lambda m: m.start_date, default=None)
            if latest is None or latest.team.store_id not in self.store_ids_allowed:
                raise _reject(row, "employee_number", RosterProblem.MEMBER_OTHER_STORE)
        names = roster_accounts_split(text=row.accounts) if "accounts" in self.columns else None
        for name in names or ():
            if len(name) > ACCOUNT_NAME_LENGTH:
                raise _reject(row, "accounts", RosterProblem.ACCOUNT_NAME_TOO_LONG, name, account=name,
                              n=ACCOUNT_NAME_LENGTH)  # fmt: skip
        team_key = (row.store_id, row.team)
        if row.team_kind:
            known = self.team_kinds.get(team_key)
            if known is not None and known[0] != row.team_kind:
                raise _reject(row, "team_kind", RosterProblem.TEAM_KIND_CONFLICT, kind=known[0], line=known[1])
        plan = RowPlan(row=row, member=member or Member(), new=member is None, team_key=team_key)
        self._user(plan)
        if plan.new:
            self._new_member(plan, names)
        else:
            self._known_member(plan, names)
        # Only a row that is planned whole takes its login and team kind.
        if plan.user_new:
            self.seen_logins[plan.user_new[0]] = row.line
        if row.team_kind and team_key not in self.team_kinds:
            self.team_kinds[team_key] = (row.team_kind, row.line)
        return plan

    def _user(self, plan: RowPlan) -> None:
        row, member = plan.row, plan.member
        login = row.login or row.email
        if row.email:
            try:
                validate_email(row.email)
            except ValidationError:
                raise _reject(row, "email", RosterProblem.EMAIL_INVALID) from None
        if not login:
            return
        user = member.user if not plan.new else None
        if user is not None:
            if row.login and user.get_username() != row.login:
                raise _reject(row, "login", RosterProblem.LOGIN_DIFFERS, login=user.get_username())
            if row.email and user.email != row.email:
                # A manager does not change the address of a login that holds roles of its own.
                if self.store_ids_allowed is not None and user.pk in self.state.privileged:
                    raise _reject(row, "email", RosterProblem.LOGIN_PROTECTED, login=user.get_username())
                plan.user_email = row.email
            return
        field_name = "login" if row.login else "email"
        username_field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
        try:
            username_field.run_validators(login)
            if len(login) > username_field.max_length:
                raise ValidationError("too long")
        except ValidationError:
            raise _reject(row, field_name, RosterProblem.LOGIN_INVALID) from None
        if login in self.seen_logins:
            raise _reject(row, field_name, RosterProblem.LOGIN_TWICE, line=self.seen_logins[login])
        if login in self.state.users:
            raise _reject(row, field_name, RosterProblem.LOGIN_TAKEN, login=login)
        plan.user_new = (login, row.email)

    def _new_member(self, plan: RowPlan, names: tuple[str, ...] | None) -> None:
        row = plan.row
        plan.member_fields = {
            "display_name": row.name,
            "employee_number": row.employee_number,
            "hire_date": row.hire_date,
            "leave_date": row.leave_date,
            "active": row.leave_date is None or row.leave_date >= self.today,
        }
        plan.membership_new = (row.hire_date, row.leave_date)
        for name in names or ():
            plan.claims.append(_Claim((row.store_id, name), row.hire_date, row.leave_date))

    def _known_member(self, plan: RowPlan, names: tuple[str, ...] | None) -> None:
        row, member = plan.row, plan.member
        old_leave = member.leave_date
        leave = row.leave_date if "leave_date" in self.columns else old_leave
        wanted = {"display_name": row.name, "hire_date": row.hire_date}
        if "leave_date" in self.columns:
            wanted |= {"leave_date": leave, "active": leave is None or leave >= self.today}
        plan.member_fields = {name: value for name, value in wanted.items() if getattr(member, name) != value}
        move = row.move_date or self.today

        memberships = self.state.memberships.get(member.pk, [])
        current = max(_current(memberships, old_leave), key=lambda m: m.start_date, default=None)
        team = self.state.teams.get(plan.team_key)
        if current is not None and team is not None and current.team_id == team.pk:
            self._end(plan, plan.membership_ends, current, leave, name=row.team)
        else:
            latest = max(memberships, key=lambda m: m.start_date, default=None)
            if latest is not None and latest.start_date >= move:
                raise _reject(row, "move_date", RosterProblem.MOVE_TOO_EARLY, move, team=latest.team.name,
                              start=latest.start_date.isoformat())  # fmt: skip
            if leave is not None and leave < move:
                raise _reject(row, "leave_date", RosterProblem.MOVE_AFTER_LEAVE, date=move.isoformat())
            if current is not None and (current.end_date is None or current.end_date >= move):
                plan.membership_ends[current.pk] = move - _DAY
                plan.teams_left.append(current.team_id)
            plan.membership_new = (move, leave)

        held = _current(self.state.by_member.get(member.pk, []), old_leave)
        in_store = {a.account.name for a in held if a.account.store_id == row.store_id}
        listed = set(names) if names is not None else in_store
        keep = set()
        for assignment in held:
            name = assignment.account.name
            if assignment.account.store_id == row.store_id and name in listed:
                keep.add(name)
                self._end(plan, plan.assignment_ends, assignment, leave, name=name)
            elif assignment.end_date is None or assignment.end_date >= move:
                # No longer listed, or of a store the member left (the listed names are of the
                # row's store): theirs until the day before the move.
                if assignment.start_date >= move:
                    raise _reject(row, "accounts", RosterProblem.ACCOUNT_DROP_TOO_EARLY, name, account=name,
                                  start=assignment.start_date.isoformat())  # fmt: skip
                plan.assignment_ends[assignment.pk] = move - _DAY
        for name in [name for name in names or () if name not in keep]:
            if leave is not None and leave < move:
                raise _reject(row, "leave_date", RosterProblem.MOVE_AFTER_LEAVE, date=move.isoformat())
            plan.claims.append(_Claim((row.store_id, name), move, leave))

    def _end(self, plan: RowPlan, ends: dict, period, leave: dt.date | None, *, name: str) -> None:
        """A current period continues: it ends on the leave date (open without one)."""
        if period.end_date == leave:
            return
        if leave is not None and leave < period.start_date:
            raise _reject(plan.row, "leave_date", RosterProblem.LEAVE_BEFORE_PERIOD, name=name,
                          start=period.start_date.isoformat())  # fmt: skip
        ends[period.pk] = leave
        if isinstance(period, AccountAssignment) and _later(leave, period.end_date):
            start = period.end_date + _DAY if period.end_date else period.start_date
            plan.extensions.append(_Claim((period.account.store_id, period.account.name), start, leave, period))


def roster_first_activity_apply(
    plans: Sequence[RowPlan], state: RosterState, first_activity: Callable[[list[int]], Mapping[int, dt.date]] | None
) -> None:
    """With 按首次活动起算 = 是: an account nobody ever held starts on its first day of activity
    when that is before the row's start, and a new member's first team with it."""
    if first_activity is None:
        return
    candidates = [
        (plan, claim, state.accounts[claim.account])
        for plan in plans
        if plan.row.from_first_activity
        for claim in plan.claims
        if claim.account in state.accounts and not state.by_account.get(state.accounts[claim.account].pk)
    ]
    if not candidates:
        return
    firsts = first_activity([account.pk for _plan, _claim, account in candidates])
    for _plan, claim, account in candidates:
        first = firsts.get(account.pk)
        if first is not None and first < claim.start:
            claim.start = first
    for plan in plans:
        if plan.new and plan.claims:
            start = min(claim.start for claim in plan.claims)
            if start < plan.membership_new[0]:
                plan.membership_new = (start, plan.membership_new[1])


def _overlaps(start: dt.date, end: dt.date | None, other_start: dt.date, other_end: dt.date | None) -> bool:
    return (end is None or other_start <= end) and (other_end is None or start <= other_end)


def roster_conflicts_find(plans: Sequence[RowPlan], state: RosterState) -> dict[int, RosterError]:
    """Problems between rows, given the plans of the rows still valid: an account held by
    someone else on days a row gives it to its member (after every valid row's changes), and two
    leads for one team. {line: error}. Of two rows that give one account to two members on the
    same days, the later is rejected."""
    errors: dict[int, RosterError] = {}
    ends = {pk: end for plan in plans for pk, end in plan.assignment_ends.items()}
    extended_by = {claim.existing.pk: plan for plan in plans for claim in plan.extensions}
    # Per account: (start, end, holder's name, assignment id or None, the plan that made it or None).
    periods: dict[tuple[int, str], list[tuple[dt.date, dt.date | None, str, int | None, RowPlan | None]]] = {}
    for key, account in state.accounts.items():
        for a in state.by_account.get(account.pk, []):
            end = ends.get(a.pk, a.end_date)
            if end is None or end >= a.start_date:
                periods.setdefault(key, []).append(
                    (a.start_date, end, a.member.display_name, a.pk, extended_by.get(a.pk))
                )
    for plan in plans:
        for claim in plan.claims:
            periods.setdefault(claim.account, []).append((claim.start, claim.end, plan.row.name, None, plan))
    for plan in plans:
        for claim in [*plan.claims, *plan.extensions]:
            for start, end, holder, pk, owner in periods.get(claim.account, []):
                if owner is plan or (claim.existing is not None and pk == claim.existing.pk):
                    continue
                if not _overlaps(claim.start, claim.end, start, end):
                    continue
                if owner is not None and owner.row.line > plan.row.line:
                    continue  # two rows of this roster: the later one is rejected
                name = claim.account[1]
                if owner is not None and pk is None:
                    error = RosterError(plan.row.line, "accounts", name, RosterProblem.ACCOUNT_TWICE,
                                        {"account": name, "line": owner.row.line})  # fmt: skip
                else:
                    error = RosterError(plan.row.line, "accounts", name, RosterProblem.ACCOUNT_HELD,
                                        {"account": name, "member": holder, "start": start.isoformat()})  # fmt: skip
                errors.setdefault(plan.row.line, error)
    leaders: dict[tuple[int, str], int] = {}
    for plan in sorted(plans, key=lambda p: p.row.line):
        if plan.row.leader:
            first = leaders.setdefault(plan.team_key, plan.row.line)
            if first != plan.row.line:
                errors.setdefault(plan.row.line, RosterError(plan.row.line, "leader", "",
                                  RosterProblem.TWO_LEADERS, {"line": first}))  # fmt: skip
    return errors
