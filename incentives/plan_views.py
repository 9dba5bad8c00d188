"""The plans' pages: the list of the plans the viewer may read, with their rules in words, and
the pay plan editor's pages (HR and administrators): a plan's page (its rules, versions and
assignments), create, copy, edit (a plan a locked statement used becomes a new version), retire,
assign to teams and members for a span of days, and simulate a draft or a saved version on a past
month for a team or a store. Managers, leads and staff read the plans they may see (plan_list).

Thin: parse the forms, call incentives.services.plans or incentives.selectors.simulation, render.
A plan the viewer may not see answers 404; a write their role may never make answers 403; the
services' refusals are shown as messages."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from incentives import calc
from incentives.lines import count_text, minutes_text
from incentives.models import CommissionBase, CommissionMode, Plan, PlanAssignment, TierMode
from incentives.plan_forms import AssignForm, AssignmentDaysForm, PlanEditor, SimulateForm, month_default
from incentives.selectors.plans import (
    PlanParts,
    allowance_text,
    plan_is_final,
    plan_label,
    plan_parts_read,
    plan_versions,
)
from incentives.selectors.simulation import Simulation, plan_simulate
from incentives.selectors.statements import plan_assignments_visible, plan_list, viewer_oversees_pay
from incentives.services.plans import (
    plan_assign,
    plan_assignment_delete,
    plan_assignment_update,
    plan_copy,
    plan_create,
    plan_retire,
    plan_update,
)
from metrics.formatting import kpi_display, kpi_label_text, kpi_value_text, rate_display
from metrics.registry import KPI_BY_KEY
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, viewer_edits_plans
from teams.web import viewer_for_request


def _plan_get(request: HttpRequest, pk: int) -> Plan:
    """The plan if the viewer may read it (else 404)."""
    return get_object_or_404(plan_list(viewer=viewer_for_request(request=request)), pk=pk)


def _editor_required(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
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


# --- the plans in words ----------------------------------------------------------------------------

PLANS_PAGE_SIZE = 10


def _money(value) -> str:
    return kpi_display(KPI_BY_KEY["gmv"], value)


def _call_rules(plan: Plan) -> list[tuple[str, str]]:
    """The call assessment in words: the pay, each part's target and weight, the floor."""
    if not plan.call_pay:
        return []
    parts = []
    if plan.call_connected_weight and plan.call_connected_target:
        parts.append(_("%(weight)s for %(target)s connected outbound calls") % {
            "weight": rate_display(plan.call_connected_weight),
            "target": count_text(plan.call_connected_target),
        })  # fmt: skip
    if plan.call_talk_weight and plan.call_talk_target_minutes:
        minutes = Decimal(plan.call_talk_target_minutes)
        parts.append(_("%(weight)s for %(target)s (%(hours)s h) of outbound talk time") % {
            "weight": rate_display(plan.call_talk_weight), "target": minutes_text(minutes),
            "hours": f"{(minutes / 60).quantize(Decimal('0.1')).normalize():f}"})  # fmt: skip
    text = _("%(amount)s a month: %(parts)s; each part pro rata to its monthly target, at most 100%%.") % {
        "amount": _money(plan.call_pay), "parts": "; ".join(parts) or "—"}  # fmt: skip
    if plan.call_floor:
        text += " " + _("A part below %(floor)s of its target pays nothing.") % {"floor": rate_display(plan.call_floor)}
    return [(_("Call assessment"), text)]


