"""Forms of the appraisal pages: the overview's filters, opening a cycle, moving it on, and the
ratings of a self review or a manager review. Choices are limited to what the viewer may use; the
services check again and their errors are shown on the fields."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from metrics.registry import KPI_BY_KEY, Unit
from perfmgmt.common.forms import MonthField
from perfmgmt.common.periods import month_last
from reviews.models import AppraisalTemplate, CycleState, DecisionKind, Item, ItemDecision, Rating
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, store_list_for_cycles, team_list_for_cycles

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SCORES = [(n, str(n)) for n in range(1, 6)]
COMMENT_MAX = 500


def month_parse(text: str | None) -> dt.date | None:
    """'2026-05' → 2026-05-01; anything else → None."""
    try:
        return dt.datetime.strptime((text or "").strip(), "%Y-%m").date()
    except ValueError:
        return None


# --- the overview ---------------------------------------------------------------------------------


class OverviewFilterForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False,
                                   empty_label=_("All stores"))  # fmt: skip

    def __init__(self, *args, stores: QuerySet[Store], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


# --- opening a cycle ------------------------------------------------------------------------------


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return f"{obj.store.name} / {obj.name}"


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AppraisalTemplate) -> str:
        return obj.name


class ErrorLinksMixin:
    def error_links(self) -> list[tuple[str, str, str]]:
        """(field label, first error, anchor) of each field in error, for the summary above the form."""
        return [
            (str(self.fields[name].label), str(errors[0]), self[name].id_for_label)
            for name, errors in self.errors.items()
            if name in self.fields
        ]


class CycleForm(ErrorLinksMixin, forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False,
                                   help_text=_("Empty when a team is chosen: the team's store."))  # fmt: skip
    team = TeamChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                           empty_label=_("The whole store (every team)"),
                           help_text=_("Empty: one cycle for all the store's members."))  # fmt: skip
    month = MonthField(label=_("Month"), help_text=_("The month appraised, usually the one just ended."))
    template = TemplateChoiceField(label=_("Appraisal template"), queryset=AppraisalTemplate.objects.none(),
                                   empty_label=None)  # fmt: skip
    self_review_due = forms.DateField(label=_("Self review due"), required=False, widget=DATE)
    manager_review_due = forms.DateField(label=_("Manager review due"), required=False, widget=DATE)
    calibration_due = forms.DateField(label=_("Calibration due"), required=False, widget=DATE)

    DEADLINES = ("self_review_due", "manager_review_due", "calibration_due")

    def __init__(self, *args, viewer: Viewer, **kwargs):
        super().__init__(*args, **kwargs)
        stores = store_list_for_cycles(viewer=viewer)
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = team_list_for_cycles(viewer=viewer)
        # Current versions only: a retired one stays with the cycles that used it.
        self.fields["template"].queryset = AppraisalTemplate.objects.filter(
            Q(store__isnull=True) | Q(store__in=stores), retired_at__isnull=True
        ).order_by("store", "name_zh")

    @staticmethod
    def initial_for(*, month: dt.date, store: Store | None = None, team: Team | None = None) -> dict:
        """Suggested values: the month, and deadlines 5, 10 and 15 days after its end."""
        end = month_last(month)
        return {
            "month": month,
            "store": team.store if team else store,
            "team": team,
            "self_review_due": end + dt.timedelta(days=5),
            "manager_review_due": end + dt.timedelta(days=10),
            "calibration_due": end + dt.timedelta(days=15),
        }

    def clean(self):
        cleaned = super().clean()
        store, team, template = cleaned.get("store"), cleaned.get("team"), cleaned.get("template")
        if store is None and team is not None:
            store = cleaned["store"] = team.store
        if store is None and "store" not in self.errors:
            self.add_error("store", _("Choose a store, or a team."))
        if store and team and team.store_id != store.pk:
            self.add_error("team", _("The team belongs to another store."))
        if store and template and template.store_id not in (None, store.pk):
            self.add_error("template", _("This template belongs to another store."))
        dates = [(name, cleaned.get(name)) for name in self.DEADLINES]
        present = [(name, day) for name, day in dates if day]
        for (_first, earlier), (name, later) in itertools.pairwise(present):
            if later < earlier:
                self.add_error(name, _("Deadlines follow each other: self review, manager review, calibration."))
        return cleaned

    def deadlines(self) -> dict[str, dt.date]:
        return {name: self.cleaned_data[name] for name in self.DEADLINES if self.cleaned_data.get(name)}


# --- moving a cycle on ------------------------------------------------------------------------------


class AdvanceForm(forms.Form):
    to = forms.ChoiceField(choices=CycleState.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


# --- ratings ---------------------------------------------------------------------------------------


class RatingsForm(forms.Form):
    """1–5 ratings of the template's rating items in one role (self or manager), a comment for
    each, the overall comment and, in calibration, the reason for a change.

    Fields: score_<item id>, note_<item id>, comment, reason. Only what changed is saved."""

    def __init__(self, *args, items: list[Item], ratings: dict[int, Rating], comment: str, editable: bool,
                 comment_label, reason_required: bool = False, **kwargs):  # fmt: skip
        initial = {"comment": comment}
        for item in items:
            rating = ratings.get(item.pk)
            initial[f"score_{item.pk}"] = rating.score if rating else None
            initial[f"note_{item.pk}"] = rating.comment if rating else ""
        super().__init__(*args, initial=initial, **kwargs)
        self.items = items
        self.reason_required = reason_required
        for item in items:
            self.fields[f"score_{item.pk}"] = forms.TypedChoiceField(
                label=item.name, choices=SCORES, coerce=int, empty_value=None, required=False,
                widget=forms.RadioSelect(attrs={"class": "rating-radio"}),
            )  # fmt: skip
            self.fields[f"note_{item.pk}"] = forms.CharField(
                label=_("Comment on %(item)s") % {"item": item.name}, required=False, max_length=COMMENT_MAX,
                widget=forms.TextInput(attrs={"placeholder": _("Optional: an example that supports the rating")}),
            )  # fmt: skip
        self.fields["comment"] = forms.CharField(label=comment_label, required=False,
                                                 widget=forms.Textarea(attrs={"rows": 4}))  # fmt: skip
        if reason_required:
            self.fields["reason"] = forms.CharField(
                label=_("Reason for the change"), required=False, max_length=500,
                help_text=_("Required in calibration: it is written to the audit trail."),
                widget=forms.Textarea(attrs={"rows": 2}),
            )  # fmt: skip
        if not editable:
            for field in self.fields.values():
                field.disabled = True

    def rows(self, rating_rows: list) -> list[tuple]:
        """(rating row, score field, note field) for the template, in the sheet's order."""
        return [(row, self[f"score_{row.item.pk}"], self[f"note_{row.item.pk}"]) for row in rating_rows]

    def error_links(self) -> list[tuple[str, str, str]]:
        """(field label, first error, anchor) of each field in error, for the summary above the form."""
        links = []
        for name, errors in self.errors.items():
            if name not in self.fields:
                continue
            rating = name.startswith(("score_", "note_"))
            anchor = f"item-{name.split('_', 1)[1]}" if rating else self[name].id_for_label
            links.append((str(self.fields[name].label), str(errors[0]), anchor))
        return links

    def changed_items(self) -> list[Item]:
        changed = set(self.changed_data)
        return [item for item in self.items if {f"score_{item.pk}", f"note_{item.pk}"} & changed]

    def clean(self):
        cleaned = super().clean()
        for item in self.changed_items():
            if cleaned.get(f"score_{item.pk}") is None and cleaned.get(f"note_{item.pk}"):
                self.add_error(f"score_{item.pk}", _("Give a rating from 1 to 5 to go with the comment."))
        if self.reason_required and self.has_changed() and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the appraisal changes in calibration."))
        return cleaned


