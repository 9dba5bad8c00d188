"""Organisation API: the same scoping as the pages, filters, token auth, the assign action."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from teams.models import AccountAssignment

pytestmark = pytest.mark.django_db


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_anonymous_is_refused(org):
    response = APIClient().get(reverse("member-list"))
    assert response.status_code in (401, 403)


def test_staff_a_cannot_list_or_fetch_staff_b(api_for, org):
    api = api_for(org.users["staff_a"])
    assert _ids(api.get(reverse("member-list"))) == {org.a.pk}
    assert api.get(reverse("member-detail", args=[org.a.pk])).status_code == 200
    assert api.get(reverse("member-detail", args=[org.b.pk])).status_code == 404
    assert _ids(api.get(reverse("platform-account-list"))) == {org.account_a.pk}
    assert api.get(reverse("platform-account-detail", args=[org.account_b.pk])).status_code == 404


def test_lead_of_x_gets_nothing_of_team_y(api_for, org):
    api = api_for(org.users["lead_x"])
    assert _ids(api.get(reverse("member-list"))) == {org.a.pk, org.b.pk, org.lead_x.pk}
    assert _ids(api.get(reverse("team-list"))) == {org.x.pk}
    assert api.get(reverse("team-detail", args=[org.y.pk])).status_code == 404
    assert api.get(reverse("member-detail", args=[org.c.pk])).status_code == 404
    assert _ids(api.get(reverse("member-list"), {"team": org.y.pk})) == set()


def test_hr_sees_all(api_for, org):
    api = api_for(org.users["hr"])
    assert _ids(api.get(reverse("member-list"))) == {m.pk for m in (org.a, org.b, org.c, org.d, org.lead_x)}
    assert _ids(api.get(reverse("store-list"))) == {org.s1.pk, org.s2.pk}


def test_manager_sees_own_store_only(api_for, org):
    api = api_for(org.users["manager_s2"])
    assert _ids(api.get(reverse("store-list"))) == {org.s2.pk}
    assert _ids(api.get(reverse("member-list"))) == {org.d.pk}
    assert _ids(api.get(reverse("platform-account-list"))) == {org.account_d.pk, org.unassigned_s2.pk}


def test_filters_search_and_ordering(api_for, org):
    api = api_for(org.users["admin"])
    assert _ids(api.get(reverse("member-list"), {"team": org.x.pk})) == {org.a.pk, org.b.pk, org.lead_x.pk}
    assert _ids(api.get(reverse("member-list"), {"store": org.s2.pk})) == {org.d.pk}
    assert _ids(api.get(reverse("team-list"), {"store": org.s1.pk})) == {org.x.pk, org.y.pk}
    assert _ids(api.get(reverse("platform-account-list"), {"assigned": "false"})) == {
        org.unassigned_s1.pk,
        org.unassigned_s2.pk,
    }
    assert _ids(api.get(reverse("member-list"), {"search": "王"})) == {org.a.pk}
    names = [
        row["display_name"] for row in api.get(reverse("member-list"), {"ordering": "-display_name"}).json()["results"]
    ]
    assert names == sorted(names, reverse=True)


def test_session_auth_works_for_the_api(client, org):
    client.force_login(org.users["staff_b"])
    assert _ids(client.get(reverse("member-list"))) == {org.b.pk}


def test_token_obtain_with_password(org):
    from tests.factories import PASSWORD

    response = APIClient().post(reverse("api_token"), {"username": "staff_a", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert _ids(api.get(reverse("member-list"))) == {org.a.pk}
    bad = APIClient().post(reverse("api_token"), {"username": "staff_a", "password": "wrong"})
    assert bad.status_code == 400


def test_manager_assigns_through_the_api(api_for, org):
    api = api_for(org.users["manager_s1"])
    url = reverse("platform-account-assign", args=[org.unassigned_s1.pk])
    response = api.post(url, {"member": org.c.pk, "start_date": "2026-11-01"}, format="json")
    assert response.status_code == 201, response.content
    assert AccountAssignment.objects.get(account=org.unassigned_s1).member == org.c
    listed = api.get(reverse("platform-account-detail", args=[org.unassigned_s1.pk])).json()
    assert listed["current_member"] == org.c.pk


def test_assign_refuses_member_of_another_store_and_other_roles(api_for, org):
    url = reverse("platform-account-assign", args=[org.unassigned_s1.pk])
    payload = {"member": org.d.pk, "start_date": "2026-11-01"}
    response = api_for(org.users["manager_s1"]).post(url, payload, format="json")
    assert response.status_code == 400
    assert "member" in response.json()
    assert api_for(org.users["staff_a"]).post(url, {**payload, "member": org.a.pk}, format="json").status_code == 403
    # Another store's manager does not even see the account.
    assert api_for(org.users["manager_s2"]).post(url, payload, format="json").status_code == 404
    assert not AccountAssignment.objects.filter(account=org.unassigned_s1).exists()


def test_schema_and_swagger_ui_are_served_without_a_cdn(client, org):
    client.force_login(org.users["admin"])
    schema = client.get(reverse("schema"))
    assert schema.status_code == 200
    assert b"/api/platform-accounts/{id}/assign/" in schema.content
    ui = client.get(reverse("swagger_ui")).content.decode()
    assert "swagger-ui" in ui
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in ui
