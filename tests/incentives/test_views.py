"""The pay pages: who sees which statement, who approves and locks, recomputing a store's month,
the statement page with its lines and orders, the what-if estimator's numbers by hand, plans."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from incentives.models import (
    CommissionTier,
    LineKind,
    Milestone,
    Modifier,
    Plan,
    PlanAssignment,
    Statement,
    StatementLine,
    StatementState,
)
from incentives.selectors.estimate import estimate
from incentives.services.statements import statement_approve, statements_refresh
from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from metrics.models import Target
from teams.selectors.scoping import viewer_get
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
TIERS = (("0", "0.015"), ("1.0", "0.025"), ("1.5", "0.03"))


def sell(org, tmp_path, sales: list[tuple], tag: str, *, month: int = 8) -> None:
    """(account key, order id, day of August (or of `month` in 2026), amount[, refund]): a chat and
    its paid order, through the importers; an amount of None: a chat without an order."""
    chats, orders = [], []
    for n, (key, order_id, day, amount, *refund) in enumerate(sales):
        account = getattr(org, f"account_{key}")
        store = account.store.name
        at = dt.datetime(2026, month, day, 10, 0)
        buyer = f"{tag}-{key}{day}-{n}"
        chats.append(f"S{tag}{n},{store},{account.name},{buyer},{at:%Y-%m-%d %H:%M:%S},"
                     f"{at + dt.timedelta(seconds=15):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
        if amount is None:
            continue
        created = at + dt.timedelta(minutes=20)
        orders.append(f"{order_id},{buyer},{amount},{amount},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                      f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,{(refund or ['0.00'])[0]},{store}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        batch = importer(store=None, file=write(tmp_path / f"{tag}{header[:2]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", batch.error_message
        kpis_after_import(batch=batch)


def tiered_plan(name="阶梯方案", *, mode="marginal", base_salary=D(3000), **fields) -> Plan:
    plan = Plan.objects.create(name=name, base_salary=base_salary, commission_mode="tiered", tier_mode=mode, **fields)
    for start, rate in TIERS:
        CommissionTier.objects.create(plan=plan, from_completion=D(start), rate=D(rate))
    return plan


@pytest.fixture
def pay(org, tmp_path):
    """August: A sold 3 orders (O-A1..3: 1,000 + 500 + 300), B one (O-B1: 200), C one (O-C1: 400) in
    S1; D one (O-D1: 600) in S2. One marginal tiered plan for every team; A's GMV target 1,000."""
    sell(org, tmp_path, [("a", "O-A1", 3, "1000.00"), ("a", "O-A2", 10, "500.00"), ("a", "O-A3", 20, "300.00"),
                         ("b", "O-B1", 5, "200.00"), ("c", "O-C1", 6, "400.00"), ("d", "O-D1", 7, "600.00")],
         "aug")  # fmt: skip
    plan = tiered_plan()
    for team in (org.x, org.y, org.z):
        PlanAssignment.objects.create(plan=plan, team=team, start_date=dt.date(2020, 1, 1))
    Target.objects.create(tier="execution", name="8月销售额", kpi_key="gmv", store=org.s1, team=org.x, member=org.a,
                          period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31), value=D(1000),
                          direction="at_least")  # fmt: skip
    statements_refresh(store=org.s1, month=AUGUST)
    statements_refresh(store=org.s2, month=AUGUST)
    return plan


def statement_of(member) -> Statement:
    return Statement.objects.get(member=member, month=AUGUST)


def shown_ids(response) -> set[int]:
    return {row.statement.pk for row in response.context["page"].object_list}


# --- who sees what ------------------------------------------------------------------------------


