"""Seed 003's five analyses on the spec's worked example (agents A–D, August 2026, a sales target
of 20,000 each), figure by figure."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from metrics.models import Target
from reviews.models import AppraisalTemplate, CycleState, Item, RaterRole
from reviews.selectors.insights import cycle_insights
from reviews.services.cycles import cycle_advance, cycle_create, rating_set
from reviews.services.templates import appraisal_templates_ensure
from teams.selectors.scoping import Viewer
from tests.metrics.test_kpis import EXAMPLE, Shop, _day, _yuan

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
ADMIN = Viewer(user_id=1, is_admin=True)
D = Decimal


def build_example(tmp_path) -> Shop:
    """The spec's worked example through the importers (as tests/metrics/test_kpis.py builds it)."""
    shop = Shop(tmp_path)
    for agent, (inquiring, paying, twice, amounts, refunded) in EXAMPLE.items():
        amounts, made = iter(amounts), 0
        for i in range(inquiring):
            buyer = f"buyer_{agent}_{i:03d}"
            start = _day(i)
            shop.chat(agent, buyer, start)
            if i < paying:
                for extra in range(2 if i < twice else 1):
                    refund = "50.00" if made < refunded else "0.00"
                    shop.order(buyer, start + dt.timedelta(hours=1 + extra), _yuan(next(amounts)), refund=refund)
                    made += 1
    shop.load()
    for member in shop.members.values():
        Target.objects.create(tier="execution", name="8月销售额", kpi_key="gmv", store=shop.store, team=shop.team,
                              member=member, period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31),
                              value=D(20000), direction="at_least")  # fmt: skip
    return shop


@pytest.fixture
def shop(tmp_path) -> Shop:
    return build_example(tmp_path)


def open_cycle(shop: Shop):
    appraisal_templates_ensure()
    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")  # seed 003: 80/15/5
    return cycle_create(viewer=ADMIN, user=None, store=shop.store, team=shop.team, month=AUGUST, template=template)


def by_agent(shop: Shop, rows) -> dict:
    names = {m.pk: agent for agent, m in shop.members.items()}
    return {names[row.member_id]: row for row in rows}


def q(value, places="0.0001"):
    return None if value is None else Decimal(value).quantize(Decimal(places))


def test_a_c_falls_short_of_the_sales_target(shop):
    insights = cycle_insights(cycle=open_cycle(shop))
    gmv = by_agent(shop, insights.checks_of("gmv"))
    assert {a: (c.value, c.target, q(c.completion, "0.01"), c.met, c.source) for a, c in gmv.items()} == {
        "A": (D("40000.00"), D(20000), D("2.00"), True, "member"),
        "B": (D("40000.00"), D(20000), D("2.00"), True, "member"),
        "C": (D("15000.00"), D(20000), D("0.75"), False, "member"),
        "D": (D("20000.00"), D(20000), D("1.00"), True, "member"),  # exactly on target: met
    }
    # The template's own targets count too: conversion 40 %, refund order rate at most 5 %.
    conversion = by_agent(shop, insights.checks_of("inquiry_to_payment_rate"))
    assert {a: (q(c.value, "0.01"), q(c.completion, "0.01"), c.met, c.source) for a, c in conversion.items()} == {
        "A": (D("0.40"), D("1.00"), True, "template"),
        "B": (D("0.20"), D("0.50"), False, "template"),
        "C": (D("0.30"), D("0.75"), False, "template"),
        "D": (D("0.70"), D("1.75"), True, "template"),
    }
    refund = by_agent(shop, insights.checks_of("refund_order_rate"))  # lower is better: target / value
    assert {a: (q(c.completion), c.met) for a, c in refund.items()} == {
        "A": (D("0.5000"), False), "B": (D("0.2000"), False), "C": (D("0.1250"), False), "D": (D("0.1667"), False),
    }  # fmt: skip
    short = by_agent(shop, insights.below_target)
    assert [c.kpi_key for c in short["C"].checks] == ["gmv", "inquiry_to_payment_rate", "refund_order_rate"]
    assert [c.kpi_key for c in short["A"].checks] == ["refund_order_rate"]
    assert [a for a, s in short.items() if any(c.kpi_key == "gmv" for c in s.checks)] == ["C"]


def test_a_month_target_of_a_kpi_the_template_does_not_score_is_checked_too(shop):
    for agent in "AC":
        Target.objects.create(tier="tactic", name="8月成交单数", kpi_key="paid_orders", store=shop.store,
                              member=shop.members[agent], period_kind="month", start=AUGUST,
                              end=dt.date(2026, 8, 31), value=D(100), direction="at_least")  # fmt: skip
    orders = by_agent(shop, cycle_insights(cycle=open_cycle(shop)).checks_of("paid_orders"))
    assert {a: (c.value, q(c.completion, "0.01"), c.met) for a, c in orders.items()} == {
        "A": (D(100), D("1.00"), True),
        "C": (D(40), D("0.40"), False),
    }


