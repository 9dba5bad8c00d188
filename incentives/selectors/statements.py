"""Reading payout statements and incentive plans: who may see which, and what they may do to them.

Rules (the services check the writes again):
- HR and admins: every statement and plan; HR locks approved statements;
- managers: the statements and plans of the stores they manage; they approve drafts (and approved
  statements whose manual lines changed since) and recompute; with HR and admins they add, change
  and remove manual lines until HR locks;
- team leads: the statements of the members who belong or belonged to their teams (in that store);
- staff: their own statements only, and the plans that apply to them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext

from incentives.models import LineKind, ManualLine, Plan, PlanAssignment, Statement, StatementState
from metrics.messages import message_render
from perfmgmt.common.periods import month_last
from teams.models import Store, Team, TeamMembership
from teams.selectors.scoping import Viewer, member_list, team_list

MANUAL = "manual"  # the proposed adjustment's row of the manual lines (no LineKind)


# --- who may do what ----------------------------------------------------------------------------


def viewer_oversees_pay(*, viewer: Viewer) -> bool:
    """Whether the viewer sees other members' statements (the month's list) rather than only their own."""
    return viewer.sees_everything or viewer.is_manager or viewer.is_team_lead


def viewer_can_approve(*, viewer: Viewer, statement: Statement) -> bool:
    """A draft, or an approved statement whose manual lines changed since: the store's manager."""
    return (statement.state == StatementState.DRAFT or statement.awaits_reapproval) and (
        viewer.is_admin or statement.store_id in viewer.managed_store_ids
    )


def viewer_can_lock(*, viewer: Viewer, statement: Statement) -> bool:
    return (
        statement.state == StatementState.APPROVED
        and not statement.awaits_reapproval
        and (viewer.is_hr or viewer.is_admin)
    )


def viewer_manages_store_pay(*, viewer: Viewer, store_id: int) -> bool:
    """The store's managers, HR and admins: they recompute its statements and add manual lines."""
    return viewer.is_admin or viewer.is_hr or store_id in viewer.managed_store_ids


def viewer_can_recompute(*, viewer: Viewer, store: Store | None) -> bool:
    """Recomputing a store's statements: its managers, HR and admins."""
    if store is None:
        return False
    return viewer_manages_store_pay(viewer=viewer, store_id=store.pk)


def viewer_can_edit_manual_lines(*, viewer: Viewer, statement: Statement) -> bool:
    """Adding, changing or removing a statement's manual lines: the store's managers, HR and
    admins, until HR locks it (a draft, or an approved one, which the manager then approves again)."""
    return statement.state != StatementState.LOCKED and viewer_manages_store_pay(
        viewer=viewer, store_id=statement.store_id
    )


