"""The dashboards as JSON: the same data as the pages (same filters, same scoping, same cache),
without the figures. Money is a string with two decimals, rates are fractions, undefined is null.

Thin: the query is parsed by a serializer here (invalid values answer 400, where the pages fall
back to defaults), then the same page functions as the HTML views (metrics.dashboards.pages) are
called with typed arguments."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.dashboards.figure_values import plain_number
from metrics.dashboards.pages import MemberPage, member_page_get, sort_parse, stores_page_get, team_page_get
from metrics.dashboards.selectors.team import DEFAULT_TREND_KPI
from metrics.followups.selectors import figures_notice
from metrics.registry import Kpi, Level, Unit, kpis_for
from metrics.targets.progress import TargetRow
from perfmgmt.common.periods import DATE_MAX, DATE_MIN, DEFAULT_PRESET, PRESETS
from teams.api.filters import IdQueryField, QueryDateField
from teams.selectors.scoping import viewer_get


def _years_pattern(first: int, last: int) -> str:
    """A pattern of the dates whose year is first … last, the first and last years of centuries
    (1900 … 2999; DATE_MIN and DATE_MAX are whole years): a JSON schema bounds no string, but a
    pattern on its year does."""
    centuries = "|".join(f"{century:02d}" for century in range(first // 100, last // 100 + 1))
    return rf"^({centuries})[0-9]{{2}}-"


@extend_schema_field({"type": "string", "format": "date", "pattern": _years_pattern(DATE_MIN.year, DATE_MAX.year)})
class DashboardDayField(QueryDateField):
    """A day of a dashboard's period, DATE_MIN … DATE_MAX (the field answers 400 outside them),
    bounds the schema states through the year's pattern."""


# The KPIs of a trend or a leaderboard: every member-level KPI (a team's page shows its families').
KPI_KEYS = [kpi.key for kpi in kpis_for(Level.MEMBER)]


class PeriodQuerySerializer(serializers.Serializer):
    """The period of a dashboard; invalid values answer 400 (the pages fall back to defaults)."""

    preset = serializers.ChoiceField(
        choices=list(PRESETS), required=False, help_text="Default last30; custom needs start and end."
    )
    start = DashboardDayField(help_text="First local day (preset=custom).")
    end = DashboardDayField(help_text="Last local day, inclusive (preset=custom; at most 400 days are shown).")

    def validate(self, attrs):
        if attrs.get("preset") == "custom" and not (attrs.get("start") and attrs.get("end")):
            raise ValidationError({"start": [_("A custom range needs both dates.")]})
        return attrs


class TrendQuerySerializer(PeriodQuerySerializer):
    kpi = serializers.ChoiceField(choices=KPI_KEYS, required=False, help_text="KPI of the trend (default gmv).")


class TeamQuerySerializer(TrendQuerySerializer):
    store = IdQueryField(help_text="The store whose first overseen team is shown (without team).")
    team = IdQueryField(help_text="Default: the first team the user oversees.")
    sort = serializers.ChoiceField(
        choices=[*KPI_KEYS, *(f"-{key}" for key in KPI_KEYS)],
        required=False,
        help_text="KPI of the leaderboard's order (default gmv); a leading '-' sorts ascending. "
        "A KPI outside the team's families falls back to the default.",
    )


class StoresQuerySerializer(PeriodQuerySerializer):
    store = IdQueryField(help_text="One store only.")


# The answers' shapes. A figure is a number, or money as a string with two decimals; null where
# undefined. Rows keyed by KPI carry one figure per KPI of the families shown.
ANY: dict = {}
DATE = {"type": "string", "format": "date"}
NULLABLE_DATE = {**DATE, "nullable": True}


def _obj(properties: dict, *, nullable: bool = False, extra: bool = False) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    if extra:
        schema["additionalProperties"] = ANY
    if nullable:
        schema["nullable"] = True
    return schema


def _list(items: dict, *, nullable: bool = False) -> dict:
    return {"type": "array", "items": items, **({"nullable": True} if nullable else {})}


