"""Changes of the dated histories announce exactly the store-days whose figures they move: an
assignment (service, page, API, admin), a team move (service, admin), a departure (nightly job,
admin leave date), and nothing when nothing changed or the change was refused."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from teams.models import AccountAssignment, Member, TeamMembership
from teams.services.accounts import account_assign
from teams.services.history import StoreDays, _days_changed, _Period, history_watch
from teams.services.members import members_deactivate_departed, membership_move
from teams.signals import history_changed
from tests.factories import AccountAssignmentFactory, MemberFactory, PlatformAccountFactory, TeamMembershipFactory

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def announced():
    """The spans of every history_changed sent during the test."""
    sent = []

    def listen(sender, spans, **kwargs):
        sent.append(spans)

    history_changed.connect(listen, dispatch_uid="test.history")
    yield sent
    history_changed.disconnect(dispatch_uid="test.history")


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        # A new open period from the 10th: every day from then on.
        ([(1, D(2026, 1, 1), None)], [(1, D(2026, 1, 1), D(2026, 8, 9)), (2, D(2026, 8, 10), None)],
         (D(2026, 8, 10), None)),
        # Start moved later: the days that lost their holder, and no others.
        ([(1, D(2026, 8, 1), D(2026, 8, 31))], [(1, D(2026, 8, 5), D(2026, 8, 31))], (D(2026, 8, 1), D(2026, 8, 4))),
        # End moved later: the days gained.
        ([(1, D(2026, 8, 1), D(2026, 8, 20))], [(1, D(2026, 8, 1), D(2026, 8, 25))], (D(2026, 8, 21), D(2026, 8, 25))),
        # An open period closed: the days after its new end.
        ([(1, D(2026, 8, 1), None)], [(1, D(2026, 8, 1), D(2026, 8, 20))], (D(2026, 8, 21), None)),
        # Split into two rows with the same holder: no day changed.
        ([(1, D(2026, 8, 1), None)], [(1, D(2026, 8, 1), D(2026, 8, 9)), (1, D(2026, 8, 10), None)], None),
        # Both ends moved: from the first changed day to the last.
        ([(1, D(2026, 8, 5), D(2026, 8, 20))], [(1, D(2026, 8, 3), D(2026, 8, 22))], (D(2026, 8, 3), D(2026, 8, 22))),
        ([], [], None),
    ],
)  # fmt: skip
def test_the_days_changed_are_those_whose_holder_differs(before, after, changed):
    assert _days_changed([_Period(*p) for p in before], [_Period(*p) for p in after]) == changed


def test_an_assignment_announces_the_accounts_store_from_its_first_day(org, announced):
    account_assign(account=org.unassigned_s1, member=org.a, start_date=D(2026, 8, 12))
    assert announced == [(StoreDays(org.s1.pk, D(2026, 8, 12), None, recredit=True),)]
    # Reassigned: the previous holder's days from the new start on move.
    account_assign(account=org.account_d, member=_member_in_z(org), start_date=D(2026, 6, 10))
    assert announced[1] == (StoreDays(org.s2.pk, D(2026, 6, 10), None, recredit=True),)


def _member_in_z(org) -> Member:
    member = MemberFactory(display_name="Zed")
    TeamMembershipFactory(member=member, team=org.z)
    return member


def test_nothing_is_announced_when_nothing_changes_or_the_change_is_refused(org, announced):
    account_assign(account=org.account_a, member=org.a, start_date=D(2026, 6, 10))  # already theirs
    with pytest.raises(ValidationError):
        account_assign(account=org.unassigned_s1, member=org.d, start_date=D(2026, 6, 1))  # not in s1
    with pytest.raises(ValidationError):
        membership_move(member=org.a, team=org.y, start_date=D(2024, 1, 1))  # inside the past
    assert members_deactivate_departed(today=D(2026, 6, 1)) == 0
    assert announced == []


def test_a_team_move_announces_the_days_of_the_stores_where_the_member_held_an_account(org, announced):
    membership_move(member=org.a, team=org.y, start_date=D(2026, 3, 16))
    # The team of A's days from the 16th: in s1, where A holds account_a; no credit moves.
    assert announced == [(StoreDays(org.s1.pk, D(2026, 3, 16), None, recredit=False),)]
    # A member with no account has no day rows to move: nothing to recompute.
    membership_move(member=org.lead_x, team=org.y, start_date=D(2026, 3, 16))
    assert len(announced) == 1
    # An account held only until some day bounds the span.
    AccountAssignment.objects.filter(member=org.b).update(end_date=D(2026, 4, 30))
    membership_move(member=org.b, team=org.y, start_date=D(2026, 4, 1))
    assert announced[1] == (StoreDays(org.s1.pk, D(2026, 4, 1), D(2026, 4, 30), recredit=False),)


def test_a_departure_announces_the_days_after_the_leave_date(org, announced):
    leaver = MemberFactory(display_name="Leaver", leave_date=D(2026, 5, 31))
    TeamMembershipFactory(member=leaver, team=org.x, start_date=D(2026, 1, 1))
    AccountAssignmentFactory(member=leaver, account=PlatformAccountFactory(store=org.s1), start_date=D(2026, 1, 1))
    assert members_deactivate_departed(today=D(2026, 6, 1)) == 1
    # From the day after the last working day, the account is nobody's (and the member in no team).
    assert announced == [(StoreDays(org.s1.pk, D(2026, 6, 1), None, recredit=True),)]


def test_watches_inside_a_watch_make_one_announcement(org, announced):
    with history_watch(member_ids=[org.a.pk]):
        membership_move(member=org.a, team=org.y, start_date=D(2026, 3, 16))
        account_assign(account=org.unassigned_s1, member=org.a, start_date=D(2026, 3, 1))
        assert announced == []
    assert announced == [(StoreDays(org.s1.pk, D(2026, 3, 1), None, recredit=True),)]


def test_a_rolled_back_change_queues_no_recompute(org, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        account_assign(account=org.unassigned_s1, member=org.a, start_date=D(2026, 8, 12))
        raise RuntimeError("rolled back")
    assert len(announced) == 1  # sent inside the transaction …
    assert callbacks == []  # … and its receivers' work, on commit, never comes


def test_the_assign_page_and_the_api_queue_the_recompute_on_commit(org, client_for, api_for, monkeypatch,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    queued = []
    monkeypatch.setattr("metrics.kpis.services.kpis_history_recompute_queue", lambda *, spans: queued.append(spans))
    # Recorded in the change's transaction (a follow-up: metrics.followups.services), sent on commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.users["manager_s1"]).post(
            f"/org/accounts/{org.unassigned_s1.pk}/assign/",
            {f"a{org.unassigned_s1.pk}-member": org.a.pk, f"a{org.unassigned_s1.pk}-start_date": "2026-08-12"},
        )
    assert response.status_code == 302
    assert queued == [(StoreDays(org.s1.pk, D(2026, 8, 12), None, recredit=True),)]
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_for(org.users["manager_s2"]).post(
            f"/api/platform-accounts/{org.unassigned_s2.pk}/assign/",
            {"member": org.d.pk, "start_date": "2026-07-01"},
            format="json",
        )
    assert answer.status_code == 201
    assert queued[1] == (StoreDays(org.s2.pk, D(2026, 7, 1), None, recredit=True),)
    # Refused (a start inside the account's history): nothing queued.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = api_for(org.users["manager_s2"]).post(
            f"/api/platform-accounts/{org.unassigned_s2.pk}/assign/",
            {"member": _member_in_z(org).pk, "start_date": "2026-06-01"},
            format="json",
        )
    assert answer.status_code == 400 and callbacks == [] and len(queued) == 2


def _admin_form(response) -> dict:
    """The admin change form's data as it stands (the member, its inline formsets)."""
    forms, data = [response.context["adminform"].form], {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False, ""):
                data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def test_admin_edits_of_assignments_memberships_and_leave_dates_announce_their_days(org, client_for, announced):
    org.users["admin"].is_staff = True  # the admin site asks for staff status as well
    org.users["admin"].save()
    admin = client_for(org.users["admin"])
    url = f"/admin/teams/member/{org.b.pk}/change/"
    data = _admin_form(admin.get(url))
    assert admin.post(url, data).status_code == 302  # saved as it was: nothing changed
    assert announced == []

    # Account b's assignment starts later: the days it no longer covers are nobody's.
    data = _admin_form(admin.get(url))
    data["account_assignments-0-start_date"] = "2026-08-05"
    assert admin.post(url, data).status_code == 302
    assert announced == [(StoreDays(org.s1.pk, D(2025, 1, 1), D(2026, 8, 4), recredit=True),)]

    # The membership ends: B's days after it lose their team (in s1, where B holds account b).
    data = _admin_form(admin.get(url))
    data["memberships-0-end_date"] = "2026-08-20"
    assert admin.post(url, data).status_code == 302
    assert announced[1] == (StoreDays(org.s1.pk, D(2026, 8, 21), None, recredit=False),)

    # A leave date already past: the departure is applied now, as one change.
    url = f"/admin/teams/member/{org.a.pk}/change/"
    data = _admin_form(admin.get(url))
    data["leave_date"] = "2026-08-10"
    assert admin.post(url, data).status_code == 302
    assert announced[2] == (StoreDays(org.s1.pk, D(2026, 8, 11), None, recredit=True),)
    assert not Member.objects.get(pk=org.a.pk).active
    assert AccountAssignment.objects.get(member=org.a).end_date == D(2026, 8, 10)
    assert TeamMembership.objects.get(member=org.a).end_date == D(2026, 8, 10)
    # A leave date still to come changes nothing yet: the nightly job applies it after that day.
    data = _admin_form(admin.get(f"/admin/teams/member/{org.c.pk}/change/"))
    data["leave_date"] = "2099-12-31"
    assert admin.post(f"/admin/teams/member/{org.c.pk}/change/", data).status_code == 302
    assert len(announced) == 3 and Member.objects.get(pk=org.c.pk).active
