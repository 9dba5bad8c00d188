"""The change log (issue 19, point 7): services record who changed what, when, each field before →
after and why; HR and administrators read it on a page with filters, in their language, and
download it."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from teams.models import ChangeAction, ChangeArea, ChangeRecord, Member, TeamKind
from teams.services.accounts import account_assign
from teams.services.changes import change_record, fields_snapshot
from tests.factories import TeamMembershipFactory

pytestmark = pytest.mark.django_db
FIELDS = ("display_name", "employee_number", "hire_date", "leave_date", "active")


def test_a_creation_a_change_and_a_deletion_are_recorded_with_their_fields(org):
    hr = org.users["hr"]
    member = Member.objects.create(display_name="新人", employee_number="E9", hire_date=dt.date(2026, 8, 3))
    created = change_record(actor=hr, area=ChangeArea.ORGANISATION, target=member,
                            after=fields_snapshot(instance=member, fields=FIELDS))  # fmt: skip
    assert created.action == ChangeAction.CREATED and created.object_type == "teams.member"
    assert created.changes["hire_date"] == [None, "2026-08-03"] and "leave_date" not in created.changes  # None → None
    before = fields_snapshot(instance=member, fields=FIELDS)
    member.leave_date, member.active = dt.date(2026, 9, 30), False
    changed = change_record(actor=hr, area=ChangeArea.ORGANISATION, target=member, before=before,
                            after=fields_snapshot(instance=member, fields=FIELDS), reason="辞职")  # fmt: skip
    assert changed.changes == {"leave_date": [None, "2026-09-30"], "active": [True, False]}
    assert changed.reason == "辞职" and changed.actor == hr
    # Nothing that differs: nothing recorded.
    same = fields_snapshot(instance=member, fields=FIELDS)
    assert change_record(actor=hr, area=ChangeArea.ORGANISATION, target=member, before=same, after=same) is None
    deleted = change_record(actor=hr, area=ChangeArea.ORGANISATION, target=member, before=same)
    member.delete()
    assert deleted.action == ChangeAction.DELETED and deleted.label == "新人" and ChangeRecord.objects.count() == 3


def test_a_related_object_is_kept_with_its_name_then(org):
    team = org.x
    snapshot = fields_snapshot(instance=team, fields=("name", "kind", "lead", "store"))
    assert snapshot["lead"] == {"id": org.lead_x.pk, "text": "Lead 赵"} and snapshot["kind"] == TeamKind.PRESALES


def test_assigning_an_account_records_the_end_of_the_old_holder_and_the_new_one(org):
    manager = org.users["manager_s1"]
    account_assign(account=org.account_a, member=org.b, start_date=dt.date(2026, 8, 10), actor=manager)
    ended, started = ChangeRecord.objects.order_by("pk")
    assert (ended.action, started.action) == (ChangeAction.CHANGED, ChangeAction.CREATED)
    assert ended.changes == {"end_date": [None, "2026-08-09"]} and ended.store == org.s1 == started.store
    assert started.changes["member"] == [None, {"id": org.b.pk, "text": "Bob 李"}]
    assert {ended.actor, started.actor} == {manager} and ended.area == ChangeArea.ORGANISATION


def _records(org):
    """A member's leave in S1 (by HR, with a reason) and an account assigned in S2 (by its manager)."""
    hr = org.users["hr"]
    before = fields_snapshot(instance=org.a, fields=FIELDS)
    org.a.leave_date = dt.date(2026, 9, 30)
    change_record(actor=hr, area=ChangeArea.ORGANISATION, target=org.a, before=before,
                  after=fields_snapshot(instance=org.a, fields=FIELDS), store=org.s1, reason="合同到期")  # fmt: skip
    newcomer = Member.objects.create(display_name="Eve 周")
    TeamMembershipFactory(member=newcomer, team=org.z)
    account_assign(account=org.unassigned_s2, member=newcomer, start_date=dt.date(2026, 8, 1),
                   actor=org.users["manager_s2"])  # fmt: skip


def test_hr_reads_the_changes_in_their_language_and_filters_them(org, client_for):
    _records(org)
    hr = client_for(org.users["hr"])
    english = hr.get(reverse("teams:change_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Leave date: — → " in english and "合同到期" in english and "Member: — → Eve 周" in english
    chinese = hr.get(reverse("teams:change_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "离职日期" in chinese and "Leave date" not in chinese
    in_s1 = hr.get(reverse("teams:change_list"), {"store": org.s1.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert [row["record"].label for row in in_s1.context["rows"]] == ["Alice 王"]
    by_manager = hr.get(reverse("teams:change_list"), {"actor": org.users["manager_s2"].pk})
    assert {row["record"].actor for row in by_manager.context["rows"]} == {org.users["manager_s2"]}
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert hr.get(reverse("teams:change_list"), {"start": tomorrow}).context["rows"] == []
    assert len(hr.get(reverse("teams:change_list"), {"q": "合同"}).context["rows"]) == 1


def test_the_change_log_downloads_one_line_per_field_changed(org, client_for):
    _records(org)
    response = client_for(org.users["admin"]).get(reverse("teams:change_list"), {"export": "csv", "store": org.s1.pk},
                                                  HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["When", "Who", "Area"]
    assert [(r[5], r[7], r[8], r[10]) for r in rows[1:]] == [("Alice 王", "Leave date", "—", "合同到期")]


@pytest.mark.parametrize("who", ["staff_a", "lead_x", "manager_s1"])
def test_only_hr_and_administrators_read_the_change_log(org, client_for, who):
    _records(org)
    assert client_for(org.users[who]).get(reverse("teams:change_list")).status_code == 403


def test_the_nightly_departures_are_in_the_change_log_by_the_system(org):
    from teams.models import AccountAssignment, TeamMembership
    from teams.services.members import members_deactivate_departed
    from tests.factories import AccountAssignmentFactory, MemberFactory

    leaver = MemberFactory(display_name="离职者", leave_date=dt.date(2026, 5, 31))
    TeamMembershipFactory(member=leaver, team=org.x, start_date=dt.date(2026, 1, 1))
    AccountAssignmentFactory(member=leaver, start_date=dt.date(2026, 1, 1))
    MemberFactory(display_name="明天离职", leave_date=dt.date(2026, 6, 1))  # still working on 1 June
    assert members_deactivate_departed(today=dt.date(2026, 6, 1)) == 1

    records = {record.object_type: record for record in ChangeRecord.objects.all()}
    assert set(records) == {"teams.member", "teams.teammembership", "teams.accountassignment"}
    assert all(record.actor is None and record.action == ChangeAction.CHANGED for record in records.values())
    assert records["teams.member"].changes == {"active": [True, False]}
    assert records["teams.member"].label == "离职者" and records["teams.member"].store == org.x.store
    for model in (TeamMembership, AccountAssignment):
        row = model.objects.get(member=leaver)
        assert records[model._meta.label_lower].changes == {"end_date": [None, "2026-05-31"]}
        assert records[model._meta.label_lower].object_id == str(row.pk)
    # A second run changes nothing and records nothing.
    assert members_deactivate_departed(today=dt.date(2026, 6, 1)) == 0
    assert ChangeRecord.objects.count() == 3
