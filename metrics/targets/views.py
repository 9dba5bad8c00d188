"""Target pages: the list (as a tree), one target, its form, the revenue decomposition, promotions,
staff's counts and the alerts.

Thin: parse the query or the form, call the targets' selectors or services, render. What a viewer
may not see answers 404; what their role may never do answers 403."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from metrics.formatting import EMPTY, kpi_display
from metrics.messages import message_render
from metrics.models import (
    Behaviour,
    BehaviourRecord,
    Campaign,
    CampaignPhase,
    Target,
    TargetAlert,
    TargetTier,
)
from metrics.targets.decomposition import (
    LEADS,
    Decomposition,
    DecompositionInput,
    History,
    decomposition_chain,
    decomposition_history,
    member_shares,
    revenue_decompose,
)
from metrics.targets.forms import (
    HUNDRED,
    WEEKDAYS,
    DecomposeFiguresForm,
    DecomposeScopeForm,
    PromotionForm,
    RecordForm,
    RecordPickForm,
    TargetForm,
    can_set_targets,
    member_stores,
    percent_initial,
    period_members,
    plain,
    recordable_members,
)
from metrics.targets.selectors import (
    ACHIEVED,
    AHEAD,
    BEHIND,
    MISSED,
    NO_DATA,
    NOT_STARTED,
    ON_PACE,
    Progress,
    target_can_edit,
    target_kpi,
    target_list,
    targets_progress,
)
from metrics.targets.services import (
    PHASE_FOCUS,
    DecompositionSave,
    behaviour_record_set,
    campaign_create,
    decomposition_default_name,
    decomposition_save,
    target_alerts_mark_read,
    target_create,
    target_delete,
    target_update,
)
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Store, Team, TeamMembership
from teams.selectors.scoping import Viewer, store_list, team_list, viewer_get

STATUSES = {
    ACHIEVED: (gettext_lazy("Achieved"), "ok"),
    AHEAD: (gettext_lazy("Ahead"), "ok"),
    ON_PACE: (gettext_lazy("On pace"), "info"),
    BEHIND: (gettext_lazy("Behind"), "warn"),
    MISSED: (gettext_lazy("Missed"), "bad"),
    NO_DATA: (gettext_lazy("No figures yet"), ""),
    NOT_STARTED: (gettext_lazy("Not started"), ""),
}
PERIOD_FILTERS = {
    "open": gettext_lazy("Running and upcoming"),
    "current": gettext_lazy("Running"),
    "upcoming": gettext_lazy("Upcoming"),
    "past": gettext_lazy("Ended"),
    "all": gettext_lazy("All"),
}
TIER_ORDER = {TargetTier.STRATEGY: 0, TargetTier.TACTIC: 1, TargetTier.EXECUTION: 2}
ROOTS_PER_PAGE = 10
MAX_DEPTH = 6
EXECUTION_SHOWN = 6  # more execution targets of several members under one parent: folded into one row


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _service_errors(form: Form, error: ValidationError) -> None:
    """A service's ValidationError on the form's fields (the rest above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- progress rows ----------------------------------------------------------------------------


def _shown(target: Target, value: Decimal | None) -> str:
    """A target's value (or actual, expected, forecast) in its KPI's unit, or a behaviour count."""
    if value is None:
        return EMPTY
    kpi = target_kpi(target)
    if kpi is not None:
        return kpi_display(kpi, value)
    places = 0 if Decimal(value) == Decimal(value).to_integral_value() else 1
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places))
    count = number_format(rounded, places, use_l10n=True, force_grouping=True)
    unit = target.behaviour.unit_text if target.behaviour_id else ""
    return f"{count} {unit}".strip()


@dataclass
class Row:
    target: Target
    depth: int
    progress: Progress | None
    measure: str  # the KPI's label or the behaviour's name
    value: str
    actual: str
    expected: str
    forecast: str
    completion: str
    bar: int  # 0–100, the width of the progress bar
    status: str
    status_label: str
    badge: str
    folded: bool = False


