"""Targets as JSON: the list with progress (filtered like the page), one target, and writes
through the targets' services."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from metrics.models import (
    Behaviour,
    CampaignPhase,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import Unit
from metrics.targets.api.fields import (
    DayInputField,
    IdRelatedField,
    KpiKeyField,
    StrictCharField,
    StrictChoiceField,
    decimal_input,
    django_errors,
    money_json,
)
from metrics.targets.selectors import (
    STATUSES,
    Progress,
    target_kpi,
    target_list,
    target_list_filtered,
    targets_progress_by_store,
    targets_with_status,
)
from metrics.targets.services import (
    FIELDS,
    target_create,
    target_delete,
    target_update,
)
from teams.api.filters import IdQueryField
from teams.selectors.scoping import (
    member_list,
    store_list,
    team_list,
    viewer_get,
    viewer_sets_targets,
)

STATUS_HELP = ", ".join(STATUSES)


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
        return money_json(value) if money else f"{Decimal(value).quantize(Decimal('0.0001'))}"

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

    serializer_related_field = IdRelatedField
    serializer_choice_field = StrictChoiceField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
    kpi_key = KpiKeyField(required=False, help_text="Empty: a counted behaviour (`behaviour`) instead.")
    direction = StrictChoiceField(
        choices=TargetDirection.choices, required=False, allow_blank=True, help_text="Empty: the KPI's own direction."
    )
    start = DayInputField(help_text="First day of the period.")
    end = DayInputField(help_text="Last day, inclusive.")
    value = decimal_input(max_digits=16, decimal_places=4, help_text="In the KPI's unit; rates as fractions.")

    class Meta:
        model = Target
        fields = [f for f in FIELDS if f != "owner"]

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
        if self.action != "list":
            return target_list(viewer=self.viewer).order_by("start", "store__name", "name", "pk")
        query = TargetQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        targets = target_list_filtered(
            viewer=self.viewer,
            store_id=q.get("store"),
            team_id=q.get("team"),
            member_id=q.get("member"),
            tier=q.get("tier", ""),
            active_on=q.get("active_on"),
        )
        return targets.order_by("start", "store__name", "name", "pk")

    def _with_progress(self, targets: list[Target]) -> dict:
        return {**self.get_serializer_context(), "progress": targets_progress_by_store(targets=targets)}

    def list(self, request, *args, **kwargs):
        targets = self.get_queryset()
        wanted = request.query_params.get("status")  # valid: checked with the other filters
        if wanted:
            matching, progress = targets_with_status(targets=targets, status=wanted)
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
        if not viewer_sets_targets(viewer=self.viewer):
            raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))

    def create(self, request, *args, **kwargs):
        self._check_role()
        payload = TargetWriteSerializer(data=request.data, viewer=self.viewer)
        payload.is_valid(raise_exception=True)
        try:
            target = target_create(viewer=self.viewer, user=request.user, owner=request.user, **payload.validated_data)
        except DjangoValidationError as error:
            raise django_errors(error) from None
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
            raise django_errors(error) from None
        target = target_list(viewer=self.viewer).get(pk=target.pk)
        return Response(TargetSerializer(target, context=self._with_progress([target])).data)

    def destroy(self, request, *args, **kwargs):
        self._check_role()
        target_delete(viewer=self.viewer, target=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