def test_b_volume_or_price_against_the_team_medians(shop):
    insights = cycle_insights(cycle=open_cycle(shop))
    assert insights.medians["paid_orders"] == D(70)  # (40 + 100) / 2
    assert insights.medians["aov"] == D("387.50")  # (375 + 400) / 2
    rows = by_agent(shop, insights.quadrants)
    assert {a: (r.paid_orders, r.aov, q(r.orders_ratio), q(r.aov_ratio), r.quadrant, r.sells_on)
            for a, r in rows.items()} == {
        # A is above both medians but leads on volume (+43 %) far more than on price (+3 %).
        "A": (100, D("400.00"), D("1.4286"), D("1.0323"), "volume_and_price", "volume"),
        "B": (120, D("333.33"), D("1.7143"), D("0.8602"), "volume", "volume"),
        "C": (40, D("375.00"), D("0.5714"), D("0.9677"), "neither", ""),
        "D": (40, D("500.00"), D("0.5714"), D("1.2903"), "price", "price"),
    }  # fmt: skip
    with translation.override("en"):
        assert rows["B"].label == "Sells on volume" and rows["D"].label == "Sells on price"
        assert rows["A"].sells_on_label == "volume"


def test_c_many_inquiries_low_conversion_or_few_inquiries_high_conversion(shop):
    insights = cycle_insights(cycle=open_cycle(shop))
    assert insights.medians["inquiring_buyers"] == D(175)  # (100 + 250) / 2
    assert insights.medians["inquiry_to_payment_rate"] == D("0.35")  # (30 % + 40 %) / 2
    rows = by_agent(shop, insights.inquiries)
    assert {a: (r.inquiring_buyers, r.conversion, r.pattern) for a, r in rows.items()} == {
        "A": (250, D("0.4"), "many_high"),
        "B": (600, D("0.2"), "many_low"),  # selling skill
        "C": (100, D("0.3"), "few_low"),
        "D": (50, D("0.7"), "few_high"),  # workload or routing
    }
    with translation.override("en"):
        assert rows["B"].label == "Many inquiries, low conversion: selling skill"
        assert rows["D"].label == "Converts well, few inquiries: workload or routing"


def test_d_refund_rates_point_at_after_sales_quality(shop):
    insights = cycle_insights(cycle=open_cycle(shop))
    assert insights.medians["refund_order_rate"] == D("0.275")  # (25 % + 30 %) / 2
    rows = by_agent(shop, insights.refunds)
    assert {a: (r.refund_order_rate, q(r.ratio), r.flagged, r.lowest) for a, r in rows.items()} == {
        "A": (D("0.1"), D("0.3636"), False, True),  # the after-sales example
        "B": (D("0.25"), D("0.9091"), False, False),
        "C": (D("0.4"), D("1.4545"), True, False),  # 12.5 points above the median
        "D": (D("0.3"), D("1.0909"), False, False),  # above, but not well above
    }


def test_e_training_focus_from_the_weakest_items(shop):
    cycle = open_cycle(shop)
    with translation.override("en"):
        rows = by_agent(shop, cycle_insights(cycle=cycle).training)
        weakest = {a: [(w.name, w.score) for w in r.weakest] for a, r in rows.items()}
    # KPI item scores: GMV against the 20,000 target, conversion 10 %→40 %, AOV rank of four,
    # first response 20 s (85), refund rate 20 %→5 %. Items from 80 up are no training need.
    assert weakest == {
        "A": [("AOV rank in the team", D("66.67")), ("Refunded order rate", D("66.67"))],
        "B": [("AOV rank in the team", D("0.00")), ("Refunded order rate", D("0.00")),
              ("Inquiry-to-payment rate", D("33.33"))],
        "C": [("Refunded order rate", D("0.00")), ("AOV rank in the team", D("33.33")),
              ("Inquiry-to-payment rate", D("66.67")), ("GMV against target", D("75.00"))],
        "D": [("Refunded order rate", D("0.00"))],
    }  # fmt: skip
    assert {a: r.foci for a, r in rows.items()} == {
        "A": ("upselling", "after_sales"),  # equal scores: the heavier item (AOV, 12 % of the total) first
        "B": ("upselling", "after_sales", "conversion"),
        "C": ("after_sales", "upselling", "conversion"),
        "D": ("after_sales",),
    }
    with translation.override("en"):
        assert rows["D"].labels == ["After-sales handling: refunds, returns, complaints"]


def test_e_ratings_point_at_their_focus_and_a_finalised_cycle_reads_its_frozen_scores(shop):
    cycle = open_cycle(shop)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = cycle_advance(viewer=ADMIN, user=None, cycle=cycle, to=state)
    appraisal = cycle.appraisals.get(member=shop.members["D"])
    knowledge = Item.objects.get(dimension__template=cycle.template, name_en="Product knowledge")
    rating_set(viewer=ADMIN, user=None, appraisal=appraisal, item=knowledge, role=RaterRole.MANAGER, score=1)
    training = by_agent(shop, cycle_insights(cycle=cycle).training)
    # Product knowledge 0: a tie with the refund rate, which weighs more in the total (8 % to 6 %).
    assert training["D"].foci == ("after_sales", "product_knowledge")
    assert training["A"].foci == ("upselling", "after_sales")  # unrated items are left out
    live = cycle_insights(cycle=cycle)
    for state in (CycleState.CALIBRATION, CycleState.FINALISED):
        cycle = cycle_advance(viewer=ADMIN, user=None, cycle=cycle, to=state)
    frozen = cycle_insights(cycle=cycle)
    assert frozen.training == live.training
    assert frozen.targets == live.targets
    assert frozen.quadrants == live.quadrants
