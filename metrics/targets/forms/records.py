"""Staff's counts: whose and which day, then one count per behaviour."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from metrics.models import (
    Behaviour,
)
from metrics.targets.forms.fields import (
    DATE,
)
from teams.models import Member


class RecordPickForm(forms.Form):
    """Whose counts, and which day (GET)."""

    member = forms.ModelChoiceField(label=_("Member"), queryset=Member.objects.none(), required=False, empty_label=None)
    date = forms.DateField(label=_("Date"), required=False, widget=DATE)

    def __init__(self, *args, members: QuerySet[Member], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["date"].widget.attrs["max"] = f"{today:%Y-%m-%d}"


class RecordForm(forms.Form):
    """One count per behaviour of the member's stores for a day; empty counts are left alone."""

    date = forms.DateField(label=_("Date"), widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, behaviours: list[Behaviour], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.behaviours = behaviours
        self.today = today
        self.fields["date"].widget.attrs["max"] = f"{today:%Y-%m-%d}"
        for behaviour in behaviours:
            self.fields[f"count_{behaviour.pk}"] = forms.IntegerField(
                label=behaviour.name,
                required=False,
                min_value=0,
                max_value=100_000,
                help_text=behaviour.description,
                widget=forms.NumberInput(attrs={"min": "0", "step": "1", "inputmode": "numeric"}),
            )

    @property
    def count_fields(self) -> list:
        return [(behaviour, self[f"count_{behaviour.pk}"]) for behaviour in self.behaviours]

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day > self.today:
            raise forms.ValidationError(_("A day in the future cannot be recorded yet."))
        return day

    def clean(self):
        data = super().clean()
        if self.behaviours and not self.errors and all(data.get(f"count_{b.pk}") is None for b in self.behaviours):
            raise forms.ValidationError(_("Enter at least one count."))
        return data

    def counts(self) -> list[tuple[Behaviour, int]]:
        counts = [(b, self.cleaned_data.get(f"count_{b.pk}")) for b in self.behaviours]
        return [(behaviour, count) for behaviour, count in counts if count is not None]
