"""Which KPI families a team's pages show (metrics.registry.Family): decided by the team's kind,
read by the dashboards, the trend's KPI choices and the targets' decomposition."""

from __future__ import annotations

from django.db.models import Q

from metrics.models import MemberDay
from metrics.registry import Family, Kpi, Level, kpis_for
from teams.models import Team, TeamKind

SERVICE_FAMILIES: tuple[str, ...] = (Family.SERVICE,)  # what a team of no sales kind shows


def team_families(*, team: Team | None) -> tuple[str, ...]:
    """The KPI families a team's pages show, first the main one: service teams (pre-sales,
    after-sales, operations) their chats and orders; telesales calls and pipeline; online sales
    the pipeline, and calls too once any member-day of the team has a call."""
    if team is None:
        return SERVICE_FAMILIES
    if team.kind == TeamKind.TELESALES:
        return (Family.CALLS, Family.PIPELINE)
    if team.kind == TeamKind.ONLINE_SALES:
        has_calls = MemberDay.objects.filter(Q(dials__gt=0) | Q(inbound_calls__gt=0), team=team).exists()
        return (Family.PIPELINE, Family.CALLS) if has_calls else (Family.PIPELINE,)
    return SERVICE_FAMILIES


def family_kpis(*, families: tuple[str, ...], level: str = Level.MEMBER) -> list[Kpi]:
    """The KPIs of the families at a level, family by family in the order given (registry order
    within a family)."""
    return [kpi for family in families for kpi in kpis_for(level, families=(family,))]


def kpi_choices(level: str = Level.TEAM, *, families: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """The dashboards' trend choices: the KPIs of the families (all KPIs of the level when None),
    family by family. (The target, plan and template editors list their own choices.)"""
    kpis = kpis_for(level) if families is None else family_kpis(families=families, level=level)
    return [(k.key, k.label) for k in kpis]
