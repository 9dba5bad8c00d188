"""Import pages. Thin: parse, call a service or selector, render."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from metrics.followups.services import import_batch_run_again
from metrics.importing.forms import MappingForm, UploadForm
from metrics.importing.readers import ImportRefused
from metrics.importing.selectors import (
    import_batch_list,
    import_batch_list_filtered,
    import_batch_run_again_allowed,
    import_batch_valid_rows_offer,
    import_row_error_list,
    importable_store_default,
    importable_store_list,
    viewer_can_import,
)
from metrics.importing.services import (
    import_batch_create,
    import_batch_inspect,
    import_batch_map,
    import_batch_queue,
    import_batch_valid_rows_import,
)
from metrics.models import ImportKind, ImportStatus
from perfmgmt.common.exports import formula_safe
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from teams.selectors.scoping import viewer_get


def _viewer_importing(request: HttpRequest):
    viewer = viewer_get(user=request.user)
    if not viewer_can_import(viewer=viewer):
        raise PermissionDenied(_("Only managers and administrators import data."))
    return viewer


@login_required
def batch_list_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer_importing(request)
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    store = request.GET.get("store", "")
    ids = [int(x) for x in request.GET.get("ids", "").split(",") if x.isdigit()]  # the files of one upload
    batches = import_batch_list_filtered(
        viewer=viewer, ids=ids, kind=kind, status=status, store_id=int(store) if store.isdigit() else None
    )
    batches, sort = queryset_sort(
        request=request,
        queryset=batches,
        fields={
            "created": "created_at",
            "file": "file_name",
            "kind": "kind",
            "status": "status",
            "rows": "rows_total",
        },
        default="-created",
    )
    return render(
        request,
        "importing/batch_list.html",
        {
            "page": queryset_paginate(request=request, queryset=batches),
            "sort": sort,
            "kinds": ImportKind.choices,
            "statuses": ImportStatus.choices,
            "stores": importable_store_list(viewer=viewer),
            "selected": {"kind": kind, "status": status, "store": int(store) if store.isdigit() else None},
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer_importing(request)
    stores = importable_store_list(viewer=viewer)
    form = UploadForm(request.POST or None, request.FILES or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["store"] is None:
            form.cleaned_data["store"] = importable_store_default(viewer=viewer)
        created = []
        for upload in form.cleaned_data["files"]:
            batch = import_batch_create(
                file=upload,
                user=request.user,
                kind=form.cleaned_data["kind"] or None,
                store=form.cleaned_data["store"],
                skip_invalid=form.cleaned_data["skip_invalid"],
                sheet=form.cleaned_data["sheet"] or None,
            )
            if batch.status == ImportStatus.QUEUED:
                import_batch_queue(batch=batch)
            created.append(batch)
        if len(created) == 1:
            batch = created[0]
            if batch.status == ImportStatus.NEEDS_MAPPING:
                return redirect("metrics:batch_map", pk=batch.pk)
            return redirect("metrics:batch_detail", pk=batch.pk)
        unqueued = [batch for batch in created if batch.status == ImportStatus.FAILED]  # job queue unreachable
        if unqueued:
            messages.error(request, unqueued[0].error_text)
        messages.success(request, _("%(count)s files received.") % {"count": len(created)})
        return redirect(f"{reverse('metrics:batch_list')}?ids={','.join(str(b.pk) for b in created)}")
    return render(request, "importing/upload.html", {"form": form})


def _batch_for(request: HttpRequest, pk: int):
    return get_object_or_404(import_batch_list(viewer=_viewer_importing(request)), pk=pk)


@login_required
def batch_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    errors = queryset_paginate(request=request, queryset=import_row_error_list(batch=batch), per_page=50)
    viewer = viewer_get(user=request.user)
    offer = import_batch_valid_rows_offer(batch=batch, viewer=viewer)
    return render(
        request,
        "importing/batch_detail.html",
        {
            "batch": batch,
            "errors": errors,
            "offer": offer,
            "run_again_allowed": batch.can_run_again and import_batch_run_again_allowed(batch=batch, viewer=viewer),
        },
    )


@login_required
@require_POST
def batch_run_again_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run again, from the kept file, an import whose worker stopped twice (or its KPI update that
    failed twice): no upload; the batch's page shows its progress."""
    batch = _batch_for(request, pk)
    if not import_batch_run_again_allowed(batch=batch, viewer=viewer_get(user=request.user)):
        raise Http404  # a batch of a store the viewer does not import into
    import_batch_run_again(batch=batch)
    return redirect("metrics:batch_detail", pk=batch.pk)


@login_required
@require_POST
def batch_import_valid_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Import the valid rows of a batch that failed over invalid rows, from its kept file: a new
    batch, queued as an upload is; the page of the new batch shows its progress."""
    batch = _batch_for(request, pk)
    offer = import_batch_valid_rows_offer(batch=batch, viewer=viewer_get(user=request.user))
    if offer is not None and not offer.allowed:
        raise Http404  # a batch of a store the viewer does not import into: not theirs to re-run
    try:
        rerun, created = import_batch_valid_rows_import(batch=batch, user=request.user)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("metrics:batch_detail", pk=batch.pk)
    if created:
        import_batch_queue(batch=rerun)
    return redirect("metrics:batch_detail", pk=rerun.pk)


@login_required
@require_http_methods(["GET", "POST"])
def batch_map_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    if batch.status != ImportStatus.NEEDS_MAPPING:
        return redirect("metrics:batch_detail", pk=batch.pk)
    try:
        facts = import_batch_inspect(batch=batch)
    except ImportRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("metrics:batch_detail", pk=batch.pk)
    form = MappingForm(request.POST or None, kind=batch.kind, headers=facts.headers, proposal=batch.column_mapping)
    if request.method == "POST" and form.is_valid():
        try:
            batch = import_batch_map(batch=batch, mapping=form.mapping(), remember=form.cleaned_data["remember"])
        except ImportRefused as refusal:
            messages.error(request, str(refusal))
        else:
            if batch.status == ImportStatus.QUEUED:
                import_batch_queue(batch=batch)
                return redirect("metrics:batch_detail", pk=batch.pk)
            messages.error(request, _("Map every required field to a column of the file."))
    return render(request, "importing/batch_map.html", {"batch": batch, "form": form, "headers": facts.headers})


@login_required
def batch_errors_csv_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    response.write("\ufeff")  # a BOM, so that Excel opens the Chinese text as UTF-8
    writer = csv.writer(response)
    writer.writerow([_("line"), _("column"), _("value"), _("reason")])
    errors = import_row_error_list(batch=batch)
    for error in errors.iterator():
        writer.writerow([error.line, formula_safe(error.column), formula_safe(error.value), error.reason_text])
    if batch.rejected > errors.count():
        writer.writerow(
            [
                "",
                "",
                "",
                _("… and %(n)s more rows rejected") % {"n": batch.rejected - errors.count()},
            ]
        )
    return response


@login_required
def batch_file_view(request: HttpRequest, pk: int) -> FileResponse:
    batch = _batch_for(request, pk)
    if not batch.file or batch.file_deleted_at:
        raise Http404(_("The original file is no longer kept (retention period)."))
    return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.file_name)
