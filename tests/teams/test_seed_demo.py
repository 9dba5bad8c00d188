"""The demo organisation and logins behind `make run`."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Max, Min
from django.utils import timezone

from metrics.models import ChatSession, ImportBatch, Order, TrafficDay
from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team
from teams.selectors.scoping import member_list, viewer_get

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_organisation_and_role_logins(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--password", "pw-for-test-1", "--orders", "600")
    out = capsys.readouterr().out
    assert (Store.objects.count(), Team.objects.count(), Member.objects.count()) == (3, 5, 24)
    # 24 agents' accounts, plus one newcomer per store first seen in the imported chats.
    assert PlatformAccount.objects.count() == 27
    assert set(PlatformAccount.objects.filter(name__endswith="客服新人").values_list("store__name", flat=True)) == set(
        Store.objects.values_list("name", flat=True)
    )
    # One known account per store and every newcomer wait for a manager to assign them.
    assert PlatformAccount.objects.exclude(assignments__isnull=False).count() == 6
    assert AccountAssignment.objects.count() == 21
    # 90 days up to yesterday, imported through the importers.
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert ImportBatch.objects.filter(status="succeeded").count() == 3
    assert 500 < Order.objects.count() <= 600
    assert ChatSession.objects.count() == 840
    assert TrafficDay.objects.count() == 3 * 5 * 90
    assert TrafficDay.objects.aggregate(first=Min("date"), last=Max("date")) == {
        "first": yesterday - dt.timedelta(days=89),
        "last": yesterday,
    }
    assert "imported" in out
    users = {u.username: u for u in get_user_model().objects.all()}
    for username in ("manager", "lead", "staff1", "staff2", "hr", "admin"):
        assert f"  {username}" in out
        assert users[username].check_password("pw-for-test-1")
    assert users["admin"].is_superuser
    assert member_list(viewer=viewer_get(user=users["staff1"])).count() == 1
    assert member_list(viewer=viewer_get(user=users["lead"])).count() == 7
    assert member_list(viewer=viewer_get(user=users["manager"])).count() == 18
    assert member_list(viewer=viewer_get(user=users["hr"])).count() == 24


def test_seed_demo_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert not Store.objects.exists()
    call_command("seed_demo", "--force", "--orders", "100")
    assert Store.objects.count() == 3


def test_seed_demo_if_empty_leaves_an_existing_database_alone(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--orders", "100")
    call_command("seed_demo", "--if-empty")
    assert Store.objects.count() == 3
    assert "not loaded again" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_demo")
