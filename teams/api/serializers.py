import zoneinfo

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from teams.api.filters import MAX_ID, DayField
from teams.models import (
    AccountAssignment,
    Member,
    Platform,
    PlatformAccount,
    Role,
    RoleGrant,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)
from teams.services.organisation import STORE_LIMITS


def IdField(**kwargs) -> serializers.IntegerField:
    """An object's id in a request body: 1 … MAX_ID."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "name", "platform", "time_zone", "attribution_window_hours", "stuck_deal_days",
                  "stuck_deal_response_hours"]  # fmt: skip


def _limited(name: str, **kwargs) -> serializers.IntegerField:
    low, high = STORE_LIMITS[name]
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


@extend_schema_field({"type": "string", "enum": sorted(zoneinfo.available_timezones())})
class TimeZoneField(serializers.CharField):
    """An IANA zone name: the schema lists those the store's model accepts (its validator reads
    the same `zoneinfo.available_timezones()`), and the model refuses any other with its message."""


class StoreWriteSerializer(serializers.Serializer):
    """A store to create (a name at least) or change (any of these; managers all but the name)."""

    name = serializers.CharField(max_length=120, help_text=_("Exactly as the platform's exports name the store."))
    platform = serializers.ChoiceField(choices=Platform.choices, required=False)
    time_zone = TimeZoneField(
        max_length=64, required=False, help_text=_("An IANA zone such as Asia/Shanghai; fixed once data is imported.")
    )
    attribution_window_hours = _limited("attribution_window_hours", required=False)
    stuck_deal_days = _limited("stuck_deal_days", required=False)
    stuck_deal_response_hours = _limited("stuck_deal_response_hours", required=False)


class TeamSerializer(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)
    lead_name = serializers.CharField(source="lead.display_name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "store", "store_name", "name", "kind", "lead", "lead_name"]


class TeamCreateSerializer(serializers.Serializer):
    store = IdField(help_text=_("One of the stores you run."))
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=TeamKind.choices, required=False)


class TeamUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=TeamKind.choices, required=False)
    lead = IdField(required=False, allow_null=True, help_text=_("A member in the team now; null: no lead."))


class TeamMembershipSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["team", "team_name", "start_date", "end_date"]


class MemberSerializer(serializers.ModelSerializer):
    memberships = TeamMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = Member
        fields = ["id", "display_name", "employee_number", "hire_date", "confirmed_date", "leave_date", "active",
                  "memberships"]  # fmt: skip


class MemberWriteSerializer(serializers.Serializer):
    """A member to change (any of these fields) or, with `team`, to create."""

    display_name = serializers.CharField(max_length=120)
    employee_number = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    hire_date = DayField(required=False, allow_null=True)
    confirmed_date = DayField(required=False, allow_null=True, help_text=_("The day the probation was passed."))
    leave_date = DayField(
        required=False,
        allow_null=True,
        help_text=_("Last working day; a day already past ends their team and accounts on it."),
    )
    active = serializers.BooleanField(required=False, help_text=_("Left out: follows the leave date."))


class MemberCreateSerializer(MemberWriteSerializer):
    leave_date = None
    active = None
    team = IdField(required=False, help_text=_("The member's first team (required for managers: one of theirs)."))
    start_date = DayField(required=False, help_text=_("First day in the team; default the hire date, else today."))


class MembershipMoveSerializer(serializers.Serializer):
    team = IdField(help_text=_("The new team: one of the teams you run."))
    start_date = DayField(help_text=_("First day in the new team; the current one ends the day before."))


class MembershipSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeamMembership
        fields = ["id", "member", "team", "start_date", "end_date"]


class PlatformAccountSerializer(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)
    current_member = serializers.IntegerField(source="current_member_id", read_only=True, allow_null=True)
    current_member_name = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = PlatformAccount
        fields = [
            "id",
            "store",
            "store_name",
            "name",
            "first_seen_at",
            "current_member",
            "current_member_name",
        ]


class PlatformAccountCreateSerializer(serializers.Serializer):
    store = IdField(help_text=_("One of the stores you run."))
    name = serializers.CharField(max_length=120, help_text=_("Exactly as the platform's exports write it."))


class AccountAssignRequestSerializer(serializers.Serializer):
    member = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Id of a member in one of the account's store's teams.")
    )
    start_date = DayField(help_text=_("First day (inclusive) the member uses the account."))


class AccountAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountAssignment
        fields = ["id", "account", "member", "start_date", "end_date"]


# --- logins and roles ---------------------------------------------------------------------------


class RoleGrantSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    store_name = serializers.CharField(source="store.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = RoleGrant
        fields = ["id", "user", "username", "role", "store", "store_name"]


class RoleGrantCreateSerializer(serializers.Serializer):
    user = IdField()
    role = serializers.ChoiceField(choices=Role.choices)
    store = IdField(required=False, allow_null=True, help_text=_("The store of a manager; none for HR and admin."))


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True, help_text=_("False: deactivated, cannot sign in."))
    is_superuser = serializers.BooleanField(read_only=True, help_text=_("An administrator of everything."))
    has_password = serializers.SerializerMethodField(help_text=_("False until the one-time link was used."))
    member = serializers.SerializerMethodField()
    member_name = serializers.SerializerMethodField()
    grants = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()

    def _member(self, user):
        return getattr(user, "member", None)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_member(self, user) -> int | None:
        member = self._member(user)
        return member.pk if member else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_member_name(self, user) -> str | None:
        member = self._member(user)
        return member.display_name if member else None

    @extend_schema_field(RoleGrantSerializer(many=True))
    def get_grants(self, user) -> list:
        return RoleGrantSerializer(user.role_grants.all(), many=True).data


class UserInviteSerializer(serializers.Serializer):
    member = IdField(
        required=False,
        allow_null=True,
        help_text=_("The member whose login it is; required for managers (one of theirs, without a login)."),
    )
    username = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class PasswordLinkSerializer(serializers.Serializer):
    user = UserSerializer()
    url = serializers.CharField(help_text=_("The one-time link to set the password: give it to its owner."))
    expires_at = serializers.DateTimeField()
    emailed_to = serializers.CharField(help_text=_("The address it is e-mailed to; empty when it is not."))
