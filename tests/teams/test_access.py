"""Logins and roles (issue 19, point 2): a manager invites a member (a login with a one-time link to
set its password, shown on the page and e-mailed when e-mail is set up), makes a new link,
deactivates and reactivates; administrators grant and revoke every role; HR reads; the API does
the same through the same services; each change is in the change log (area access)."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from teams.models import ChangeAction, ChangeArea, ChangeRecord, Role, RoleGrant
from tests.factories import MemberFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Plum-7-harbour-Kite"
User = get_user_model()


def _link(response) -> str:
    """The one-time link's path, from the page that shows it."""
    match = re.search(r'id="password-link"[^>]*value="https?://[^/]+([^"]+)"', response.content.decode())
    assert match, response.content.decode()
    return match[1]


def _set_password(link: str, password: str = NEW_PASSWORD) -> Client:
    """Open the link as its owner would and set the password; the client after it."""
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode(), form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    assert done.status_code == 302 and done["Location"] == reverse("password_set_done")
    return client


def _signs_in(username: str, password: str) -> bool:
    """Through the login page, as a person would (django-axes wants the request)."""
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302 and response["Location"] == reverse("home")


def _invite(client, member, username="carol", email=""):
    return client.post(reverse("teams:user_invite"), {"member": member.pk, "username": username, "email": email},
                       HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip


def test_a_manager_invites_a_member_who_sets_a_password_once_and_signs_in(org, client_for):
    manager = client_for(org.users["manager_s1"])
    response = _invite(manager, org.c)
    assert response.status_code == 200
    user = User.objects.get(username="carol")
    assert user.member == org.c and not user.has_usable_password() and user.first_name == "Carol 张"
    link = _link(response)
    _set_password(link)
    assert _signs_in("carol", NEW_PASSWORD)
    # Used once: the link no longer works.
    again = Client().get(link, follow=True)
    assert 'name="new_password1"' not in again.content.decode()
    assert "This link no longer works" in Client().get(link, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Recorded: the login created, and the member linked to it.
    records = ChangeRecord.objects.filter(area=ChangeArea.ACCESS).order_by("pk")
    assert [(r.object_type, r.action) for r in records] == [("auth.user", ChangeAction.CREATED),
                                                             ("teams.member", ChangeAction.CHANGED)]  # fmt: skip
    assert records[1].changes == {"user": [None, {"id": user.pk, "text": "carol"}]}
    assert "email" not in records[0].changes  # no address: nothing to show, not "— → —"
    assert {r.actor for r in records} == {org.users["manager_s1"]}


def test_a_link_expires_after_the_days_it_is_valid_for(org, client_for, settings, monkeypatch):
    settings.PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600
    link = _link(_invite(client_for(org.users["admin"]), org.c))
    later = dt.datetime.now() + dt.timedelta(days=7, hours=1)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    assert 'name="new_password1"' not in Client().get(link, follow=True).content.decode()


def test_the_link_is_e_mailed_when_e_mail_is_set_up(org, client_for, settings, django_capture_on_commit_callbacks):
    manager = client_for(org.users["manager_s1"])
    settings.EMAIL_CONFIGURED = False
    with django_capture_on_commit_callbacks(execute=True):
        page = _invite(manager, org.c, email="carol@example.com")
    assert mail.outbox == [] and "E-mail is not set up on this installation" in page.content.decode()
    settings.EMAIL_CONFIGURED = True
    member = MemberFactory(display_name="Eve 周")
    TeamMembershipFactory(member=member, team=org.x)
    with django_capture_on_commit_callbacks(execute=True):
        page = _invite(manager, member, username="eve", email="eve@example.com")
    assert "It is also being e-mailed to eve@example.com." in page.content.decode()
    (message,) = mail.outbox
    assert message.to == ["eve@example.com"] and _link(page) in message.body and "eve" in message.body


def test_a_manager_invites_only_their_members_without_a_login(org, client_for):
    manager = client_for(org.users["manager_s1"])
    assert _invite(manager, org.d).status_code == 404  # another store's member
    assert _invite(manager, org.a, username="again").status_code == 404  # already has a login
    # A login for someone who is not a member: administrators only.
    refused = manager.post(reverse("teams:user_invite"), {"username": "loose"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    admin = client_for(org.users["admin"])
    assert admin.post(reverse("teams:user_invite"), {"username": "hr2", "first_name": "人事二"}).status_code == 200
    assert User.objects.get(username="hr2").first_name == "人事二"
    taken = admin.post(reverse("teams:user_invite"), {"username": "HR2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "The username HR2 is taken." in taken.content.decode()
    for who in ("hr", "lead_x", "staff_a"):
        assert _invite(client_for(org.users[who]), org.c).status_code == 403
    assert not User.objects.filter(username="carol").exists()


def test_a_new_password_link_stops_the_old_password_and_the_old_link(org, client_for):
    manager = client_for(org.users["manager_s1"])
    first = _link(_invite(manager, org.c))
    _set_password(first)
    carol = User.objects.get(username="carol")
    signed_in = Client()
    signed_in.force_login(carol)
    response = manager.post(reverse("teams:user_password_link", args=[carol.pk]))
    second = _link(response)
    carol.refresh_from_db()
    assert not carol.has_usable_password() and not _signs_in("carol", NEW_PASSWORD)
    assert signed_in.get(reverse("home")).status_code == 302  # signed out everywhere
    _set_password(second, "Other-4-garden-Lamp")
    assert _signs_in("carol", "Other-4-garden-Lamp")
    record = ChangeRecord.objects.filter(object_type="auth.user", action=ChangeAction.CHANGED).get()
    assert list(record.changes) == ["password_link"]
    log = client_for(org.users["hr"]).get(reverse("teams:change_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "One-time link to set the password" in log


def test_a_deactivated_login_cannot_sign_in_use_its_token_or_its_link(org, client_for):
    manager = client_for(org.users["manager_s1"])
    link = _link(_invite(manager, org.c))
    carol = User.objects.get(username="carol")
    token = Token.objects.create(user=carol).key
    assert manager.post(reverse("teams:user_active", args=[carol.pk]), {"active": "0"}).status_code == 302
    assert not User.objects.get(pk=carol.pk).is_active
    assert 'name="new_password1"' not in Client().get(link, follow=True).content.decode()
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(reverse("member-list")).status_code == 401
    # Reactivated: the link works again (nothing it was signed over changed), then the login.
    assert manager.post(reverse("teams:user_active", args=[carol.pk]), {"active": "1"}).status_code == 302
    _set_password(link)
    assert _signs_in("carol", NEW_PASSWORD)
    changes = [
        r.changes
        for r in ChangeRecord.objects.filter(object_type="auth.user", action=ChangeAction.CHANGED).order_by("pk")
    ]
    assert changes == [{"is_active": [True, False]}, {"is_active": [False, True]}]


def test_a_manager_cannot_touch_a_login_that_holds_a_role_or_their_own(org, client_for):
    manager = client_for(org.users["manager_s1"])
    # Lead 赵's login holds a manager grant now: the administrators' to manage.
    RoleGrant.objects.create(user=org.users["lead_x"], role=Role.MANAGER, store=org.s1)
    assert manager.post(reverse("teams:user_active", args=[org.users["lead_x"].pk]), {"active": "0"}).status_code == 404
    assert manager.post(reverse("teams:user_password_link", args=[org.users["lead_x"].pk])).status_code == 404
    assert (
        manager.post(reverse("teams:user_active", args=[org.users["staff_a"].pk]), {"active": "0"}).status_code == 302
    )
    # HR reads the users page but changes nothing.
    hr = client_for(org.users["hr"])
    assert hr.get(reverse("teams:user_detail", args=[org.users["staff_b"].pk])).status_code == 200
    assert hr.post(reverse("teams:user_active", args=[org.users["staff_b"].pk]), {"active": "0"}).status_code == 403
    assert User.objects.get(pk=org.users["staff_b"].pk).is_active


def test_the_users_page_is_scoped(org, client_for):
    manager = client_for(org.users["manager_s2"]).get(reverse("teams:user_list")).content.decode()
    assert "staff_a" not in manager
    admin = client_for(org.users["admin"]).get(reverse("teams:user_list")).content.decode()
    assert "staff_a" in admin and "manager_s2" in admin
    assert (
        client_for(org.users["manager_s2"])
        .get(reverse("teams:user_detail", args=[org.users["staff_a"].pk]))
        .status_code
        == 404
    )
    for who in ("lead_x", "staff_a"):
        assert client_for(org.users[who]).get(reverse("teams:user_list")).status_code == 403


def test_administrators_grant_and_revoke_every_role(org, client_for):
    admin = client_for(org.users["admin"])
    url = reverse("teams:role_grant_create", args=[org.users["staff_b"].pk])
    assert admin.post(url, {"role": "manager", "store": org.s2.pk}).status_code == 302
    assert admin.post(url, {"role": "hr"}).status_code == 302
    grants = RoleGrant.objects.filter(user=org.users["staff_b"])
    assert sorted(grants.values_list("role", "store_id")) == [("hr", None), ("manager", org.s2.pk)]
    missing = admin.post(url, {"role": "manager"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "A manager is granted a store: choose it." in missing.content.decode()
    twice = admin.post(url, {"role": "hr"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "staff_b already has this role: HR." in twice.content.decode()
    hr_grant = grants.get(role="hr")
    assert admin.post(reverse("teams:role_grant_delete", args=[hr_grant.pk])).status_code == 302
    assert list(grants.values_list("role", flat=True)) == ["manager"]
    records = ChangeRecord.objects.filter(object_type="teams.rolegrant").order_by("pk")
    assert [r.action for r in records] == [ChangeAction.CREATED, ChangeAction.CREATED, ChangeAction.DELETED]
    assert records[0].store == org.s2 and all(r.area == ChangeArea.ACCESS for r in records)


@pytest.mark.parametrize("who", ["manager_s1", "hr", "lead_x", "staff_a"])
def test_only_administrators_grant_roles(org, client_for, who):
    client = client_for(org.users[who])
    assert client.post(reverse("teams:role_grant_create", args=[org.users["staff_b"].pk]),
                       {"role": "manager", "store": org.s1.pk}).status_code == 403  # fmt: skip
    grant = RoleGrant.objects.get(user=org.users["hr"])
    assert client.post(reverse("teams:role_grant_delete", args=[grant.pk])).status_code == 403
    assert (
        RoleGrant.objects.filter(user=org.users["staff_b"]).count() == 0
        and RoleGrant.objects.filter(pk=grant.pk).exists()
    )


def test_the_last_administrator_stays(org, client_for):
    org.users["admin"].is_superuser = False
    org.users["admin"].save()
    grant = RoleGrant.objects.create(user=org.users["admin"], role=Role.ADMIN)
    other = UserFactory(username="admin2")
    admin = client_for(org.users["admin"])
    refused = admin.post(reverse("teams:role_grant_delete", args=[grant.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "admin is the last active administrator" in refused.content.decode()
    assert admin.post(reverse("teams:user_active", args=[org.users["admin"].pk]), {"active": "0"}).status_code == 404
    RoleGrant.objects.create(user=other, role=Role.ADMIN)
    assert admin.post(reverse("teams:role_grant_delete", args=[grant.pk])).status_code == 302
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()


# --- the API ------------------------------------------------------------------------------------


def test_the_api_invites_resets_deactivates_and_grants(org, api_for, settings):
    manager, admin = api_for(org.users["manager_s1"]), api_for(org.users["admin"])
    invited = manager.post(reverse("user-list"), {"member": org.c.pk, "username": "carol"}, format="json")
    assert invited.status_code == 201, invited.content
    body = invited.json()
    assert body["user"]["member"] == org.c.pk and body["user"]["has_password"] is False and body["emailed_to"] == ""
    path = re.sub(r"^https?://[^/]+", "", body["url"])
    _set_password(path)
    carol = User.objects.get(username="carol")
    assert manager.get(reverse("user-detail", args=[carol.pk])).json()["has_password"] is True
    assert manager.post(reverse("user-list"), {"member": org.d.pk, "username": "dan"}, format="json").status_code == 404
    assert manager.post(reverse("user-list"), {"username": "loose"}, format="json").status_code == 400

    link = manager.post(reverse("user-password-link", args=[carol.pk]))
    assert link.status_code == 200 and link.json()["url"] != body["url"]
    assert manager.post(reverse("user-deactivate", args=[carol.pk])).json()["is_active"] is False
    assert manager.post(reverse("user-reactivate", args=[carol.pk])).json()["is_active"] is True
    assert manager.post(reverse("user-deactivate", args=[org.users["manager_s1"].pk])).status_code == 404  # oneself

    assert manager.post(reverse("role-grant-list"), {"user": carol.pk, "role": "hr"}, format="json").status_code == 403
    granted = admin.post(reverse("role-grant-list"), {"user": carol.pk, "role": "manager", "store": org.s1.pk},
                         format="json")  # fmt: skip
    assert granted.status_code == 201 and granted.json()["store_name"] == "未来衣橱旗舰店"
    no_store = admin.post(reverse("role-grant-list"), {"user": carol.pk, "role": "manager"}, format="json")
    assert no_store.status_code == 400 and "store" in no_store.json()
    assert {g["role"] for g in manager.get(reverse("role-grant-list")).json()["results"]} == {"manager"}
    assert admin.delete(reverse("role-grant-detail", args=[granted.json()["id"]])).status_code == 204
    for who in ("hr", "lead_x", "staff_a"):
        api = api_for(org.users[who])
        assert api.post(reverse("user-list"), {"member": org.c.pk, "username": "x"}, format="json").status_code == 403
        assert api.post(reverse("user-deactivate", args=[carol.pk])).status_code == 403
    assert api_for(org.users["staff_a"]).get(reverse("user-list")).status_code == 403
    assert api_for(org.users["hr"]).get(reverse("user-list")).status_code == 200
