"""Admin for incentives: plans can be looked at here (HR edits them in the product, /pay/plans/,
which keeps their versions); a plan that no locked statement used can still be corrected here,
with the same validation (incentives/services/plans.py), a version a locked statement used is
read-only. Statements and badges can be looked at and corrected."""

from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from incentives.models import (
    Badge,
    BadgeRule,
    CommissionedOrder,
    CommissionTier,
    ManualLine,
    Milestone,
    Modifier,
    Plan,
    PlanAllowance,
    PlanAssignment,
    RankingAward,
    Statement,
    StatementLine,
)
from incentives.selectors.plans import plan_is_final
from incentives.services.plans import plan_tiers_validate


class CommissionTierFormSet(BaseInlineFormSet):
    """The tiers, as the product's editor checks them (plan_tiers_validate): ascending starts, at
    least one tier when tiered, a telesales plan's rates within 1.5%–3%. `self.instance` is the
    plan as edited on the same page (its new kind and mode)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        tiers = sorted((Decimal(row["from_completion"]), Decimal(row["rate"])) for row in kept
                       if row.get("rate") is not None and row.get("from_completion") is not None)  # fmt: skip
        try:
            plan_tiers_validate(plan=self.instance, tiers=tiers)
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class CommissionTierInline(admin.TabularInline):
    model = CommissionTier
    formset = CommissionTierFormSet
    extra = 0


class ModifierInline(admin.TabularInline):
    model = Modifier
    extra = 0


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


class RankingAwardInline(admin.TabularInline):
    model = RankingAward
    extra = 0


class PlanAllowanceInline(admin.TabularInline):
    model = PlanAllowance
    extra = 0


class PlanAssignmentInline(admin.TabularInline):
    model = PlanAssignment
    extra = 0
    autocomplete_fields = ["member", "team"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "kind", "base_salary", "performance_pay", "call_pay", "commission_mode",
                    "commission_base", "tier_mode", "commission_cap"]  # fmt: skip
    list_filter = ["store", "kind", "commission_mode", "commission_base", "tier_mode"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "replaces", "retired_at"]
    inlines = [CommissionTierInline, ModifierInline, MilestoneInline, RankingAwardInline, PlanAllowanceInline,
               PlanAssignmentInline]  # fmt: skip

    def has_change_permission(self, request, obj=None):
        # A version a locked statement was computed with, or a retired one, is never changed here:
        # the product's editor makes a new version of it.
        if obj is not None and (obj.retired_at is not None or plan_is_final(plan=obj)):
            return False
        return super().has_change_permission(request, obj)


@admin.register(PlanAssignment)
class PlanAssignmentAdmin(admin.ModelAdmin):
    list_display = ["plan", "member", "team", "start_date", "end_date"]
    list_filter = ["plan", "team__store"]
    autocomplete_fields = ["plan", "member", "team"]


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    extra = 0
    fields = ["order", "kind", "amount", "explanation", "kpi_key", "kpi_value", "deals"]


class ManualLineInline(admin.TabularInline):
    """Shown only: manual lines are added, changed and removed on the statement's page (or the API),
    whose services keep the total, the approval and the change log right."""

    model = ManualLine
    extra = 0
    fields = ["kind", "title", "amount", "reason", "created_by", "created_at", "updated_by", "updated_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CommissionedOrderInline(admin.TabularInline):
    model = CommissionedOrder
    extra = 0
    raw_id_fields = ["order"]
    readonly_fields = ["order_ref", "paid_cents", "refund_cents", "rate"]


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["member", "store", "month", "plan", "state", "total", "proposed_total"]
    list_filter = ["state", "store", "month"]
    search_fields = ["member__display_name"]
    date_hierarchy = "month"
    raw_id_fields = ["member", "plan", "approved_by", "locked_by"]
    readonly_fields = ["computed_at", "approved_at", "locked_at"]
    inlines = [StatementLineInline, ManualLineInline, CommissionedOrderInline]


@admin.register(BadgeRule)
class BadgeRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "store", "kpi_key", "comparison", "threshold", "period"]
    list_filter = ["store", "period"]
    search_fields = ["name", "key"]


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin):
    list_display = ["member", "store", "key", "period_start", "detail", "awarded_at"]
    list_filter = ["store", "key"]
    search_fields = ["member__display_name", "key"]
    date_hierarchy = "period_start"
    raw_id_fields = ["member"]
