"""Monthly statements by hand: every rule type, clawback across months, team PK ties, approval
keeping the lines, idempotent recomputation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from incentives.models import (
    CommissionTier,
    Milestone,
    Modifier,
    Plan,
    PlanAssignment,
    RankingAward,
    Statement,
    StatementState,
)
from incentives.services.statements import statement_approve, statement_lock, statement_refresh
from metrics.models import Order, Target
from teams.selectors.scoping import viewer_get
from tests.reviews.test_cycles import chat_only, sell

pytestmark = pytest.mark.django_db
AUGUST, SEPTEMBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1)


@pytest.fixture
def paid(org, tmp_path):
    """August: A sells 3 × 300 (one order refunded later), B 1 × 100; C (team Y) 2 × 50."""
    sell(org, tmp_path, [("a", 3, "300.00"), ("a", 10, "300.00"), ("a", 20, "300.00"), ("b", 5, "100.00"),
                         ("c", 6, "50.00"), ("c", 7, "50.00")])  # fmt: skip
    return tmp_path


def plan(org, **fields) -> Plan:
    p = Plan.objects.create(name="CS", **fields)
    PlanAssignment.objects.create(plan=p, team=org.x, start_date=dt.date(2026, 1, 1))
    PlanAssignment.objects.create(plan=p, team=org.y, start_date=dt.date(2026, 1, 1))
    return p


def lines(statement) -> dict:
    out = {}
    for line in statement.lines.all():
        out.setdefault(line.kind, []).append(line.amount)
    return out


def test_base_flat_commission_multiplier_and_milestone(org, paid):
    p = plan(org, base_salary=Decimal(3000), commission_mode="flat", flat_rate=Decimal("0.02"))
    Modifier.objects.create(plan=p, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.4"),
                            multiplier=Decimal("1.1"))  # fmt: skip
    Modifier.objects.create(plan=p, kpi_key="refund_order_rate", comparison="gt", threshold=Decimal("0.25"),
                            multiplier=Decimal("0.8"))  # fmt: skip
    Milestone.objects.create(plan=p, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.10"),
                             amount=Decimal(500))  # fmt: skip
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    # 900 × 2% = 18; conversion 100% ≥ 40%: × 1.1 → +1.80; no refunds; milestone 500.
    assert lines(statement) == {"base": [Decimal("3000.00")], "commission": [Decimal("18.00")],
                                "modifier": [Decimal("1.80")], "milestone": [Decimal("500.00")]}  # fmt: skip
    assert statement.total == Decimal("3519.80")
    commission = statement.lines.get(kind="commission")
    assert len(commission.order_ids) == 3 and "900.00" in commission.explanation
    assert statement_refresh(member=org.a, store=org.s1, month=AUGUST).total == Decimal("3519.80")  # idempotent
    assert statement.lines.count() == 4


def test_tiered_commission_by_target_completion_and_ranking_awards(org, paid):
    p = plan(org, commission_mode="tiered", tier_mode="marginal")
    for start, rate in ((0, "0.015"), ("1.0", "0.025"), ("1.5", "0.03")):
        CommissionTier.objects.create(plan=p, from_completion=Decimal(start), rate=Decimal(rate))
    RankingAward.objects.create(plan=p, kpi_key="gmv", amounts=[800, 500])
    Target.objects.create(tier="execution", name="A Aug", kpi_key="gmv", store=org.s1, team=org.x, member=org.a,
                          period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31), value=Decimal(600),
                          direction="at_least")  # fmt: skip
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    # 900 of 600 = 150%: 600 × 1.5% + 300 × 2.5% = 9 + 7.5 (nothing above 150%).
    assert lines(statement)["commission"] == [Decimal("16.50")]
    assert lines(statement)["ranking"] == [Decimal("800.00")]  # first in team X
    b = statement_refresh(member=org.b, store=org.s1, month=AUGUST)
    assert lines(b)["ranking"] == [Decimal("500.00")]
    assert lines(b)["commission"] == [Decimal("1.50")]  # no target: the first tier, 100 × 1.5%


def test_team_pk_ties_share_the_title(org, paid):
    plan(org, commission_mode="flat", flat_rate=Decimal("0.10"), pk_kpi_key="paid_orders",
         pk_bonus_rate=Decimal("0.05"))  # fmt: skip
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    # Week of 3 August: X (A's order of the 3rd, B's of the 5th) 2 paid orders, Y (C's 6th and 7th) 2: a tie,
    # both teams win. The weeks of the 10th and 17th: X alone (A's orders; Y sold nothing).
    tie = statement.lines.get(kind="pk", explanation__contains="08-03")
    assert tie.amount == Decimal("1.50")  # +5% of the week's commission: 300 × 10% × 5%
    c = statement_refresh(member=org.c, store=org.s1, month=AUGUST)
    assert c.lines.get(kind="pk", explanation__contains="08-03").amount == Decimal("0.50")  # 100 × 10% × 5%
    assert [line.amount for line in statement.lines.filter(kind="pk")] == [Decimal("1.50")] * 3
    assert not c.lines.filter(kind="pk").exclude(explanation__contains="08-03").exists()


def test_no_ranking_award_to_a_zero_and_the_rank_is_of_the_ranked(org, tmp_path):
    sell(org, tmp_path, [("a", 3, "300.00")])
    chat_only(org, tmp_path, "b", 4)  # B chatted and sold nothing: GMV 0
    p = plan(org, commission_mode="flat", flat_rate=Decimal("0.02"))
    RankingAward.objects.create(plan=p, kpi_key="gmv", amounts=[800, 500])
    a = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    award = a.lines.get(kind="ranking")
    # "Rank 1 of 1" (explanations are written in the site's language, Chinese): of the ranked, not of 2.
    assert award.amount == Decimal("800.00") and "排名第 1 / 1：" in award.explanation
    b = statement_refresh(member=org.b, store=org.s1, month=AUGUST)
    assert not b.lines.filter(kind="ranking").exists()  # not second of two with nothing sold


def test_no_ranking_award_when_everyone_has_zero(org, paid):
    p = plan(org, commission_mode="flat", flat_rate=Decimal("0.02"))
    RankingAward.objects.create(plan=p, kpi_key="won_amount", amounts=[800, 500])  # a service team wins no deals
    for member in (org.a, org.b, org.c):
        statement = statement_refresh(member=member, store=org.s1, month=AUGUST)
        assert statement.lines.filter(kind="commission").exists()
        assert not statement.lines.filter(kind="ranking").exists()


def test_no_team_pk_champion_among_zeros(org, paid):
    plan(org, commission_mode="flat", flat_rate=Decimal("0.10"), pk_kpi_key="won_amount",
         pk_bonus_rate=Decimal("0.05"))  # fmt: skip
    # Every team's amount won is 0 every week: no week has a champion, so no PK line for anyone.
    for member in (org.a, org.b, org.c):
        statement = statement_refresh(member=member, store=org.s1, month=AUGUST)
        assert statement.lines.filter(kind="commission").exists()
        assert not statement.lines.filter(kind="pk").exists()


def test_refund_after_payout_is_clawed_back_once_on_the_next_statement(org, paid, tmp_path):
    plan(org, commission_mode="flat", flat_rate=Decimal("0.02"))
    manager, hr = (viewer_get(user=org.users[n]) for n in ("manager_s1", "hr"))
    august = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    with pytest.raises(PermissionDenied):
        statement_lock(viewer=manager, user=None, statement=august)
    statement_approve(viewer=manager, user=org.users["manager_s1"], statement=august)
    statement_lock(viewer=hr, user=org.users["hr"], statement=august)
    # A re-export in September: one of A's August orders refunded 300.
    order = Order.objects.filter(credited_member_id=org.a.pk).order_by("created_at").first()
    Order.objects.filter(pk=order.pk).update(refund_cents=30000)
    september = statement_refresh(member=org.a, store=org.s1, month=SEPTEMBER)
    claw = september.lines.get(kind="clawback")
    assert claw.amount == Decimal("-6.00") and claw.order_ids == [order.order_id] and order.order_id in claw.explanation
    # The locked August statement did not change; the recomputation shows a proposed adjustment.
    august = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert august.state == StatementState.LOCKED and august.total == Decimal("18.00")
    assert august.proposed_total == Decimal("12.00") and august.adjustment == Decimal("-6.00")
    statement_approve(viewer=manager, user=None, statement=september)
    statement_lock(viewer=hr, user=None, statement=september)
    october = statement_refresh(member=org.a, store=org.s1, month=dt.date(2026, 10, 1))
    assert october is None or not october.lines.filter(kind="clawback").exists()  # taken back once


def test_approval_keeps_the_lines_and_shows_a_different_result_as_a_proposal(org, paid, tmp_path):
    plan(org, commission_mode="flat", flat_rate=Decimal("0.02"))
    statement = statement_refresh(member=org.b, store=org.s1, month=AUGUST)
    statement_approve(viewer=viewer_get(user=org.users["manager_s1"]), user=None, statement=statement)
    with pytest.raises(PermissionDenied):  # another store's manager
        statement_approve(viewer=viewer_get(user=org.users["manager_s2"]), user=None, statement=statement)
    sell(org, tmp_path, [("b", 25, "400.00")], tag="late")
    again = statement_refresh(member=org.b, store=org.s1, month=AUGUST)
    assert again.total == Decimal("2.00") and again.proposed_total == Decimal("10.00")
    assert Statement.objects.get(pk=statement.pk).lines.get(kind="commission").amount == Decimal("2.00")


def test_a_statements_gmv_base_and_kpi_values_are_the_engines(org, paid):
    from metrics.importing.services import chats_import, orders_import
    from metrics.kpis.selectors import kpi_table
    from metrics.kpis.services import kpis_after_import, kpis_recompute_store_full
    from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write

    # A's sale of 2 September: outside August's statement and its KPIs.
    at = dt.datetime(2026, 9, 2, 10, 0)
    chat = f"Ssep,{org.s1.name},{org.account_a.name},sep-buyer,{at:%Y-%m-%d %H:%M:%S},{at:%Y-%m-%d %H:%M:%S},,2,2"
    order = (f"Osep,sep-buyer,700.00,700.00,交易成功,{at + dt.timedelta(minutes=5):%Y-%m-%d %H:%M:%S},"
             f"{at + dt.timedelta(minutes=6):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{org.s1.name}")  # fmt: skip
    for importer, header, line in ((chats_import, CHAT_HEADER, chat), (orders_import, ORDER_HEADER, order)):
        batch = importer(store=None, file=write(paid / f"sep{header[:2]}.csv", [header, line]), user=None)
        kpis_after_import(batch=batch)
    first = Order.objects.filter(credited_member_id=org.a.pk).order_by("created_at").first()
    Order.objects.filter(pk=first.pk).update(refund_cents=5000)  # a refund of 50 on one of A's August orders
    kpis_recompute_store_full(store=org.s1)
    p = plan(org, commission_mode="flat", flat_rate=Decimal("0.1"))
    Milestone.objects.create(plan=p, kpi_key="refund_order_rate", comparison="ge", threshold=Decimal("0.3"),
                             amount=Decimal(1))  # fmt: skip
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    table = kpi_table(level="member", grain="range", start=AUGUST, end=dt.date(2026, 8, 31), store_ids=[org.s1.pk],
                      member_ids=[org.a.pk])  # fmt: skip
    engine = table.iloc[0].to_dict()
    # The commission base is GMV net of refunds: 900 − 50, 10% = 85 (September's 700 is not in it).
    commission = statement.lines.get(kind="commission")
    assert commission.amount == (engine["gmv"] - engine["refund_amount"]) * Decimal("0.1") == Decimal("85.00")
    # The milestone reads the engine's refund_order_rate: 1 of 3 paid orders.
    assert engine["refund_order_rate"] == pytest.approx(1 / 3) and statement.lines.filter(kind="milestone").exists()
