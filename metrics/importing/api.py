"""Import API: upload a file, poll its batch, list batches, map columns, read rejected rows, import
the valid rows of a batch that failed over invalid rows, run an interrupted batch again."""

import json

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from metrics.followups.services import import_batch_run_again
from metrics.importing.readers import ImportRefused
from metrics.importing.selectors import (
    import_batch_list,
    import_batch_run_again_allowed,
    import_batch_valid_rows_offer,
    import_row_error_list,
    importable_store_list,
    viewer_can_import,
)
from metrics.importing.serializers import (
    ImportBatchSerializer,
    ImportMappingSerializer,
    ImportRowErrorSerializer,
    ImportUploadSerializer,
)
from metrics.importing.services import (
    import_batch_create,
    import_batch_map,
    import_batch_queue,
    import_batch_valid_rows_import,
)
from metrics.models import ImportBatch, ImportStatus
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

    @extend_schema(
        request=None,
        responses={
            201: OpenApiResponse(ImportBatchSerializer, description="A new batch imports the valid rows (queued)."),
            200: OpenApiResponse(
                ImportBatchSerializer, description="A batch already imports, or imported, them: that batch."
            ),
            409: OpenApiResponse(
                description="The batch did not fail over invalid rows, has no valid row, or its file is no longer "
                'kept: {"detail": why}.'
            ),
            503: OpenApiResponse(
                ImportBatchSerializer, description="The job queue is unreachable: the new batch failed."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="import-valid", filter_backends=[])
    def import_valid(self, request, pk=None, format=None):
        """Import the valid rows of a batch that failed over invalid rows, from its kept file, without
        uploading it again: a new batch (skip_invalid, rerun_of = this one) is queued; poll it as an
        upload. The failed batch stays as it was."""
        batch = self.get_object()
        offer = import_batch_valid_rows_offer(batch=batch, viewer=viewer_get(user=request.user))
        if offer is not None and not offer.allowed:
            raise NotFound  # a batch of a store the user does not import into
        try:
            rerun, created = import_batch_valid_rows_import(batch=batch, user=request.user)
        except DjangoValidationError as refusal:
            return Response({"detail": " ".join(refusal.messages)}, status=status.HTTP_409_CONFLICT)
        if not created:
            return Response(ImportBatchSerializer(rerun).data)
        import_batch_queue(batch=rerun)
        if rerun.status == ImportStatus.FAILED:  # the job queue is unreachable: error_message says so
            return Response(ImportBatchSerializer(rerun).data, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(ImportBatchSerializer(rerun).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(ImportBatchSerializer, description="Queued again (the batch or its KPI update)."),
            409: OpenApiResponse(
                description="Nothing to run again: the batch is not interrupted and its figures did not fail."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="run-again", filter_backends=[])
    def run_again(self, request, pk=None, format=None):
        """Run again, from the kept file and without uploading it again, an import whose worker
        stopped twice (status `interrupted`), or the KPI update of an import whose figures failed
        twice (`kpis_status` `failed`). Poll the batch as an upload."""
        batch = self.get_object()
        if not import_batch_run_again_allowed(batch=batch, viewer=viewer_get(user=request.user)):
            raise NotFound  # a batch of a store the user does not import into
        if not batch.can_run_again:
            return Response({"detail": _("There is nothing to run again.")}, status=status.HTTP_409_CONFLICT)
        batch = import_batch_run_again(batch=batch)
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ImportRowErrorSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])  # the list's filters are not the rows'
    def errors(self, request, pk=None, format=None):
        """The rejected rows of the batch (the first IMPORT_MAX_REPORTED_ERRORS of them)."""
        page = self.paginate_queryset(import_row_error_list(batch=self.get_object()))
        return self.get_paginated_response(ImportRowErrorSerializer(page, many=True).data)
