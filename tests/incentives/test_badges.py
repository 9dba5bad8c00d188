"""Badges from hand-made chats and orders: a lightning deal, a weekly sprint against the last 12
weeks, a perfect response day, a manager's rule; awarded once however often it runs; the team
wall and who may open it; the nightly tasks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from incentives import tasks
from incentives.models import Badge, BadgeRule
from incentives.services.badges import (
    BADGE_NAMES,
    LIGHTNING_DEAL,
    PERFECT_RESPONSE,
    WEEKLY_SPRINT,
    badge_wall,
    badges_award,
)
from tests.metrics.test_kpis import Shop

pytestmark = pytest.mark.django_db
D = Decimal


def awarded(shop: Shop, key: str) -> dict:
    """The badges' details as an English reader sees them."""
    names = {m.pk: agent for agent, m in shop.members.items()}
    with translation.override("en"):
        return {(names[b.member_id], b.period_start): b.detail_text for b in Badge.objects.filter(key=key)}


def test_lightning_deal_paid_within_an_hour_of_the_first_inquiry(tmp_path):
    shop = Shop(tmp_path)
    at = dt.datetime(2026, 8, 3, 10, 0)
    shop.chat("A", "fast", at)
    fast = shop.order(
        "fast", at + dt.timedelta(minutes=30), "100.00"
    )  # paid 3 minutes later: 0:33 after the chat began
    shop.chat("A", "faster", at + dt.timedelta(hours=2))
    faster = shop.order("faster", at + dt.timedelta(hours=2, minutes=5), "100.00")  # paid at 0:08
    shop.chat("A", "slow", at + dt.timedelta(days=1))
    shop.order("slow", at + dt.timedelta(days=1, minutes=58), "100.00")  # paid 1:01 after: too slow
    shop.chat("B", "edge", at)
    edge = shop.order("edge", at + dt.timedelta(minutes=57), "100.00")  # paid exactly an hour after: still lightning
    shop.chat("C", "unpaid", at)
    shop.order("unpaid", at + dt.timedelta(minutes=5), "99.00", unpaid=True)
    shop.chat("D", "silent", at)  # D's buyer never orders
    shop.load()
    badges = badges_award(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 31))
    assert {b.key for b in badges} == {LIGHTNING_DEAL}
    # One badge a member a day: the fastest deal named, the others counted.
    assert awarded(shop, LIGHTNING_DEAL) == {
        ("A", dt.date(2026, 8, 3)): f"{faster} · 0:08 (+1)",
        ("B", dt.date(2026, 8, 3)): f"{edge} · 1:00",
    }
    assert fast != faster


def sell_week(shop: Shop, agent: str, monday: dt.date, yuan: int, tag: str) -> None:
    at = dt.datetime.combine(monday + dt.timedelta(days=2), dt.time(11, 0))
    shop.chat(agent, f"{tag}-{agent}", at)
    shop.order(f"{tag}-{agent}", at + dt.timedelta(hours=3), f"{yuan}.00")


def test_weekly_sprint_is_a_personal_best_against_the_last_12_weeks(tmp_path):
    shop = Shop(tmp_path)
    w0, w1 = dt.date(2026, 4, 13), dt.date(2026, 7, 6)  # Mondays 12 weeks apart
    w2, w3, w4 = (w1 + dt.timedelta(weeks=n) for n in (1, 2, 3))
    for monday, yuan in ((w0, 5000), (w1, 100), (w2, 300), (w3, 200), (w4, 400)):
        sell_week(shop, "A", monday, yuan, f"{monday:%m%d}")
    sell_week(shop, "B", w2, 900, "first")  # B's first week: nothing earlier to beat
    shop.chat("C", "browser", dt.datetime.combine(w1, dt.time(9)))  # C worked in w1 without selling …
    sell_week(shop, "C", w2, 50, "c")  # … so any sale in w2 beats it
    shop.load()
    badges_award(store=shop.store, start=w1, end=w4 + dt.timedelta(days=5))  # w4 has not ended yet: not judged
    # w1: 100 < 5,000 twelve weeks earlier. w2: 300 > 100 (w0 is now 13 weeks back). w3: 200 < 300.
    assert awarded(shop, WEEKLY_SPRINT) == {("A", w2): "¥300.00 > ¥100.00", ("C", w2): "¥50.00 > ¥0.00"}
    badges_award(store=shop.store, start=w4, end=w4 + dt.timedelta(days=6))  # judged on its Sunday
    assert awarded(shop, WEEKLY_SPRINT)[("A", w4)] == "¥400.00 > ¥300.00"
    assert not Badge.objects.filter(key=WEEKLY_SPRINT, period_start__in=[w0, w1, w3]).exists()


