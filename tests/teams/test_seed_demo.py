"""The demo organisation and logins behind `make run`."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team
from teams.selectors.scoping import member_list, viewer_get

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_organisation_and_role_logins(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--password", "pw-for-test-1")
    out = capsys.readouterr().out
    assert (Store.objects.count(), Team.objects.count(), Member.objects.count()) == (3, 5, 24)
    assert PlatformAccount.objects.count() == 24
    # One account per store is left for a manager to assign.
    assert PlatformAccount.objects.exclude(assignments__isnull=False).count() == 3
    assert AccountAssignment.objects.count() == 21
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
    call_command("seed_demo", "--force")
    assert Store.objects.count() == 3


def test_seed_demo_if_empty_leaves_an_existing_database_alone(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo", "--if-empty")
    assert Store.objects.count() == 3
    assert "not loaded again" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_demo")