ID_NAME = _obj({"id": {"type": "integer"}, "name": {"type": "string"}})
PERIOD = _obj({"start": DATE, "end": DATE})
STRING = {"type": "string"}
TARGET = _obj(
    {
        **dict.fromkeys(("name", "level", "period_kind", "direction", "status"), STRING),
        "id": {"type": "integer"},
        "kpi": {**STRING, "nullable": True},
        "behaviour": {**STRING, "nullable": True},
        "start": DATE,
        "end": DATE,
        "as_of": NULLABLE_DATE,
        **dict.fromkeys(("value", "actual", "expected", "forecast", "completion", "today_about"), ANY),
        # Expected and forecast count the complete days with data (up to yesterday): the last of
        # them and how many, of the period's days.
        "counted_through": NULLABLE_DATE,
        "days_counted": {"type": "integer"},
        "days": {"type": "integer"},
        # A card's target of its own days (start … end), prorated from these targets by their pace.
        "prorated": {"type": "boolean"},
        "sources": _list(_obj({"id": {"type": "integer"}, "name": STRING, "start": DATE, "end": DATE, "value": ANY})),
    }
)
BANDS = _list(_obj({"phase": STRING, "label": STRING, "title": STRING, "start": DATE, "end": DATE}))
SALES = {
    "first_response": {"type": "object", "nullable": True, "additionalProperties": ANY},
    "pipeline_funnel": _list(
        _obj({"step": STRING, "label": STRING, "leads": ANY, "of_created": ANY, "of_previous": ANY}), nullable=True
    ),
    "stage_ageing": _obj(
        {"as_of": NULLABLE_DATE, "buckets": ANY, "stages": _list(ANY), "stuck_days": ANY, "stuck": ANY},
        nullable=True,
    ),
    "calls_by_hour": _list(
        _obj({"hour": {"type": "integer"}, "dials": ANY, "connected": ANY, "connect_rate": ANY}), nullable=True
    ),
}
TEAM_DASHBOARD = _obj(
    {
        "store": ID_NAME,
        # True while the store's data are being refreshed after an import (docs/dashboards.md): the
        # figures may be from before it, until the store's warm-up ends (at most ten minutes).
        "updating": {"type": "boolean"},
        "interrupted": {
            "type": "boolean",
            "description": "A KPI update of these stores failed or lost its worker; "
            "it is retried, or a manager runs it again from the import's page.",
        },
        "team": ID_NAME,
        "period": PERIOD,
        "previous_period": PERIOD,
        "has_data": {"type": "boolean"},
        "families": _list(STRING),
        "cards": _list(
            _obj(
                {
                    "kpi": STRING,
                    "value": ANY,
                    "previous": ANY,
                    "change": ANY,
                    "change_in_points": {"type": "boolean"},
                    "good": {"type": "boolean", "nullable": True},
                    "target": {**TARGET, "nullable": True},
                }
            )
        ),
        "trend": _obj(
            {"kpi": STRING, "days": _list(ANY), "values": _list(ANY), "target": _list(ANY), "promotions": BANDS}
        ),
        "targets_as_of": NULLABLE_DATE,
        "funnel": _list(_obj({"step": STRING, "value": ANY})),
        "uv_by_channel": _list(_obj({"channel": STRING, "uv": ANY})),
        "leaderboard": _obj(
            {
                "sort": STRING,
                "descending": {"type": "boolean"},
                "rows": _list(_obj({"rank": {"type": "integer", "nullable": True}, "member": ID_NAME}, extra=True)),
            }
        ),
        **SALES,
        "alerts": _list(_obj({"member": ID_NAME, "kind": STRING, "recent": ANY, "baseline": ANY})),
        "segments": _obj(
            {
                "as_of": NULLABLE_DATE,
                "churn_risk": ANY,
                "rows": _list(_obj({"segment": STRING, "label": STRING, "buyers": ANY, "churn_risk": ANY})),
            }
        ),
    }
)
MEMBER_PAGE = _obj(
    {
        "member": ID_NAME,
        # True while the store's data are being refreshed after an import (docs/dashboards.md): the
        # figures may be from before it, until the store's warm-up ends (at most ten minutes).
        "updating": {"type": "boolean"},
        "interrupted": {
            "type": "boolean",
            "description": "A KPI update of these stores failed or lost its worker; "
            "it is retried, or a manager runs it again from the import's page.",
        },
        "team": {**ID_NAME, "nullable": True},
        "today": DATE,
        "spans": _list(_obj({"label": STRING, "start": DATE, "end": DATE})),
        "kpis": {
            "type": "object",
            "description": "KPI key → today, this week, this month.",
            "additionalProperties": _list(_obj({"value": ANY, "team_median": ANY, "rank": ANY, "ranked": ANY})),
        },
        "trend": _obj(
            {
                "kpi": STRING,
                "period": PERIOD,
                "days": _list(ANY),
                "values": _list(ANY),
                "team_median": _list(ANY),
                "promotions": BANDS,
            }
        ),
        "families": _list(STRING),
        **SALES,
        "alerts": _list(_obj({"kind": STRING, "recent": ANY, "baseline": ANY})),
        "targets": _list(TARGET),
    }
)
STORE_OVERVIEW = _obj(
    {
        "period": PERIOD,
        # True while the store's data are being refreshed after an import (docs/dashboards.md): the
        # figures may be from before it, until the store's warm-up ends (at most ten minutes).
        "updating": {"type": "boolean"},
        "interrupted": {
            "type": "boolean",
            "description": "A KPI update of these stores failed or lost its worker; "
            "it is retried, or a manager runs it again from the import's page.",
        },
        "stores": _list(
            _obj(
                {
                    "id": {"type": "integer"},
                    "name": STRING,
                    **dict.fromkeys(
                        (
                            "staff",
                            "daily_inquiries",
                            "sessions",
                            "gmv",
                            "paid_orders",
                            "uv",
                            "gmv_per_staff",
                            "staff_cost",
                            "staff_cost_share",
                        ),
                        ANY,
                    ),
                }
            )
        ),
    }
)


