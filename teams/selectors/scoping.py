"""Who may see what. Every page and API endpoint reads organisation data through these
selectors; no view filters by role itself.

Rules:
- admin (superuser or admin grant): everything;
- HR: every store, team and member, read-only (appraisal and pay data of everyone);
- manager: the stores granted to them, with their teams, members and accounts;
- team lead: the teams they lead and the members who belong or belonged to them;
- staff: themselves only (their own member, accounts and teams).
A user may hold several of these at once; what they see is the union.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import OuterRef, Q, QuerySet, Subquery

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
