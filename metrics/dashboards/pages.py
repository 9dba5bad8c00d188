"""The dashboard pages, shared by the HTML views, the API and the task that warms the cache after
each import (metrics.dashboards.warmup): the viewer's scope and the period resolved from typed
arguments (each caller parses its own input: the views with DashboardFilterForm, the API with its
serializers), the figures' links, and the cache.

Presentation: a cached page holds its figures (metrics.dashboards.presenters), drawn once per data
version and language, so a page served from the cache costs no drawing; hence this module builds
links and is not a source of the "presentation" import contract (pyproject.toml).

A page's content depends only on the arguments here (never on the raw query string), so the
warm-up task and a request compute the same cache key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Max, Q
from django.urls import reverse

from metrics.dashboards.presenters import (
    PersonalDashboardPage,
    StoreOverviewPage,
    TeamDashboardPage,
    member_dashboard_get,
    store_overview_get,
    team_dashboard_get,
)
from metrics.dashboards.selectors.member import member_home_store, member_seen_get, member_team_on
from metrics.dashboards.selectors.stores import stores_overseen_get
from metrics.dashboards.selectors.team import (
    DEFAULT_SORT,
    DEFAULT_TREND_KPI,
    family_default_kpi,
    team_scope_get,
)
from metrics.kpis.cache import dashboard_cached
from metrics.kpis.families import family_kpis, team_families
from metrics.models import BehaviourRecord, CampaignPhase, Target
from metrics.registry import KPI_BY_KEY
from perfmgmt.common.periods import DEFAULT_PRESET, Period, period_resolve, store_today
from teams.models import Member, StaffCost, Store, Team
from teams.selectors.scoping import Viewer


def period_query(preset: str, period: Period) -> str:
    """The filter part of a link: the same period on the next page."""
    if preset == "custom":
        return urlencode({"preset": preset, "start": period.start.isoformat(), "end": period.end.isoformat()})
    return urlencode({"preset": preset})


def _day_query(day: dt.date, **more) -> str:
    params = {key: value for key, value in more.items() if value not in (None, "")}
    return urlencode({**params, "preset": "custom", "start": day.isoformat(), "end": day.isoformat()})


def plans_version(*, store_id: int | None, period: Period, member_id: int | None = None) -> tuple:
    """What the pages show beyond the rollups, as part of their cache key. Targets, promotions and
    behaviour counts change without a rollup rebuild (so without a new data version):

    - the store's targets (and the member's, wherever they are): how many and the last change
      (a deletion lowers the count, any save moves `updated_at`); the whole store's, a cheap
      aggregate that also covers the stores' targets shown on the team cards;
    - the promotion phases overlapping the period, by value (phases carry no timestamp; an
      edited date or name changes the key);
    - on a personal page, the member's behaviour counts: how many and the last change.
    """
    scope = Q(pk__in=[])  # matches nothing: the alternatives below add to it
    if store_id is not None:
        scope |= Q(store_id=store_id)
    if member_id is not None:
        scope |= Q(member_id=member_id)
    targets = Target.objects.filter(scope)
    key: tuple = (tuple(targets.aggregate(n=Count("pk"), last=Max("updated_at")).values()),)
    everywhere = Q(campaign__store__isnull=True) | (Q(campaign__store_id=store_id) if store_id else Q(pk__in=[]))
    phases = CampaignPhase.objects.filter(everywhere, start__lte=period.end, end__gte=period.start).order_by("pk")
    key += (tuple(phases.values_list("pk", "kind", "start", "end", "campaign__name")),)
    if member_id is not None:
        records = BehaviourRecord.objects.filter(member_id=member_id)
        key += (tuple(records.aggregate(n=Count("pk"), last=Max("updated_at")).values()),)
    return key


def team_dashboard_cached(
    *,
    team: Team,
    preset: str,
    period: Period,
    trend_kpi: str = DEFAULT_TREND_KPI,
    sort: str = DEFAULT_SORT,
    descending: bool | None = None,
) -> TeamDashboardPage:
    members_query = period_query(preset, period)
    # The team's KPI families decide its defaults: a sales team's default trend and order are
    # its own (won amount, connected calls), and a KPI of another family falls back to them. The
    # key holds the resolved values, so the default view has one cache entry however it is asked.
    families = team_families(team=team)
    allowed, default_kpi = {k.key for k in family_kpis(families=families)}, family_default_kpi(families=families)
    if trend_kpi not in allowed:
        trend_kpi = default_kpi
    if sort not in allowed:
        descending = None if sort in KPI_BY_KEY else descending  # an unknown key keeps its direction, as before
        sort = default_kpi
    team_url, sort_param = reverse("dashboards:team"), None
    if sort != default_kpi or descending is not None:
        sort_param = sort if descending in (None, True) else f"-{sort}"
    kpi_param = trend_kpi if trend_kpi != default_kpi else None

    def member_link(member_id: int) -> str:
        return f"{reverse('dashboards:member', args=[member_id])}?{members_query}"

    def day_link(day: dt.date) -> str:
        return f"{team_url}?{_day_query(day, team=team.pk, kpi=kpi_param, sort=sort_param)}"

    # Targets' progress is taken on the period's last day, at most today: today is in the key.
    today = store_today(team.store)
    return dashboard_cached(
        kind="team",
        store_ids=[team.store_id],
        key=(
            team.pk,
            str(team.kind),  # the value: a team just created holds the enum member, whose repr differs
            families,
            preset,
            period,
            trend_kpi,
            sort,
            descending,
            today,
            plans_version(store_id=team.store_id, period=period),
        ),
        compute=lambda: team_dashboard_get(
            team=team,
            period=period,
            trend_kpi=trend_kpi,
            sort=sort,
            descending=descending,
            member_link=member_link,
            day_link=day_link,
            today=today,
        ),
    )


def member_dashboard_cached(
    *, member: Member, store: Store | None, today: dt.date, period: Period, trend_kpi: str = DEFAULT_TREND_KPI
) -> PersonalDashboardPage:
    member_url = reverse("dashboards:member", args=[member.pk])
    families = team_families(team=member_team_on(member=member, day=today))
    default_kpi = family_default_kpi(families=families)
    if trend_kpi not in {k.key for k in family_kpis(families=families)}:
        trend_kpi = default_kpi
    kpi_param = trend_kpi if trend_kpi != default_kpi else None

    def day_link(day: dt.date) -> str:
        return f"{member_url}?{_day_query(day, kpi=kpi_param)}"

    return dashboard_cached(
        kind="member",
        store_ids=[store.pk] if store else [],
        key=(
            member.pk,
            families,
            today,
            period,
            trend_kpi,
            plans_version(store_id=store.pk if store else None, period=period, member_id=member.pk),
        ),
        compute=lambda: member_dashboard_get(
            member=member, today=today, period=period, trend_kpi=trend_kpi, day_link=day_link
        ),
    )


def sort_parse(value: str | None) -> tuple[str, bool | None]:
    """A leaderboard order as a link or the API writes it ("gmv", "-gmv" ascending): the KPI and
    whether descending (None: not asked, the KPI's own direction)."""
    if value is None:
        return DEFAULT_SORT, None
    return value.removeprefix("-"), not value.startswith("-")


@dataclass
class TeamPage:
    """A team dashboard asked for: the team, its store's today, the period and the dashboard."""

    store: Store | None  # the store asked for
    team: Team
    today: dt.date
    preset: str
    period: Period
    member_query: str  # the period as a member's page link carries it
    dashboard: TeamDashboardPage | None = None  # None when not asked for (with_dashboard)


def team_page_get(
    *,
    viewer: Viewer,
    store_id: int | None = None,
    team_id: int | None = None,
    preset: str = DEFAULT_PRESET,
    start: dt.date | None = None,
    end: dt.date | None = None,
    trend_kpi: str = DEFAULT_TREND_KPI,
    sort: str = DEFAULT_SORT,
    descending: bool | None = None,
    with_dashboard: bool = True,
) -> TeamPage | None:
    """The team dashboard a viewer asked for (metrics.dashboards.selectors.team.team_scope_get:
    None for a member who oversees no team; PermissionDenied, Http404), over the preset's period
    (custom: start … end) in the team's store's days, cached."""
    scope = team_scope_get(viewer=viewer, store_id=store_id, team_id=team_id)
    if scope is None:
        return None
    team = scope.team
    today = store_today(team.store)
    period = period_resolve(preset=preset, today=today, start=start, end=end)
    page = TeamPage(scope.store, team, today, preset, period, period_query(preset, period))
    if with_dashboard:
        page.dashboard = team_dashboard_cached(
            team=team, preset=preset, period=period, trend_kpi=trend_kpi, sort=sort, descending=descending
        )
    return page


@dataclass
class MemberPage:
    member: Member
    store: Store | None  # whose day and data the page follows
    preset: str
    period: Period
    dashboard: PersonalDashboardPage


def member_page_get(
    *,
    viewer: Viewer,
    member_id: int,
    preset: str = DEFAULT_PRESET,
    start: dt.date | None = None,
    end: dt.date | None = None,
    trend_kpi: str = DEFAULT_TREND_KPI,
) -> MemberPage:
    """A member's page as the viewer may see it (Http404 otherwise), over the preset's period in
    the days of the member's home store, cached."""
    member = member_seen_get(viewer=viewer, member_id=member_id)
    store = member_home_store(member=member)
    today = store_today(store)
    period = period_resolve(preset=preset, today=today, start=start, end=end)
    dashboard = member_dashboard_cached(member=member, store=store, today=today, period=period, trend_kpi=trend_kpi)
    return MemberPage(member, store, preset, period, dashboard)


@dataclass
class StoresPage:
    preset: str
    period: Period
    today: dt.date
    period_query: str
    overview: StoreOverviewPage
    store_ids: list[int]


def stores_page_get(
    *,
    viewer: Viewer,
    store_id: int | None = None,
    preset: str = DEFAULT_PRESET,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> StoresPage:
    """The store overview of the stores the viewer oversees, or of the one asked for
    (selectors.stores.stores_overseen_get: PermissionDenied, Http404), over the preset's period in
    the first store's days, cached; a store links to its team dashboard for the same period."""
    chosen = stores_overseen_get(viewer=viewer, store_id=store_id)
    today = store_today(chosen.first())
    period = period_resolve(preset=preset, today=today, start=start, end=end)
    team_url = reverse("dashboards:team")
    filters = period_query(preset, period)
    ids = list(chosen.values_list("pk", flat=True))
    overview = dashboard_cached(
        kind="stores",
        store_ids=ids,
        # Entered staff costs are not rollups: their last change is part of the key.
        key=(
            tuple(ids),
            period,
            filters,
            str(StaffCost.objects.filter(store_id__in=ids).aggregate(Max("updated_at"))),
        ),
        compute=lambda: store_overview_get(
            stores=chosen, period=period, store_link=lambda store_id: f"{team_url}?store={store_id}&{filters}"
        ),
    )
    return StoresPage(preset, period, today, filters, overview, ids)
