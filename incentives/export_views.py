"""The month's payout workbook for download: HR and administrators for any store or all of them,
managers for the stores they manage, nobody else. Thin: parse, check who asks, call the export
service."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from incentives.services.export import LANGUAGES, XLSX_CONTENT_TYPE, month_parse, payouts_export
from teams.models import Store
from teams.selectors.scoping import viewer_get


@login_required
@require_GET
def export_view(request: HttpRequest) -> HttpResponse:
    """?month=YYYY-MM[&store=<id>][&lang=zh-hans|en]: the month's payout statements as xlsx."""
    viewer = viewer_get(user=request.user)
    if not (viewer.sees_everything or viewer.is_manager):
        raise PermissionDenied(_("The payout export is for HR, administrators and store managers."))
    try:
        month = month_parse(request.GET.get("month", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Give the month as YYYY-MM."))
    store_id = request.GET.get("store", "").strip()
    if store_id and not store_id.isdigit():
        return HttpResponseBadRequest(_("No such store."))
    if not viewer.sees_everything:
        # Managers: their stores only (one they do not manage gets the same answer, whether it exists or not).
        if store_id and int(store_id) not in viewer.managed_store_ids:
            raise PermissionDenied(_("You may export the payouts of the stores you manage only."))
        if not store_id:
            if len(viewer.managed_store_ids) != 1:
                return HttpResponseBadRequest(_("Choose one of your stores."))
            store_id = str(next(iter(viewer.managed_store_ids)))
    store = None
    if store_id:
        store = Store.objects.filter(pk=int(store_id)).first()
        if store is None:
            raise Http404(_("No such store."))
    lang = request.GET.get("lang") or get_language() or LANGUAGES[0]
    lang = lang.lower() if lang.lower() in LANGUAGES else ("en" if lang.startswith("en") else LANGUAGES[0])
    content = payouts_export(month=month, store=store, lang=lang)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"payouts-{month:%Y-%m}" + (f"-{store.name}" if store else "") + f"-{lang}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
