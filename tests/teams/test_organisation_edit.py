"""People and organisation pages and their API (issue 19, point 2): stores, teams, members, team
moves and platform accounts, created and changed by administrators (everywhere) and managers (in
their stores), refused to HR, team leads and staff (403), 404 outside the editor's stores; each
change in the change log; the page and the API call the same services."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from teams.models import ChangeAction, ChangeArea, ChangeRecord, Member, PlatformAccount, Store, Team, TeamMembership
from teams.services.history import StoreDays
from teams.services.organisation import store_update
from teams.signals import history_changed
from tests.factories import AccountAssignmentFactory, MemberFactory, PlatformAccountFactory, TeamMembershipFactory

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def announced():
    sent = []

    def listen(sender, spans, **kwargs):
        sent.append(spans)

    history_changed.connect(listen, dispatch_uid="test.organisation_edit")
    yield sent
    history_changed.disconnect(dispatch_uid="test.organisation_edit")


def _store_data(**overrides) -> dict:
    data = {"name": "新店", "platform": "taobao", "time_zone": "Asia/Shanghai", "attribution_window_hours": "24",
            "stuck_deal_days": "7", "stuck_deal_response_hours": "12"}  # fmt: skip
    return {**data, **overrides}


# --- stores -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("admin", 302), ("manager_s1", 403), ("hr", 403), ("lead_x", 403),
                                             ("staff_a", 403)])  # fmt: skip
def test_only_administrators_create_stores(org, client_for, who, status):
    response = client_for(org.users[who]).post(reverse("teams:store_create"), _store_data())
    assert response.status_code == status
    assert Store.objects.filter(name="新店").exists() == (status == 302)


def test_a_manager_changes_their_stores_settings_but_not_its_name_or_another_store(org, client_for):
    manager = client_for(org.users["manager_s1"])
    page = manager.get(reverse("teams:store_edit", args=[org.s1.pk]))
    assert page.status_code == 200 and 'name="name"' not in page.content.decode()
    data = _store_data(name="Renamed", attribution_window_hours="48")
    assert manager.post(reverse("teams:store_edit", args=[org.s1.pk]), data).status_code == 302
    org.s1.refresh_from_db()
    assert (org.s1.name, org.s1.attribution_window_hours) == ("未来衣橱旗舰店", 48)
    assert manager.get(reverse("teams:store_edit", args=[org.s2.pk])).status_code == 404
    record = ChangeRecord.objects.get(object_type="teams.store", action=ChangeAction.CHANGED)
    assert record.changes == {"attribution_window_hours": [24, 48]} and record.actor == org.users["manager_s1"]


def test_a_new_attribution_window_recomputes_the_store_and_its_time_zone_is_fixed_by_data(org, announced,
                                                                                          monkeypatch):  # fmt: skip
    store_update(actor=None, store=org.s1, attribution_window_hours=12)
    assert announced == [(StoreDays(org.s1.pk, D.min, None, recredit=True),)]
    store_update(actor=None, store=org.s1, time_zone="Asia/Tokyo")  # no data yet: allowed
    monkeypatch.setattr("metrics.kpis.services.store_fact_days", lambda *, store: (D(2026, 8, 1), D(2026, 8, 31)))
    with translation.override("en"), pytest.raises(Exception, match="its time zone can no longer change"):
        store_update(actor=None, store=org.s1, time_zone="Asia/Shanghai")
    org.s1.refresh_from_db()
    assert org.s1.time_zone == "Asia/Tokyo" and len(announced) == 1


@pytest.mark.parametrize(
    ("value", "message"), [("0", "greater than or equal to 1"), ("721", "less than or equal to 720")]
)
def test_store_settings_are_checked(org, client_for, value, message):
    response = client_for(org.users["admin"]).post(
        reverse("teams:store_edit", args=[org.s1.pk]), _store_data(name=org.s1.name, attribution_window_hours=value),
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert response.status_code == 200 and message in response.content.decode()


# --- teams --------------------------------------------------------------------------------------


def test_a_manager_creates_a_team_in_their_store_not_in_another(org, client_for):
    manager = client_for(org.users["manager_s1"])
    response = manager.post(reverse("teams:team_create"), {"store": org.s1.pk, "name": "直播组", "kind": "presales"})
    assert response.status_code == 302
    team = Team.objects.get(name="直播组")
    assert team.store == org.s1
    assert manager.post(reverse("teams:team_create"), {"store": org.s2.pk, "name": "外店组"}).status_code == 404
    assert manager.post(reverse("teams:team_create"), {"store": 99999, "name": "外店组"}).status_code == 404
    assert not Team.objects.filter(name="外店组").exists()
    record = ChangeRecord.objects.get(object_type="teams.team")
    assert (record.action, record.store, record.area) == (ChangeAction.CREATED, org.s1, ChangeArea.ORGANISATION)


@pytest.mark.parametrize("who", ["hr", "lead_x", "staff_a"])
def test_hr_leads_and_staff_may_not_create_or_edit_teams(org, client_for, who):
    client = client_for(org.users[who])
    assert client.get(reverse("teams:team_create")).status_code == 403
    assert (
        client.post(reverse("teams:team_edit", args=[org.x.pk]), {"name": "X2", "kind": "presales"}).status_code == 403
    )
    assert Team.objects.get(pk=org.x.pk).name == "售前X"


def test_a_teams_lead_must_be_in_it_now(org, client_for):
    admin = client_for(org.users["admin"])
    url = reverse("teams:team_edit", args=[org.y.pk])
    # C is in Y: made its lead; the choices are Y's members, so D (team Z) cannot even be posted.
    assert admin.post(url, {"name": "售后Y", "kind": "aftersales", "lead": org.c.pk}).status_code == 302
    assert Team.objects.get(pk=org.y.pk).lead == org.c
    refused = admin.post(url, {"name": "售后Y", "kind": "aftersales", "lead": org.d.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    # A duplicate name in the same store is refused with the store's name.
    clash = admin.post(url, {"name": "售前X", "kind": "aftersales", "lead": org.c.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert "未来衣橱旗舰店 already has a team named 售前X." in clash.content.decode()


# --- members ------------------------------------------------------------------------------------


def test_a_manager_adds_a_member_to_their_team_from_the_hire_date(org, client_for):
    manager = client_for(org.users["manager_s1"])
    response = manager.post(reverse("teams:member_create"), {
        "display_name": "Eve 周", "employee_number": "E777", "hire_date": "2026-09-01", "team": org.y.pk,
    })  # fmt: skip
    eve = Member.objects.get(display_name="Eve 周")
    assert response.status_code == 302 and response["Location"] == reverse("teams:member_detail", args=[eve.pk])
    row = TeamMembership.objects.get(member=eve)
    assert (row.team, row.start_date, row.end_date) == (org.y, D(2026, 9, 1), None)
    # Another store's team: 404, nothing created.
    assert manager.post(reverse("teams:member_create"), {"display_name": "Zed", "team": org.z.pk}).status_code == 404
    assert not Member.objects.filter(display_name="Zed").exists()
    kinds = sorted(ChangeRecord.objects.values_list("object_type", flat=True))
    assert kinds == ["teams.member", "teams.teammembership"]


@pytest.mark.parametrize(
    ("data", "language", "text"),
    [
        ({"employee_number": "E0000"}, "en", "Member with this Employee number already exists."),
        ({"hire_date": "2026-09-01", "confirmed_date": "2026-08-01"}, "en",
         "The end of probation cannot be before the hire date"),
        ({"display_name": ""}, "en", "This field is required."),
        ({"hire_date": "2026-09-01", "confirmed_date": "2026-08-01"}, "zh-hans", "转正日期不能早于入职日期"),
    ],
)  # fmt: skip
def test_member_fields_are_checked_in_both_languages(org, client_for, data, language, text):
    org.a.employee_number = "E0000"
    org.a.save()
    response = client_for(org.users["admin"]).post(
        reverse("teams:member_create"), {"display_name": "New", "team": org.x.pk, **data}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200 and text in response.content.decode()
    assert not Member.objects.filter(display_name="New").exists()


def test_a_leave_date_in_the_past_ends_the_members_team_and_accounts_on_it(org, client_for, announced):
    admin = client_for(org.users["admin"])
    url = reverse("teams:member_edit", args=[org.a.pk])
    data = {"display_name": "Alice 王", "employee_number": org.a.employee_number, "hire_date": "2025-01-01",
            "leave_date": "2026-08-10", "active": "on"}  # fmt: skip
    assert admin.post(url, data).status_code == 302  # the box left as it was: the leave date decides
    org.a.refresh_from_db()
    assert not org.a.active
    assert TeamMembership.objects.get(member=org.a).end_date == D(2026, 8, 10)
    assert org.account_a.assignments.get().end_date == D(2026, 8, 10)
    assert announced == [(StoreDays(org.s1.pk, D(2026, 8, 11), None, recredit=True),)]
    # A corrected leave date moves the ends with it: only the days between change hands.
    assert admin.post(url, {**data, "leave_date": "2026-08-05", "active": ""}).status_code == 302
    assert TeamMembership.objects.get(member=org.a).end_date == D(2026, 8, 5)
    assert announced[1] == (StoreDays(org.s1.pk, D(2026, 8, 6), D(2026, 8, 10), recredit=True),)
    # Cleared: they never left; their team and account are theirs again from then on.
    assert admin.post(url, {**data, "leave_date": "", "active": ""}).status_code == 302
    org.a.refresh_from_db()
    assert org.a.active and TeamMembership.objects.get(member=org.a).end_date is None
    assert announced[2] == (StoreDays(org.s1.pk, D(2026, 8, 6), None, recredit=True),)
    actions = list(ChangeRecord.objects.filter(object_type="teams.member").values_list("action", flat=True))
    assert actions == [ChangeAction.CHANGED] * 3


def test_a_leave_date_is_refused_when_it_would_overlap_what_came_after(org, client_for):
    admin = client_for(org.users["admin"])
    url = reverse("teams:member_edit", args=[org.a.pk])
    data = {"display_name": "Alice 王", "hire_date": "2025-01-01", "leave_date": "2026-08-10"}
    assert admin.post(url, data).status_code == 302
    # Their account went to B afterwards: a later leave date would take it back.
    AccountAssignmentFactory(account=org.account_a, member=org.b, start_date=D(2026, 8, 20))
    refused = admin.post(url, {**data, "leave_date": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert "客服a was given to Bob 李 from" in refused.content.decode()
    # A leave date before a period that started later is refused too.
    TeamMembershipFactory(member=org.c, team=org.x, start_date=D(2026, 9, 1))
    TeamMembership.objects.filter(member=org.c, team=org.y).update(end_date=D(2026, 8, 31))
    refused = admin.post(reverse("teams:member_edit", args=[org.c.pk]),
                         {"display_name": "Carol 张", "leave_date": "2026-08-15"}, HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "Carol 张 has 售前X from" in refused.content.decode()
    assert Member.objects.get(pk=org.c.pk).leave_date is None


def test_a_move_keeps_the_past_and_recomputes_exactly_the_days_it_moves(org, client_for, announced):
    manager = client_for(org.users["manager_s1"])
    url = reverse("teams:member_move", args=[org.a.pk])
    assert manager.post(url, {"team": org.y.pk, "start_date": "2026-03-16"}).status_code == 302
    history = list(TeamMembership.objects.filter(member=org.a).order_by("start_date")
                   .values_list("team_id", "start_date", "end_date"))  # fmt: skip
    assert history == [(org.x.pk, D(2025, 1, 1), D(2026, 3, 15)), (org.y.pk, D(2026, 3, 16), None)]
    assert announced == [(StoreDays(org.s1.pk, D(2026, 3, 16), None, recredit=False),)]
    # The past is not rewritten: a move inside it is refused, nothing announced.
    refused = manager.post(url, {"team": org.x.pk, "start_date": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "already has a team on or after" in refused.content.decode() and len(announced) == 1
    # Into another store's team: 404; HR: 403.
    assert manager.post(url, {"team": org.z.pk, "start_date": "2026-10-01"}).status_code == 404
    assert client_for(org.users["hr"]).post(url, {"team": org.x.pk, "start_date": "2026-10-01"}).status_code == 403
    records = ChangeRecord.objects.filter(object_type="teams.teammembership").order_by("pk")
    assert [(r.action, r.changes.get("end_date")) for r in records] == [
        (ChangeAction.CHANGED, [None, "2026-03-15"]), (ChangeAction.CREATED, None),
    ]  # fmt: skip


# --- platform accounts --------------------------------------------------------------------------


def test_a_platform_account_is_created_before_its_first_import_and_then_assigned(org, client_for):
    manager = client_for(org.users["manager_s1"])
    response = manager.post(reverse("teams:account_create"), {"store": org.s1.pk, "name": " 未来衣橱:客服09 "})
    account = PlatformAccount.objects.get(name="未来衣橱:客服09")
    assert response.status_code == 302 and account.store == org.s1
    duplicate = manager.post(reverse("teams:account_create"), {"store": org.s1.pk, "name": "未来衣橱:客服09"},
                             HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "未来衣橱旗舰店 already has the account 未来衣橱:客服09." in duplicate.content.decode()
    assert manager.post(reverse("teams:account_create"), {"store": org.s2.pk, "name": "x"}).status_code == 404
    assign = manager.post(reverse("teams:account_assign", args=[account.pk]),
                          {f"a{account.pk}-member": org.c.pk, f"a{account.pk}-start_date": "2026-09-01"})  # fmt: skip
    assert assign.status_code == 302 and account.assignments.get().member == org.c
    assert client_for(org.users["staff_a"]).get(reverse("teams:account_create")).status_code == 403


# --- the API: the same services, scoped like the pages --------------------------------------------


def test_the_api_creates_and_changes_stores_teams_members_and_accounts(org, api_for, announced):
    admin, manager = api_for(org.users["admin"]), api_for(org.users["manager_s1"])
    store = admin.post(reverse("store-list"), {"name": "API店", "platform": "jd"}, format="json")
    assert store.status_code == 201 and store.json()["time_zone"] == "Asia/Shanghai"
    assert manager.post(reverse("store-list"), {"name": "Nope"}, format="json").status_code == 403
    assert (
        manager.patch(reverse("store-detail", args=[org.s1.pk]), {"stuck_deal_days": 5}, format="json").json()[
            "stuck_deal_days"
        ]
        == 5
    )
    assert manager.patch(reverse("store-detail", args=[org.s1.pk]), {"name": "X"}, format="json").status_code == 403
    assert (
        manager.patch(reverse("store-detail", args=[org.s2.pk]), {"stuck_deal_days": 5}, format="json").status_code
        == 404
    )

    team = manager.post(reverse("team-list"), {"store": org.s1.pk, "name": "API组", "kind": "telesales"}, format="json")
    assert team.status_code == 201 and team.json()["kind"] == "telesales"
    assert manager.post(reverse("team-list"), {"store": org.s2.pk, "name": "No"}, format="json").status_code == 404
    member = manager.post(reverse("member-list"), {"display_name": "Api 成员", "hire_date": "2026-09-01",
                                                   "team": team.json()["id"]}, format="json")  # fmt: skip
    assert member.status_code == 201 and member.json()["memberships"][0]["start_date"] == "2026-09-01"
    no_team = manager.post(reverse("member-list"), {"display_name": "Nobody"}, format="json")
    assert no_team.status_code == 400 and "team" in no_team.json()
    lead = manager.patch(reverse("team-detail", args=[team.json()["id"]]), {"lead": member.json()["id"]}, format="json")
    assert lead.status_code == 200 and lead.json()["lead_name"] == "Api 成员"
    bad_lead = manager.patch(reverse("team-detail", args=[team.json()["id"]]), {"lead": org.a.pk}, format="json")
    assert bad_lead.status_code == 400 and "lead" in bad_lead.json()

    moved = manager.post(reverse("member-moves", args=[org.a.pk]), {"team": org.y.pk, "start_date": "2026-04-01"},
                         format="json")  # fmt: skip
    assert moved.status_code == 201 and moved.json()["team"] == org.y.pk
    assert announced[-1] == (StoreDays(org.s1.pk, D(2026, 4, 1), None, recredit=False),)
    past = manager.post(reverse("member-moves", args=[org.a.pk]), {"team": org.x.pk, "start_date": "2026-03-01"},
                        format="json")  # fmt: skip
    assert past.status_code == 400 and "non_field_errors" in past.json()
    assert manager.post(reverse("member-moves", args=[org.a.pk]), {"team": org.z.pk, "start_date": "2026-10-01"},
                        format="json").status_code == 404  # fmt: skip
    assert manager.post(reverse("member-moves", args=[org.d.pk]), {"team": org.x.pk, "start_date": "2026-10-01"},
                        format="json").status_code == 404  # fmt: skip

    left = manager.patch(reverse("member-detail", args=[org.b.pk]), {"leave_date": "2026-08-31"}, format="json")
    assert left.status_code == 200 and left.json()["active"] is False
    account = manager.post(
        reverse("platform-account-list"), {"store": org.s1.pk, "name": "未来衣橱:API"}, format="json"
    )
    assert account.status_code == 201 and account.json()["current_member"] is None
    assert manager.post(reverse("platform-account-list"), {"store": org.s2.pk, "name": "x"},
                        format="json").status_code == 404  # fmt: skip


@pytest.mark.parametrize("who", ["hr", "lead_x", "staff_a"])
def test_the_api_refuses_every_organisation_write_to_hr_leads_and_staff(org, api_for, who):
    api = api_for(org.users[who])
    answers = [
        api.post(reverse("store-list"), {"name": "S"}, format="json"),
        api.patch(reverse("store-detail", args=[org.s1.pk]), {"stuck_deal_days": 3}, format="json"),
        api.post(reverse("team-list"), {"store": org.s1.pk, "name": "T"}, format="json"),
        api.patch(reverse("team-detail", args=[org.x.pk]), {"name": "T"}, format="json"),
        api.post(reverse("member-list"), {"display_name": "M", "team": org.x.pk}, format="json"),
        api.patch(reverse("member-detail", args=[org.a.pk]), {"display_name": "M"}, format="json"),
        api.post(reverse("member-moves", args=[org.a.pk]), {"team": org.y.pk, "start_date": "2026-10-01"},
                 format="json"),
        api.post(reverse("platform-account-list"), {"store": org.s1.pk, "name": "P"}, format="json"),
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [403] * len(answers)
    assert ChangeRecord.objects.count() == 0


def test_the_change_log_holds_each_organisation_change_with_its_store(org, client_for):
    admin = client_for(org.users["admin"])
    admin.post(reverse("teams:team_create"), {"store": org.s2.pk, "name": "新组", "kind": "presales"})
    team = Team.objects.get(name="新组")
    admin.post(reverse("teams:member_create"), {"display_name": "Zoe", "team": team.pk, "start_date": "2026-10-01"})
    admin.post(reverse("teams:team_edit", args=[team.pk]), {"name": "新组", "kind": "aftersales",
                                                             "lead": Member.objects.get(display_name="Zoe").pk})  # fmt: skip
    log = admin.get(reverse("teams:change_list"), {"store": org.s2.pk}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Kind: Pre-sales service → After-sales service" in log and "Team lead: — → Zoe" in log
    assert "Start date: — → " in log


def test_a_member_with_no_account_moves_without_recompute(org, announced):
    member = MemberFactory(display_name="No account")
    TeamMembershipFactory(member=member, team=org.x)
    from teams.services.members import membership_move

    membership_move(member=member, team=org.y, start_date=D(2026, 5, 1))
    assert announced == []
    AccountAssignmentFactory(member=member, account=PlatformAccountFactory(store=org.s1), start_date=D(2026, 1, 1))
    membership_move(member=member, team=org.x, start_date=D(2026, 6, 1))
    assert announced == [(StoreDays(org.s1.pk, D(2026, 6, 1), None, recredit=False),)]


def test_the_demo_organisation_is_made_through_the_services():
    from django.contrib.auth import get_user_model

    from perfmgmt.demo.organisation import demo_organisation_create

    logins = demo_organisation_create(password="pw-for-test-1", today=D(2026, 12, 1))
    assert [login.username for login in logins] == ["manager", "lead", "staff1", "staff2", "sales1", "tele1", "hr",
                                                    "admin"]  # fmt: skip
    made = {kind: ChangeRecord.objects.filter(object_type=kind, action=ChangeAction.CREATED).count()
            for kind in ("teams.store", "teams.team", "teams.member", "teams.teammembership", "teams.platformaccount",
                         "teams.accountassignment", "auth.user", "teams.rolegrant")}  # fmt: skip
    assert made == {"teams.store": 3, "teams.team": 7, "teams.member": 33, "teams.teammembership": 33,
                    "teams.platformaccount": 33, "teams.accountassignment": 30, "auth.user": 8,
                    "teams.rolegrant": 3}  # fmt: skip
    # The leads were set through team_update (a lead must be in the team), by the system.
    assert ChangeRecord.objects.filter(object_type="teams.team", action=ChangeAction.CHANGED).count() == 7
    assert not ChangeRecord.objects.filter(actor__isnull=False).exists()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("pw-for-test-1")
