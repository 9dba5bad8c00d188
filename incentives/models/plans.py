"""Incentive plans: how a member is paid (base, performance pay, calls, commission with its
tiers, multipliers, milestones, ranking awards, allowances) and to whom a plan applies (its
assignments to members and teams for a span of days).

Money is Decimal yuan (two decimals); rates are fractions (0.015 = 1.5%)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
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


class PlanKind(models.TextChoices):
    GENERAL = "general", _("General")
    # Seed 002: base salary + call assessment (connected calls and talk time) + commission 1.5%–3%.
    TELESALES = "telesales", _("Telesales")


class CommissionBase(models.TextChoices):
    GMV = "gmv", _("Credited shop GMV, net of refunds")
    WON = "won", _("Amount of the deals won")


# Seed 002: a telesales plan's commission rates lie within 1.5% and 3% (fractions, both inclusive).
TELESALES_RATE_MIN = Decimal("0.015")
TELESALES_RATE_MAX = Decimal("0.03")


def telesales_rate_error(rate: Decimal) -> ValidationError | None:
    """The error for a telesales commission rate outside 1.5%–3%, or None when it is within."""
    if TELESALES_RATE_MIN <= rate <= TELESALES_RATE_MAX:
        return None
    return ValidationError(
        _("A telesales plan's commission rates lie between %(low)s and %(high)s; %(rate)s is outside."),
        code="telesales_rate",
        params={"low": "1.5%", "high": "3%", "rate": f"{(rate * 100).normalize():f}%"},
    )


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
    kind = models.CharField(
        _("kind"), max_length=10, choices=PlanKind, default=PlanKind.GENERAL,
        # xgettext:no-python-format
        help_text=_("Telesales: commission rates must lie within 1.5% and 3%."),
    )  # fmt: skip
    commission_base = models.CharField(
        _("commission base"), max_length=4, choices=CommissionBase, default=CommissionBase.GMV,
        help_text=_("What commission is paid on: the shop GMV credited to the member, or the deals they won "
                    "(telesales sell by phone, not in shop chats). Tiers are reached against the target of the "
                    "same measure (GMV, or amount won)."),
    )  # fmt: skip
    # Call assessment (seed 002's 考核: 呼出接通数量 + 呼出接通时间): `call_pay` a month, split by the
    # weights between the two parts; each part pays pro rata to its monthly target, at most 100%, and
    # nothing below `call_floor` of it.
    call_pay = models.DecimalField(_("call assessment pay (yuan a month)"), max_digits=12, decimal_places=2,
                                   default=0)  # fmt: skip
    call_connected_target = models.PositiveIntegerField(
        _("connected outbound calls target (a month)"), null=True, blank=True
    )
    # Minutes, as people state it (the talk_time KPI is seconds: divided by 60 when compared).
    call_talk_target_minutes = models.PositiveIntegerField(
        _("outbound talk time target (minutes a month)"), null=True, blank=True,
        help_text=_("In minutes: 30 hours = 1800."),
    )  # fmt: skip
    call_connected_weight = models.DecimalField(_("weight of connected calls"), max_digits=4, decimal_places=3,
                                                default=Decimal("0.5"), help_text=_("0.5 = 50%."))  # fmt: skip
    call_talk_weight = models.DecimalField(_("weight of talk time"), max_digits=4, decimal_places=3,
                                           default=Decimal("0.5"), help_text=_("0.5 = 50%."))  # fmt: skip
    call_floor = models.DecimalField(
        _("call assessment floor"), max_digits=4, decimal_places=3, default=0,
        help_text=_("A part below this share of its target pays nothing: 0.6 = 60%. 0: no floor."),
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    # Versions (docs/incentives.md, "Editing plans"): a plan a locked statement was computed with
    # is never changed; saving an edit to it makes a new row (version + 1, `replaces` the old one)
    # and retires the old one, which keeps showing on the statements computed with it.
    version = models.PositiveIntegerField(_("version"), default=1)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by",
                                 verbose_name=_("replaces"))  # fmt: skip
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        verbose_name = _("incentive plan")
        verbose_name_plural = _("incentive plans")

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_telesales(self) -> bool:
        return self.kind == PlanKind.TELESALES

    @property
    def assesses_calls(self) -> bool:
        return bool(self.call_pay)

    def clean(self):
        errors: dict[str, list] = {}
        for name in ("base_salary", "performance_pay", "call_pay"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                errors.setdefault(name, []).append(ValidationError(_("An amount cannot be negative.")))
        if self.commission_cap is not None and self.commission_cap < 0:
            errors.setdefault("commission_cap", []).append(
                ValidationError(_("The commission cap cannot be negative (empty: no cap)."))
            )
        for name in ("flat_rate", "pk_bonus_rate"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) <= 1:
                errors.setdefault(name, []).append(ValidationError(_("A rate lies between 0% and 100%.")))
        coefficients = self.grade_coefficients if isinstance(self.grade_coefficients, dict) else None
        try:
            valid = coefficients is not None and all(
                str(grade).strip() and Decimal(str(value)) >= 0 for grade, value in coefficients.items()
            )
        except (ArithmeticError, ValueError):
            valid = False
        if not valid:
            errors.setdefault("grade_coefficients", []).append(
                ValidationError(_("Give each grade a coefficient of 0 or more, e.g. S 1.5, A 1.2, B 1.0."))
            )
        if self.pk_kpi_key and (error := _kpi_error(self.pk_kpi_key)) is not None:
            errors.setdefault("pk_kpi_key", []).append(error)
        if self.pk_bonus_rate and not self.pk_kpi_key:
            errors.setdefault("pk_kpi_key", []).append(
                ValidationError(_("Choose the KPI the weekly team PK is decided by (or set no PK bonus)."))
            )
        if self.pk_kpi_key and self.commission_mode == CommissionMode.NONE and self.pk_bonus_rate:
            errors.setdefault("pk_bonus_rate", []).append(
                ValidationError(_("The team PK adds to commission: choose a commission first."))
            )
        for name in ("call_connected_weight", "call_talk_weight"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) <= 1:
                errors.setdefault(name, []).append(ValidationError(_("A weight lies between 0% and 100%.")))
        if self.call_pay:
            if self.call_connected_weight + self.call_talk_weight != 1:
                errors.setdefault("call_talk_weight", []).append(
                    ValidationError(_("The two call assessment weights add up to 100% (0.5 + 0.5)."))
                )
            if self.call_connected_weight and not self.call_connected_target:
                errors.setdefault("call_connected_target", []).append(
                    ValidationError(_("Set the monthly target of connected outbound calls (or give it no weight)."))
                )
            if self.call_talk_weight and not self.call_talk_target_minutes:
                errors.setdefault("call_talk_target_minutes", []).append(
                    ValidationError(_("Set the monthly talk time target in minutes (or give it no weight)."))
                )
            if not 0 <= self.call_floor <= 1:
                errors.setdefault("call_floor", []).append(ValidationError(_("The floor lies between 0 and 1.")))
        if self.kind == PlanKind.TELESALES:
            if self.commission_mode == CommissionMode.NONE:
                errors.setdefault("commission_mode", []).append(
                    ValidationError(
                        _("A telesales plan pays commission (%(low)s–%(high)s): choose flat or tiered."),
                        params={"low": "1.5%", "high": "3%"},
                    )
                )
            elif self.commission_mode == CommissionMode.FLAT:
                error = telesales_rate_error(self.flat_rate)
                if error is not None:
                    errors.setdefault("flat_rate", []).append(error)
        if errors:
            raise ValidationError(errors)


def _kpi_error(kpi_key: str) -> ValidationError | None:
    from metrics.registry import KPI_BY_KEY

    if kpi_key in KPI_BY_KEY:
        return None
    return ValidationError(_("Choose a KPI from the list."), code="kpi")


class CommissionTier(models.Model):
    """From this target completion (inclusive) on, this rate; e.g. 0 → 1.5%, 1.0 → 2.5%, 1.5 → 3%."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    from_completion = models.DecimalField(_("from target completion"), max_digits=6, decimal_places=4)
    rate = models.DecimalField(_("rate"), max_digits=6, decimal_places=5)

    class Meta:
        ordering = ["plan", "from_completion"]
        constraints = [models.UniqueConstraint(fields=["plan", "from_completion"], name="tier_unique_start")]
        verbose_name = _("commission tier")
        verbose_name_plural = _("commission tiers")

    def __str__(self) -> str:
        return f"{self.from_completion}: {self.rate}"

    def clean(self):
        errors = {}
        if self.from_completion is not None and self.from_completion < 0:
            errors["from_completion"] = ValidationError(_("A tier's start cannot be negative."))
        if self.rate is not None and not 0 <= self.rate <= 1:
            errors["rate"] = ValidationError(_("A rate lies between 0% and 100%."))
        if errors:
            raise ValidationError(errors)


