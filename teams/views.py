"""Organisation pages. Thin: parse the query, call a selector or service, render."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from perfmgmt.exports import XLSX_CONTENT_TYPE, csv_bytes, xlsx_bytes
from perfmgmt.listing import queryset_paginate, queryset_sort
from teams.forms import AccountAssignForm
from teams.models import ChangeAction, ChangeArea, Member, TeamKind
from teams.selectors.changes import change_fields, change_list, change_list_filter, change_object_kind
from teams.selectors.organisation import (
    account_assign_member_choices,
    account_list_for_page,
    home_summary_get,
    member_detail_get,
    member_list_with_team,
)
from teams.selectors.scoping import assignable_account_list, store_list, team_list, viewer_get
from teams.services.accounts import account_assign


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    summary = home_summary_get(viewer=viewer_get(user=request.user))
    return render(request, "teams/home.html", {"summary": summary})


@login_required
def store_list_view(request: HttpRequest) -> HttpResponse:
    stores, sort = queryset_sort(
        request=request,
        queryset=store_list(viewer=viewer_get(user=request.user)),
        fields={"name": "name", "platform": "platform", "tz": "time_zone"},
        default="name",
    )
    return render(
        request,
        "teams/store_list.html",
        {"page": queryset_paginate(request=request, queryset=stores), "sort": sort},
    )


@login_required
def team_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
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
        },
    )


@login_required
def member_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
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
    try:
        member = member_detail_get(viewer=viewer_get(user=request.user), member_id=pk)
    except Member.DoesNotExist:
        # The same answer for "does not exist" and "not yours": no probing other people's ids.
        raise Http404(_("No such member.")) from None
    return render(request, "teams/member_detail.html", {"member": member})


@login_required
def account_list_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
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
    viewer = viewer_get(user=request.user)
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
    viewer = viewer_get(user=request.user)
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
