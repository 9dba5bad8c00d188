"""Dashboard selectors: periods, ranks, the team dashboard, the personal page, the store
overview, the RFM summary and the cache, on data imported through the importers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from metrics.dashboards.pages import team_dashboard_cached
from metrics.dashboards.presenters import member_dashboard_get, store_overview_get, team_dashboard_get
from metrics.dashboards.selectors.stores import staff_cost_for
from metrics.dashboards.selectors.team import segments_get
from metrics.kpis.cache import dashboard_cached
from metrics.kpis.ranking import ranked_count, ranks
from metrics.kpis.rollups import rollup_partition_recompute
from metrics.kpis.segments import buyer_segments_refresh
from metrics.kpis.selectors import kpi_table
from metrics.kpis.values import scope_kpis_get
from metrics.models import Behaviour, BuyerSegmentCount, Campaign, CampaignPhase, StoreDataVersion
from metrics.registry import Level, kpi_get
from metrics.targets.selectors import NO_DATA
from metrics.targets.services import behaviour_record_set, campaign_create, target_create
from perfmgmt.common.periods import Period, period_resolve, store_today
from teams.models import Store
from teams.selectors.scoping import Viewer
from teams.services.costs import staff_cost_set
from tests.factories import StoreFactory, UserFactory
from tests.metrics.test_kpis import Shop

pytestmark = pytest.mark.django_db
T = dt.datetime
AUG = Period(dt.date(2026, 8, 1), dt.date(2026, 8, 31))
ADMIN = Viewer(user_id=0, is_admin=True)  # sets any target; the targets' rules are tested with the targets


def link(value) -> str:
    return f"/x/{value}"


@pytest.fixture
def shop(tmp_path):
    """August: A sells most, B is fastest, C chats but sells nothing, D is idle. July: less."""
    shop = Shop(tmp_path)
    for day in (3, 10, 20):
        shop.chat("A", f"a{day}", T(2026, 8, day, 10), answered_after_s=40)
        shop.order(f"a{day}", T(2026, 8, day, 11), "300.00", items=2)
        shop.chat("B", f"b{day}", T(2026, 8, day, 14), answered_after_s=5)
        shop.order(f"b{day}", T(2026, 8, day, 15), "100.00", refund="100.00")
        shop.chat("C", f"c{day}", T(2026, 8, day, 16), answered_after_s=None)
    # July, the previous month: one sale of A, inside the previous period only.
    shop.chat("A", "old", T(2026, 7, 15, 10), answered_after_s=60)
    shop.order("old", T(2026, 7, 15, 10, 30), "500.00")
    shop.load()
    return shop


def test_presets_resolve_in_local_days_and_compare_with_the_period_before():
    today = dt.date(2026, 11, 18)  # a Wednesday
    assert period_resolve(preset="today", today=today) == Period(today, today)
    assert period_resolve(preset="yesterday", today=today) == Period(dt.date(2026, 11, 17), dt.date(2026, 11, 17))
    assert period_resolve(preset="last7", today=today) == Period(dt.date(2026, 11, 12), today)
    assert period_resolve(preset="this_week", today=today) == Period(dt.date(2026, 11, 16), today)
    assert period_resolve(preset="last_month", today=today) == Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert period_resolve(preset="custom", today=today, start=dt.date(2026, 9, 9), end=dt.date(2026, 9, 1)) == Period(
        dt.date(2026, 9, 1), dt.date(2026, 9, 9)
    )
    assert period_resolve(preset="nonsense", today=today) == Period(dt.date(2026, 10, 20), today)  # last 30 days
    # A calendar month is compared with the month before; other ranges with as many days before.
    assert AUG.previous() == Period(dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert Period(dt.date(2026, 8, 5), dt.date(2026, 8, 11)).previous() == Period(
        dt.date(2026, 7, 29), dt.date(2026, 8, 4)
    )


def test_ranks_are_competition_ranks_best_first_by_direction():
    gmv, response = kpi_get("gmv"), kpi_get("avg_first_response_s")
    assert ranks({1: Decimal(5), 2: Decimal(9), 3: Decimal(9), 4: None}, gmv) == {2: 1, 3: 1, 1: 3, 4: None}
    assert ranks({1: 40.0, 2: 5.0, 3: None}, response) == {2: 1, 1: 2, 3: None}


def test_nobody_is_ranked_among_zeros_where_zero_means_nothing_done():
    gmv = kpi_get("gmv")
    # All four at zero: nobody is ranked (not "1 / 4" each); of N counts only the ranked.
    everyone_zero = ranks({1: Decimal(0), 2: Decimal("0.00"), 3: 0, 4: 0.0}, gmv)
    assert everyone_zero == {1: None, 2: None, 3: None, 4: None} and ranked_count(everyone_zero) == 0
    some = ranks({1: Decimal(0), 2: Decimal(5), 3: None, 4: float("nan"), 5: Decimal(7)}, gmv)
    assert some == {1: None, 2: 2, 3: None, 4: None, 5: 1} and ranked_count(some) == 2
    # Higher is better or neutral: a zero is nothing done, a rate of 0 % too.
    assert ranks({1: 0.0, 2: 0.25}, kpi_get("inquiry_to_payment_rate")) == {1: None, 2: 1}
    assert ranks({1: 0, 2: 3}, kpi_get("inbound_calls")) == {1: None, 2: 1}
    # Lower is better: no refunds, no refunded orders, nothing unanswered are real best values...
    assert ranks({1: 0.0, 2: 0.1, 3: 0.0}, kpi_get("refund_order_rate")) == {1: 1, 2: 3, 3: 1}
    assert ranks({1: 0, 2: 4}, kpi_get("unanswered_sessions")) == {1: 1, 2: 2}
    assert ranks({1: Decimal("0.00"), 2: Decimal("50.00"), 3: None}, kpi_get("refund_amount")) == {1: 1, 2: 2, 3: None}
    # ... but a duration of zero was not measured: not the fastest.
    assert ranks({1: 0.0, 2: 12.5, 3: 30.0}, kpi_get("avg_first_response_s")) == {1: None, 2: 1, 3: 2}
    assert ranks({1: 0.0, 2: 3.5}, kpi_get("sales_cycle_days")) == {1: None, 2: 1}


def test_team_dashboard_matches_the_kpi_table_and_compares_with_july(shop):
    d = team_dashboard_get(team=shop.team, period=AUG, member_link=link, day_link=link)
    team = kpi_table(level="team", grain="range", start=AUG.start, end=AUG.end, store_ids=[shop.store.pk])
    cards = {card.kpi.key: card for card in d.cards}
    assert cards["gmv"].value == team.loc[0, "gmv"] == Decimal("1200.00")
    assert cards["gmv"].previous == Decimal("500.00")  # July: one order of A
    assert cards["gmv"].change == pytest.approx(1.4) and cards["gmv"].good is True
    assert cards["paid_orders"].value == 6
    assert cards["refund_order_rate"].value == pytest.approx(0.5)
    # July's one answered session took 60 s; August's answered ones average (3×40 + 3×5) / 6 = 22.5 s.
    assert cards["avg_first_response_s"].value == pytest.approx(22.5)
    assert cards["avg_first_response_s"].good is True  # lower is better
    assert cards["inquiry_to_payment_rate"].points is True
    # The trend: one value per day of the period, the team's day figures.
    assert len(d.trend["data"][0]["x"]) == 31
    values = dict(zip(d.trend["data"][0]["x"], d.trend["data"][0]["y"], strict=True))
    assert values["2026-08-03"] == 400.0 and values["2026-08-04"] is None
    # The leaderboard: by GMV, best first; C sold nothing (GMV 0: unranked, last); D had no session.
    names = [row.name for row in d.leaderboard]
    assert names == ["Agent A", "Agent B", "Agent C"]
    assert [row.rank for row in d.leaderboard] == [1, 2, None]
    assert d.leaderboard[2].values["gmv"] == Decimal("0.00")
    assert d.leaderboard[0].values["gmv"] == Decimal("900.00")
    assert len(d.leaderboard[0].spark) == 31 and d.leaderboard[0].spark[2] == 300.0
    # The scatter: members with paid orders, team medians as lines.
    scatter = d.scatter["data"][0]
    assert scatter["text"] == ["Agent A", "Agent B"] and scatter["x"] == [3, 3]
    assert {shape["type"] for shape in d.scatter["layout"]["shapes"]} == {"line"}
    assert d.response["unanswered"] == pytest.approx(3 / 9)
    assert d.response["within_15s"] == pytest.approx(3 / 9)


def test_leaderboard_sorts_by_any_kpi_in_its_direction(shop):
    by_speed = team_dashboard_get(
        team=shop.team, period=AUG, sort="avg_first_response_s", member_link=link, day_link=link
    )
    assert [row.name for row in by_speed.leaderboard] == ["Agent B", "Agent A", "Agent C"]  # C: undefined, last
    assert by_speed.descending is False
    reversed_ = team_dashboard_get(
        team=shop.team, period=AUG, sort="gmv", descending=False, member_link=link, day_link=link
    )
    # Worst first among the ranked; C, unranked at GMV 0, stays after them.
    assert [(row.name, row.rank) for row in reversed_.leaderboard] == [
        ("Agent B", 2),
        ("Agent A", 1),
        ("Agent C", None),
    ]


def test_a_period_without_data_is_empty_and_names_the_last_day(shop):
    d = team_dashboard_get(team=shop.team, period=Period(dt.date(2026, 9, 1), dt.date(2026, 9, 30)), member_link=link,
                           day_link=link)  # fmt: skip
    assert d.has_data is False and d.leaderboard == []
    assert d.last_day == dt.date(2026, 8, 20)
    gmv = next(card for card in d.cards if card.kpi.key == "gmv")
    assert gmv.value is None and gmv.change is None  # no rows: shown as "—", not as a 100% drop
    assert gmv.previous == Decimal("1200.00")  # the previous period of September is August


def test_personal_page_shows_own_figures_team_medians_and_rank_only(shop):
    today = dt.date(2026, 8, 20)
    d = member_dashboard_get(member=shop.members["B"], today=today, period=AUG, day_link=link)
    gmv_today, gmv_week, gmv_month = d.cells["gmv"]
    assert gmv_week.value == Decimal("100.00")  # Monday 17 to Thursday 20 August: the 20th only
    # A 300, B 100, C 0: C is not ranked, so B is 2 of 2 (not of 3).
    assert gmv_today.value == Decimal("100.00") and gmv_today.rank == 2 and gmv_today.ranked == 2
    assert gmv_today.team_median == pytest.approx(100.0)
    assert gmv_month.value == Decimal("300.00") and gmv_month.rank == 2
    speed_month = d.cells["avg_first_response_s"][2]
    assert speed_month.value == pytest.approx(5.0) and speed_month.rank == 1
    # Nothing names another member.
    assert "Agent A" not in repr(d) and "Agent C" not in repr(d)
    trend = d.trend["data"]
    assert trend[1]["name"] and len(trend[1]["y"]) == 31  # the team median line


def test_personal_page_of_a_member_with_nothing_sold_is_unranked(shop):
    d = member_dashboard_get(member=shop.members["C"], today=dt.date(2026, 8, 20), period=AUG, day_link=link)
    for cell in d.cells["gmv"] + d.cells["paid_orders"]:
        assert cell.value == 0 and cell.rank is None
        assert cell.ranked == 2  # A and B
    # Refunded orders: C has no paid order (no value); A's 0 % is the best real value, ranked.
    refunds_month = d.cells["refund_order_rate"][2]
    assert refunds_month.value is None and (refunds_month.rank, refunds_month.ranked) == (None, 2)


def test_store_overview_counts_staff_and_prorates_entered_cost(shop):
    staff_cost_set(store=shop.store, month=dt.date(2026, 8, 15), amount=Decimal("3100.00"))
    first_ten = Period(dt.date(2026, 8, 1), dt.date(2026, 8, 10))
    assert staff_cost_for(store_id=shop.store.pk, period=first_ten) == Decimal("1000.00")
    assert staff_cost_for(store_id=shop.store.pk, period=Period(dt.date(2026, 9, 1), dt.date(2026, 9, 5))) is None
    overview = store_overview_get(stores=[shop.store], period=AUG, store_link=link)
    row = overview.rows[0]
    assert row.staff == 3  # A, B and C had sessions; D none
    assert row.gmv == Decimal("1200.00") and row.paid_orders == 6
    assert row.gmv_per_staff == Decimal("400.00")
    assert row.staff_cost == Decimal("3100.00") and row.cost_share == pytest.approx(3100 / 1200)
    assert row.daily_inquiries == pytest.approx(9 / 31)


def test_store_overview_shows_the_engines_store_kpis(shop):
    """GMV, paid orders and UV are the engine's store KPIs (kpi_table at the store level, the
    registry's formulas), for a store with rows and for one without (0); a table of a few KPIs
    is the full table's values (the paid-buyer measures it skips feed none of them)."""
    empty = StoreFactory()
    overview = store_overview_get(stores=[shop.store, empty], period=AUG, store_link=link)
    for row in overview.rows:
        kpis = scope_kpis_get(level=Level.STORE, store_id=row.store.pk, start=AUG.start, end=AUG.end)
        assert (row.gmv, row.paid_orders, row.uv) == (
            kpis.get("gmv", Decimal("0.00")), kpis.get("paid_orders", 0), kpis.get("uv", 0))  # fmt: skip
    assert overview.rows[0].gmv == Decimal("1200.00") and overview.rows[1].gmv == Decimal("0.00")
    full = kpi_table(level=Level.STORE, grain="week", start=AUG.start, end=AUG.end, store_ids=[shop.store.pk])
    few = kpi_table(level=Level.STORE, grain="week", start=AUG.start, end=AUG.end, store_ids=[shop.store.pk],
                    only=["gmv", "inquiring_buyers", "inquiry_rate"])  # fmt: skip
    assert few.to_dict("records") == full[list(few.columns)].to_dict("records")
    assert full["paying_buyers"].sum() > 0


