"""Simulating a plan on a past month: for each member of a team or a store, the statement's total
under the plan they have today and under a draft plan (the editor's unsaved form, or a saved
version), and the difference; computed by statement_compute, the statements' own code, with the
draft held in memory. Nothing is written: no statement, no line, no plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from incentives import calc
from incentives.models import Plan
from incentives.selectors.plans import PlanParts
from incentives.services.statement_lines import MonthFigures, statement_compute, team_of
from perfmgmt.common.periods import month_last
from teams.models import Member, Store, Team


@dataclass(frozen=True)
class SimulationRow:
    member: Member
    team: Team | None
    plan: Plan | None  # the member's plan of the month today (None: none)
    current: Decimal  # the total under it (0 without a plan)
    draft: Decimal  # the total under the draft

    @property
    def difference(self) -> Decimal:
        return self.draft - self.current


@dataclass(frozen=True)
class Simulation:
    month: dt.date
    store: Store
    team: Team | None
    rows: list[SimulationRow]

    @property
    def current_total(self) -> Decimal:
        return calc.money(sum((r.current for r in self.rows), Decimal(0)))

    @property
    def draft_total(self) -> Decimal:
        return calc.money(sum((r.draft for r in self.rows), Decimal(0)))

    @property
    def difference(self) -> Decimal:
        return self.draft_total - self.current_total


def simulation_members(*, store: Store, month: dt.date, team: Team | None = None) -> list[Member]:
    """The members a statement of the store's month is computed for (statements_refresh's), or
    those of one of its teams in the month, by name."""
    end = month_last(month)
    memberships = Q(memberships__start_date__lte=end) & (
        Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gte=month)
    )
    members = Member.objects.filter(memberships__team__store=store).filter(memberships)
    if team is not None:
        members = members.filter(memberships__team=team)
    return list(members.distinct().order_by("display_name", "pk"))


def plan_simulate(*, parts: PlanParts, store: Store, month: dt.date, team: Team | None = None) -> Simulation:
    """Each member's statement total of the month under today's plan and under `parts`."""
    month = month.replace(day=1)
    figures = MonthFigures(store=store, month=month)  # shared by both computations of every member
    rows = []
    for member in simulation_members(store=store, month=month, team=team):
        current = statement_compute(member=member, store=store, month=month, figures=figures)
        draft = statement_compute(member=member, store=store, month=month, figures=figures, plan=parts)
        rows.append(SimulationRow(member, team or team_of(member=member, store=store, day=month_last(month)),
                                  current.plan, current.total, draft.total))  # fmt: skip
    return Simulation(month=month, store=store, team=team, rows=rows)
