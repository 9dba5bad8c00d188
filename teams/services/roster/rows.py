"""A roster's rows as the import pipeline hands them over, why a row is rejected, and what
applying a roster did (teams.services.roster)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from teams.models import PlatformAccount

# 子账号 cells list account names separated by 、，, ; or white space (full-width forms too).
ACCOUNT_SEPARATORS = re.compile(r"[、，,;；\s]+")
ACCOUNT_NAME_LENGTH = PlatformAccount._meta.get_field("name").max_length


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
