"""Downloading a month's HR workbook (appraisals, payouts): one way to ask, one set of rules.

?month=YYYY-MM[&store=<id>][&lang=zh-hans|en]. HR and administrators get any store or all of
them; managers their own stores (with one store, it is chosen for them); everyone else is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from perfmgmt.common.exports import LANGUAGES, XLSX_CONTENT_TYPE, month_parse
from teams.models import Store
from teams.selectors.scoping import viewer_exports_store, viewer_exports_workbooks
from teams.web import viewer_for_request


def monthly_workbook_response(
    request: HttpRequest,
    *,
    build: Callable[..., bytes],
    file_prefix: str,
    refused: str,
    foreign_store: str,
) -> HttpResponse:
    """`build(month=, store=, lang=)` as an xlsx download. `refused`: the message for whoever may
    not export at all; `foreign_store`: for a manager asking for another store."""
    viewer = viewer_for_request(request=request)
    if not viewer_exports_workbooks(viewer=viewer):
        raise PermissionDenied(refused)
    try:
        month: dt.date = month_parse(request.GET.get("month", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Give the month as YYYY-MM."))
    store_id = request.GET.get("store", "").strip()
    if store_id and not store_id.isdigit():
        return HttpResponseBadRequest(_("No such store."))
    if not viewer.sees_everything:
        # Managers: their stores only. Another store is "not found", whether it exists or not, as
        # every object outside someone's scope (docs/roles.md).
        if store_id and not viewer_exports_store(viewer=viewer, store_id=int(store_id)):
            raise Http404(foreign_store)
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
    response = HttpResponse(build(month=month, store=store, lang=lang), content_type=XLSX_CONTENT_TYPE)
    name = f"{file_prefix}-{month:%Y-%m}" + (f"-{store.name}" if store else "") + f"-{lang}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
