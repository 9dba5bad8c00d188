"""The roster (花名册): a company's people as HR lists them, one row per member, applied to the
organisation in one set-based change.

A row names a member by employee number (工号) and says, as of the roster: their name, store and
team, hire and leave dates, the platform accounts they use, whether they lead their team, and
optionally a login. `roster_apply` makes the organisation say the same, keeping the dated
histories that KPIs are credited by:

- **New member** (an employee number not known yet): created with a membership of the team and
  the listed accounts from the hire date (ending on the leave date, if any). With 按首次活动起算
  (from first activity) = 是, an account nobody ever held starts on its first day of activity
  when that is earlier than the hire date, and so does the member's first membership.
- **Known member**: what differs is changed *from the move date* (调动日期 in the row, else the
  day of the import): a new team, an account added or no longer listed. The days before stay
  with the team and holder they had, so a later roster never rewrites the past.
- **Leave date** (离职日期): the member's current team and accounts end on it; an empty cell,
  when the roster has the column, clears it (the periods that ended on it are open again).
- Columns the file does not have change nothing (no 子账号 column: accounts are left as they are).
- **Idempotent**: a row that says what the organisation already says changes nothing.

Each row is checked as a whole (dates, moves against the member's history, an account held by
someone else on those days, two leads for one team, logins); a row with any problem is
rejected with `RosterError`s, and — unless the caller imports the valid rows only — nothing is
written. Everything written is recorded in the change log and runs inside `history_watch`, so
exactly the store-days whose holder or team changed are recomputed once it commits.

teams imports no app above it: the import pipeline (metrics) reads the file, checks its cells,
and calls this with typed rows; it turns `RosterProblem`s into messages in both languages.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from teams.models import (
    AccountAssignment,
    ChangeArea,
    ChangeRecord,
    Member,
    PlatformAccount,
    RoleGrant,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)
from teams.services.accounts import ASSIGNMENT_FIELDS
from teams.services.changes import change_record_build, change_records_create, fields_snapshot
from teams.services.history import history_watch

logger = logging.getLogger(__name__)

_DAY = dt.timedelta(days=1)
# 子账号 cells list account names separated by 、，, ; or white space (full-width forms too).
ACCOUNT_SEPARATORS = re.compile(r"[、，,;；\s]+")
ACCOUNT_NAME_LENGTH = PlatformAccount._meta.get_field("name").max_length

STORE_FIELDS = ("name", "platform", "time_zone")
TEAM_FIELDS = ("store", "name", "kind", "lead")
MEMBER_FIELDS = ("display_name", "employee_number", "hire_date", "leave_date", "active", "user")
MEMBERSHIP_FIELDS = ("member", "team", "start_date", "end_date")
ACCOUNT_FIELDS = ("store", "name")
USER_FIELDS = ("username", "email")


@dataclass(frozen=True)
class RosterRow:
    """One checked row of a roster file. Optional cells the file leaves empty are None ("")."""

    line: int  # the row's line in the file, for its errors
    store_id: int  # negative: a store first named in this roster (roster_apply's new_stores)
    employee_number: str
    name: str
    team: str
    hire_date: dt.date
    team_kind: str | None = None  # a TeamKind value
    accounts: str | None = None  # the 子账号 cell as written (roster_accounts_split)
    leave_date: dt.date | None = None
    leader: bool | None = None
    login: str = ""
    email: str = ""
    move_date: dt.date | None = None
    from_first_activity: bool = False


class RosterProblem(StrEnum):
    """Why a row is rejected; the importer shows each as a message (params in RosterError)."""

    EMPLOYEE_TWICE = "employee_twice"  # line: the earlier row of the same employee number
    LEAVE_BEFORE_HIRE = "leave_before_hire"
    ACCOUNT_NAME_TOO_LONG = "account_name_too_long"  # account, n
    ACCOUNT_TWICE = "account_twice"  # account, line: an earlier row gives it to its member on some of the days
    ACCOUNT_HELD = "account_held"  # account, member, start: someone else holds it on those days
    ACCOUNT_DROP_TOO_EARLY = "account_drop_too_early"  # account, start: no longer listed from before it began
    MOVE_TOO_EARLY = "move_too_early"  # team, start: the current team began on or after the move date
    MOVE_AFTER_LEAVE = "move_after_leave"  # date: a new team or account would start after the leave date
    LEAVE_BEFORE_PERIOD = "leave_before_period"  # name, start: a current team or account began after it
    MEMBER_OTHER_STORE = "member_other_store"  # the member belongs to a store the importer does not manage
    LOGIN_INVALID = "login_invalid"
    LOGIN_TWICE = "login_twice"  # line
    LOGIN_TAKEN = "login_taken"  # login: another person's user
    LOGIN_DIFFERS = "login_differs"  # login: the member's user has another name
    EMAIL_INVALID = "email_invalid"
    LOGIN_PROTECTED = "login_protected"  # login: its e-mail is an administrator's to change
    TEAM_KIND_CONFLICT = "team_kind_conflict"  # kind, line: another row gives the team another kind
    TWO_LEADERS = "two_leaders"  # line: another row leads the same team


@dataclass(frozen=True)
class RosterError:
    line: int
    field: str  # the roster field (RosterRow attribute) whose cell is wrong
    value: str
    problem: RosterProblem
    params: dict[str, str | int] = field(default_factory=dict)  # names, ISO dates, lines


@dataclass
class RosterOutcome:
    inserted: int = 0  # rows that created their member
    updated: int = 0  # rows that changed something (their member, team, accounts, lead, login)
    unchanged: int = 0
    errors: list[RosterError] = field(default_factory=list)
    written: bool = False
    store_ids: list[int] = field(default_factory=list)  # the stores of the rows applied
    users_created: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.line for error in self.errors})


def roster_accounts_split(*, text: str | None) -> tuple[str, ...]:
    """The account names of a 子账号 cell, in order, each once."""
    return tuple(dict.fromkeys(name for name in ACCOUNT_SEPARATORS.split(text or "") if name))


def roster_invitations_send(*, users: Sequence[AbstractBaseUser], actor: AbstractBaseUser | None) -> None:
    """Invite the logins a roster created (each with no usable password, linked to its member):
    their one-time links are e-mailed once the import commits, to those with an e-mail address,
    when e-mail is set up and the site knows its address (PERFMGMT_SITE_URL: a worker has no
    request to take it from). Otherwise the store's manager sends each link from the users page."""
    from teams.services.users import users_invitation_send

    if not users:
        return
    if not (settings.SITE_URL and settings.EMAIL_CONFIGURED):
        logger.info("roster: %s logins created; their invitations are sent from the users page (e-mail or "
                    "PERFMGMT_SITE_URL not set)", len(users))  # fmt: skip
        return
    users_invitation_send(users=users, base_url=settings.SITE_URL)


