"""The KPI definitions page: every KPI of the registry, as people judged or paid by them read it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from metrics.registry import KPIS, Family


@login_required
def kpi_definitions_view(request: HttpRequest) -> HttpResponse:
    """Every KPI of the registry, in both languages, for everyone who is judged or paid by them,
    grouped by the kind of team they describe."""
    titles = {
        Family.SERVICE: _("Shop service: chats, orders and traffic"),
        Family.PIPELINE: _("Online sales and telesales: leads and deals"),
        Family.CALLS: _("Telesales: calls"),
    }
    groups = [(family, titles[family], [k for k in KPIS if k.family == family]) for family in Family]
    return render(request, "kpis/kpi_definitions.html", {"groups": groups})
