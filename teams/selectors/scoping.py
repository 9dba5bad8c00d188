"""Who may see what. Every page and API endpoint reads organisation data through these
selectors; no view filters by role itself.

Rules:
- admin (superuser or admin grant): everything;
- HR: every store, team and member, read-only (appraisal and pay data of everyone);
- manager: the stores granted to them, with their teams, members and accounts;
- team lead: the teams they lead and the members who belong or belonged to them;
- staff: themselves only (their own member, accounts and teams).
A user may hold several of these at once; what they see is the union.

Who may change the organisation and its logins (the "…_editable" and "…_manageable" selectors):
- admin: everything: creates stores, grants and revokes every role;
- manager: the settings of the stores granted to them, their teams, members (those who belong or
  belonged to one of their teams), team moves into their teams, platform accounts, and the logins
  of their members who hold no role (invite, new password link, deactivate); never a role grant;
- HR, team leads and staff: nothing (HR reads the users and their roles).
Something a role may never change answers 403; something outside the editor's stores 404.

Who may set targets, record behaviour counts and plan promotions (the targets pages and API of
metrics.targets): the last section, `viewer_sets_targets` and the rules after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from teams.models import (
    AccountAssignment,
    Member,
    PlatformAccount,
    Role,
    RoleGrant,
    Store,
    Team,
    TeamMembership,
)

_CACHE_ATTR = "_perfmgmt_viewer"


@dataclass(frozen=True)
class Viewer:
    """What one user may see, resolved once per request."""

    user_id: int | None = None
    member_id: int | None = None
    is_admin: bool = False
    is_hr: bool = False
    managed_store_ids: frozenset[int] = field(default_factory=frozenset)
    led_team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def sees_everything(self) -> bool:
        return self.is_admin or self.is_hr

    @property
    def is_manager(self) -> bool:
        return bool(self.managed_store_ids)

    @property
    def is_team_lead(self) -> bool:
        return bool(self.led_team_ids)

    @property
    def is_staff_member(self) -> bool:
        return self.member_id is not None

    @property
    def can_assign_accounts(self) -> bool:
        return self.is_admin or self.is_manager

    @property
    def can_edit_organisation(self) -> bool:
        """Stores' settings, teams, members, moves and platform accounts (in the editable stores)."""
        return self.is_admin or self.is_manager

    @property
    def can_create_stores(self) -> bool:
        return self.is_admin

    @property
    def can_read_users(self) -> bool:
        """The users page: administrators and HR every login, managers their members' logins."""
        return self.is_admin or self.is_hr or self.is_manager

    @property
    def can_manage_users(self) -> bool:
        """Invite, send a new password link, deactivate: administrators, managers (their members)."""
        return self.is_admin or self.is_manager

    @property
    def can_grant_roles(self) -> bool:
        """A grant widens who reads a whole store's pay and appraisals: administrators only."""
        return self.is_admin

    @property
    def role_keys(self) -> list[str]:
        """Roles in order of reach, for navigation and display."""
        keys = []
        if self.is_admin:
            keys.append("admin")
        if self.is_hr:
            keys.append("hr")
        if self.is_manager:
            keys.append("manager")
        if self.is_team_lead:
            keys.append("lead")
        if self.is_staff_member:
            keys.append("staff")
        return keys


