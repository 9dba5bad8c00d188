"""Incentive plans, their assignment to members, monthly payout statements line by line, the
orders commission was paid on (for clawback), and badges.

Money is Decimal yuan in plans and statements (two decimals; rates as fractions, 0.015 = 1.5%).
A statement is computed from the rollups and the orders credited to the member; once a manager
approves it and HR locks it, recomputing never changes it: differences become a proposed
adjustment on it, and refunds of orders it paid commission on are clawed back on a later one.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from teams.models import Member, Store, Team


class Comparison(models.TextChoices):
    GE = "ge", "≥"
    GT = "gt", ">"
    LE = "le", "≤"
    LT = "lt", "<"


class CommissionMode(models.TextChoices):
    NONE = "none", _("No commission")
    FLAT = "flat", _("Flat rate")
    TIERED = "tiered", _("Tiered by target completion")


class TierMode(models.TextChoices):
    CUMULATIVE = "cumulative", _("Cumulative: the reached tier's rate on everything")
    MARGINAL = "marginal", _("Marginal: each tier's rate on its part")


class Plan(models.Model):
    name = models.CharField(_("name"), max_length=120)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="plans",
                              verbose_name=_("store"), help_text=_("Empty: any store."))  # fmt: skip
    description = models.TextField(_("description"), blank=True)
    base_salary = models.DecimalField(_("base salary (yuan a month)"), max_digits=12, decimal_places=2, default=0)
    performance_pay = models.DecimalField(
        _("performance pay (yuan a month)"), max_digits=12, decimal_places=2, default=0,
        help_text=_("Scaled by the month's appraisal: by the grade's coefficient, or by the score / 100."),
    )  # fmt: skip
    performance_by_score = models.BooleanField(_("scale by score instead of grade"), default=False)
    grade_coefficients = models.JSONField(
        _("grade coefficients"), default=dict, blank=True,
        help_text=_('For example {"S": 1.5, "A": 1.2, "B": 1.0, "C": 0.8, "D": 0.5}.'),
    )  # fmt: skip
    commission_mode = models.CharField(_("commission"), max_length=10, choices=CommissionMode,
                                       default=CommissionMode.NONE)  # fmt: skip
    flat_rate = models.DecimalField(_("flat rate"), max_digits=6, decimal_places=5, default=0)
    tier_mode = models.CharField(_("tiers"), max_length=12, choices=TierMode, default=TierMode.CUMULATIVE)
    commission_cap = models.DecimalField(_("commission cap (yuan)"), max_digits=12, decimal_places=2, null=True,
                                         blank=True)  # fmt: skip
    # Team PK: each week's champion team (by this KPI, among the store's teams) earns its members
    # this share more commission on that week's GMV.
    pk_kpi_key = models.CharField(_("team PK KPI"), max_length=40, blank=True)
    pk_bonus_rate = models.DecimalField(_("team PK bonus"), max_digits=6, decimal_places=4, default=0,
                                        # xgettext:no-python-format
                                        help_text=_("0.05 = +5% commission for the week's champion team."))  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("incentive plan")
        verbose_name_plural = _("incentive plans")

    def __str__(self) -> str:
        return self.name


class CommissionTier(models.Model):
    """From this target completion (inclusive) on, this rate; e.g. 0 → 1.5%, 1.0 → 2.5%, 1.5 → 3%."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    from_completion = models.DecimalField(max_digits=6, decimal_places=4)
    rate = models.DecimalField(max_digits=6, decimal_places=5)

    class Meta:
        ordering = ["plan", "from_completion"]
        constraints = [models.UniqueConstraint(fields=["plan", "from_completion"], name="tier_unique_start")]

    def __str__(self) -> str:
        return f"{self.from_completion}: {self.rate}"


class Modifier(models.Model):
    """A KPI gate or multiplier on commission: when the KPI compares true, multiply by this."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="modifiers")
    kpi_key = models.CharField(max_length=40)
    comparison = models.CharField(max_length=2, choices=Comparison)
    threshold = models.DecimalField(max_digits=16, decimal_places=6)
    multiplier = models.DecimalField(max_digits=6, decimal_places=4)

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.comparison} {self.threshold} ×{self.multiplier}"


class Milestone(models.Model):
    """A bonus when the month's KPI compares true: e.g. inquiry-to-payment rate ≥ 10% → 500."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="milestones")
    kpi_key = models.CharField(max_length=40)
    comparison = models.CharField(max_length=2, choices=Comparison)
    threshold = models.DecimalField(max_digits=16, decimal_places=6)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.comparison} {self.threshold} → {self.amount}"


class RankingAward(models.Model):
    """The month's top N of the member's team by a KPI: amounts for 1st, 2nd, …"""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="ranking_awards")
    kpi_key = models.CharField(max_length=40)
    amounts = models.JSONField(default=list, help_text=_("Amounts for 1st, 2nd, …, e.g. [800, 500, 300]."))

    def __str__(self) -> str:
        return f"{self.kpi_key} top {len(self.amounts)}"


class PlanAssignment(models.Model):
    """A plan for a member, or for everyone in a team, over days (end inclusive, empty: open)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="plan_assignments")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="plan_assignments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(member__isnull=False) | models.Q(team__isnull=False), name="assignment_has_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} → {self.member or self.team}"


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

    class Meta:
        ordering = ["-month", "member__display_name"]
        constraints = [models.UniqueConstraint(fields=["member", "store", "month"], name="statement_one_a_month")]

    def __str__(self) -> str:
        return f"{self.member} {self.month:%Y-%m}"

    @property
    def adjustment(self):
        return None if self.proposed_total is None else self.proposed_total - self.total


class LineKind(models.TextChoices):
    BASE = "base", _("Base salary")
    PERFORMANCE = "performance", _("Performance pay")
    COMMISSION = "commission", _("Commission")
    MODIFIER = "modifier", _("KPI multiplier")
    PK = "pk", _("Team PK")
    MILESTONE = "milestone", _("Milestone bonus")
    RANKING = "ranking", _("Ranking award")
    CLAWBACK = "clawback", _("Clawback")


class StatementLine(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=LineKind)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    explanation = models.TextField()  # written in the site's language: the rule, the KPI value, the arithmetic
    kpi_key = models.CharField(max_length=40, blank=True)
    kpi_value = models.CharField(max_length=40, blank=True)
    order_ids = models.JSONField(default=list, blank=True)  # the platform order ids behind the line

    class Meta:
        ordering = ["statement", "order"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


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


class BadgeRule(models.Model):
    """A badge managers define: a KPI compared with a threshold over a day, week or month."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="badge_rules")
    key = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=80)
    kpi_key = models.CharField(max_length=40)
    comparison = models.CharField(max_length=2, choices=Comparison)
    threshold = models.DecimalField(max_digits=16, decimal_places=6)
    period = models.CharField(max_length=6, choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="badge_rule_unique_key")]

    def __str__(self) -> str:
        return self.name


class Badge(models.Model):
    """A badge a member earned for a period (built-in keys: lightning_deal, weekly_sprint,
    perfect_response; or a rule's key)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badges")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40)
    period_start = models.DateField()
    detail = models.CharField(max_length=200, blank=True)
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["member", "store", "key", "period_start"], name="badge_once_a_period")
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.key} {self.period_start}"
