"""Promotions: the list with each phase's focus targets, and planning one."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from metrics.targets.forms.promotions import PromotionForm
from metrics.targets.selectors import campaign_focus_targets, campaign_list, targets_progress_by_store
from metrics.targets.services import (
    PHASE_FOCUS,
    campaign_create,
)
from metrics.targets.views.rows import (
    Row,
    progress_row,
    service_errors,
)
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from teams.selectors.scoping import (
    viewer_get,
    viewer_plans_promotions,
)


@login_required
def promotion_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    campaigns = campaign_list(viewer=viewer)
    campaigns, sort = queryset_sort(
        request=request, queryset=campaigns, fields={"created": "created_at", "name": "name"}, default="-created"
    )
    page = queryset_paginate(request=request, queryset=campaigns, per_page=10)
    focus = campaign_focus_targets(viewer=viewer, campaigns=list(page))
    progress = targets_progress_by_store(targets=focus)
    by_phase: dict[int, list[Row]] = defaultdict(list)
    for target in focus:
        by_phase[target.phase_id].append(progress_row(target, progress[target.pk]))
    rows = [(campaign, [(phase, by_phase[phase.pk]) for phase in campaign.phases.all()]) for campaign in page]
    return render(
        request,
        "targets/promotions.html",
        {"page": page, "rows": rows, "sort": sort, "can_plan": viewer_plans_promotions(viewer=viewer)},
    )


@login_required
def promotion_create_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if not viewer_plans_promotions(viewer=viewer):
        raise PermissionDenied(_("Promotions are planned by the store's managers."))
    defaults = {key: value for focus in PHASE_FOCUS.values() for key, value in focus}
    form = PromotionForm(request.POST or None, viewer=viewer, focus_defaults=defaults)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_create(
                viewer=viewer,
                user=request.user,
                store=data["store"],
                kind=data["kind"],
                name=data["name"],
                phases=data["phases"],
                focus_values=data["focus_values"],
            )
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            service_errors(form, error)
        else:
            messages.success(
                request, _("Promotion “%(name)s” planned with its focus targets.") % {"name": campaign.name}
            )
            return redirect("targets:promotions")
    return render(request, "targets/promotion_form.html", {"form": form})
