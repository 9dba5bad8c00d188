"""The dashboards as JSON: the same data as the pages (same filters, same scoping, same cache),
without the figures. Money is a string with two decimals, rates are fractions, undefined is null."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.dashboard_views import member_page_resolve, stores_page_resolve, team_page_resolve
from metrics.registry import Kpi, Unit
from metrics.selectors.dashboards import TargetRow
from teams.selectors.scoping import viewer_get

_FILTERS = [
    OpenApiParameter(
        "preset",
        OpenApiTypes.STR,
        description="today, yesterday, last7, last30 (default), this_week, this_month, last_month or custom",
    ),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First local day (preset=custom)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last local day, inclusive (preset=custom)."),
]
_TEAM_FILTERS = [
    *_FILTERS,
    OpenApiParameter("store", OpenApiTypes.INT),
    OpenApiParameter("team", OpenApiTypes.INT, description="Default: the first team the user oversees."),
    OpenApiParameter("kpi", OpenApiTypes.STR, description="KPI key of the trend (default gmv)."),
    OpenApiParameter("sort", OpenApiTypes.STR, description="KPI key of the leaderboard order; '-' ascending."),
]


def _exact(value):
    """Money (Decimal) as a string with two decimals, as in /api/kpis/; the rest unchanged."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    return value


def _period(period) -> dict:
    return {"start": period.start, "end": period.end}


def _number(kpi: Kpi | None, value):
    """A target's figure: money as Decimal (a string with two decimals in the answer), anything
    else (rates, seconds, counts, behaviours) as a number, unrounded."""
    if value is None:
        return None
    if kpi is not None and kpi.unit == Unit.MONEY:
        return Decimal(value).quantize(Decimal("0.01"))
    return float(value)


def _target(t: TargetRow | None) -> dict | None:
    if t is None:
        return None
    return {
        "id": t.target_id,
        "name": t.name,
        "kpi": t.kpi.key if t.kpi else None,
        "behaviour": t.behaviour or None,
        "level": t.level,
        "period_kind": t.period_kind,
        "start": t.start,
        "end": t.end,
        "direction": "at_least" if t.at_least else "at_most",
        "value": _number(t.kpi, t.value),
        "actual": _number(t.kpi, t.actual),
        "expected": _number(t.kpi, t.expected),
        "forecast": _number(t.kpi, t.forecast),
        "completion": None if t.completion is None else float(t.completion),
        "status": t.status,  # achieved, ahead, on_pace, behind, missed, not_started, no_data
        "as_of": t.as_of,
        "today_about": _number(t.kpi, t.today_about),
    }


def _sales(sales) -> dict:
    """A sales page's figures (null where the page's families have none): the pipeline funnel
    of the period's leads, the ageing of the open ones, the outbound calls by local hour."""
    ageing = sales.ageing if sales else None
    return {
        "pipeline_funnel": None
        if not sales or sales.funnel is None
        else [
            {
                "step": f.key,
                "label": f.label,
                "leads": f.count,
                "of_created": f.of_created,
                "of_previous": f.of_previous,
            }
            for f in sales.funnel
        ],
        "stage_ageing": None
        if ageing is None
        else {
            "as_of": ageing.as_of,
            "buckets": ageing.buckets,
            "stages": [
                {"stage": stage, "label": label, "leads": ageing.counts[stage]} for stage, label in ageing.stages
            ],
            "stuck_days": ageing.stuck_days,
            "stuck": ageing.stuck,
        },
        "calls_by_hour": None
        if not sales or sales.calls is None
        else [
            {"hour": r.hour, "dials": r.dials, "connected": r.connected, "connect_rate": r.rate} for r in sales.calls
        ],
    }


def _bands(bands) -> list[dict]:
    return [{"phase": b.kind, "label": b.label, "title": b.title, "start": b.start, "end": b.end} for b in bands]


