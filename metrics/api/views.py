"""Import API: upload a file, poll its batch, list batches, map columns, read rejected rows."""

import json

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from metrics.api.serializers import (
    ImportBatchSerializer,
    ImportMappingSerializer,
    ImportRowErrorSerializer,
    ImportUploadSerializer,
)
from metrics.importing.readers import ImportRefused
from metrics.models import ImportBatch, ImportStatus
from metrics.selectors.imports import import_batch_list, importable_store_list, viewer_can_import
from metrics.services.imports import import_batch_create, import_batch_map, import_batch_queue
from teams.api.filters import IdFilter
from teams.selectors.scoping import viewer_get


class ImportBatchFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id", label="store")

    class Meta:
        model = ImportBatch
        fields = ["kind", "status", "store"]


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    filterset_class = ImportBatchFilter
    ordering_fields = ["created_at", "file_name", "rows_total"]
    ordering = ["-created_at"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not viewer_can_import(viewer=viewer_get(user=request.user)):
            raise PermissionDenied(_("Only managers and administrators import data."))

    def get_queryset(self):
        return import_batch_list(viewer=viewer_get(user=self.request.user)).prefetch_related("stores")

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportBatchSerializer, 503: ImportBatchSerializer},
    )
    def create(self, request, format=None):
        """Upload one export file. The import runs in the background: poll the batch until is_finished."""
        # A plain dict: DRF reads a QueryDict's dict fields as "mapping.x" form keys instead.
        data = request.data.dict() if hasattr(request.data, "dict") else dict(request.data)
        if isinstance(data.get("mapping"), str):  # multipart sends the mapping as JSON text
            try:
                data["mapping"] = json.loads(data["mapping"])
            except ValueError:
                raise ValidationError({"mapping": [_("Not valid JSON.")]}) from None
        stores = importable_store_list(viewer=viewer_get(user=request.user))
        payload = ImportUploadSerializer(data=data, stores=stores)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        batch = import_batch_create(
            file=values["file"],
            user=request.user,
            kind=values.get("kind"),
            store=values.get("store"),
            mapping=values.get("mapping"),
            skip_invalid=values["skip_invalid"],
            sheet=values.get("sheet") or None,
        )
        if batch.status == ImportStatus.QUEUED:
            import_batch_queue(batch=batch)
            if batch.status == ImportStatus.FAILED:  # the job queue is unreachable: error_message says so
                return Response(ImportBatchSerializer(batch).data, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ImportMappingSerializer,
        responses={
            200: ImportBatchSerializer,
            400: OpenApiResponse(description="Unknown fields or headers, or the batch does not need a mapping."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])  # the list's filters are not the batch's
    def mapping(self, request, pk=None, format=None):
        """Map the file's columns to fields, for a batch whose status is needs_mapping."""
        batch = self.get_object()
        if batch.status != ImportStatus.NEEDS_MAPPING:
            raise ValidationError({"status": [_("This batch does not need a mapping.")]})
        payload = ImportMappingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            # Fields not named keep what was proposed or given before.
            mapping = {**batch.column_mapping, **payload.validated_data["mapping"]}
            batch = import_batch_map(batch=batch, mapping=mapping, remember=payload.validated_data["remember"])
        except ImportRefused as refusal:
            raise ValidationError({"mapping": [str(refusal)]}) from None
        if batch.status == ImportStatus.QUEUED:
            import_batch_queue(batch=batch)
        return Response(ImportBatchSerializer(batch).data)

    @extend_schema(responses={200: ImportRowErrorSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])  # the list's filters are not the rows'
    def errors(self, request, pk=None, format=None):
        """The rejected rows of the batch (the first IMPORT_MAX_REPORTED_ERRORS of them)."""
        page = self.paginate_queryset(self.get_object().row_errors.all())
        return self.get_paginated_response(ImportRowErrorSerializer(page, many=True).data)