def test_rfm_summary_is_written_per_store_and_read_as_of_a_day(shop):
    rows = buyer_segments_refresh(store=shop.store)
    assert sum(r.buyers for r in rows) == 7  # six August buyers and July's one
    assert BuyerSegmentCount.objects.filter(store=shop.store).count() == 6
    buyer_segments_refresh(store=shop.store)  # idempotent
    assert BuyerSegmentCount.objects.filter(store=shop.store).count() == 6
    segments, as_of = segments_get(store_id=shop.store.pk, as_of=dt.date(2026, 12, 31))
    assert as_of == dt.date(2026, 8, 20) and sum(s[2] for s in segments) == 7


def test_cached_dashboards_are_recomputed_when_the_store_data_changes(shop):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert dashboard_cached(kind="t", store_ids=[shop.store.pk], key=(1,), compute=compute) == 1
    assert dashboard_cached(kind="t", store_ids=[shop.store.pk], key=(1,), compute=compute) == 1
    assert dashboard_cached(kind="t", store_ids=[shop.store.pk], key=(2,), compute=compute) == 2
    before = StoreDataVersion.objects.get(store=shop.store).version
    rollup_partition_recompute(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 31))
    assert StoreDataVersion.objects.get(store=shop.store).version == before + 1
    assert dashboard_cached(kind="t", store_ids=[shop.store.pk], key=(1,), compute=compute) == 3


