"""The revenue decomposition as JSON: the plan for the figures sent, saved as a target tree on
request."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.models import (
    Behaviour,
    PeriodKind,
)
from metrics.targets.api.fields import (
    DayInputField,
    IdRelatedField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIntegerField,
    decimal_input,
    decimal_pattern,
    django_errors,
    money_json,
    number_json,
)
from metrics.targets.decomposition import INQUIRIES, LEADS, Decomposition, decomposition_chain
from metrics.targets.selectors import (
    member_list_active,
)
from metrics.targets.services import (
    SPLITS,
    DecompositionFigures,
    DecompositionSave,
    decomposition_default_name,
    decomposition_plan,
    decomposition_save,
)
from perfmgmt.common.periods import Period
from teams.models import Member, Store, Team
from teams.selectors.scoping import (
    store_list,
    team_list,
    viewer_edits_target,
    viewer_get,
    viewer_sets_targets,
)

MEMBER_KEY = "^[0-9]{1,18}$"  # a member id as a JSON object's key
SHARE_PATTERN = decimal_pattern(whole=5, places=4)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "format": "decimal", "pattern": SHARE_PATTERN},
        # Keys are member ids (MEMBER_KEY); OpenAPI 3.0 has no propertyNames to say so.
    }
)
class MemberSharesField(serializers.DictField):
    """{member id: share}: keys are ids in ASCII digits (str.isdigit() also takes "²", which int()
    refuses), shares decimals of at most 5 digits and 4 places, from 0."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictDecimalField(max_digits=9, decimal_places=4, min_value=0), **kwargs)

    def to_internal_value(self, data):
        shares = super().to_internal_value(data)
        if any(not re.fullmatch(MEMBER_KEY, str(key)) for key in shares):
            raise ValidationError(_("Keys are member ids."))
        return {int(key): value for key, value in shares.items()}