def _row(target: Target, progress: Progress | None, depth: int = 0) -> Row:
    status = progress.status if progress else NOT_STARTED
    label, badge = STATUSES.get(status, (status, ""))
    completion = progress.completion if progress else None
    return Row(
        target=target,
        depth=min(depth, 4),
        progress=progress,
        measure=kpi.label if (kpi := target_kpi(target)) else (target.behaviour.name if target.behaviour_id else ""),
        value=_shown(target, target.value),
        actual=_shown(target, progress.actual) if progress else EMPTY,
        expected=_shown(target, progress.expected) if progress else EMPTY,
        forecast=_shown(target, progress.forecast) if progress else EMPTY,
        completion=EMPTY
        if completion is None
        else f"{number_format(round(completion * HUNDRED, 1), 1, use_l10n=True, force_grouping=True)}%",
        bar=0 if completion is None else int(max(0, min(completion, Decimal(1))) * 100),
        status=status,
        status_label=str(label),
        badge=badge,
    )


def targets_progress_by_store(targets: list[Target]) -> dict[int, Progress]:
    """Progress of targets of several stores, each as of its store's local today."""
    by_store: dict[int, list[Target]] = defaultdict(list)
    for target in targets:
        by_store[target.store_id].append(target)
    result: dict[int, Progress] = {}
    for store_targets in by_store.values():
        result.update(targets_progress(store_targets, today=store_today(store_targets[0].store)))
    return result


def _child_key(target: Target) -> tuple:
    member = target.member.display_name if target.member_id else ""
    return (TIER_ORDER.get(target.tier, 9), target.start, target.team_id or 0, member, target.name_text, target.pk)


def _tree(roots: list[Target], visible: QuerySet[Target]) -> list[tuple[Target | list[Target], int]]:
    """The roots with their visible descendants below them, depth first. Many execution targets
    under one parent (every member's weeks) come as one list, to be folded into one row."""
    children: dict[int, list[Target]] = defaultdict(list)
    seen = {root.pk for root in roots}
    frontier = list(seen)
    for _depth in range(MAX_DEPTH):
        if not frontier:
            break
        found = [t for t in visible.filter(parent_id__in=frontier) if t.pk not in seen]
        for target in found:
            children[target.parent_id].append(target)
            seen.add(target.pk)
        frontier = [t.pk for t in found]
    ordered: list[tuple[Target | list[Target], int]] = []

    def walk(node: Target, depth: int) -> None:
        ordered.append((node, depth))
        below = sorted(children[node.pk], key=_child_key)
        execution = [c for c in below if c.tier == TargetTier.EXECUTION]
        fold = len(execution) > EXECUTION_SHOWN and len({c.member_id for c in execution}) > 1  # one's own: shown
        for child in below:
            if not (fold and child.tier == TargetTier.EXECUTION):
                walk(child, depth + 1)
        if fold:
            ordered.append((execution, depth + 1))

    for root in roots:
        walk(root, 0)
    return ordered


@dataclass
class Folded:
    """Execution targets under one parent, shown as one row: how many, and how they stand."""

    parent: Target
    depth: int
    count: int
    statuses: list[tuple[str, str, int]]  # label, badge, how many
    folded: bool = True


def _folded(parent: Target, targets: list[Target], progress: dict[int, Progress], depth: int) -> Folded:
    counts: dict[str, int] = defaultdict(int)
    for target in targets:
        counts[progress[target.pk].status] += 1
    order = list(STATUSES)
    statuses = []
    for key in sorted(counts, key=lambda k: order.index(k) if k in order else len(order)):
        label, badge = STATUSES.get(key, (key, ""))
        statuses.append((str(label), badge, counts[key]))
    return Folded(parent=parent, depth=min(depth, 4), count=len(targets), statuses=statuses)


def _period_filter(targets: QuerySet[Target], period: str, today: dt.date) -> QuerySet[Target]:
    if period == "current":
        return targets.filter(start__lte=today, end__gte=today)
    if period == "upcoming":
        return targets.filter(start__gt=today)
    if period == "past":
        return targets.filter(end__lt=today)
    if period == "open":
        return targets.filter(end__gte=today)
    return targets