def test_while_a_store_refreshes_the_pages_computed_before_are_served(shop):
    """An import's refresh (KPIs to warm-up) serves the page computed before the data changed
    instead of computing it again on data still changing; after it, the page is computed."""
    from metrics.dashboards.services import dashboards_refresh_begin, dashboards_refresh_end
    from metrics.kpis.cache import stores_refreshing

    other = Store.objects.create(name="另一家店")
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    def page(key=(1,)):
        return dashboard_cached(kind="t", store_ids=[shop.store.pk], key=key, compute=compute)

    assert page() == 1
    dashboards_refresh_begin(store_ids=[shop.store.pk])
    assert stores_refreshing(store_ids=[shop.store.pk, other.pk]) and not stores_refreshing(store_ids=[other.pk])
    rollup_partition_recompute(store=shop.store, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 31))
    assert page() == 1  # the figures from before the recompute, not computed again
    assert page(key=(2,)) == 2  # never computed before: computed, and cached at the new version
    assert page(key=(2,)) == 2
    with translation.override("en"):  # another language is another page: computed
        assert page() == 3
    # Another store's refresh does not hold this store's pages back.
    dashboards_refresh_end(store_id=shop.store.pk)
    dashboards_refresh_begin(store_ids=[other.pk])
    assert not stores_refreshing(store_ids=[shop.store.pk])
    assert page() == 4  # the refresh is over: computed on the new data
    assert page() == 4


