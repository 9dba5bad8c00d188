"""GET /api/kpis/: the export's rows as JSON, for what the user may see."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from metrics.kpis.exports import kpi_export_columns, kpi_export_rows_cached
from metrics.kpis.grouping import GRAINS
from metrics.registry import Level
from teams.api.filters import IdQueryField, QueryDateField
from teams.selectors.scoping import member_list, store_list, team_list, viewer_get


class KpiQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=[Level.MEMBER, Level.TEAM, Level.STORE], default=Level.MEMBER)
    grain = serializers.ChoiceField(choices=GRAINS, default="month")
    start = QueryDateField(help_text="First local day (default: 30 days before end).")
    end = QueryDateField(help_text="Last local day, inclusive (default: yesterday).")
    store = IdQueryField()
    team = IdQueryField()
    member = IdQueryField()
    page = serializers.IntegerField(required=False, min_value=1, help_text="A page of the rows (default 1).")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, help_text="Rows per page (default 100)."
    )

    def validate(self, attrs):
        attrs["end"] = attrs.get("end") or timezone.localdate() - dt.timedelta(days=1)
        attrs["start"] = attrs.get("start") or attrs["end"] - dt.timedelta(days=29)
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": _("The start is after the end.")})
        if (attrs["end"] - attrs["start"]).days > 731 and attrs["grain"] == "day":
            raise serializers.ValidationError(
                {"grain": _("Daily rows are limited to two years; choose a coarser grain.")}
            )
        return attrs


class KpiPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class KpiView(APIView):
    """KPIs per entity and period, every KPI of the level; rates are fractions, money strings with
    two decimals, empty (null) where undefined. Staff get their own member rows only; team totals
    need a team lead, manager, HR or admin; store totals a manager, HR or admin."""

    @extend_schema(
        parameters=[KpiQuerySerializer],
        responses={
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer"},
                        "next": {"type": "string", "format": "uri", "nullable": True},
                        "previous": {"type": "string", "format": "uri", "nullable": True},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "description": "One entity and period: its ids and names, period_start, then one "
                                "column per KPI of the level (money a string, rates fractions, null if undefined).",
                                "properties": {"period_start": {"type": "string", "format": "date"}},
                                "required": ["period_start"],
                                "additionalProperties": {},
                            },
                        },
                    },
                    "required": ["count", "next", "previous", "results"],
                },
                description="Paginated KPI rows",
            )
        },
    )
    def get(self, request):
        query = KpiQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        viewer = viewer_get(user=request.user)
        stores = store_list(viewer=viewer)
        member_ids = team_ids = None
        if q["level"] == Level.MEMBER:
            member_ids = list(member_list(viewer=viewer).values_list("id", flat=True))
        elif q["level"] == Level.TEAM:
            if not (viewer.sees_everything or viewer.is_manager or viewer.is_team_lead):
                raise PermissionDenied(_("Team totals are for team leads, managers and HR."))
            teams = team_list(viewer=viewer)
            if not viewer.sees_everything:
                teams = teams.filter(pk__in=viewer.led_team_ids) | teams.filter(store_id__in=viewer.managed_store_ids)
            team_ids = list(teams.values_list("id", flat=True))
        else:
            if not (viewer.sees_everything or viewer.is_manager):
                raise PermissionDenied(_("Store totals are for managers and HR."))
            if not viewer.sees_everything:
                stores = stores.filter(pk__in=viewer.managed_store_ids)
        if "store" in q:
            stores = stores.filter(pk=q["store"])
        if "team" in q and team_ids is not None:
            team_ids = [t for t in team_ids if t == q["team"]]
        if "member" in q and member_ids is not None:
            member_ids = [m for m in member_ids if m == q["member"]]
        columns = kpi_export_columns(level=q["level"])
        rows = kpi_export_rows_cached(
            level=q["level"],
            grain=q["grain"],
            start=q["start"],
            end=q["end"],
            store_ids=list(stores.values_list("id", flat=True)),
            member_ids=member_ids,
            team_ids=team_ids,
        )
        paginator = KpiPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([dict(zip(columns, _json(row), strict=True)) for row in page])


def _json(row):
    return [f"{v:.2f}" if isinstance(v, Decimal) else (round(v, 6) if isinstance(v, float) else v) for v in row]
