"""The form of a promotion: its store, kind, name, the days of its phases and focus values."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from metrics.models import (
    CampaignKind,
    PhaseKind,
)
from metrics.registry import KPI_BY_KEY
from metrics.targets.forms.fields import (
    DATE,
    PercentField,
)
from perfmgmt.common.numbers import percent_plain
from teams.models import Store
from teams.selectors.scoping import (
    Viewer,
    store_list_promotable,
)

FOCUS_KPIS = (
    ("answered_15s_rate", PhaseKind.PREHEAT),
    ("cart_to_pay_rate", PhaseKind.PEAK),
    ("inquiry_to_payment_rate", PhaseKind.PEAK),
    ("repurchase_7d_rate", PhaseKind.AFTER),
)


class PromotionForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=CampaignKind.choices, initial=CampaignKind.DOUBLE_11)
    name = forms.CharField(label=pgettext_lazy("promotion", "Name"), max_length=80)

    def __init__(self, *args, viewer: Viewer, focus_defaults: dict[str, Decimal], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = store_list_promotable(viewer=viewer)
        self.phase_rows = []
        for kind, label in PhaseKind.choices:
            self.fields[f"{kind}_start"] = forms.DateField(label=_("First day"), required=False, widget=DATE)
            self.fields[f"{kind}_end"] = forms.DateField(label=_("Last day"), required=False, widget=DATE)
            focus = []
            for key, phase in FOCUS_KPIS:
                if phase != kind:
                    continue
                kpi = KPI_BY_KEY[key]
                self.fields[f"focus_{key}"] = PercentField(
                    label=kpi.label, required=False, initial=percent_plain(focus_defaults.get(key), places="0.01")
                )
                focus.append(self[f"focus_{key}"])
            self.phase_rows.append((kind, label, self[f"{kind}_start"], self[f"{kind}_end"], focus))

    def clean(self):
        data = super().clean()
        phases = {}
        for kind, _label in PhaseKind.choices:
            start, end = data.get(f"{kind}_start"), data.get(f"{kind}_end")
            if start and end:
                if end < start:
                    self.add_error(f"{kind}_end", _("The last day is before the first."))
                else:
                    phases[kind] = (start, end)
            elif start or end:
                self.add_error(f"{kind}_end" if start else f"{kind}_start", _("Give both days, or neither."))
        if not phases and not self.errors:
            raise forms.ValidationError(_("Give the days of at least one phase."))
        data["phases"] = phases
        data["focus_values"] = {
            key: data[f"focus_{key}"] for key, _phase in FOCUS_KPIS if data.get(f"focus_{key}") is not None
        }
        return data