# --- reading what the organisation says now ---------------------------------------------------


@dataclass
class _State:
    members: dict[str, Member]  # employee number → member
    memberships: dict[int, list[TeamMembership]]  # member id → their memberships
    teams: dict[tuple[int, str], Team]  # (store id, name) → team
    accounts: dict[tuple[int, str], PlatformAccount]  # (store id, name) → account
    by_account: dict[int, list[AccountAssignment]]  # account id → its assignments
    by_member: dict[int, list[AccountAssignment]]  # member id → their assignments
    users: dict[str, Any]  # username → user, for the logins the roster names
    privileged: set[int]  # the members' users with a role of their own (a grant, staff, superuser)


def _state_read(rows: Sequence[RosterRow]) -> _State:
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
    return _State(members, memberships, teams, accounts, by_account, by_member, users, privileged)


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
class _Plan:
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


class _Rejected(Exception):
    def __init__(self, error: RosterError) -> None:
        self.error = error


def _reject(row: RosterRow, field_name: str, problem: RosterProblem, value: Any = None, **params) -> _Rejected:
    shown = getattr(row, field_name, "") if value is None else value
    text = shown.isoformat() if isinstance(shown, dt.date) else "" if shown is None else str(shown)
    return _Rejected(RosterError(row.line, field_name, text, problem, params))


@dataclass
class _Planner:
    state: _State
    columns: frozenset[str]
    today: dt.date
    store_ids_allowed: frozenset[int] | None
    seen_numbers: dict[str, int] = field(default_factory=dict)
    seen_logins: dict[str, int] = field(default_factory=dict)
    team_kinds: dict[tuple[int, str], tuple[str, int]] = field(default_factory=dict)

    def plan(self, row: RosterRow) -> _Plan:
        """What the row changes, or _Rejected with the first problem found in it."""
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
        plan = _Plan(row=row, member=member or Member(), new=member is None, team_key=team_key)
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

    def _user(self, plan: _Plan) -> None:
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

    def _new_member(self, plan: _Plan, names: tuple[str, ...] | None) -> None:
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

    def _known_member(self, plan: _Plan, names: tuple[str, ...] | None) -> None:
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

    def _end(self, plan: _Plan, ends: dict, period, leave: dt.date | None, *, name: str) -> None:
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


