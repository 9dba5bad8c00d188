"""The filter form every dashboard page shares."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from perfmgmt.common.periods import DATE_MAX, DATE_MIN, PRESETS
from teams.models import Member, Store, Team

# The days a dashboard may ask for, the API's bounds: the period's previous period and week starts
# are computed by subtracting days, which overflows near year 1.
DAY_BOUNDS = [MinValueValidator(DATE_MIN), MaxValueValidator(DATE_MAX)]


class DashboardFilterForm(forms.Form):
    """The filters every dashboard shares; all of them live in the URL so a view can be
    bookmarked and shared. Invalid values fall back to the defaults (with a message)."""

    preset = forms.ChoiceField(label=_("Period"), choices=list(PRESETS.items()), required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=DAY_BOUNDS
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=DAY_BOUNDS
    )
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    member = forms.ModelChoiceField(label=_("Member"), queryset=Member.objects.none(), required=False)
    kpi = forms.ChoiceField(label=_("Trend of"), required=False)

    def __init__(self, *args, stores=None, teams=None, members=None, kpis=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name, queryset in (("store", stores), ("team", teams), ("member", members)):
            if queryset is None:
                del self.fields[name]
            else:
                self.fields[name].queryset = queryset
                self.fields[name].empty_label = _("All") if name == "store" else "—"
        if "team" in self.fields:
            # The label names the store: read it with the teams, not one query per option.
            self.fields["team"].queryset = self.fields["team"].queryset.select_related("store")
            self.fields["team"].label_from_instance = lambda team: f"{team.store.name} / {team.name}"
        if kpis:
            self.fields["kpi"].choices = list(kpis)
        else:
            del self.fields["kpi"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("preset") == "custom" and not (cleaned.get("start") and cleaned.get("end")):
            self.add_error("start", _("A custom range needs both dates."))
        return cleaned

    def value(self, name: str, default=None):
        """The cleaned value of a field, or `default` when it is missing or invalid."""
        if not self.is_bound:
            return default
        cleaned = getattr(self, "cleaned_data", {})
        value = cleaned.get(name)
        return default if value in (None, "") else value
