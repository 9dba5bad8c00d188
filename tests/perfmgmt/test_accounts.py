"""Login, lockout after repeated failures, logout, password change, error pages, language switch."""

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_then_logout(client):
    UserFactory(username="ann")
    response = client.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_a_clear_error(client):
    UserFactory(username="ann")
    response = client.post(reverse("login"), {"username": "ann", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_login_with_a_message(client):
    UserFactory(username="ann")
    for _ in range(2):
        assert client.post(reverse("login"), {"username": "ann", "password": "nope"}).status_code == 200
    locked = client.post(reverse("login"), {"username": "ann", "password": "nope"})
    assert locked.status_code == 429
    client.cookies["django_language"] = "en"
    # Even the right password is refused while locked, and the page says why and for how long.
    again = client.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert again.status_code == 429
    body = again.content.decode()
    assert "locked after 3 failed attempts" in body
    assert "Try again in 15 minutes" in body


def test_password_change(client):
    user = UserFactory(username="ann")
    client.force_login(user)
    new = "a-much-better-pass-2026"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(new)


def test_friendly_404_and_403_pages(client, org):
    client.force_login(org.users["staff_a"])
    client.cookies["django_language"] = "en"
    not_found = client.get("/no/such/page/")
    assert not_found.status_code == 404
    assert "Page not found" in not_found.content.decode()
    forbidden = client.post(reverse("teams:account_assign", args=[org.unassigned_s1.pk]))
    assert forbidden.status_code == 403
    assert "You may not open this page" in forbidden.content.decode()


def test_friendly_500_page(client, org, settings):
    from django.urls import path

    from perfmgmt import urls

    def boom(request):
        raise RuntimeError("boom")

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [path("boom/", boom), *urls.urlpatterns]})
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_default_language_is_chinese_and_english_is_switchable(client, org):
    client.force_login(org.users["manager_s1"])
    chinese = client.get(reverse("teams:member_list")).content.decode()
    assert 'lang="zh-hans"' in chinese
    assert "成员" in chinese  # "Members" heading
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("teams:member_list")})
    assert response.status_code == 302
    assert response.cookies["django_language"]["max-age"] == 365 * 24 * 3600
    english = client.get(reverse("teams:member_list")).content.decode()
    assert 'lang="en"' in english
    assert "<h1>Members</h1>" in english


def test_navigation_depends_on_role(client, org):
    client.cookies["django_language"] = "en"
    client.force_login(org.users["staff_a"])
    staff_nav = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("teams:member_list")}"' not in staff_nav
    assert "Assign accounts" not in staff_nav
    client.force_login(org.users["manager_s1"])
    manager_nav = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("teams:member_list")}"' in manager_nav
    assert "Assign accounts" in manager_nav


def test_the_organisation_pages_share_one_menu_and_the_api_and_admin_sit_in_the_user_menu(client, org):
    """An administrator's bar held 17 links and wrapped to three lines at 1366 px in English."""
    import re

    admin = org.users["admin"]  # a superuser
    client.cookies["django_language"] = "en"
    client.force_login(admin)
    page = client.get(reverse("teams:member_list")).content.decode()
    nav = re.search(r'<nav id="main-nav".*?</nav>', page, re.S).group(0)
    menu = re.search(r'<details class="nav-menu">.*?</details>', nav, re.S).group(0)
    assert '<summary class="current">Organisation</summary>' in menu  # a page of the menu is open
    for name in ("store_list", "team_list", "member_list", "account_list", "user_list", "change_list"):
        assert f'href="{reverse(f"teams:{name}")}"' in menu
    assert len(re.findall(r"<a ", nav)) - len(re.findall(r"<a ", menu)) <= 9  # the rest of the bar
    user_menu = re.search(r'<details class="user-menu">.*?</details>', page, re.S).group(0)
    assert f'href="{reverse("swagger_ui")}"' in user_menu and f'href="{reverse("admin:index")}"' in user_menu
    home = client.get(reverse("home")).content.decode()
    assert "<summary>Organisation</summary>" in home  # not marked current elsewhere
    # Staff have no organisation menu: their one page of it (their accounts) stays in the bar.
    client.force_login(org.users["staff_a"])
    staff = client.get(reverse("home")).content.decode()
    assert 'class="nav-menu"' not in staff and f'href="{reverse("teams:account_list")}"' in staff
