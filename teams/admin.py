from django.contrib import admin
from django.utils import timezone

from teams.models import (
    AccountAssignment,
    Member,
    PlatformAccount,
    RoleGrant,
    StaffCost,
    Store,
    Team,
    TeamMembership,
)
from teams.services.history import history_watch
from teams.services.members import members_deactivate_departed


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "time_zone", "attribution_window_hours"]
    list_filter = ["platform"]
    search_fields = ["name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "kind", "lead"]
    list_filter = ["store", "kind"]
    search_fields = ["name"]
    autocomplete_fields = ["lead"]


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0


class AccountAssignmentInline(admin.TabularInline):
    model = AccountAssignment
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["account"]
    exclude = ["assigned_by"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "employee_number", "user", "hire_date", "leave_date", "active"]
    list_filter = ["active"]
    search_fields = ["display_name", "employee_number"]
    autocomplete_fields = ["user"]
    inlines = [TeamMembershipInline, AccountAssignmentInline]

    def save_related(self, request, form, formsets, change) -> None:
        """The memberships and assignments edited here, and a leave date already past, are one
        change of the member's histories: the figures of the days whose holder or team changed
        are recomputed once the form's transaction commits, as after the services' changes
        (teams.services.history). A leave date before today ends the open periods now, as the
        nightly job would have at midnight; a later one is left to that job."""
        with history_watch(member_ids=[form.instance.pk]):
            super().save_related(request, form, formsets, change)
            members_deactivate_departed(today=timezone.localdate(), member_ids=[form.instance.pk])


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "first_seen_at"]
    list_filter = ["store"]
    search_fields = ["name"]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "store"]
    list_filter = ["role", "store"]
    autocomplete_fields = ["user"]


@admin.register(StaffCost)
class StaffCostAdmin(admin.ModelAdmin):
    list_display = ["store", "month", "amount_cents", "note", "updated_at"]
    list_filter = ["store"]
