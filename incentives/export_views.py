"""The month's payout workbook for download (the rules: teams/export_views.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from incentives.services.export import payouts_export
from teams.export_views import monthly_workbook_response


@login_required
@require_GET
def export_view(request: HttpRequest) -> HttpResponse:
    """?month=YYYY-MM[&store=<id>][&lang=zh-hans|en]: the month's payout statements as xlsx."""
    return monthly_workbook_response(
        request,
        build=payouts_export,
        file_prefix="payouts",
        refused=_("The payout export is for HR, administrators and store managers."),
        foreign_store=_("You may export the payouts of the stores you manage only."),
    )