def pay_stores(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores whose statements the viewer oversees (for the filters)."""
    stores = Store.objects.order_by("name")
    if viewer.sees_everything:
        return stores
    return stores.filter(Q(pk__in=viewer.managed_store_ids) | Q(teams__in=viewer.led_team_ids)).distinct()


def pay_teams(*, viewer: Viewer, store: Store | None = None) -> QuerySet[Team]:
    teams = Team.objects.select_related("store").order_by("store__name", "name")
    if not viewer.sees_everything:
        teams = teams.filter(Q(store_id__in=viewer.managed_store_ids) | Q(pk__in=viewer.led_team_ids))
    if store is not None:
        teams = teams.filter(store=store)
    return teams


# --- statements ---------------------------------------------------------------------------------


def statement_list(
    *,
    viewer: Viewer,
    month: dt.date | None = None,
    store: Store | None = None,
    team: Team | None = None,
    state: str | None = None,
) -> QuerySet[Statement]:
    """The statements the viewer may open, optionally of one month, store, team (its members in
    that month) and state."""
    statements = Statement.objects.select_related("member", "store", "plan", "approved_by", "locked_by")
    if not viewer.is_authenticated:
        return statements.none()
    if not viewer.sees_everything:
        q = Q(store_id__in=viewer.managed_store_ids)
        if viewer.led_team_ids:
            led = TeamMembership.objects.filter(
                team_id__in=viewer.led_team_ids, team__store_id=OuterRef("store_id"), member_id=OuterRef("member_id")
            )
            q |= Exists(led)
        if viewer.member_id:
            q |= Q(member_id=viewer.member_id)
        statements = statements.filter(q)
    if month is not None:
        statements = statements.filter(month=month.replace(day=1))
    if store is not None:
        statements = statements.filter(store=store)
    if team is not None:
        on_team = TeamMembership.objects.filter(team=team, member_id=OuterRef("member_id"))
        if month is not None:
            on_team = on_team.filter(start_date__lte=month_last(month)).filter(
                Q(end_date__isnull=True) | Q(end_date__gte=month.replace(day=1))
            )
        statements = statements.filter(Exists(on_team), store_id=team.store_id)
    if state:
        statements = statements.filter(state=state)
    return statements


@dataclass(frozen=True)
class StatementSummary:
    count: int
    drafts: int
    approved: int
    locked: int
    total: Decimal  # manual lines included
    adjustments: int  # statements with a proposed adjustment waiting
    reapprovals: int = 0  # approved statements whose manual lines changed since: the manager approves again
    manual_total: Decimal = Decimal(0)  # the part of `total` from manual lines

    @property
    def open(self) -> int:
        return self.drafts + self.approved


def statement_summary(*, statements: QuerySet[Statement]) -> StatementSummary:
    row = statements.order_by().aggregate(
        count=Count("id"),
        drafts=Count("id", filter=Q(state=StatementState.DRAFT)),
        approved=Count("id", filter=Q(state=StatementState.APPROVED)),
        locked=Count("id", filter=Q(state=StatementState.LOCKED)),
        total=Sum("total"),
        adjustments=Count("id", filter=Q(proposed_total__isnull=False)),
        reapprovals=Count("id", filter=Q(state=StatementState.APPROVED, changed_after_approval_at__isnull=False)),
    )
    # Apart: joined to the statements' aggregate, the lines would count each total once per line.
    manual = ManualLine.objects.filter(statement__in=statements.order_by().values("pk")).aggregate(total=Sum("amount"))
    return StatementSummary(
        count=row["count"],
        drafts=row["drafts"],
        approved=row["approved"],
        locked=row["locked"],
        total=row["total"] or Decimal(0),
        adjustments=row["adjustments"],
        reapprovals=row["reapprovals"],
        manual_total=manual["total"] or Decimal(0),
    )


def statement_manual_sums(*, statements: list[Statement]) -> dict[int, Decimal]:
    """Statement id → the sum of its manual lines, for those that have any (one query)."""
    rows = (
        ManualLine.objects.filter(statement__in=statements)
        .values("statement_id")
        .annotate(total=Sum("amount"))
        .values_list("statement_id", "total")
    )
    return dict(rows)


def statement_manual_lines(*, statement: Statement) -> list[ManualLine]:
    """The statement's manual lines in the order they were added, with who added and changed them."""
    return list(statement.manual_lines.select_related("created_by", "updated_by", "statement"))


def statement_teams(*, statements: list[Statement]) -> dict[int, str]:
    """Statement id → the name(s) of the member's team(s) in that store and month, for the list."""
    if not statements:
        return {}
    months = {s.month for s in statements}
    memberships = TeamMembership.objects.filter(
        member_id__in={s.member_id for s in statements},
        team__store_id__in={s.store_id for s in statements},
        start_date__lte=month_last(max(months)),
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=min(months)))
    names: dict[int, list[str]] = {}
    rows = list(memberships.values("member_id", "team__store_id", "team__name", "start_date", "end_date"))
    for statement in statements:
        end = month_last(statement.month)
        names[statement.pk] = sorted(
            {
                r["team__name"]
                for r in rows
                if r["member_id"] == statement.member_id
                and r["team__store_id"] == statement.store_id
                and r["start_date"] <= end
                and (r["end_date"] is None or r["end_date"] >= statement.month)
            }
        )
    return {pk: ", ".join(team_names) for pk, team_names in names.items()}


@dataclass(frozen=True)
class AdjustmentRow:
    kind: str
    label: str
    kept: Decimal
    proposed: Decimal

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.kept