def test_staff_see_only_their_own_statement(org, pay, client_for):
    client = client_for(org.users["staff_a"])
    response = client.get(reverse("incentives:statements"))
    assert response.status_code == 302 and response.url == reverse("incentives:mine")

    mine = client.get(reverse("incentives:mine"))
    assert mine.status_code == 200
    assert [s.member_id for s in mine.context["page"].object_list] == [org.a.pk]
    assert f'data-statement="{statement_of(org.a).pk}"' in mine.content.decode()

    assert client.get(reverse("incentives:statement", args=[statement_of(org.a).pk])).status_code == 200
    for other in (org.b, org.c, org.d):
        assert client.get(reverse("incentives:statement", args=[statement_of(other).pk])).status_code == 404
    # Nor can they act on someone else's.
    assert client.post(reverse("incentives:approve", args=[statement_of(org.b).pk])).status_code == 404
    assert statement_of(org.b).state == StatementState.DRAFT


def test_managers_leads_and_hr_see_their_scope_of_the_month(org, pay, client_for):
    a, b, c, d, lead = (statement_of(m).pk for m in (org.a, org.b, org.c, org.d, org.lead_x))
    url = reverse("incentives:statements") + "?month=2026-08"
    assert shown_ids(client_for(org.users["manager_s1"]).get(url)) == {a, b, c, lead}
    assert shown_ids(client_for(org.users["manager_s2"]).get(url)) == {d}
    assert shown_ids(client_for(org.users["lead_x"]).get(url)) == {a, b, lead}  # team X only, not C of Y
    hr = client_for(org.users["hr"])
    assert shown_ids(hr.get(url)) == {a, b, c, d, lead}
    assert shown_ids(hr.get(url + f"&store={org.s2.pk}")) == {d}
    assert shown_ids(hr.get(url + f"&team={org.y.pk}")) == {c}
    # The default month is last month.
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert hr.get(reverse("incentives:statements")).context["month"] == last_month


def test_the_export_button_links_to_the_month_and_store(org, pay, client_for):
    html = client_for(org.users["manager_s1"]).get(reverse("incentives:statements") + "?month=2026-08").content.decode()
    assert f"{reverse('incentives:export')}?month=2026-08&amp;store={org.s1.pk}" in html


# --- approve, lock, in bulk ---------------------------------------------------------------------


def test_a_manager_approves_only_their_stores_statements(org, pay, client_for):
    manager = client_for(org.users["manager_s1"])
    response = manager.post(reverse("incentives:approve", args=[statement_of(org.a).pk]), follow=True)
    assert statement_of(org.a).state == StatementState.APPROVED
    assert statement_of(org.a).approved_by == org.users["manager_s1"]
    assert any("approved" in str(m).lower() or "批准" in str(m) for m in response.context["messages"])
    # Another store's statement: not found, unchanged.
    assert manager.post(reverse("incentives:approve", args=[statement_of(org.d).pk])).status_code == 404
    assert statement_of(org.d).state == StatementState.DRAFT


def test_a_team_lead_sees_but_does_not_approve(org, pay, client_for):
    lead = client_for(org.users["lead_x"])
    page = lead.get(reverse("incentives:statement", args=[statement_of(org.a).pk]))
    assert page.status_code == 200 and not page.context["can_approve"]
    lead.post(reverse("incentives:approve", args=[statement_of(org.a).pk]))
    assert statement_of(org.a).state == StatementState.DRAFT


def test_hr_locks_an_approved_statement_but_not_a_draft(org, pay, client_for):
    statement_approve(viewer=viewer_get(user=org.users["manager_s1"]), user=org.users["manager_s1"],
                      statement=statement_of(org.a))  # fmt: skip
    manager = client_for(org.users["manager_s1"])
    manager.post(reverse("incentives:lock", args=[statement_of(org.a).pk]))
    assert statement_of(org.a).state == StatementState.APPROVED  # managers do not lock

    hr = client_for(org.users["hr"])
    page = hr.get(reverse("incentives:statement", args=[statement_of(org.a).pk]))
    assert page.context["can_lock"] and not page.context["can_approve"]
    hr.post(reverse("incentives:lock", args=[statement_of(org.a).pk]))
    assert statement_of(org.a).state == StatementState.LOCKED
    assert statement_of(org.a).commissioned_orders.count() == 3

    response = hr.post(reverse("incentives:lock", args=[statement_of(org.b).pk]), follow=True)
    assert statement_of(org.b).state == StatementState.DRAFT
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"


