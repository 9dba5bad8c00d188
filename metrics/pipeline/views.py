"""Pipeline pages: stuck deals (the list, one deal with its stage history, the owner's plan and
the answer to it), the follow-up health report per member and the best hours to contact.

Thin: parse the query or the form, call metrics.pipeline.selectors or metrics.pipeline.services,
render. What a viewer may not see answers 404; what their role may not do answers 403."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from metrics.formatting import share_display
from metrics.models import StuckDeal
from metrics.pipeline.reports import (
    BEST_SLOTS,
    MIN_CALLS,
    HourGrid,
    call_hours_grid,
    stage_advance_hours_grid,
)
from metrics.pipeline.selectors import (
    AMBER_STALE_SHARE,
    CLOSED_DEALS,
    DEAL_STATES,
    HEALTH_ORDER,
    HEALTH_STATUSES,
    OPEN,
    PLAN_MIN_LENGTH,
    RED_STALE_SHARE,
    RESPONSE_MIN_LENGTH,
    SLA_STATUSES,
    STALE_DAYS,
    TEXT_MAX_LENGTH,
    followup_health_report,
    lead_stage_history,
    member_list_of_stuck_deals,
    pipeline_members,
    pipeline_teams,
    stuck_deal_can_respond,
    stuck_deal_can_submit_plan,
    stuck_deal_counts_get,
    stuck_deal_deadline,
    stuck_deal_list,
    stuck_deal_response_time,
    stuck_deal_sla,
    stuck_deals_filter,
    viewer_oversees_store,
)
from metrics.pipeline.services import stuck_deal_plan_submit, stuck_deal_respond
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from perfmgmt.common.periods import MAX_RANGE_DAYS, Period, store_today
from teams.models import Store
from teams.selectors.scoping import Viewer, store_list, team_list, viewer_get

SORTS = {
    "since": "negotiation_since",
    "detected": "detected_at",
    "member": "member__display_name",
    "customer": "lead__customer",
    "amount": "lead__amount_cents",
    "plan": "plan_submitted_at",
}
HEALTH_SORTS = {
    "status": lambda r: (HEALTH_ORDER[r.status], r.member.display_name),
    "name": lambda r: (r.member.display_name,),
    "open": lambda r: (r.open_leads,),
    "stale": lambda r: (r.stale_share if r.stale_share is not None else Decimal(-1),),
    "age": lambda r: (r.average_stage_days if r.average_stage_days is not None else Decimal(-1),),
    "stuck": lambda r: (r.stuck_open,),
    "plans": lambda r: (r.plans_submitted,),
    "on_time": lambda r: (r.answered_on_time,),
}
HEALTH_DEFAULT_DAYS = 30
BEST_HOURS_DEFAULT_DAYS = 90
STATE_ALL = "all"


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _bounded(value: str | None, default: int, low: int, high: int) -> int:
    number = _int_or_none(value)
    return default if number is None else max(low, min(high, number))


def _period(request: HttpRequest, store: Store, default_days: int) -> tuple[Period, str]:
    """start/end from the query (local days, inclusive), else the last `default_days` days up to
    the store's today; a clear message when what was asked could not be used."""
    today = store_today(store)
    default = Period(today - dt.timedelta(days=default_days - 1), today)
    raw_start, raw_end = request.GET.get("start", ""), request.GET.get("end", "")
    if not raw_start and not raw_end:
        return default, ""
    try:
        start = dt.date.fromisoformat(raw_start) if raw_start else default.start
        end = dt.date.fromisoformat(raw_end) if raw_end else default.end
    except ValueError:
        return default, _("Dates are written as YYYY-MM-DD; the last %(days)s days are shown.") % {"days": default_days}
    if end < start:
        start, end = end, start
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return Period(end - dt.timedelta(days=MAX_RANGE_DAYS - 1), end), _(
            "A period is at most %(days)s days; its last %(days)s days are shown."
        ) % {"days": MAX_RANGE_DAYS}
    return Period(start, end), ""


