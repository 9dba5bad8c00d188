"""The targets' own pages: the list (as a tree), one target, its form, its deletion."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.models import Target, TargetTier
from metrics.targets.forms.targets import TargetForm
from metrics.targets.selectors import (
    PERIOD_FILTERS,
    STATUSES,
    target_alert_unread_count,
    target_ancestors,
    target_descendant_count,
    target_kpi,
    target_list,
    targets_progress_by_store,
    targets_with_status,
)
from metrics.targets.services import (
    target_create,
    target_delete,
    target_update,
)
from metrics.targets.tree import (
    target_alert_list_of_target,
    target_children_list,
    target_get,
    target_list_for_page,
    target_tree_get,
)
from metrics.targets.views.rows import (
    ROOTS_PER_PAGE,
    folded_row,
    int_or_none,
    progress_row,
    service_errors,
    value_shown,
)
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from perfmgmt.common.periods import store_today
from teams.selectors.scoping import (
    Viewer,
    member_list_recordable,
    store_list,
    team_list,
    viewer_edits_target,
    viewer_get,
    viewer_plans_promotions,
    viewer_sets_targets,
)


@login_required
def target_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    today = timezone.localdate()
    store_id = int_or_none(request.GET.get("store"))
    team_id = int_or_none(request.GET.get("team"))
    tier = request.GET.get("tier", "")
    status = request.GET.get("status", "")
    period = request.GET.get("period", "open")
    tier = tier if tier in TargetTier.values else ""
    status = status if status in STATUSES else ""
    period = period if period in PERIOD_FILTERS else "open"
    flat = bool(tier or status)
    targets = target_list_for_page(
        viewer=viewer, today=today, period=period, store_id=store_id, team_id=team_id, tier=tier, roots_only=not flat
    )
    targets, sort = queryset_sort(
        request=request,
        queryset=targets,
        fields={
            "name": "name",
            "tier": "tier_order",
            "scope": "store__name",
            "start": "start",
            "end": "end",
        },
        default="start",
    )
    if status:
        matching, progress = targets_with_status(targets=targets, status=status)
        page = queryset_paginate(request=request, queryset=matching)
        rows = [progress_row(t, progress[t.pk]) for t in page]
    else:
        page = queryset_paginate(request=request, queryset=targets, per_page=25 if flat else ROOTS_PER_PAGE)
        nodes = [(t, 0) for t in page] if flat else target_tree_get(viewer=viewer, roots=list(page))
        every = [t for node, _depth in nodes for t in (node if isinstance(node, list) else [node])]
        progress = targets_progress_by_store(targets=every)
        by_id = {t.pk: t for t in every}
        rows = [
            folded_row(by_id[node[0].parent_id], node, progress, depth)
            if isinstance(node, list)
            else progress_row(node, progress[node.pk], depth)
            for node, depth in nodes
        ]
    stores = store_list(viewer=viewer).order_by("name")
    teams = team_list(viewer=viewer).order_by("store__name", "name")
    return render(
        request,
        "targets/list.html",
        {
            "page": page,
            "rows": rows,
            "sort": sort,
            "flat": flat,
            "stores": stores,
            "teams": teams,
            "tiers": TargetTier.choices,
            "statuses": [(key, label) for key, (label, _badge) in STATUSES.items()],
            "periods": list(PERIOD_FILTERS.items()),
            "selected": {"store": store_id, "team": team_id, "tier": tier, "status": status, "period": period},
            "filtered": bool(store_id or team_id or tier or status or period != "open"),
            "can_set": viewer_sets_targets(viewer=viewer),
            "can_plan_promotions": viewer_plans_promotions(viewer=viewer),
            "can_record": member_list_recordable(viewer=viewer).exists(),
            "unread_alerts": target_alert_unread_count(viewer=viewer),
        },
    )


# --- one target -------------------------------------------------------------------------------


@login_required
def target_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    visible = target_list(viewer=viewer)
    target = get_object_or_404(visible, pk=pk)
    children = target_children_list(viewer=viewer, target=target)
    progress = targets_progress_by_store(targets=[target, *children])
    alerts = target_alert_list_of_target(target=target)
    execution: dict[str, list[Target]] = defaultdict(list)
    for child in children:
        if child.tier == TargetTier.EXECUTION and child.member_id:
            execution[child.member.display_name].append(child)
    groups = [
        {
            "member": name,
            "rows": [
                progress_row(t, progress[t.pk]) for t in sorted(members_targets, key=lambda t: (t.start, t.name_text))
            ],
            "summary": folded_row(target, members_targets, progress, 0),
        }
        for name, members_targets in sorted(execution.items())
    ]
    grouped = {t.pk for targets in execution.values() for t in targets}
    return render(
        request,
        "targets/detail.html",
        {
            "target": target,
            "row": progress_row(target, progress[target.pk]),
            "children": [progress_row(child, progress[child.pk]) for child in children if child.pk not in grouped],
            "member_groups": groups,
            "open_groups": len(groups) <= 1,
            "ancestors": target_ancestors(target=target, visible=visible),
            "alerts": [
                (alert, value_shown(target, alert.actual), value_shown(target, alert.expected)) for alert in alerts
            ],
            "kpi": target_kpi(target),
            "can_edit": viewer_edits_target(
                viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id
            ),
            "today": store_today(target.store),
        },
    )


def _initial_from_parent(request: HttpRequest, viewer: Viewer) -> dict:
    """ "Add a target below this one": the parent's store, team, days and the next tier."""
    parent = target_get(viewer=viewer, pk=int_or_none(request.GET.get("parent")))
    if parent is None:
        return {}
    lower = {TargetTier.STRATEGY: TargetTier.TACTIC, TargetTier.TACTIC: TargetTier.EXECUTION}
    return {
        "parent": parent.pk,
        "store": parent.store_id,
        "team": parent.team_id,
        "period_kind": parent.period_kind,
        "start": parent.start,
        "end": parent.end,
        "phase": parent.phase_id,
        "tier": lower.get(parent.tier, TargetTier.EXECUTION),
    }


