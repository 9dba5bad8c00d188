"""Statements follow the data: after an import's KPIs, a range, nightly or full recompute, or a
change of who held an account, the month's draft statements are recomputed, an approved one gets
a proposed adjustment and a locked one is left untouched; once per rebuild, after it, and nothing
for a month without statements."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from incentives.models import Plan, PlanAssignment, Statement, StatementState
from incentives.services.statements import (
    statement_approve,
    statement_lock,
    statement_refresh,
    statements_follow_data,
)
from metrics.models import ImportBatch, Order
from teams.selectors.scoping import viewer_get
from teams.services.accounts import account_assign
from tests.reviews.test_cycles import sell

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)


@pytest.fixture
def statements(org, tmp_path):
    """August, 2% commission for teams X and Y: A sells 3 × 300 (draft), B 100 (approved), C
    2 × 50 (approved and locked)."""
    sell(org, tmp_path, [("a", 3, "300.00"), ("a", 10, "300.00"), ("a", 20, "300.00"), ("b", 5, "100.00"),
                         ("c", 6, "50.00"), ("c", 7, "50.00")])  # fmt: skip
    plan = Plan.objects.create(name="CS", commission_mode="flat", flat_rate=Decimal("0.02"))
    for team in (org.x, org.y):
        PlanAssignment.objects.create(plan=plan, team=team, start_date=dt.date(2026, 1, 1))
    manager, hr = (viewer_get(user=org.users[name]) for name in ("manager_s1", "hr"))
    made = {key: statement_refresh(member=getattr(org, key), store=org.s1, month=AUGUST) for key in "abc"}
    for key in "bc":
        statement_approve(viewer=manager, user=None, statement=made[key])
    statement_lock(viewer=hr, user=None, statement=made["c"])
    return made


def commission(statement: Statement) -> Decimal:
    return statement.lines.get(kind="commission").amount


def test_an_assignment_from_a_past_day_recomputes_the_members_draft(org, statements, tmp_path, task_queue,
                                                                     django_capture_on_commit_callbacks):  # fmt: skip
    org.account_u = org.unassigned_s1
    sell(org, tmp_path, [("u", 4, "400.00"), ("u", 12, "500.00")], tag="u")  # nobody's account yet
    locked = Statement.objects.get(pk=statements["c"].pk)
    assert commission(statements["a"]) == Decimal("18.00")
    with django_capture_on_commit_callbacks(execute=True):
        account_assign(account=org.unassigned_s1, member=org.a, start_date=dt.date(2026, 8, 10))
    assert sorted(task_queue.run_all()) == [
        "appraisals_follow_data_task", "dashboards_warm_task", "kpis_recompute_range_task",
        "statements_follow_data_task",
    ]  # fmt: skip
    draft = Statement.objects.get(pk=statements["a"].pk)
    # The 12th's 500 is A's now (not the 4th's 400): 1,400 × 2%.
    assert draft.state == StatementState.DRAFT and commission(draft) == Decimal("28.00")
    assert draft.total == Decimal("28.00") and draft.proposed_total is None
    # B's figures did not move: nothing proposed; C's locked statement not even recomputed.
    approved = Statement.objects.get(pk=statements["b"].pk)
    assert approved.proposed_total is None and approved.total == Decimal("2.00")
    after = Statement.objects.get(pk=locked.pk)
    assert (after.total, after.proposed_total, after.computed_at) == (locked.total, None, locked.computed_at)


def test_an_import_recomputes_the_drafts_once_proposes_to_the_approved_and_leaves_the_locked(
    org, statements, tmp_path, task_queue, monkeypatch, django_capture_on_commit_callbacks
):
    from metrics import tasks

    locked = Statement.objects.get(pk=statements["c"].pk)
    monkeypatch.setattr(tasks, "chain", lambda *steps: type("Chain", (), {"delay": lambda self: None})())
    with django_capture_on_commit_callbacks(execute=True):
        # B and C sell more in August; A's customers refund nothing. Imported, not yet recomputed.
        sell(org, tmp_path, [("b", 25, "400.00"), ("c", 26, "600.00")], tag="late")
    # One refresh of the month per import batch (chats, then orders), whatever its partitions: the
    # appraisals first, then (queued by them) the statements.
    assert task_queue.of("appraisals_follow_data_task") == [(org.s1.pk, ["2026-08-01"])] * 2
    task_queue.calls.clear()
    batch = ImportBatch.objects.filter(kind="orders").latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.kpis_after_import_task(batch.pk)  # the import's KPI task: one refresh, not one per step
    assert task_queue.of("appraisals_follow_data_task") == [(org.s1.pk, ["2026-08-01"])]
    assert task_queue.run_all() == ["appraisals_follow_data_task", "statements_follow_data_task"]
    approved = Statement.objects.get(pk=statements["b"].pk)
    assert approved.state == StatementState.APPROVED and approved.total == Decimal("2.00")
    assert approved.proposed_total == Decimal("10.00") and commission(approved) == Decimal("2.00")  # lines kept
    after = Statement.objects.get(pk=locked.pk)
    assert (after.total, after.proposed_total, after.computed_at) == (locked.total, None, locked.computed_at)


def test_a_recompute_by_command_nightly_task_or_full_fan_out_recomputes_the_drafts(org, statements, task_queue,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    from metrics.tasks import kpis_partition_task, kpis_recompute_range_task

    # A late refund of 100 on A's order of the 10th, seen by a re-export's nightly recompute.
    Order.objects.filter(credited_member_id=org.a.pk, created_date=dt.date(2026, 8, 10)).update(refund_cents=10000)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recompute_kpis", "--start", "2026-08-01", "--end", "2026-08-31")
    # Both stores' appraisals follow; only the first has statements to follow them.
    assert sorted(task_queue.run_all()) == [
        "appraisals_follow_data_task", "appraisals_follow_data_task", "statements_follow_data_task"
    ]  # fmt: skip
    assert commission(Statement.objects.get(pk=statements["a"].pk)) == Decimal("16.00")  # (900 - 100) × 2%

    Order.objects.filter(credited_member_id=org.a.pk, created_date=dt.date(2026, 8, 10)).update(refund_cents=20000)
    with django_capture_on_commit_callbacks(execute=True):
        kpis_recompute_range_task(org.s1.pk, "2026-08-01", "2026-08-31")  # what the nightly job queues per store
    assert sorted(task_queue.run_all()) == [
        "appraisals_follow_data_task", "dashboards_warm_task", "statements_follow_data_task"
    ]  # fmt: skip
    assert commission(Statement.objects.get(pk=statements["a"].pk)) == Decimal("14.00")

    Order.objects.filter(credited_member_id=org.a.pk, created_date=dt.date(2026, 8, 10)).update(refund_cents=30000)
    with django_capture_on_commit_callbacks(execute=True):  # a full recompute's month, after its attribution
        kpis_partition_task(None, org.s1.pk, "2026-08-01", "2026-08-31")
    assert task_queue.of("appraisals_follow_data_task") == [(org.s1.pk, ["2026-08-01"])]
    assert task_queue.run_all() == ["appraisals_follow_data_task", "statements_follow_data_task"]
    assert commission(Statement.objects.get(pk=statements["a"].pk)) == Decimal("12.00")


def test_a_month_without_open_statements_queues_nothing(org, statements, tmp_path, task_queue,
                                                        django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        sell(org, tmp_path, [("a", 3, "1.00")], tag="more")  # a day of August, which has statements
    assert task_queue.run_all().count("statements_follow_data_task") == 2
    Statement.objects.exclude(state=StatementState.LOCKED).delete()
    with django_capture_on_commit_callbacks(execute=True):
        sell(org, tmp_path, [("a", 4, "1.00")], tag="again")  # only a locked statement left
    assert "statements_follow_data_task" not in task_queue.run_all()
    assert statements_follow_data(store=org.s1, month=dt.date(2026, 9, 1)) == []  # nothing, at once
