"""Alerts of targets' progress: the list (mine or all), marking them read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.targets.selectors import target_alert_list, target_alert_unread_count
from metrics.targets.services import (
    target_alerts_mark_read,
)
from metrics.targets.views.rows import (
    int_or_none,
    value_shown,
)
from perfmgmt.common.listing import queryset_paginate
from teams.selectors.scoping import (
    viewer_acting,
    viewer_get,
)


@login_required
def alert_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    scope = request.GET.get("scope", "mine")
    scope = scope if scope in ("mine", "all") else "mine"
    state = request.GET.get("state", "")
    alerts = target_alert_list(viewer=viewer, mine=scope == "mine", unread=state == "unread")
    page = queryset_paginate(request=request, queryset=alerts)
    rows = [
        (alert, value_shown(alert.target, alert.actual), value_shown(alert.target, alert.expected)) for alert in page
    ]
    return render(
        request,
        "targets/alerts.html",
        {
            "page": page,
            "rows": rows,
            "scope": scope,
            "state": state,
            # those the viewer may mark read (not as HR)
            "unread": target_alert_unread_count(viewer=viewer_acting(viewer=viewer), mine=scope == "mine"),
        },
    )


@login_required
@require_POST
def alert_read_view(request: HttpRequest) -> HttpResponse:
    """Mark the chosen alerts (or all of them) read. Alerts the viewer may not see, or sees only as
    HR, are ignored."""
    viewer = viewer_get(user=request.user)
    ids = (
        None
        if request.POST.get("all") == "1"
        else [i for i in (int_or_none(v) for v in request.POST.getlist("alert")) if i]
    )
    alerts = target_alert_list(viewer=viewer_acting(viewer=viewer), mine=False, unread=True, ids=ids)
    marked = target_alerts_mark_read(alerts=alerts)
    if marked:
        messages.success(request, _("%(count)s alerts marked as read.") % {"count": marked})
    else:
        messages.info(request, _("No unread alert was chosen."))
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("targets:alerts")
