"""Targets as JSON: the list with progress, writes through the targets' services, the revenue
decomposition, staff's counts and promotions. Scoped like the pages: targets by `target_list`,
what a viewer may not see answers 404, what their role may never do 403. Money is a string with
two decimals, rates fractions (0.35), counts numbers."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.models import (
    Behaviour,
    BehaviourRecord,
    Campaign,
    CampaignKind,
    CampaignPhase,
    PeriodKind,
    PhaseKind,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import Unit
from metrics.targets.decomposition import INQUIRIES, LEADS, Decomposition, decomposition_chain
from metrics.targets.forms import can_set_targets, editable_stores, member_stores, period_members
from metrics.targets.selectors import Progress, target_can_edit, target_kpi, target_list
from metrics.targets.services import (
    FIELDS,
    PHASE_FOCUS,
    DecompositionSave,
    behaviour_record_set,
    campaign_create,
    decomposition_default_name,
    decomposition_save,
    target_create,
    target_delete,
    target_update,
)
from metrics.targets.views import STATUSES, DecomposeFigures, decompose_plan, targets_progress_by_store
from perfmgmt.common.periods import Period
from teams.api.filters import DayField, IdQueryField
from teams.models import Member, Store, Team
from teams.selectors.scoping import member_list, store_list, team_list, viewer_get

STATUS_HELP = "achieved, ahead, on_pace, behind, missed, no_data or not_started"
FOCUS_KEYS = [key for focus in PHASE_FOCUS.values() for key, _value in focus]


def _django_errors(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def _number(value: Decimal | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


# --- targets ----------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    actual = serializers.CharField(allow_null=True, help_text="So far, in the target's unit (decimal string).")
    expected = serializers.CharField(allow_null=True, help_text="What the pace asks for by now.")
    forecast = serializers.CharField(allow_null=True, help_text="Where the period ends at the pace so far.")
    completion = serializers.CharField(allow_null=True, help_text="Actual / value (at most: value / actual).")
    status = serializers.CharField(help_text=STATUS_HELP)
    as_of = serializers.DateField(allow_null=True, help_text="The last day counted in the actual.")
    counted_through = serializers.DateField(
        allow_null=True, help_text="The last complete day with data (up to yesterday) in expected and forecast."
    )
    days_counted = serializers.IntegerField(help_text="Days counted in expected and forecast.")
    days = serializers.IntegerField(help_text="Days of the target's period.")


def progress_json(target: Target, progress: Progress | None) -> dict | None:
    if progress is None:
        return None
    kpi = target_kpi(target)
    money = kpi is not None and kpi.unit == Unit.MONEY

    def shown(value: Decimal | None) -> str | None:
        if value is None:
            return None
        return _money(value) if money else f"{Decimal(value).quantize(Decimal('0.0001'))}"

    return {
        "actual": shown(progress.actual),
        "expected": shown(progress.expected),
        "forecast": shown(progress.forecast),
        "completion": None if progress.completion is None else f"{progress.completion.quantize(Decimal('0.0001'))}",
        "status": progress.status,
        "as_of": progress.as_of,
        "counted_through": progress.through,
        "days_counted": progress.days_counted,
        "days": (target.end - target.start).days + 1,
    }


class TargetSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        source="name_text", read_only=True,
        help_text="In the request's language: a generated name (\"Paid orders needed\") is translated, a "
                  "written one is as written.",
    )  # fmt: skip
    name_message = serializers.JSONField(
        source="name_msg", read_only=True,
        help_text="A generated name's message key and parameters ({} for a written name); see "
                  "metrics/message_keys.py.",
    )  # fmt: skip
    notes = serializers.CharField(source="notes_text", read_only=True, help_text="In the request's language.")
    level = serializers.CharField(read_only=True, help_text="member, team or store")
    unit = serializers.SerializerMethodField(help_text="money (yuan), rate (fraction), seconds, count or days")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = ["id", *FIELDS, "name_message", "level", "unit", "created_at", "updated_at", "progress"]
        read_only_fields = fields

    def get_unit(self, target: Target) -> str:
        kpi = target_kpi(target)
        return str(kpi.unit) if kpi else Unit.COUNT.value

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, target: Target) -> dict | None:
        return progress_json(target, self.context.get("progress", {}).get(target.pk))


class TargetWriteSerializer(serializers.ModelSerializer):
    """A target to create or change; the services check scope, the KPI's level and the tree."""

    direction = serializers.ChoiceField(
        choices=TargetDirection.choices, required=False, allow_blank=True, help_text="Empty: the KPI's own direction."
    )
    start = DayField(help_text="First day of the period.")
    end = DayField(help_text="Last day, inclusive.")

    class Meta:
        model = Target
        fields = [f for f in FIELDS if f != "owner"]
        extra_kwargs = {
            "kpi_key": {"required": False},
            "value": {"help_text": "In the KPI's unit; rates as fractions."},
        }

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer is None:  # the schema generator's instance
            return
        stores = store_list(viewer=viewer)
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = team_list(viewer=viewer)
        self.fields["member"].queryset = member_list(viewer=viewer)
        self.fields["behaviour"].queryset = Behaviour.objects.filter(store__in=stores)
        self.fields["parent"].queryset = target_list(viewer=viewer)
        self.fields["phase"].queryset = CampaignPhase.objects.filter(
            Q(campaign__store__in=stores) | Q(campaign__store__isnull=True)
        )