def test_a_statement_approved_and_locked_by_users_since_deleted_names_nobody(org, pay, client_for):
    """The approver and the locker are kept as users that may be deleted later (SET_NULL): the
    page names nobody (—) instead of failing (it answered 500)."""
    statement = statement_of(org.a)
    statement_approve(viewer=viewer_get(user=org.users["manager_s1"]), user=org.users["manager_s1"],
                      statement=statement)  # fmt: skip
    Statement.objects.filter(pk=statement.pk).update(approved_by=None, state=StatementState.LOCKED,
                                                     locked_at=statement.approved_at, locked_by=None)  # fmt: skip
    page = client_for(org.users["hr"]).get(reverse("incentives:statement", args=[statement.pk]),
                                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert page.status_code == 200
    html = page.content.decode()
    assert "approved by — on" in html and "locked by — on" in html


def test_bulk_approve_and_lock(org, pay, client_for):
    a, b, c, d = (statement_of(m).pk for m in (org.a, org.b, org.c, org.d))
    manager = client_for(org.users["manager_s1"])
    # A statement of another store among the ticked ones: nothing changes.
    manager.post(reverse("incentives:bulk"), {"action": "approve", "ids": [a, d]})
    assert Statement.objects.filter(state=StatementState.APPROVED).count() == 0
    response = manager.post(reverse("incentives:bulk"), {"action": "approve", "ids": [a, b], "next": "?month=2026-08"})
    assert response.url == reverse("incentives:statements") + "?month=2026-08"
    assert set(Statement.objects.filter(state=StatementState.APPROVED).values_list("pk", flat=True)) == {a, b}

    hr = client_for(org.users["hr"])
    hr.post(reverse("incentives:bulk"), {"action": "lock", "ids": [a, b, c]})  # C is still a draft
    assert set(Statement.objects.filter(state=StatementState.LOCKED).values_list("pk", flat=True)) == {a, b}
    assert statement_of(org.c).state == StatementState.DRAFT


# --- recompute ----------------------------------------------------------------------------------


def test_recompute_updates_drafts_and_proposes_adjustments_on_approved(org, pay, client_for, tmp_path):
    statement_approve(viewer=viewer_get(user=org.users["manager_s1"]), user=org.users["manager_s1"],
                      statement=statement_of(org.a))  # fmt: skip
    approved_total, b_total = statement_of(org.a).total, statement_of(org.b).total
    sell(org, tmp_path, [("a", "O-A4", 25, "1000.00"), ("b", "O-B2", 26, "1000.00")], "late")

    assert client_for(org.users["staff_a"]).post(reverse("incentives:recompute"),
                                                 {"store": org.s1.pk, "month": "2026-08"}).status_code == 403  # fmt: skip
    manager = client_for(org.users["manager_s1"])
    d_computed = statement_of(org.d).computed_at
    manager.post(reverse("incentives:recompute"), {"store": org.s2.pk, "month": "2026-08"})  # not their store
    assert statement_of(org.d).computed_at == d_computed

    manager.post(reverse("incentives:recompute"), {"store": org.s1.pk, "month": "2026-08"})
    assert statement_of(org.b).total == b_total + D("15.00")  # the draft follows: 1.5% of 1,000 more
    a = statement_of(org.a)
    assert a.total == approved_total and a.proposed_total is not None and a.proposed_total > approved_total

    page = manager.get(reverse("incentives:statement", args=[a.pk]))
    assert page.context["adjustment"].difference == a.proposed_total - approved_total
    assert 'data-testid="proposed-adjustment"' in page.content.decode()
    listing = manager.get(reverse("incentives:statements") + "?month=2026-08").content.decode()
    assert listing.count('data-testid="adjustment"') == 1


def test_hr_recomputes_any_store(org, pay, client_for):
    Statement.objects.filter(member=org.d).delete()
    client_for(org.users["hr"]).post(reverse("incentives:recompute"), {"store": org.s2.pk, "month": "2026-08"})
    assert statement_of(org.d).total > 0


# --- the statement page -------------------------------------------------------------------------


def test_the_statement_page_lists_every_line_and_the_orders_behind_it(org, pay, client_for):
    statement = statement_of(org.a)
    html = client_for(org.users["staff_a"]).get(reverse("incentives:statement", args=[statement.pk])).content.decode()
    lines = list(statement.lines.all())
    assert {line.kind for line in lines} >= {LineKind.BASE, LineKind.COMMISSION}
    for line in lines:
        assert escape(line.explanation) in html
    for order_id in ("O-A1", "O-A2", "O-A3"):
        assert f"<code>{order_id}</code>" in html
    assert "O-B1" not in html


def test_a_long_order_list_shows_the_first_50_and_a_count(org, pay, client_for):
    statement = statement_of(org.a)
    StatementLine.objects.create(statement=statement, order=99, kind=LineKind.PK, amount=D("10.00"),
                                 explanation="Weekly PK", order_ids=[f"P{n:03d}" for n in range(60)])  # fmt: skip
    response = client_for(org.users["hr"]).get(reverse("incentives:statement", args=[statement.pk]))
    html = response.content.decode()
    assert "<code>P049</code>" in html and "<code>P050</code>" not in html
    row = next(r for r in response.context["lines"] if r.line.kind == LineKind.PK)
    assert len(row.order_ids) == 50 and row.more_orders == 10


# --- the what-if estimator ----------------------------------------------------------------------


def test_the_estimator_by_hand_for_marginal_and_cumulative_tiers(db):
    marginal = tiered_plan()
    # Target 10,000, GMV 18,000: 10,000 × 1.5% + 5,000 × 2.5% + 3,000 × 3% = 150 + 125 + 90 = 365.
    result = estimate(plan=marginal, gmv=D(18000), conversion=None, target=D(10000))
    commission = next(line for line in result.lines if line.kind == LineKind.COMMISSION)
    assert commission.amount == D("365.00")
    assert [(p.rate, p.base, p.amount) for p in commission.parts] == [
        (D("0.015"), D("10000.00"), D("150.00")), (D("0.025"), D("5000.00"), D("125.00")),
        (D("0.03"), D("3000.00"), D("90.00")),
    ]  # fmt: skip
    assert result.completion == D("1.8") and result.total == D("3365.00")  # with the base salary of 3,000
    # Cumulative: the 150% tier's 3% on all of it.
    cumulative = tiered_plan("累计", mode="cumulative")
    assert estimate(plan=cumulative, gmv=D(18000), conversion=None, target=D(10000)).commission == D("540.00")
    # No target: the first tier on everything.
    assert estimate(plan=marginal, gmv=D(18000), conversion=None, target=None).commission == D("270.00")


def test_the_estimator_applies_cap_multipliers_milestones_and_the_grade(db):
    plan = tiered_plan(base_salary=D(0), performance_pay=D(2000), grade_coefficients={"A": 1.2, "C": 0.8},
                       commission_cap=D(300))  # fmt: skip
    Modifier.objects.create(plan=plan, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=D("0.4"),
                            multiplier=D("1.1"))  # fmt: skip
    Modifier.objects.create(plan=plan, kpi_key="refund_order_rate", comparison="gt", threshold=D("0.25"),
                            multiplier=D("0.8"))  # fmt: skip
    Milestone.objects.create(plan=plan, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=D("0.1"),
                             amount=D(500))  # fmt: skip
    Milestone.objects.create(plan=plan, kpi_key="response_rate", comparison="ge", threshold=D("0.9"), amount=D(100))
    result = estimate(plan=plan, gmv=D(18000), conversion=D("0.45"), target=D(10000), refund_rate=D("0.1"),
                      appraisal_grade="A")  # fmt: skip
    amounts = [(line.kind, line.amount) for line in result.lines]
    assert amounts == [
        (LineKind.PERFORMANCE, D("2400.00")),  # 2,000 × 1.2
        (LineKind.COMMISSION, D("365.00")), (LineKind.COMMISSION, D("-65.00")),  # capped at 300
        (LineKind.MODIFIER, D("30.00")),  # conversion 45% ≥ 40%: × 1.1 (the refund rate 10% is not > 25%)
        (LineKind.MILESTONE, D("500.00")),  # conversion ≥ 10%
    ]  # fmt: skip
    assert result.total == D("3230.00")
    assert len(result.not_estimated) == 1  # the response-rate milestone is not estimated
    # A lower conversion: no multiplier, no milestone; no grade: no performance pay.
    low = estimate(plan=plan, gmv=D(18000), conversion=D("0.05"), target=D(10000), refund_rate=D("0.3"))
    assert low.total == D("240.00")  # 300 × 0.8 for the refund rate above 25%


def test_my_pay_page_estimates_from_the_form(org, pay, client_for):
    client = client_for(org.users["staff_a"])
    page = client.get(reverse("incentives:mine"))
    assert page.context["plan"] == pay and page.context["estimate"] is not None  # prefilled with the month so far
    response = client.get(reverse("incentives:mine"), {"gmv": "18000", "target": "10000", "conversion": "12.5"})
    assert response.context["estimate"].total == D("3365.00")
    assert response.content.decode().count('data-testid="tier-part"') == 3
    invalid = client.get(reverse("incentives:mine"), {"gmv": "-5", "target": "10000"})
    assert invalid.context["estimate"] is None and "gmv" in invalid.context["form"].errors


def test_my_pay_without_a_plan_or_a_member(org, client_for):
    page = client_for(org.users["staff_a"]).get(reverse("incentives:mine"))
    assert page.context["plan"] is None and 'data-testid="no-plan"' in page.content.decode()
    nobody = client_for(org.users["hr"]).get(reverse("incentives:mine"))
    assert nobody.context["member"] is None and 'data-testid="empty-state"' in nobody.content.decode()


# --- plans --------------------------------------------------------------------------------------


def test_plans_in_words_to_whom_they_apply(org, pay, client_for):
    other = Plan.objects.create(name="Mirror bonus plan", store=org.s2, base_salary=D(1000))
    PlanAssignment.objects.create(plan=other, member=org.d, start_date=dt.date(2026, 1, 1))
    staff = client_for(org.users["staff_a"]).get(reverse("incentives:plans"))
    assert [plan.name for plan, _rules, _assignments in staff.context["page"].object_list] == ["阶梯方案"]
    _plan, rules, assignments = staff.context["page"].object_list[0]
    assert len(rules) == 2  # base salary, tiered commission
    assert {a.team_id for a in assignments} == {org.x.pk}  # not the other stores' teams
    hr = client_for(org.users["hr"]).get(reverse("incentives:plans"))
    assert len(hr.context["page"].object_list) == 2
    manager_s1 = client_for(org.users["manager_s1"]).get(reverse("incentives:plans"))
    assert [p.name for p, _r, _a in manager_s1.context["page"].object_list] == ["阶梯方案"]


def test_the_personal_page_offers_the_estimator_and_shows_badges(org, client_for):
    import datetime as dt

    from django.utils import timezone

    from incentives.models import Badge

    Badge.objects.create(member=org.a, store=org.s1, key="lightning_deal", period_start=timezone.localdate()
                         - dt.timedelta(days=2), detail="O1")  # fmt: skip
    client = client_for(org.users["staff_a"])
    html = client.get("/dashboard/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="estimator"' in html and 'action="/pay/mine/"' in html
    badges = html[html.index('data-testid="my-badges"') :]
    assert "Lightning deal" in badges
    other = client_for(org.users["lead_x"]).get(f"/dashboard/members/{org.a.pk}/").content.decode()
    assert 'data-testid="estimator"' not in other  # only on one's own page
