"""The pay plan editor's forms: the plan's own fields, and repeating rows for its grade
coefficients, commission tiers, KPI gates and multipliers, milestone bonuses, ranking awards and
recurring allowances; the simulation's month and team or store; an assignment's days.

Money is typed in yuan, rates and weights as percentages (2.5 for 2.5%), thresholds in the KPI's
unit (a rate as a percentage), months as YYYY-MM. Each row is checked by its model's clean and the
whole plan by incentives.services.plans.plan_parts_validate, the rules the admin and the API
share; `PlanEditor.parts()` is the plan in memory (unsaved), which the simulation computes with and
the services save."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incentives.forms import PercentField
from incentives.models import (
    CommissionTier,
    Comparison,
    Milestone,
    Modifier,
    Plan,
    PlanAllowance,
    RankingAward,
)
from incentives.selectors.plans import PlanParts
from incentives.services.plans import DEFAULT_GRADE_COEFFICIENTS, plan_parts_validate
from metrics.registry import KPI_BY_KEY, Level, kpis_for
from perfmgmt.common.forms import MonthField
from perfmgmt.common.numbers import decimal_plain, percent_plain
from teams.models import Member, Store, Team

HUNDRED = Decimal(100)
MONEY = {"max_digits": 12, "decimal_places": 2}
MONEY_WIDGET = forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})


def kpi_choices() -> list[tuple[str, str]]:
    """The member KPIs of the registry, by their name in the reader's language."""
    return [(kpi.key, kpi.label) for kpi in kpis_for(Level.MEMBER)]


def _rate_kpi(key: str | None) -> bool:
    kpi = KPI_BY_KEY.get(key or "")
    return kpi is not None and kpi.is_rate


def _number(value) -> Decimal:
    """A stored number (a JSON amount or coefficient) as a Decimal without trailing zeros."""
    return Decimal(str(value)).normalize()