def test_perfect_response_is_50_sessions_in_a_day_all_answered_within_30_seconds(tmp_path):
    shop = Shop(tmp_path)
    day = dt.datetime(2026, 8, 10, 9, 0)
    for agent, count, slow in (("A", 50, None), ("B", 49, None), ("C", 50, 31), ("D", 60, "unanswered")):
        for n in range(count):
            reply = 20 if n else {None: 20, 31: 31, "unanswered": None}[slow]
            shop.chat(agent, f"{agent}{n}", day + dt.timedelta(minutes=5 * n), answered_after_s=reply)
    shop.load()
    badges_award(store=shop.store, start=dt.date(2026, 8, 10), end=dt.date(2026, 8, 10))
    assert awarded(shop, PERFECT_RESPONSE) == {("A", dt.date(2026, 8, 10)): "50/50 ≤ 30 s"}
    with translation.override("zh-hans"):  # the same badge, read in Chinese
        assert Badge.objects.get(key=PERFECT_RESPONSE).detail_text == "50/50 个会话 ≤ 30 秒"


def test_awarding_twice_or_over_overlapping_windows_adds_nothing(tmp_path):
    shop = Shop(tmp_path)
    for day in (3, 4, 5):
        at = dt.datetime(2026, 8, day, 10, 0)
        shop.chat("A", f"b{day}", at)
        shop.order(f"b{day}", at + dt.timedelta(minutes=10), "1200.00")
    shop.load()
    BadgeRule.objects.create(store=shop.store, key="big-day", name="日销千元", kpi_key="gmv", comparison="ge",
                             threshold=D(1000), period="day")  # fmt: skip
    first = badges_award(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 4))
    assert len(first) == 4 and Badge.objects.count() == 4  # lightning and the rule on the 3rd and 4th
    again = badges_award(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 4))
    assert [b.pk for b in again] == [b.pk for b in first] and Badge.objects.count() == 4
    overlapping = badges_award(store=shop.store, start=dt.date(2026, 8, 4), end=dt.date(2026, 8, 5))
    assert len(overlapping) == 4 and Badge.objects.count() == 6
    assert badges_award(store=shop.store, start=dt.date(2026, 8, 5), end=dt.date(2026, 8, 1)) == []


def test_rules_managers_define_by_day_week_and_month(tmp_path):
    shop = Shop(tmp_path)
    # Week of 3 August: A 2 buyers both paying (100%), B 2 buyers, one paying (50%), C 3 buyers, one paying.
    for agent, buyers, paying, amount in (("A", 2, 2, "800.00"), ("B", 2, 1, "1500.00"), ("C", 3, 1, "90.00")):
        for n in range(buyers):
            at = dt.datetime(2026, 8, 4, 10 + n, 0)
            shop.chat(agent, f"{agent}{n}", at)
            if n < paying:
                shop.order(f"{agent}{n}", at + dt.timedelta(hours=2), amount)
    shop.load()
    rules = [
        BadgeRule.objects.create(store=shop.store, key="big-day", name="日销千元", kpi_key="gmv", comparison="ge",
                                 threshold=D(1000), period="day"),
        BadgeRule.objects.create(store=shop.store, key="converter", name="转化达人", kpi_key="inquiry_to_payment_rate",
                                 comparison="ge", threshold=D("0.5"), period="week"),
        BadgeRule.objects.create(store=shop.store, key="few-refunds", name="零退款", kpi_key="refund_order_rate",
                                 comparison="le", threshold=D(0), period="month"),
        BadgeRule.objects.create(store=shop.store, key="bad-kpi", name="?", kpi_key="uv", comparison="ge",
                                 threshold=D(0), period="day"),  # a store KPI: no member has it
    ]  # fmt: skip
    assert len(rules) == 4
    badges_award(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 9))
    assert awarded(shop, "big-day") == {("A", dt.date(2026, 8, 4)): "¥1,600.00 ≥ 1000", ("B", dt.date(2026, 8, 4)):
                                        "¥1,500.00 ≥ 1000"}  # fmt: skip
    assert awarded(shop, "converter") == {("A", dt.date(2026, 8, 3)): "100.0% ≥ 50%",
                                          ("B", dt.date(2026, 8, 3)): "50.0% ≥ 50%"}  # fmt: skip
    assert awarded(shop, "few-refunds") == {}  # August has not ended within the window
    badges_award(store=shop.store, start=dt.date(2026, 8, 31), end=dt.date(2026, 8, 31))
    assert set(awarded(shop, "few-refunds")) == {(a, dt.date(2026, 8, 1)) for a in "ABC"}
    assert not Badge.objects.filter(key="bad-kpi").exists()


