"""Payout statements as stored: computed lines kept, totals, approval and lock.

The lines themselves are computed in incentives/services/statement_lines.py. Draft statements
follow the data; after the manager approves, a recomputation that differs is kept as a proposed
adjustment and the lines stay; HR locks. Manual lines (incentives/services/manual_lines.py) are
rows of their own: a recomputation never touches them, and the total is always the computed
lines plus them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incentives import calc
from incentives.models import CommissionedOrder, LineKind, Statement, StatementLine, StatementState
from incentives.selectors.plans import PlanParts, plan_parts_read
from incentives.services.statement_lines import Line, MonthFigures, statement_compute
from incentives.services.statement_lines import plan_for as plan_for  # the pages' import (incentives.views)
from metrics.models import Order
from perfmgmt.common.periods import month_last
from teams.models import Member, Store
from teams.selectors.scoping import Viewer


def _line_dicts(lines: list[Line]) -> list[dict]:
    """A proposed adjustment's lines (Statement.proposed_lines): the message and, as on a stored
    line, its text in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return [
            {"kind": line.kind, "amount": str(line.amount), "message": line.explanation_message,
             "explanation": line.explanation_text}
            for line in lines
        ]  # fmt: skip


def _line_rows(statement: Statement, lines: list[Line]) -> list[StatementLine]:
    """The lines to store: each message, and its text in the site's language (for the admin and
    as the fallback of a row whose message cannot be rendered)."""
    with translation.override(settings.LANGUAGE_CODE):
        return [
            StatementLine(
                statement=statement,
                order=n,
                kind=line.kind,
                amount=line.amount,
                explanation=line.explanation_text,
                explanation_msg=line.explanation_message,
                kpi_key=line.kpi_key,
                kpi_value=line.kpi_value_text[:40],
                kpi_value_msg=line.kpi_value_message,
                order_ids=line.order_ids,
                deals=line.deals,
            )
            for n, line in enumerate(lines)
        ]


def manual_total(*, statement: Statement) -> Decimal:
    """The sum of the statement's manual lines (yuan; 0 without any)."""
    if statement.pk is None:
        return Decimal("0.00")
    return statement.manual_lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def statement_total_recount(*, statement: Statement) -> None:
    """Set the total (and a proposed adjustment's total) from the stored rows: the computed lines
    (or the proposed ones) plus the manual lines. Not saved: the caller saves."""
    manual = manual_total(statement=statement)
    computed = statement.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    statement.total = calc.money(computed + manual)
    if statement.proposed_total is not None:
        proposed = sum((Decimal(str(line.get("amount", "0"))) for line in statement.proposed_lines or []), Decimal(0))
        statement.proposed_total = calc.money(proposed + manual)


@transaction.atomic
def statement_refresh(
    *, member: Member, store: Store, month: dt.date, figures: MonthFigures | None = None, leave_locked: bool = False
) -> Statement | None:
    """Compute and store the statement. A draft takes the new lines; an approved or locked one
    keeps its lines and gets the difference as a proposed adjustment (cleared when equal);
    `leave_locked`: a locked one is returned as it is. Idempotent: the same data gives the same rows."""
    month = month.replace(day=1)
    statement = Statement.objects.select_for_update().filter(member=member, store=store, month=month).first()
    if leave_locked and statement is not None and statement.state == StatementState.LOCKED:
        return statement
    computed = statement_compute(member=member, store=store, month=month, figures=figures,
                                 plan=_locked_plan(statement))  # fmt: skip
    if computed.plan is None and statement is None:
        return None
    if statement is None:
        statement = Statement.objects.create(member=member, store=store, month=month, plan=computed.plan)
    # Manual lines are their own rows (ManualLine): only the computed lines are rewritten or
    # compared, and the total is always both.
    manual = manual_total(statement=statement)
    if statement.state == StatementState.DRAFT:
        statement.lines.all().delete()
        StatementLine.objects.bulk_create(_line_rows(statement, computed.lines))
        statement.plan, statement.total = computed.plan, computed.total + manual
        statement.proposed_total, statement.proposed_lines = None, []
    elif computed.total + manual != statement.total:
        # What the data changed: the computed lines only; the manual lines stay on both sides.
        statement.proposed_total, statement.proposed_lines = computed.total + manual, _line_dicts(computed.lines)
    else:
        statement.proposed_total, statement.proposed_lines = None, []
    statement.computed_at = timezone.now()
    statement.save()
    return statement


def _locked_plan(statement: Statement | None) -> PlanParts | None:
    """A locked statement is computed again (its proposed adjustment, the lock's commission
    orders) with the plan version it was computed with, never a later one: an edit of the plan
    changes the statements still open, not what was paid."""
    if statement is None or statement.plan is None or statement.state != StatementState.LOCKED:
        return None
    return plan_parts_read(plan=statement.plan)


