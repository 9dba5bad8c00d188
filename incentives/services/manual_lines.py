"""Manual statement lines: an award (最佳话术奖, 最佳新人奖, 团队协作奖), a one-off allowance (差旅补贴),
a deduction or a correction that the store's manager or HR adds to a member's statement by hand,
with the reason.

Rules (docs/incentives.md, "Manual lines"):
- who: the statement's store's managers, HR and admins (viewer_manages_store_pay); never staff or
  team leads;
- when: on a draft or an approved statement; a locked one refuses every change (it was paid);
- the same approval as the statement: on a draft, a line waits for the manager's approval of the
  statement; on an approved statement, adding, changing or removing a line keeps it approved but
  marks it `changed_after_approval_at`: the manager approves it again (statement_approve) before
  HR can lock it (statement_lock refuses until then);
- signs: awards and allowances above zero, deductions below, a correction either way, never zero
  (ManualLine.clean); a title and a reason always;
- the total is the computed lines plus the manual ones (statement_total_recount); a recomputation
  rewrites only the computed lines, and its proposed adjustment leaves the manual lines out of what
  the data changed;
- every add, change and removal is in the change log (area statements), with its reason, in the
  change's transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incentives.models import ManualLine, Statement, StatementState
from incentives.selectors.statements import viewer_manages_store_pay
from incentives.services.statements import statement_total_recount
from teams.models import ChangeArea
from teams.selectors.scoping import Viewer
from teams.services.changes import change_record, fields_snapshot

MANUAL_LINE_FIELDS = ("kind", "title", "amount", "reason")


def _statement_locked_for_change(*, viewer: Viewer, statement: Statement) -> Statement:
    """The statement, row-locked for the change, once the viewer may change its manual lines."""
    if not viewer_manages_store_pay(viewer=viewer, store_id=statement.store_id):
        raise PermissionDenied(_("The store's managers and HR add manual lines to its statements."))
    statement = Statement.objects.select_for_update().select_related("member", "store").get(pk=statement.pk)
    if statement.state == StatementState.LOCKED:
        raise ValidationError(
            _("This statement is locked for payout: its lines no longer change. Put the correction on a later "
              "month's statement.")
        )  # fmt: skip
    return statement


def _label(line: ManualLine) -> str:
    """How the change log names the line: the member, the month, the title as written."""
    statement = line.statement
    return f"{statement.member.display_name} · {statement.month:%Y-%m} · {line.title}"


def _after_change(*, statement: Statement) -> None:
    """The statement's total again; an approved one now awaits the manager's approval again."""
    statement_total_recount(statement=statement)
    if statement.state == StatementState.APPROVED:
        statement.changed_after_approval_at = timezone.now()
    statement.save(update_fields=["total", "proposed_total", "changed_after_approval_at"])


def _required_reason(reason: str, field: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: [_("Say why: every change to a manual line needs a reason.")]})
    return reason


@transaction.atomic
def manual_line_create(
    *, viewer: Viewer, user, statement: Statement, kind: str, title: str, amount: Decimal, reason: str
) -> ManualLine:
    """Add a manual line to a draft or approved statement. The line's reason is the change's."""
    statement = _statement_locked_for_change(viewer=viewer, statement=statement)
    line = ManualLine(statement=statement, kind=kind, title=title, amount=amount, reason=reason, created_by=user)
    line.full_clean(exclude=["statement", "created_by", "updated_by"])
    line.save()
    _after_change(statement=statement)
    after = fields_snapshot(instance=line, fields=MANUAL_LINE_FIELDS)
    change_record(actor=user, area=ChangeArea.STATEMENTS, target=line, after=after, reason=line.reason,
                  store=statement.store, label=_label(line))  # fmt: skip
    return line


@transaction.atomic
def manual_line_update(
    *,
    viewer: Viewer,
    user,
    line: ManualLine,
    kind: str,
    title: str,
    amount: Decimal,
    reason: str,
    change_reason: str,
) -> ManualLine:
    """Change a manual line (its kind, title, amount or reason), saying why in `change_reason`.
    Nothing different: nothing is saved or recorded, and an approved statement stays as it is."""
    statement = _statement_locked_for_change(viewer=viewer, statement=line.statement)
    line = ManualLine.objects.select_for_update().get(pk=line.pk, statement=statement)
    line.statement = statement
    before = fields_snapshot(instance=line, fields=MANUAL_LINE_FIELDS)
    line.kind, line.title, line.amount, line.reason = kind, title, amount, reason
    errors: dict[str, list] = {}
    try:
        line.full_clean(exclude=["statement", "created_by", "updated_by"])
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        change_reason = _required_reason(change_reason, "change_reason")
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    after = fields_snapshot(instance=line, fields=MANUAL_LINE_FIELDS)
    if after == before:
        return line
    line.updated_by, line.updated_at = user, timezone.now()
    line.save()
    _after_change(statement=statement)
    change_record(actor=user, area=ChangeArea.STATEMENTS, target=line, before=before, after=after,
                  reason=change_reason, store=statement.store, label=_label(line))  # fmt: skip
    return line


@transaction.atomic
def manual_line_delete(*, viewer: Viewer, user, line: ManualLine, reason: str) -> None:
    """Remove a manual line, saying why."""
    statement = _statement_locked_for_change(viewer=viewer, statement=line.statement)
    reason = _required_reason(reason, "reason")
    line = ManualLine.objects.select_for_update().get(pk=line.pk, statement=statement)
    line.statement = statement
    # Recorded first: a deleted row has no id any more.
    before = fields_snapshot(instance=line, fields=MANUAL_LINE_FIELDS)
    change_record(actor=user, area=ChangeArea.STATEMENTS, target=line, before=before, reason=reason,
                  store=statement.store, label=_label(line))  # fmt: skip
    line.delete()
    _after_change(statement=statement)