class Modifier(models.Model):
    """A KPI gate or multiplier on commission: when the KPI compares true, multiply by this."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="modifiers")
    kpi_key = models.CharField(_("KPI"), max_length=40)
    comparison = models.CharField(_("comparison"), max_length=2, choices=Comparison)
    threshold = models.DecimalField(_("threshold"), max_digits=16, decimal_places=6)
    multiplier = models.DecimalField(_("multiplier"), max_digits=6, decimal_places=4)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("KPI gate or multiplier")
        verbose_name_plural = _("KPI gates and multipliers")

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.comparison} {self.threshold} ×{self.multiplier}"

    def clean(self):
        errors = {}
        if (error := _kpi_error(self.kpi_key)) is not None:
            errors["kpi_key"] = error
        if self.multiplier is not None and self.multiplier < 0:
            errors["multiplier"] = ValidationError(_("A multiplier cannot be negative (0 is a gate: no commission)."))
        if errors:
            raise ValidationError(errors)


class Milestone(models.Model):
    """A bonus when the month's KPI compares true: e.g. inquiry-to-payment rate ≥ 10% → 500."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="milestones")
    kpi_key = models.CharField(_("KPI"), max_length=40)
    comparison = models.CharField(_("comparison"), max_length=2, choices=Comparison)
    threshold = models.DecimalField(_("threshold"), max_digits=16, decimal_places=6)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("milestone bonus")
        verbose_name_plural = _("milestone bonuses")

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.comparison} {self.threshold} → {self.amount}"

    def clean(self):
        errors = {}
        if (error := _kpi_error(self.kpi_key)) is not None:
            errors["kpi_key"] = error
        if self.amount is not None and self.amount <= 0:
            errors["amount"] = ValidationError(_("A bonus is more than ¥0."))
        if errors:
            raise ValidationError(errors)


