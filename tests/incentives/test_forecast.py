"""One forecast and one set of figures for pay (issue 18, point 4): My pay's "at this pace" is the
targets pages' forecast, counted over the same days, and the estimator starts from the data the
statement is computed from, so that unedited it gives the draft statement's total less the lines
it does not model (team PK, ranking awards, clawbacks)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from incentives import calc
from incentives.models import (
    CommissionTier,
    LineKind,
    Milestone,
    Modifier,
    Plan,
    PlanAssignment,
    RankingAward,
    Statement,
)
from incentives.selectors.estimate import estimate, estimate_prefill, month_so_far
from incentives.services.statements import statement_refresh
from metrics.dashboards.presenters import member_dashboard_get
from metrics.kpis.values import member_kpis_get
from metrics.models import Target
from metrics.targets.selectors import targets_progress
from perfmgmt.common.periods import Period
from perfmgmt.demo.incentives import DEMO_MILESTONES, DEMO_MODIFIERS, DEMO_PLAN, DEMO_RANKING, DEMO_TIERS
from reviews.models import Appraisal, AppraisalTemplate, Cycle, CycleState
from reviews.services.templates import appraisal_templates_ensure
from tests.incentives.test_views import sell

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
AUG_21 = dt.date(2026, 8, 21)  # the data end on the 20th: 20 of 31 days are complete


@pytest.fixture(autouse=True)
def _site_language_after():
    """The pages below are asked for in English: the language a request activates is left active,
    so the site's default is put back for the tests that follow."""
    yield
    translation.deactivate()


@pytest.fixture
def month(org, tmp_path):
    """August up to the 20th in S1, with the demo's plan for teams X and Y: A (team X) sells 2,000
    (200 of it refunded) to three of four inquiring buyers, B 300, C (team Y) 200; A's GMV target
    is 1,500 and A's August appraisal, still in self review, scores 62.61 (grade C)."""
    sell(org, tmp_path, [("a", "O-A1", 3, "1000.00"), ("a", "O-A2", 10, "600.00", "200.00"), ("a", "", 12, None),
                         ("a", "O-A3", 20, "400.00"), ("b", "O-B1", 5, "300.00"), ("c", "O-C1", 6, "200.00")],
         "aug")  # fmt: skip
    plan = Plan.objects.create(**DEMO_PLAN)
    for start, rate in DEMO_TIERS:
        CommissionTier.objects.create(plan=plan, from_completion=start, rate=rate)
    for key, comparison, threshold, times in DEMO_MODIFIERS:
        Modifier.objects.create(plan=plan, kpi_key=key, comparison=comparison, threshold=threshold, multiplier=times)
    for key, comparison, threshold, amount in DEMO_MILESTONES:
        Milestone.objects.create(plan=plan, kpi_key=key, comparison=comparison, threshold=threshold, amount=amount)
    RankingAward.objects.create(plan=plan, kpi_key=DEMO_RANKING[0], amounts=DEMO_RANKING[1])
    for team in (org.x, org.y):
        PlanAssignment.objects.create(plan=plan, team=team, start_date=dt.date(2026, 1, 1))
    target = Target.objects.create(tier="execution", name="A August GMV", kpi_key="gmv", store=org.s1, team=org.x,
                                   member=org.a, period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31),
                                   value=Decimal(1500), direction="at_least")  # fmt: skip
    appraisal_templates_ensure()
    cycle = Cycle.objects.create(store=org.s1, team=org.x, month=AUGUST, state=CycleState.SELF_REVIEW,
                                 template=AppraisalTemplate.objects.order_by("pk").first())  # fmt: skip
    Appraisal.objects.create(cycle=cycle, member=org.a, total=Decimal("62.61"), grade="C")
    return plan, target


def test_the_unedited_estimate_is_the_draft_statement_less_what_it_does_not_model(org, month):
    plan, _target = month
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    prefill = estimate_prefill(member=org.a, store=org.s1, plan=plan, today=AUG_21)
    # The statement's inputs: GMV 2,000, of which 200 refunded (commission on 1,800), conversion
    # 3 / 4, GMV target 1,500, grade C of the month's appraisal in progress.
    inputs = prefill.inputs
    assert (inputs["gmv"], inputs["refunds"], inputs["target"]) == (Decimal("2000.00"), Decimal("200.00"), 1500)
    assert inputs["conversion"] == Decimal("0.75") and inputs["appraisal_grade"] == "C"
    result = estimate(plan=plan, **inputs)
    by_kind = {kind: sum(line.amount for line in statement.lines.filter(kind=kind)) for kind in LineKind.values}
    estimated = {kind: sum(line.amount for line in result.lines if line.kind == kind) for kind in LineKind.values}
    for kind in (LineKind.BASE, LineKind.PERFORMANCE, LineKind.COMMISSION, LineKind.MODIFIER, LineKind.MILESTONE):
        assert estimated[kind] == by_kind[kind], kind
    assert by_kind[LineKind.PERFORMANCE] == Decimal("1600.00")  # 2,000 × 0.8
    # What is left out: A's team won the PK weeks and A ranks first in it (800).
    assert dict(prefill.left_out) == {LineKind.PK: by_kind[LineKind.PK], LineKind.RANKING: Decimal("800.00")}
    assert by_kind[LineKind.PK] > 0
    assert result.total + prefill.left_out_total == statement.total