def _first_activity_apply(
    plans: Sequence[_Plan], state: _State, first_activity: Callable[[list[int]], Mapping[int, dt.date]] | None
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


def _conflicts(plans: Sequence[_Plan], state: _State) -> dict[int, RosterError]:
    """Problems between rows, given the plans of the rows still valid: an account held by
    someone else on days a row gives it to its member (after every valid row's changes), and two
    leads for one team. {line: error}. Of two rows that give one account to two members on the
    same days, the later is rejected."""
    errors: dict[int, RosterError] = {}
    ends = {pk: end for plan in plans for pk, end in plan.assignment_ends.items()}
    extended_by = {claim.existing.pk: plan for plan in plans for claim in plan.extensions}
    # Per account: (start, end, holder's name, assignment id or None, the plan that made it or None).
    periods: dict[tuple[int, str], list[tuple[dt.date, dt.date | None, str, int | None, _Plan | None]]] = {}
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


# --- applying ----------------------------------------------------------------------------------


@transaction.atomic
def roster_apply(
    *,
    rows: Sequence[RosterRow],
    columns: Iterable[str],
    new_stores: Mapping[int, str] | None = None,
    actor: AbstractBaseUser | None = None,
    store_ids_allowed: Iterable[int] | None = None,
    skip_invalid: bool = False,
    check_only: bool = False,
    today: dt.date | None = None,
    first_activity: Callable[[list[int]], Mapping[int, dt.date]] | None = None,
    reason: str = "",
) -> RosterOutcome:
    """Make the organisation say what the roster's rows say (see the module's docstring).

    `columns`: the optional fields the file has (team_kind, accounts, leave_date, leader, login,
    email, move_date, from_first_activity): an absent column changes nothing. `new_stores`:
    {negative store id of the rows: name} for stores first named here (created with the site's
    time zone). `store_ids_allowed`: the stores a manager may change (None: any, for admins and
    the command line); a known member of another store is rejected. `first_activity`: account
    ids → their first local day of activity (the importer reads the facts). `check_only`: check
    and report, write nothing (the file already has invalid rows). Without `skip_invalid`, any
    rejected row means nothing is written either. `reason`: kept in each change record (the file).
    """
    today = today or timezone.localdate()
    outcome = RosterOutcome()
    state = _state_read(rows)
    allowed = frozenset(store_ids_allowed) if store_ids_allowed is not None else None
    planner = _Planner(state=state, columns=frozenset(columns), today=today, store_ids_allowed=allowed)
    plans: list[_Plan] = []
    for row in sorted(rows, key=lambda r: r.line):
        try:
            plans.append(planner.plan(row))
        except _Rejected as rejected:
            outcome.errors.append(rejected.error)
    _first_activity_apply(plans, state, first_activity)
    # A rejected row keeps its member as they are, which can make another row's account change
    # impossible in turn: repeat until no new row is rejected.
    while True:
        conflicts = _conflicts(plans, state)
        if not conflicts:
            break
        outcome.errors.extend(conflicts.values())
        plans = [plan for plan in plans if plan.row.line not in conflicts]
    outcome.errors.sort(key=lambda error: error.line)
    if check_only or (outcome.errors and not skip_invalid):
        return outcome
    _write(plans, state, new_stores or {}, actor, reason, outcome)
    return outcome


def _write(
    plans: list[_Plan],
    state: _State,
    new_stores: Mapping[int, str],
    actor: AbstractBaseUser | None,
    reason: str,
    outcome: RosterOutcome,
) -> None:
    records: list[ChangeRecord | None] = []
    changed: set[int] = set()  # lines that changed something

    def record(*, target, fields, before=None, store=None, area=ChangeArea.ORGANISATION, label=None):
        after = fields_snapshot(instance=target, fields=fields)
        records.append(change_record_build(actor=actor, area=area, target=target, before=before, after=after,
                                           reason=reason, store=store, label=label))  # fmt: skip

    # Stores first named in the roster.
    known_ids = {plan.row.store_id for plan in plans if plan.row.store_id > 0}
    stores = {store.pk: store for store in Store.objects.filter(pk__in=known_ids)}
    first_line = {}
    for plan in plans:
        first_line.setdefault(plan.row.store_id, plan.row.line)
        first_line.setdefault(plan.team_key, plan.row.line)
    created_stores = Store.objects.bulk_create(
        Store(name=new_stores[store_id], time_zone=settings.TIME_ZONE)
        for store_id in sorted({p.row.store_id for p in plans if p.row.store_id < 0}, reverse=True)
    )
    for store in created_stores:
        temporary = next(k for k, v in new_stores.items() if v == store.name)
        stores[temporary] = store
        changed.add(first_line[temporary])
        record(target=store, fields=STORE_FIELDS, store=store)

    # Teams: created when first named, their kind as the roster gives it.
    teams = dict(state.teams)
    team_before = {}
    new_teams = []
    for plan in plans:
        key, kind = plan.team_key, plan.row.team_kind
        team = teams.get(key)
        if team is None:
            team = Team(store=stores[key[0]], name=key[1], kind=kind or TeamKind.PRESALES)
            teams[key] = team
            new_teams.append(team)
            changed.add(plan.row.line)
        elif kind and team.kind != kind and team.pk:
            team_before.setdefault(team.pk, fields_snapshot(instance=team, fields=TEAM_FIELDS))
            team.kind = kind
            changed.add(plan.row.line)
    Team.objects.bulk_create(new_teams)

    # Known members as they were, before their user or fields change below.
    member_before = {
        plan.member.pk: fields_snapshot(instance=plan.member, fields=MEMBER_FIELDS)
        for plan in plans
        if not plan.new and (plan.member_fields or plan.user_new)
    }

    # Users, with no usable password until they accept their invitation.
    User = get_user_model()
    new_users, email_changed = [], []
    for plan in plans:
        if plan.user_new:
            user = User(username=plan.user_new[0], email=plan.user_new[1])
            user.set_unusable_password()
            new_users.append(user)
            plan.member.user = user
            changed.add(plan.row.line)
        elif plan.user_email is not None:
            user = plan.member.user
            before = fields_snapshot(instance=user, fields=USER_FIELDS)
            user.email = plan.user_email
            email_changed.append((user, before, plan))
            changed.add(plan.row.line)
    User.objects.bulk_create(new_users)
    User.objects.bulk_update([user for user, _before, _plan in email_changed], ["email"])

    # Members.
    new_members, updated_members = [], []
    for plan in plans:
        for name, value in plan.member_fields.items():
            setattr(plan.member, name, value)
        if plan.new:
            new_members.append(plan.member)
        elif plan.member.pk in member_before:
            if plan.user_new:
                plan.member.user_id = plan.member.user.pk
            updated_members.append(plan.member)
        else:
            continue
        changed.add(plan.row.line)
    Member.objects.bulk_create(new_members)
    if updated_members:
        Member.objects.bulk_update(updated_members, [*{n for p in plans for n in p.member_fields}, "user"])

    watched_members = [plan.member.pk for plan in plans if not plan.new]
    watched_accounts = [a.pk for a in state.accounts.values()]
    with history_watch(member_ids=watched_members, account_ids=watched_accounts):
        # Memberships: ends first, then the new periods.
        memberships = {m.pk: m for rows in state.memberships.values() for m in rows}
        ended = []
        membership_before = {}
        new_memberships = []
        for plan in plans:
            for pk, end in plan.membership_ends.items():
                membership = memberships[pk]
                membership_before[pk] = fields_snapshot(instance=membership, fields=MEMBERSHIP_FIELDS)
                membership.end_date = end
                ended.append(membership)
                changed.add(plan.row.line)
            if plan.membership_new:
                start, end = plan.membership_new
                new_memberships.append(TeamMembership(member=plan.member, team=teams[plan.team_key], start_date=start,
                                                      end_date=end))  # fmt: skip
                changed.add(plan.row.line)
        TeamMembership.objects.bulk_update(ended, ["end_date"])
        TeamMembership.objects.bulk_create(new_memberships)

        # Accounts first named here, unassigned until the assignments below.
        accounts = dict(state.accounts)
        new_accounts = []
        for plan in plans:
            for claim in plan.claims:
                if claim.account not in accounts:
                    accounts[claim.account] = PlatformAccount(store=stores[claim.account[0]], name=claim.account[1])
                    new_accounts.append(accounts[claim.account])
        PlatformAccount.objects.bulk_create(new_accounts)

        # Assignments: ends first (one open assignment per account), then the new ones.
        assignments = {a.pk: a for rows in state.by_account.values() for a in rows}
        assignments |= {a.pk: a for rows in state.by_member.values() for a in rows}
        assignment_before = {}
        for plan in plans:
            for pk, end in plan.assignment_ends.items():
                assignment_before[pk] = fields_snapshot(instance=assignments[pk], fields=ASSIGNMENT_FIELDS)
                assignments[pk].end_date = end
                changed.add(plan.row.line)
        closed = [assignments[pk] for pk in assignment_before]
        AccountAssignment.objects.bulk_update(closed, ["end_date"])
        new_assignments = []
        for plan in plans:
            for claim in plan.claims:
                new_assignments.append(AccountAssignment(account=accounts[claim.account], member=plan.member,
                                                         start_date=claim.start, end_date=claim.end,
                                                         assigned_by=actor if actor and actor.is_authenticated
                                                         else None))  # fmt: skip
                changed.add(plan.row.line)
        AccountAssignment.objects.bulk_create(new_assignments)

    # Team leads: 组长 = 是 leads the row's team, 否 no longer; a member moved out of a team they
    # led no longer leads it.
    lead_changed = {}
    leaders = {plan.team_key: plan for plan in plans if plan.row.leader}
    by_id = {team.pk: team for team in teams.values()}
    line_of_member = {plan.member.pk: plan.row.line for plan in plans}
    for plan in plans:
        team = teams[plan.team_key]
        if plan.row.leader and team.lead_id != plan.member.pk:
            lead_changed.setdefault(team.pk, fields_snapshot(instance=team, fields=TEAM_FIELDS))
            if team.lead_id in line_of_member:  # the lead it replaces is on the roster: changed too
                changed.add(line_of_member[team.lead_id])
            team.lead = plan.member
            changed.add(plan.row.line)
        elif plan.row.leader is False and team.lead_id == plan.member.pk and plan.team_key not in leaders:
            lead_changed.setdefault(team.pk, fields_snapshot(instance=team, fields=TEAM_FIELDS))
            team.lead = None
            changed.add(plan.row.line)
        for team_id in plan.teams_left:
            left = by_id.get(team_id)
            # (unless a row of the roster names another lead for it, set above)
            if left is not None and left.lead_id == plan.member.pk and (left.store_id, left.name) not in leaders:
                lead_changed.setdefault(left.pk, fields_snapshot(instance=left, fields=TEAM_FIELDS))
                left.lead = None
                changed.add(plan.row.line)
    new_team_ids = {team.pk for team in new_teams}
    Team.objects.bulk_update([by_id[pk] for pk in {*lead_changed, *team_before} if pk not in new_team_ids],
                             ["kind", "lead"])  # fmt: skip
    Team.objects.bulk_update([team for team in new_teams if team.lead_id], ["lead"])

    # The change log: each object as it was and is.
    for user in new_users:
        record(target=user, fields=USER_FIELDS, area=ChangeArea.ACCESS)
    for user, before, plan in email_changed:
        record(target=user, fields=USER_FIELDS, before=before, area=ChangeArea.ACCESS, store=stores[plan.row.store_id])
    for team in new_teams:
        record(target=team, fields=TEAM_FIELDS, store=team.store)
    for pk in {*team_before, *lead_changed} - new_team_ids:
        before = team_before.get(pk) or lead_changed[pk]
        record(target=by_id[pk], fields=TEAM_FIELDS, before=before, store=by_id[pk].store)
    for plan in plans:
        store = stores[plan.row.store_id]
        if plan.new:
            record(target=plan.member, fields=MEMBER_FIELDS, store=store)
        elif plan.member.pk in member_before:
            record(target=plan.member, fields=MEMBER_FIELDS, before=member_before[plan.member.pk], store=store)
    for membership in ended:
        record(target=membership, fields=MEMBERSHIP_FIELDS, before=membership_before[membership.pk],
               store=membership.team.store)  # fmt: skip
    for membership in new_memberships:
        record(target=membership, fields=MEMBERSHIP_FIELDS, store=membership.team.store)
    for account in new_accounts:
        record(target=account, fields=ACCOUNT_FIELDS, store=account.store)
    for assignment in closed:
        record(target=assignment, fields=ASSIGNMENT_FIELDS, before=assignment_before[assignment.pk],
               store=assignment.account.store)  # fmt: skip
    for assignment in new_assignments:
        record(target=assignment, fields=ASSIGNMENT_FIELDS, store=assignment.account.store)
    change_records_create(records=records)

    roster_invitations_send(users=new_users, actor=actor)
    outcome.written = True
    outcome.users_created = [user.pk for user in new_users]
    outcome.store_ids = sorted({stores[plan.row.store_id].pk for plan in plans})
    for plan in plans:
        if plan.new:
            outcome.inserted += 1
        elif plan.row.line in changed:
            outcome.updated += 1
        else:
            outcome.unchanged += 1
