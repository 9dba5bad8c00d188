"""Dashboard pages: the team dashboard, the personal page, the store overview.

Thin: parse the filters (all in the URL), resolve what the viewer may see through the scoping
selectors, call one dashboard selector (cached by data version), render or export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from incentives.selectors.badges import member_badges_recent
from metrics.dashboards.forms import DashboardFilterForm
from metrics.dashboards.pages import (
    member_dashboard_cached,
    member_home_store,
    period_query,
    team_dashboard_cached,
)
from metrics.dashboards.selectors import (
    DEFAULT_SORT,
    DEFAULT_TREND_KPI,
    PersonalDashboard,
    StoreOverview,
    TeamDashboard,
    kpi_choices,
    store_overview_get,
)
from metrics.followups.selectors import figures_notice
from metrics.kpis.cache import dashboard_cached
from metrics.registry import Level
from perfmgmt.common.exports import XLSX_CONTENT_TYPE, csv_bytes, xlsx_bytes
from perfmgmt.common.forms import percent_initial
from perfmgmt.common.periods import DEFAULT_PRESET, Period, period_resolve, store_today
from teams.forms import StaffCostForm
from teams.models import Member, StaffCost, Store, Team
from teams.selectors.scoping import member_list, store_list_overseen, team_list_overseen, viewer_get
from teams.services.costs import staff_cost_set

EXPORT_FORMATS = ("csv", "xlsx")


def _pipeline_url() -> str:
    """The stuck deals page (/pipeline/), linked from the stage ageing."""
    return reverse("pipeline:stuck_list")


def _period(form: DashboardFilterForm, today: dt.date) -> tuple[str, Period]:
    preset = form.value("preset", DEFAULT_PRESET)
    return preset, period_resolve(preset=preset, today=today, start=form.value("start"), end=form.value("end"))


def _query(request: HttpRequest, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    params.pop("export", None)
    return params.urlencode()


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


@dataclass
class TeamPage:
    """A team dashboard request resolved: who, which team, which period, and the data."""

    form: DashboardFilterForm
    store: Store | None
    team: Team | None = None
    today: dt.date | None = None
    preset: str = DEFAULT_PRESET
    period: Period | None = None
    member_query: str = ""
    dashboard: TeamDashboard | None = None
    redirect_to: str | None = None  # the page sends the user elsewhere instead


def team_page_resolve(request: HttpRequest) -> TeamPage:
    """Shared by the page and the API: scope, filters (bad values fall back to defaults), the
    team (default: the first the viewer oversees in the chosen store), the cached dashboard."""
    viewer = viewer_get(user=request.user)
    teams = team_list_overseen(viewer=viewer).order_by("store__name", "name")
    if not teams.exists():
        if viewer.member_id:
            return TeamPage(form=DashboardFilterForm(), store=None, redirect_to=reverse("dashboards:me"))
        raise PermissionDenied(_("The team dashboard is for managers, team leads and HR."))
    stores = Store.objects.filter(pk__in=teams.values("store_id")).order_by("name")
    form = DashboardFilterForm(
        request.GET or None,
        stores=stores,
        teams=teams,
        members=member_list(viewer=viewer).order_by("display_name"),
        kpis=kpi_choices(Level.TEAM),
    )
    form.is_valid()
    store = form.value("store")
    team = form.value("team") or (teams.filter(store=store).first() if store else None) or teams.first()
    if store and team.store_id != store.pk:
        team = teams.filter(store=store).first() or team
    today = store_today(team.store)
    preset, period = _period(form, today)
    member_query = period_query(preset, period)
    page = TeamPage(form, store, team, today, preset, period, member_query)
    if form.value("member"):  # picking a member opens their page, for the same period
        page.redirect_to = f"{reverse('dashboards:member', args=[form.value('member').pk])}?{member_query}"
        return page
    sort = request.GET.get("sort", DEFAULT_SORT).removeprefix("-")
    descending = None if "sort" not in request.GET else not request.GET["sort"].startswith("-")
    page.dashboard = team_dashboard_cached(
        team=team,
        preset=preset,
        period=period,
        trend_kpi=form.value("kpi", DEFAULT_TREND_KPI),
        sort=sort,
        descending=descending,
    )
    return page


@login_required
def team_dashboard_view(request: HttpRequest) -> HttpResponse:
    page = team_page_resolve(request)
    if page.redirect_to:
        return redirect(page.redirect_to)
    _form_messages(request, page.form)
    dashboard, team, period = page.dashboard, page.team, page.period
    if request.GET.get("export") in EXPORT_FORMATS:
        columns = [_("Rank"), _("Member"), *(kpi.label for kpi in dashboard.columns)]
        rows = [
            [row.rank, row.name, *(row.values[kpi.key] for kpi in dashboard.columns)] for row in dashboard.leaderboard
        ]
        name = f"leaderboard-{team.name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
        return _export(request, name=name, columns=columns, rows=rows)
    shown = _shown_form(
        page.form, preset=page.preset, period=period, store=page.store, team=team, kpi=dashboard.trend_kpi.key
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
            "can_import": viewer_get(user=request.user).can_assign_accounts,
            "pipeline_url": None if dashboard.is_service else _pipeline_url(),
            **figures_notice(store_ids=[team.store_id]),
        },
    )


def _member_or_404(request: HttpRequest, pk: int) -> Member:
    member = member_list(viewer=viewer_get(user=request.user)).filter(pk=pk).first()
    if member is None:
        # The same answer for "does not exist" and "not yours": no probing of other people's ids.
        raise Http404(_("No such member."))
    return member


@login_required
def my_dashboard_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    if viewer.member_id is None:
        if team_list_overseen(viewer=viewer).exists():
            return redirect("dashboards:team")
        raise Http404(_("Your account is not linked to a member."))
    return member_dashboard_view(request, viewer.member_id)


@dataclass
class MemberPage:
    form: DashboardFilterForm
    member: Member
    preset: str
    period: Period
    dashboard: PersonalDashboard
    store: Store | None = None  # whose day and data the page follows


def member_page_resolve(request: HttpRequest, pk: int) -> MemberPage:
    member = _member_or_404(request, pk)
    form = DashboardFilterForm(request.GET or None, kpis=kpi_choices(Level.MEMBER))
    form.is_valid()
    store = member_home_store(member)
    today = store_today(store)
    preset, period = _period(form, today)
    dashboard = member_dashboard_cached(
        member=member, store=store, today=today, period=period, trend_kpi=form.value("kpi", DEFAULT_TREND_KPI)
    )
    return MemberPage(form, member, preset, period, dashboard, store)


@login_required
def member_dashboard_view(request: HttpRequest, pk: int) -> HttpResponse:
    page = member_page_resolve(request, pk)
    _form_messages(request, page.form)
    dashboard, member = page.dashboard, page.member
    viewer = viewer_get(user=request.user)
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
    form = _shown_form(page.form, preset=page.preset, period=page.period, kpi=dashboard.trend_kpi.key)
    form.fields["kpi"].choices = kpi_choices(Level.MEMBER, families=dashboard.families)
    return render(
        request,
        "dashboards/member.html",
        {
            "badges": member_badges_recent(member=member, today=dashboard.today) if own else [],
            "month_gmv": dashboard.cells["gmv"][2].value if own and "gmv" in dashboard.cells else None,
            # The estimator's conversion, prefilled like the GMV (the statement counts it too).
            "month_conversion": percent_initial(dashboard.cells["inquiry_to_payment_rate"][2].value)
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


@dataclass
class StoresPage:
    form: DashboardFilterForm
    preset: str
    period: Period
    today: dt.date
    period_query: str
    overview: StoreOverview
    store_ids: list[int]


def stores_page_resolve(request: HttpRequest) -> StoresPage:
    viewer = viewer_get(user=request.user)
    stores = store_list_overseen(viewer=viewer).order_by("name")
    if not stores.exists():
        raise PermissionDenied(_("The store overview is for managers and HR."))
    form = DashboardFilterForm(request.GET or None, stores=stores)
    form.is_valid()
    chosen = stores.filter(pk=form.value("store").pk) if form.value("store") else stores
    today = store_today(chosen.first())
    preset, period = _period(form, today)
    team_url = reverse("dashboards:team")
    filters = period_query(preset, period)
    ids = list(chosen.values_list("pk", flat=True))
    overview = dashboard_cached(
        kind="stores",
        store_ids=ids,
        # Entered staff costs are not rollups: their last change is part of the key.
        key=(
            tuple(ids),
            period,
            filters,
            str(StaffCost.objects.filter(store_id__in=ids).aggregate(Max("updated_at"))),
        ),
        compute=lambda: store_overview_get(
            stores=chosen, period=period, store_link=lambda store_id: f"{team_url}?store={store_id}&{filters}"
        ),
    )
    return StoresPage(form, preset, period, today, filters, overview, ids)


def _cost_stores(request: HttpRequest):
    """Stores whose staff cost the user may enter: their managed stores (admins: all)."""
    viewer = viewer_get(user=request.user)
    return Store.objects.all() if viewer.is_admin else Store.objects.filter(pk__in=viewer.managed_store_ids)


@login_required
def store_overview_view(request: HttpRequest) -> HttpResponse:
    cost_form = StaffCostForm(request.POST or None, stores=_cost_stores(request).order_by("name"))
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
    page = stores_page_resolve(request)
    _form_messages(request, page.form)
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
            "form": _shown_form(page.form, preset=page.preset, period=period, store=page.form.value("store")),
            "o": overview,
            "preset": page.preset,
            "period_query": page.period_query,
            "today": page.today,
            "staff_cost_form": cost_form if cost_form.fields["store"].queryset.exists() else None,
            **figures_notice(store_ids=page.store_ids),
        },
    )
