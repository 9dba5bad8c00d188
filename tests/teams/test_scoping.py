"""The scoping selectors: what each role sees of stores, teams, members and accounts."""

import pytest

from teams.selectors.scoping import (
    assignable_account_list,
    member_list,
    platform_account_list,
    store_list,
    team_list,
    viewer_get,
)

pytestmark = pytest.mark.django_db

# role → (visible members, visible teams, visible stores) by fixture attribute name
EXPECTED = {
    "staff_a": ({"a"}, {"x"}, {"s1"}),
    "staff_b": ({"b"}, {"x"}, {"s1"}),
    "lead_x": ({"a", "b", "lead_x"}, {"x"}, {"s1"}),
    "manager_s1": ({"a", "b", "c", "lead_x"}, {"x", "y"}, {"s1"}),
    "manager_s2": ({"d"}, {"z"}, {"s2"}),
    "hr": ({"a", "b", "c", "d", "lead_x"}, {"x", "y", "z"}, {"s1", "s2"}),
    "admin": ({"a", "b", "c", "d", "lead_x"}, {"x", "y", "z"}, {"s1", "s2"}),
    "nobody": (set(), set(), set()),
}


def _names(org, objects) -> set[str]:
    """The fixture names of `objects` (members, teams or stores)."""
    index = {}
    for name in ("a", "b", "c", "d", "lead_x", "x", "y", "z", "s1", "s2"):
        obj = getattr(org, name)
        index[(type(obj), obj.pk)] = name
    return {index[(type(obj), obj.pk)] for obj in objects}


@pytest.mark.parametrize("username", EXPECTED)
def test_each_role_sees_exactly_its_members_teams_and_stores(org, username):
    viewer = viewer_get(user=org.users[username])
    members, teams, stores = EXPECTED[username]
    assert _names(org, list(member_list(viewer=viewer))) == members
    assert _names(org, list(team_list(viewer=viewer))) == teams
    assert _names(org, list(store_list(viewer=viewer))) == stores


def test_staff_sees_only_own_accounts(org):
    viewer = viewer_get(user=org.users["staff_a"])
    assert list(platform_account_list(viewer=viewer)) == [org.account_a]


def test_lead_sees_accounts_of_team_members_only(org):
    viewer = viewer_get(user=org.users["lead_x"])
    assert set(platform_account_list(viewer=viewer)) == {org.account_a, org.account_b}


def test_manager_sees_every_account_of_their_store_including_unassigned(org):
    viewer = viewer_get(user=org.users["manager_s1"])
    expected = {org.account_a, org.account_b, org.account_c, org.unassigned_s1}
    assert set(platform_account_list(viewer=viewer)) == expected
    assert set(assignable_account_list(viewer=viewer)) == expected


def test_only_managers_and_admins_may_assign(org):
    for username in ("staff_a", "lead_x", "hr", "nobody"):
        viewer = viewer_get(user=org.users[username])
        assert not viewer.can_assign_accounts
        assert not assignable_account_list(viewer=viewer).exists()
    assert viewer_get(user=org.users["admin"]).can_assign_accounts


def test_member_who_left_team_x_stays_visible_to_its_lead_for_history(org):
    import datetime as dt

    from teams.services.members import membership_move

    membership_move(member=org.a, team=org.y, start_date=dt.date(2026, 3, 1))
    lead = viewer_get(user=org.users["lead_x"])
    assert org.a in member_list(viewer=lead)
    # ...but the lead of X still sees nothing of team Y's other members.
    assert org.c not in member_list(viewer=lead)


def test_anonymous_sees_nothing(org):
    from django.contrib.auth.models import AnonymousUser

    viewer = viewer_get(user=AnonymousUser())
    assert not member_list(viewer=viewer).exists()
    assert not store_list(viewer=viewer).exists()
    assert not team_list(viewer=viewer).exists()
    assert not platform_account_list(viewer=viewer).exists()


def test_roles_add_up_for_a_user_holding_several(org):
    from teams.models import Role
    from tests.factories import RoleGrantFactory

    RoleGrantFactory(user=org.users["staff_a"], role=Role.MANAGER, store=org.s2)
    viewer = viewer_get(user=org.users["staff_a"])
    assert set(member_list(viewer=viewer)) == {org.a, org.d}
    assert viewer.role_keys == ["manager", "staff"]