def statements_refresh(*, store: Store, month: dt.date) -> list[Statement]:
    """Every member of the store's teams in the month who has a plan."""
    end = month_last(month)
    members = (
        Member.objects.filter(memberships__team__store=store, memberships__start_date__lte=end)
        .filter(Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gte=month.replace(day=1)))
        .distinct()
    )
    figures = MonthFigures(store=store, month=month.replace(day=1))  # shared by every member of the pass
    refreshed = (statement_refresh(member=m, store=store, month=month, figures=figures) for m in members)
    return [s for s in refreshed if s is not None]


def statements_follow_data(*, store: Store, month: dt.date) -> list[Statement]:
    """The store's statements of the month after the rollups of some of its days were rebuilt (an
    import, a recompute, a change of who held an account or of a member's team): a draft takes
    the new lines, an approved one gets the difference as a proposed adjustment, a locked one is
    left untouched (paid out: a later refund is clawed back on a later statement instead).

    Every statement of the month, not only those of the members whose figures moved: ranking
    awards and team PK titles compare a member with their teammates. Only statements that exist:
    making them is the nightly job's or the Recompute button's, so a month without any costs one
    query. Idempotent."""
    month = month.replace(day=1)
    statements = list(
        Statement.objects.filter(store=store, month=month)
        .exclude(state=StatementState.LOCKED)
        .select_related("member")
        .order_by("pk")
    )
    if not statements:
        return []
    figures = MonthFigures(store=store, month=month)  # shared by every member of the pass
    refreshed = (
        statement_refresh(member=s.member, store=store, month=month, figures=figures, leave_locked=True)
        for s in statements
    )
    return [s for s in refreshed if s is not None]


def statements_follow_queue(*, store_id: int, months: list[dt.date]) -> list[dt.date]:
    """Queue statements_follow_data for those of the store's months that have a statement still
    open to change (call on commit, after the rebuild); returns the months queued. Follow-ups
    (metrics.followups.services): a broker unreachable now does not lose them."""
    from metrics.followups.services import followup_record

    open_months = set(
        Statement.objects.filter(store_id=store_id, month__in=months)
        .exclude(state=StatementState.LOCKED)
        .values_list("month", flat=True)
    )
    queued = []
    for month in sorted(open_months):
        followup_record(
            task="incentives.tasks.statements_follow_data_task", args=[store_id, month.isoformat()], store_id=store_id
        )
        queued.append(month)
    return queued


def statement_approve(*, viewer: Viewer, user, statement: Statement) -> Statement:
    """The store's manager approves a draft, with its manual lines; or approves again an approved
    statement whose manual lines changed since (then HR may lock it)."""
    if not (viewer.is_admin or statement.store_id in viewer.managed_store_ids):
        raise PermissionDenied(_("The store's manager approves its statements."))
    if not (statement.state == StatementState.DRAFT or statement.awaits_reapproval):
        raise ValidationError(_("Only a draft statement can be approved, or an approved one whose manual lines "
                                "changed since."))  # fmt: skip
    statement.state, statement.approved_by, statement.approved_at = StatementState.APPROVED, user, timezone.now()
    statement.changed_after_approval_at = None
    statement.save(update_fields=["state", "approved_by", "approved_at", "changed_after_approval_at"])
    return statement


@transaction.atomic
def statement_lock(*, viewer: Viewer, user, statement: Statement) -> Statement:
    """HR locks an approved statement: its commission orders are recorded (with the refunds
    known now) and the clawbacks it books are marked, so none is taken twice."""
    if not (viewer.is_hr or viewer.is_admin):
        raise PermissionDenied(_("HR locks statements."))
    if statement.state != StatementState.APPROVED:
        raise ValidationError(_("Only an approved statement can be locked."))
    if statement.awaits_reapproval:
        raise ValidationError(_("A manual line changed after the manager approved this statement: the store's "
                                "manager approves it again before it is locked."))  # fmt: skip
    # With the version its lines were computed with (an edit after approval may have made a newer one).
    own = plan_parts_read(plan=statement.plan) if statement.plan is not None else None
    computed = statement_compute(member=statement.member, store=statement.store, month=statement.month, plan=own)
    CommissionedOrder.objects.bulk_create(
        [
            CommissionedOrder(
                statement=statement,
                order=o,
                order_ref=o.order_id,
                paid_cents=o.paid_cents,
                refund_cents=o.refund_cents,
                rate=rate.quantize(Decimal("0.000001")),
            )
            for o, rate in computed.commissioned
        ]
    )
    for line in statement.lines.filter(kind=LineKind.CLAWBACK):
        for ref in line.order_ids:
            paid = CommissionedOrder.objects.filter(
                statement__member=statement.member, order_ref=ref, statement__store=statement.store
            ).exclude(statement=statement)
            for record in paid:
                record.refund_cents = Order.objects.get(pk=record.order_id).refund_cents
                record.save(update_fields=["refund_cents"])
    statement.state, statement.locked_by, statement.locked_at = StatementState.LOCKED, user, timezone.now()
    statement.save(update_fields=["state", "locked_by", "locked_at"])
    return statement
