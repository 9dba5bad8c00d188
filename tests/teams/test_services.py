"""Services of the organisation: account assignment history, team moves, departures."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from teams.models import AccountAssignment, Member, TeamMembership
from teams.services.accounts import account_assign
from teams.services.members import members_deactivate_departed, membership_move
from tests.factories import AccountAssignmentFactory, MemberFactory, TeamMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English; the product's default language is Chinese.
    with translation.override("en"):
        yield


def test_reassigning_closes_the_previous_member_the_day_before(org):
    new = account_assign(account=org.account_a, member=org.b, start_date=dt.date(2026, 6, 10))
    old = AccountAssignment.objects.get(account=org.account_a, member=org.a)
    assert old.end_date == dt.date(2026, 6, 9)
    assert (new.member, new.start_date, new.end_date) == (org.b, dt.date(2026, 6, 10), None)


def test_assigning_the_same_member_again_changes_nothing(org):
    before = AccountAssignment.objects.get(account=org.account_a)
    again = account_assign(account=org.account_a, member=org.a, start_date=dt.date(2026, 6, 10))
    assert again.pk == before.pk
    assert AccountAssignment.objects.filter(account=org.account_a).count() == 1


def test_assignment_may_not_rewrite_history(org):
    account_assign(account=org.account_a, member=org.b, start_date=dt.date(2026, 6, 10))
    with pytest.raises(ValidationError, match="choose a later start date"):
        account_assign(account=org.account_a, member=org.lead_x, start_date=dt.date(2026, 6, 1))
    # The open assignment starting on the requested day is also an overlap.
    with pytest.raises(ValidationError):
        account_assign(account=org.account_a, member=org.lead_x, start_date=dt.date(2026, 6, 10))
    assert AccountAssignment.objects.filter(account=org.account_a).count() == 2


def test_member_must_be_in_a_team_of_the_accounts_store(org):
    with pytest.raises(ValidationError, match="in no team of"):
        account_assign(account=org.unassigned_s1, member=org.d, start_date=dt.date(2026, 6, 1))


def test_membership_move_ends_the_old_team_the_day_before(org):
    membership_move(member=org.a, team=org.y, start_date=dt.date(2026, 3, 16))
    history = list(TeamMembership.objects.filter(member=org.a).order_by("start_date").values_list("team", "end_date"))
    assert history == [(org.x.pk, dt.date(2026, 3, 15)), (org.y.pk, None)]
    with pytest.raises(ValidationError):
        membership_move(member=org.a, team=org.x, start_date=dt.date(2026, 3, 1))


def test_departed_members_are_deactivated_once(org):
    leaver = MemberFactory(display_name="Leaver", leave_date=dt.date(2026, 5, 31))
    TeamMembershipFactory(member=leaver, team=org.x, start_date=dt.date(2026, 1, 1))
    AccountAssignmentFactory(member=leaver, start_date=dt.date(2026, 1, 1))
    staying = MemberFactory(display_name="Leaves tomorrow", leave_date=dt.date(2026, 6, 1))

    assert members_deactivate_departed(today=dt.date(2026, 6, 1)) == 1
    leaver.refresh_from_db()
    staying.refresh_from_db()
    assert (leaver.active, staying.active) == (False, True)
    assert TeamMembership.objects.get(member=leaver).end_date == dt.date(2026, 5, 31)
    assert AccountAssignment.objects.get(member=leaver).end_date == dt.date(2026, 5, 31)
    # Idempotent: nothing left to do on a second run.
    assert members_deactivate_departed(today=dt.date(2026, 6, 1)) == 0
    assert Member.objects.filter(active=False).count() == 1