class DecomposeRequestSerializer(serializers.Serializer):
    store = IdRelatedField(queryset=Store.objects.none())
    team = IdRelatedField(queryset=Team.objects.none(), required=False, allow_null=True)
    start = DayInputField(help_text="First day of the period.")
    end = DayInputField(help_text="Last day, inclusive; not before the first, at most 366 days after it.")
    period_kind = StrictChoiceField(
        choices=PeriodKind.choices, required=False, help_text="Of the saved targets; default custom."
    )
    revenue = decimal_input(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    returning_share = decimal_input(max_digits=6, decimal_places=4, min_value=0, max_value=1)
    new_value_per_deal = decimal_input(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    lead_conversion = decimal_input(
        max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=1, required=False, allow_null=True,
        help_text="Leads → deals; required for a team that works leads (online sales, telesales, or the whole "
        "store when one of its teams does), refused for a service team, which works from inquiries.",
    )  # fmt: skip
    returning_order_value = decimal_input(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    orders_per_buyer = decimal_input(max_digits=8, decimal_places=4, min_value=Decimal("0.01"), default=Decimal(1))
    inquiry_conversion = decimal_input(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=1,
        required=False,
        allow_null=True,
        help_text="Paying buyers / inquiring buyers; required for a service team.",
    )
    uv_conversion = decimal_input(
        max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=1, required=False, allow_null=True
    )
    working_weekdays = serializers.ListField(
        child=StrictIntegerField(min_value=0, max_value=6),
        min_length=1,
        default=[0, 1, 2, 3, 4, 5],
        help_text="0 = Monday … 6 = Sunday; default Monday to Saturday.",
    )
    pace_by_weights = StrictBooleanField(
        default=False,
        help_text="Weigh the days by the store's sales per weekday (the 8 weeks of data before the period); "
        "the saved targets are then paced by weekday.",
    )
    split = StrictChoiceField(choices=list(SPLITS), default="equal")
    member_shares = MemberSharesField(
        required=False, help_text="split=manual: {member id: share}, scaled to add up to 1; other members get none."
    )
    leads_behaviour = IdRelatedField(queryset=Behaviour.objects.none(), required=False, allow_null=True)
    name = StrictCharField(required=False, allow_blank=True, max_length=120)
    save = StrictBooleanField(default=False, help_text="Save the plan as a target tree.")

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer is None:  # the schema generator's instance
            return
        stores = store_list(viewer=viewer)
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = team_list(viewer=viewer)
        self.fields["leads_behaviour"].queryset = Behaviour.objects.filter(store__in=stores)

    def validate(self, attrs):
        store, team = attrs["store"], attrs.get("team")
        if team is not None and team.store_id != store.pk:
            raise ValidationError({"team": [_("This team belongs to another store.")]})
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": [_("The last day is before the first.")]})
        if (attrs["end"] - attrs["start"]).days > 366:
            raise ValidationError({"end": [_("A period of at most a year, please.")]})
        behaviour = attrs.get("leads_behaviour")
        if behaviour is not None and behaviour.store_id != store.pk:
            raise ValidationError({"leads_behaviour": [_("The behaviour belongs to another store.")]})
        if decomposition_chain(store=store, team=team) == LEADS:
            if attrs.get("lead_conversion") is None:
                raise ValidationError({"lead_conversion": [_("Required for a team that works leads.")]})
        else:
            for name in ("lead_conversion", "leads_behaviour"):
                if attrs.get(name) is not None:
                    raise ValidationError(
                        {name: [_("A service team works from inquiries, not leads: leave this out.")]}
                    )
            if attrs.get("inquiry_conversion") is None:
                raise ValidationError({"inquiry_conversion": [_("Required for a service team.")]})
        attrs["member_shares"] = attrs.get("member_shares") or {}
        return attrs


def plan_json(plan: Decomposition, members: list[Member]) -> dict:
    names = {m.pk: m.display_name for m in members}
    return {
        "period": {"start": plan.input.period.start, "end": plan.input.period.end},
        "working_days": plan.working_days,
        "chain": LEADS if plan.leads is not None else INQUIRIES,
        "weighted": plan.weighted,
        "weekday_weights": {
            str(day): number_json(share, 6) for day, share in sorted((plan.input.weekday_weights or {}).items())
        }
        if plan.weighted
        else {},
        "totals": {
            "revenue": money_json(plan.input.revenue),
            "returning_revenue": money_json(plan.returning_revenue),
            "new_revenue": money_json(plan.new_revenue),
            "new_deals": number_json(plan.new_deals),
            "leads": number_json(plan.leads),
            "leads_per_working_day": number_json(plan.leads_per_working_day, 1),
            "inquiries_per_working_day": number_json(plan.inquiries_per_working_day, 1),
            "returning_orders": number_json(plan.returning_orders),
            "orders": number_json(plan.orders),
            "paying_buyers": number_json(plan.paying_buyers),
            "inquiries": number_json(plan.inquiries),
            "uv": number_json(plan.uv),
        },
        "weeks": [
            {
                "start": week.start,
                "end": week.end,
                "working_days": week.working_days,
                "share": number_json(week.weight, 6),
                "revenue": money_json(week.revenue),
                "leads": number_json(week.leads),
                "leads_per_working_day": number_json(week.leads_per_working_day, 1),
                "inquiries": number_json(week.inquiries),
                "inquiries_per_working_day": number_json(week.inquiries_per_working_day, 1),
                "orders": number_json(week.orders),
            }
            for week in plan.weeks
        ],
        "days": [
            {
                "date": day.start,
                "share": number_json(day.weight, 6),
                "revenue": money_json(day.revenue),
                "leads": number_json(day.leads),
                "inquiries": number_json(day.inquiries),
                "orders": number_json(day.orders),
            }
            for day in plan.days
        ],
        "members": [
            {
                "member": p.member_id,
                "name": names.get(p.member_id, ""),
                "share": number_json(p.share, 6),
                "revenue": money_json(p.revenue),
                "leads": number_json(p.leads),
                "inquiries": number_json(p.inquiries),
                "orders": number_json(p.orders),
                "weeks": [
                    {
                        "start": week.start,
                        "revenue": money_json(revenue),
                        "leads": number_json(leads),
                        "inquiries": number_json(inquiries),
                    }
                    for week, revenue, leads, inquiries in zip(
                        plan.weeks, p.revenue_per_week, p.leads_per_week, p.inquiries_per_week, strict=True
                    )
                ],
            }
            for p in plan.members
        ],
    }


_FIGURE: dict = {}  # money a string with two decimals, counts and shares numbers; null if unknown
_DATE = {"type": "string", "format": "date"}


def _plan_schema(*, saved: bool) -> dict:
    properties = {
        "store": {"type": "integer"},
        "team": {"type": "integer", "nullable": True},
        "period": {"type": "object", "properties": {"start": _DATE, "end": _DATE}, "required": ["start", "end"]},
        "working_days": {"type": "integer"},
        "chain": {
            "type": "string",
            "enum": [LEADS, INQUIRIES],
            "description": "leads: a team that works leads (leads are planned); inquiries: a service team "
            "(leads are null, inquiring buyers are planned).",
        },
        "weighted": {"type": "boolean", "description": "The days follow the store's weekday weights."},
        "weekday_weights": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "Weekday (0 = Monday) → share of the week's sales; empty when not weighted.",
        },
        "totals": {"type": "object", "additionalProperties": _FIGURE},
        "weeks": {"type": "array", "items": {"type": "object", "properties": {"start": _DATE, "end": _DATE}}},
        "days": {"type": "array", "items": {"type": "object", "properties": {"date": _DATE}}},
        "members": {
            "type": "array",
            "items": {"type": "object", "properties": {"member": {"type": "integer"}, "name": {"type": "string"}}},
        },
    }
    if saved:
        properties["root_target"] = {"type": "integer", "description": "The saved strategy target's id."}
    return {"type": "object", "properties": properties, "required": list(properties)}


class DecomposeApi(APIView):
    """Work a revenue target back (倒推法) into returning and new revenue, deals, leads, orders,
    paying buyers, inquiries and visitors, per week, per working day and per member. With
    "save": true the plan is saved as a target tree and the root's id returned."""

    @extend_schema(
        request=DecomposeRequestSerializer,
        responses={
            200: OpenApiResponse(_plan_schema(saved=False), description="The plan"),
            201: OpenApiResponse(_plan_schema(saved=True), description="The plan, saved as a target tree"),
            403: OpenApiResponse(description="The user may not set targets for this store or team"),
        },
    )
    def post(self, request):
        viewer = viewer_get(user=request.user)
        if not viewer_sets_targets(viewer=viewer):
            raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))
        payload = DecomposeRequestSerializer(data=request.data, viewer=viewer)
        payload.is_valid(raise_exception=True)
        q = payload.validated_data
        store, team = q["store"], q.get("team")
        if not viewer_edits_target(viewer=viewer, store_id=store.pk, team_id=team.pk if team else None, member_id=None):
            raise PermissionDenied(_("You may not set targets for this store or team."))
        period = Period(q["start"], q["end"])
        members = member_list_active(store=store, team=team, period=period)
        figures = DecompositionFigures(
            revenue=q["revenue"],
            returning_share=q["returning_share"],
            new_value_per_deal=q["new_value_per_deal"],
            lead_conversion=q.get("lead_conversion"),
            returning_order_value=q["returning_order_value"],
            orders_per_buyer=q["orders_per_buyer"],
            inquiry_conversion=q.get("inquiry_conversion"),
            uv_conversion=q.get("uv_conversion"),
            working_weekdays=tuple(q["working_weekdays"]),
            pace_by_weights=q["pace_by_weights"],
            split=q["split"],
            manual_shares=q["member_shares"],
        )
        try:
            plan, _history = decomposition_plan(store=store, team=team, period=period, figures=figures, members=members)
        except ValueError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from None
        body = {"store": store.pk, "team": team.pk if team else None, **plan_json(plan, members)}
        if not q["save"]:
            return Response(body)
        how = DecompositionSave(
            store=store,
            team=team,
            name=q.get("name") or "",
            name_msg=decomposition_default_name(
                scope=team.name if team else store.name, start=period.start, end=period.end
            ),
            period_kind=q.get("period_kind") or PeriodKind.CUSTOM,
            leads_behaviour=q.get("leads_behaviour"),
        )
        try:
            root = decomposition_save(viewer=viewer, user=request.user, plan=plan, how=how)
        except DjangoValidationError as error:
            raise django_errors(error) from None
        return Response({**body, "root_target": root.pk}, status=status.HTTP_201_CREATED)
