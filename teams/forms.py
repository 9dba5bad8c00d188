import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from teams.models import Member, Platform, Role, Store, Team, TeamKind
from teams.services.organisation import STORE_LIMITS


def form_service_errors(*, form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError on the form's fields (the rest above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class DayInput(forms.DateInput):
    """ISO format: the only one an <input type="date"> accepts, whatever the page language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


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


class StaffCostForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    amount = forms.DecimalField(label=_("Staff cost (yuan)"), min_value=0, max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores if stores is not None else Store.objects.none()


# --- organisation -------------------------------------------------------------------------------


class StoreForm(forms.Form):
    """A store's name and settings; `editable` names the fields the viewer may change (a manager
    does not rename a store: imports find it by the name the platform's exports give it)."""

    name = forms.CharField(
        label=_("Store name"),
        max_length=120,
        help_text=_("Exactly as the store-name column of the platform's exports writes it."),
    )
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices, initial=Platform.TAOBAO)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial=settings.TIME_ZONE,
                                  help_text=_("The store's days and hours. Fixed once data is imported."))  # fmt: skip
    attribution_window_hours = forms.IntegerField(
        label=_("Attribution window (hours)"), initial=24, min_value=STORE_LIMITS["attribution_window_hours"][0],
        max_value=STORE_LIMITS["attribution_window_hours"][1],
        help_text=_("An order is credited to the buyer's latest chat that started at most this many hours earlier."),
    )  # fmt: skip
    stuck_deal_days = forms.IntegerField(
        label=_("Negotiation days before a deal is stuck"), initial=7, min_value=STORE_LIMITS["stuck_deal_days"][0],
        max_value=STORE_LIMITS["stuck_deal_days"][1],
    )  # fmt: skip
    stuck_deal_response_hours = forms.IntegerField(
        label=_("Hours the manager has to answer a breakthrough plan"), initial=12,
        min_value=STORE_LIMITS["stuck_deal_response_hours"][0], max_value=STORE_LIMITS["stuck_deal_response_hours"][1],
    )  # fmt: skip

    def __init__(self, *args, editable=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()
        if editable is not None:
            for name in set(self.fields) - set(editable):
                del self.fields[name]


class TeamForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    name = forms.CharField(label=_("Team name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices, initial=TeamKind.PRESALES)
    lead = forms.ModelChoiceField(
        label=_("Team lead"), queryset=Member.objects.none(), required=False, empty_label=_("No lead"),
        help_text=_("A member of the team now. The lead sees the team's members and their figures."),
    )  # fmt: skip

    def __init__(self, *args, stores=None, leads=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is None:  # editing: a team stays in its store
            del self.fields["store"]
        else:
            self.fields["store"].queryset = stores
        if leads is None:  # a new team: its lead is chosen once someone is in it
            del self.fields["lead"]
        else:
            self.fields["lead"].queryset = leads


class MemberForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=120)
    employee_number = forms.CharField(label=_("Employee number"), max_length=40, required=False)
    hire_date = forms.DateField(label=_("Hire date"), required=False, widget=DayInput())
    confirmed_date = forms.DateField(label=_("Confirmed on"), required=False, widget=DayInput(),
                                     help_text=_("The day the probation was passed."))  # fmt: skip
    leave_date = forms.DateField(
        label=_("Leave date"),
        required=False,
        widget=DayInput(),
        help_text=_("Last working day. A day already past ends their team and accounts on it."),
    )
    active = forms.BooleanField(label=_("Active"), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), empty_label=None)
    start_date = forms.DateField(label=_("In the team from"), required=False, widget=DayInput(),
                                 help_text=_("Empty: from the hire date (or today)."))  # fmt: skip

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is None:  # editing: team moves have their own form, with their dates
            del self.fields["team"], self.fields["start_date"]
        else:  # a new member: no leave date yet, and active
            del self.fields["leave_date"], self.fields["active"]
            self.fields["team"].queryset = teams
            self.fields["team"].label_from_instance = lambda team: f"{team.store.name} / {team.name}"

    def clean(self):
        data = super().clean()
        # A leave date just set to a past day makes the member inactive, unless the box was changed too.
        if "active" in self.fields and "leave_date" in self.changed_data and "active" not in self.changed_data:
            data.pop("active", None)
        return data


class MembershipMoveForm(forms.Form):
    team = forms.ModelChoiceField(label=_("New team"), queryset=Team.objects.none(), empty_label=None)
    start_date = forms.DateField(
        label=_("From"),
        widget=DayInput(),
        help_text=_("First day in the new team; the current team ends the day before."),
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()
        self.fields["team"].label_from_instance = lambda team: f"{team.store.name} / {team.name}"
        self.fields["start_date"].initial = timezone.localdate()


class PlatformAccountForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    name = forms.CharField(
        label=_("Account name"),
        max_length=120,
        help_text=_("Exactly as the platform's exports write it, e.g. 衣衣风尚:客服05."),
    )

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores if stores is not None else Store.objects.none()


# --- logins and roles ---------------------------------------------------------------------------


class InviteForm(forms.Form):
    member = forms.ModelChoiceField(
        label=_("Member"), queryset=Member.objects.none(), required=False, empty_label=_("Not a member"),
        help_text=_("Whose login it is: they will see their own figures, appraisals and pay."),
    )  # fmt: skip
    username = forms.CharField(label=_("Username"), max_length=150,
                               help_text=_("Letters, digits and @/./+/-/_ only, e.g. an employee number."))  # fmt: skip
    first_name = forms.CharField(label=_("Name"), max_length=150, required=False,
                                 help_text=_("Shown in the header; empty: the member's name."))  # fmt: skip
    email = forms.EmailField(label=_("E-mail"), required=False)

    def __init__(self, *args, members=None, member_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members if members is not None else Member.objects.none()
        self.fields["member"].required = member_required
        if member_required:
            self.fields["member"].empty_label = _("Choose a member")


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False,
                                   empty_label="—", help_text=_("For a manager only."))  # fmt: skip

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores if stores is not None else Store.objects.none()


class SetupUserForm(SetPasswordMixin, forms.Form):
    """The first administrator: a username, and a password that passes Django's validators, twice
    (Django's own password fields and checks, as its password-reset form has them)."""

    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False, help_text=_("Optional."))
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean(self):
        data = super().clean()
        self.validate_passwords()
        user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
        self.validate_password_for_user(user)
        return data


# Django 5.2 rewrote this validator's message and its Chinese catalogue has not caught up, so the
# project's catalogue carries the translation; this line keeps the entry there for makemessages.
PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    "min_length",
)
