"""Monthly payout statements line by line, the manual lines managers add, and the orders
commission was paid on (for clawback).

A statement is computed from the rollups and the orders credited to the member; once a manager
approves it and HR locks it, recomputing never changes it: differences become a proposed
adjustment on it, and refunds of orders it paid commission on are clawed back on a later one.
Money is Decimal yuan (two decimals)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from incentives.models.plans import Plan
from metrics.messages import message_render
from teams.models import Member, Store


class StatementState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved by the manager")
    LOCKED = "locked", _("Locked by HR")


class Statement(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="statements")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="statements")
    month = models.DateField()  # its first day
    plan = models.ForeignKey(Plan, null=True, on_delete=models.SET_NULL, related_name="statements")
    state = models.CharField(max_length=10, choices=StatementState, default=StatementState.DRAFT)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField(null=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")  # fmt: skip
    approved_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")  # fmt: skip
    locked_at = models.DateTimeField(null=True, blank=True)
    # After approval a recomputation does not change the lines: a different result is kept here.
    proposed_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    proposed_lines = models.JSONField(default=list, blank=True)
    # A manual line was added, changed or removed after the manager approved (then): the statement
    # stays approved but the manager approves it again before HR can lock it. Empty: nothing waits.
    changed_after_approval_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "member__display_name"]
        constraints = [models.UniqueConstraint(fields=["member", "store", "month"], name="statement_one_a_month")]

    def __str__(self) -> str:
        return f"{self.member} {self.month:%Y-%m}"

    @property
    def adjustment(self):
        return None if self.proposed_total is None else self.proposed_total - self.total

    @property
    def awaits_reapproval(self) -> bool:
        """Approved, but a manual line changed since: the manager approves again before HR locks."""
        return self.state == StatementState.APPROVED and self.changed_after_approval_at is not None


class LineKind(models.TextChoices):
    BASE = "base", _("Base salary")
    PERFORMANCE = "performance", _("Performance pay")
    COMMISSION = "commission", _("Commission")
    MODIFIER = "modifier", _("KPI multiplier")
    PK = "pk", _("Team PK")
    MILESTONE = "milestone", _("Milestone bonus")
    RANKING = "ranking", _("Ranking award")
    CALLS = "calls", _("Call assessment")
    CLAWBACK = "clawback", _("Clawback")
    # Computed from the plan's recurring allowances (PlanAllowance); manual lines may share the kind.
    ALLOWANCE = "allowance", _("Allowance")


class StatementLine(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=LineKind)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    # The rule, the KPI value, the arithmetic: a message (metrics/messages.py) shown in the reader's
    # language (`explanation_text`); `explanation` keeps its text in the site's language when it was
    # computed, for the admin and as the fallback (rows older than messages have only that).
    explanation = models.TextField()
    explanation_msg = models.JSONField(default=dict, blank=True)
    kpi_key = models.CharField(max_length=40, blank=True)
    kpi_value = models.CharField(max_length=40, blank=True)  # as `explanation`: the text when computed
    kpi_value_msg = models.JSONField(default=dict, blank=True)
    order_ids = models.JSONField(default=list, blank=True)  # the platform order ids behind the line
    # The deals behind a commission on the amount won: [{"lead_id", "customer", "amount" (yuan, text)}].
    deals = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["statement", "order"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"

    @property
    def explanation_text(self) -> str:
        """The explanation in the active language."""
        return message_render(message=self.explanation_msg, fallback=self.explanation)

    @property
    def kpi_value_text(self) -> str:
        return message_render(message=self.kpi_value_msg, fallback=self.kpi_value)


def _user_name(user) -> str:
    from teams.selectors.organisation import user_display_name

    return user_display_name(user=user)


class ManualLineKind(models.TextChoices):
    """What a manual line is: its own kinds, apart from the computed lines' (LineKind), and keys
    that say "manual" wherever they travel (the export's definitions, the API, the change log), so a
    plan's recurring allowance (computed) and a one-off allowance typed by a manager never mix."""

    AWARD = "manual_award", _("Award")
    ALLOWANCE = "manual_allowance", _("One-off allowance")
    DEDUCTION = "manual_deduction", _("Deduction")
    CORRECTION = "manual_correction", _("Correction")


# The sign each kind's amount must have: +1 above zero, -1 below, 0 either (never zero itself).
MANUAL_LINE_SIGNS = {
    ManualLineKind.AWARD: 1,
    ManualLineKind.ALLOWANCE: 1,
    ManualLineKind.DEDUCTION: -1,
    ManualLineKind.CORRECTION: 0,
}


class ManualLine(models.Model):
    """A line a manager or HR adds to a statement by hand (最佳话术奖, 差旅补贴, a deduction, a
    correction), with the reason. Kept apart from the computed lines (StatementLine), so that a
    recomputation, which deletes and rewrites those, can never drop one; the statement's total is
    the computed lines plus these (incentives/services/manual_lines.py keeps it so). The title and
    the reason are shown as written, in whatever language they were typed."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="manual_lines")
    kind = models.CharField(_("kind"), max_length=20, choices=ManualLineKind)
    # Both required: clean() refuses them empty or blank-only, with one message each (blank=True
    # keeps the field's own "cannot be blank" from repeating it).
    title = models.CharField(_("title"), max_length=80, blank=True,
                             help_text=_("As it should read on the payslip, e.g. 最佳话术奖."))  # fmt: skip
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=12, decimal_places=2,
        help_text=_("Awards and allowances are positive, deductions negative, a correction either."),
    )  # fmt: skip
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("added by"))  # fmt: skip
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))  # fmt: skip
    # Set by a change only (empty: never changed since it was added).
    updated_at = models.DateTimeField(_("changed"), null=True, blank=True)

    class Meta:
        ordering = ["statement", "created_at", "pk"]
        verbose_name = _("manual statement line")
        verbose_name_plural = _("manual statement lines")

    def __str__(self) -> str:
        return f"{self.title} {self.amount}"

    def clean(self):
        errors: dict[str, list] = {}
        self.title, self.reason = (self.title or "").strip(), (self.reason or "").strip()
        if not self.title:
            errors.setdefault("title", []).append(ValidationError(_("Give the line a title, e.g. 最佳话术奖.")))
        if not self.reason:
            errors.setdefault("reason", []).append(ValidationError(_("Say why: a manual line needs a reason.")))
        sign = MANUAL_LINE_SIGNS.get(self.kind)
        try:
            # Yuan with two decimals (the field's validators refuse more): 500 is kept as 500.00.
            amount = Decimal(self.amount)
            if not amount.is_finite():
                raise ValueError(amount)
            self.amount = amount.quantize(Decimal("0.01"))
        except (TypeError, ValueError, ArithmeticError):
            sign = None  # not a number, or far too large: the field's own error says so
        if sign is not None:
            if self.amount == 0:
                errors.setdefault("amount", []).append(ValidationError(_("A manual line of ¥0 changes nothing.")))
            elif sign > 0 and self.amount < 0:
                errors.setdefault("amount", []).append(
                    ValidationError(
                        _("An award or an allowance is a positive amount; for money taken off, choose a deduction.")
                    )
                )
            elif sign < 0 and self.amount > 0:
                errors.setdefault("amount", []).append(
                    ValidationError(_("A deduction is a negative amount, e.g. -200.00."))
                )
        if errors:
            raise ValidationError(errors)

    @property
    def created_by_name(self) -> str:
        """Who added it (their full name, else their login; "—" for a deleted user)."""
        return _user_name(self.created_by)

    @property
    def updated_by_name(self) -> str:
        return _user_name(self.updated_by)

    @property
    def changed_after_approval(self) -> bool:
        """Added or changed after the statement's approval, and not approved again yet."""
        statement = self.statement
        return (
            statement.awaits_reapproval
            and statement.approved_at is not None
            and ((self.updated_at or self.created_at) > statement.approved_at)
        )


class CommissionedOrder(models.Model):
    """An order a locked statement paid commission on, with the refund known then: a later
    refund is clawed back on the member's next statement, once."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="commissioned_orders")
    order = models.ForeignKey("metrics.Order", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    order_ref = models.CharField(max_length=64)  # the platform order id, for the statement line
    paid_cents = models.BigIntegerField()
    refund_cents = models.BigIntegerField()  # known at payment; clawbacks raise it as they are booked
    rate = models.DecimalField(max_digits=8, decimal_places=6)  # the effective commission rate paid

    class Meta:
        constraints = [models.UniqueConstraint(fields=["statement", "order"], name="commissioned_once")]

    def __str__(self) -> str:
        return self.order_ref
