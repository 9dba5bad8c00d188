"""HR's appraisal workbook for download (the rules: teams/export_views.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from reviews.services.export import appraisals_export
from teams.export_views import monthly_workbook_response


@login_required
@require_GET
def export_view(request: HttpRequest) -> HttpResponse:
    """?month=YYYY-MM[&store=<id>][&lang=zh-hans|en]: the month's appraisals as xlsx."""
    return monthly_workbook_response(
        request,
        build=appraisals_export,
        file_prefix="appraisals",
        refused=_("The appraisal export is for HR, administrators and store managers."),
        foreign_store=_("You may export the appraisals of the stores you manage only."),
    )