def plan_rules(plan: Plan) -> list[tuple[str, str]]:
    """The plan's rules in words: (what, rule)."""
    rules = []
    if plan.base_salary:
        rules.append((_("Base salary"), _("%(amount)s a month.") % {"amount": _money(plan.base_salary)}))
    if plan.performance_pay:
        if plan.performance_by_score:
            text = _("%(amount)s × the month's appraisal score / 100.") % {"amount": _money(plan.performance_pay)}
        else:
            grades = ", ".join(f"{g} × {c}" for g, c in calc.grade_coefficients_ordered(plan.grade_coefficients)) or "—"
            text = _("%(amount)s × the coefficient of the month's appraisal grade (%(grades)s).") % {
                "amount": _money(plan.performance_pay), "grades": grades}  # fmt: skip
        rules.append((_("Performance pay"), text))
    rules += _call_rules(plan)
    on_deals = plan.commission_base == CommissionBase.WON
    if plan.commission_mode == CommissionMode.FLAT and on_deals:
        rules.append((_("Commission"), _("%(rate)s of the amount of the deals won (no refunds on deals, so no "
                                         "clawback).") % {"rate": rate_display(plan.flat_rate)}))  # fmt: skip
    elif plan.commission_mode == CommissionMode.FLAT:
        rules.append((_("Commission"), _("%(rate)s of the credited GMV, net of refunds.")
                      % {"rate": rate_display(plan.flat_rate)}))  # fmt: skip
    elif plan.commission_mode == CommissionMode.TIERED and on_deals:
        tiers = "; ".join(
            _("from %(completion)s of target: %(rate)s")
            % {"completion": rate_display(t.from_completion), "rate": rate_display(t.rate)}
            for t in plan.tiers.all()
        ) or "—"  # fmt: skip
        how = (_("each rate on its part of the amount won") if plan.tier_mode == TierMode.MARGINAL
               else _("the rate of the highest tier reached on all of the amount won"))  # fmt: skip
        rules.append((_("Commission"), _("On the deals won, tiered by amount-won target completion, %(how)s: "
                                         "%(tiers)s. No refunds on deals, so no clawback.")
                      % {"how": how, "tiers": tiers}))  # fmt: skip
    elif plan.commission_mode == CommissionMode.TIERED:
        tiers = "; ".join(
            _("from %(completion)s of target: %(rate)s")
            % {"completion": rate_display(t.from_completion), "rate": rate_display(t.rate)}
            for t in plan.tiers.all()
        ) or "—"  # fmt: skip
        how = (_("each rate on its part of the GMV") if plan.tier_mode == TierMode.MARGINAL
               else _("the rate of the highest tier reached on all of the GMV"))  # fmt: skip
        rules.append((_("Commission"), _("Tiered by GMV target completion, %(how)s: %(tiers)s.")
                      % {"how": how, "tiers": tiers}))  # fmt: skip
    if plan.commission_mode != CommissionMode.NONE and plan.commission_cap is not None:
        rules.append((_("Cap"), _("Commission is capped at %(cap)s a month.") % {"cap": _money(plan.commission_cap)}))
    for m in plan.modifiers.all():
        rules.append((_("KPI multiplier"), _("When %(kpi)s %(cmp)s %(threshold)s: commission × %(multiplier)s.") % {
            "kpi": kpi_label_text(m.kpi_key), "cmp": m.get_comparison_display(),
            "threshold": kpi_value_text(m.kpi_key, m.threshold), "multiplier": m.multiplier.normalize()}))  # fmt: skip
    if plan.pk_kpi_key and plan.pk_bonus_rate:
        rules.append((_("Team PK"), _("Each week's champion team by %(kpi)s: +%(rate)s commission on that week's GMV.")
                      % {"kpi": kpi_label_text(plan.pk_kpi_key),
                         "rate": rate_display(plan.pk_bonus_rate)}))  # fmt: skip
    for m in plan.milestones.all():
        rules.append((_("Milestone bonus"), _("When %(kpi)s %(cmp)s %(threshold)s: %(amount)s.") % {
            "kpi": kpi_label_text(m.kpi_key), "cmp": m.get_comparison_display(),
            "threshold": kpi_value_text(m.kpi_key, m.threshold), "amount": _money(m.amount)}))  # fmt: skip
    for award in plan.ranking_awards.all():
        amounts = ", ".join(_money(Decimal(str(a))) for a in award.amounts)
        rules.append((_("Ranking award"), _("Top %(count)s of the team by %(kpi)s: %(amounts)s.") % {
            "count": len(award.amounts), "kpi": kpi_label_text(award.kpi_key), "amounts": amounts}))  # fmt: skip
    for allowance in plan.allowances.all():
        rules.append((_("Allowance"), allowance_text(allowance=allowance)))
    return rules


# --- reading ----------------------------------------------------------------------------------------


@login_required
def plans_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    retired = request.GET.get("retired") == "1"  # retired versions too (they show on the statements they paid)
    plans = plan_list(viewer=viewer)
    if not retired:
        plans = plans.filter(retired_at__isnull=True)
    page = Paginator(plans, PLANS_PAGE_SIZE).get_page(request.GET.get("page"))
    plans = list(page.object_list)
    assignments = plan_assignments_visible(viewer=viewer, plans=plans)
    page.object_list = [(plan, plan_rules(plan), assignments.get(plan.pk, [])) for plan in plans]
    return render(request, "incentives/plans.html", {
        "page": page, "oversees": viewer_oversees_pay(viewer=viewer), "today": timezone.localdate(),
        "can_edit": viewer_edits_plans(viewer=viewer), "retired": retired,
    })  # fmt: skip


@login_required
def plan_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
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
    viewer = viewer_for_request(request=request)
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
