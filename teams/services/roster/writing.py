"""Applying a roster (teams.services.roster): plan every row, then write what the valid rows
change in bulk, record it in the change log inside `history_watch`, and invite the logins made."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from teams.models import (
    AccountAssignment,
    ChangeArea,
    ChangeRecord,
    Member,
    PlatformAccount,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)
from teams.services.accounts import ASSIGNMENT_FIELDS
from teams.services.changes import change_record_build, change_records_create, fields_snapshot
from teams.services.history import history_watch
from teams.services.roster.planning import (
    RosterState,
    RowPlan,
    RowPlanner,
    RowRejected,
    roster_conflicts_find,
    roster_first_activity_apply,
    roster_state_read,
)
from teams.services.roster.rows import RosterOutcome, RosterRow

logger = logging.getLogger("teams.services.roster")

STORE_FIELDS = ("name", "platform", "time_zone")
TEAM_FIELDS = ("store", "name", "kind", "lead")
MEMBER_FIELDS = ("display_name", "employee_number", "hire_date", "leave_date", "active", "user")
MEMBERSHIP_FIELDS = ("member", "team", "start_date", "end_date")
ACCOUNT_FIELDS = ("store", "name")
USER_FIELDS = ("username", "email")


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
    state = roster_state_read(rows)
    allowed = frozenset(store_ids_allowed) if store_ids_allowed is not None else None
    planner = RowPlanner(state=state, columns=frozenset(columns), today=today, store_ids_allowed=allowed)
    plans: list[RowPlan] = []
    for row in sorted(rows, key=lambda r: r.line):
        try:
            plans.append(planner.plan(row))
        except RowRejected as rejected:
            outcome.errors.append(rejected.error)
    roster_first_activity_apply(plans, state, first_activity)
    # A rejected row keeps its member as they are, which can make another row's account change
    # impossible in turn: repeat until no new row is rejected.
    while True:
        conflicts = roster_conflicts_find(plans, state)
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
    plans: list[RowPlan],
    state: RosterState,
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