def _alerts_mine(viewer: Viewer) -> Q:
    """Alerts meant for the viewer: of targets they own, their own, their teams' (as member or
    lead) and their stores' (as manager)."""
    q = Q(target__owner_id=viewer.user_id)
    teams = set(viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(target__member_id=viewer.member_id)
        teams |= set(TeamMembership.objects.filter(member_id=viewer.member_id).values_list("team_id", flat=True))
    if teams:
        q |= Q(target__team_id__in=teams, target__member__isnull=True)
    if viewer.managed_store_ids:
        q |= Q(target__store_id__in=viewer.managed_store_ids, target__team__isnull=True, target__member__isnull=True)
    return q


def _unread_alerts(viewer: Viewer) -> int:
    visible = target_list(viewer=viewer).values("pk")
    return TargetAlert.objects.filter(target__in=visible, read_at__isnull=True).filter(_alerts_mine(viewer)).count()


# --- the list ---------------------------------------------------------------------------------


@login_required
def target_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    today = timezone.localdate()
    visible = target_list(viewer=viewer)
    store_id = _int_or_none(request.GET.get("store"))
    team_id = _int_or_none(request.GET.get("team"))
    tier = request.GET.get("tier", "")
    status = request.GET.get("status", "")
    period = request.GET.get("period", "open")
    tier = tier if tier in TargetTier.values else ""
    status = status if status in STATUSES else ""
    period = period if period in PERIOD_FILTERS else "open"
    targets = _period_filter(visible, period, today)
    if store_id:
        targets = targets.filter(store_id=store_id)
    if team_id:
        targets = targets.filter(team_id=team_id)
    if tier:
        targets = targets.filter(tier=tier)
    flat = bool(tier or status)
    if not flat:  # the tree: roots are those whose parent is not listed
        targets = targets.exclude(parent__in=targets.values("pk"))
    targets = targets.annotate(
        tier_order=Case(*(When(tier=t, then=Value(n)) for t, n in TIER_ORDER.items()), output_field=IntegerField())
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
        matching = list(targets)
        progress = targets_progress_by_store(matching)
        matching = [t for t in matching if progress[t.pk].status == status]
        page = queryset_paginate(request=request, queryset=matching)
        rows = [_row(t, progress[t.pk]) for t in page]
    else:
        page = queryset_paginate(request=request, queryset=targets, per_page=25 if flat else ROOTS_PER_PAGE)
        nodes = [(t, 0) for t in page] if flat else _tree(list(page), visible)
        every = [t for node, _depth in nodes for t in (node if isinstance(node, list) else [node])]
        progress = targets_progress_by_store(every)
        by_id = {t.pk: t for t in every}
        rows = [
            _folded(by_id[node[0].parent_id], node, progress, depth)
            if isinstance(node, list)
            else _row(node, progress[node.pk], depth)
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
            "can_set": can_set_targets(viewer),
            "can_plan_promotions": viewer.is_admin or viewer.is_manager,
            "can_record": recordable_members(viewer).exists(),
            "unread_alerts": _unread_alerts(viewer),
        },
    )


# --- one target -------------------------------------------------------------------------------


def _ancestors(target: Target, visible: QuerySet[Target]) -> list[Target]:
    chain, node, seen = [], target, {target.pk}
    while node.parent_id and node.parent_id not in seen:
        parent = visible.filter(pk=node.parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        node = parent
    return list(reversed(chain))


@login_required
def target_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    visible = target_list(viewer=viewer)
    target = get_object_or_404(visible, pk=pk)
    children = sorted(visible.filter(parent=target), key=_child_key)
    progress = targets_progress_by_store([target, *children])
    alerts = list(target.alerts.all()[:50])
    execution: dict[str, list[Target]] = defaultdict(list)
    for child in children:
        if child.tier == TargetTier.EXECUTION and child.member_id:
            execution[child.member.display_name].append(child)
    groups = [
        {
            "member": name,
            "rows": [_row(t, progress[t.pk]) for t in sorted(members_targets, key=lambda t: (t.start, t.name_text))],
            "summary": _folded(target, members_targets, progress, 0),
        }
        for name, members_targets in sorted(execution.items())
    ]
    grouped = {t.pk for targets in execution.values() for t in targets}
    return render(
        request,
        "targets/detail.html",
        {
            "target": target,
            "row": _row(target, progress[target.pk]),
            "children": [_row(child, progress[child.pk]) for child in children if child.pk not in grouped],
            "member_groups": groups,
            "open_groups": len(groups) <= 1,
            "ancestors": _ancestors(target, visible),
            "alerts": [(alert, _shown(target, alert.actual), _shown(target, alert.expected)) for alert in alerts],
            "kpi": target_kpi(target),
            "can_edit": target_can_edit(
                viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id
            ),
            "today": store_today(target.store),
        },
    )


def _initial_from_parent(request: HttpRequest, visible: QuerySet[Target]) -> dict:
    """ "Add a target below this one": the parent's store, team, days and the next tier."""
    parent = visible.filter(pk=_int_or_none(request.GET.get("parent"))).first()
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
    if not can_set_targets(viewer):
        raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))
    today = timezone.localdate()
    initial = _initial_from_parent(request, target_list(viewer=viewer))
    form = TargetForm(request.POST or None, viewer=viewer, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            target = target_create(viewer=viewer, user=request.user, owner=request.user, **form.target_fields())
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not set targets for this store, team or member."))
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Target “%(name)s” created.") % {"name": target.name_text})
            return redirect("targets:detail", pk=target.pk)
    return render(request, "targets/form.html", {"form": form, "target": None})


@login_required
def target_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    target = get_object_or_404(target_list(viewer=viewer), pk=pk)
    if not target_can_edit(viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id):
        raise PermissionDenied(_("You may not change this target."))
    form = TargetForm(request.POST or None, viewer=viewer, today=timezone.localdate(), instance=target)
    if request.method == "POST" and form.is_valid():
        try:
            target = target_update(viewer=viewer, target=target, **form.target_fields())
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not set targets for this store, team or member."))
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Target “%(name)s” saved.") % {"name": target.name_text})
            return redirect("targets:detail", pk=target.pk)
    return render(request, "targets/form.html", {"form": form, "target": target})


def _descendants(target: Target) -> int:
    count, frontier = 0, [target.pk]
    while frontier:
        frontier = list(Target.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        count += len(frontier)
    return count


@login_required
def target_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    target = get_object_or_404(target_list(viewer=viewer), pk=pk)
    if not target_can_edit(viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id):
        raise PermissionDenied(_("You may not delete this target."))
    if request.method == "POST":
        name = target.name_text
        target_delete(viewer=viewer, target=target)
        messages.success(request, _("Target “%(name)s” deleted.") % {"name": name})
        return redirect("targets:list")
    return render(request, "targets/delete.html", {"target": target, "descendants": _descendants(target)})


# --- the revenue decomposition ----------------------------------------------------------------


@dataclass
class DecomposeFigures:
    revenue: Decimal
    returning_share: Decimal
    new_value_per_deal: Decimal
    lead_conversion: Decimal | None  # None for a service team (decomposition_chain)
    returning_order_value: Decimal
    orders_per_buyer: Decimal
    inquiry_conversion: Decimal | None
    uv_conversion: Decimal | None
    working_weekdays: tuple[int, ...]
    pace_by_weights: bool
    split: str
    manual_shares: dict[int, Decimal]


def decompose_plan(
    *, store: Store, team: Team | None, period: Period, figures: DecomposeFigures, members: list[Member]
) -> tuple[Decomposition, History | None]:
    """The plan for these figures (shared by the page and the API); the history (the store's
    weekday weights, the members' GMV of the last complete period) only when weekday weights or
    that split need it. A team that works no leads gets no leads, whatever lead conversion came.
    ValueError when the figures cannot be worked back (no working day, shares that add up to
    nothing)."""
    history = None
    if figures.pace_by_weights or figures.split == "last_period":
        history = decomposition_history(
            store_id=store.pk, team_id=team.pk if team else None, period=period, today=store_today(store)
        )
    member_ids = [m.pk for m in members]
    if figures.split == "manual":
        member_ids = [m for m in member_ids if figures.manual_shares.get(m, 0) > 0]
    shares = member_shares(
        split=figures.split,
        member_ids=member_ids,
        history=history.member_gmv if history else None,
        manual=figures.manual_shares,
    )
    weights = history.weekday_weights if history and figures.pace_by_weights and history.weekday_weights else None
    spec = DecompositionInput(
        revenue=figures.revenue,
        period=period,
        returning_share=figures.returning_share,
        new_value_per_deal=figures.new_value_per_deal,
        lead_conversion=figures.lead_conversion if decomposition_chain(store=store, team=team) == LEADS else None,
        returning_order_value=figures.returning_order_value,
        orders_per_buyer=figures.orders_per_buyer,
        inquiry_conversion=figures.inquiry_conversion,
        uv_conversion=figures.uv_conversion,
        working_weekdays=tuple(sorted(figures.working_weekdays)),
        weekday_weights=weights,
        member_shares=shares,
    )
    return revenue_decompose(spec), history


def _prefill(history: History, members: list[Member], scope_name: str, period: Period) -> dict:
    """The figures form's first values: the rates and values of the last complete period."""
    aov = plain(Decimal(str(history.aov)), "0.01") if history.aov is not None else ""
    initial = {
        "returning_share": percent_initial(history.returning_share),
        "new_value_per_deal": aov,
        "returning_order_value": aov,
        "orders_per_buyer": plain(history.orders_per_buyer, "0.01") if history.orders_per_buyer else "1",
        "inquiry_conversion": percent_initial(history.inquiry_conversion),
        "uv_conversion": percent_initial(history.uv_conversion),
        "name": message_render(
            message=decomposition_default_name(scope=scope_name, start=period.start, end=period.end)
        ),
    }
    gmv = {m.pk: history.member_gmv.get(m.pk, Decimal(0)) for m in members}
    total = sum(gmv.values())
    for member in members:
        share = gmv[member.pk] / total if total > 0 else Decimal(1) / len(members)
        initial[f"share_{member.pk}"] = plain(share * HUNDRED, "0.1")
    return initial


def _figures(form: DecomposeFiguresForm) -> DecomposeFigures:
    data = form.cleaned_data
    return DecomposeFigures(
        revenue=data["revenue"],
        returning_share=data["returning_share"],
        new_value_per_deal=data["new_value_per_deal"],
        lead_conversion=data.get("lead_conversion"),
        returning_order_value=data["returning_order_value"],
        orders_per_buyer=data["orders_per_buyer"],
        inquiry_conversion=data["inquiry_conversion"],
        uv_conversion=data["uv_conversion"],
        working_weekdays=tuple(data["working_weekdays"]),
        pace_by_weights=data["pace_by_weights"],
        split=data["split"],
        manual_shares=form.manual_shares(),
    )


# Where the form's first values come from, by the shape of the period (period_shape).
PREFILLED_FROM = {
    "month": gettext_lazy("Prefilled from %(start)s – %(end)s, the last complete month; change anything."),
    "quarter": gettext_lazy("Prefilled from %(start)s – %(end)s, the last complete quarter; change anything."),
    "year": gettext_lazy("Prefilled from %(start)s – %(end)s, the last complete year; change anything."),
    "week": gettext_lazy("Prefilled from %(start)s – %(end)s, the last complete week; change anything."),
    "days": gettext_lazy(
        "Prefilled from %(start)s – %(end)s, the last complete days of the same number; change anything."
    ),
}


def _prefilled_from(history: History) -> str:
    return PREFILLED_FROM[history.kind] % {"start": f"{history.period.start:%Y-%m-%d}",
                                           "end": f"{history.period.end:%Y-%m-%d}"}  # fmt: skip


def _plan_context(plan: Decomposition, members: list[Member], history: History | None) -> dict:
    """The plan as the page shows it: per week and day, per member; the count each member works
    at is the leads for a team that works leads, the inquiring buyers for a service team."""
    names = {m.pk: m.display_name for m in members}
    uses_leads = plan.leads is not None
    weeks = [
        {
            "week": week,
            "count": week.leads if uses_leads else week.inquiries,
            "per_day": week.leads_per_working_day if uses_leads else week.inquiries_per_working_day,
            "percent": week.weight * HUNDRED,
        }
        for week in plan.weeks
    ]
    days = [
        {"day": day, "percent": day.weight * HUNDRED, "count": day.leads if uses_leads else day.inquiries}
        for day in plan.days
    ]
    member_rows = [
        {
            "name": names.get(p.member_id, p.member_id),
            "plan": p,
            "percent": p.share * HUNDRED,
            "count": p.leads if uses_leads else p.inquiries,
            "weeks": list(
                zip(p.revenue_per_week, p.leads_per_week if uses_leads else p.inquiries_per_week, strict=True)
            ),
        }
        for p in plan.members
    ]
    return {
        "plan": plan,
        "weeks": weeks,
        "days": days,
        "member_rows": member_rows,
        "uses_leads": uses_leads,
        "weekday_shares": _weekday_shares(plan.input.weekday_weights if plan.weighted else None),
        "weights_window": history.weights_window if history and plan.weighted else None,
    }


def _weekday_shares(weights: dict[int, Decimal] | None) -> list[tuple[str, Decimal]]:
    """(weekday name, percent) of each weekday the store sold on, Monday first."""
    labels = dict(WEEKDAYS)
    return [(labels[day], share * HUNDRED) for day, share in sorted((weights or {}).items())]


def _decompose_scope_error(viewer: Viewer, form: DecomposeScopeForm) -> str | None:
    store, team = form.cleaned_data["store"], form.cleaned_data.get("team")
    if target_can_edit(viewer=viewer, store_id=store.pk, team_id=team.pk if team else None, member_id=None):
        return None
    if team is None and viewer.is_team_lead:
        return _("Team leads decompose their own team's target: choose your team.")
    return _("You may not set targets for this store or team.")


@login_required
def decompose_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if not can_set_targets(viewer):
        raise PermissionDenied(_("Targets are set by managers, team leads and administrators."))
    today = timezone.localdate()
    posted = request.method == "POST"
    data = request.POST if posted else (request.GET if "store" in request.GET else None)
    scope = DecomposeScopeForm(data, viewer=viewer, today=today)
    context: dict = {"scope": scope, "figures": None}
    if data is None or not scope.is_valid():
        return render(request, "targets/decompose.html", context)
    problem = _decompose_scope_error(viewer, scope)
    if problem:
        scope.add_error("team", problem)
        return render(request, "targets/decompose.html", context)
    store, team, period = scope.cleaned_data["store"], scope.cleaned_data.get("team"), scope.resolved_period
    members = period_members(store=store, team=team, period=period)
    chain = decomposition_chain(store=store, team=team)
    context.update(store=store, team=team, period=period, members=members, uses_leads=chain == LEADS)
    if not posted:
        history = decomposition_history(
            store_id=store.pk, team_id=team.pk if team else None, period=period, today=store_today(store)
        )
        scope_name = team.name if team else store.name
        context.update(
            history=history,
            prefilled_from=_prefilled_from(history),
            weekday_shares=_weekday_shares(history.weekday_weights),
            weights_window=history.weights_window,
        )
        figures = DecomposeFiguresForm(
            initial=_prefill(history, members, scope_name, period), store=store, members=members, chain=chain
        )
        last_gmv = sum(history.member_gmv.get(m.pk, Decimal(0)) for m in members)
        if last_gmv > 0:
            figures.fields["revenue"].help_text = _("These members sold ¥%(gmv)s from %(start)s to %(end)s.") % {
                "gmv": number_format(
                    Decimal(last_gmv).quantize(Decimal("0.01")), 2, use_l10n=True, force_grouping=True
                ),
                "start": f"{history.period.start:%Y-%m-%d}",
                "end": f"{history.period.end:%Y-%m-%d}",
            }
        context["figures"] = figures
        return render(request, "targets/decompose.html", context)
    figures = DecomposeFiguresForm(request.POST, store=store, members=members, chain=chain)
    context["figures"] = figures
    if not figures.is_valid():
        return render(request, "targets/decompose.html", context)
    try:
        plan, history = decompose_plan(
            store=store, team=team, period=period, figures=_figures(figures), members=members
        )
    except ValueError as error:
        figures.add_error(None, str(error))
        return render(request, "targets/decompose.html", context)
    if request.POST.get("save") == "1":
        default = decomposition_default_name(scope=team.name if team else store.name, start=period.start,
                                             end=period.end)  # fmt: skip
        name = figures.cleaned_data["name"]
        if name == message_render(message=default):
            name = ""  # the suggested name, left as it was: generated, read in each reader's language
        how = DecompositionSave(
            store=store,
            team=team,
            name=name,
            name_msg=default,
            period_kind=figures.cleaned_data["period_kind"] or scope.period_kind,
            leads_behaviour=figures.cleaned_data.get("leads_behaviour"),
        )
        try:
            root = decomposition_save(viewer=viewer, user=request.user, plan=plan, how=how)
        except (PermissionDenied, ValidationError) as error:
            figures.add_error(None, getattr(error, "messages", None) or str(error))
        else:
            messages.success(
                request,
                _("Saved “%(name)s” with %(count)s targets below it.")
                % {"name": root.name_text, "count": _descendants(root)},
            )
            return redirect("targets:detail", pk=root.pk)
    context.update(_plan_context(plan, members, history))
    return render(request, "targets/decompose.html", context)


# --- promotions -------------------------------------------------------------------------------


@login_required
def promotion_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    stores = store_list(viewer=viewer)
    campaigns = Campaign.objects.filter(Q(store__in=stores) | Q(store__isnull=True)).select_related("store")
    campaigns = campaigns.prefetch_related(Prefetch("phases", queryset=CampaignPhase.objects.order_by("start")))
    campaigns, sort = queryset_sort(
        request=request, queryset=campaigns, fields={"created": "created_at", "name": "name"}, default="-created"
    )
    page = queryset_paginate(request=request, queryset=campaigns, per_page=10)
    focus = list(target_list(viewer=viewer).filter(phase__campaign__in=list(page)).order_by("team__name", "name"))
    progress = targets_progress_by_store(focus)
    by_phase: dict[int, list[Row]] = defaultdict(list)
    for target in focus:
        by_phase[target.phase_id].append(_row(target, progress[target.pk]))
    rows = [(campaign, [(phase, by_phase[phase.pk]) for phase in campaign.phases.all()]) for campaign in page]
    return render(
        request,
        "targets/promotions.html",
        {"page": page, "rows": rows, "sort": sort, "can_plan": viewer.is_admin or viewer.is_manager},
    )


@login_required
def promotion_create_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if not (viewer.is_admin or viewer.is_manager):
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
            _service_errors(form, error)
        else:
            messages.success(
                request, _("Promotion “%(name)s” planned with its focus targets.") % {"name": campaign.name}
            )
            return redirect("targets:promotions")
    return render(request, "targets/promotion_form.html", {"form": form})


# --- staff's counts ---------------------------------------------------------------------------


@login_required
def record_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    members = recordable_members(viewer)
    if not members.exists():
        raise PermissionDenied(_("Counts are recorded by staff, their team leads and managers."))
    source = request.POST if request.method == "POST" else request.GET
    pick = RecordPickForm(source, members=members, today=timezone.localdate())
    pick.is_valid()
    member = pick.cleaned_data.get("member") or members.filter(pk=viewer.member_id).first() or members.first()
    stores = list(member_stores(member))
    today = store_today(stores[0] if stores else None)
    day = pick.cleaned_data.get("date") or today
    if day > today and request.method == "GET":
        messages.warning(request, _("A day in the future cannot be recorded yet; today is shown instead."))
        day = today
    behaviours = list(
        Behaviour.objects.filter(store__in=stores).select_related("store").order_by("store__name", "name")
    )
    existing = {r.behaviour_id: r for r in BehaviourRecord.objects.filter(member=member, date=day)}
    initial = {"date": day, "note": next((r.note for r in existing.values() if r.note), "")}
    initial.update({f"count_{b_id}": r.count for b_id, r in existing.items()})
    form = RecordForm(request.POST or None, behaviours=behaviours, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = 0
        try:
            for behaviour, count in form.counts():
                behaviour_record_set(
                    viewer=viewer,
                    user=request.user,
                    member=member,
                    behaviour=behaviour,
                    date=form.cleaned_data["date"],
                    count=count,
                    note=form.cleaned_data["note"],
                )
                saved += 1
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(
                request,
                _("Recorded %(count)s counts of %(member)s for %(day)s.")
                % {"count": saved, "member": member.display_name, "day": f"{form.cleaned_data['date']:%Y-%m-%d}"},
            )
            query = f"?member={member.pk}&date={form.cleaned_data['date']:%Y-%m-%d}"
            return redirect(reverse("targets:record") + query)
    recent = list(
        BehaviourRecord.objects.filter(member=member)
        .select_related("behaviour", "recorded_by")
        .order_by("-date", "behaviour__name")[:30]
    )
    own_targets = list(
        target_list(viewer=viewer)
        .filter(behaviour__isnull=False, member=member, end__gte=today - dt.timedelta(days=31))
        .order_by("start", "name")
    )
    progress = targets_progress_by_store(own_targets)
    return render(
        request,
        "targets/record.html",
        {
            "member": member,
            "own": member.pk == viewer.member_id,
            "pick": pick if members.count() > 1 else None,
            "form": form,
            "day": day,
            "today": today,
            "behaviours": behaviours,
            "recent": recent,
            "target_rows": [_row(t, progress[t.pk]) for t in own_targets],
        },
    )


# --- alerts -----------------------------------------------------------------------------------


def _marking(viewer: Viewer) -> Viewer:
    """The viewer as one who marks alerts read. An alert read is read for everyone it is meant for,
    and HR's reach is read-only: HR marks through the viewer's other roles only."""
    return replace(viewer, is_hr=False)


def _alerts_for(viewer: Viewer, scope: str) -> QuerySet[TargetAlert]:
    alerts = TargetAlert.objects.filter(target__in=target_list(viewer=viewer).values("pk"))
    if scope != "all":
        alerts = alerts.filter(_alerts_mine(viewer))
    return alerts.select_related("target__store", "target__team", "target__member", "target__behaviour")


@login_required
def alert_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    scope = request.GET.get("scope", "mine")
    scope = scope if scope in ("mine", "all") else "mine"
    state = request.GET.get("state", "")
    alerts = _alerts_for(viewer, scope)
    if state == "unread":
        alerts = alerts.filter(read_at__isnull=True)
    page = queryset_paginate(request=request, queryset=alerts.order_by("-created_at", "-pk"))
    rows = [(alert, _shown(alert.target, alert.actual), _shown(alert.target, alert.expected)) for alert in page]
    return render(
        request,
        "targets/alerts.html",
        {
            "page": page,
            "rows": rows,
            "scope": scope,
            "state": state,
            "unread": _alerts_for(_marking(viewer), scope).filter(read_at__isnull=True).count(),  # markable
        },
    )


@login_required
@require_POST
def alert_read_view(request: HttpRequest) -> HttpResponse:
    """Mark the chosen alerts (or all of them) read. Alerts the viewer may not see, or sees only as
    HR, are ignored."""
    viewer = viewer_get(user=request.user)
    alerts = _alerts_for(_marking(viewer), "all").filter(read_at__isnull=True)
    if request.POST.get("all") != "1":
        ids = [i for i in (_int_or_none(v) for v in request.POST.getlist("alert")) if i]
        alerts = alerts.filter(pk__in=ids)
    marked = target_alerts_mark_read(alerts=alerts)
    if marked:
        messages.success(request, _("%(count)s alerts marked as read.") % {"count": marked})
    else:
        messages.info(request, _("No unread alert was chosen."))
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("targets:alerts")
