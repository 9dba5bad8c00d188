import django_filters

from teams.models import Member, PlatformAccount, Team


class TeamFilter(django_filters.FilterSet):
    class Meta:
        model = Team
        fields = ["store", "kind", "lead"]


class MemberFilter(django_filters.FilterSet):
    team = django_filters.NumberFilter(field_name="memberships__team", distinct=True, label="team")
    store = django_filters.NumberFilter(field_name="memberships__team__store", distinct=True, label="store")

    class Meta:
        model = Member
        fields = ["active", "team", "store"]


class PlatformAccountFilter(django_filters.FilterSet):
    assigned = django_filters.BooleanFilter(method="filter_assigned", label="assigned")

    class Meta:
        model = PlatformAccount
        fields = ["store", "assigned"]

    def filter_assigned(self, queryset, name, value):
        return queryset.filter(current_member_id__isnull=not value)
