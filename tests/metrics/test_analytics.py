"""Funnel, conversion heatmap, first-response distribution, RFM and churn risk, member alerts."""

import datetime as dt

import pytest

from metrics.importing.services import traffic_import
from metrics.kpis.analytics import (
    churn_risk_list,
    conversion_heatmap,
    first_response_distribution,
    funnel_get,
    member_alerts,
    rfm_buyers,
)
from metrics.kpis.services import kpis_after_import
from tests.metrics.helpers import write
from tests.metrics.test_kpis import Shop

pytestmark = pytest.mark.django_db
AUG = (dt.date(2026, 8, 1), dt.date(2026, 8, 31))


def test_funnel_and_uv_by_channel(tmp_path):
    shop = Shop(tmp_path)
    for i in range(6):  # six buyers chat; four order, three pay, one of them twice
        shop.chat("A", f"f{i}", dt.datetime(2026, 8, 5, 10 + i))
    for i in range(4):
        shop.order(f"f{i}", dt.datetime(2026, 8, 5, 11 + i), "10.00", unpaid=(i == 3))
    shop.order("f0", dt.datetime(2026, 8, 6, 9), "10.00")
    shop.load()
    header = "日期,店铺名称,流量来源,访客数,浏览量,加购人数"
    batch = traffic_import(
        store=None,
        file=write(
            tmp_path / "t.csv",
            [
                header,
                f"2026-08-05,{shop.store.name},手淘搜索,300,900,20",
                f"2026-08-05,{shop.store.name},直播,100,200,5",
            ],
        ),
        user=None,
    )
    kpis_after_import(batch=batch)
    funnel = funnel_get(store_id=shop.store.pk, start=AUG[0], end=AUG[1])
    assert funnel["steps"] == [
        ("uv", 400),
        ("inquiring_buyers", 6),
        ("ordered_buyers", 4),
        ("paying_buyers", 3),
        ("repeat_buyers", 1),
    ]
    assert funnel["uv_by_channel"] == [("手淘搜索", 300), ("直播", 100)]


def test_conversion_heatmap_by_weekday_and_hour(tmp_path):
    shop = Shop(tmp_path)
    monday, friday = dt.datetime(2026, 8, 3, 21), dt.datetime(2026, 8, 7, 10)
    for i in range(4):
        shop.chat("A", f"m{i}", monday)
        shop.chat("B", f"x{i}", friday)
    for i in range(3):
        shop.order(f"m{i}", monday + dt.timedelta(minutes=30), "10.00")
    shop.order("x0", friday + dt.timedelta(minutes=30), "10.00")
    shop.load()
    grid = conversion_heatmap(team_id=shop.team.pk, start=AUG[0], end=AUG[1])
    assert grid.shape == (7, 24)
    assert grid.loc[0, 21] == pytest.approx(0.75) and grid.loc[4, 10] == pytest.approx(0.25)
    assert grid.isna().sum().sum() == 7 * 24 - 2  # no sessions: no rate, not zero


def test_first_response_distribution(tmp_path):
    shop = Shop(tmp_path)
    for i, delay in enumerate([5, 15, 20, 45, 200, None]):
        shop.chat("A", f"r{i}", dt.datetime(2026, 8, 4, 10, i), answered_after_s=delay)
    shop.load()
    shares = first_response_distribution(start=AUG[0], end=AUG[1], member_ids=[shop.members["A"].pk])
    assert shares == pytest.approx(
        {"within_15s": 2 / 6, "within_30s": 3 / 6, "within_3min": 4 / 6, "unanswered": 1 / 6}
    )
    assert (
        first_response_distribution(start=AUG[0], end=AUG[1], member_ids=[shop.members["B"].pk])["within_15s"] is None
    )


def test_rfm_segments_repurchase_interval_and_churn_risk(tmp_path):
    shop = Shop(tmp_path)
    # A loyal buyer every 7 days until 1 August, then silence: overdue (30 days > 1.5 × 7).
    for week in range(6):
        shop.order("loyal", dt.datetime(2026, 6, 27, 10) + dt.timedelta(days=7 * week), "300.00")
    # A buyer who buys every 10 days, last on 25 August: on time.
    for k in range(4):
        shop.order("steady", dt.datetime(2026, 7, 26, 10) + dt.timedelta(days=10 * k), "100.00")
    for i in range(8):  # one-off buyers
        shop.order(f"once{i}", dt.datetime(2026, 8, 1 + 3 * i, 10), "50.00")
    shop.load()
    as_of = dt.date(2026, 8, 31)
    buyers = rfm_buyers(store_id=shop.store.pk, as_of=as_of).set_index("buyer")
    assert buyers.loc["loyal", "interval_days"] == 7 and buyers.loc["loyal", "recency_days"] == 30
    assert buyers.loc["steady", "interval_days"] == 10 and not buyers.loc["steady", "churn_risk"]
    assert buyers.loc["loyal", "frequency"] == 6 and buyers.loc["loyal", "monetary_cents"] == 180000
    assert buyers.loc["once7", "segment"] == "new"  # bought once, recently
    assert buyers.loc["loyal", "segment"] in {"loyal", "at_risk"}
    assert set(buyers["segment"]) <= {"champions", "loyal", "new", "at_risk", "lost", "needs_attention"}
    risky = churn_risk_list(store_id=shop.store.pk, as_of=as_of)
    assert list(risky["buyer"]) == ["loyal"]


