"""Pay pages: the month's statements for managers and HR (recompute, approve, lock, one by one
or in bulk), one statement with every line explained (printable), the member's own statements
with a what-if estimator, and the incentive plans in words.

Thin: parse the query or the form, call the incentives selectors or services, render. A
statement the viewer may not see answers 404; the services decide what may change and their
refusals are shown as messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from incentives import calc
from incentives.forms import (
    BulkForm,
    EstimateForm,
    ManualLineEditForm,
    ManualLineForm,
    ManualLineRemoveForm,
    RecomputeForm,
    StatementFilterForm,
)
from incentives.lines import minutes_text
from incentives.models import CommissionBase, Statement, StatementState
from incentives.selectors.estimate import estimate, estimate_prefill, member_stores
from incentives.selectors.statements import (
    pay_stores,
    pay_teams,
    statement_adjustment,
    statement_list,
    statement_manual_lines,
    statement_manual_sums,
    statement_summary,
    statement_teams,
    viewer_can_approve,
    viewer_can_edit_manual_lines,
    viewer_can_lock,
    viewer_can_recompute,
    viewer_manages_store_pay,
    viewer_oversees_pay,
)
from incentives.services.manual_lines import manual_line_create, manual_line_delete, manual_line_update
from incentives.services.statements import plan_for, statement_approve, statement_lock, statements_refresh
from metrics.formatting import kpi_label_text
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from perfmgmt.common.numbers import percent_plain
from perfmgmt.common.periods import month_next, month_previous, store_today
from teams.models import Member, Store
from teams.selectors.scoping import (
    Viewer,
    viewer_approves_statements,
    viewer_exports_store,
    viewer_locks_statements,
)
from teams.web import viewer_for_request

ORDERS_SHOWN = 50  # order ids listed under a line; the rest are counted
MINE_PAGE_SIZE = 12
# Any of these in the query: the estimator's form was submitted (the rest is prefilled).
ESTIMATE_INPUTS = ("gmv", "won", "connected_calls", "talk_minutes")
SORTS = {"member": "member__display_name", "store": "store__name", "state": "state", "total": "total"}


def _errors_of(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)] if str(error) else [_("You may not do this.")]


def _back_to_list(request: HttpRequest) -> HttpResponse:
    """The statements page with the filters the form was posted from (only a query string is kept)."""
    query = request.POST.get("next", "")
    return redirect(reverse("incentives:statements") + (query if query.startswith("?") else ""))


# --- the month's statements ---------------------------------------------------------------------


@dataclass
class Row:
    statement: Statement
    teams: str
    can_approve: bool
    can_lock: bool
    manual: Decimal | None = None  # the sum of its manual lines, when it has any (included in its total)

    @property
    def selectable(self) -> bool:
        return self.can_approve or self.can_lock


@login_required
def statements_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    if not viewer_oversees_pay(viewer=viewer):
        return redirect("incentives:mine")
    stores = pay_stores(viewer=viewer)
    filters = StatementFilterForm(request.GET or None, stores=stores, teams=pay_teams(viewer=viewer))
    month = store = team = None
    state = ""
    if filters.is_bound:
        if filters.is_valid():
            data = filters.cleaned_data
            month, store, team, state = data["month"], data["store"], data["team"], data["state"]
        else:
            messages.warning(request, _("Some filters could not be used; they are left out."))
            month = filters.cleaned_data.get("month")
            store = filters.cleaned_data.get("store")
            team = filters.cleaned_data.get("team")
            state = filters.cleaned_data.get("state") or ""
    month = month or month_previous(timezone.localdate())
    if store is None and team is not None:
        store = team.store
    if store is None and len(stores) == 1 and "store" not in request.GET:
        store = stores[0]
    statements = statement_list(viewer=viewer, month=month, store=store, team=team, state=state or None)
    summary = statement_summary(statements=statements)
    statements, sort = queryset_sort(request=request, queryset=statements, fields=SORTS, default="member")
    page = queryset_paginate(request=request, queryset=statements)
    shown = list(page.object_list)
    teams = statement_teams(statements=shown)
    manual = statement_manual_sums(statements=shown)
    page.object_list = [
        Row(s, teams.get(s.pk, ""), viewer_can_approve(viewer=viewer, statement=s),
            viewer_can_lock(viewer=viewer, statement=s), manual.get(s.pk))
        for s in shown
    ]  # fmt: skip
    shown_filters = StatementFilterForm(
        initial={"month": month, "store": store, "team": team, "state": state},
        stores=stores,
        teams=pay_teams(viewer=viewer, store=store),
    )
    return render(request, "incentives/statements.html", {
        "filters": shown_filters, "month": month, "store": store, "team": team, "state": state, "page": page,
        "sort": sort, "summary": summary, "can_recompute": viewer_can_recompute(viewer=viewer, store=store),
        "recompute_stores": [s for s in stores if viewer_can_recompute(viewer=viewer, store=s)],
        "can_bulk_approve": viewer_approves_statements(viewer=viewer),
        "can_bulk_lock": viewer_locks_statements(viewer=viewer),
        "any_selectable": any(row.selectable for row in page.object_list),
        "can_export": viewer_exports_store(viewer=viewer, store_id=store.pk if store is not None else None),
        "previous_month": month_previous(month), "next_month": month_next(month),
        "query": request.GET.urlencode(),
        "month_has_any": summary.count > 0 or statement_list(viewer=viewer, month=month, store=store).exists(),
    })  # fmt: skip


@login_required
@require_POST
def recompute_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    allowed = [s.pk for s in pay_stores(viewer=viewer) if viewer_can_recompute(viewer=viewer, store=s)]
    if not allowed:
        raise PermissionDenied(_("The store's managers and HR recompute its statements."))
    form = RecomputeForm(request.POST, stores=Store.objects.filter(pk__in=allowed))
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
        return _back_to_list(request)
    store, month = form.cleaned_data["store"], form.cleaned_data["month"]
    before = dict(Statement.objects.filter(store=store, month=month).values_list("pk", "state"))
    refreshed = statements_refresh(store=store, month=month)
    drafts = sum(1 for s in refreshed if s.state == StatementState.DRAFT)
    adjusted = sum(1 for s in refreshed if s.state != StatementState.DRAFT and s.proposed_total is not None)
    created = sum(1 for s in refreshed if s.pk not in before)
    if not refreshed:
        messages.warning(request, _("Nobody in %(store)s has an incentive plan for %(month)s: no statement was made. "
                                    "Assign plans on the plans page first.")
                         % {"store": store.name, "month": f"{month:%Y-%m}"})  # fmt: skip
    else:
        text = ngettext("%(store)s, %(month)s: %(count)s statement recomputed (%(drafts)s drafts updated, "
                        "%(created)s new).",
                        "%(store)s, %(month)s: %(count)s statements recomputed (%(drafts)s drafts updated, "
                        "%(created)s new).", len(refreshed))  # fmt: skip
        messages.success(request, text % {"store": store.name, "month": f"{month:%Y-%m}", "count": len(refreshed),
                                          "drafts": drafts, "created": created})  # fmt: skip
        if adjusted:
            text = ngettext("%(count)s approved or locked statement differs from the data now: its lines are kept "
                            "and the difference is shown as a proposed adjustment.",
                            "%(count)s approved or locked statements differ from the data now: their lines are kept "
                            "and the difference is shown as a proposed adjustment.", adjusted)  # fmt: skip
            messages.warning(request, text % {"count": adjusted})
    return _back_to_list(request)


@login_required
@require_POST
def bulk_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    visible = statement_list(viewer=viewer)
    requested = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    form = BulkForm(request.POST, ids=list(visible.filter(pk__in=requested).values_list("pk", flat=True)))
    if not form.is_valid():
        if "ids" in form.errors and requested:
            messages.error(request, _("Some of the ticked statements are not yours to change."))
        else:
            for errors in form.errors.values():
                for text in errors:
                    messages.error(request, text)
        return _back_to_list(request)
    action = form.cleaned_data["action"]
    done, refused = 0, {}
    for statement in visible.filter(pk__in=form.cleaned_data["ids"]).order_by("member__display_name"):
        try:
            if action == BulkForm.APPROVE:
                statement_approve(viewer=viewer, user=request.user, statement=statement)
            else:
                statement_lock(viewer=viewer, user=request.user, statement=statement)
        except (ValidationError, PermissionDenied) as error:
            for text in _errors_of(error):
                refused.setdefault(text, []).append(statement.member.display_name)
        else:
            done += 1
    if done:
        if action == BulkForm.APPROVE:
            text = ngettext("%(count)s statement approved.", "%(count)s statements approved.", done)
        else:
            text = ngettext("%(count)s statement locked.", "%(count)s statements locked.", done)
        messages.success(request, text % {"count": done})
    for text, names in refused.items():
        messages.error(request, _("Not changed (%(names)s): %(reason)s") % {"names": ", ".join(names), "reason": text})
    return _back_to_list(request)


# --- one statement ------------------------------------------------------------------------------


@dataclass
class LineRow:
    line: object
    kpi_label: str
    order_ids: list[str]
    more_orders: int
    deals: list[dict] = field(default_factory=list)  # the first ORDERS_SHOWN deals, amounts as Decimal
    more_deals: int = 0


def _statement_get(request: HttpRequest, pk: int) -> Statement:
    return get_object_or_404(statement_list(viewer=viewer_for_request(request=request)), pk=pk)


@login_required
def statement_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    statement = _statement_get(request, pk)
    lines = [
        LineRow(
            line,
            kpi_label_text(line.kpi_key),
            list(line.order_ids or [])[:ORDERS_SHOWN],
            max(len(line.order_ids or []) - ORDERS_SHOWN, 0),
            [{**deal, "amount": Decimal(deal["amount"])} for deal in (line.deals or [])[:ORDERS_SHOWN]],
            max(len(line.deals or []) - ORDERS_SHOWN, 0),
        )
        for line in statement.lines.all()
    ]
    teams = statement_teams(statements=[statement]).get(statement.pk, "")
    manual_lines = statement_manual_lines(statement=statement)
    can_edit_manual = viewer_can_edit_manual_lines(viewer=viewer, statement=statement)
    return render(request, "incentives/statement.html", {
        "statement": statement, "lines": lines, "teams": teams,
        "adjustment": statement_adjustment(statement=statement),
        "can_approve": viewer_can_approve(viewer=viewer, statement=statement),
        "can_lock": viewer_can_lock(viewer=viewer, statement=statement),
        "own": statement.member_id == viewer.member_id, "oversees": viewer_oversees_pay(viewer=viewer),
        "list_query": f"?month={statement.month:%Y-%m}&store={statement.store_id}",
        "manual_lines": manual_lines, "can_edit_manual": can_edit_manual,
        "computed_total": calc.money(sum((row.line.amount for row in lines), Decimal(0))),
        "manual_total": calc.money(sum((line.amount for line in manual_lines), Decimal(0))),
        "manual_form": ManualLineForm(auto_id="manual_%s") if can_edit_manual else None,
    })  # fmt: skip


# --- manual lines -------------------------------------------------------------------------------


def _manual_statement(request: HttpRequest, pk: int) -> tuple[Viewer, Statement]:
    """The statement whose manual lines the viewer changes: 404 outside their scope, 403 for a
    role that never changes them (staff, team leads)."""
    viewer = viewer_for_request(request=request)
    statement = _statement_get(request, pk)
    if not viewer_manages_store_pay(viewer=viewer, store_id=statement.store_id):
        raise PermissionDenied(_("The store's managers and HR add manual lines to its statements."))
    return viewer, statement


def _refused_as_locked(request: HttpRequest, statement: Statement) -> HttpResponse | None:
    if statement.state != StatementState.LOCKED:
        return None
    messages.error(request, _("This statement is locked for payout: its lines no longer change. Put the correction "
                              "on a later month's statement."))  # fmt: skip
    return redirect("incentives:statement", pk=statement.pk)


def _form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """The service's errors on the form's fields (the others as the form's own)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _after_manual_change(request: HttpRequest, statement: Statement, text: str) -> HttpResponse:
    statement.refresh_from_db()
    if statement.awaits_reapproval:
        text += " " + _("The statement was approved: the store's manager approves it again before HR locks it.")
    messages.success(request, text)
    return redirect(reverse("incentives:statement", args=[statement.pk]) + "#manual-lines")


@login_required
def manual_line_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer, statement = _manual_statement(request, pk)
    if refused := _refused_as_locked(request, statement):
        return refused
    form = ManualLineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            manual_line_create(viewer=viewer, user=request.user, statement=statement, **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            return _after_manual_change(request, statement, _("The manual line is added."))
    return render(request, "incentives/manual_line.html", {"statement": statement, "form": form, "line": None})


@login_required
def manual_line_edit_view(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    viewer, statement = _manual_statement(request, pk)
    line = get_object_or_404(statement.manual_lines.select_related("created_by", "updated_by"), pk=line_pk)
    if refused := _refused_as_locked(request, statement):
        return refused
    initial = {"kind": line.kind, "title": line.title, "amount": line.amount, "reason": line.reason}
    form = ManualLineEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            manual_line_update(viewer=viewer, user=request.user, line=line, **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            return _after_manual_change(request, statement, _("The manual line is changed."))
    return render(request, "incentives/manual_line.html", {
        "statement": statement, "form": form, "line": line, "remove_form": ManualLineRemoveForm(auto_id="remove_%s"),
    })  # fmt: skip


@login_required
@require_POST
def manual_line_remove_view(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    viewer, statement = _manual_statement(request, pk)
    line = get_object_or_404(statement.manual_lines.all(), pk=line_pk)
    if refused := _refused_as_locked(request, statement):
        return refused
    remove_form = ManualLineRemoveForm(request.POST, auto_id="remove_%s")
    if remove_form.is_valid():
        try:
            manual_line_delete(viewer=viewer, user=request.user, line=line, reason=remove_form.cleaned_data["reason"])
        except ValidationError as error:
            _form_errors_add(remove_form, error)
        else:
            return _after_manual_change(request, statement, _("The manual line is removed."))
    initial = {"kind": line.kind, "title": line.title, "amount": line.amount, "reason": line.reason}
    return render(request, "incentives/manual_line.html", {
        "statement": statement, "form": ManualLineEditForm(initial=initial), "line": line,
        "remove_form": remove_form,
    })  # fmt: skip


@login_required
@require_POST
def statement_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    statement = _statement_get(request, pk)
    try:
        statement_approve(viewer=viewer, user=request.user, statement=statement)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors_of(error):
            messages.error(request, text)
    else:
        messages.success(request, _("The statement is approved. HR locks it for payout."))
    return redirect("incentives:statement", pk=statement.pk)


@login_required
@require_POST
def statement_lock_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    statement = _statement_get(request, pk)
    try:
        statement_lock(viewer=viewer, user=request.user, statement=statement)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors_of(error):
            messages.error(request, text)
    else:
        messages.success(request, _("The statement is locked: it is final and its commission orders are recorded "
                                    "for clawbacks."))  # fmt: skip
    return redirect("incentives:statement", pk=statement.pk)


# --- my pay: statements and the what-if estimator -----------------------------------------------


def _estimator(request: HttpRequest, member: Member, today: dt.date) -> dict:
    stores = member_stores(member=member, day=today)
    if not stores:
        return {"stores": []}
    store = next((s for s in stores if str(s.pk) == request.GET.get("store")), stores[0])
    today = store_today(store)  # the month and its days are the store's
    month = today.replace(day=1)
    plan = plan_for(member=member, store=store, month=month)
    if plan is None:
        return {"stores": stores, "store": store, "plan": None, "month": month}
    prefill = estimate_prefill(member=member, store=store, plan=plan, today=today)
    so_far, inputs = prefill.so_far, prefill.inputs
    on_deals = plan.commission_base == CommissionBase.WON
    target = calc.money(inputs["target"]) if inputs["target"] else None
    initial = {
        "store": store, "gmv": so_far.gmv, "refunds": so_far.refunds, "target": target,
        "grade": inputs["appraisal_grade"] or "", "score": inputs["appraisal_score"],
        "conversion": percent_plain(so_far.conversion, places="0.01"),
        "refund_rate": percent_plain(so_far.refund_rate, places="0.01"),
        "won": so_far.won, "connected_calls": so_far.connected_calls, "talk_minutes": so_far.talk_minutes,
    }  # fmt: skip
    if any(key in request.GET for key in ESTIMATE_INPUTS):
        # A short form (the personal page asks only for GMV and conversion): the rest as prefilled.
        data = request.GET.copy()
        for key, value in initial.items():
            if key not in data and value not in (None, ""):
                data[key] = value.pk if key == "store" else value
        form = EstimateForm(data, plan=plan, stores=stores, initial=initial)
        result = None
        if form.is_valid():
            values = form.cleaned_data
            result = estimate(
                plan=plan, gmv=values.get("gmv") or Decimal(0), refunds=values.get("refunds"),
                conversion=values.get("conversion"), target=values.get("target"),
                refund_rate=values.get("refund_rate"), appraisal_grade=values.get("grade") or None,
                appraisal_score=values.get("score"), connected_calls=values.get("connected_calls"),
                talk_minutes=values.get("talk_minutes"), won_amount=values.get("won"),
                appraisal_pending=inputs["appraisal_pending"], month=month,
            )  # fmt: skip
    else:
        # Unedited: the exact figures of the month (the form shows them rounded to its precision).
        form = EstimateForm(plan=plan, stores=stores, initial=initial)
        result = estimate(plan=plan, **inputs)
    pace = {**{k: "" if v is None else v for k, v in initial.items()}, "gmv": so_far.projected_gmv,
            "refunds": so_far.projected_refunds, "won": so_far.projected_won,
            "connected_calls": so_far.projected_connected_calls, "talk_minutes": so_far.projected_talk_minutes,
            "store": store.pk}  # fmt: skip
    return {"stores": stores, "store": store, "plan": plan, "month": month, "so_far": so_far, "form": form,
            "estimate": result, "bound": form.is_bound, "pace_query": urlencode(pace), "on_deals": on_deals,
            "so_far_talk": minutes_text(so_far.talk_minutes), "left_out": prefill.left_out,
            "left_out_manual": prefill.manual, "left_out_total": prefill.left_out_total}  # fmt: skip


@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    context = {"oversees": viewer_oversees_pay(viewer=viewer), "today": timezone.localdate()}
    if viewer.member_id is None:
        return render(request, "incentives/mine.html", {**context, "member": None})
    member = Member.objects.get(pk=viewer.member_id)
    statements = (
        statement_list(viewer=viewer)
        .filter(member_id=member.pk)
        .order_by("-month", "store__name")
        .prefetch_related("manual_lines")  # shown under each statement, with their reasons
    )
    page = Paginator(statements, MINE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incentives/mine.html", {
        **context, "member": member, "page": page, **_estimator(request, member, context["today"]),
    })  # fmt: skip
