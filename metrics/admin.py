"""Admin for what has no page of its own yet: counted behaviours; and a look at targets and
promotions for administrators."""

from django.contrib import admin

from metrics.models import Behaviour, BehaviourRecord, Campaign, CampaignPhase, Target


@admin.register(Behaviour)
class BehaviourAdmin(admin.ModelAdmin):
    list_display = ["name", "store", "unit", "description"]
    list_filter = ["store"]
    search_fields = ["name"]


@admin.register(BehaviourRecord)
class BehaviourRecordAdmin(admin.ModelAdmin):
    list_display = ["date", "member", "behaviour", "count", "recorded_by"]
    list_filter = ["behaviour__store", "behaviour"]
    date_hierarchy = "date"


class CampaignPhaseInline(admin.TabularInline):
    model = CampaignPhase
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "store", "created_at"]
    list_filter = ["kind", "store"]
    inlines = [CampaignPhaseInline]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "kpi_key", "behaviour", "store", "team", "member", "start", "end", "value"]
    list_filter = ["tier", "store", "period_kind"]
    search_fields = ["name"]
    raw_id_fields = ["parent", "member", "team", "owner", "created_by", "phase"]
