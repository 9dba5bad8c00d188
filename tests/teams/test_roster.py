"""The roster service (teams.services.roster) on its own: account cells, a check that writes
nothing, one announcement of the changed store-days, and the change log written in bulk."""

import datetime as dt

import pytest

from teams.models import ChangeAction, ChangeArea, ChangeRecord, Member, TeamMembership
from teams.services.changes import change_record_build, change_records_create, fields_snapshot
from teams.services.history import StoreDays
from teams.services.roster import RosterProblem, RosterRow, roster_accounts_split, roster_apply
from teams.signals import history_changed

pytestmark = pytest.mark.django_db
D = dt.date
COLUMNS = {"accounts", "leave_date", "leader", "move_date"}


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("衣衣风尚:客服01、衣衣风尚:客服02", ("衣衣风尚:客服01", "衣衣风尚:客服02")),
        ("a，b,c;d；e f\u3000g", ("a", "b", "c", "d", "e", "f", "g")),
        (" a ,, a 、", ("a",)),
        ("", ()),
        (None, ()),
    ],
)
def test_an_accounts_cell_splits_on_every_separator_hr_sheets_use(cell, names):
    assert roster_accounts_split(text=cell) == names


def _row(line, number, name, store, team, accounts, **extra) -> RosterRow:
    return RosterRow(line=line, store_id=store.pk, employee_number=number, name=name, team=team,
                     hire_date=extra.pop("hire_date", D(2026, 7, 1)), accounts=accounts, **extra)  # fmt: skip


@pytest.fixture
def announced():
    """What history_changed announced: one tuple of store-days per announcement."""
    heard = []

    def receive(sender, **kwargs):
        heard.append(tuple(kwargs["spans"]))

    history_changed.connect(receive, dispatch_uid="test_roster")
    yield heard
    history_changed.disconnect(dispatch_uid="test_roster")


def test_a_check_writes_nothing_and_reports_every_row(org, announced):
    rows = [
        _row(2, "N1", "新人", org.s1, "新组", f"{org.account_a.name}"),  # Alice holds it
        _row(3, "N2", "新人二", org.s1, "新组", "", leave_date=D(2026, 6, 1)),
    ]
    outcome = roster_apply(rows=rows, columns=COLUMNS, check_only=True)
    assert [(e.line, e.problem) for e in outcome.errors] == [
        (2, RosterProblem.ACCOUNT_HELD),
        (3, RosterProblem.LEAVE_BEFORE_HIRE),
    ]
    assert outcome.errors[0].params == {"account": org.account_a.name, "member": "Alice 王", "start": "2025-01-01"}
    assert not outcome.written and not Member.objects.filter(employee_number__in=["N1", "N2"]).exists()
    assert announced == [] and not ChangeRecord.objects.exists()


def test_one_announcement_for_the_whole_roster(org, announced):
    """Alice moves to Y and Bob's account passes to Carol, both from 10 August: one announcement,
    one span per store, from the earliest day changed."""
    rows = [
        _row(2, org.a.employee_number, org.a.display_name, org.s1, org.y.name, org.account_a.name,
             move_date=D(2026, 8, 10), hire_date=D(2025, 1, 1)),
        _row(3, org.b.employee_number, org.b.display_name, org.s1, org.x.name, "", move_date=D(2026, 8, 10),
             hire_date=D(2025, 1, 1)),
        _row(4, org.c.employee_number, org.c.display_name, org.s1, org.y.name,
             f"{org.account_c.name} {org.account_b.name}", move_date=D(2026, 8, 10), hire_date=D(2025, 1, 1)),
    ]  # fmt: skip
    outcome = roster_apply(rows=rows, columns=COLUMNS, actor=org.users["admin"])
    assert (outcome.inserted, outcome.updated, outcome.unchanged, outcome.errors) == (0, 3, 0, [])
    assert announced == [(StoreDays(org.s1.pk, D(2026, 8, 10), None, recredit=True),)]
    assert list(TeamMembership.objects.filter(member=org.a).values_list("team__name", "end_date")) == [
        (org.x.name, D(2026, 8, 9)),
        (org.y.name, None),
    ]
    # Each change recorded once, by the importer: Alice's membership ended and begun, Bob's
    # account ended, Carol's begun (the members' hire dates were already those).
    records = ChangeRecord.objects.order_by("pk")
    assert {(r.object_type, r.action) for r in records} == {
        ("teams.teammembership", ChangeAction.CHANGED),
        ("teams.teammembership", ChangeAction.CREATED),
        ("teams.accountassignment", ChangeAction.CHANGED),
        ("teams.accountassignment", ChangeAction.CREATED),
    }
    assert records.count() == 4 and {r.actor for r in records} == {org.users["admin"]}


def test_records_built_for_many_objects_are_written_in_one_go(org, django_assert_num_queries):
    before = fields_snapshot(instance=org.c, fields=("display_name", "hire_date"))
    org.c.display_name = "Carol 张三"
    built = [
        change_record_build(actor=org.users["hr"], area=ChangeArea.ORGANISATION, target=org.c, before=before,
                            after=fields_snapshot(instance=org.c, fields=("display_name", "hire_date"))),
        change_record_build(actor=org.users["hr"], area=ChangeArea.ORGANISATION, target=org.d, before=before,
                            after=before),  # nothing differs: None
    ]  # fmt: skip
    assert built[1] is None
    with django_assert_num_queries(1):
        written = change_records_create(records=built)
    assert [r.changes for r in written] == [{"display_name": ["Carol 张", "Carol 张三"]}]
    assert ChangeRecord.objects.get().at is not None