def viewer_get(*, user: AbstractBaseUser | AnonymousUser) -> Viewer:
    """Resolve the user's reach (three small queries), cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return Viewer()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grants = list(RoleGrant.objects.filter(user=user).values_list("role", "store_id"))
    member_id = Member.objects.filter(user=user).values_list("id", flat=True).first()
    led_team_ids = (
        frozenset(Team.objects.filter(lead_id=member_id).values_list("id", flat=True)) if member_id else frozenset()
    )
    viewer = Viewer(
        user_id=user.pk,
        member_id=member_id,
        is_admin=user.is_superuser or any(role == Role.ADMIN for role, _ in grants),
        is_hr=any(role == Role.HR for role, _ in grants),
        managed_store_ids=frozenset(store_id for role, store_id in grants if role == Role.MANAGER),
        led_team_ids=led_team_ids,
    )
    setattr(user, _CACHE_ATTR, viewer)
    return viewer


def _visible_team_q(viewer: Viewer) -> Q:
    """Teams the viewer sees in full: those of the stores they manage and those they lead."""
    return Q(store_id__in=viewer.managed_store_ids) | Q(pk__in=viewer.led_team_ids)


def store_list(*, viewer: Viewer) -> QuerySet[Store]:
    stores = Store.objects.all()
    if viewer.sees_everything:
        return stores
    if not viewer.is_authenticated:
        return stores.none()
    q = Q(pk__in=viewer.managed_store_ids) | Q(teams__in=viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(teams__memberships__member_id=viewer.member_id)
    return stores.filter(q).distinct()


def team_list(*, viewer: Viewer) -> QuerySet[Team]:
    teams = Team.objects.select_related("store", "lead")
    if viewer.sees_everything:
        return teams
    if not viewer.is_authenticated:
        return teams.none()
    q = _visible_team_q(viewer)
    if viewer.member_id:
        q |= Q(memberships__member_id=viewer.member_id)
    return teams.filter(q).distinct()


def team_list_overseen(*, viewer: Viewer) -> QuerySet[Team]:
    """Teams whose dashboard (every member's figures) the viewer may open: all for admins and
    HR, those of managed stores, those led. A staff member's own team is not among them."""
    teams = Team.objects.select_related("store", "lead")
    if viewer.sees_everything:
        return teams
    if not viewer.is_authenticated:
        return teams.none()
    return teams.filter(_visible_team_q(viewer))


def store_list_overseen(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores whose overview the viewer may open: all for admins and HR, the managed ones."""
    if viewer.sees_everything:
        return Store.objects.all()
    return Store.objects.filter(pk__in=viewer.managed_store_ids)


def member_list(*, viewer: Viewer) -> QuerySet[Member]:
    """Members the viewer may see: their profile, their KPIs and (for HR) their pay."""
    members = Member.objects.all()
    if viewer.sees_everything:
        return members
    if not viewer.is_authenticated:
        return members.none()
    team_ids = Team.objects.filter(_visible_team_q(viewer)).values("id")
    q = Q(pk__in=TeamMembership.objects.filter(team_id__in=team_ids).values("member_id"))
    if viewer.member_id:
        q |= Q(pk=viewer.member_id)
    return members.filter(q)


def platform_account_list(*, viewer: Viewer) -> QuerySet[PlatformAccount]:
    """Accounts of the viewer's stores (managers), of visible members (leads) or their own (staff)."""
    accounts = PlatformAccount.objects.select_related("store")
    if viewer.sees_everything:
        return accounts
    if not viewer.is_authenticated:
        return accounts.none()
    q = Q(store_id__in=viewer.managed_store_ids)
    if viewer.led_team_ids or viewer.member_id:
        q |= Q(assignments__member__in=member_list(viewer=viewer))
    return accounts.filter(q).distinct()


def assignable_account_list(*, viewer: Viewer) -> QuerySet[PlatformAccount]:
    """Accounts whose member the viewer may set: admins everywhere, managers in their stores."""
    accounts = PlatformAccount.objects.select_related("store")
    if viewer.is_admin:
        return accounts
    return accounts.filter(store_id__in=viewer.managed_store_ids)


def platform_account_annotate_current(accounts: QuerySet[PlatformAccount]) -> QuerySet[PlatformAccount]:
    """Add `current_member_id` and `current_member_name`: the member of the open assignment, if any."""
    open_assignment = AccountAssignment.objects.filter(account=OuterRef("pk"), end_date__isnull=True)
    return accounts.annotate(
        current_member_id=Subquery(open_assignment.values("member_id")[:1]),
        current_member_name=Subquery(open_assignment.values("member__display_name")[:1]),
    )


# --- who may change what ------------------------------------------------------------------------


def store_list_editable(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores whose settings, teams and platform accounts the viewer may change."""
    if viewer.is_admin:
        return Store.objects.all()
    return Store.objects.filter(pk__in=viewer.managed_store_ids)


def team_list_editable(*, viewer: Viewer) -> QuerySet[Team]:
    """Teams the viewer may rename, re-lead and move members into: those of the editable stores."""
    teams = Team.objects.select_related("store", "lead")
    if viewer.is_admin:
        return teams
    return teams.filter(store_id__in=viewer.managed_store_ids)


def member_list_editable(*, viewer: Viewer) -> QuerySet[Member]:
    """Members the viewer may edit, move and invite: everyone for administrators; for managers,
    those who belong or belonged to a team of their stores (as they see them)."""
    if viewer.is_admin:
        return Member.objects.all()
    in_stores = TeamMembership.objects.filter(team__store_id__in=viewer.managed_store_ids).values("member_id")
    return Member.objects.filter(pk__in=in_stores)


def user_list(*, viewer: Viewer) -> QuerySet:
    """Logins the viewer may see on the users page: all for administrators and HR; a manager's,
    those of the members they may edit; nobody else's."""
    users = (
        get_user_model().objects.select_related("member").prefetch_related("role_grants__store", "member__teams_led")
    )
    if viewer.is_admin or viewer.is_hr:
        return users
    if not viewer.is_manager:
        return users.none()
    return users.filter(member__in=member_list_editable(viewer=viewer))


def user_list_manageable(*, viewer: Viewer) -> QuerySet:
    """Logins whose password link and active flag the viewer may change: every other login for
    administrators; for managers, their members' logins that hold no role (a login with a role is
    the administrators' to manage: a manager must not take over a peer's or HR's account). Never
    one's own (the header's "change password" is for that)."""
    users = user_list(viewer=viewer).exclude(pk=viewer.user_id)
    if viewer.is_admin:
        return users
    if not viewer.is_manager:
        return users.none()
    granted = RoleGrant.objects.filter(user=OuterRef("pk"))
    return users.filter(is_superuser=False, is_staff=False).exclude(Exists(granted))


def role_grant_list(*, viewer: Viewer) -> QuerySet[RoleGrant]:
    """Role grants the viewer may read: all for administrators and HR; managers, those of their stores."""
    grants = RoleGrant.objects.select_related("user", "store")
    if viewer.is_admin or viewer.is_hr:
        return grants
    return grants.filter(store_id__in=viewer.managed_store_ids)


# The store fields each editor may change: a store's name is how imports find it (the platform's
# exports name their store), so only administrators rename one.
STORE_SETTINGS = ("platform", "time_zone", "attribution_window_hours", "stuck_deal_days", "stuck_deal_response_hours")


def store_fields_editable(*, viewer: Viewer) -> tuple[str, ...]:
    if viewer.is_admin:
        return ("name", *STORE_SETTINGS)
    return STORE_SETTINGS if viewer.is_manager else ()


# --- the rules of the apps above teams ---------------------------------------------------------
# Appraisals (reviews) and pay (incentives) depend on teams, never the reverse: their rules take the
# ids and states they need as arguments instead of their models.


def store_list_for_cycles(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores in which the viewer may open appraisal cycles: all for HR and admins, the managed
    ones, those of the teams they lead."""
    if viewer.sees_everything:
        return Store.objects.order_by("name")
    return Store.objects.filter(Q(pk__in=viewer.managed_store_ids) | Q(teams__in=viewer.led_team_ids)).distinct()


def team_list_for_cycles(*, viewer: Viewer) -> QuerySet[Team]:
    """Teams for which the viewer may open appraisal cycles: all for HR and admins, those of the
    managed stores, those led."""
    teams = Team.objects.select_related("store").order_by("store__name", "name")
    if viewer.sees_everything:
        return teams
    return teams.filter(Q(store_id__in=viewer.managed_store_ids) | Q(pk__in=viewer.led_team_ids))


def viewer_opens_cycles(*, viewer: Viewer) -> bool:
    """HR, admins, store managers and team leads open appraisal cycles (and see the overview)."""
    return viewer.sees_everything or viewer.is_manager or viewer.is_team_lead


def viewer_manages_cycle(*, viewer: Viewer, store_id: int, team_id: int | None) -> bool:
    """An appraisal cycle's managers (of a store's cycle, or of one team's): admins, the store's
    managers, the team's lead."""
    return (
        viewer.is_admin
        or store_id in viewer.managed_store_ids
        or (team_id is not None and team_id in viewer.led_team_ids)
    )


def viewer_sees_cycle(*, viewer: Viewer, store_id: int, team_id: int | None) -> bool:
    """HR, admins and the cycle's managers see a whole appraisal cycle; members only their own
    appraisal."""
    return viewer.sees_everything or viewer_manages_cycle(viewer=viewer, store_id=store_id, team_id=team_id)


def viewer_runs_appraisals(*, viewer: Viewer) -> bool:
    """HR and administrators run the appraisal workflow across stores: they finalise, publish and
    reopen cycles and decide on KPI items without data (in the states the cycle allows)."""
    return viewer.is_hr or viewer.is_admin


def viewer_edits_plans(*, viewer: Viewer) -> bool:
    """HR and administrators edit, copy, retire, assign and simulate pay plans."""
    return viewer.is_hr or viewer.is_admin


def viewer_reads_appraisal_templates(*, viewer: Viewer) -> bool:
    """HR and administrators, and those who open cycles (store managers, team leads), read the
    appraisal templates they may use; staff never."""
    return viewer_opens_cycles(viewer=viewer)


def viewer_edits_appraisal_templates(*, viewer: Viewer) -> bool:
    """HR and administrators write appraisal templates."""
    return viewer.is_hr or viewer.is_admin


def viewer_approves_statements(*, viewer: Viewer) -> bool:
    """Store managers approve their stores' pay statements (administrators any): the month's
    list offers them the bulk approval."""
    return viewer.is_admin or viewer.is_manager


def viewer_locks_statements(*, viewer: Viewer) -> bool:
    """HR and administrators lock approved pay statements: the month's list offers them the bulk lock."""
    return viewer.is_admin or viewer.is_hr


def viewer_exports_workbooks(*, viewer: Viewer) -> bool:
    """A month's HR workbooks (appraisals, payouts): HR, administrators and store managers."""
    return viewer.sees_everything or viewer.is_manager


def viewer_exports_store(*, viewer: Viewer, store_id: int | None) -> bool:
    """The workbook of one store (None: of every store): HR and administrators any, managers the
    stores they manage."""
    return viewer.sees_everything or (store_id is not None and store_id in viewer.managed_store_ids)


# --- targets, promotions and staff's counts -----------------------------------------------------
# The rules of the targets pages and API (metrics.targets), written here so that forms, views and
# serializers only ask. They take ids, not metrics' objects: teams never imports metrics.


def viewer_sets_targets(*, viewer: Viewer) -> bool:
    """Admins, managers and team leads set targets; HR and staff do not."""
    return viewer.is_admin or viewer.is_manager or viewer.is_team_lead


def viewer_edits_target(*, viewer: Viewer, store_id: int, team_id: int | None, member_id: int | None) -> bool:
    """Whether the viewer may create, change or delete a target of this scope: admins anywhere;
    managers in their stores; team leads for their team and its members. HR and staff never
    (staff record behaviours, they do not set their own targets)."""
    if viewer.is_admin:
        return True
    if store_id in viewer.managed_store_ids:
        return True
    if not viewer.led_team_ids:
        return False
    if team_id is not None and member_id is None:
        return team_id in viewer.led_team_ids
    if member_id is not None:
        teams = set(TeamMembership.objects.filter(member_id=member_id).values_list("team_id", flat=True))
        return bool(teams & set(viewer.led_team_ids)) and (team_id is None or team_id in viewer.led_team_ids)
    return False


def store_list_target_editable(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores offered for a target: all for admins; those managed and those of the led teams."""
    if viewer.is_admin:
        return Store.objects.order_by("name")
    q = Q(pk__in=viewer.managed_store_ids) | Q(teams__in=viewer.led_team_ids)
    return Store.objects.filter(q).distinct().order_by("name")


def team_list_target_editable(*, viewer: Viewer) -> QuerySet[Team]:
    """Teams offered for a target: all for admins; those of the managed stores and those led."""
    teams = Team.objects.select_related("store").order_by("store__name", "name")
    if viewer.is_admin:
        return teams
    return teams.filter(Q(store_id__in=viewer.managed_store_ids) | Q(pk__in=viewer.led_team_ids))


def member_list_target_editable(*, viewer: Viewer) -> QuerySet[Member]:
    """Members offered for a target: all for admins; those who belong or belonged to a team of the
    managed stores or to a led team."""
    members = Member.objects.order_by("display_name")
    if viewer.is_admin:
        return members
    q = Q(memberships__team__store_id__in=viewer.managed_store_ids) | Q(memberships__team_id__in=viewer.led_team_ids)
    return members.filter(pk__in=Member.objects.filter(q).values("pk"))


def viewer_plans_promotions(*, viewer: Viewer, store_id: int | None = None) -> bool:
    """Promotions (their phases and focus targets) are planned by administrators (any store) and
    managers (their stores); without a store, whether the viewer plans promotions at all."""
    if store_id is None:
        return viewer.is_admin or viewer.is_manager
    return viewer.is_admin or store_id in viewer.managed_store_ids


def store_list_promotable(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores whose promotions the viewer may plan: all for admins, the managed ones."""
    if viewer.is_admin:
        return Store.objects.order_by("name")
    return Store.objects.filter(pk__in=viewer.managed_store_ids).order_by("name")


def member_list_recordable(*, viewer: Viewer) -> QuerySet[Member]:
    """Whose behaviour counts the viewer may record: their own; a team lead or manager, their
    members'; admins, every active member."""
    if viewer.is_admin:
        return Member.objects.filter(active=True).order_by("display_name")
    q = Q(memberships__team__store_id__in=viewer.managed_store_ids) | Q(memberships__team_id__in=viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(pk=viewer.member_id)
    return Member.objects.filter(pk__in=Member.objects.filter(q).values("pk")).order_by("display_name")


def viewer_records_counts(*, viewer: Viewer, member_id: int, store_id: int) -> bool:
    """Staff record their own counts; whoever may set the member's targets in the behaviour's
    store (a team lead, a manager, an admin) may correct them."""
    return viewer.member_id == member_id or viewer_edits_target(
        viewer=viewer, store_id=store_id, team_id=None, member_id=member_id
    )


def viewer_acting(*, viewer: Viewer) -> Viewer:
    """The viewer as one who changes what they see (marks alerts read): HR's reach is read-only,
    so HR acts through their other roles only."""
    return replace(viewer, is_hr=False)