# --- HR's decision on a KPI item without data ------------------------------------------------------

WITHDRAW = "withdraw"
HUNDRED = Decimal(100)
# What a value is typed in, by the KPI's unit (a rate as a percentage: 12.5 for 12.5%).
UNIT_HINTS = {Unit.MONEY: _("In yuan."), Unit.RATE: _("As a percentage: 12.5 for 12.5%."),
              Unit.SECONDS: _("In seconds."), Unit.DAYS: _("In days.")}  # fmt: skip


class DecisionForm(ErrorLinksMixin, forms.Form):
    """One KPI item's decision: the value to score it from, or its exclusion for this member, or
    withdrawing the decision; always with a reason. Fields are prefixed with the item's id, so
    that every item without data has its own form on the page."""

    action = forms.ChoiceField(choices=[(DecisionKind.VALUE, _("Enter a value")),
                                        (DecisionKind.EXCLUDE, _("Exclude the item for this member")),
                                        (WITHDRAW, _("Withdraw the decision"))],
                               widget=forms.RadioSelect)  # fmt: skip
    value = forms.DecimalField(required=False, max_digits=18, decimal_places=6,
                               widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))  # fmt: skip
    reason = forms.CharField(
        label=_("Reason"), max_length=500, help_text=_("Written to the audit trail with your name."),
        widget=forms.TextInput(attrs={"placeholder": _("For example: no account assigned this month")}),
    )  # fmt: skip

    def __init__(self, *args, item: Item, decision: ItemDecision | None = None, **kwargs):
        self.item = item
        self.kpi = KPI_BY_KEY.get(item.kpi_key)
        unit = self.kpi.unit if self.kpi else None
        initial = {"action": decision.kind if decision else DecisionKind.VALUE}
        if decision is not None and decision.value is not None:
            shown = decision.value * HUNDRED if unit == Unit.RATE else decision.value
            initial["value"] = f"{shown.normalize():f}"
        super().__init__(*args, prefix=f"d{item.pk}", initial=initial, **kwargs)
        self.fields["value"].label = self.kpi.label if self.kpi else item.name
        self.fields["value"].help_text = UNIT_HINTS.get(unit, "")

    def clean(self):
        cleaned = super().clean()
        action, value = cleaned.get("action"), cleaned.get("value")
        if action == DecisionKind.VALUE and value is None and "value" not in self.errors:
            self.add_error("value", _("Enter the value the item is scored from."))
        if action == DecisionKind.VALUE and value is not None and self.kpi and self.kpi.unit == Unit.RATE:
            cleaned["value"] = value / HUNDRED  # typed as a percentage; the KPI is a fraction
        return cleaned
