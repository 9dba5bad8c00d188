from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from teams.api.filters import MAX_ID, DayField
from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team, TeamMembership


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "name", "platform", "time_zone", "attribution_window_hours"]


class TeamSerializer(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)
    lead_name = serializers.CharField(source="lead.display_name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "store", "store_name", "name", "kind", "lead", "lead_name"]


class TeamMembershipSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["team", "team_name", "start_date", "end_date"]


class MemberSerializer(serializers.ModelSerializer):
    memberships = TeamMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = Member
        fields = ["id", "display_name", "employee_number", "hire_date", "leave_date", "active", "memberships"]


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


class AccountAssignRequestSerializer(serializers.Serializer):
    member = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Id of a member in one of the account's store's teams.")
    )
    start_date = DayField(help_text=_("First day (inclusive) the member uses the account."))


class AccountAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountAssignment
        fields = ["id", "account", "member", "start_date", "end_date"]
