"""Performance pay follows the appraisal (issue 18, point 1): no grade while KPI items lack data
and HR has not decided, so no grade pay; the statement and the estimator say why, distinctly from
"no appraisal yet". August 2026 as in tests/reviews/test_insufficient_data.py: the lead's account
was active in July only."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from incentives.models import LineKind, Plan, PlanAssignment
from incentives.selectors.estimate import estimate
from incentives.services.statements import statement_refresh
from reviews.models import CycleState, DecisionKind, Item
from reviews.services.cycles import cycle_advance, cycle_create, item_decision_set, rating_set
from teams.selectors.scoping import viewer_get
from tests.reviews.helpers import august_without_data_for_the_lead, small_template

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
COEFFICIENTS = {"S": 1.5, "A": 1.2, "B": 1.0, "C": 0.8, "D": 0.5}


@pytest.fixture
def plan(org, tmp_path) -> Plan:
    august_without_data_for_the_lead(org, tmp_path)
    plan = Plan.objects.create(name="CS", base_salary=Decimal(3000), performance_pay=Decimal(2000),
                               grade_coefficients=COEFFICIENTS)  # fmt: skip
    PlanAssignment.objects.create(plan=plan, team=org.x, start_date=dt.date(2026, 1, 1))
    return plan


def open_reviewed_cycle(org, month=AUGUST):
    """The month's cycle in manager review, every member rated 5 by the manager (attitude 100)."""
    hr, manager = org.users["hr"], org.users["manager_s1"]
    cycle = cycle_create(viewer=viewer_get(user=hr), user=hr, store=org.s1, team=org.x, month=month,
                         template=small_template())  # fmt: skip
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=cycle, to=state)
    rating = Item.objects.get(dimension__template=cycle.template, name_en="Responsibility")
    for appraisal in cycle.appraisals.all():
        rating_set(viewer=viewer_get(user=manager), user=manager, appraisal=appraisal, item=rating, role="manager",
                   score=5)  # fmt: skip
    return cycle


def performance(member, store, month=AUGUST):
    return statement_refresh(member=member, store=store, month=month).lines.get(kind=LineKind.PERFORMANCE)


def test_no_grade_pay_while_the_appraisal_waits_for_hr_and_the_statement_says_why(org, plan):
    assert performance(org.lead_x, org.s1).explanation == "2026-08 尚无考核：评分后再计算绩效工资。"  # none yet
    cycle = open_reviewed_cycle(org)
    line = performance(org.lead_x, org.s1)
    # Before: the rating alone gave the lead 100 points, an S, and 3,000.
    assert line.amount == Decimal("0.00")
    assert line.explanation.startswith("2026-08 的考核有 2 个指标项缺少数据，待人事决定")  # the site's language
    assert performance(org.a, org.s1).amount == Decimal("3000.00")  # A has data: 96 points, S
    hr = org.users["hr"]
    for name, kind, value in (("GMV", DecisionKind.VALUE, Decimal(500)), ("Paid orders rank", DecisionKind.EXCLUDE,
                                                                         None)):  # fmt: skip
        item_decision_set(viewer=viewer_get(user=hr), user=hr, appraisal=cycle.appraisals.get(member=org.lead_x),
                          item=Item.objects.get(dimension__template=cycle.template, name_en=name), kind=kind,
                          value=value, reason="Worked on the shop account")  # fmt: skip
    line = performance(org.lead_x, org.s1)  # 50 × 0.8 + 100 × 0.2 = 60: C
    assert line.amount == Decimal("1600.00") and "C" in line.explanation


def test_by_score_too(org, plan):
    plan.performance_by_score = True
    plan.save()
    open_reviewed_cycle(org)
    line = performance(org.lead_x, org.s1)
    assert line.amount == Decimal("0.00") and "待人事决定" in line.explanation


def test_the_estimator_follows(org, plan, client_for):
    pending = estimate(plan=plan, appraisal_pending=(AUGUST, 2))
    line = next(line for line in pending.lines if line.kind == LineKind.PERFORMANCE)
    assert line.amount == Decimal("0.00")
    assert "2 个指标项缺少数据" in line.explanation  # the active language (tests run in Chinese)
    # A grade typed in is a what-if: it is estimated.
    chosen = estimate(plan=plan, appraisal_grade="A", appraisal_pending=(AUGUST, 2))
    assert next(x for x in chosen.lines if x.kind == LineKind.PERFORMANCE).amount == Decimal("2400.00")
    # My pay: this month's appraisal of the lead waits for HR; the estimate says so, as the draft statement.
    this_month = timezone.localdate().replace(day=1)
    open_reviewed_cycle(org, month=this_month)
    client = client_for(org.users["lead_x"])
    response = client.get(reverse("incentives:mine"), HTTP_ACCEPT_LANGUAGE="en")
    estimated = next(x for x in response.context["estimate"].lines if x.kind == LineKind.PERFORMANCE)
    assert estimated.amount == Decimal("0.00") and "awaiting HR's decision" in estimated.explanation
    assert "awaiting HR&#x27;s decision" in response.content.decode()
    assert performance(org.lead_x, org.s1, this_month).amount == Decimal("0.00")


def test_data_that_arrive_later_score_the_appraisal_and_the_draft_pays_by_it(org, plan, tmp_path, task_queue,
                                                                             django_capture_on_commit_callbacks):  # fmt: skip
    """An account assigned from a past day gives the lead August figures: once the store-days are
    rebuilt, the open cycle is scored again (the items had no data) and then the draft statement
    follows it, in that order, with no button pressed."""
    from reviews.models import Appraisal
    from teams.services.accounts import account_assign
    from tests.factories import PlatformAccountFactory
    from tests.reviews.helpers import chats_and_orders

    org.account_new = PlatformAccountFactory(store=org.s1, name=f"{org.s1.name}:客服新")
    chats_and_orders(org, tmp_path, [("new", dt.datetime(2026, 8, 5, 10, tzinfo=dt.UTC), "800.00")], tag="late")
    open_reviewed_cycle(org)
    assert performance(org.lead_x, org.s1).amount == Decimal("0.00")  # a draft, waiting for HR
    with django_capture_on_commit_callbacks(execute=True):
        account_assign(account=org.account_new, member=org.lead_x, start_date=AUGUST)
    ran = task_queue.run_all()
    assert ran.index("appraisals_follow_data_task") < ran.index("statements_follow_data_task")
    appraisal = Appraisal.objects.get(member=org.lead_x, cycle__month=AUGUST)
    assert appraisal.total is not None and appraisal.grade
    line = PlanAssignment.objects.get().plan.statements.get(member=org.lead_x).lines.get(kind=LineKind.PERFORMANCE)
    assert line.amount > 0 and appraisal.grade in line.explanation
