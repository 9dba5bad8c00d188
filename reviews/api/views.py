"""Appraisal templates in the API, scoped and written like the pages (reviews/template_views.py):
HR and administrators write; store managers and team leads read the templates they may use; staff
get 403. Writes go through the same services: an update of a template a finalised or published
cycle used answers the new version (another id); validation errors are keyed by the field's path
("dimensions.0.items.1.weight")."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from reviews.api.serializers import PreviewRequestSerializer, PreviewSerializer, TemplateSerializer
from reviews.models import AppraisalTemplate
from reviews.selectors.templates import template_list, template_preview
from reviews.services.templates import (
    appraisal_template_copy,
    appraisal_template_create,
    appraisal_template_retire,
    appraisal_template_update,
)
from teams.selectors.scoping import (
    store_list,
    team_list,
    viewer_edits_appraisal_templates,
    viewer_get,
    viewer_reads_appraisal_templates,
)


def _errors(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


def _number(value) -> str | None:
    return None if value is None else str(value)


@extend_schema_view(
    list=extend_schema(summary="Appraisal templates the user may read (current versions; ?retired=1: all)"),
    retrieve=extend_schema(summary="One template with its grade bands, dimensions and items"),
    create=extend_schema(summary="Create a template (HR, admins)", responses={201: TemplateSerializer}),
    update=extend_schema(summary="Save an edit: in place, or a new version when a finalised cycle used it"),
    partial_update=extend_schema(summary="As update; fields left out keep their value (dimensions: all or none)"),
)
class AppraisalTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                               mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    serializer_class = TemplateSerializer
    ordering = ["name_zh", "version"]
    ordering_fields = ["name_zh", "version"]
    search_fields = ["name_zh", "name_en"]

    @property
    def viewer(self):
        return viewer_get(user=self.request.user)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator's instance
            return AppraisalTemplate.objects.none()
        if not viewer_reads_appraisal_templates(viewer=self.viewer):
            raise PermissionDenied(_("Appraisal templates are for HR, store managers and team leads."))
        templates = template_list(viewer=self.viewer)
        if self.action == "list" and self.request.query_params.get("retired") != "1":
            templates = templates.filter(retired_at__isnull=True)
        return templates

    def _editor(self):
        if not viewer_edits_appraisal_templates(viewer=self.viewer):
            raise PermissionDenied(_("Only HR and administrators edit appraisal templates."))

    def _payload(self, data) -> TemplateSerializer:
        payload = TemplateSerializer(data=data, stores=store_list(viewer=self.viewer))
        payload.is_valid(raise_exception=True)
        return payload

    def create(self, request, *args, **kwargs):
        self._editor()
        payload = self._payload(request.data)
        try:
            template = appraisal_template_create(actor=request.user, spec=payload.spec())
        except DjangoValidationError as error:
            raise _errors(error) from error
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        self._editor()
        template = self.get_object()
        data = dict(request.data)
        if partial:  # what is left out keeps its value
            data = {**TemplateSerializer(template).data, **data}
        payload = self._payload(data)
        try:
            saved = appraisal_template_update(actor=request.user, template=template, spec=payload.spec())
        except DjangoValidationError as error:
            raise _errors(error) from error
        return Response(TemplateSerializer(saved).data)

    @extend_schema(request=None, responses={201: TemplateSerializer}, summary="Copy it (an independent version 1)")
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None, format=None):  # format: the router's .json twin
        self._editor()
        copy = appraisal_template_copy(actor=request.user, template=self.get_object())
        return Response(TemplateSerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TemplateSerializer}, summary="Retire it: no longer offered")
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None, format=None):
        self._editor()
        try:
            template = appraisal_template_retire(actor=request.user, template=self.get_object())
        except DjangoValidationError as error:
            raise _errors(error) from error
        return Response(TemplateSerializer(template).data)

    @extend_schema(request=PreviewRequestSerializer, responses={200: PreviewSerializer},
                   summary="Score a draft template on a team's month, as a cycle would; nothing is saved")  # fmt: skip
    @action(detail=False, methods=["post"])
    def preview(self, request, format=None):
        self._editor()
        payload = PreviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        team = team_list(viewer=self.viewer).select_related("store").filter(pk=payload.validated_data["team"]).first()
        if team is None:  # a field of the body, not the address: a 400, as any unknown choice
            raise ValidationError({"team": [_("Choose a team from the list.")]})
        template = self._payload(request.data.get("template"))
        try:
            preview = template_preview(spec=template.spec(), team=team, month=payload.validated_data["month"])
        except DjangoValidationError as error:
            raise _errors(error) from error
        return Response({
            "team": team.pk, "month": preview.month,
            "members": [{
                "member": m.member.pk, "name": m.member.display_name, "grade": m.grade, "total": _number(m.total),
                "dimensions": [_number(s) for s in m.dimensions],
                "items": [{"name": row.item.name, "value": _number(row.raw_value), "target": _number(row.raw_target),
                           "score": _number(row.score), "status": row.status} for row in m.items],
            } for m in preview.members],
        })  # fmt: skip
