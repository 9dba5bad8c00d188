"""Logins and roles: the set-up page of an empty installation, the users page, invitations and
new password links, deactivation, role grants, and the page where a one-time link sets a
password. Thin: parse, call one selector or service (teams/services/users.py, setup.py), render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from perfmgmt.common.listing import queryset_paginate, queryset_sort
from teams.forms import InviteForm, RoleGrantForm, SetupUserForm, StoreForm, form_service_errors
from teams.models import Role
from teams.selectors.scoping import (
    Viewer,
    member_list_editable,
    role_grant_list,
    store_list,
    user_list,
    user_list_manageable,
)
from teams.services.setup import AlreadySetUp, installation_is_empty, installation_set_up
from teams.services.users import (
    PasswordLink,
    role_grant_create,
    role_grant_delete,
    user_active_set,
    user_invite,
    user_password_reset,
)
from teams.web import viewer_for_request

# --- the first visit of an empty installation -----------------------------------------------------


def setup_view(request: HttpRequest) -> HttpResponse:
    """Open to anyone while the installation has no user; gone (404) once it has one."""
    if not installation_is_empty():
        raise Http404(_("This installation is already set up."))
    user_form = SetupUserForm(request.POST or None, prefix="user")
    store_form = StoreForm(request.POST or None, prefix="store")
    if request.method == "POST" and user_form.is_valid() and store_form.is_valid():
        store = dict(store_form.cleaned_data)
        try:
            user, _store = installation_set_up(
                username=user_form.cleaned_data["username"], password=user_form.cleaned_data["password1"],
                email=user_form.cleaned_data["email"], store_name=store.pop("name"), **store,
            )  # fmt: skip
        except AlreadySetUp as error:  # someone else was first
            messages.info(request, " ".join(error.messages))
            return redirect("login")
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form = user_form if field in user_form.fields else store_form
                form.add_error(field if field in form.fields else None, errors)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("perfmgmt is set up: you are its administrator."))
            return redirect("teams:getting_started")
    return render(request, "teams/setup.html", {"user_form": user_form, "store_form": store_form})


# --- users ------------------------------------------------------------------------------------------


def _reader(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
    if not viewer.can_read_users:
        raise PermissionDenied(_("Logins are managed by managers and administrators; HR reads them."))
    return viewer


def _manager_of_logins(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
    if not viewer.can_manage_users:
        raise PermissionDenied(_("Only managers and administrators invite people and manage their logins."))
    return viewer


def _granter(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
    if not viewer.can_grant_roles:
        raise PermissionDenied(_("Only administrators grant and revoke roles."))
    return viewer


@login_required
def user_list_view(request: HttpRequest) -> HttpResponse:
    viewer = _reader(request)
    users = user_list(viewer=viewer)
    search = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    active = request.GET.get("active", "1")
    if search:
        users = users.filter(
            Q(username__icontains=search) | Q(first_name__icontains=search) | Q(member__display_name__icontains=search)
        )
    if role in Role.values:
        users = users.filter(Q(role_grants__role=role) | (Q(is_superuser=True) if role == Role.ADMIN else Q()))
    if active in ("0", "1"):
        users = users.filter(is_active=active == "1")
    users, sort = queryset_sort(
        request=request, queryset=users.distinct(),
        fields={"username": "username", "name": "first_name", "member": "member__display_name", "seen": "last_login"},
        default="username",
    )  # fmt: skip
    return render(request, "teams/user_list.html", {
        "page": queryset_paginate(request=request, queryset=users), "sort": sort, "search": search,
        "roles": Role.choices, "selected_role": role, "active": active,
    })  # fmt: skip


@login_required
def user_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _reader(request)
    user = get_object_or_404(user_list(viewer=viewer), pk=pk)
    return render(request, "teams/user_detail.html", _user_context(viewer, user))


def _user_context(viewer: Viewer, user, grant_form: RoleGrantForm | None = None) -> dict:
    if grant_form is None and viewer.can_grant_roles:
        grant_form = RoleGrantForm(stores=store_list(viewer=viewer))
    return {
        "account": user,  # not "user": that is the signed-in user in every template
        "grants": role_grant_list(viewer=viewer).filter(user=user).order_by("role", "store__name"),
        "manageable": user_list_manageable(viewer=viewer).filter(pk=user.pk).exists(),
        "grant_form": grant_form,
    }


def _link_page(request: HttpRequest, link: PasswordLink, *, invited: bool) -> HttpResponse:
    """The one-time link, shown once to whoever made it (it is a password: not kept anywhere)."""
    return render(request, "teams/password_link.html", {"link": link, "invited": invited})


@login_required
def user_invite_view(request: HttpRequest) -> HttpResponse:
    """A login for a member (administrators: also for someone who is not a member), with its link."""
    viewer = _manager_of_logins(request)
    members = member_list_editable(viewer=viewer).filter(active=True, user__isnull=True).order_by("display_name")
    raw = request.POST.get("member") if request.method == "POST" else request.GET.get("member")
    if raw and raw.isdigit() and not members.filter(pk=int(raw)).exists():
        raise Http404(_("No such member without a login among yours."))
    form = InviteForm(request.POST or None, initial={"member": raw}, members=members,
                      member_required=not viewer.is_admin)  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            link = user_invite(actor=request.user, base_url=request.build_absolute_uri("/"), **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            return _link_page(request, link, invited=True)
    return render(request, "teams/user_invite.html", {"form": form})


@login_required
@require_POST
def user_password_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _manager_of_logins(request)
    user = get_object_or_404(user_list_manageable(viewer=viewer), pk=pk)
    try:
        link = user_password_reset(actor=request.user, user=user, base_url=request.build_absolute_uri("/"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("teams:user_detail", pk=user.pk)
    return _link_page(request, link, invited=False)


@login_required
@require_POST
def user_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _manager_of_logins(request)
    user = get_object_or_404(user_list_manageable(viewer=viewer), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        user_active_set(actor=request.user, user=user, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = _("%(username)s can sign in again.") if active else _("%(username)s can no longer sign in.")
        messages.success(request, done % {"username": user.get_username()})
    return redirect("teams:user_detail", pk=user.pk)


@login_required
@require_POST
def role_grant_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _granter(request)
    user = get_object_or_404(user_list(viewer=viewer), pk=pk)
    form = RoleGrantForm(request.POST, stores=store_list(viewer=viewer))
    if form.is_valid():
        try:
            grant = role_grant_create(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as error:
            form_service_errors(form=form, error=error)
        else:
            messages.success(request, _("%(username)s is now %(role)s.")
                             % {"username": user.get_username(), "role": _grant_label(grant)})  # fmt: skip
            return redirect("teams:user_detail", pk=user.pk)
    return render(request, "teams/user_detail.html", _user_context(viewer, user, grant_form=form))


def _grant_label(grant) -> str:
    role = grant.get_role_display()
    return f"{role} · {grant.store.name}" if grant.store else role


@login_required
@require_POST
def role_grant_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _granter(request)
    grant = get_object_or_404(role_grant_list(viewer=viewer), pk=pk)
    try:
        role_grant_delete(actor=request.user, grant=grant)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(username)s is no longer %(role)s.")
                         % {"username": grant.user.get_username(), "role": _grant_label(grant)})  # fmt: skip
    return redirect("teams:user_detail", pk=grant.user_id)


# --- the one-time link ------------------------------------------------------------------------------


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Django's page for a password-reset link (the token moves from the address into the session
    before the form shows, so it never leaks through a Referer), refusing deactivated logins."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("password_set_done")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_set_done.html"
