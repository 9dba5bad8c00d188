"""The revenue decomposition's forms: the scope (whose target, which days), then the figures."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.models import (
    Behaviour,
    PeriodKind,
)
from metrics.targets.decomposition import LEADS
from metrics.targets.forms.fields import (
    DATE,
    NUMBER,
    WEEKDAYS,
    PercentField,
    period_end,
    team_label,
)
from perfmgmt.common.periods import Period, month_next
from teams.models import Member, Store, Team
from teams.selectors.scoping import (
    Viewer,
    store_list_target_editable,
    team_list_target_editable,
)


def quarter_choices(today: dt.date) -> list[tuple[str, str]]:
    """The previous quarter, this one and the next four."""
    current = (today.year, (today.month - 1) // 3 + 1)
    choices = []
    for offset in range(-1, 5):
        index = current[0] * 4 + current[1] - 1 + offset
        year, quarter = divmod(index, 4)
        choices.append((f"{year}-Q{quarter + 1}", f"{year} Q{quarter + 1}"))
    return choices


PERIOD_CHOICES = [("month", _("A month")), ("quarter", _("A quarter")), ("custom", _("From … to …"))]
SPLIT_CHOICES = [
    ("equal", _("Equally")),
    ("last_period", _("By each member's GMV in the last complete period")),
    ("manual", _("By hand")),
]


class DecomposeScopeForm(forms.Form):
    """Step one: whose target, and for which days."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("— the whole store —")
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, initial="month", widget=forms.RadioSelect)
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-09"})
    )
    quarter = forms.ChoiceField(label=_("Quarter"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=DATE)
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=DATE)

    def __init__(self, *args, viewer: Viewer, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = store_list_target_editable(viewer=viewer)
        self.fields["team"].queryset = team_list_target_editable(viewer=viewer)
        self.fields["team"].label_from_instance = team_label
        self.fields["quarter"].choices = quarter_choices(today)
        next_month = month_next(today)
        self.fields["month"].initial = f"{next_month:%Y-%m}"
        self.fields["quarter"].initial = quarter_choices(today)[2][0]
        if self.is_bound:  # the choices not taken keep their defaults on the page
            data = self.data.copy()
            for name in ("month", "quarter"):
                if not data.get(name):
                    data[name] = self.fields[name].initial
            self.data = data

    def clean(self):
        data = super().clean()
        store, team = data.get("store"), data.get("team")
        if store is not None and team is not None and team.store_id != store.pk:
            self.add_error("team", _("This team belongs to another store."))
        kind = data.get("period")
        if kind == "month":
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", data.get("month") or "")
            if not match or not 1 <= int(match[2]) <= 12:
                self.add_error("month", _("Choose a month, as 2026-09."))
            else:
                first = dt.date(int(match[1]), int(match[2]), 1)
                data["resolved"] = Period(first, period_end(PeriodKind.MONTH, first))
        elif kind == "quarter":
            match = re.fullmatch(r"(\d{4})-Q([1-4])", data.get("quarter") or "")
            if not match:
                self.add_error("quarter", _("Choose a quarter."))
            else:
                first = dt.date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1)
                data["resolved"] = Period(first, period_end(PeriodKind.QUARTER, first))
        elif kind == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start" if not start else "end", _("Give the first and the last day."))
            elif end < start:
                self.add_error("end", _("The last day is before the first."))
            elif (end - start).days > 366:
                self.add_error("end", _("A period of at most a year, please."))
            else:
                data["resolved"] = Period(start, end)
        return data

    @property
    def resolved_period(self) -> Period:
        return self.cleaned_data["resolved"]

    @property
    def period_kind(self) -> str:
        return {"month": PeriodKind.MONTH, "quarter": PeriodKind.QUARTER}.get(
            self.cleaned_data["period"], PeriodKind.CUSTOM
        )


