"""Promotions as JSON: the list with each phase's focus targets, and planning one."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from metrics.models import (
    Campaign,
    CampaignKind,
    CampaignPhase,
    PhaseKind,
    Target,
)
from metrics.targets.api.fields import (
    DAY_SCHEMA,
    DayInputField,
    IdRelatedField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    decimal_pattern,
    django_errors,
)
from metrics.targets.selectors import campaign_focus_targets, campaign_list
from metrics.targets.services import (
    PHASE_FOCUS,
    campaign_create,
)
from teams.models import Store
from teams.selectors.scoping import (
    store_list_promotable,
    viewer_get,
    viewer_plans_promotions,
)

FOCUS_KEYS = [key for focus in PHASE_FOCUS.values() for key, _value in focus]
_RATE = {"type": "string", "format": "decimal", "pattern": decimal_pattern(whole=2, places=4, at_most_one=True)}


@extend_schema_field({"type": "object", "properties": dict.fromkeys(FOCUS_KEYS, _RATE), "additionalProperties": False})
class FocusValuesField(serializers.DictField):
    """Focus KPI → target rate, a fraction from 0 to 1 of at most 4 places."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictDecimalField(max_digits=6, decimal_places=4, min_value=0, max_value=1), **kwargs)


class FocusTargetSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="name_text", read_only=True, help_text="In the request's language.")

    class Meta:
        model = Target
        fields = ["id", "name", "kpi_key", "store", "team", "value", "direction"]
        read_only_fields = fields


class PhaseSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=PhaseKind.choices, read_only=True)
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
    kind = serializers.ChoiceField(choices=CampaignKind.choices, read_only=True)
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "store", "kind", "name", "created_at", "phases"]
        read_only_fields = fields


class PhaseDaysSerializer(serializers.Serializer):
    start = DayInputField()
    end = DayInputField(help_text="Inclusive.")

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": [_("The last day is before the first.")]})
        return attrs


_PHASE_DAYS = {
    "type": "object",
    "properties": {"start": DAY_SCHEMA, "end": {**DAY_SCHEMA, "description": "Inclusive; not before the first."}},
    "required": ["start", "end"],
}


@extend_schema_field(
    {
        "type": "object",
        "properties": dict.fromkeys(PhaseKind.values, _PHASE_DAYS),
        "anyOf": [{"required": [kind]} for kind in PhaseKind.values],
        "description": "The days of each phase; at least one.",
    }
)
class PhasesSerializer(serializers.Serializer):
    preheat = PhaseDaysSerializer(required=False)
    peak = PhaseDaysSerializer(required=False)
    after = PhaseDaysSerializer(required=False)


class CampaignCreateSerializer(serializers.Serializer):
    store = IdRelatedField(queryset=Store.objects.none(), help_text="A store the user manages.")
    kind = StrictChoiceField(choices=CampaignKind.choices, default=CampaignKind.CUSTOM)
    name = StrictCharField(max_length=80)
    phases = PhasesSerializer()
    focus_values = FocusValuesField(
        required=False,
        help_text=f"Focus KPI → target rate (fraction), instead of the defaults: {', '.join(FOCUS_KEYS)}.",
    )

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer is not None:
            self.fields["store"].queryset = store_list_promotable(viewer=viewer)

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
        campaigns = campaign_list(viewer=viewer_get(user=self.request.user))
        return campaigns.order_by("-created_at", "-pk")

    def _context(self, campaigns: list[Campaign]) -> dict:
        viewer = viewer_get(user=self.request.user)
        targets: dict[int, list[Target]] = {}
        for target in campaign_focus_targets(viewer=viewer, campaigns=campaigns):
            targets.setdefault(target.phase_id, []).append(target)
        return {**self.get_serializer_context(), "targets": targets}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        data = CampaignSerializer(page, many=True, context=self._context(list(page))).data
        return self.get_paginated_response(data)

    def create(self, request, *args, **kwargs):
        viewer = viewer_get(user=request.user)
        if not viewer_plans_promotions(viewer=viewer):
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
            raise django_errors(error) from None
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        campaign = self.get_queryset().get(pk=campaign.pk)
        data = CampaignSerializer(campaign, context=self._context([campaign])).data
        return Response(data, status=status.HTTP_201_CREATED)
