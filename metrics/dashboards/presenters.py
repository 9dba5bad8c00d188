"""The dashboards' figures: the selectors' data drawn as plotly figures (metrics.dashboards.figures)
with the links a click follows. Presentation: the pages (metrics.dashboards.pages) cache what
these return, so a cached page carries its figures, drawn once in the language of its key.

Each page class adds the figures to the data class it draws (the same fields, plus the figures),
so a template reads one object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from django.utils.translation import gettext as _

from metrics.dashboards import figures
from metrics.dashboards.selectors import member as member_selectors
from metrics.dashboards.selectors import stores as stores_selectors
from metrics.dashboards.selectors import team as team_selectors
from metrics.dashboards.selectors.member import PersonalDashboard
from metrics.dashboards.selectors.stores import StoreOverview
from metrics.dashboards.selectors.team import (
    DEFAULT_SORT,
    DEFAULT_TREND_KPI,
    SalesFigures,
    TeamDashboard,
    values_median,
)
from metrics.kpis.analytics import HEATMAP_MIN_INQUIRIES
from metrics.pipeline.reports import AGE_BUCKETS
from perfmgmt.common.periods import Period
from teams.models import Member, Team


def _extended(cls, data, **more):
    """`data` (a dataclass) as its subclass `cls`, with the fields in `more` filled in."""
    return cls(**{**{f.name: getattr(data, f.name) for f in fields(data)}, **more})


@dataclass
class SalesFiguresPage(SalesFigures):
    funnel_figure: dict = field(default_factory=dict)
    ageing_figure: dict = field(default_factory=dict)
    calls_figure: dict = field(default_factory=dict)

    @property
    def funnel_is_log(self) -> bool:
        return figures.funnel_is_log(self.funnel_figure)


@dataclass
class TeamDashboardPage(TeamDashboard):
    trend: dict = field(default_factory=dict)
    funnel: dict = field(default_factory=dict)  # the store funnel (service teams)
    scatter: dict = field(default_factory=dict)  # volume vs price (service teams)
    heatmap: dict = field(default_factory=dict)  # when chats convert (service teams)
    response_figure: dict = field(default_factory=dict)

    @property
    def funnel_is_log(self) -> bool:
        return figures.funnel_is_log(self.funnel)


@dataclass
class PersonalDashboardPage(PersonalDashboard):
    trend: dict = field(default_factory=dict)
    response_figure: dict = field(default_factory=dict)


@dataclass
class StoreOverviewPage(StoreOverview):
    figure: dict = field(default_factory=dict)


def _stuck_position(days: int) -> float:
    """Where `days` falls on the ageing chart's category axis (bucket i at x = i): after the
    bucket it ends, or inside the bucket that holds it."""
    for index, (low, high) in enumerate(AGE_BUCKETS):
        if high is None or days <= high:
            if days < low:
                return index - 0.5
            width = (high - low + 1) if high is not None else 1
            return index - 0.5 + min((days - low + 1) / width, 1.0)
    return len(AGE_BUCKETS) - 0.5


def sales_present(sales: SalesFigures | None) -> SalesFiguresPage | None:
    """The pipeline funnel, the stage ageing and the calls by hour, drawn where the page has them."""
    if sales is None:
        return None
    more: dict = {}
    if sales.funnel is not None:
        more["funnel_figure"] = figures.funnel_figure(steps=[(step.label, step.count) for step in sales.funnel])
    if sales.ageing is not None:
        ageing = sales.ageing
        more["ageing_figure"] = figures.ageing_figure(
            stages=ageing.stages,
            buckets=ageing.buckets,
            counts=ageing.counts,
            stuck_position=_stuck_position(ageing.stuck_days),
            stuck_label=str(_("Stuck after %(days)s days in negotiation") % {"days": ageing.stuck_days}),
        )
    if sales.calls is not None:
        more["calls_figure"] = figures.calls_hour_figure(
            hours=[row.hour for row in sales.calls],
            dials=[row.dials for row in sales.calls],
            connected=[row.connected for row in sales.calls],
            rates=[row.rate for row in sales.calls],
        )
    return _extended(SalesFiguresPage, sales, **more)


def team_dashboard_present(
    dashboard: TeamDashboard, *, member_link: Callable[[int], str], day_link: Callable[[dt.date], str]
) -> TeamDashboardPage:
    """The team dashboard with its figures: the trend (a click opens the day), and for service
    teams the store funnel, volume vs price (a click opens the member), the conversion heatmap and
    the first response."""
    d = dashboard
    more: dict = {
        "trend": figures.trend_figure(
            kpi=d.trend_kpi,
            days=d.trend_days,
            values=d.trend_values,
            links=[day_link(day) for day in d.trend_days],
            targets=d.trend_targets,
            target_label=d.trend_target_label,
            bands=d.bands,
        ),
        "sales": sales_present(d.sales),
    }
    if d.is_service:
        scatter_rows = [row for row in d.leaderboard if row.values["paid_orders"]]
        more["scatter"] = figures.scatter_figure(
            names=[row.name for row in scatter_rows],
            paid_orders=[int(row.values["paid_orders"]) for row in scatter_rows],
            aov=[row.values["aov"] for row in scatter_rows],
            links=[member_link(row.member_id) for row in scatter_rows],
            median_orders=values_median(row.values["paid_orders"] for row in scatter_rows),
            median_aov=values_median(row.values["aov"] for row in scatter_rows),
        )
        more["funnel"] = figures.funnel_figure(steps=d.funnel_steps)
        rates, inquiring = d.conversion
        more["heatmap"] = figures.heatmap_figure(grid=rates, inquiring=inquiring, minimum=HEATMAP_MIN_INQUIRIES)
        more["response_figure"] = figures.response_figure(shares=d.response)
    return _extended(TeamDashboardPage, d, **more)


def member_dashboard_present(
    dashboard: PersonalDashboard, *, day_link: Callable[[dt.date], str]
) -> PersonalDashboardPage:
    """The personal page with its figures: the trend against the team median (a click opens the
    day) and, for service staff, the first response."""
    d = dashboard
    trend = figures.trend_figure(
        kpi=d.trend_kpi,
        days=d.trend_days,
        values=d.trend_values,
        medians=d.trend_medians,
        links=[day_link(day) for day in d.trend_days],
        bands=d.bands,
    )
    response = figures.response_figure(shares=d.response) if d.is_service else {}
    return _extended(PersonalDashboardPage, d, trend=trend, response_figure=response, sales=sales_present(d.sales))


def store_overview_present(overview: StoreOverview, *, store_link: Callable[[int], str]) -> StoreOverviewPage:
    """The store overview with GMV beside staff per store (a click opens the store's teams)."""
    rows = overview.rows
    figure = figures.stores_figure(
        names=[r.store.name for r in rows],
        gmv=[r.gmv for r in rows],
        staff=[r.staff for r in rows],
        links=[store_link(r.store.pk) for r in rows],
    )
    return _extended(StoreOverviewPage, overview, figure=figure)


# The selectors' reads drawn at once: what the pages cache (metrics.dashboards.pages).


def team_dashboard_get(
    *,
    team: Team,
    period: Period,
    trend_kpi: str = DEFAULT_TREND_KPI,
    sort: str = DEFAULT_SORT,
    descending: bool | None = None,
    member_link: Callable[[int], str],
    day_link: Callable[[dt.date], str],
    today: dt.date | None = None,
) -> TeamDashboardPage:
    """The team dashboard (metrics.dashboards.selectors.team.team_dashboard_get) with its figures."""
    dashboard = team_selectors.team_dashboard_get(
        team=team, period=period, trend_kpi=trend_kpi, sort=sort, descending=descending, today=today
    )
    return team_dashboard_present(dashboard, member_link=member_link, day_link=day_link)


def member_dashboard_get(
    *,
    member: Member,
    today: dt.date,
    period: Period,
    trend_kpi: str = DEFAULT_TREND_KPI,
    day_link: Callable[[dt.date], str],
) -> PersonalDashboardPage:
    """The personal page (metrics.dashboards.selectors.member.member_dashboard_get) with its figures."""
    dashboard = member_selectors.member_dashboard_get(member=member, today=today, period=period, trend_kpi=trend_kpi)
    return member_dashboard_present(dashboard, day_link=day_link)


def store_overview_get(*, stores, period: Period, store_link: Callable[[int], str]) -> StoreOverviewPage:
    """The store overview (metrics.dashboards.selectors.stores.store_overview_get) with its figure."""
    overview = stores_selectors.store_overview_get(stores=stores, period=period)
    return store_overview_present(overview, store_link=store_link)
