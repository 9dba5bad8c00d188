"""Reads for the organisation pages, always on top of the scoping selectors."""

from django.db.models import Count, Prefetch, Q, QuerySet

from teams.models import AccountAssignment, Member, PlatformAccount, TeamMembership
from teams.selectors.scoping import (
    Viewer,
    assignable_account_list,
    member_list,
    member_list_editable,
    platform_account_annotate_current,
    platform_account_list,
    store_list,
    store_list_editable,
    team_list,
    team_list_editable,
    user_list,
)


def home_summary_get(*, viewer: Viewer) -> dict:
    """What the home page shows: the viewer's own place, and the reach of their roles."""
    summary: dict = {"member": None, "stores": [], "unassigned_accounts": 0}
    if viewer.member_id:
        summary["member"] = member_detail_get(viewer=viewer, member_id=viewer.member_id)
    if viewer.sees_everything or viewer.is_manager or viewer.is_team_lead:
        summary["stores"] = list(
            store_list(viewer=viewer).annotate(
                team_count=Count("teams", filter=Q(teams__in=team_list(viewer=viewer)), distinct=True),
                account_count=Count("platform_accounts", distinct=True),
            )
        )
        summary["teams"] = list(
            team_list(viewer=viewer).annotate(
                member_count=Count(
                    "memberships__member",
                    filter=Q(memberships__end_date__isnull=True, memberships__member__active=True),
                    distinct=True,
                )
            )
        )
    if viewer.can_assign_accounts:
        summary["unassigned_accounts"] = account_unassigned_list(viewer=viewer).count()
    return summary


def member_detail_get(*, viewer: Viewer, member_id: int) -> Member:
    """One visible member with their team and account history; Member.DoesNotExist if not visible."""
    return (
        member_list(viewer=viewer)
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=TeamMembership.objects.select_related("team__store").order_by("-start_date"),
            ),
            Prefetch(
                "account_assignments",
                queryset=AccountAssignment.objects.select_related("account__store").order_by("-start_date"),
            ),
        )
        .get(pk=member_id)
    )


def member_list_with_team(*, viewer: Viewer) -> QuerySet[Member]:
    """Visible members annotated with their current team name, for the members page."""
    current = TeamMembership.objects.filter(end_date__isnull=True).select_related("team__store")
    return member_list(viewer=viewer).prefetch_related(
        Prefetch("memberships", queryset=current, to_attr="current_memberships")
    )


def account_unassigned_list(*, viewer: Viewer) -> QuerySet[PlatformAccount]:
    """Accounts the viewer may assign that have no member now (new in an import, or released)."""
    open_assignments = AccountAssignment.objects.filter(end_date__isnull=True).values("account_id")
    return assignable_account_list(viewer=viewer).exclude(pk__in=open_assignments)


def account_list_for_page(*, viewer: Viewer, status: str = "", store_id: int | None = None, search: str = ""):
    """Visible accounts with their current member; `status` is "", "assigned" or "unassigned"."""
    accounts = platform_account_annotate_current(platform_account_list(viewer=viewer))
    if status == "unassigned":
        accounts = accounts.filter(current_member_id__isnull=True)
    elif status == "assigned":
        accounts = accounts.filter(current_member_id__isnull=False)
    if store_id:
        accounts = accounts.filter(store_id=store_id)
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(assignments__member__display_name__icontains=search))
    return accounts.distinct()


def account_assign_member_choices(*, viewer: Viewer, store_ids: set[int]) -> dict[int, QuerySet[Member]]:
    """For each store, the active members the viewer sees who are in one of its teams (one query each)."""
    return {
        store_id: member_list(viewer=viewer)
        .filter(active=True, memberships__team__store_id=store_id)
        .distinct()
        .order_by("display_name")
        for store_id in store_ids
    }


def getting_started_get(*, viewer: Viewer) -> dict[str, int]:
    """How far the viewer's part of the set-up has come: stores, teams, members, platform accounts
    (and those still unassigned), and the members with a login."""
    members = member_list_editable(viewer=viewer)
    return {
        "stores": store_list_editable(viewer=viewer).count(),
        "teams": team_list_editable(viewer=viewer).count(),
        "members": members.filter(active=True).count(),
        "accounts": assignable_account_list(viewer=viewer).count(),
        "unassigned": account_unassigned_list(viewer=viewer).count(),
        "logins": user_list(viewer=viewer).filter(member__in=members).count(),
    }


def user_display_name(*, user) -> str:
    """How a page names a user: their full name, else their login; "—" for none (a deleted user,
    a change made by the system)."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