class TeamDashboardApi(APIView):
    """The team dashboard of one team and period: cards with the previous period and their target,
    the daily trend with the team's target and promotion phases, the store funnel, the
    leaderboard, the response distribution, alerts and the RFM summary; for online and telesales
    teams the cards and leaderboard of their KPI families, the pipeline funnel, the stage ageing
    and the calls by hour instead of the shop's figures."""

    @extend_schema(parameters=_TEAM_FILTERS, responses={200: OpenApiResponse(description="Team dashboard")})
    def get(self, request):
        page = team_page_resolve(request)
        if page.redirect_to:  # staff without a team to oversee: their own page is /api/dashboards/me/
            raise PermissionDenied(_("The team dashboard is for managers, team leads and HR."))
        d = page.dashboard
        return Response(
            _exact(
                {
                    "store": {"id": page.team.store_id, "name": page.team.store.name},
                    "team": {"id": page.team.pk, "name": page.team.name},
                    "period": _period(d.period),
                    "previous_period": _period(d.previous),
                    "has_data": d.has_data,
                    # service; pipeline and/or calls for online and telesales teams
                    "families": [str(f) for f in d.families],
                    "cards": [
                        {
                            "kpi": c.kpi.key,
                            "value": c.value,
                            "previous": c.previous,
                            "change": c.change,
                            "change_in_points": c.points,
                            "good": c.good,
                            # The team's (else the store's) target covering the period's end.
                            "target": _target(c.target),
                        }
                        for c in d.cards
                    ],
                    "trend": {
                        "kpi": d.trend_kpi.key,
                        "days": d.trend["data"][0]["x"],
                        "values": d.trend["data"][0]["y"],
                        "target": [_number(d.trend_kpi, v) for v in d.trend_targets],
                        "promotions": _bands(d.bands),
                    },
                    "targets_as_of": d.targets_as_of,
                    "funnel": [{"step": label, "value": value} for label, value in d.funnel_steps],
                    "uv_by_channel": [{"channel": c, "uv": uv} for c, uv in d.uv_by_channel],
                    "leaderboard": {
                        "sort": d.sort,
                        "descending": d.descending,
                        "rows": [
                            {"rank": r.rank, "member": {"id": r.member_id, "name": r.name}, **r.values}
                            for r in d.leaderboard
                        ],
                    },
                    "first_response": d.response or None,
                    **_sales(d.sales),
                    "alerts": [
                        {
                            "member": {"id": a.member_id, "name": a.name},
                            "kind": a.kind,
                            "recent": a.recent,
                            "baseline": a.baseline,
                        }
                        for a in d.alerts
                    ],
                    "segments": {
                        "as_of": d.segments_as_of,
                        "churn_risk": d.churn_risk,
                        "rows": [
                            {"segment": k, "label": label, "buyers": b, "churn_risk": r}
                            for k, label, b, r in d.segments
                        ],
                    },
                }
            )
        )


def _member_payload(page) -> dict:
    d = page.dashboard
    return _exact(
        {
            "member": {"id": page.member.pk, "name": page.member.display_name},
            "team": None if d.team is None else {"id": d.team.pk, "name": d.team.name},
            "today": d.today,
            "spans": [{"label": label, **_period(span)} for label, span in d.spans],
            "kpis": {
                kpi.key: [
                    {"value": c.value, "team_median": c.team_median, "rank": c.rank, "ranked": c.ranked}
                    for c in d.cells[kpi.key]
                ]
                for kpi in d.kpis
            },
            "trend": {
                "kpi": d.trend_kpi.key,
                "period": _period(d.period),
                "days": d.trend["data"][0]["x"],
                "values": d.trend["data"][0]["y"],
                "team_median": d.trend["data"][1]["y"],
                "promotions": _bands(d.bands),
            },
            "families": [str(f) for f in d.families],
            "first_response": d.response or None,
            **_sales(d.sales),
            "alerts": [{"kind": a.kind, "recent": a.recent, "baseline": a.baseline} for a in d.alerts],
            # The member's own targets of today and this week, with their progress today.
            "targets": [_target(t) for t in d.targets],
        }
    )


class MemberDashboardApi(APIView):
    """One member's page: today, this week and this month against the team median and their rank;
    their trend; their targets of today and this week. Staff may fetch their own only (others
    answer 404)."""

    @extend_schema(parameters=_FILTERS, responses={200: OpenApiResponse(description="Member page")})
    def get(self, request, pk: int):
        return Response(_member_payload(member_page_resolve(request, pk)))


class MyDashboardApi(APIView):
    """The signed-in staff member's own page."""

    @extend_schema(parameters=_FILTERS, responses={200: OpenApiResponse(description="Own page")})
    def get(self, request):
        member_id = viewer_get(user=request.user).member_id
        if member_id is None:
            raise NotFound(_("Your account is not linked to a member."))
        return Response(_member_payload(member_page_resolve(request, member_id)))


class StoreOverviewApi(APIView):
    """Stores side by side: staff, daily inquiries, GMV, GMV per staff member, staff cost."""

    @extend_schema(
        parameters=[*_FILTERS, OpenApiParameter("store", OpenApiTypes.INT)],
        responses={200: OpenApiResponse(description="Store overview")},
    )
    def get(self, request):
        page = stores_page_resolve(request)
        return Response(
            _exact(
                {
                    "period": _period(page.period),
                    "stores": [
                        {
                            "id": r.store.pk,
                            "name": r.store.name,
                            "staff": r.staff,
                            "daily_inquiries": r.daily_inquiries,
                            "sessions": r.sessions,
                            "gmv": r.gmv,
                            "paid_orders": r.paid_orders,
                            "uv": r.uv,
                            "gmv_per_staff": r.gmv_per_staff,
                            "staff_cost": r.staff_cost,
                            "staff_cost_share": r.cost_share,
                        }
                        for r in page.overview.rows
                    ],
                }
            )
        )