def _query(request, serializer_class) -> dict:
    """The query's values, validated (400 otherwise)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _period_args(query: dict) -> dict:
    return {"preset": query.get("preset", DEFAULT_PRESET), "start": query.get("start"), "end": query.get("end")}


def _notice(*, store_ids) -> dict[str, bool]:
    """`updating` and `interrupted`, as the pages' notice (metrics.followups.selectors)."""
    notice = figures_notice(store_ids=store_ids)
    return {"updating": notice["refreshing"], "interrupted": notice["kpis_interrupted"]}


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


def _days(days) -> list[str]:
    return [day.isoformat() for day in days]


def _numbers(values) -> list[float | None]:
    """A trend's values as numbers (money too), as its chart draws them; null where undefined."""
    return [plain_number(value) for value in values]


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
        "counted_through": t.through,
        "days_counted": t.days_counted,
        "days": t.days,
        "prorated": t.prorated,
        "sources": [
            {"id": s.target_id, "name": s.name, "start": s.start, "end": s.end, "value": _number(t.kpi, s.value)}
            for s in t.sources
        ],
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

    @extend_schema(
        parameters=[TeamQuerySerializer],
        responses={
            200: OpenApiResponse(TEAM_DASHBOARD, description="Team dashboard"),
            404: OpenApiResponse(description="A store or team the user does not oversee."),
        },
    )
    def get(self, request):
        query = _query(request, TeamQuerySerializer)
        if request.query_params.get("member"):  # the page opens the member's page instead
            raise ValidationError({"member": [_("Fetch /api/dashboards/members/{id}/ for one member.")]})
        sort, descending = sort_parse(query.get("sort"))
        page = team_page_get(
            viewer=viewer_get(user=request.user),
            store_id=query.get("store"),
            team_id=query.get("team"),
            **_period_args(query),
            trend_kpi=query.get("kpi", DEFAULT_TREND_KPI),
            sort=sort,
            descending=descending,
        )
        if page is None:  # staff without a team to oversee: their own page is /api/dashboards/me/
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
                    **_notice(store_ids=[page.team.store_id]),
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
                        "days": _days(d.trend_days),
                        "values": _numbers(d.trend_values),
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


def _member_payload(page: MemberPage) -> dict:
    d = page.dashboard
    return _exact(
        {
            "member": {"id": page.member.pk, "name": page.member.display_name},
            **_notice(store_ids=[page.store.pk] if page.store else []),
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
                "days": _days(d.trend_days),
                "values": _numbers(d.trend_values),
                "team_median": _numbers(d.trend_medians),
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

    @extend_schema(
        parameters=[TrendQuerySerializer], responses={200: OpenApiResponse(MEMBER_PAGE, description="Member page")}
    )
    def get(self, request, pk: int):
        query = _query(request, TrendQuerySerializer)
        page = member_page_get(
            viewer=viewer_get(user=request.user),
            member_id=pk,
            **_period_args(query),
            trend_kpi=query.get("kpi", DEFAULT_TREND_KPI),
        )
        return Response(_member_payload(page))


class MyDashboardApi(APIView):
    """The signed-in staff member's own page."""

    @extend_schema(
        parameters=[TrendQuerySerializer],
        responses={
            200: OpenApiResponse(MEMBER_PAGE, description="Own page"),
            404: OpenApiResponse(description="The user's account is not linked to a member."),
        },
    )
    def get(self, request):
        query = _query(request, TrendQuerySerializer)
        viewer = viewer_get(user=request.user)
        if viewer.member_id is None:
            raise NotFound(_("Your account is not linked to a member."))
        page = member_page_get(
            viewer=viewer,
            member_id=viewer.member_id,
            **_period_args(query),
            trend_kpi=query.get("kpi", DEFAULT_TREND_KPI),
        )
        return Response(_member_payload(page))


class StoreOverviewApi(APIView):
    """Stores side by side: staff, daily inquiries, GMV, GMV per staff member, staff cost."""

    @extend_schema(
        parameters=[StoresQuerySerializer],
        responses={
            200: OpenApiResponse(STORE_OVERVIEW, description="Store overview"),
            404: OpenApiResponse(description="A store the user does not oversee."),
        },
    )
    def get(self, request):
        query = _query(request, StoresQuerySerializer)
        page = stores_page_get(viewer=viewer_get(user=request.user), store_id=query.get("store"), **_period_args(query))
        return Response(
            _exact(
                {
                    "period": _period(page.period),
                    **_notice(store_ids=page.store_ids),
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
