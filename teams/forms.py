from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from teams.models import Member


class AccountAssignForm(forms.Form):
    member = forms.ModelChoiceField(queryset=Member.objects.none(), label=_("Member"), empty_label=_("Choose a member"))
    start_date = forms.DateField(
        label=_("From"),
        # ISO format: the only one an <input type="date"> accepts, whatever the page language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("First day the member uses this account."),
    )

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        if members is not None:
            self.fields["member"].queryset = members
        self.fields["start_date"].initial = timezone.localdate()
