"""Forms of the pay pages: the statements' filters, recomputing a store's month, approving or
locking several statements at once, and the what-if estimator. Choices are limited to what the
viewer may use; the services check again."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from incentives import calc
from incentives.models import CommissionBase, ManualLineKind, Plan, StatementState
from perfmgmt.common.forms import MonthField
from teams.models import Store, Team

HUNDRED = Decimal(100)


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return f"{obj.store.name} / {obj.name}"


class StatementFilterForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False,
                                   empty_label=_("All stores"))  # fmt: skip
    team = TeamChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All teams"))
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any state")), *StatementState.choices])  # fmt: skip

    def __init__(self, *args, stores: QuerySet[Store], teams: QuerySet[Team], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = teams


class RecomputeForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none(), error_messages={
        "required": _("Choose a store to recompute."), "invalid_choice": _("You cannot recompute that store."),
    })  # fmt: skip
    month = MonthField(error_messages={"required": _("Choose a month to recompute.")})

    def __init__(self, *args, stores: QuerySet[Store], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


class BulkForm(forms.Form):
    APPROVE, LOCK = "approve", "lock"

    action = forms.ChoiceField(choices=[(APPROVE, _("Approve")), (LOCK, _("Lock"))])
    ids = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": _("Tick at least one statement first.")}
    )

    def __init__(self, *args, ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = [(pk, str(pk)) for pk in ids]


class PercentField(forms.DecimalField):
    """A rate typed as a percentage (12.5) and cleaned to a fraction (0.125)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 100)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 5)
        super().__init__(**kwargs)
        self.widget.attrs.update({"step": "0.1", "inputmode": "decimal"})

    def clean(self, value):
        cleaned = super().clean(value)
        return None if cleaned is None else cleaned / HUNDRED


class EstimateForm(forms.Form):
    """The estimator's inputs. Money in yuan, rates as percentages, talk time in minutes. A plan
    paying commission on deals asks for the amount won (and its target) instead of GMV; a plan
    with a call assessment asks for connected calls and talk time."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False, empty_label=None)
    gmv = forms.DecimalField(label=_("GMV this month (yuan)"), min_value=0, max_digits=14, decimal_places=2,
                             widget=forms.NumberInput(attrs={"step": "100", "inputmode": "decimal"}))  # fmt: skip
    refunds = forms.DecimalField(
        label=_("Refunds this month (yuan)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "100", "inputmode": "decimal"}),
        help_text=_("Refunded on those orders: commission is paid on the GMV net of refunds."),
    )
    conversion = PercentField(label=_("Inquiry-to-payment rate (%)"), required=False)
    target = forms.DecimalField(label=_("GMV target (yuan)"), required=False, max_digits=14, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0.01"))],
                                widget=forms.NumberInput(attrs={"step": "100", "inputmode": "decimal"}),
                                help_text=_("Tiers are reached by GMV / target. Empty: no target "
                                            "(the first tier)."))  # fmt: skip
    refund_rate = PercentField(label=_("Refunded order rate (%)"), required=False)
    won = forms.DecimalField(label=_("Amount won this month (yuan)"), min_value=0, max_digits=14, decimal_places=2,
                             widget=forms.NumberInput(attrs={"step": "100", "inputmode": "decimal"}))  # fmt: skip
    connected_calls = forms.IntegerField(label=_("Connected outbound calls this month"), min_value=0,
                                         max_value=1_000_000)  # fmt: skip
    talk_minutes = forms.DecimalField(
        label=_("Outbound talk time this month (minutes)"), min_value=0, max_digits=9, decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "10", "inputmode": "decimal"}),
    )  # fmt: skip
    grade = forms.ChoiceField(label=_("Appraisal grade"), required=False)
    score = forms.DecimalField(label=_("Appraisal score"), required=False, max_digits=5, decimal_places=1,
                               validators=[MinValueValidator(0), MaxValueValidator(100)])  # fmt: skip

    def __init__(self, *args, plan: Plan, stores: list[Store], **kwargs):
        super().__init__(*args, **kwargs)
        if len(stores) > 1:
            self.fields["store"].queryset = Store.objects.filter(pk__in=[s.pk for s in stores]).order_by("name")
        else:
            del self.fields["store"]
        if plan.commission_base == CommissionBase.WON:
            for name in ("gmv", "refunds", "conversion", "refund_rate"):
                del self.fields[name]
            self.fields["target"].label = _("Amount-won target (yuan)")
            self.fields["target"].help_text = _("Tiers are reached by amount won / target. Empty: no target "
                                                "(the first tier).")  # fmt: skip
        else:
            del self.fields["won"]
        if not plan.assesses_calls:
            del self.fields["connected_calls"], self.fields["talk_minutes"]
        if not plan.performance_pay or plan.performance_by_score:
            del self.fields["grade"]
        else:
            grades = [g for g, _c in calc.grade_coefficients_ordered(plan.grade_coefficients)]
            self.fields["grade"].choices = [("", _("Not counted")), *((g, g) for g in grades)]
        if not plan.performance_pay or not plan.performance_by_score:
            del self.fields["score"]


TITLE_REQUIRED = _("Give the line a title, e.g. 最佳话术奖.")
REASON_REQUIRED = _("Say why: a manual line needs a reason.")
CHANGE_REASON_REQUIRED = _("Say why: every change to a manual line needs a reason.")


class ManualLineForm(forms.Form):
    """A manual line as typed: its kind, the title as it should read, the amount in yuan and why.
    The sign rules and the rest are the service's (ManualLine.clean): its errors come back on
    these fields."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ManualLineKind.choices)
    title = forms.CharField(label=_("Title"), max_length=80, error_messages={"required": TITLE_REQUIRED},
                            help_text=_("As it should read on the payslip, e.g. 最佳话术奖."))  # fmt: skip
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), max_digits=12, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        help_text=_("Awards and allowances are positive, deductions negative, a correction either."),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=500, error_messages={"required": REASON_REQUIRED},
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Shown to the member with the line."))  # fmt: skip


class ManualLineEditForm(ManualLineForm):
    change_reason = forms.CharField(
        label=_("Why this change"), max_length=500, error_messages={"required": CHANGE_REASON_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Kept in the change log."),
    )  # fmt: skip


class ManualLineRemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Why remove it"), max_length=500, error_messages={"required": CHANGE_REASON_REQUIRED},
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Kept in the change log."),
    )  # fmt: skip