class DecomposeFiguresForm(forms.Form):
    """Step two: the revenue and the rates it is worked back through, prefilled from history."""

    revenue = forms.DecimalField(
        label=_("Revenue target (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", "placeholder": "1000000"}),
    )
    returning_share = PercentField(
        label=_("Returning customers' share of revenue (%)"),
        help_text=_("The rest comes from new customers."),
    )
    new_value_per_deal = forms.DecimalField(
        label=_("Value of a new customer's deal (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=NUMBER,
    )
    lead_conversion = PercentField(
        label=_("Lead conversion (%)"),
        allow_zero=False,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100", "placeholder": "6"}),
        help_text=_("New customers reached (leads) who buy."),
    )
    returning_order_value = forms.DecimalField(
        label=_("Value of a returning customer's order (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=NUMBER,
    )
    orders_per_buyer = forms.DecimalField(
        label=_("Orders per paying buyer"),
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=4,
        initial=1,
        widget=NUMBER,
    )
    inquiry_conversion = PercentField(
        label=_("Inquiry conversion (%)"),
        required=False,
        allow_zero=False,
        help_text=_("Paying buyers / inquiring buyers. Empty: no inquiries target."),
    )
    uv_conversion = PercentField(
        label=_("Store conversion (%)"),
        required=False,
        allow_zero=False,
        help_text=_("Paying buyers / visitors. Empty: no visitors target."),
    )
    working_weekdays = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[0, 1, 2, 3, 4, 5],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
    )
    pace_by_weights = forms.BooleanField(
        label=_("Weigh the days by the store's sales per weekday"),
        required=False,
        help_text=_(
            "Each weekday's share of the store's sales in the 8 weeks before; the saved targets expect "
            "their progress by the same weights. Unticked: every working day carries the same share."
        ),
    )
    period_kind = forms.ChoiceField(
        label=_("Saved as a target of the period"),
        required=False,
        choices=[("", _("As chosen above")), *PeriodKind.choices],
    )
    split = forms.ChoiceField(
        label=_("Split between members"), choices=SPLIT_CHOICES, initial="equal", widget=forms.RadioSelect
    )
    leads_behaviour = forms.ModelChoiceField(
        label=_("Leads are counted as"),
        queryset=Behaviour.objects.none(),
        required=False,
        empty_label=_("— not counted: aim at inquiring buyers instead —"),
        help_text=_("A behaviour staff record, to give each member a weekly leads target."),
    )
    name = forms.CharField(label=_("Name of the revenue target"), max_length=120, required=False)

    def __init__(self, *args, store: Store | None, members: list[Member], chain: str = LEADS, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        self.chain = chain
        if chain == LEADS:
            behaviours = Behaviour.objects.filter(store=store) if store else Behaviour.objects.none()
            self.fields["leads_behaviour"].queryset = behaviours
        else:
            # A service team has no leads: it sells to the buyers who consult it, so the inquiry
            # conversion is what the revenue is worked back through, and is required.
            del self.fields["lead_conversion"], self.fields["leads_behaviour"]
            inquiry = self.fields["inquiry_conversion"]
            inquiry.required = True
            inquiry.help_text = _(
                "Paying buyers / inquiring buyers: of the buyers who consult the team, those who pay."
            )
            self.fields["new_value_per_deal"].label = _("New customers' average order value (yuan)")
            self.fields["returning_order_value"].label = _("Returning customers' average order value (yuan)")
        for member in members:
            self.fields[f"share_{member.pk}"] = forms.DecimalField(
                label=member.display_name,
                required=False,
                min_value=0,
                max_digits=9,
                decimal_places=4,
                widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
            )

    @property
    def share_fields(self) -> list:
        return [self[f"share_{member.pk}"] for member in self.members]

    def manual_shares(self) -> dict[int, Decimal]:
        return {
            member.pk: self.cleaned_data.get(f"share_{member.pk}") or Decimal(0)
            for member in self.members
            if self.cleaned_data.get(f"share_{member.pk}")
        }

    def clean(self):
        data = super().clean()
        if data.get("split") == "manual" and self.members and not self.manual_shares():
            self.add_error("split", _("Give at least one member a share, or split equally."))
        return data