# --- targets and promotions on the dashboards ----------------------------------------------------


def target(shop, *, name: str, kpi_key: str = "gmv", start=AUG.start, end=AUG.end, value: str, team=True, **more):
    fields = {"tier": "strategy", "period_kind": "month", "store": shop.store, "team": shop.team if team else None}
    return target_create(viewer=ADMIN, user=None, **{**fields, **more}, name=name, kpi_key=kpi_key, start=start,
                         end=end, value=Decimal(value))  # fmt: skip


@translation.override("en")  # the labels asserted below are the English ones
def test_a_team_target_shows_on_its_card_with_its_completion_and_on_the_trend(shop):
    august = target(shop, name="August GMV", value="2400")
    target(shop, name="Q3 GMV", start=dt.date(2026, 7, 1), end=dt.date(2026, 9, 30), value="9000",
           period_kind="quarter")  # fmt: skip
    target(shop, name="September GMV", start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30), value="1")
    # No team target for paid orders: the store's (a KPI measured at store level too) stands in.
    target(shop, name="Store orders", kpi_key="paid_orders", value="12", team=False)
    d = team_dashboard_get(team=shop.team, period=AUG, member_link=link, day_link=link, today=dt.date(2026, 11, 1))
    cards = {card.kpi.key: card for card in d.cards}
    gmv = cards["gmv"]
    # The month's target, not the quarter's: the shortest period covering the period's end.
    assert gmv.target.target_id == august.pk and gmv.target_value == Decimal("2400")
    assert gmv.target.actual == Decimal("1200.00") and gmv.completion == Decimal("0.5")
    # Taken on 31 August, the period's end; the figures end on the 20th: 20 of 31 days' worth expected.
    assert d.targets_as_of == dt.date(2026, 8, 31) and gmv.target.as_of == dt.date(2026, 8, 20)
    assert gmv.target.expected == pytest.approx(Decimal(2400) * 20 / 31)
    # The card's days are those of the target: not prorated; they are over, so it is missed, not behind.
    assert not gmv.target.prorated and (gmv.target.start, gmv.target.end) == (AUG.start, AUG.end)
    assert gmv.status == "missed" and gmv.target.status_label
    orders = cards["paid_orders"].target
    assert orders.level == "store" and orders.actual == 6 and orders.completion == Decimal("0.5")
    assert cards["aov"].target is None and cards["aov"].status is None
    # The trend draws the month's target per day (a sum: the value over its 31 days), dashed and labelled.
    line = next(trace for trace in d.trend["data"] if trace["name"] == "Target")
    assert line["line"]["dash"] == "dash" and len(line["y"]) == 31
    assert line["y"][0] == pytest.approx(2400 / 31) and line["y"][-1] == pytest.approx(2400 / 31)
    assert any("Target" in note["text"] for note in d.trend["layout"]["annotations"])
    assert d.has_trend_target and d.trend["data"][0]["y"][2] == 400.0  # the team's own line is unchanged
    # A rate's target is the value itself, every day it covers.
    target(shop, name="Conversion", kpi_key="inquiry_to_payment_rate", value="0.40", start=dt.date(2026, 8, 10),
           end=dt.date(2026, 8, 20), period_kind="custom")  # fmt: skip
    d = team_dashboard_get(team=shop.team, period=AUG, trend_kpi="inquiry_to_payment_rate", member_link=link,
                           day_link=link, today=dt.date(2026, 11, 1))  # fmt: skip
    line = next(trace for trace in d.trend["data"] if trace["name"] == "Target")
    assert line["y"][8] is None and line["y"][9] == pytest.approx(0.4) and line["y"][20] is None
    assert next(c for c in d.cards if c.kpi.key == "inquiry_to_payment_rate").target is None  # ended on the 20th


