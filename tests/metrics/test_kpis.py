"""The KPI engine against the spec: the worked example, distinct counts, team moves, late chats,
refunds, empty rates, idempotent recomputes."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics.importing.services import orders_import
from metrics.kpis.services import kpis_after_import, kpis_recompute_store_full
from metrics.models import InquiryBuyerDay, MemberDay, Order, StoreBuyerDay, StoreDay
from teams.services.members import membership_move
from tests.factories import TeamFactory, TeamMembershipFactory
from tests.metrics.helpers import ORDER_HEADER, Shop, write

pytestmark = pytest.mark.django_db


def _day(i: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 8, 1 + i % 28, hour, 0, 0) + dt.timedelta(minutes=i % 50)


# The spec's worked example: (agent, inquiring buyers, paying buyers, buyers with two orders,
# amounts of the paid orders in cents, refunded orders).
EXAMPLE = {
    "A": (250, 100, 0, [40000] * 100, 10),
    "B": (600, 120, 0, [33334] * 40 + [33333] * 80, 30),
    "C": (100, 30, 10, [37500] * 40, 16),
    "D": (50, 35, 5, [50000] * 40, 12),
}
EXPECTED = {  # gmv, paid orders, aov, inquiry_to_payment_rate, refund_order_rate
    "A": (Decimal("40000.00"), 100, Decimal("400.00"), 0.40, 0.10),
    "B": (Decimal("40000.00"), 120, Decimal("333.33"), 0.20, 0.25),
    "C": (Decimal("15000.00"), 40, Decimal("375.00"), 0.30, 0.40),
    "D": (Decimal("20000.00"), 40, Decimal("500.00"), 0.70, 0.30),
}


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@pytest.fixture
def example(tmp_path) -> Shop:
    shop = Shop(tmp_path)
    for agent, (inquiring, paying, twice, amounts, refunded) in EXAMPLE.items():
        amounts = iter(amounts)
        made = 0
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
    return shop


def test_worked_example_figure_by_figure(example):
    for agent, (gmv, orders, aov, conversion, refund_rate) in EXPECTED.items():
        row = example.row(agent)
        assert row["gmv"] == gmv, agent
        assert row["paid_orders"] == orders, agent
        assert row["aov"] == aov, agent
        assert row["inquiry_to_payment_rate"] == pytest.approx(conversion), agent
        assert row["refund_order_rate"] == pytest.approx(refund_rate), agent
        inquiring, paying = EXAMPLE[agent][:2]
        assert (row["inquiring_buyers"], row["paid_buyers"], row["sessions"]) == (inquiring, paying, inquiring)
    # What a manager reads: C below the 20,000 target; B converts few of many inquiries, D many of few.
    assert example.row("C")["gmv"] < Decimal("20000")
    assert example.row("B")["inquiring_buyers"] > example.row("D")["inquiring_buyers"]
    assert example.row("B")["inquiry_to_payment_rate"] < example.row("D")["inquiry_to_payment_rate"]


def test_store_level_and_sales_share(example):
    store = example.table(level="store").to_dict("records")[0]
    assert store["gmv"] == Decimal("115000.00")
    assert store["paid_orders"] == 300
    assert store["silent_gmv_share"] == 0.0
    assert store["paying_buyers"] == 285
    assert store["repeat_buyers"] == 15  # C's ten and D's five buyers with two paid orders
    assert store["net_sales"] == Decimal("115000.00") - Decimal("50.00") * 68
    assert example.row("A")["sales_share"] == pytest.approx(40000 / 115000)


def test_distinct_buyers_are_distinct_over_the_period_and_the_group(tmp_path):
    shop = Shop(tmp_path)
    for day in range(3):  # the same two buyers chat with A on three days, and with B once
        shop.chat("A", "regular_1", dt.datetime(2026, 8, 1 + day, 10))
        shop.chat("A", "regular_2", dt.datetime(2026, 8, 1 + day, 11))
    shop.chat("B", "regular_1", dt.datetime(2026, 8, 2, 12))
    shop.load()
    days = shop.table(grain="day")
    a_days = days.loc[days["entity_id"] == shop.members["A"].pk, "inquiring_buyers"]
    assert list(a_days) == [2, 2, 2] and a_days.sum() == 6
    assert shop.row("A", grain="month")["inquiring_buyers"] == 2  # not 6
    team = shop.table(level="team").to_dict("records")[0]
    assert shop.row("A")["inquiring_buyers"] + shop.row("B")["inquiring_buyers"] == 3
    assert team["inquiring_buyers"] == 2  # not 3
    assert team["sessions"] == 7
    assert shop.table(level="store").to_dict("records")[0]["inquiring_buyers"] == 2


def test_a_member_who_moved_teams_counts_in_each_team_for_its_days(tmp_path):
    shop = Shop(tmp_path)
    other = TeamFactory(store=shop.store, name="售后")
    membership_move(member=shop.members["A"], team=other, start_date=dt.date(2026, 8, 16))
    for day in (5, 10, 20, 25, 28):
        shop.chat("A", f"b{day}", dt.datetime(2026, 8, day, 10))
        shop.order(f"b{day}", dt.datetime(2026, 8, day, 11), "100.00")
    shop.load()
    teams = {row["entity_id"]: row for row in shop.table(level="team").to_dict("records")}
    assert (teams[shop.team.pk]["sessions"], teams[shop.team.pk]["gmv"]) == (2, Decimal("200.00"))
    assert (teams[other.pk]["sessions"], teams[other.pk]["gmv"]) == (3, Decimal("300.00"))
    assert shop.row("A")["sessions"] == 5  # the member keeps all of them


def test_a_member_in_two_teams_on_a_day_counts_once_for_the_team_of_the_rule(tmp_path):
    """Overlapping memberships (an administrator's edit can leave them): the day counts once, for
    the membership that started last (teams.selectors.history), not once per team."""
    shop = Shop(tmp_path)
    other = TeamFactory(store=shop.store, name="售后")
    TeamMembershipFactory(member=shop.members["A"], team=other, start_date=dt.date(2026, 8, 1))
    shop.chat("A", "b1", dt.datetime(2026, 8, 10, 10))
    shop.order("b1", dt.datetime(2026, 8, 10, 11), "100.00")
    shop.chat("A", "b2", dt.datetime(2026, 7, 31, 10))  # before the overlap: the first team's
    shop.load()
    assert shop.row("A")["sessions"] == 1
    assert shop.row("A", start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 31))["sessions"] == 2
    teams = {row["entity_id"]: row for row in shop.table(level="team").to_dict("records")}
    assert (teams[other.pk]["sessions"], teams[other.pk]["gmv"]) == (1, Decimal("100.00"))
    assert shop.team.pk not in teams or teams[shop.team.pk]["sessions"] == 0


def test_a_late_chat_changes_an_orders_credit(tmp_path):
    shop = Shop(tmp_path)
    shop.chat("A", "late", dt.datetime(2026, 8, 10, 9))
    order_id = shop.order("late", dt.datetime(2026, 8, 10, 15), "300.00")
    shop.load()
    order = Order.objects.get(order_id=order_id)
    assert order.credited_member_id == shop.members["A"].pk
    # B's chat, later than A's but still before the order, arrives in a later export.
    shop.chat("B", "late", dt.datetime(2026, 8, 10, 14, 30))
    shop.load()
    order.refresh_from_db()
    assert order.credited_member_id == shop.members["B"].pk
    assert shop.row("B")["gmv"] == Decimal("300.00")
    assert shop.row("A")["gmv"] == Decimal("0.00") and shop.row("A")["paid_orders"] == 0


def test_attribution_window_and_ties(tmp_path):
    shop = Shop(tmp_path)
    at = dt.datetime(2026, 8, 12, 10)
    # Exactly 24 h before: credited (both ends inclusive); 24 h and one second: silent.
    shop.chat("A", "edge", at)
    edge = shop.order("edge", at + dt.timedelta(hours=24), "10.00")
    shop.chat("C", "far", at)
    far = shop.order("far", at + dt.timedelta(hours=24, seconds=1), "10.00")
    # Two sessions in the same second: the greater session id wins (C's is written later).
    shop.chat("B", "tie", at)
    shop.chat("C", "tie", at)
    tie = shop.order("tie", at + dt.timedelta(minutes=5), "10.00")
    shop.load()
    got = {o.order_id: o.credited_member_id for o in Order.objects.all()}
    assert got[edge] == shop.members["A"].pk
    assert got[far] is None
    assert got[tie] == shop.members["C"].pk


def test_a_refund_in_a_re_export_changes_gmv_derived_rates_and_nothing_else(example, tmp_path):
    before = example.row("A")
    first_paid = (
        Order.objects.filter(credited_member_id=example.members["A"].pk, refund_cents=0).order_by("order_id").first()
    )
    line = next(line for line in _orders_export(example, first_paid.order_id))
    path = write(
        tmp_path / "reexport.csv", [ORDER_HEADER, line.replace(",0.00,衣衣风尚专营店", ",400.00,衣衣风尚专营店")]
    )
    batch = orders_import(store=None, file=path, user=None)
    assert batch.updated == 1
    kpis_after_import(batch=batch)
    after = example.row("A")
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"refund_amount", "refund_order_rate"}
    assert after["refund_order_rate"] == pytest.approx(0.11)


def _orders_export(shop: Shop, order_id: str):
    order = Order.objects.get(order_id=order_id)
    local = dt.datetime(2026, 8, 1) + (
        order.created_at.replace(tzinfo=None) + dt.timedelta(hours=8) - dt.datetime(2026, 8, 1)
    )
    paid_at = local + (order.paid_at - order.created_at)
    yield (
        f"{order.order_id},{order.buyer},{order.paid_amount},{order.paid_amount},交易成功,{local:%Y-%m-%d %H:%M:%S},"
        f"{paid_at:%Y-%m-%d %H:%M:%S},连衣裙,1,{order.item_count},0.00,{shop.store.name}"
    )


def test_rates_with_a_zero_denominator_are_empty(tmp_path):
    shop = Shop(tmp_path)
    shop.chat("A", "window_shopper", dt.datetime(2026, 8, 3, 10), answered_after_s=None)
    shop.load()
    row = shop.row("A")
    assert (row["sessions"], row["unanswered_sessions"], row["paid_orders"]) == (1, 1, 0)
    assert row["inquiry_to_payment_rate"] == 0.0  # 0 / 1
    for key in ("aov", "per_buyer_value", "refund_order_rate", "items_per_order", "avg_first_response_s"):
        assert row[key] is None, key  # 0 / 0: empty, not zero
    store = shop.table(level="store").to_dict("records")[0]
    assert store["aov"] is None and store["repeat_rate"] is None and store["inquiry_rate"] is None  # no traffic


def test_recomputes_are_idempotent_and_equal_the_incremental_rows(example):
    def snapshot():
        return [
            sorted(model.objects.values_list(*fields))
            for model, fields in (
                (MemberDay, ("date", "member_id", "team_id", "sessions", "paid_orders", "gmv_cents", "refund_cents")),
                (InquiryBuyerDay, ("date", "member_id", "buyer", "ordered", "paid")),
                (StoreDay, ("date", "orders_placed", "paid_orders", "gmv_cents", "silent_gmv_cents")),
                (StoreBuyerDay, ("date", "buyer", "paid_orders")),
            )
        ]

    incremental = snapshot()
    kpis_recompute_store_full(store=example.store)
    full = snapshot()
    kpis_recompute_store_full(store=example.store)
    assert full == incremental
    assert snapshot() == full
    assert sum(len(rows) for rows in full) > 0


def test_a_longer_window_rebuilds_the_store_days_it_reaches(tmp_path):
    shop = Shop(tmp_path)
    shop.store.attribution_window_hours = 48
    shop.store.save()
    shop.order("far", dt.datetime(2026, 8, 12, 10), "80.00")
    shop.load()
    assert shop.table(level="store").to_dict("records")[0]["silent_gmv_share"] == 1.0
    # A chat 38 hours before the order, in a later export: within this store's window.
    shop.chat("A", "far", dt.datetime(2026, 8, 10, 20))
    shop.load()
    assert shop.row("A")["gmv"] == Decimal("80.00")
    assert shop.table(level="store").to_dict("records")[0]["silent_gmv_share"] == 0.0


def test_promotion_focus_kpis_beyond_the_spec(tmp_path):
    """answered_15s_rate, cart_to_pay_rate and repurchase_7d_rate: the registry's additions."""
    shop = Shop(tmp_path)
    shop.chat("A", "x", dt.datetime(2026, 8, 3, 10), answered_after_s=10)
    shop.chat("A", "y", dt.datetime(2026, 8, 3, 11), answered_after_s=20)
    shop.order("x", dt.datetime(2026, 8, 3, 12), "100.00")
    shop.order("x", dt.datetime(2026, 8, 9, 12), "100.00")  # 6 days later: a 7-day repurchase
    shop.order("y", dt.datetime(2026, 8, 20, 12), "100.00")
    shop.order("y", dt.datetime(2026, 8, 29, 12), "100.00")  # 9 days later: not within 7 days
    shop.order("z", dt.datetime(2026, 8, 30, 12), "100.00")
    shop.order("z", dt.datetime(2026, 9, 5, 12), "100.00")  # after the period, within 7 days: counts
    shop.load()
    member = shop.table().set_index("entity_id").loc[shop.members["A"].pk]
    assert member["answered_15s_rate"] == pytest.approx(0.5)
    store = shop.table(level="store").iloc[0]
    assert store["repurchase_7d_rate"] == pytest.approx(2 / 3)  # x and z of x, y, z
    assert store["cart_to_pay_rate"] is None  # no traffic imported: no add-to-cart buyers
