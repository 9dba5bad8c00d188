"""The dashboards as the pages show them: canonical links and the cache, shared by the views,
the API and the task that warms the cache after each import (metrics.dashboards.services).

A page's content depends only on the arguments here (never on the raw query string), so the
warm-up task and a request compute the same cache key."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Max, Q
from django.urls import reverse

from metrics.dashboards.selectors import (
    DEFAULT_SORT,
    DEFAULT_TREND_KPI,
    PersonalDashboard,
    TeamDashboard,
    family_default_kpi,
    family_kpis,
    member_dashboard_get,
    member_team_on,
    team_dashboard_get,
    team_families,
)
from metrics.kpis.cache import dashboard_cached
from metrics.models import BehaviourRecord, CampaignPhase, Target
from metrics.registry import KPI_BY_KEY
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Store, Team


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
) -> TeamDashboard:
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
) -> PersonalDashboard:
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


def member_home_store(member: Member) -> Store | None:
    """The store whose day and data a member's page follows: that of their first team."""
    return Store.objects.filter(teams__memberships__member=member).order_by("pk").first()
