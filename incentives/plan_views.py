"""The pay plan editor's pages (HR and administrators): a plan's page (its rules, versions and
assignments), create, copy, edit (a plan a locked statement used becomes a new version), retire,
assign to teams and members for a span of days, and simulate a draft or a saved version on a past
month for a team or a store. Managers, leads and staff read the plans they may see (plan_list).

Thin: parse the forms, call incentives.services.plans or incentives.selectors.simulation, render.
A plan the viewer may not see answers 404; a write their role may never make answers 403; the
services' refusals are shown as messages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from incentives.models import Plan, PlanAssignment
from incentives.plan_forms import AssignForm, AssignmentDaysForm, PlanEditor, SimulateForm, month_default
from incentives.selectors.plans import PlanParts, plan_is_final, plan_label, plan_parts_read, plan_versions
from incentives.selectors.simulation import Simulation, plan_simulate
from incentives.selectors.statements import plan_assignments_visible, plan_list
from incentives.services.plans import (
    plan_assign,
    plan_assignment_delete,
    plan_assignment_update,
    plan_copy,
    plan_create,
    plan_retire,
    plan_update,
    viewer_edits_plans,
)
from incentives.views import plan_rules
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, viewer_get


def _viewer(request: HttpRequest) -> Viewer:
    return viewer_get(user=request.user)


def _plan_get(request: HttpRequest, pk: int) -> Plan:
    """The plan if the viewer may read it (else 404)."""
    return get_object_or_404(plan_list(viewer=_viewer(request)), pk=pk)


def _editor_required(request: HttpRequest) -> Viewer:
    viewer = _viewer(request)
    if not viewer_edits_plans(viewer=viewer):
        raise PermissionDenied(_("HR and administrators edit pay plans."))
    return viewer


def _refused(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    texts = error.messages if isinstance(error, ValidationError) else [str(error) or _("You may not do this.")]
    for text in texts:
        messages.error(request, text)


def _form_refused(request: HttpRequest, form) -> None:
    """A small form posted from the plan's page: its errors as messages there."""
    for errors in form.errors.values():
        for text in errors:
            messages.error(request, text)


def _simulate_form(plan: Plan | None, data=None) -> SimulateForm:
    """The month and team or store to simulate on: the plan's store (any store: every store)."""
    stores = Store.objects.order_by("name")
    if plan is not None and plan.store_id is not None:
        stores = stores.filter(pk=plan.store_id)
    stores = list(stores)
    teams = list(Team.objects.filter(store__in=stores).order_by("name"))
    initial = {"month": month_default(timezone.localdate())}
    if stores:
        initial["scope"] = f"store-{stores[0].pk}"
    return SimulateForm(data, stores=stores, teams=teams, initial=initial, prefix="sim")


def _simulation(form: SimulateForm, parts: PlanParts) -> Simulation | None:
    if not form.is_valid():
        return None
    store, team = form.scope_objects()
    return plan_simulate(parts=parts, store=store, month=form.cleaned_data["month"], team=team)


# --- reading ----------------------------------------------------------------------------------------


@login_required
def plan_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    plan = _plan_get(request, pk)
    can_edit = viewer_edits_plans(viewer=viewer)
    assignments = plan_assignments_visible(viewer=viewer, plans=[plan]).get(plan.pk, [])
    return render(request, "incentives/plan_detail.html", {
        "plan": plan, "label": plan_label(plan=plan), "rules": plan_rules(plan), "assignments": assignments,
        "versions": plan_versions(plan=plan) if can_edit else [], "can_edit": can_edit,
        "final": plan_is_final(plan=plan), "today": timezone.localdate(),
        "assign_form": AssignForm(plan=plan, prefix="assign") if can_edit and not plan.is_retired else None,
        "days_forms": {a.pk: AssignmentDaysForm(initial={"start_date": a.start_date, "end_date": a.end_date},
                                                prefix=f"a{a.pk}") for a in assignments} if can_edit else {},
        "simulate_form": _simulate_form(plan) if can_edit else None,
    })  # fmt: skip


# --- the editor ---------------------------------------------------------------------------------------