# --- the wall ----------------------------------------------------------------------------------


@pytest.fixture
def wall(org):
    """Badges of the last days: A and B (team X), C (team Y), D (team Z, store 2); and one of A's
    from six weeks ago."""
    today = timezone.localdate()
    for member, store, key, days_ago, detail in (
        (org.a, org.s1, LIGHTNING_DEAL, 1, "A-fast"),
        (org.a, org.s1, LIGHTNING_DEAL, 3, "A-fast-again"),
        (org.b, org.s1, PERFECT_RESPONSE, 2, "B-perfect"),
        (org.c, org.s1, LIGHTNING_DEAL, 1, "C-fast"),
        (org.d, org.s2, WEEKLY_SPRINT, 10, "D-sprint"),
        (org.a, org.s1, LIGHTNING_DEAL, 42, "A-long-ago"),
    ):
        Badge.objects.create(member=member, store=store, key=key, period_start=today - dt.timedelta(days=days_ago),
                             detail=detail)  # fmt: skip
    return org


def page(client_for, user, language="en", **params):
    return client_for(user).get(reverse("incentives:badges"), params, HTTP_ACCEPT_LANGUAGE=language)


def test_the_wall_counts_each_members_badges_of_the_last_30_days(wall):
    result = badge_wall(team=wall.x, today=timezone.localdate())
    assert [(row.member.display_name, row.counts, row.total) for row in result.members] == [
        ("Alice 王", [2, 0], 2),
        ("Bob 李", [0, 1], 1),
    ]
    assert [k for k, _, _ in result.kinds] == [LIGHTNING_DEAL, PERFECT_RESPONSE]
    assert [b.badge.detail for b in result.badges] == ["A-fast", "B-perfect", "A-fast-again"]  # newest first


def test_staff_see_their_teams_wall_and_no_other(wall, client_for):
    response = page(client_for, wall.users["staff_a"])
    assert response.status_code == 200
    content = response.content.decode()
    assert "A-fast" in content and "B-perfect" in content  # a teammate's praise is public
    assert "C-fast" not in content and "D-sprint" not in content and "A-long-ago" not in content
    assert BADGE_NAMES[LIGHTNING_DEAL]["en"] in content and "Perfect response" in content
    assert page(client_for, wall.users["staff_a"], team=wall.y.pk).status_code == 404
    assert page(client_for, wall.users["staff_a"], team="x").status_code == 404
    assert "闪电成交" in page(client_for, wall.users["staff_a"], language="zh-hans").content.decode()


def test_leads_managers_and_hr_see_the_teams_they_oversee(wall, client_for):
    lead = page(client_for, wall.users["lead_x"]).content.decode()
    assert "A-fast" in lead and "C-fast" not in lead
    assert page(client_for, wall.users["lead_x"], team=wall.z.pk).status_code == 404
    manager = wall.users["manager_s1"]
    assert "C-fast" in page(client_for, manager, team=wall.y.pk).content.decode()
    assert page(client_for, manager, team=wall.z.pk).status_code == 404
    assert "D-sprint" in page(client_for, wall.users["hr"], team=wall.z.pk).content.decode()
    nobody = page(client_for, wall.users["nobody"])
    assert nobody.status_code == 200 and 'data-testid="empty-state"' in nobody.content.decode()
    assert "A-fast" not in nobody.content.decode()