def test_a_card_inside_a_month_shows_the_months_target_prorated_to_its_days(shop):
    august = target(shop, name="August GMV", value="3100")
    ten = Period(dt.date(2026, 8, 1), dt.date(2026, 8, 10))
    d = team_dashboard_get(team=shop.team, period=ten, member_link=link, day_link=link, today=dt.date(2026, 11, 1))
    gmv = next(card for card in d.cards if card.kpi.key == "gmv")
    # 10 of August's 31 even days: 1,000 for these days, against the card's own 800 (the 3rd and 10th).
    assert gmv.target.prorated and (gmv.target.start, gmv.target.end, gmv.target.days) == (ten.start, ten.end, 10)
    assert gmv.target_value == pytest.approx(Decimal(1000)) and gmv.value == Decimal("800.00")
    assert gmv.target.actual == gmv.value and gmv.completion == pytest.approx(Decimal("0.8"))
    assert [s.target_id for s in gmv.target.sources] == [august.pk] and gmv.status == "missed"  # the days are over
    # A running week (Monday 17th to Friday 21st, today): 5 days' worth, 4 of them complete.
    week = period_resolve(preset="this_week", today=dt.date(2026, 8, 21))
    d = team_dashboard_get(team=shop.team, period=week, member_link=link, day_link=link, today=dt.date(2026, 8, 21))
    gmv = next(card for card in d.cards if card.kpi.key == "gmv")
    assert gmv.target_value == pytest.approx(Decimal(500)) and gmv.target.expected == pytest.approx(Decimal(400))
    assert gmv.target.days_counted == 4 and gmv.value == Decimal("400.00") and gmv.status == "on_pace"


