"""The personal page: a member's own KPIs for today, this week and this month against their
team's median and their rank in it, their trend, alerts, targets and (sales staff) their own
pipeline and calls. Nothing here names another member."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from metrics.dashboards.selectors.team import (
    ALERT_WINDOW_DAYS,
    DEFAULT_TREND_KPI,
    FAMILY_PERSONAL,
    AlertRow,
    Band,
    SalesFigures,
    alert_row,
    family_default_kpi,
    family_keys,
    promotion_bands_get,
    sales_figures_get,
    values_median,
)
from metrics.kpis.analytics import alerts_from_rows, response_shares
from metrics.kpis.families import SERVICE_FAMILIES, family_kpis, team_families
from metrics.kpis.ranking import ranked_count, ranks
from metrics.kpis.selectors import kpi_table, member_rows_load
from metrics.registry import Family, Kpi, Level, kpi_get
from metrics.targets.progress import TargetRow, member_targets_get
from perfmgmt.common.periods import Period
from teams.models import Member, Store, Team, TeamMembership
from teams.selectors import history
from teams.selectors.scoping import Viewer, member_list


@dataclass(frozen=True)
class PersonalCell:
    value: object
    team_median: float | None
    rank: int | None
    ranked: int  # members ranked (see `ranks`), the rank's denominator


@dataclass
class PersonalDashboard:
    member: Member
    team: Team | None
    today: dt.date
    spans: list[tuple[str, Period]]  # (label, period): today, this week, this month
    kpis: list[Kpi]
    cells: dict[str, list[PersonalCell]]  # kpi key → one cell per span
    period: Period
    trend_kpi: Kpi
    trend_days: list[dt.date]
    trend_values: list  # the member's value of each day (None: no value)
    trend_medians: list  # the team's median of each day
    response: dict[str, float | None]
    alerts: list[AlertRow]
    has_data: bool
    targets: list[TargetRow] = field(default_factory=list)  # the member's own, of today and this week
    bands: list[Band] = field(default_factory=list)  # promotion phases in the period
    families: tuple[str, ...] = SERVICE_FAMILIES  # those of the member's team (team_families)
    sales: SalesFigures | None = None  # sales staff: their own pipeline and calls figures

    @property
    def is_service(self) -> bool:
        return Family.SERVICE in self.families


def member_team_on(*, member: Member, day: dt.date) -> Team | None:
    """The member's team on `day` (the one rule of teams.selectors.history), else their latest team."""
    on_day = history.member_team_on(member_id=member.pk, day=day)
    if on_day:
        return on_day
    latest = (
        TeamMembership.objects.filter(member=member)
        .select_related("team__store")
        .order_by("-start_date", "-id")
        .first()
    )
    return latest.team if latest else None


def member_dashboard_get(
    *, member: Member, today: dt.date, period: Period, trend_kpi: str = DEFAULT_TREND_KPI
) -> PersonalDashboard:
    """The member's own KPIs for today, this week and this month against the team median and
    their rank in the team, and a trend over `period` with the team median. Nothing here names
    another member: the team figures are medians and a count."""
    team = member_team_on(member=member, day=today)
    spans = [
        (str(_("Today")), Period(today, today)),
        (str(_("This week")), Period(today - dt.timedelta(days=today.weekday()), today)),
        (str(_("This month")), Period(today.replace(day=1), today)),
    ]
    families = team_families(team=team)
    member_kpis = {k.key: k for k in family_kpis(families=families, level=Level.MEMBER)}
    trend = member_kpis.get(trend_kpi) or member_kpis[family_default_kpi(families=families)]
    kpis = [kpi_get(key) for key in family_keys(FAMILY_PERSONAL, families)]
    first = min(period.start, spans[-1][1].start, period.end - dt.timedelta(days=ALERT_WINDOW_DAYS - 1))
    last = max(period.end, today)
    if team is not None:
        rows = member_rows_load(start=first, end=last, store_ids=[team.store_id], team_ids=[team.pk])
    else:
        rows = member_rows_load(start=first, end=last, store_ids=None, member_ids=[member.pk])
    cells: dict[str, list[PersonalCell]] = {k.key: [] for k in kpis}
    for _label, span in spans:
        table = kpi_table(level=Level.MEMBER, grain="range", start=span.start, end=span.end, rows=rows)
        by_member = {int(r["entity_id"]): r for r in table.to_dict("records")}
        mine = by_member.get(member.pk, {})
        for kpi in kpis:
            values = {m: r[kpi.key] for m, r in by_member.items()}
            member_ranks = ranks(values, kpi)
            cells[kpi.key].append(
                PersonalCell(
                    value=mine.get(kpi.key),
                    team_median=values_median(values.values()),
                    rank=member_ranks.get(member.pk),
                    ranked=ranked_count(member_ranks),
                )
            )
    days = kpi_table(level=Level.MEMBER, grain="day", start=period.start, end=period.end, rows=rows, only=[trend.key])
    dates = period.dates()
    own = days.loc[days["entity_id"] == member.pk].set_index("period_start")[trend.key] if len(days) else {}
    medians = days.groupby("period_start")[trend.key].agg(lambda s: values_median(s.tolist())) if len(days) else {}
    bands = promotion_bands_get(store_id=team.store_id if team else None, start=period.start, end=period.end)
    mine_days = rows.between(period.start, period.end).of_member(member.pk).days
    service = Family.SERVICE in families
    response = response_shares(mine_days) if service else {}
    alerts = []
    if service:
        own_rows = rows.of_member(member.pk)
        names = {member.pk: member.display_name}
        alerts = [
            alert_row(alert, names)
            for alert in alerts_from_rows(own_rows.days, own_rows.buyers, as_of=min(period.end, today))
        ]
    # Sales staff: their own leads and calls only (member_id), never the team's.
    sales = (
        sales_figures_get(families=families, store=team.store, period=period, as_of=today, member_id=member.pk)
        if team is not None and not service
        else None
    )
    return PersonalDashboard(
        member=member,
        team=team,
        today=today,
        spans=spans,
        kpis=kpis,
        cells=cells,
        period=period,
        trend_kpi=trend,
        trend_days=dates,
        trend_values=[own.get(d) if len(own) else None for d in dates],
        trend_medians=[medians.get(d) if len(medians) else None for d in dates],
        response=response,
        alerts=alerts,
        has_data=not mine_days.empty or any(c.value for cs in cells.values() for c in cs) or bool(sales and sales.any),
        targets=member_targets_get(member=member, today=today),
        bands=bands,
        families=families,
        sales=sales,
    )


def member_seen_get(*, viewer: Viewer, member_id: int) -> Member:
    """A member whose page the viewer may see; Http404 for one they may not see or that does not
    exist (the same answer: no probing of other people's ids)."""
    member = member_list(viewer=viewer).filter(pk=member_id).first()
    if member is None:
        raise Http404(gettext("No such member."))
    return member


def member_home_store(*, member: Member) -> Store | None:
    """The store whose day and data a member's page follows: that of their first team."""
    return Store.objects.filter(teams__memberships__member=member).order_by("pk").first()


def store_team_members_get(*, store: Store, day: dt.date) -> tuple[list[Team], list[Member]]:
    """The store's teams, and the members in any of them on the day (the pages the cache's
    warm-up computes: metrics.dashboards.warmup)."""
    teams = list(Team.objects.filter(store=store).select_related("store"))
    in_team_on_day = Q(memberships__team__in=teams, memberships__start_date__lte=day) & (
        Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gte=day)
    )
    return teams, list(Member.objects.filter(in_team_on_day).distinct())