def test_member_alerts_against_their_own_baseline(tmp_path):
    shop = Shop(tmp_path)
    as_of = dt.date(2026, 8, 31)
    # A: baseline converts half of 40 buyers; last week 1 of 25, with slow replies and unanswered chats.
    for i in range(40):
        at = dt.datetime(2026, 8, 1 + i % 20, 10, i % 50)
        shop.chat("A", f"base{i}", at, answered_after_s=10)
        if i % 2 == 0:
            shop.order(f"base{i}", at + dt.timedelta(hours=1), "10.00")
    for i in range(25):
        at = dt.datetime(2026, 8, 25 + i % 7, 15, i)
        shop.chat("A", f"late{i}", at, answered_after_s=None if i < 3 else 60)
    shop.order("late5", dt.datetime(2026, 8, 25 + 5 % 7, 16), "10.00")
    # B: steady.
    for i in range(60):
        at = dt.datetime(2026, 8, 1 + i % 31, 11, i % 50)
        shop.chat("B", f"b{i}", at, answered_after_s=12)
        if i % 3 == 0:
            shop.order(f"b{i}", at + dt.timedelta(hours=1), "10.00")
    shop.load()
    alerts = member_alerts(as_of=as_of, store_ids=[shop.store.pk])
    kinds = {(a.member_id, a.kind) for a in alerts}
    a = shop.members["A"].pk
    assert kinds == {(a, "conversion_drop"), (a, "slower_response"), (a, "unanswered")}
    slower = next(x for x in alerts if x.kind == "slower_response")
    assert slower.baseline == pytest.approx(10) and slower.recent == pytest.approx(60)


# --- every value is the KPI engine's (issue 21) --------------------------------------------------


def test_member_alerts_compare_the_engines_kpis_of_each_window(tmp_path):
    shop = Shop(tmp_path)
    as_of = dt.date(2026, 8, 31)  # recent: 25–31 August; baseline: 28 July – 24 August
    for i in range(30):  # baseline: 30 buyers answered in 10 s, 15 of them pay
        at = dt.datetime(2026, 7, 28 + i % 4, 10, i) if i < 8 else dt.datetime(2026, 8, 1 + i % 20, 10, i)
        shop.chat("A", f"base{i}", at, answered_after_s=10)
        if i % 2 == 0:
            shop.order(f"base{i}", at + dt.timedelta(hours=1), "10.00")
    for i in range(25):  # recent: answered in 60 s, 2 of 25 pay
        at = dt.datetime(2026, 8, 25 + i % 7, 15, i)
        shop.chat("A", f"late{i}", at, answered_after_s=60)
        if i < 2:
            shop.order(f"late{i}", at + dt.timedelta(hours=1), "10.00")
    for i, month, day in ((0, 7, 1), (1, 7, 2), (2, 9, 1), (3, 9, 2)):  # outside both windows: fast, all paid
        at = dt.datetime(2026, month, day, 9, i)
        shop.chat("A", f"out{i}", at, answered_after_s=1)
        shop.order(f"out{i}", at + dt.timedelta(minutes=5), "10.00")
    shop.load()
    alerts = {a.kind: a for a in member_alerts(as_of=as_of, store_ids=[shop.store.pk])}
    recent = shop.row("A", start=dt.date(2026, 8, 25), end=as_of)
    baseline = shop.row("A", start=dt.date(2026, 7, 28), end=dt.date(2026, 8, 24))
    drop, slower = alerts["conversion_drop"], alerts["slower_response"]
    assert (drop.recent, drop.baseline) == (recent["inquiry_to_payment_rate"], baseline["inquiry_to_payment_rate"])
    assert (drop.recent, drop.baseline) == (pytest.approx(2 / 25), pytest.approx(0.5))
    assert (slower.recent, slower.baseline) == (recent["avg_first_response_s"], baseline["avg_first_response_s"])
    assert drop.store_id == shop.store.pk


def test_the_heatmap_cell_and_the_15_second_share_are_the_engines_kpis(tmp_path):
    shop = Shop(tmp_path)
    monday = dt.datetime(2026, 8, 3, 21)
    for i, (agent, reply) in enumerate((("A", 5), ("A", 20), ("B", 14), ("B", None))):
        shop.chat(agent, f"m{i}", monday + dt.timedelta(minutes=i), answered_after_s=reply)
    shop.chat("A", "m1", monday + dt.timedelta(minutes=9))  # a buyer of both: once in the team
    shop.order("m1", monday + dt.timedelta(minutes=30), "10.00")
    shop.chat("A", "july", dt.datetime(2026, 7, 27, 21), answered_after_s=99)  # a Monday 21:00 outside August
    shop.order("july", dt.datetime(2026, 7, 27, 22), "10.00")
    shop.load()
    team = shop.table(level="team").to_dict("records")[0]
    grid = conversion_heatmap(team_id=shop.team.pk, start=AUG[0], end=AUG[1])
    assert grid.loc[0, 21] == pytest.approx(team["inquiry_to_payment_rate"]) == pytest.approx(1 / 4)
    shares = first_response_distribution(start=AUG[0], end=AUG[1], member_ids=[shop.members["A"].pk])
    assert shares["within_15s"] == shop.row("A")["answered_15s_rate"] == pytest.approx(1 / 3)  # 5 s of 5, 20, 20 s