def test_a_card_over_two_months_prorates_each_months_target_by_its_pace(shop):
    july = target(shop, name="July GMV", value="3100", start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 31))
    # August paced by weekday: before it the store sold on one day only, Wednesday 15 July, so all
    # of August's target falls on its four Wednesdays (5, 12, 19, 26).
    august = target(shop, name="August GMV", value="6200", pace="weekdays")
    span = Period(dt.date(2026, 7, 22), dt.date(2026, 8, 10))
    d = team_dashboard_get(team=shop.team, period=span, member_link=link, day_link=link, today=dt.date(2026, 11, 1))
    gmv = next(card for card in d.cards if card.kpi.key == "gmv")
    # July's 10 of 31 days (1,000) and August's one Wednesday of four (1,550).
    assert gmv.target.prorated and gmv.target_value == pytest.approx(Decimal(2550))
    assert [s.target_id for s in gmv.target.sources] == [july.pk, august.pk]
    assert gmv.value == Decimal("800.00") and gmv.completion == pytest.approx(Decimal(800) / 2550)
    # The trend's daily target follows the same pace: nothing on Monday 3 August, 1,550 on the 5th.
    assert d.trend_targets[span.dates().index(dt.date(2026, 8, 3))] == 0
    assert d.trend_targets[span.dates().index(dt.date(2026, 8, 5))] == pytest.approx(Decimal(1550))
    assert d.trend_targets[0] == pytest.approx(Decimal(100))
    # Without July's target the days are not all covered: the card shows August's target with its
    # own dates and its own progress, not prorated.
    july.delete()
    d = team_dashboard_get(team=shop.team, period=span, member_link=link, day_link=link, today=dt.date(2026, 11, 1))
    gmv = next(card for card in d.cards if card.kpi.key == "gmv")
    assert not gmv.target.prorated and (gmv.target.start, gmv.target.end) == (august.start, august.end)
    assert gmv.target_value == Decimal("6200") and gmv.target.actual == Decimal("800.00")  # 1 to 10 August


def test_a_new_target_shows_at_once_on_the_cached_page(shop):
    before = team_dashboard_cached(team=shop.team, preset="custom", period=AUG)
    assert all(card.target is None for card in before.cards)
    target(shop, name="August GMV", value="2400")
    after = team_dashboard_cached(team=shop.team, preset="custom", period=AUG)  # no data import in between
    assert next(c for c in after.cards if c.kpi.key == "gmv").target_value == Decimal("2400")