def _json_number(value: Decimal) -> int | float:
    """A yuan amount or a coefficient as JSON keeps it: 800, 1.2."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _errors_to(form: forms.Form, error: ValidationError, fields: dict[str, str] | None = None) -> None:
    """A model's clean errors on the form's fields (`fields`: model field → form field)."""
    fields = fields or {}
    for name, messages in error.message_dict.items():
        target = fields.get(name, name)
        form.add_error(target if target in form.fields else None, messages)


class RowForm(forms.Form):
    """A repeating row: empty rows are skipped; `model_row()` is the unsaved part it describes."""

    model = None  # the part's model, whose clean checks the row (None: nothing more to check)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any row left empty is skipped, the rows shown filled too (clearing a row removes it).
        self.empty_permitted = True
        self.use_required_attribute = False

    def model_row(self):
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if not self.errors and data and not data.get("DELETE") and self.model is not None:
            try:
                self.model_row().clean()
            except ValidationError as error:
                _errors_to(self, error, getattr(self, "field_map", None))
        return data


class GradeForm(RowForm):
    grade = forms.CharField(label=_("Grade"), max_length=8)
    coefficient = forms.DecimalField(
        label=_("Coefficient"), min_value=0, max_digits=6, decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )  # fmt: skip

    def model_row(self):
        return None  # a grade and its coefficient: part of the plan's grade_coefficients


class TierForm(RowForm):
    model = CommissionTier
    from_completion = forms.DecimalField(
        label=_("From target completion (%)"), min_value=0, max_digits=8, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "1", "inputmode": "decimal"}),
    )  # fmt: skip
    rate = PercentField(label=_("Rate (%)"), decimal_places=3, max_digits=6)

    def model_row(self) -> CommissionTier:
        return CommissionTier(from_completion=self.cleaned_data["from_completion"] / HUNDRED,
                              rate=self.cleaned_data["rate"])  # fmt: skip

    @staticmethod
    def initial_of(row: CommissionTier) -> dict:
        return {"from_completion": percent_plain(row.from_completion), "rate": percent_plain(row.rate)}


class _KpiRuleForm(RowForm):
    """A KPI compared with a threshold (typed in the KPI's unit; a rate as a percentage)."""

    kpi_key = forms.ChoiceField(label=_("KPI"), choices=())
    comparison = forms.ChoiceField(label=_("Comparison"), choices=[("", "—"), *Comparison.choices])
    threshold = forms.DecimalField(label=_("Threshold"), max_digits=16, decimal_places=4,
                                   help_text=_("In the KPI's unit; a rate in %."),
                                   widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi_key"].choices = [("", "—"), *kpi_choices()]

    def _threshold(self) -> Decimal:
        value = self.cleaned_data["threshold"]
        return value / HUNDRED if _rate_kpi(self.cleaned_data.get("kpi_key")) else value

    @staticmethod
    def _threshold_initial(row) -> Decimal:
        return percent_plain(row.threshold) if _rate_kpi(row.kpi_key) else decimal_plain(row.threshold)


class ModifierForm(_KpiRuleForm):
    model = Modifier
    multiplier = forms.DecimalField(label=_("Commission ×"), min_value=0, max_digits=6, decimal_places=4,
                                    widget=forms.NumberInput(attrs={"step": "0.05", "inputmode": "decimal"}),
                                    help_text=_("1.1 = 10% more; 0 = no commission (a gate)."))  # fmt: skip

    def model_row(self) -> Modifier:
        data = self.cleaned_data
        return Modifier(kpi_key=data["kpi_key"], comparison=data["comparison"], threshold=self._threshold(),
                        multiplier=data["multiplier"])  # fmt: skip

    @classmethod
    def initial_of(cls, row: Modifier) -> dict:
        return {"kpi_key": row.kpi_key, "comparison": row.comparison, "threshold": cls._threshold_initial(row),
                "multiplier": decimal_plain(row.multiplier)}  # fmt: skip


class MilestoneForm(_KpiRuleForm):
    model = Milestone
    amount = forms.DecimalField(label=_("Bonus (yuan)"), widget=MONEY_WIDGET, **MONEY)

    def model_row(self) -> Milestone:
        data = self.cleaned_data
        return Milestone(kpi_key=data["kpi_key"], comparison=data["comparison"], threshold=self._threshold(),
                         amount=data["amount"])  # fmt: skip

    @classmethod
    def initial_of(cls, row: Milestone) -> dict:
        return {"kpi_key": row.kpi_key, "comparison": row.comparison, "threshold": cls._threshold_initial(row),
                "amount": row.amount}  # fmt: skip


class AmountsField(forms.CharField):
    """Yuan for 1st, 2nd, …: "800, 500, 300" (commas, Chinese commas or spaces)."""

    default_error_messages = {"invalid": _("Give the amounts for 1st, 2nd, … in yuan: e.g. 800, 500, 300.")}

    def has_changed(self, initial, data) -> bool:
        # As text: an empty field is no change (its cleaned value, [], is not the empty initial "").
        return str(data or "").strip() != str(initial or "").strip()

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        pieces = [p for p in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p.strip()]
        try:
            return [Decimal(p.strip()) for p in pieces]
        except InvalidOperation:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class RankingForm(RowForm):
    model = RankingAward
    kpi_key = forms.ChoiceField(label=_("KPI"), choices=())
    amounts = AmountsField(label=_("Awards for 1st, 2nd, … (yuan)"), max_length=200,
                           widget=forms.TextInput(attrs={"placeholder": "800, 500, 300"}))  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi_key"].choices = [("", "—"), *kpi_choices()]

    def model_row(self) -> RankingAward:
        return RankingAward(kpi_key=self.cleaned_data["kpi_key"],
                            amounts=[_json_number(a) for a in self.cleaned_data["amounts"]])  # fmt: skip

    @staticmethod
    def initial_of(row: RankingAward) -> dict:
        return {"kpi_key": row.kpi_key, "amounts": ", ".join(f"{_number(a):f}" for a in row.amounts)}


class AllowanceForm(RowForm):
    model = PlanAllowance
    name_zh = forms.CharField(label=_("Name in Chinese"), max_length=60, required=False)
    name_en = forms.CharField(label=_("Name in English"), max_length=60, required=False)
    amount = forms.DecimalField(label=_("Yuan a month"), widget=MONEY_WIDGET, **MONEY)
    start_month = MonthField(label=_("From month"), required=False)
    end_month = MonthField(label=_("To month"), required=False)

    def model_row(self) -> PlanAllowance:
        data = self.cleaned_data
        return PlanAllowance(name_zh=data.get("name_zh", "").strip(), name_en=data.get("name_en", "").strip(),
                             amount=data["amount"], start_month=data.get("start_month"),
                             end_month=data.get("end_month"))  # fmt: skip

    @staticmethod
    def initial_of(row: PlanAllowance) -> dict:
        return {"name_zh": row.name_zh, "name_en": row.name_en, "amount": row.amount,
                "start_month": row.start_month, "end_month": row.end_month}  # fmt: skip


# Without JavaScript one blank row shows under each part (fill it and save for another); with it,
# "Add a row" copies the formset's empty form (static/js/plans.js).
GradeFormSet = formset_factory(GradeForm, extra=1, can_delete=True)
TierFormSet = formset_factory(TierForm, extra=1, can_delete=True)
ModifierFormSet = formset_factory(ModifierForm, extra=1, can_delete=True)
MilestoneFormSet = formset_factory(MilestoneForm, extra=1, can_delete=True)
RankingFormSet = formset_factory(RankingForm, extra=1, can_delete=True)
AllowanceFormSet = formset_factory(AllowanceForm, extra=1, can_delete=True)


class PlanForm(forms.ModelForm):
    """The plan's own fields; rates as percentages."""

    flat_rate = PercentField(label=_("Flat rate (%)"), required=False, decimal_places=3, max_digits=6)
    pk_kpi_key = forms.ChoiceField(label=_("Team PK decided by"), required=False)
    pk_bonus_rate = PercentField(label=_("Team PK bonus (% more commission)"), required=False)
    call_connected_weight = PercentField(label=_("Weight of connected calls (%)"), required=False)
    call_talk_weight = PercentField(label=_("Weight of talk time (%)"), required=False)
    call_floor = PercentField(label=_("Floor, percent of each target (0: none)"), required=False)

    class Meta:
        model = Plan
        fields = ["name", "store", "kind", "description", "base_salary", "performance_pay", "performance_by_score",
                  "commission_mode", "commission_base", "flat_rate", "tier_mode", "commission_cap", "pk_kpi_key",
                  "pk_bonus_rate", "call_pay", "call_connected_target", "call_talk_target_minutes",
                  "call_connected_weight", "call_talk_weight", "call_floor"]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].empty_label = _("Any store")
        self.fields["store"].queryset = Store.objects.order_by("name")
        self.fields["pk_kpi_key"].choices = [("", _("No team PK")), *kpi_choices()]
        self.fields["commission_cap"].help_text = _("Empty: no cap.")
        for name in ("base_salary", "performance_pay", "commission_cap", "call_pay"):
            self.fields[name].widget.attrs.update({"step": "0.01", "inputmode": "decimal", "min": "0"})
        if not self.is_bound and self.instance is not None:
            for name in self.PERCENT_DEFAULTS:
                self.initial[name] = percent_plain(getattr(self.instance, name))

    # A percentage left empty: the model's default (no rate, no floor; the call weights 50/50).
    PERCENT_DEFAULTS = {"flat_rate": Decimal(0), "pk_bonus_rate": Decimal(0), "call_floor": Decimal(0),
                        "call_connected_weight": Decimal("0.5"), "call_talk_weight": Decimal("0.5")}  # fmt: skip

    def clean(self):
        data = super().clean()
        for name, default in self.PERCENT_DEFAULTS.items():
            if data.get(name) is None:
                data[name] = default
        return data

    def _post_clean(self):
        # The whole plan is checked by plan_parts_validate (PlanEditor), with its parts: not here.
        try:
            self.instance = forms.models.construct_instance(self, self.instance, fields=self._meta.fields)
        except ValidationError as error:
            self._update_errors(error)


SECTIONS = (
    # (prefix, formset class, the PlanParts attribute, the model field names its errors name)
    ("grades", GradeFormSet, None),
    ("tiers", TierFormSet, "tiers"),
    ("modifiers", ModifierFormSet, "modifiers"),
    ("milestones", MilestoneFormSet, "milestones"),
    ("ranking", RankingFormSet, "ranking_awards"),
    ("allowances", AllowanceFormSet, "allowances"),
)


class PlanEditor:
    """The plan form and its repeating rows, bound together. `is_valid()` checks every row and
    then the whole plan (plan_parts_validate); `parts()` is the plan in memory."""

    def __init__(self, data=None, *, plan: Plan | None = None, parts: PlanParts | None = None):
        self.plan = plan
        source = parts.plan if parts is not None else (plan or Plan())
        # A copy of the plan's fields: the form never changes the saved row (the service does).
        copied = {f.attname: getattr(source, f.attname) for f in Plan._meta.concrete_fields if f.attname != "id"}
        self.form = PlanForm(data, instance=Plan(**copied))
        initial = self._initial(parts) if data is None else {}
        self.formsets = {
            prefix: formset(data, prefix=prefix, initial=initial.get(prefix))
            for prefix, formset, _attribute in SECTIONS
        }
        self.part_errors: dict[str, list[str]] = {}
        self._parts: PlanParts | None = None

    @staticmethod
    def _initial(parts: PlanParts | None) -> dict[str, list[dict]]:
        if parts is None:
            grades = DEFAULT_GRADE_COEFFICIENTS
            return {"grades": [{"grade": g, "coefficient": Decimal(c)} for g, c in grades.items()]}
        from incentives.calc import grade_coefficients_ordered

        return {
            "grades": [{"grade": g, "coefficient": f"{_number(c):f}"}
                       for g, c in grade_coefficients_ordered(parts.plan.grade_coefficients)],
            "tiers": [TierForm.initial_of(t) for t in parts.tiers],
            "modifiers": [ModifierForm.initial_of(m) for m in parts.modifiers],
            "milestones": [MilestoneForm.initial_of(m) for m in parts.milestones],
            "ranking": [RankingForm.initial_of(r) for r in parts.ranking_awards],
            "allowances": [AllowanceForm.initial_of(a) for a in parts.allowances],
        }  # fmt: skip

    def __getitem__(self, prefix: str):
        return self.formsets[prefix]

    @staticmethod
    def _rows(formset) -> list:
        return [f for f in formset.forms if f.has_changed() and f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        each = [fs.is_valid() for fs in self.formsets.values()]  # every one, so each shows its errors
        valid = all(each) and valid
        if not valid:
            return False
        grades = [f.cleaned_data for f in self._rows(self.formsets["grades"])]
        letters = [g["grade"].strip() for g in grades]
        if len(set(letters)) != len(letters):
            self.part_errors["grades"] = [str(_("Each grade has one coefficient: a grade is listed twice."))]
            return False
        plan = self.form.instance
        plan.grade_coefficients = {g["grade"].strip(): _json_number(g["coefficient"]) for g in grades}
        parts = PlanParts(plan=plan, **{
            attribute: [f.model_row() for f in self._rows(self.formsets[prefix])]
            for prefix, _formset, attribute in SECTIONS if attribute
        })  # fmt: skip
        try:
            plan_parts_validate(parts=parts)
        except ValidationError as error:
            sections = {attribute: prefix for prefix, _formset, attribute in SECTIONS if attribute}
            for name, messages in error.message_dict.items():
                if name in sections:
                    self.part_errors[sections[name]] = list(messages)
                elif name == "grade_coefficients":
                    self.part_errors["grades"] = list(messages)
                else:
                    self.form.add_error(name if name in self.form.fields else None, messages)
            return False
        self._parts = parts
        return True

    def parts(self) -> PlanParts:
        if self._parts is None:
            raise ValueError("call is_valid() first")
        return self._parts

    @property
    def has_errors(self) -> bool:
        return bool(
            self.form.errors or self.part_errors or any(fs.total_error_count() for fs in self.formsets.values())
        )


# --- simulation and assignments ----------------------------------------------------------------------


class SimulateForm(forms.Form):
    """A past month (or this one so far) and a store, or one of its teams."""

    month = MonthField(label=_("Month"))
    scope = forms.ChoiceField(label=_("Team or store"))

    def __init__(self, *args, stores, teams, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        for store in stores:
            options = [(f"store-{store.pk}", _("%(store)s: every team") % {"store": store.name})]
            options += [(f"team-{t.pk}", t.name) for t in teams if t.store_id == store.pk]
            choices.append((store.name, options))
        self.fields["scope"].choices = choices
        self._stores = {s.pk: s for s in stores}
        self._teams = {t.pk: t for t in teams}

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month > timezone.localdate().replace(day=1):
            raise ValidationError(_("Choose a past month, or this one (its days so far)."))
        return month

    def scope_objects(self) -> tuple[Store, Team | None]:
        kind, _sep, pk = self.cleaned_data["scope"].partition("-")
        if kind == "team":
            team = self._teams[int(pk)]
            return team.store, team
        return self._stores[int(pk)], None


class AssignForm(forms.Form):
    """An assignment of the plan: a team or a member, and its days."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                                  empty_label="—")  # fmt: skip
    member = forms.ModelChoiceField(label=_("or a member"), queryset=Member.objects.none(), required=False,
                                    empty_label="—",
                                    help_text=_("A member's own plan wins over their team's."))  # fmt: skip
    start_date = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Empty: open."))  # fmt: skip

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.select_related("store").order_by("store__name", "name")
        members = Member.objects.order_by("display_name")
        if plan.store_id is not None:
            teams = teams.filter(store_id=plan.store_id)
            members = members.filter(memberships__team__store_id=plan.store_id).distinct()
        self.fields["team"].queryset = teams
        self.fields["team"].label_from_instance = lambda t: f"{t.store.name} / {t.name}"
        self.fields["member"].queryset = members

    def clean(self):
        data = super().clean()
        if bool(data.get("team")) == bool(data.get("member")):
            raise ValidationError(_("Choose a team or a member (one of them)."))
        return data


class AssignmentDaysForm(forms.Form):
    start_date = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Empty: open."))  # fmt: skip


def month_default(today: dt.date) -> dt.date:
    """The simulation's default month: the last complete one."""
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
