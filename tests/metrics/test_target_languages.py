"""Generated target names, notes and behaviour units read in the reader's language (issue 18,
point 8); names people write stay as written."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from metrics.models import Behaviour, Target, TargetTier
from metrics.targets.decomposition import member_shares, revenue_decompose
from metrics.targets.services import DecompositionSave, campaign_create, decomposition_save, target_update
from teams.selectors.scoping import viewer_get
from tests.metrics.test_targets import seed_001

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def tree(org):
    """Team X's February decomposed in Chinese (the site's language), leads as a behaviour counted in 个."""
    leads = Behaviour.objects.create(store=org.s1, name="新客线索", unit="个")
    members = [org.a.pk, org.b.pk]
    plan = revenue_decompose(seed_001(inquiry_conversion=Decimal("0.5"),
                                      member_shares=member_shares(split="equal", member_ids=members)))  # fmt: skip
    how = DecompositionSave(store=org.s1, team=org.x, name="", period_kind="month", leads_behaviour=leads)
    manager = org.users["manager_s1"]
    with translation.override("zh-hans"):
        return decomposition_save(viewer=viewer_get(user=manager), user=manager, plan=plan, how=how)


def names(root: Target, language: str) -> set[str]:
    with translation.override(language):
        return {t.name_text for t in Target.objects.filter(parent=root)} | {root.name_text}


def test_a_decomposed_tree_reads_in_each_language(org, tree):
    english = names(tree, "en")
    assert {"Paid orders needed", "Paying buyers needed", "New leads to reach",
            "售前X revenue 2027-02-01 – 2027-02-28", "Alice 王 02-01–02-07 · GMV", "Alice 王 02-01–02-07 · 新客线索"
            } <= english  # fmt: skip
    chinese = names(tree, "zh-hans")
    assert {
        "所需成交订单数",
        "所需付款人数",
        "售前X 销售额 2027-02-01 – 2027-02-28",
        "Alice 王 02-01–02-07 · 销售额",
    } <= chinese
    assert not english & {"所需成交订单数", "所需付款人数"}
    assert Target.objects.get(pk=tree.pk).name == "售前X 销售额 2027-02-01 – 2027-02-28"  # the text kept: the site's
    with translation.override("en"):
        assert tree.notes_text == "Returning customers ¥400,000.00, new customers ¥600,000.00."


def test_the_targets_pages_and_the_api_read_in_the_requests_language(org, tree, client, api_for):
    client.force_login(org.users["manager_s1"])
    client.cookies["django_language"] = "en"
    detail = client.get(reverse("targets:detail", args=[tree.pk])).content.decode()
    assert "Paid orders needed" in detail and "所需成交订单数" not in detail
    assert "Returning customers ¥400,000.00" in detail
    api = api_for(org.users["manager_s1"])
    rows = api.get(reverse("target-list"), {"tier": "tactic"}, HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    orders = next(r for r in rows if r["kpi_key"] == "paid_orders")
    assert orders["name"] == "Paid orders needed"
    assert orders["name_message"] == {"key": "metrics.target_paid_orders_needed"}
    rows = api.get(reverse("target-list"), {"tier": "tactic"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
    assert next(r for r in rows if r["kpi_key"] == "paid_orders")["name"] == "所需成交订单数"


def test_a_behaviour_unit_is_chinese_in_chinese_and_english_or_nothing_in_english(org, tree, client):
    client.force_login(org.users["manager_s1"])
    leads = Target.objects.get(parent=tree, tier=TargetTier.TACTIC, behaviour__isnull=False)
    url = reverse("targets:detail", args=[leads.pk])
    client.cookies["django_language"] = "zh-hans"
    assert "1,000 个" in client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    page = client.get(url).content.decode()
    assert "1,000" in page and "个" not in page
    Behaviour.objects.filter(pk=leads.behaviour_id).update(unit_en="leads")
    assert "1,000 leads" in client.get(url).content.decode()


def test_a_generated_name_left_as_shown_stays_generated_and_a_new_one_is_the_editors(org, tree):
    viewer = viewer_get(user=org.users["manager_s1"])
    orders = Target.objects.get(parent=tree, kpi_key="paid_orders")
    with translation.override("en"):  # the edit form shows "Paid orders needed"; saved unchanged
        target_update(viewer=viewer, target=orders, name="Paid orders needed", value=Decimal(900))
    orders.refresh_from_db()
    assert orders.name_msg == {"key": "metrics.target_paid_orders_needed"} and orders.value == 900
    with translation.override("en"):
        target_update(viewer=viewer, target=orders, name="Orders for the spring launch")
    orders.refresh_from_db()
    assert (orders.name_msg, orders.name) == ({}, "Orders for the spring launch")
    with translation.override("zh-hans"):
        assert orders.name_text == "Orders for the spring launch"  # written by a person: as written


def test_a_promotions_focus_targets_are_named_in_each_language(org):
    manager = org.users["manager_s1"]
    with translation.override("zh-hans"):
        campaign = campaign_create(viewer=viewer_get(user=manager), user=manager, store=org.s1, kind="double11",
                                   name="双11", phases={"peak": (dt.date(2026, 11, 1), dt.date(2026, 11, 11))})  # fmt: skip
    target = Target.objects.get(phase__campaign=campaign, kpi_key="cart_to_pay_rate")
    with translation.override("en"):
        assert target.name_text == "双11 · Peak · Cart-to-pay conversion"
    with translation.override("zh-hans"):
        assert target.name_text == "双11 · 爆发期 · 加购支付转化率"
