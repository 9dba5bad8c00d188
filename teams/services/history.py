"""Which store-days a change of the dated histories touches, announced to the apps above.

The figures credit each day's activity to the member who held the account that day
(AccountAssignment) and to the team that member was in that day (TeamMembership). A change to
either history therefore moves the figures of exactly the days whose holder changed:

- days on which an account's holder changed: those days of the account's store, and the orders'
  credit moves with them (an order's credit names the member of its session's day);
- days on which a member's team changed: those days of the stores where the member held an
  account then (their activity, whose day rows carry the team, only exists through an account);
  the credit (a member, not a team) does not move.

Every write path (account_assign, membership_move, members_deactivate_departed and the admin's
member form) runs inside history_watch, which reads the rows it may change before and after and
compares the holder of every day, so the rule above is written once, whatever the edit was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db.models import Q

from teams.models import AccountAssignment, TeamMembership
from teams.signals import history_changed

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class StoreDays:
    """Local days start … end (inclusive) of a store whose figures a change of the histories can
    move. `end` None: open-ended (the change holds from `start` on), i.e. up to the store's last
    day with data. `recredit`: whether orders' credit can move (an account changed hands), or only
    the team the day rows carry (a membership changed)."""

    store_id: int
    start: dt.date
    end: dt.date | None
    recredit: bool


@dataclass(frozen=True)
class _Period:
    holder: int  # the member holding an account, or the team a member is in
    start: dt.date
    end: dt.date | None  # inclusive; None while open


@dataclass
class _Histories:
    """The rows read by a watch: periods by account (with its store) and by member."""

    accounts: dict[int, list[_Period]] = field(default_factory=dict)
    account_stores: dict[int, int] = field(default_factory=dict)
    teams: dict[int, list[_Period]] = field(default_factory=dict)
    # Per member, the (store, start, end) of the accounts they held: where their team shows.
    held: dict[int, list[tuple[int, dt.date, dt.date | None]]] = field(default_factory=dict)


def _histories_read(member_ids: list[int], account_ids: list[int]) -> _Histories:
    """Every assignment of the accounts and of the members, and the members' memberships.

    The same filter before and after a change: a row of another member on an account that is
    only reached through a watched member is in neither reading, and being unchanged, it changes
    no day's holder, so leaving it out changes no result."""
    read = _Histories()
    assignments = AccountAssignment.objects.filter(Q(member_id__in=member_ids) | Q(account_id__in=account_ids))
    rows = assignments.values_list("account_id", "account__store_id", "member_id", "start_date", "end_date")
    for account_id, store_id, member_id, start, end in rows:
        read.accounts.setdefault(account_id, []).append(_Period(member_id, start, end))
        read.account_stores[account_id] = store_id
        if member_id in member_ids:
            read.held.setdefault(member_id, []).append((store_id, start, end))
    memberships = TeamMembership.objects.filter(member_id__in=member_ids)
    for member_id, team_id, start, end in memberships.values_list("member_id", "team_id", "start_date", "end_date"):
        read.teams.setdefault(member_id, []).append(_Period(team_id, start, end))
    return read


def _holders(periods: list[_Period], day: dt.date) -> frozenset[int]:
    return frozenset(p.holder for p in periods if p.start <= day and (p.end is None or day <= p.end))


def _days_changed(before: list[_Period], after: list[_Period]) -> tuple[dt.date, dt.date | None] | None:
    """The first and last day (None: open-ended) whose holders differ between the two histories,
    or None when every day keeps its holders.

    Between two consecutive boundaries (a period's first day, the day after its last) every day
    has the same holders in both histories, so one day of each stretch decides for it."""
    periods = before + after
    bounds = sorted({p.start for p in periods} | {p.end + _DAY for p in periods if p.end is not None})
    first = last = None
    for n, day in enumerate(bounds):
        if _holders(before, day) != _holders(after, day):
            first = first or day
            last = bounds[n + 1] - _DAY if n + 1 < len(bounds) else None
    return None if first is None else (first, last)


def _later_end(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return None if a is None or b is None else max(a, b)


def _earlier_end(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return b if a is None else a if b is None else min(a, b)


def _spans(before: _Histories, after: _Histories) -> list[StoreDays]:
    spans = []
    for account_id in before.accounts.keys() | after.accounts.keys():
        days = _days_changed(before.accounts.get(account_id, []), after.accounts.get(account_id, []))
        if days:
            store_id = after.account_stores.get(account_id) or before.account_stores[account_id]
            spans.append(StoreDays(store_id, days[0], days[1], recredit=True))
    for member_id in before.teams.keys() | after.teams.keys():
        days = _days_changed(before.teams.get(member_id, []), after.teams.get(member_id, []))
        if not days:
            continue
        # Their accounts before and after: a departure in the same change ends both at once.
        for store_id, held_from, held_to in {*before.held.get(member_id, []), *after.held.get(member_id, [])}:
            start, end = max(days[0], held_from), _earlier_end(days[1], held_to)
            if end is None or start <= end:
                spans.append(StoreDays(store_id, start, end, recredit=False))
    return spans


def _merged(spans: Iterable[StoreDays]) -> tuple[StoreDays, ...]:
    """One span per store: from the earliest day to the latest (open if any is open), re-crediting
    if any needs it. A store's recompute is one task; the days in between cost little more than a
    second task's attribution and warm-up would."""
    by_store: dict[int, StoreDays] = {}
    for span in spans:
        known = by_store.get(span.store_id)
        if known is not None:
            span = StoreDays(span.store_id, min(known.start, span.start), _later_end(known.end, span.end),
                             known.recredit or span.recredit)  # fmt: skip
        by_store[span.store_id] = span
    return tuple(by_store[store_id] for store_id in sorted(by_store))


# The spans found by the watches inside the outermost one, which announces them all at once.
_pending: ContextVar[list[StoreDays] | None] = ContextVar("history_watch_pending", default=None)


@contextmanager
def history_watch(*, member_ids: Iterable[int] = (), account_ids: Iterable[int] = ()) -> Iterator[None]:
    """Around a change of the histories of these members (their memberships and assignments)
    and accounts (every assignment): announce, with history_changed, the store-days whose holder
    changed (nothing when none did). Use inside the change's transaction; receivers act on commit,
    so a rolled-back change announces nothing that lasts.

    Watches inside another one add their spans to it, and the outermost sends one announcement
    for all (an admin form that edits assignments and a departure at once: one recompute per
    store). An exception inside announces nothing."""
    member_ids, account_ids = sorted(set(member_ids)), sorted(set(account_ids))
    before = _histories_read(member_ids, account_ids)
    outer = _pending.get()
    pending = outer if outer is not None else []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    pending.extend(_spans(before, _histories_read(member_ids, account_ids)))
    if outer is None and pending:
        history_changed.send(sender=StoreDays, spans=_merged(pending))


def store_days_announce(*, store_id: int, recredit: bool) -> None:
    """Announce every day of a store as changed, as a change of the histories would: a setting
    that every day's figures depend on changed (the attribution window: orders are credited
    again). Inside a watch it joins the watch's announcement; the recompute is cut to the days
    with data (metrics.kpis.services)."""
    span = StoreDays(store_id, dt.date.min, None, recredit=recredit)
    pending = _pending.get()
    if pending is not None:
        pending.append(span)
    else:
        history_changed.send(sender=StoreDays, spans=(span,))