class RankingAward(models.Model):
    """The month's top N of the member's team by a KPI: amounts for 1st, 2nd, …"""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="ranking_awards")
    kpi_key = models.CharField(_("KPI"), max_length=40)
    amounts = models.JSONField(_("amounts (yuan)"), default=list,
                               help_text=_("Amounts for 1st, 2nd, …, e.g. [800, 500, 300]."))  # fmt: skip

    class Meta:
        ordering = ["pk"]
        verbose_name = _("ranking award")
        verbose_name_plural = _("ranking awards")

    def __str__(self) -> str:
        return f"{self.kpi_key} top {len(self.amounts)}"

    def clean(self):
        errors = {}
        if (error := _kpi_error(self.kpi_key)) is not None:
            errors["kpi_key"] = error
        amounts = self.amounts if isinstance(self.amounts, list) else None
        try:
            valid = bool(amounts) and all(Decimal(str(a)) >= 0 for a in amounts)
        except (ArithmeticError, ValueError):
            valid = False
        if not valid:
            errors["amounts"] = ValidationError(
                _("Give the amounts for 1st, 2nd, … in yuan, none negative: e.g. 800, 500, 300.")
            )
        if errors:
            raise ValidationError(errors)


class PlanAllowance(models.Model):
    """A recurring allowance of the plan (差旅补贴 ¥300 a month): a statement line of kind
    "allowance" every month of `start_month` … `end_month` (first days; empty: open)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="allowances")
    name_zh = models.CharField(_("name in Chinese"), max_length=60, blank=True)
    name_en = models.CharField(_("name in English"), max_length=60, blank=True)
    amount = models.DecimalField(_("amount (yuan a month)"), max_digits=12, decimal_places=2)
    start_month = models.DateField(_("from month"), null=True, blank=True)
    end_month = models.DateField(_("to month"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("allowance")
        verbose_name_plural = _("allowances")

    def __str__(self) -> str:
        return self.name_zh or self.name_en

    def applies_to(self, month) -> bool:
        """Whether it is paid in the month (any day of it)."""
        month = month.replace(day=1)
        return (self.start_month is None or self.start_month <= month) and (
            self.end_month is None or month <= self.end_month
        )

    def clean(self):
        errors = {}
        if not (self.name_zh or "").strip() and not (self.name_en or "").strip():
            errors["name_zh"] = ValidationError(_("Name the allowance (in Chinese, English or both)."))
        if self.amount is not None and self.amount <= 0:
            errors["amount"] = ValidationError(_("An allowance is more than ¥0 a month."))
        if self.start_month and self.end_month and self.end_month < self.start_month:
            errors["end_month"] = ValidationError(_("The last month comes after the first."))
        if errors:
            raise ValidationError(errors)


class PlanAssignment(models.Model):
    """A plan for a member, or for everyone in a team, over days (end inclusive, empty: open)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("plan"))
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="plan_assignments",
                               verbose_name=_("member"))  # fmt: skip
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="plan_assignments",
                             verbose_name=_("team"))  # fmt: skip
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(member__isnull=False) | models.Q(team__isnull=False), name="assignment_has_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} → {self.member or self.team}"
