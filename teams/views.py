"""Organisation pages. Thin: parse the query, call a selector or service, render."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from perfmgmt.common.exports import XLSX_CONTENT_TYPE, csv_bytes, xlsx_bytes
from perfmgmt.common.listing import queryset_paginate, queryset_sort
from teams.forms import (
    AccountAssignForm,
    MemberForm,
    MembershipMoveForm,
    PlatformAccountForm,
    StoreForm,
    TeamForm,
    form_service_errors,
)
from teams.models import ChangeAction, ChangeArea, Member, TeamKind, TeamMembership
from teams.selectors.changes import change_fields, change_list, change_list_filter, change_object_kind
from teams.selectors.organisation import (
    account_assign_member_choices,
    account_list_for_page,
    getting_started_get,
    home_summary_get,
    member_detail_get,
    member_list_with_team,
)
from teams.selectors.scoping import (
    Viewer,
    assignable_account_list,
    member_list_editable,
    store_fields_editable,
    store_list,
    store_list_editable,
    team_list,
    team_list_editable,
    user_list,
)
from teams.services.accounts import account_assign
from teams.services.members import member_create, member_update, membership_move
from teams.services.organisation import (
    platform_account_create,
    store_create,
    store_update,
    team_create,
    team_update,
)
from teams.web import viewer_for_request


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    summary = home_summary_get(viewer=viewer_for_request(request=request))
    return render(request, "teams/home.html", {"summary": summary})


@login_required
def store_list_view(request: HttpRequest) -> HttpResponse:
    stores, sort = queryset_sort(
        request=request,
        queryset=store_list(viewer=viewer_for_request(request=request)),
        fields={"name": "name", "platform": "platform", "tz": "time_zone"},
        default="name",
    )
    viewer = viewer_for_request(request=request)
    return render(
        request,
        "teams/store_list.html",
        {
            "page": queryset_paginate(request=request, queryset=stores),
            "sort": sort,
            "editable_ids": set(store_list_editable(viewer=viewer).values_list("pk", flat=True)),
        },
    )


@login_required
def team_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    teams = team_list(viewer=viewer)
    store_id = _int_or_none(request.GET.get("store"))
    kind = request.GET.get("kind", "")
    if store_id:
        teams = teams.filter(store_id=store_id)
    if kind in TeamKind.values:
        teams = teams.filter(kind=kind)
    teams, sort = queryset_sort(
        request=request,
        queryset=teams,
        fields={"name": "name", "store": "store__name", "kind": "kind", "lead": "lead__display_name"},
        default="store",
    )
    return render(
        request,
        "teams/team_list.html",
        {
            "page": queryset_paginate(request=request, queryset=teams),
            "sort": sort,
            "stores": store_list(viewer=viewer),
            "kinds": TeamKind.choices,
            "selected_store": store_id,
            "selected_kind": kind,
            "editable_ids": set(team_list_editable(viewer=viewer).values_list("pk", flat=True)),
        },
    )


@login_required
def member_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    members = member_list_with_team(viewer=viewer)
    search = request.GET.get("q", "").strip()
    team_id = _int_or_none(request.GET.get("team"))
    active = request.GET.get("active", "1")
    if search:
        members = members.filter(Q(display_name__icontains=search) | Q(employee_number__icontains=search))
    if team_id:
        members = members.filter(memberships__team_id=team_id, memberships__end_date__isnull=True)
    if active in ("0", "1"):
        members = members.filter(active=active == "1")
    members, sort = queryset_sort(
        request=request,
        queryset=members.distinct(),
        fields={"name": "display_name", "number": "employee_number", "hired": "hire_date"},
        default="name",
    )
    return render(
        request,
        "teams/member_list.html",
        {
            "page": queryset_paginate(request=request, queryset=members),
            "sort": sort,
            "teams": team_list(viewer=viewer),
            "search": search,
            "selected_team": team_id,
            "active": active,
        },
    )


@login_required
def member_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    try:
        member = member_detail_get(viewer=viewer, member_id=pk)
    except Member.DoesNotExist:
        # The same answer for "does not exist" and "not yours": no probing other people's ids.
        raise Http404(_("No such member.")) from None
    editable = viewer.can_edit_organisation and member_list_editable(viewer=viewer).filter(pk=member.pk).exists()
    login_visible = member.user_id is not None and user_list(viewer=viewer).filter(pk=member.user_id).exists()
    return render(request, "teams/member_detail.html", {
        "member": member, "editable": editable, "login_visible": login_visible,
        "invitable": editable and viewer.can_manage_users and member.user_id is None and member.active,
    })  # fmt: skip


@login_required
def account_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    status = request.GET.get("status", "unassigned" if viewer.can_assign_accounts else "")
    if status not in ("", "assigned", "unassigned"):
        status = ""
    store_id = _int_or_none(request.GET.get("store"))
    search = request.GET.get("q", "").strip()
    accounts = account_list_for_page(viewer=viewer, status=status, store_id=store_id, search=search)
    accounts, sort = queryset_sort(
        request=request,
        queryset=accounts,
        fields={
            "name": "name",
            "store": "store__name",
            "member": "current_member_name",
            "seen": "first_seen_at",
        },
        default="store",
    )
    page = queryset_paginate(request=request, queryset=accounts)
    assignable_ids = set(
        assignable_account_list(viewer=viewer).filter(pk__in=[a.pk for a in page]).values_list("pk", flat=True)
    )
    choices = account_assign_member_choices(
        viewer=viewer, store_ids={a.store_id for a in page if a.pk in assignable_ids}
    )
    rows = [
        (
            account,
            AccountAssignForm(members=choices[account.store_id], prefix=f"a{account.pk}")
            if account.pk in assignable_ids
            else None,
        )
        for account in page
    ]
    return render(
        request,
        "teams/account_list.html",
        {
            "page": page,
            "rows": rows,
            "sort": sort,
            "status": status,
            "stores": store_list(viewer=viewer),
            "selected_store": store_id,
            "search": search,
        },
    )


@login_required
@require_POST
def account_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    if not viewer.can_assign_accounts:
        raise PermissionDenied(_("Only managers assign platform accounts."))
    account = get_object_or_404(assignable_account_list(viewer=viewer), pk=pk)
    members = account_assign_member_choices(viewer=viewer, store_ids={account.store_id})[account.store_id]
    form = AccountAssignForm(request.POST, members=members, prefix=f"a{account.pk}")
    if form.is_valid():
        try:
            account_assign(
                account=account,
                member=form.cleaned_data["member"],
                start_date=form.cleaned_data["start_date"],
                actor=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("%(account)s now belongs to %(member)s.")
                % {"account": account.name, "member": form.cleaned_data["member"].display_name},
            )
    else:
        errors = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items() if f in form.fields)
        messages.error(
            request,
            _("%(account)s was not assigned: %(errors)s") % {"account": account.name, "errors": errors},
        )
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("teams:account_list")


# --- the change log (HR and administrators) -------------------------------------------------------

CHANGE_EXPORT_LIMIT = 50_000  # rows in one download; filter by dates for more


def _date_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def change_list_view(request: HttpRequest) -> HttpResponse:
    """Every change to the set-up, newest first, with filters; `?export=csv|xlsx` downloads the
    filtered rows (one line per field changed)."""
    viewer = viewer_for_request(request=request)
    if not (viewer.is_hr or viewer.is_admin):
        raise PermissionDenied(_("The change log is for HR and administrators."))
    selected = {
        "area": request.GET.get("area", "") if request.GET.get("area", "") in ChangeArea.values else "",
        "action": request.GET.get("action", "") if request.GET.get("action", "") in ChangeAction.values else "",
        "store": _int_or_none(request.GET.get("store")),
        "actor": _int_or_none(request.GET.get("actor")),
        "start": _date_or_none(request.GET.get("start")),
        "end": _date_or_none(request.GET.get("end")),
        "q": request.GET.get("q", "").strip(),
    }
    records = change_list_filter(
        records=change_list(viewer=viewer), area=selected["area"], action=selected["action"],
        store_id=selected["store"], actor_id=selected["actor"], start=selected["start"], end=selected["end"],
        search=selected["q"],
    )  # fmt: skip
    if request.GET.get("export") in ("csv", "xlsx"):
        return _changes_export(request, records[:CHANGE_EXPORT_LIMIT])
    page = queryset_paginate(request=request, queryset=records)
    rows = [{"record": r, "kind": change_object_kind(record=r), "fields": change_fields(record=r)} for r in page]
    actors = get_user_model().objects.filter(pk__in=change_list(viewer=viewer).values("actor_id")).order_by("username")
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(request, "teams/change_list.html", {
        "page": page, "rows": rows, "selected": selected, "areas": ChangeArea.choices, "actions": ChangeAction.choices,
        "stores": store_list(viewer=viewer), "actors": actors, "query": query.urlencode(),
    })  # fmt: skip


def _changes_export(request: HttpRequest, records) -> HttpResponse:
    columns = [_("When"), _("Who"), _("Area"), _("Action"), _("Kind"), _("Object"), _("Store"), _("Field"),
               _("Before"), _("After"), _("Reason")]  # fmt: skip
    rows = []
    for record in records:
        who = record.actor.get_username() if record.actor else ""
        common = [timezone.localtime(record.at).strftime("%Y-%m-%d %H:%M"), who, record.get_area_display(),
                  record.get_action_display(), change_object_kind(record=record), record.label,
                  record.store.name if record.store else ""]  # fmt: skip
        for field in change_fields(record=record) or [None]:
            shown = [field.field, field.before, field.after] if field else ["", "", ""]
            rows.append([*common, *shown, record.reason])
    name = f"changes-{timezone.localdate():%Y-%m-%d}"
    if request.GET["export"] == "xlsx":
        response = HttpResponse(xlsx_bytes(columns, rows, sheet=_("Changes")), content_type=XLSX_CONTENT_TYPE)
    else:
        response = HttpResponse(csv_bytes(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.{request.GET['export']}")
    return response


# --- creating and editing the organisation (administrators; managers in their stores) -------------


def _editor(request: HttpRequest) -> Viewer:
    """The viewer, if their role may change the organisation at all (else 403)."""
    viewer = viewer_for_request(request=request)
    if not viewer.can_edit_organisation:
        raise PermissionDenied(_("Only managers and administrators change the organisation."))
    return viewer


def _in_scope_or_404(queryset, raw: str | None) -> None:
    """A store or team named in a form by id: one outside the editor's scope (or none such)
    answers 404, as its own page would; a value that is not an id is left to the form."""
    if raw and raw.isdigit() and not queryset.filter(pk=int(raw)).exists():
        raise Http404(_("No such store or team among yours."))


def _form_page(request, template: str, **context) -> HttpResponse:
    return render(request, template, context)


@login_required
def store_create_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    if not viewer.can_create_stores:
        raise PermissionDenied(_("Only administrators create stores."))
    form = StoreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            store = store_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("Store %(name)s created. Next: its teams and platform accounts.")
                             % {"name": store.name})  # fmt: skip
            return redirect(f"{reverse('teams:team_list')}?store={store.pk}")
    return _form_page(request, "teams/store_form.html", form=form, store=None)


@login_required
def store_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor(request)
    store = get_object_or_404(store_list_editable(viewer=viewer), pk=pk)
    editable = store_fields_editable(viewer=viewer)
    initial = {name: getattr(store, name) for name in editable}
    form = StoreForm(request.POST or None, initial=initial, editable=editable)
    if request.method == "POST" and form.is_valid():
        try:
            store_update(
                actor=request.user, store=store, **{k: v for k, v in form.cleaned_data.items() if k in editable}
            )
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": store.name})
            return redirect("teams:store_list")
    return _form_page(request, "teams/store_form.html", form=form, store=store)


@login_required
def team_create_view(request: HttpRequest) -> HttpResponse:
    viewer = _editor(request)
    stores = store_list_editable(viewer=viewer)
    if request.method == "POST":
        _in_scope_or_404(stores, request.POST.get("store"))
    initial = {"store": _int_or_none(request.GET.get("store"))}
    form = TeamForm(request.POST or None, initial=initial, stores=stores)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("Team %(name)s created. Next: add its members.") % {"name": team.name})
            return redirect(f"{reverse('teams:member_create')}?team={team.pk}")
    return _form_page(request, "teams/team_form.html", form=form, team=None)


@login_required
def team_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor(request)
    team = get_object_or_404(team_list_editable(viewer=viewer), pk=pk)
    in_team = TeamMembership.objects.filter(team=team, end_date__isnull=True).values("member_id")
    leads = Member.objects.filter(pk__in=in_team) | Member.objects.filter(pk=team.lead_id)
    form = TeamForm(request.POST or None, initial={"name": team.name, "kind": team.kind, "lead": team.lead_id},
                    leads=leads.distinct().order_by("display_name"))  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            team_update(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": team.name})
            return redirect(f"{reverse('teams:team_list')}?store={team.store_id}")
    return _form_page(request, "teams/team_form.html", form=form, team=team)


@login_required
def member_create_view(request: HttpRequest) -> HttpResponse:
    viewer = _editor(request)
    teams = team_list_editable(viewer=viewer).order_by("store__name", "name")
    if request.method == "POST":
        _in_scope_or_404(teams, request.POST.get("team"))
    form = MemberForm(request.POST or None, initial={"team": _int_or_none(request.GET.get("team"))}, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            member = member_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": member.display_name})
            return redirect("teams:member_detail", pk=member.pk)
    return _form_page(request, "teams/member_form.html", form=form, member=None)


@login_required
def member_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor(request)
    member = get_object_or_404(member_list_editable(viewer=viewer), pk=pk)
    fields = ("display_name", "employee_number", "hire_date", "confirmed_date", "leave_date", "active")
    form = MemberForm(request.POST or None, initial={name: getattr(member, name) for name in fields})
    if request.method == "POST" and form.is_valid():
        try:
            member_update(actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": member.display_name})
            return redirect("teams:member_detail", pk=member.pk)
    return _form_page(request, "teams/member_form.html", form=form, member=member)


@login_required
def member_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor(request)
    member = get_object_or_404(member_list_editable(viewer=viewer), pk=pk)
    teams = team_list_editable(viewer=viewer).order_by("store__name", "name")
    if request.method == "POST":
        _in_scope_or_404(teams, request.POST.get("team"))
    form = MembershipMoveForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            row = membership_move(actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(member)s is in %(team)s from %(date)s.") % {
                "member": member.display_name, "team": row.team.name,
                "date": date_format(row.start_date, "SHORT_DATE_FORMAT"),
            })  # fmt: skip
            return redirect("teams:member_detail", pk=member.pk)
    history = member.memberships.select_related("team__store").order_by("-start_date")
    return _form_page(request, "teams/member_move.html", form=form, member=member, history=history)


@login_required
def account_create_view(request: HttpRequest) -> HttpResponse:
    viewer = _editor(request)
    stores = store_list_editable(viewer=viewer)
    if request.method == "POST":
        _in_scope_or_404(stores, request.POST.get("store"))
    form = PlatformAccountForm(request.POST or None, initial={"store": _int_or_none(request.GET.get("store"))},
                               stores=stores)  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            account = platform_account_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(account)s created: assign it to its member.") % {"account": account.name})
            return redirect(f"{reverse('teams:account_list')}?store={account.store_id}&status=unassigned")
    return _form_page(request, "teams/account_form.html", form=form)


@login_required
def getting_started_view(request: HttpRequest) -> HttpResponse:
    """What to do next on a new installation (where the set-up page lands): people, then data."""
    viewer = _editor(request)
    return render(request, "teams/getting_started.html", {"steps": getting_started_get(viewer=viewer)})