@translation.override("en")  # the labels asserted below are the English ones
def test_promotion_phases_are_bands_on_the_team_and_the_personal_trend(shop):
    campaign_create(viewer=ADMIN, user=None, store=shop.store, kind="custom", name="夏末清仓",
                    phases={"preheat": (dt.date(2026, 8, 5), dt.date(2026, 8, 9)),
                            "peak": (dt.date(2026, 8, 10), dt.date(2026, 8, 12)),
                            "after": (dt.date(2026, 9, 2), dt.date(2026, 9, 8))})  # fmt: skip
    everywhere = Campaign.objects.create(store=None, name="全平台大促")
    CampaignPhase.objects.create(campaign=everywhere, kind="peak", start=dt.date(2026, 7, 28), end=dt.date(2026, 8, 2))
    elsewhere = Campaign.objects.create(store=Store.objects.create(name="别家店"), name="别家")
    CampaignPhase.objects.create(campaign=elsewhere, kind="peak", start=dt.date(2026, 8, 15), end=dt.date(2026, 8, 16))

    def bands(figure):
        return [s for s in figure["layout"].get("shapes", []) if s["type"] == "rect" and s["yref"] == "paper"]

    d = team_dashboard_get(team=shop.team, period=AUG, member_link=link, day_link=link)
    shaded = bands(d.trend)
    # The other store's promotion and the phase in September are not drawn; the one of every
    # store is, clipped to the chart's first day.
    assert len(shaded) == 3 and [b.label for b in d.bands][1:] == ["夏末清仓 · Pre-heat", "Peak"]
    assert shaded[0]["x0"].startswith("2026-07-31 12:00") and shaded[0]["xref"] == "x"
    assert shaded[1]["x0"].startswith("2026-08-04 12:00") and shaded[1]["x1"].startswith("2026-08-09 12:00")
    texts = [note["text"] for note in d.trend["layout"]["annotations"]]
    assert "夏末清仓 · Pre-heat" in texts and "全平台大促 · Peak" in texts
    personal = member_dashboard_get(member=shop.members["A"], today=dt.date(2026, 8, 20), period=AUG, day_link=link)
    assert len(bands(personal.trend)) == 3
    # The other charts have no bands.
    assert all(s["type"] == "line" for s in d.scatter["layout"]["shapes"])


def test_personal_page_lists_the_members_targets_of_the_week_only_their_own(shop):
    a, b = shop.members["A"], shop.members["B"]
    week = {"tier": "execution", "period_kind": "week", "start": dt.date(2026, 8, 17), "end": dt.date(2026, 8, 23)}
    mine = target(shop, name="B GMV week 34", value="300", member=b, **week)
    target(shop, name="A GMV week 34", value="900", member=a, **week)
    target(shop, name="B GMV week 33", value="300", member=b, **{**week, "start": dt.date(2026, 8, 10),
                                                                 "end": dt.date(2026, 8, 16)})  # fmt: skip
    calls = Behaviour.objects.create(store=shop.store, name="客户需求上报", unit="条")
    counted = target(shop, name="B needs week 34", kpi_key="", behaviour=calls, value="18", member=b, **week)
    for day, count in ((17, 5), (19, 4)):
        behaviour_record_set(viewer=ADMIN, user=None, member=b, behaviour=calls, date=dt.date(2026, 8, day),
                             count=count)  # fmt: skip
    today = dt.date(2026, 8, 20)  # a Thursday
    d = member_dashboard_get(member=b, today=today, period=AUG, day_link=link)
    rows = {row.target_id: row for row in d.targets}
    assert set(rows) == {mine.pk, counted.pk}  # not A's, not last week's
    gmv = rows[mine.pk]
    assert gmv.actual == Decimal("100.00") and gmv.completion == pytest.approx(Decimal(1) / 3)
    # Data of today (the 20th) count in the actual; the pace counts the complete days, 17 to 19:
    # nothing sold on them, about 129 expected.
    assert gmv.status == "behind" and gmv.days_counted == 3 and gmv.days == 7
    assert gmv.expected == pytest.approx(Decimal(300) * 3 / 7)
    # Today: the 200 missing over the working days left, Thursday to Saturday.
    assert gmv.today_about == pytest.approx(Decimal(200) / 3)
    needs = rows[counted.pk]
    assert needs.actual == 9 and needs.value_display == "18 条" and needs.today_display == "3 条"
    assert "A GMV" not in repr(d) and "Agent A" not in repr(d)
    # On the Monday of a new week, before its first import, a KPI target is waiting for figures.
    week35 = {**week, "start": dt.date(2026, 8, 24), "end": dt.date(2026, 8, 30)}
    target(shop, name="B GMV week 35", value="300", member=b, **week35)
    monday = member_dashboard_get(member=b, today=dt.date(2026, 8, 24), period=AUG, day_link=link)
    assert [(row.name, row.status) for row in monday.targets] == [("B GMV week 35", NO_DATA)]
    assert monday.targets[0].today_about == pytest.approx(Decimal(300) / 6)


