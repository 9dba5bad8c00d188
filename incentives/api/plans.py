"""Pay plans in the API: read as the plans page reads them (plan_list), written through the plan
services (HR and administrators): POST creates, PATCH edits (in place, or as a new version once a
locked statement used the plan: the answer is then the new version)."""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from incentives.api.serializers import PayPlanSerializer
from incentives.models import CommissionTier, Milestone, Modifier, Plan, PlanAllowance, RankingAward
from incentives.selectors.plans import PlanParts, plan_parts_read
from incentives.selectors.statements import plan_assignments_visible, plan_list
from incentives.services.plans import PLAN_FIELDS, plan_create, plan_update
from teams.api.filters import IdFilter
from teams.selectors.scoping import viewer_edits_plans, viewer_get


class PlanFilter(django_filters.FilterSet):
    """?store=<id> (an id the user may not see matches nothing), ?kind=general|telesales."""

    store = IdFilter(field_name="store_id")

    class Meta:
        model = Plan
        fields = ["store", "kind"]


PART_MODELS = {"tiers": CommissionTier, "modifiers": Modifier, "milestones": Milestone,
               "ranking_awards": RankingAward, "allowances": PlanAllowance}  # fmt: skip


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class PlanViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = PayPlanSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "version"]
    ordering = ["name", "-version"]
    filterset_class = PlanFilter

    @property
    def viewer(self):
        return viewer_get(user=self.request.user)

    def get_queryset(self):
        return plan_list(viewer=self.viewer)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            plans = getattr(self, "_page_plans", None)
            if plans is not None:
                context["assignments"] = plan_assignments_visible(viewer=self.viewer, plans=plans)
        return context

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        self._page_plans = list(page) if page is not None else list(queryset)
        serializer = self.get_serializer(self._page_plans, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        plan = self.get_object()
        self._page_plans = [plan]
        return Response(self.get_serializer(plan).data)

    def _parts(self, data: dict, plan: Plan | None) -> PlanParts:
        """The plan as the request describes it: its fields and parts over the saved ones."""
        saved = plan_parts_read(plan=plan) if plan is not None else None
        fields = {name: getattr(plan, name) for name in PLAN_FIELDS} if plan is not None else {}
        fields.update({name: data[name] for name in PLAN_FIELDS if name in data})
        if "grade_coefficients" in data:
            fields["grade_coefficients"] = {g: _json_number(c) for g, c in data["grade_coefficients"].items()}
        parts = {}
        for name, model in PART_MODELS.items():
            if name in data:
                rows = []
                for row in data[name]:
                    if name == "ranking_awards":
                        # PATCH validates rows partially too: a row without amounts has none (refused below).
                        row = {**row, "amounts": [_json_number(a) for a in row.get("amounts", [])]}
                    rows.append(model(**row))
                parts[name] = rows
            else:
                parts[name] = getattr(saved, name) if saved is not None else []
        return PlanParts(plan=Plan(**fields), **parts)

    def _write(self, call):
        try:
            return call()
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise ValidationError(error.message_dict) from None
            raise ValidationError({"non_field_errors": error.messages}) from None
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None

    @extend_schema(summary="Create a pay plan (HR and administrators)")
    def create(self, request, *args, **kwargs):
        if not viewer_edits_plans(viewer=self.viewer):
            raise PermissionDenied(_("HR and administrators edit pay plans."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parts = self._parts(serializer.validated_data, None)
        plan = self._write(lambda: plan_create(actor=request.user, parts=parts))
        self._page_plans = [plan]
        return Response(self.get_serializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Edit a pay plan: the parts given replace its parts; a plan a locked statement "
                           "used answers its new version")  # fmt: skip
    def partial_update(self, request, *args, **kwargs):
        plan = self.get_object()
        if not viewer_edits_plans(viewer=self.viewer):
            raise PermissionDenied(_("HR and administrators edit pay plans."))
        serializer = self.get_serializer(plan, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        parts = self._parts(serializer.validated_data, plan)
        current = self._write(lambda: plan_update(actor=request.user, plan=plan, parts=parts))
        self._page_plans = [current]
        return Response(self.get_serializer(current).data)