def test_my_pay_prefills_the_statements_figures_and_says_what_it_leaves_out(org, month, client_for, monkeypatch):
    plan, _target = month
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    monkeypatch.setattr("incentives.views.store_today", lambda store, now=None: AUG_21)
    page = client_for(org.users["staff_a"]).get(reverse("incentives:mine"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.context["plan"] == plan
    assert page.context["estimate"].total + page.context["left_out_total"] == statement.total
    form = page.context["form"]
    assert form["conversion"].value() == "75" and form["refunds"].value() == Decimal("200.00")
    html = page.content.decode()
    assert 'data-testid="left-out"' in html and "Ranking award ¥800.00" in html
    # Sent back unchanged (the form's numbers), the estimate is the same.
    sent = {name: form[name].value() for name in ("gmv", "refunds", "conversion", "target", "refund_rate", "grade")}
    again = client_for(org.users["staff_a"]).get(reverse("incentives:mine"), {k: v for k, v in sent.items() if v})
    assert again.context["estimate"].total == page.context["estimate"].total


def test_the_personal_pages_estimator_is_prefilled_with_the_months_conversion(org, month, client_for, monkeypatch):
    monkeypatch.setattr("metrics.dashboards.pages.store_today", lambda store, now=None: AUG_21)
    html = client_for(org.users["staff_a"]).get("/dashboard/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = html[html.index('data-testid="estimator"') : html.index('data-testid="my-badges"')]
    assert 'name="conversion"' in form and 'value="75"' in form and 'value="2000' in form


@pytest.mark.parametrize("today, counted", [(AUG_21, 20), (dt.date(2026, 8, 20), 19)])
def test_my_pay_forecasts_the_month_as_the_targets_pages_do(org, month, today, counted):
    _plan, target = month
    so_far = month_so_far(member=org.a, store=org.s1, today=today)
    progress = targets_progress([target], today=today)[target.pk]
    row = next(
        t
        for t in member_dashboard_get(member=org.a, today=today, period=Period(AUGUST, today), day_link=str).targets
        if t.target_id == target.pk
    )
    # On the 20th its own orders are in the figures but not yet in the pace: 19 of 31 days.
    assert so_far.days == progress.days_counted == row.days_counted == counted and so_far.days_in_month == 31
    assert so_far.gmv == progress.actual == Decimal("2000.00")
    assert progress.forecast == row.forecast and so_far.projected_gmv == progress.forecast.quantize(Decimal("0.01"))
    if today == AUG_21:  # 2,000 over 20 days, at an even pace over 31
        assert so_far.projected_gmv == Decimal("3100.00")
    else:  # 1,600 in the 19 complete days: 2,610.53 at the month's end
        assert so_far.projected_gmv == (Decimal(1600) * 31 / 19).quantize(Decimal("0.01"))


def test_a_statement_of_another_store_or_month_is_not_left_out(org, month):
    plan, _target = month
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert Statement.objects.filter(member=org.a).count() == 1
    september = estimate_prefill(member=org.a, store=org.s1, plan=plan, today=dt.date(2026, 9, 2))
    assert september.left_out == [] and september.so_far.gmv == Decimal("0.00")


def test_the_estimate_reads_the_months_figures_through_the_statements_reader(org, month, tmp_path, monkeypatch):
    """The estimator's month (month_so_far) and the statement read the member's KPIs through one
    function, metrics.kpis.values.member_kpis_get, over the same member, store and month: A's
    sales on 31 July and 1 September count in neither."""
    sell(org, tmp_path, [("a", "O-A-JUL", 31, "700.00"), ("a", "", 30, None)], "jul", month=7)
    sell(org, tmp_path, [("a", "O-A-SEP", 1, "900.00"), ("a", "", 1, None)], "sep", month=9)
    calls = []

    def reader(**kwargs):
        calls.append(kwargs)
        return member_kpis_get(**kwargs)

    monkeypatch.setattr("incentives.selectors.estimate.member_kpis_get", reader)
    so_far = month_so_far(member=org.a, store=org.s1, today=dt.date(2026, 8, 31))
    end = dt.date(2026, 8, 31)
    # The month's figures (then the complete days' for the pace: to the 30th).
    assert calls[0] == {"member_id": org.a.pk, "store_id": org.s1.pk, "start": AUGUST, "end": end}
    kpis = member_kpis_get(member_id=org.a.pk, store_id=org.s1.pk, start=AUGUST, end=end)  # the statement's reader
    assert so_far.gmv == calc.money(Decimal(kpis["gmv"])) == Decimal("2000.00")  # not July's 700 nor September's 900
    assert so_far.refunds == calc.money(Decimal(kpis["refund_amount"])) == Decimal("200.00")
    assert so_far.conversion == calc.decimal_or_none(kpis["inquiry_to_payment_rate"]) == Decimal("0.75")
    assert so_far.refund_rate == calc.decimal_or_none(kpis["refund_order_rate"])
    assert (so_far.connected_calls, so_far.talk_seconds) == (int(kpis["connected_dials"]), int(kpis["talk_time"]))
    assert so_far.won == calc.money(Decimal(kpis["won_amount"]))
    # The statement of the same month asks the same reader the same question.
    monkeypatch.setattr("incentives.services.statement_lines.member_kpis_get", reader)
    asked = len(calls)
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert calls[asked:] == calls[:1]