def _editor_page(request: HttpRequest, editor: PlanEditor, plan: Plan | None, simulate_form: SimulateForm,
                 simulation: Simulation | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    return render(request, "incentives/plan_form.html", {
        "editor": editor, "form": editor.form, "plan": plan, "label": plan_label(plan=plan) if plan else "",
        "final": plan is not None and plan_is_final(plan=plan), "simulate_form": simulate_form,
        "simulation": simulation,
    }, status=status)  # fmt: skip


def _editor_post(request: HttpRequest, plan: Plan | None) -> HttpResponse:
    """Save the plan, or simulate the form as it stands (nothing saved)."""
    editor = PlanEditor(request.POST, plan=plan)
    simulate_form = _simulate_form(plan, request.POST if "simulate" in request.POST else None)
    if not editor.is_valid():
        messages.error(request, _("The plan was not saved: please correct the fields marked below."))
        return _editor_page(request, editor, plan, simulate_form)
    if "simulate" in request.POST:
        return _editor_page(request, editor, plan, simulate_form, _simulation(simulate_form, editor.parts()))
    try:
        if plan is None:
            saved = plan_create(actor=request.user, parts=editor.parts())
            messages.success(request, _("Plan %(plan)s created. Assign it to teams or members below.")
                             % {"plan": saved.name})  # fmt: skip
        else:
            saved = plan_update(actor=request.user, plan=plan, parts=editor.parts())
            if saved.pk != plan.pk:
                messages.success(request, _("Saved as version %(version)s: version %(old)s stays with the locked "
                                            "statements computed with it; its assignments moved to the new "
                                            "version.") % {"version": saved.version, "old": plan.version})  # fmt: skip
            else:
                messages.success(request, _("Plan %(plan)s saved.") % {"plan": saved.name})
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
        return _editor_page(request, editor, plan, simulate_form)
    return redirect("incentives:plan_detail", pk=saved.pk)


@login_required
def plan_create_view(request: HttpRequest) -> HttpResponse:
    _editor_required(request)
    if request.method == "POST":
        return _editor_post(request, None)
    return _editor_page(request, PlanEditor(), None, _simulate_form(None))


@login_required
def plan_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_get(request, pk)
    _editor_required(request)
    if plan.is_retired:
        messages.warning(request, _("This version is retired: it keeps showing on the statements computed with "
                                    "it. Edit the current version."))  # fmt: skip
        return redirect("incentives:plan_detail", pk=plan.pk)
    if request.method == "POST":
        return _editor_post(request, plan)
    return _editor_page(request, PlanEditor(plan=plan, parts=plan_parts_read(plan=plan)), plan, _simulate_form(plan))


@login_required
def plan_simulate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A saved version simulated on a month for a team or store."""
    plan = _plan_get(request, pk)
    _editor_required(request)
    form = _simulate_form(plan, request.GET if "sim-month" in request.GET else None)
    simulation = _simulation(form, plan_parts_read(plan=plan)) if form.is_bound else None
    return render(request, "incentives/plan_simulate.html", {
        "plan": plan, "label": plan_label(plan=plan), "simulate_form": form, "simulation": simulation,
    })  # fmt: skip


@login_required
@require_POST
def plan_copy_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_get(request, pk)
    _editor_required(request)
    copy = plan_copy(actor=request.user, plan=plan)
    messages.success(request, _("Copied as %(plan)s: edit it, then assign it.") % {"plan": copy.name})
    return redirect("incentives:plan_edit", pk=copy.pk)


@login_required
@require_POST
def plan_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_get(request, pk)
    _editor_required(request)
    try:
        plan_retire(actor=request.user, plan=plan)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Plan %(plan)s is retired: it is no longer offered for assignments.")
                         % {"plan": plan.name})  # fmt: skip
    return redirect("incentives:plan_detail", pk=plan.pk)


# --- assignments ----------------------------------------------------------------------------------------


@login_required
@require_POST
def plan_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_get(request, pk)
    _editor_required(request)
    form = AssignForm(request.POST, plan=plan, prefix="assign")
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("incentives:plan_detail", pk=plan.pk)
    data = form.cleaned_data
    try:
        plan_assign(actor=request.user, plan=plan, team=data["team"], member=data["member"],
                    start_date=data["start_date"], end_date=data["end_date"])  # fmt: skip
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Assigned. The statements still open of those months are recomputed."))
    return redirect("incentives:plan_detail", pk=plan.pk)


def _assignment_get(request: HttpRequest, pk: int) -> PlanAssignment:
    """The assignment if the viewer sees its plan and its team or member (else 404)."""
    viewer = _viewer(request)
    assignment = get_object_or_404(
        PlanAssignment.objects.select_related("plan", "team__store", "member").filter(
            plan__in=plan_list(viewer=viewer).values("pk")
        ),
        pk=pk,
    )
    visible = plan_assignments_visible(viewer=viewer, plans=[assignment.plan]).get(assignment.plan_id, [])
    if assignment.pk not in {a.pk for a in visible}:
        raise Http404
    return assignment


@login_required
@require_POST
def assignment_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment_get(request, pk)
    _editor_required(request)
    form = AssignmentDaysForm(request.POST, prefix=f"a{assignment.pk}")
    if not form.is_valid():
        _form_refused(request, form)
        return redirect("incentives:plan_detail", pk=assignment.plan_id)
    try:
        plan_assignment_update(actor=request.user, assignment=assignment, start_date=form.cleaned_data["start_date"],
                               end_date=form.cleaned_data["end_date"])  # fmt: skip
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("The assignment's days are saved."))
    return redirect("incentives:plan_detail", pk=assignment.plan_id)


@login_required
@require_POST
def assignment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment_get(request, pk)
    _editor_required(request)
    plan_id = assignment.plan_id
    plan_assignment_delete(actor=request.user, assignment=assignment)
    messages.success(request, _("The assignment is removed."))
    return redirect("incentives:plan_detail", pk=plan_id)