# --- the tasks ---------------------------------------------------------------------------------


def test_tasks_take_ids_and_iso_dates_and_the_nightly_queues_every_store(org, tmp_path, monkeypatch):
    from incentives.models import Plan, PlanAssignment

    PlanAssignment.objects.create(plan=Plan.objects.create(name="Base", base_salary=D(3000)), team=org.x,
                                  start_date=dt.date(2026, 1, 1))  # fmt: skip
    assert tasks.statements_refresh_task(org.s1.pk, "2026-08-15") == 3  # A, B and the lead
    assert tasks.statements_refresh_task(org.s1.pk, "2026-08-15") == 3  # idempotent
    assert tasks.statements_refresh_task(987654, "2026-08-01") == 0
    assert tasks.badges_award_task(org.s1.pk, "2026-08-01", "2026-08-31") == 0
    assert tasks.badges_award_task(987654, "2026-08-01", "2026-08-31") == 0
    queued = []

    class Result:
        id = "queued"

    for task in (tasks.statements_refresh_task, tasks.badges_award_task):
        monkeypatch.setattr(task, "delay", lambda *args, task=task: queued.append((task.name, *args)) or Result())
    assert len(tasks.incentives_nightly_task()) == 4
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for store in (org.s1, org.s2):
        assert ("incentives.tasks.statements_refresh_task", store.pk, yesterday.replace(day=1).isoformat()) in queued
        assert ("incentives.tasks.badges_award_task", store.pk, (yesterday - dt.timedelta(days=1)).isoformat(),
                yesterday.isoformat()) in queued  # fmt: skip


def test_a_busy_wall_lists_the_newest_50_and_counts_them_all(org, client_for):
    today = timezone.localdate()
    for member in (org.a, org.b):
        Badge.objects.bulk_create(
            Badge(member=member, store=org.s1, key=LIGHTNING_DEAL, period_start=today - dt.timedelta(days=n),
                  detail=f"{member.pk}-{n}")
            for n in range(40)
        )  # fmt: skip
    result = badge_wall(team=org.x, today=today)
    assert [row.total for row in result.members] == [30, 30] and len(result.badges) == 60
    assert len(result.latest) == 50 and result.latest[0].period_end == today
    content = page(client_for, org.users["lead_x"]).content.decode()
    assert content.count('data-badge="lightning_deal"') == 50 and "the newest 50 of 60" in content


def test_badge_figures_are_the_engines_kpis(tmp_path):
    from metrics.kpis.selectors import kpi_table

    shop = Shop(tmp_path)
    w1, w2 = dt.date(2026, 8, 3), dt.date(2026, 8, 10)
    sell_week(shop, "A", w1, 100, "w1")
    sell_week(shop, "A", w2, 300, "w2")
    sell_week(shop, "A", w2 + dt.timedelta(weeks=1), 9000, "w3")  # after the window: not judged, not counted
    day = dt.datetime(2026, 8, 12, 9, 0)
    for n in range(50):  # B: 50 sessions on the 12th, all within 30 s; more on the days around it
        shop.chat("B", f"B{n}", day + dt.timedelta(minutes=5 * n), answered_after_s=20)
    for offset in (-1, 1):
        shop.chat("B", f"B-{offset}", day + dt.timedelta(days=offset), answered_after_s=300)
    shop.load()
    badges_award(store=shop.store, start=w1, end=w2 + dt.timedelta(days=6))
    weeks = kpi_table(level="member", grain="week", start=w1, end=w2 + dt.timedelta(days=6), store_ids=[shop.store.pk])
    gmv = {(r["entity_id"], r["period_start"]): r["gmv"] for r in weeks.to_dict("records")}
    a = shop.members["A"].pk
    assert awarded(shop, WEEKLY_SPRINT) == {("A", w2): f"¥{gmv[a, w2]:,.2f} > ¥{gmv[a, w1]:,.2f}"}
    sessions = shop.row("B", grain="day", start=day.date(), end=day.date())["sessions"]
    assert awarded(shop, PERFECT_RESPONSE) == {("B", day.date()): f"{sessions}/{sessions} ≤ 30 s"} and sessions == 50