@pytest.fixture
def today_shop(tmp_path):
    """Today (the store's): A sells 300, B 100, C chats and sells nothing, D is idle."""
    shop = Shop(tmp_path)
    today = store_today(shop.store)
    for n, (agent, amount) in enumerate((("A", "300.00"), ("B", "100.00"), ("C", None))):
        at = dt.datetime.combine(today, dt.time(0, n))
        shop.chat(agent, f"buyer{n}", at, answered_after_s=10)
        if amount:
            shop.order(f"buyer{n}", at + dt.timedelta(seconds=30), amount)
    shop.load()
    return shop


@pytest.mark.parametrize(("language", "unranked"), [("en", "unranked"), ("zh-hans", "未排名")])
def test_unranked_members_show_a_dash_that_says_unranked_in_both_languages(today_shop, client, language, unranked):
    shop = today_shop
    client.force_login(UserFactory(username="admin", is_superuser=True))
    query = {"team": shop.team.pk, "preset": "today"}
    html = client.get("/dashboard/", query, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    board = html[html.index('data-testid="leaderboard"') :]
    rows = board[board.index("<tbody>") : board.index("</tbody>")].split("</tr>")
    assert ["Agent A" in rows[0], "Agent B" in rows[1], "Agent C" in rows[2]] == [True] * 3
    assert '<td class="num rank">1</td>' in rows[0] and '<td class="num rank">2</td>' in rows[1]
    # C sold nothing (GMV 0): after the ranked, a dash that says why, in the page's language.
    assert '<td class="num rank"><span class="unranked" title="' in rows[2] and unranked in rows[2]
    assert "unranked" not in rows[0] + rows[1]
    # The personal pages: C unranked today, this week and this month; B 2 of the 2 ranked, not of 3.
    c = client.get(f"/dashboard/members/{shop.members['C'].pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    c_gmv = c.split('<tr data-kpi="gmv">')[1].split("</tr>")[0]
    assert c_gmv.count('class="unranked"') == 3 and unranked in c_gmv
    b = client.get(f"/dashboard/members/{shop.members['B'].pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    b_gmv = b.split('<tr data-kpi="gmv">')[1].split("</tr>")[0]
    assert b_gmv.count("2 / 2") == 3 and "unranked" not in b_gmv


def test_the_heatmap_rates_no_cell_from_fewer_than_the_minimum_and_gives_their_count(shop):
    with translation.override("en"):
        d = team_dashboard_get(team=shop.team, period=AUG, member_link=link, day_link=link)
    rates, few = d.heatmap["data"]
    # Thursday 20 August at 10:00: A's one buyer, who paid. Not "100 %" from one: grey, with the count.
    assert rates["z"][3][10] is None and few["z"][3][10] == 1
    assert few["hovertext"][3][10] == "Too few to rate: 1 inquiring buyer (a rate needs 5)"
    # Mondays 3 and 10 August at 10:00: two buyers; still too few.
    assert few["hovertext"][0][10] == "Too few to rate: 2 inquiring buyers (a rate needs 5)"
    assert all(value is None for row in rates["z"] for value in row)  # no cell of this shop has 5
    assert d.heatmap_minimum == 5