def _chosen_store(request: HttpRequest, viewer: Viewer) -> tuple[list[Store], Store | None]:
    stores = list(store_list(viewer=viewer).order_by("name"))
    wanted = _int_or_none(request.GET.get("store"))
    store = next((s for s in stores if s.pk == wanted), stores[0] if stores else None)
    return stores, store


# --- stuck deals -------------------------------------------------------------------------------


@dataclass
class DealRow:
    deal: StuckDeal
    days: str  # days in negotiation (until it left, or until now)
    sla: str
    sla_label: str
    badge: str
    deadline: dt.datetime | None
    response_time: dt.timedelta | None
    response_text: str  # "3 h 05 min", or empty


def _days(delta: dt.timedelta) -> str:
    return number_format(Decimal(delta.total_seconds() / 86400).quantize(Decimal("0.1")), 1, use_l10n=True)


def _deal_row(deal: StuckDeal, now: dt.datetime) -> DealRow:
    sla = stuck_deal_sla(deal=deal, now=now)
    label, badge = SLA_STATUSES[sla]
    response_time = stuck_deal_response_time(deal=deal)
    response_text = ""
    if response_time is not None:
        minutes = int(response_time.total_seconds() // 60)
        response_text = _("%(hours)s h %(minutes)02d min") % {"hours": minutes // 60, "minutes": minutes % 60}
    return DealRow(
        deal=deal,
        days=_days((deal.closed_at or now) - deal.negotiation_since),
        sla=sla,
        sla_label=str(label),
        badge=badge,
        deadline=stuck_deal_deadline(deal=deal),
        response_time=response_time,
        response_text=response_text,
    )


@login_required
def stuck_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    now = timezone.now()
    state = request.GET.get("state", OPEN)
    state = state if state in (OPEN, CLOSED_DEALS, STATE_ALL) else OPEN
    sla = request.GET.get("sla", "")
    sla = sla if sla in SLA_STATUSES else ""
    store_id, team_id, member_id = (_int_or_none(request.GET.get(k)) for k in ("store", "team", "member"))
    deals = stuck_deals_filter(
        deals=stuck_deal_list(viewer=viewer),
        store_id=store_id,
        team_id=team_id,
        member_id=member_id,
        state="" if state == STATE_ALL else state,
        sla=sla,
        now=now,
    )
    deals, sort = queryset_sort(request=request, queryset=deals, fields=SORTS, default="since")
    page = queryset_paginate(request=request, queryset=deals)
    return render(
        request,
        "pipeline/stuck_list.html",
        {
            "page": page,
            "rows": [_deal_row(deal, now) for deal in page],
            "sort": sort,
            "state": state,
            "states": [(OPEN, DEAL_STATES[OPEN]), (CLOSED_DEALS, DEAL_STATES[CLOSED_DEALS])],
            "sla": sla,
            "sla_choices": [(key, label) for key, (label, _badge) in SLA_STATUSES.items()],
            "stores": store_list(viewer=viewer).order_by("name"),
            "teams": team_list(viewer=viewer),
            "members": member_list_of_stuck_deals(viewer=viewer),
            "selected": {"store": store_id, "team": team_id, "member": member_id},
            "filtered": bool(store_id or team_id or member_id or sla or state != OPEN),
            "counts": stuck_deal_counts_get(viewer=viewer, now=now),
        },
    )


class PlanForm(forms.Form):
    plan = forms.CharField(
        label=gettext_lazy("Breakthrough plan"),
        widget=forms.Textarea(attrs={"rows": 6}),
        min_length=PLAN_MIN_LENGTH,
        max_length=TEXT_MAX_LENGTH,
        help_text=gettext_lazy("What blocks the deal, what you will do next and by when, and the support you need."),
    )


class ResponseForm(forms.Form):
    response = forms.CharField(
        label=gettext_lazy("Strategy support"),
        widget=forms.Textarea(attrs={"rows": 5}),
        min_length=RESPONSE_MIN_LENGTH,
        max_length=TEXT_MAX_LENGTH,
        help_text=gettext_lazy("Your advice on the plan: what to change, what you will do to help."),
    )


def _detail(
    request: HttpRequest,
    deal: StuckDeal,
    *,
    plan_form: PlanForm | None = None,
    response_form: ResponseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    now = timezone.now()
    is_open = deal.closed_at is None
    may_plan = is_open and deal.plan_submitted_at is None and stuck_deal_can_submit_plan(viewer=viewer, deal=deal)
    may_respond = (
        is_open
        and deal.plan_submitted_at is not None
        and deal.responded_at is None
        and stuck_deal_can_respond(viewer=viewer, deal=deal)
    )
    history = [
        (step, _days(dt.timedelta(seconds=step.seconds))) for step in lead_stage_history(lead=deal.lead, now=now)
    ]
    return render(
        request,
        "pipeline/stuck_detail.html",
        {
            "deal": deal,
            "row": _deal_row(deal, now),
            "history": history,
            "plan_form": (plan_form or PlanForm()) if may_plan else None,
            "response_form": (response_form or ResponseForm()) if may_respond else None,
            "hours": deal.store.stuck_deal_response_hours,
        },
        status=status,
    )


def _visible_deal(request: HttpRequest, pk: int) -> StuckDeal:
    return get_object_or_404(stuck_deal_list(viewer=viewer_get(user=request.user)), pk=pk)


@login_required
def stuck_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _visible_deal(request, pk))


def _service_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_POST
def stuck_plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible_deal(request, pk)
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            stuck_deal_plan_submit(
                viewer=viewer_get(user=request.user), user=request.user, deal=deal, plan=form.cleaned_data["plan"]
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(
                request,
                _("Plan submitted. The team lead or a manager answers within %(hours)s hours.")
                % {"hours": deal.store.stuck_deal_response_hours},
            )
            return redirect("pipeline:stuck_detail", pk=deal.pk)
    return _detail(request, deal, plan_form=form, status=400)


@login_required
@require_POST
def stuck_respond_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _visible_deal(request, pk)
    form = ResponseForm(request.POST)
    if form.is_valid():
        try:
            stuck_deal_respond(
                viewer=viewer_get(user=request.user),
                user=request.user,
                deal=deal,
                response=form.cleaned_data["response"],
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, _("Your answer was saved and sent to the deal's owner."))
            return redirect("pipeline:stuck_detail", pk=deal.pk)
    return _detail(request, deal, response_form=form, status=400)


# --- follow-up health --------------------------------------------------------------------------


@login_required
def health_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    stores, store = _chosen_store(request, viewer)
    context: dict = {"stores": stores, "store": store, "stale_days": STALE_DAYS}
    if store is None:
        return render(request, "pipeline/health.html", context)
    teams = pipeline_teams(viewer=viewer, store=store)
    team_id = _int_or_none(request.GET.get("team"))
    team_id = team_id if any(t.pk == team_id for t in teams) else None
    period, period_error = _period(request, store, HEALTH_DEFAULT_DAYS)
    stale_days = _bounded(request.GET.get("stale"), STALE_DAYS, 1, 60)
    members = list(pipeline_members(viewer=viewer, store=store, team_id=team_id))
    rows = followup_health_report(store=store, members=members, period=period, stale_days=stale_days)
    requested = request.GET.get("sort", "status")
    key = requested.removeprefix("-")
    if key not in HEALTH_SORTS:
        requested, key = "status", "status"
    rows.sort(key=lambda r: (*HEALTH_SORTS[key](r), r.member.display_name), reverse=requested.startswith("-"))
    page = queryset_paginate(request=request, queryset=rows)
    shown = [
        {
            "row": row,
            "label": HEALTH_STATUSES[row.status][0],
            "badge": HEALTH_STATUSES[row.status][1],
            "stale_share": share_display(row.stale_share, places=0),
            "average_days": "—"
            if row.average_stage_days is None
            else number_format(row.average_stage_days, 1, use_l10n=True),
        }
        for row in page
    ]
    context.update(
        {
            "teams": teams,
            "team_id": team_id,
            "period": period,
            "period_error": period_error,
            "stale_days": stale_days,
            "page": page,
            "rows": shown,
            "sort": requested,
            "hours": store.stuck_deal_response_hours,
            "amber_share": share_display(AMBER_STALE_SHARE, places=0),
            "red_share": share_display(RED_STALE_SHARE, places=0),
            "own_only": not members or (len(members) == 1 and members[0].pk == viewer.member_id),
        }
    )
    return render(request, "pipeline/health.html", context)


# --- best hours --------------------------------------------------------------------------------


def _grid_rows(grid: HourGrid, rates: bool) -> list[tuple[str, list[dict | None]]]:
    """Each weekday's cells with their text and a shade (0–1) relative to the strongest cell."""
    peak = max((c.rate for c in grid.cells.values() if c.rate is not None), default=None)
    rows = []
    for weekday, cells in grid.rows:
        shown = []
        for cell in cells:
            if cell is None:
                shown.append(None)
                continue
            shade = float(cell.rate / peak) if peak else 0.0
            shown.append(
                {
                    "cell": cell,
                    "text": share_display(cell.rate, places=0),
                    "shade": f"{0.08 + 0.6 * shade:.2f}",
                    "title": (
                        _("%(hits)s of %(count)s calls connected") % {"hits": cell.hits, "count": cell.count}
                        if rates
                        else _("%(count)s advances") % {"count": cell.count}
                    ),
                }
            )
        rows.append((str(WEEKDAYS_ABBR[weekday - 1]), shown))
    return rows


def _slot(cell) -> str:
    return f"{WEEKDAYS_ABBR[cell.weekday - 1]} {cell.hour:02d}:00–{cell.hour + 1:02d}:00"


@login_required
def best_hours_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    stores, store = _chosen_store(request, viewer)
    context: dict = {"stores": stores, "store": store, "min_calls": MIN_CALLS, "best_slots": BEST_SLOTS}
    if store is None:
        return render(request, "pipeline/best_hours.html", context)
    teams = pipeline_teams(viewer=viewer, store=store)
    team_id = _int_or_none(request.GET.get("team"))
    team_id = team_id if any(t.pk == team_id for t in teams) else None
    members = list(pipeline_members(viewer=viewer, store=store, team_id=team_id))
    member_id = _int_or_none(request.GET.get("member"))
    member_id = member_id if any(m.pk == member_id for m in members) else None
    if member_id:
        member_ids: list[int] | None = [member_id]
    elif team_id or not viewer_oversees_store(viewer=viewer, store=store):
        member_ids = [m.pk for m in members]
    else:
        member_ids = None  # the whole store, accounts not assigned to anyone included
    period, period_error = _period(request, store, BEST_HOURS_DEFAULT_DAYS)
    min_calls = _bounded(request.GET.get("min_calls"), MIN_CALLS, 1, 1000)
    calls = call_hours_grid(store=store, period=period, member_ids=member_ids, min_calls=min_calls)
    advances = stage_advance_hours_grid(store=store, period=period, member_ids=member_ids)
    context.update(
        {
            "teams": teams,
            "team_id": team_id,
            "members": members,
            "member_id": member_id,
            "period": period,
            "period_error": period_error,
            "min_calls": min_calls,
            "calls": calls,
            "calls_rows": _grid_rows(calls, rates=True),
            "calls_rate": share_display(calls.rate),
            "calls_best": [(_slot(c), share_display(c.rate), c.hits, c.count) for c in calls.best],
            "advances": advances,
            "advances_rows": _grid_rows(advances, rates=False),
            "advances_best": [(_slot(c), share_display(c.rate), c.count) for c in advances.best],
        }
    )
    return render(request, "pipeline/best_hours.html", context)