@dataclass(frozen=True)
class Adjustment:
    """A recomputation after approval that differs: the kept lines, the new ones, by kind."""

    kept_total: Decimal
    proposed_total: Decimal
    rows: list[AdjustmentRow]
    new_lines: list[dict]  # {"kind", "label", "amount", "explanation" (in the active language), "message"}

    @property
    def difference(self) -> Decimal:
        return self.proposed_total - self.kept_total


def statement_adjustment(*, statement: Statement) -> Adjustment | None:
    if statement.proposed_total is None:
        return None
    kept: dict[str, Decimal] = defaultdict(Decimal)
    for line in statement.lines.all():
        kept[line.kind] += line.amount
    proposed: dict[str, Decimal] = defaultdict(Decimal)
    new_lines = []
    for line in statement.proposed_lines or []:
        amount = Decimal(str(line.get("amount", "0")))
        proposed[line.get("kind", "")] += amount
        kind = line.get("kind", "")
        explanation = message_render(message=line.get("message"), fallback=line.get("explanation", ""))
        new_lines.append({**line, "amount": amount, "label": _kind_label(kind), "explanation": explanation})
    order = [k for k in LineKind.values if k in kept or k in proposed]
    order += [k for k in {*kept, *proposed} if k not in order]
    rows = [AdjustmentRow(k, _kind_label(k), kept.get(k, Decimal(0)), proposed.get(k, Decimal(0))) for k in order]
    manual = statement.manual_lines.aggregate(total=Sum("amount"))["total"]
    if manual is not None:
        # Not what the data changed: the same on both sides, so the rows add up to the totals.
        rows.append(AdjustmentRow(MANUAL, gettext("Manual lines"), manual, manual))
    return Adjustment(statement.total, statement.proposed_total, rows, new_lines)


def _kind_label(kind: str) -> str:
    return str(LineKind(kind).label) if kind in LineKind.values else kind


def statement_member_list(*, member_id: int) -> QuerySet[Statement]:
    """One member's statements, newest first."""
    return Statement.objects.filter(member_id=member_id).select_related("store", "plan").order_by("-month", "store")


# --- plans --------------------------------------------------------------------------------------


def plan_list(*, viewer: Viewer) -> QuerySet[Plan]:
    """Plans the viewer may read: HR and admins all; managers those of their stores (and the
    plans for any store); leads and staff the plans assigned to the members and teams they see;
    everyone the plan versions of the statements they may open (a locked statement shows the
    version it was computed with, retired or not)."""
    plans = Plan.objects.select_related("store").prefetch_related(
        "tiers",
        "modifiers",
        "milestones",
        "ranking_awards",
        "allowances",
        Prefetch(
            "assignments",
            queryset=PlanAssignment.objects.select_related("member", "team__store").order_by("-start_date"),
        ),
    )
    if viewer.sees_everything:
        return plans
    if not viewer.is_authenticated:
        return plans.none()
    q = Q(pk__in=PlanAssignment.objects.filter(
        Q(member__in=member_list(viewer=viewer)) | Q(team__in=team_list(viewer=viewer))
    ).values("plan_id"))  # fmt: skip
    q |= Q(pk__in=statement_list(viewer=viewer).exclude(plan__isnull=True).values("plan_id"))
    if viewer.managed_store_ids:
        q |= Q(store_id__in=viewer.managed_store_ids) | Q(store__isnull=True)
    return plans.filter(q)


def plan_assignments_visible(*, viewer: Viewer, plans: list[Plan]) -> dict[int, list[PlanAssignment]]:
    """Plan id → its assignments to members and teams the viewer sees (all of them for HR and admins)."""
    if viewer.sees_everything:
        return {plan.pk: list(plan.assignments.all()) for plan in plans}
    member_ids = set(member_list(viewer=viewer).values_list("id", flat=True))
    team_ids = set(team_list(viewer=viewer).values_list("id", flat=True))
    return {
        plan.pk: [a for a in plan.assignments.all() if a.member_id in member_ids or a.team_id in team_ids]
        for plan in plans
    }