class TargetQuerySerializer(serializers.Serializer):
    """The list's filters; an id the user may not see matches nothing."""

    status = serializers.ChoiceField(choices=list(STATUSES), required=False, help_text=STATUS_HELP)
    store = IdQueryField()
    team = IdQueryField()
    member = IdQueryField()
    tier = serializers.ChoiceField(choices=TargetTier.choices, required=False)
    active_on = serializers.DateField(required=False, help_text="Targets whose period includes this day.")


@extend_schema_view(
    list=extend_schema(parameters=[TargetQuerySerializer], summary="Targets the user may see, with their progress"),
    retrieve=extend_schema(summary="One target with its progress"),
    create=extend_schema(request=TargetWriteSerializer, responses={201: TargetSerializer}),
    update=extend_schema(request=TargetWriteSerializer, responses={200: TargetSerializer}),
    partial_update=extend_schema(request=TargetWriteSerializer, responses={200: TargetSerializer}),
)
class TargetViewSet(viewsets.ModelViewSet):
    """Targets of the stores, teams and members the user may see. Managers (their stores), team
    leads (their teams and members) and admins create, change and delete them; staff and HR read."""

    serializer_class = TargetSerializer
    filter_backends = []  # the filters below are explicit, and the status one is computed

    @property
    def viewer(self):
        return viewer_get(user=self.request.user)

    def get_queryset(self):
        targets = target_list(viewer=self.viewer).order_by("start", "store__name", "name", "pk")
        if self.action != "list":
            return targets
        query = TargetQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        for name in ("store", "team", "member"):
            if name in q:
                targets = targets.filter(**{f"{name}_id": q[name]})
        if "tier" in q:
            targets = targets.filter(tier=q["tier"])
        if "active_on" in q:
            targets = targets.filter(start__lte=q["active_on"], end__gte=q["active_on"])
        return targets

    def _with_progress(self, targets: list[Target]) -> dict:
        return {**self.get_serializer_context(), "progress": targets_progress_by_store(targets)}

    def list(self, request, *args, **kwargs):
        targets = self.get_queryset()
        wanted = request.query_params.get("status")  # valid: checked with the other filters
        if wanted:
            everything = list(targets)
            progress = targets_progress_by_store(everything)
            matching = [t for t in everything if progress[t.pk].status == wanted]
            page = self.paginate_queryset(matching)
            context = {**self.get_serializer_context(), "progress": progress}
        else:
            page = self.paginate_queryset(targets)
            context = self._with_progress(list(page))
        return self.get_paginated_response(TargetSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        target = self.get_object()
        return Response(TargetSerializer(target, context=self._with_progress([target])).data)

    def _check_role(self):
        if not can_set_targets(self.viewer):
            raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))

    def create(self, request, *args, **kwargs):
        self._check_role()
        payload = TargetWriteSerializer(data=request.data, viewer=self.viewer)
        payload.is_valid(raise_exception=True)
        try:
            target = target_create(viewer=self.viewer, user=request.user, owner=request.user, **payload.validated_data)
        except DjangoValidationError as error:
            raise _django_errors(error) from None
        target = target_list(viewer=self.viewer).get(pk=target.pk)
        data = TargetSerializer(target, context=self._with_progress([target])).data
        return Response(data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        self._check_role()
        target = self.get_object()
        partial = kwargs.pop("partial", False)
        payload = TargetWriteSerializer(target, data=request.data, partial=partial, viewer=self.viewer)
        payload.is_valid(raise_exception=True)
        try:
            target = target_update(viewer=self.viewer, target=target, **payload.validated_data)
        except DjangoValidationError as error:
            raise _django_errors(error) from None
        target = target_list(viewer=self.viewer).get(pk=target.pk)
        return Response(TargetSerializer(target, context=self._with_progress([target])).data)

    def destroy(self, request, *args, **kwargs):
        self._check_role()
        target_delete(viewer=self.viewer, target=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the revenue decomposition ----------------------------------------------------------------


class DecomposeRequestSerializer(serializers.Serializer):
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.none())
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.none(), required=False, allow_null=True)
    start = DayField(help_text="First day of the period.")
    end = DayField(help_text="Last day, inclusive.")
    period_kind = serializers.ChoiceField(
        choices=PeriodKind.choices, required=False, help_text="Of the saved targets; default custom."
    )
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    returning_share = serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, max_value=1)
    new_value_per_deal = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    lead_conversion = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=1, required=False, allow_null=True,
        help_text="Leads → deals; required for a team that works leads (online sales, telesales, or the whole "
        "store when one of its teams does), refused for a service team, which works from inquiries.",
    )  # fmt: skip
    returning_order_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    orders_per_buyer = serializers.DecimalField(
        max_digits=8, decimal_places=4, min_value=Decimal("0.01"), default=Decimal(1)
    )
    inquiry_conversion = serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=1,
        required=False,
        allow_null=True,
        help_text="Paying buyers / inquiring buyers; required for a service team.",
    )
    uv_conversion = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=1, required=False, allow_null=True
    )
    working_weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        min_length=1,
        default=[0, 1, 2, 3, 4, 5],
        help_text="0 = Monday … 6 = Sunday; default Monday to Saturday.",
    )
    pace_by_weights = serializers.BooleanField(
        default=False,
        help_text="Weigh the days by the store's sales per weekday (the 8 weeks of data before the period); "
        "the saved targets are then paced by weekday.",
    )
    split = serializers.ChoiceField(choices=["equal", "last_period", "manual"], default="equal")
    member_shares = serializers.DictField(
        child=serializers.DecimalField(max_digits=9, decimal_places=4, min_value=0),
        required=False,
        help_text="split=manual: {member id: share}, scaled to add up to 1.",
    )
    leads_behaviour = serializers.PrimaryKeyRelatedField(
        queryset=Behaviour.objects.none(), required=False, allow_null=True
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    save = serializers.BooleanField(default=False, help_text="Save the plan as a target tree.")

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
        shares = {}
        for key, value in (attrs.get("member_shares") or {}).items():
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
            if not re.fullmatch(r"[0-9]{1,18}", str(key)):
                raise ValidationError({"member_shares": [_("Keys are member ids.")]})
            shares[int(key)] = value
        attrs["member_shares"] = shares
        return attrs


def plan_json(plan: Decomposition, members: list[Member]) -> dict:
    names = {m.pk: m.display_name for m in members}
    return {
        "period": {"start": plan.input.period.start, "end": plan.input.period.end},
        "working_days": plan.working_days,
        "chain": LEADS if plan.leads is not None else INQUIRIES,
        "weighted": plan.weighted,
        "weekday_weights": {
            str(day): _number(share, 6) for day, share in sorted((plan.input.weekday_weights or {}).items())
        }
        if plan.weighted
        else {},
        "totals": {
            "revenue": _money(plan.input.revenue),
            "returning_revenue": _money(plan.returning_revenue),
            "new_revenue": _money(plan.new_revenue),
            "new_deals": _number(plan.new_deals),
            "leads": _number(plan.leads),
            "leads_per_working_day": _number(plan.leads_per_working_day, 1),
            "inquiries_per_working_day": _number(plan.inquiries_per_working_day, 1),
            "returning_orders": _number(plan.returning_orders),
            "orders": _number(plan.orders),
            "paying_buyers": _number(plan.paying_buyers),
            "inquiries": _number(plan.inquiries),
            "uv": _number(plan.uv),
        },
        "weeks": [
            {
                "start": week.start,
                "end": week.end,
                "working_days": week.working_days,
                "share": _number(week.weight, 6),
                "revenue": _money(week.revenue),
                "leads": _number(week.leads),
                "leads_per_working_day": _number(week.leads_per_working_day, 1),
                "inquiries": _number(week.inquiries),
                "inquiries_per_working_day": _number(week.inquiries_per_working_day, 1),
                "orders": _number(week.orders),
            }
            for week in plan.weeks
        ],
        "days": [
            {
                "date": day.start,
                "share": _number(day.weight, 6),
                "revenue": _money(day.revenue),
                "leads": _number(day.leads),
                "inquiries": _number(day.inquiries),
                "orders": _number(day.orders),
            }
            for day in plan.days
        ],
        "members": [
            {
                "member": p.member_id,
                "name": names.get(p.member_id, ""),
                "share": _number(p.share, 6),
                "revenue": _money(p.revenue),
                "leads": _number(p.leads),
                "inquiries": _number(p.inquiries),
                "orders": _number(p.orders),
                "weeks": [
                    {
                        "start": week.start,
                        "revenue": _money(revenue),
                        "leads": _number(leads),
                        "inquiries": _number(inquiries),
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
        if not can_set_targets(viewer):
            raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))
        payload = DecomposeRequestSerializer(data=request.data, viewer=viewer)
        payload.is_valid(raise_exception=True)
        q = payload.validated_data
        store, team = q["store"], q.get("team")
        if not target_can_edit(viewer=viewer, store_id=store.pk, team_id=team.pk if team else None, member_id=None):
            raise PermissionDenied(_("You may not set targets for this store or team."))
        period = Period(q["start"], q["end"])
        members = period_members(store=store, team=team, period=period)
        figures = DecomposeFigures(
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
            plan, _history = decompose_plan(store=store, team=team, period=period, figures=figures, members=members)
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
            raise _django_errors(error) from None
        return Response({**body, "root_target": root.pk}, status=status.HTTP_201_CREATED)


# --- staff's counts ---------------------------------------------------------------------------


class BehaviourRecordSerializer(serializers.ModelSerializer):
    behaviour_name = serializers.CharField(source="behaviour.name", read_only=True)

    class Meta:
        model = BehaviourRecord
        fields = ["id", "behaviour", "behaviour_name", "member", "date", "count", "note", "updated_at"]
        read_only_fields = fields


class BehaviourRecordWriteSerializer(serializers.Serializer):
    behaviour = serializers.PrimaryKeyRelatedField(queryset=Behaviour.objects.none())
    date = DayField(help_text="The local day; today or earlier.")
    count = serializers.IntegerField(min_value=0, max_value=100_000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def __init__(self, *args, member: Member | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            self.fields["behaviour"].queryset = Behaviour.objects.filter(store__in=member_stores(member))


class BehaviourRecordQuerySerializer(serializers.Serializer):
    behaviour = IdQueryField()
    start = serializers.DateField(required=False, help_text="First day, inclusive.")
    end = serializers.DateField(required=False, help_text="Last day, inclusive.")


@extend_schema_view(
    list=extend_schema(parameters=[BehaviourRecordQuerySerializer], summary="The user's own counts, newest first"),
    create=extend_schema(
        request=BehaviourRecordWriteSerializer,
        responses={201: BehaviourRecordSerializer},
        summary="Record one's own count of a behaviour for a day (again: replaces it)",
    ),
)
class BehaviourRecordViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = BehaviourRecordSerializer
    filter_backends = []

    def get_queryset(self):
        viewer = viewer_get(user=self.request.user)
        records = BehaviourRecord.objects.filter(member_id=viewer.member_id).select_related("behaviour")
        if self.action == "list":
            query = BehaviourRecordQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            q = query.validated_data
            if "behaviour" in q:
                records = records.filter(behaviour_id=q["behaviour"])
            if "start" in q:
                records = records.filter(date__gte=q["start"])
            if "end" in q:
                records = records.filter(date__lte=q["end"])
        return records.order_by("-date", "behaviour__name", "pk") if viewer.member_id else records.none()

    def create(self, request, *args, **kwargs):
        viewer = viewer_get(user=request.user)
        member = Member.objects.filter(pk=viewer.member_id).first() if viewer.member_id else None
        if member is None:
            raise PermissionDenied(_("Counts are recorded by staff linked to a member."))
        payload = BehaviourRecordWriteSerializer(data=request.data, member=member)
        payload.is_valid(raise_exception=True)
        try:
            record = behaviour_record_set(viewer=viewer, user=request.user, member=member, **payload.validated_data)
        except DjangoValidationError as error:
            raise _django_errors(error) from None
        return Response(BehaviourRecordSerializer(record).data, status=status.HTTP_201_CREATED)


# --- promotions -------------------------------------------------------------------------------


class FocusTargetSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="name_text", read_only=True, help_text="In the request's language.")

    class Meta:
        model = Target
        fields = ["id", "name", "kpi_key", "store", "team", "value", "direction"]
        read_only_fields = fields


# Described, not enumerated: another enum named "kind" would need an ENUM_NAME_OVERRIDES entry.
@extend_schema_field({"type": "string", "description": f"One of {', '.join(PhaseKind.values)}."})
class PhaseKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=PhaseKind.choices, **kwargs)


@extend_schema_field({"type": "string", "description": f"One of {', '.join(CampaignKind.values)}."})
class CampaignKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=CampaignKind.choices, **kwargs)


class PhaseSerializer(serializers.ModelSerializer):
    kind = PhaseKindField(read_only=True)
    targets = serializers.SerializerMethodField(help_text="The phase's focus targets the user may see.")

    class Meta:
        model = CampaignPhase
        fields = ["id", "kind", "start", "end", "targets"]
        read_only_fields = fields

    @extend_schema_field(FocusTargetSerializer(many=True))
    def get_targets(self, phase: CampaignPhase) -> list:
        visible = self.context.get("targets", {}).get(phase.pk, [])
        return FocusTargetSerializer(visible, many=True).data


class CampaignSerializer(serializers.ModelSerializer):
    kind = CampaignKindField(read_only=True)
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "store", "kind", "name", "created_at", "phases"]
        read_only_fields = fields


class PhaseDaysSerializer(serializers.Serializer):
    start = DayField()
    end = DayField(help_text="Inclusive.")

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": [_("The last day is before the first.")]})
        return attrs


class PhasesSerializer(serializers.Serializer):
    preheat = PhaseDaysSerializer(required=False)
    peak = PhaseDaysSerializer(required=False)
    after = PhaseDaysSerializer(required=False)


class CampaignCreateSerializer(serializers.Serializer):
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.none())
    kind = CampaignKindField(default=CampaignKind.CUSTOM)
    name = serializers.CharField(max_length=80)
    phases = PhasesSerializer(help_text="The days of each phase; at least one.")
    focus_values = serializers.DictField(
        child=serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, max_value=1),
        required=False,
        help_text=f"Focus KPI → target rate (fraction), instead of the defaults: {', '.join(FOCUS_KEYS)}.",
    )

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer is not None:
            self.fields["store"].queryset = editable_stores(viewer)

    def validate(self, attrs):
        phases = {kind: (days["start"], days["end"]) for kind, days in attrs["phases"].items() if days}
        if not phases:
            raise ValidationError({"phases": [_("Give the days of at least one phase.")]})
        attrs["phases"] = phases
        unknown = set(attrs.get("focus_values") or {}) - set(FOCUS_KEYS)
        if unknown:
            raise ValidationError({"focus_values": [_("Unknown focus KPI: %(keys)s") % {"keys": ", ".join(unknown)}]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Promotions of the user's stores, with their phases and focus targets"),
    create=extend_schema(
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer},
        summary="Plan a promotion: its phases and their focus targets (managers)",
    ),
)
class PromotionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = CampaignSerializer
    filter_backends = []

    def get_queryset(self):
        stores = store_list(viewer=viewer_get(user=self.request.user))
        return (
            Campaign.objects.filter(Q(store__in=stores) | Q(store__isnull=True))
            .prefetch_related("phases")
            .order_by("-created_at", "-pk")
        )

    def _context(self, campaigns: list[Campaign]) -> dict:
        viewer = viewer_get(user=self.request.user)
        targets: dict[int, list[Target]] = {}
        for target in target_list(viewer=viewer).filter(phase__campaign__in=campaigns).order_by("team_id", "name"):
            targets.setdefault(target.phase_id, []).append(target)
        return {**self.get_serializer_context(), "targets": targets}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        data = CampaignSerializer(page, many=True, context=self._context(list(page))).data
        return self.get_paginated_response(data)

    def create(self, request, *args, **kwargs):
        viewer = viewer_get(user=request.user)
        if not (viewer.is_admin or viewer.is_manager):
            raise PermissionDenied(_("Promotions are planned by the store's managers."))
        payload = CampaignCreateSerializer(data=request.data, viewer=viewer)
        payload.is_valid(raise_exception=True)
        q = payload.validated_data
        try:
            campaign = campaign_create(
                viewer=viewer,
                user=request.user,
                store=q["store"],
                kind=q["kind"],
                name=q["name"],
                phases=q["phases"],
                focus_values=q.get("focus_values"),
            )
        except DjangoValidationError as error:
            raise _django_errors(error) from None
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        campaign = self.get_queryset().get(pk=campaign.pk)
        data = CampaignSerializer(campaign, context=self._context([campaign])).data
        return Response(data, status=status.HTTP_201_CREATED)
