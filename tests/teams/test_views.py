"""Organisation pages: scoping as a person sees it, filters, sorting, pagination, assigning."""

import datetime as dt

import pytest
from django.urls import reverse

from teams.models import AccountAssignment

pytestmark = pytest.mark.django_db


def test_pages_require_login(client, org):
    for url in (
        reverse("home"),
        reverse("teams:member_list"),
        reverse("teams:member_detail", args=[org.a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_staff_a_cannot_open_staff_b(client_for, org):
    client = client_for(org.users["staff_a"])
    assert client.get(reverse("teams:member_detail", args=[org.a.pk])).status_code == 200
    response = client.get(reverse("teams:member_detail", args=[org.b.pk]))
    assert response.status_code == 404
    assert "Bob" not in response.content.decode()


def test_staff_member_list_shows_only_themselves(client_for, org):
    body = client_for(org.users["staff_a"]).get(reverse("teams:member_list")).content.decode()
    assert "Alice 王" in body
    assert "Bob 李" not in body
    assert "Carol" not in body


def test_lead_of_x_gets_nothing_of_team_y(client_for, org):
    client = client_for(org.users["lead_x"])
    body = client.get(reverse("teams:member_list")).content.decode()
    assert "Alice 王" in body and "Bob 李" in body
    assert "Carol" not in body and "Dan" not in body
    assert client.get(reverse("teams:member_detail", args=[org.c.pk])).status_code == 404
    teams_body = client.get(reverse("teams:team_list")).content.decode()
    assert "售前X" in teams_body and "售后Y" not in teams_body


def test_hr_sees_every_member(client_for, org):
    body = client_for(org.users["hr"]).get(reverse("teams:member_list")).content.decode()
    for name in ("Alice 王", "Bob 李", "Carol 张", "Dan 刘", "Lead 赵"):
        assert name in body
    assert client_for(org.users["hr"]).get(reverse("teams:member_detail", args=[org.d.pk])).status_code == 200


def test_member_list_search_filter_sort_and_pagination(client_for, org):
    from tests.factories import MemberFactory, TeamMembershipFactory

    for i in range(30):
        TeamMembershipFactory(member=MemberFactory(display_name=f"Zed {i:02d}"), team=org.y)
    client = client_for(org.users["manager_s1"])
    first = client.get(reverse("teams:member_list"), {"sort": "-name"})
    names = [m.display_name for m in first.context["page"]]
    assert names[:2] == ["Zed 29", "Zed 28"]
    assert first.context["page"].paginator.count == 34
    assert len(names) == 25
    second = client.get(reverse("teams:member_list"), {"sort": "-name", "page": 2})
    assert len(second.context["page"]) == 9
    searched = client.get(reverse("teams:member_list"), {"q": "zed 1"})
    assert {m.display_name for m in searched.context["page"]} == {f"Zed {i}" for i in range(10, 20)}
    by_team = client.get(reverse("teams:member_list"), {"team": org.x.pk})
    assert {m.display_name for m in by_team.context["page"]} == {"Alice 王", "Bob 李", "Lead 赵"}
    # An unknown sort key falls back to the default rather than erroring.
    assert client.get(reverse("teams:member_list"), {"sort": "password"}).status_code == 200


def test_home_shows_unassigned_accounts_to_managers(client_for, org):
    response = client_for(org.users["manager_s1"]).get(reverse("home"))
    # Never assigned, and released (its assignment closed): both wait for a manager.
    assert response.context["summary"]["unassigned_accounts"] == 1
    import datetime as dt

    AccountAssignment.objects.filter(account=org.account_c).update(end_date=dt.date(2026, 1, 31))
    response = client_for(org.users["manager_s1"]).get(reverse("home"))
    assert response.context["summary"]["unassigned_accounts"] == 2
    body = response.content.decode()
    assert reverse("teams:account_list") in body
    assert "未来衣橱旗舰店" in body and "Mirror Home Store" not in body


def test_account_page_lists_only_unassigned_by_default_for_managers(client_for, org):
    response = client_for(org.users["manager_s1"]).get(reverse("teams:account_list"))
    assert [account for account, _form in response.context["rows"]] == [org.unassigned_s1]


def test_manager_assigns_an_unassigned_account(client_for, org):
    client = client_for(org.users["manager_s1"])
    prefix = f"a{org.unassigned_s1.pk}"
    response = client.post(
        reverse("teams:account_assign", args=[org.unassigned_s1.pk]),
        {f"{prefix}-member": org.c.pk, f"{prefix}-start_date": "2026-11-01"},
        follow=True,
    )
    assert response.status_code == 200
    assignment = AccountAssignment.objects.get(account=org.unassigned_s1)
    assert (assignment.member, assignment.start_date, assignment.end_date) == (
        org.c,
        dt.date(2026, 11, 1),
        None,
    )
    assert assignment.assigned_by == org.users["manager_s1"]
    assert "未来衣橱:新客服" in "".join(str(m) for m in response.context["messages"])


def test_manager_cannot_assign_another_stores_account_or_member(client_for, org):
    client = client_for(org.users["manager_s1"])
    prefix = f"a{org.unassigned_s2.pk}"
    response = client.post(
        reverse("teams:account_assign", args=[org.unassigned_s2.pk]),
        {f"{prefix}-member": org.a.pk, f"{prefix}-start_date": "2026-11-01"},
    )
    assert response.status_code == 404
    # A member of another store is not a valid choice for this store's account.
    prefix = f"a{org.unassigned_s1.pk}"
    client.post(
        reverse("teams:account_assign", args=[org.unassigned_s1.pk]),
        {f"{prefix}-member": org.d.pk, f"{prefix}-start_date": "2026-11-01"},
    )
    assert not AccountAssignment.objects.filter(account=org.unassigned_s1).exists()


def test_staff_and_leads_cannot_assign(client_for, org):
    for username in ("staff_a", "lead_x", "hr"):
        client = client_for(org.users[username])
        prefix = f"a{org.unassigned_s1.pk}"
        response = client.post(
            reverse("teams:account_assign", args=[org.unassigned_s1.pk]),
            {f"{prefix}-member": org.a.pk, f"{prefix}-start_date": "2026-11-01"},
        )
        assert response.status_code == 403
    assert not AccountAssignment.objects.filter(account=org.unassigned_s1).exists()


def test_assign_redirect_ignores_foreign_next_url(client_for, org):
    client = client_for(org.users["manager_s1"])
    prefix = f"a{org.unassigned_s1.pk}"
    response = client.post(
        reverse("teams:account_assign", args=[org.unassigned_s1.pk]),
        {f"{prefix}-member": org.c.pk, f"{prefix}-start_date": "2026-11-01", "next": "https://evil.example/"},
    )
    assert response.url == reverse("teams:account_list")


def test_store_and_team_lists_render_empty_states(client_for, db):
    from tests.factories import UserFactory

    client = client_for(UserFactory(username="roleless"))
    home = client.get(reverse("home")).content.decode()
    assert 'class="panel empty"' in home
    assert 'class="panel empty"' in client.get(reverse("teams:store_list")).content.decode()


def test_assign_form_prefills_today_in_iso_format_in_both_languages(client_for, org):
    from django.utils import timezone

    client = client_for(org.users["manager_s1"])
    today = timezone.localdate().isoformat()
    for language in ("zh-hans", "en"):
        client.cookies["django_language"] = language
        body = client.get(reverse("teams:account_list")).content.decode()
        assert f'type="date" name="a{org.unassigned_s1.pk}-start_date" value="{today}"' in body