@login_required
def target_create_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if not viewer_sets_targets(viewer=viewer):
        raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))
    today = timezone.localdate()
    initial = _initial_from_parent(request, viewer)
    form = TargetForm(request.POST or None, viewer=viewer, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            target = target_create(viewer=viewer, user=request.user, owner=request.user, **form.target_fields())
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not set targets for this store, team or member."))
        except ValidationError as error:
            service_errors(form, error)
        else:
            messages.success(request, _("Target “%(name)s” created.") % {"name": target.name_text})
            return redirect("targets:detail", pk=target.pk)
    return render(request, "targets/form.html", {"form": form, "target": None})


@login_required
def target_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    target = get_object_or_404(target_list(viewer=viewer), pk=pk)
    if not viewer_edits_target(
        viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id
    ):
        raise PermissionDenied(_("You may not change this target."))
    form = TargetForm(request.POST or None, viewer=viewer, today=timezone.localdate(), instance=target)
    if request.method == "POST" and form.is_valid():
        try:
            target = target_update(viewer=viewer, target=target, **form.target_fields())
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not set targets for this store, team or member."))
        except ValidationError as error:
            service_errors(form, error)
        else:
            messages.success(request, _("Target “%(name)s” saved.") % {"name": target.name_text})
            return redirect("targets:detail", pk=target.pk)
    return render(request, "targets/form.html", {"form": form, "target": target})


@login_required
def target_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    target = get_object_or_404(target_list(viewer=viewer), pk=pk)
    if not viewer_edits_target(
        viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id
    ):
        raise PermissionDenied(_("You may not delete this target."))
    if request.method == "POST":
        name = target.name_text
        target_delete(viewer=viewer, target=target)
        messages.success(request, _("Target “%(name)s” deleted.") % {"name": name})
        return redirect("targets:list")
    return render(
        request, "targets/delete.html", {"target": target, "descendants": target_descendant_count(target=target)}
    )
