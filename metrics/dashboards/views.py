"""Dashboard pages: the team dashboard, the personal page, the store overview.

Thin: parse the filters (all in the URL) with DashboardFilterForm, call one page function of
metrics.dashboards.pages with typed arguments (the API calls the same ones), render or export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from metrics.dashboards.forms import DashboardFilterForm
from metrics.dashboards.pages import member_page_get, period_query, sort_parse, stores_page_get, team_page_get
from metrics.dashboards.selectors.team import DEFAULT_TREND_KPI, store_list_of_teams_overseen
from metrics.followups.selectors import figures_notice
from metrics.kpis.families import kpi_choices
from metrics.registry import Level
from perfmgmt.common.exports import XLSX_CONTENT_TYPE, csv_bytes, xlsx_bytes
from perfmgmt.common.numbers import percent_plain
from perfmgmt.common.periods import DEFAULT_PRESET
from teams.forms import StaffCostForm
from teams.selectors.scoping import (
    member_list,
    store_list_editable,
    store_list_overseen,
    team_list_overseen,
    viewer_get,
)
from teams.services.costs import staff_cost_set

EXPORT_FORMATS = ("csv", "xlsx")


def _pipeline_url() -> str:
    """The stuck deals page (/pipeline/), linked from the stage ageing."""
    return reverse("pipeline:stuck_list")


def _period_args(form: DashboardFilterForm) -> dict:
    """The period the filters ask for (bad values fall back to the defaults)."""
    return {"preset": form.value("preset", DEFAULT_PRESET), "start": form.value("start"), "end": form.value("end")}


def _pk(form: DashboardFilterForm, name: str) -> int | None:
    chosen = form.value(name)
    return chosen.pk if chosen is not None else None


def _export(request: HttpRequest, *, name: str, columns: list[str], rows: list[list]) -> HttpResponse:
    kind = request.GET.get("export")
    if kind == "xlsx":
        response = HttpResponse(
            xlsx_bytes(columns, rows, sheet=name),
            content_type=XLSX_CONTENT_TYPE,
        )
    else:
        response = HttpResponse(csv_bytes(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.{kind}")
    return response


def _form_messages(request: HttpRequest, form: DashboardFilterForm) -> None:
    if form.is_bound and not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.warning(request, _("%(error)s The default was used instead.") % {"error": error})


def _shown_form(form: DashboardFilterForm, **resolved) -> DashboardFilterForm:
    """The filter form as shown: what the page really used (defaults filled in), not the raw query."""
    period = resolved.pop("period")
    initial = {**resolved, "start": period.start, "end": period.end}
    shown = DashboardFilterForm(
        initial=initial,
        stores=form.fields["store"].queryset if "store" in form.fields else None,
        teams=form.fields["team"].queryset if "team" in form.fields else None,
        members=form.fields["member"].queryset if "member" in form.fields else None,
        kpis=form.fields["kpi"].choices if "kpi" in form.fields else (),
    )
    return shown


@login_required
def team_dashboard_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    teams = team_list_overseen(viewer=viewer).order_by("store__name", "name")
    form = DashboardFilterForm(
        request.GET or None,
        stores=store_list_of_teams_overseen(viewer=viewer),
        teams=teams,
        members=member_list(viewer=viewer).order_by("display_name"),
        kpis=kpi_choices(Level.TEAM),
    )
    form.is_valid()
    member = form.value("member")
    sort, descending = sort_parse(request.GET.get("sort"))
    page = team_page_get(
        viewer=viewer,
        store_id=_pk(form, "store"),
        team_id=_pk(form, "team"),
        **_period_args(form),
        trend_kpi=form.value("kpi", DEFAULT_TREND_KPI),
        sort=sort,
        descending=descending,
        with_dashboard=member is None,
    )
    if page is None:  # staff without a team to oversee: their own page
        return redirect("dashboards:me")
    if member is not None:  # picking a member opens their page, for the same period
        return redirect(f"{reverse('dashboards:member', args=[member.pk])}?{page.member_query}")
    _form_messages(request, form)
    dashboard, team, period = page.dashboard, page.team, page.period
    if request.GET.get("export") in EXPORT_FORMATS:
        columns = [_("Rank"), _("Member"), *(kpi.label for kpi in dashboard.columns)]
        rows = [
            [row.rank, row.name, *(row.values[kpi.key] for kpi in dashboard.columns)] for row in dashboard.leaderboard
        ]
        name = f"leaderboard-{team.name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
        return _export(request, name=name, columns=columns, rows=rows)
    shown = _shown_form(
        form, preset=page.preset, period=period, store=page.store, team=team, kpi=dashboard.trend_kpi.key
    )
    shown.fields["kpi"].choices = kpi_choices(Level.TEAM, families=dashboard.families)  # the team's own
    return render(
        request,
        "dashboards/team.html",
        {
            "form": shown,
            "d": dashboard,
            "team": team,
            "today": page.today,
            "preset": page.preset,
            "member_query": page.member_query,
            "sort_descending": dashboard.descending,
            "can_import": viewer.can_assign_accounts,
            "pipeline_url": None if dashboard.is_service else _pipeline_url(),
            **figures_notice(store_ids=[team.store_id]),
        },
    )


@login_required
def my_dashboard_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if viewer.member_id is None:
        if team_list_overseen(viewer=viewer).exists():
            return redirect("dashboards:team")
        raise Http404(_("Your account is not linked to a member."))
    return member_dashboard_view(request, viewer.member_id)


@login_required
def member_dashboard_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    form = DashboardFilterForm(request.GET or None, kpis=kpi_choices(Level.MEMBER))
    form.is_valid()
    page = member_page_get(
        viewer=viewer, member_id=pk, **_period_args(form), trend_kpi=form.value("kpi", DEFAULT_TREND_KPI)
    )
    _form_messages(request, form)
    dashboard, member = page.dashboard, page.member
    if request.GET.get("export") in EXPORT_FORMATS:
        columns = [_("KPI")]
        for label, _span in dashboard.spans:
            columns += [label, f"{label}: {_('Team median')}", f"{label}: {_('Rank')}"]
        rows = []
        for kpi in dashboard.kpis:
            row = [kpi.label]
            for cell in dashboard.cells[kpi.key]:
                row += [cell.value, cell.team_median, f"{cell.rank}/{cell.ranked}" if cell.rank else None]
            rows.append(row)
        name = f"kpis-{member.display_name}-{dashboard.today:%Y%m%d}"
        return _export(request, name=name, columns=columns, rows=rows)
    own = viewer.member_id == member.pk
    form = _shown_form(form, preset=page.preset, period=page.period, kpi=dashboard.trend_kpi.key)
    form.fields["kpi"].choices = kpi_choices(Level.MEMBER, families=dashboard.families)
    return render(
        request,
        "dashboards/member.html",
        {
            "month_gmv": dashboard.cells["gmv"][2].value if own and "gmv" in dashboard.cells else None,
            # The estimator's conversion, prefilled like the GMV (the statement counts it too).
            "month_conversion": percent_plain(dashboard.cells["inquiry_to_payment_rate"][2].value, places="0.01")
            if own and "inquiry_to_payment_rate" in dashboard.cells
            else "",
            "form": form,
            "d": dashboard,
            "member": member,
            "own": viewer.member_id == member.pk,
            "preset": page.preset,
            "back_query": period_query(page.preset, page.period),
            "can_see_team": team_list_overseen(viewer=viewer).exists(),
            "pipeline_url": None if dashboard.is_service else _pipeline_url(),
            **figures_notice(store_ids=[page.store.pk] if page.store else []),
        },
    )


@login_required
def store_overview_view(request: HttpRequest) -> HttpResponse:
    # A store's staff cost is entered by those who change its settings: its managers (admins: all).
    stores_costed = store_list_editable(viewer=viewer_get(user=request.user)).order_by("name")
    cost_form = StaffCostForm(request.POST or None, stores=stores_costed)
    if request.method == "POST":
        if not cost_form.fields["store"].queryset.exists():
            raise PermissionDenied(_("Only the store's managers enter its staff cost."))
        if cost_form.is_valid():
            data = cost_form.cleaned_data
            staff_cost_set(store=data["store"], month=data["month"], amount=data["amount"], note=data["note"])
            messages.success(
                request,
                _("Staff cost of %(store)s for %(month)s saved.")
                % {"store": data["store"].name, "month": data["month"].strftime("%Y-%m")},
            )
            return redirect(request.get_full_path())
    viewer = viewer_get(user=request.user)
    form = DashboardFilterForm(request.GET or None, stores=store_list_overseen(viewer=viewer).order_by("name"))
    form.is_valid()
    page = stores_page_get(viewer=viewer, store_id=_pk(form, "store"), **_period_args(form))
    _form_messages(request, form)
    overview, period = page.overview, page.period
    if request.GET.get("export") in EXPORT_FORMATS:
        columns = [_("Store"), _("Staff"), _("Daily inquiries"), _("Chat sessions"), _("GMV"), _("Paid orders"),
                   _("Visitors (UV)"), _("GMV per staff member"), _("Staff cost"), _("Staff cost / GMV")]  # fmt: skip
        rows = [
            [
                *(r.store.name, r.staff, r.daily_inquiries, r.sessions, r.gmv, r.paid_orders, r.uv),
                *(r.gmv_per_staff, r.staff_cost, r.cost_share),
            ]
            for r in overview.rows
        ]
        return _export(request, name=f"stores-{period.start:%Y%m%d}-{period.end:%Y%m%d}", columns=columns, rows=rows)
    return render(
        request,
        "dashboards/stores.html",
        {
            "form": _shown_form(form, preset=page.preset, period=period, store=form.value("store")),
            "o": overview,
            "preset": page.preset,
            "period_query": page.period_query,
            "today": page.today,
            "staff_cost_form": cost_form if cost_form.fields["store"].queryset.exists() else None,
            **figures_notice(store_ids=page.store_ids),
        },
    )
