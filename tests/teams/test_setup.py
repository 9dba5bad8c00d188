"""Starting empty (issue 19, point 1): an installation with no user leads every page to the set-up
page, which creates the first administrator and the first store once, signs them in and lands on
what to do next; afterwards (or after `createsuperuser`) it is gone."""

import contextlib
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from teams.models import ChangeArea, ChangeRecord, Platform, Store
from teams.services import setup as setup_service
from teams.services.setup import AlreadySetUp, installation_set_up

pytestmark = pytest.mark.django_db
STRONG = "Wen-9-tulips-Quay"


def _form(**overrides) -> dict:
    data = {
        "user-username": "boss", "user-email": "boss@example.com", "user-password1": STRONG,
        "user-password2": STRONG, "store-name": "未来衣橱旗舰店", "store-platform": Platform.TMALL,
        "store-time_zone": "Asia/Shanghai", "store-attribution_window_hours": "48", "store-stuck_deal_days": "7",
        "store-stuck_deal_response_hours": "12",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/org/members/", "/dashboard/", "/admin/"])
def test_every_page_of_an_empty_installation_leads_to_the_set_up_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == reverse("setup")


def test_the_api_static_files_and_health_check_are_left_alone(client):
    assert client.get("/api/stores/").status_code == 401
    assert client.get("/healthz?live").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_the_set_up_page_creates_the_administrator_and_the_store_and_signs_them_in(client):
    page = client.get(reverse("setup"))
    assert page.status_code == 200 and 'name="user-password1"' in page.content.decode()
    response = client.post(reverse("setup"), _form())
    assert response.status_code == 302 and response["Location"] == reverse("teams:getting_started")
    user = get_user_model().objects.get()
    assert (user.username, user.email, user.is_superuser, user.is_staff) == ("boss", "boss@example.com", True, True)
    assert user.check_password(STRONG)
    store = Store.objects.get()
    assert (store.name, store.platform, store.time_zone, store.attribution_window_hours) == (
        "未来衣橱旗舰店", Platform.TMALL, "Asia/Shanghai", 48,
    )  # fmt: skip
    # Signed in, on the page that says what to do next: people (a roster or members), then data.
    next_page = client.get(reverse("teams:getting_started"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Import a roster" in next_page and reverse("teams:member_create") in next_page
    assert reverse("metrics:upload") in next_page
    # The store's creation is in the change log, by the new administrator.
    record = ChangeRecord.objects.get(object_type="teams.store")
    assert (record.actor, record.area, record.store) == (user, ChangeArea.ORGANISATION, store)


def test_once_set_up_the_page_is_gone_and_a_second_submission_is_refused(client):
    assert client.post(reverse("setup"), _form()).status_code == 302
    other = Client()
    assert other.get(reverse("setup")).status_code == 404
    assert other.post(reverse("setup"), _form(**{"user-username": "intruder"})).status_code == 404
    assert other.get("/accounts/login/").status_code == 200  # no more redirects
    assert get_user_model().objects.count() == 1 and Store.objects.count() == 1


def test_the_service_refuses_an_installation_with_a_user():
    get_user_model().objects.create_user("first")
    with pytest.raises(AlreadySetUp):
        installation_set_up(username="second", password=STRONG, store_name="S")
    assert Store.objects.count() == 0


def test_createsuperuser_keeps_working_and_removes_the_set_up_page(client):
    call_command("createsuperuser", "--no-input", "--username", "root", "--email", "root@example.com", verbosity=0)
    assert client.get(reverse("setup")).status_code == 404
    client.force_login(get_user_model().objects.get(username="root"))
    # A superuser is an administrator: the first store is created on the stores page.
    response = client.post(reverse("teams:store_create"), {
        "name": "Mirror Home Store", "platform": Platform.JD, "time_zone": "Asia/Shanghai",
        "attribution_window_hours": "24", "stuck_deal_days": "7", "stuck_deal_response_hours": "12",
    })  # fmt: skip
    assert response.status_code == 302 and Store.objects.get().name == "Mirror Home Store"


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ["The two password fields didn’t match.", "This field is required."]),
        ("zh-hans", ["输入的两个密码不一致。", "该字段是必填项。"]),
    ],
)
def test_validation_errors_in_both_languages(client, language, texts):
    response = client.post(reverse("setup"), _form(**{"user-password2": "other", "store-name": ""}),
                           HTTP_ACCEPT_LANGUAGE=language)  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200 and all(text in body for text in texts), body
    assert not get_user_model().objects.exists() and not Store.objects.exists()


@pytest.mark.parametrize(
    ("password", "language", "text"),
    [
        ("short", "en", "This password is too short."),
        ("12345678901", "en", "This password is entirely numeric."),
        ("short", "zh-hans", "密码长度太短"),
    ],
)
def test_the_password_passes_djangos_validators(client, password, language, text):
    response = client.post(reverse("setup"), _form(**{"user-password1": password, "user-password2": password}),
                           HTTP_ACCEPT_LANGUAGE=language)  # fmt: skip
    assert text in response.content.decode() and not get_user_model().objects.exists()


def test_the_set_up_page_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("setup"), _form()).status_code == 403
    page = client.get(reverse("setup"))
    token = page.context["csrf_token"]
    assert client.post(reverse("setup"), {**_form(), "csrfmiddlewaretoken": str(token)}).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_of_two_first_visitors_submitting_at_once_one_wins(monkeypatch):
    """Both get past the form; inside the transaction each takes the lock, then waits for the other
    to be there too (if it can get there) before checking that no user exists. With the lock the
    second waits for the first to commit and then finds its administrator; without it both would
    find none and both would create one."""
    barrier = threading.Barrier(2)
    locked = setup_service._users_lock

    def lock_then_meet():
        locked()
        # Seconds: only the one holding the lock waits this long, while the other waits on the lock.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)

    monkeypatch.setattr(setup_service, "_users_lock", lock_then_meet)
    outcomes = {}

    def visit(name: str) -> None:
        try:
            installation_set_up(username=name, password=STRONG, store_name=f"Store of {name}")
            outcomes[name] = "set up"
        except AlreadySetUp:
            outcomes[name] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=visit, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["refused", "set up"]
    assert get_user_model().objects.count() == 1 and Store.objects.count() == 1
