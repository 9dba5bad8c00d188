"""Stuck deals as JSON: the list the user may see (scoped like the pages by `stuck_deal_list`),
one deal, the owner's breakthrough plan and the manager's answer through the deals' services.
What a user may not see answers 404, what their role may not do 403. Money is a string with two
decimals, durations whole seconds."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from metrics.models import LeadStage, StuckDeal
from metrics.pipeline.selectors import (
    CLOSED_DEALS,
    OPEN,
    PLAN_MIN_LENGTH,
    RESPONSE_MIN_LENGTH,
    SLA_STATUSES,
    TEXT_MAX_LENGTH,
    stuck_deal_deadline,
    stuck_deal_list,
    stuck_deal_response_time,
    stuck_deal_sla,
    stuck_deals_filter,
)
from metrics.pipeline.services import stuck_deal_plan_submit, stuck_deal_respond
from teams.api.filters import IdQueryField
from teams.selectors.scoping import viewer_get

SLA_HELP = "no_plan, waiting, on_time, late, overdue or closed (left negotiation before an answer was due)"


def _django_errors(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


class StuckDealQuerySerializer(serializers.Serializer):
    """The list's filters: ids (an id the user may not see matches nothing), the state, the SLA."""

    store = IdQueryField()
    team = IdQueryField(help_text="Deals of members who belong or belonged to the team.")
    member = IdQueryField()
    state = serializers.ChoiceField(choices=[OPEN, CLOSED_DEALS], required=False, help_text="Default: both.")
    sla = serializers.ChoiceField(choices=list(SLA_STATUSES), required=False, help_text=SLA_HELP)


class StuckDealSerializer(serializers.ModelSerializer):
    lead_id = serializers.CharField(source="lead.lead_id", read_only=True, help_text="The CRM's lead id.")
    customer = serializers.CharField(source="lead.customer", read_only=True)
    stage = serializers.CharField(source="lead.stage", read_only=True, help_text="The lead's current stage.")
    amount = serializers.SerializerMethodField(help_text="Yuan, two decimals; null when unknown.")
    member_name = serializers.CharField(source="member.display_name", read_only=True, default=None)
    response_due_at = serializers.SerializerMethodField(help_text="Plan submitted + the store's response hours.")
    response_seconds = serializers.SerializerMethodField(help_text="Answered − plan submitted, in seconds.")
    sla_status = serializers.SerializerMethodField(help_text=SLA_HELP)
    outcome = serializers.ChoiceField(
        choices=LeadStage.choices, allow_blank=True, read_only=True, help_text="Empty while in negotiation."
    )

    class Meta:
        model = StuckDeal
        fields = [
            "id", "store", "lead", "lead_id", "customer", "stage", "amount", "member", "member_name",
            "negotiation_since", "detected_at", "plan", "plan_submitted_at", "plan_by", "response", "responded_at",
            "responded_by", "response_due_at", "response_seconds", "sla_status", "closed_at", "outcome",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_amount(self, deal: StuckDeal) -> str | None:
        amount = deal.lead.amount
        return None if amount is None else f"{amount:.2f}"

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_response_due_at(self, deal: StuckDeal):
        return stuck_deal_deadline(deal=deal)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_response_seconds(self, deal: StuckDeal) -> int | None:
        elapsed = stuck_deal_response_time(deal=deal)
        return None if elapsed is None else int(elapsed.total_seconds())

    @extend_schema_field(OpenApiTypes.STR)
    def get_sla_status(self, deal: StuckDeal) -> str:
        return stuck_deal_sla(deal=deal, now=self.context.get("now"))


class PlanSerializer(serializers.Serializer):
    plan = serializers.CharField(min_length=PLAN_MIN_LENGTH, max_length=TEXT_MAX_LENGTH)


class ResponseSerializer(serializers.Serializer):
    response = serializers.CharField(min_length=RESPONSE_MIN_LENGTH, max_length=TEXT_MAX_LENGTH)


@extend_schema_view(
    list=extend_schema(
        parameters=[StuckDealQuerySerializer], summary="Stuck deals the user may see, longest stuck first"
    ),
    retrieve=extend_schema(summary="One stuck deal"),
)
class StuckDealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deals stuck in negotiation longer than their store allows. Staff see their own, team
    leads those of their teams' members, managers their stores', HR and admins every one."""

    serializer_class = StuckDealSerializer
    filter_backends = []

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self):
        deals = stuck_deal_list(viewer=viewer_get(user=self.request.user))
        if self.action != "list":
            return deals
        query = StuckDealQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        deals = stuck_deals_filter(
            deals=deals,
            store_id=q.get("store"),
            team_id=q.get("team"),
            member_id=q.get("member"),
            state=q.get("state", ""),
            sla=q.get("sla", ""),
        )
        return deals.order_by("negotiation_since", "pk")

    def _write(self, request, service, payload_class, field: str):
        deal = self.get_object()
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            service(
                viewer=viewer_get(user=request.user),
                user=request.user,
                deal=deal,
                **{field: payload.validated_data[field]},
            )
        except DjangoValidationError as error:
            raise _django_errors(error) from None
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        deal = self.get_queryset().get(pk=deal.pk)
        return Response(
            StuckDealSerializer(deal, context=self.get_serializer_context()).data, status=status.HTTP_200_OK
        )

    @extend_schema(
        request=PlanSerializer,
        responses={
            200: StuckDealSerializer,
            400: OpenApiResponse(description="Too short, already submitted, or the deal left negotiation"),
            403: OpenApiResponse(description="Only the deal's owner submits its plan"),
        },
        summary="Submit the breakthrough plan (the deal's owner; once)",
    )
    @action(detail=True, methods=["post"])
    def plan(self, request, pk=None, format=None):
        return self._write(request, stuck_deal_plan_submit, PlanSerializer, "plan")

    @extend_schema(
        request=ResponseSerializer,
        responses={
            200: StuckDealSerializer,
            400: OpenApiResponse(description="Too short, no plan yet, already answered, or the deal left negotiation"),
            403: OpenApiResponse(description="Only the store's managers and the owner's team lead answer"),
        },
        summary="Answer the plan with strategy support (a manager or the team lead; once)",
    )
    @action(detail=True, methods=["post"])
    def response(self, request, pk=None, format=None):
        return self._write(request, stuck_deal_respond, ResponseSerializer, "response")
