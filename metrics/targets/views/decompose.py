"""The revenue decomposition page: the scope, then the figures prefilled from history, the plan,
and its save as a target tree."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.messages import message_render
from metrics.targets.decomposition import LEADS, Decomposition, History, decomposition_chain, decomposition_history
from metrics.targets.forms.decompose import DecomposeFiguresForm, DecomposeScopeForm
from metrics.targets.forms.fields import HUNDRED, WEEKDAYS
from metrics.targets.selectors import (
    member_list_active,
    target_descendant_count,
)
from metrics.targets.services import (
    DecompositionFigures,
    DecompositionSave,
    decomposition_default_name,
    decomposition_plan,
    decomposition_save,
)
from perfmgmt.common.numbers import decimal_plain, percent_plain
from perfmgmt.common.periods import Period, store_today
from teams.models import Member
from teams.selectors.scoping import (
    Viewer,
    viewer_edits_target,
    viewer_get,
    viewer_sets_targets,
)


def _prefill(history: History, members: list[Member], scope_name: str, period: Period) -> dict:
    """The figures form's first values: the rates and values of the last complete period."""
    aov = decimal_plain(history.aov, places="0.01")
    initial = {
        "returning_share": percent_plain(history.returning_share, places="0.01"),
        "new_value_per_deal": aov,
        "returning_order_value": aov,
        "orders_per_buyer": decimal_plain(history.orders_per_buyer, places="0.01") if history.orders_per_buyer else "1",
        "inquiry_conversion": percent_plain(history.inquiry_conversion, places="0.01"),
        "uv_conversion": percent_plain(history.uv_conversion, places="0.01"),
        "name": message_render(
            message=decomposition_default_name(scope=scope_name, start=period.start, end=period.end)
        ),
    }
    gmv = {m.pk: history.member_gmv.get(m.pk, Decimal(0)) for m in members}
    total = sum(gmv.values())
    for member in members:
        share = gmv[member.pk] / total if total > 0 else Decimal(1) / len(members)
        initial[f"share_{member.pk}"] = decimal_plain(share * HUNDRED, places="0.1")
    return initial


def _figures(form: DecomposeFiguresForm) -> DecompositionFigures:
    data = form.cleaned_data
    return DecompositionFigures(
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
    if viewer_edits_target(viewer=viewer, store_id=store.pk, team_id=team.pk if team else None, member_id=None):
        return None
    if team is None and viewer.is_team_lead:
        return _("Team leads decompose their own team's target: choose your team.")
    return _("You may not set targets for this store or team.")


@login_required
def decompose_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if not viewer_sets_targets(viewer=viewer):
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
    members = member_list_active(store=store, team=team, period=period)
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
        plan, history = decomposition_plan(
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
                % {"name": root.name_text, "count": target_descendant_count(target=root)},
            )
            return redirect("targets:detail", pk=root.pk)
    context.update(_plan_context(plan, members, history))
    return render(request, "targets/decompose.html", context)
