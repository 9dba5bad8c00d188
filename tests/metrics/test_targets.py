"""Targets: backward decomposition (seed 001), the saved tree, pace and forecast (complete days
only), parent and children, behaviours, promotions, alerts and who may set targets."""

import datetime as dt
import zoneinfo
from dataclasses import replace
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from metrics.models import Behaviour, StoreDay, Target, TargetAlert, TargetTier
from metrics.targets.decomposition import DecompositionInput, decomposition_history, member_shares, revenue_decompose
from metrics.targets.pace import forecast_get
from metrics.targets.selectors import store_weekday_history, store_weekday_weights, target_list, targets_progress
from metrics.targets.services import (
    DecompositionSave,
    behaviour_record_set,
    campaign_create,
    decomposition_save,
    target_alerts_check,
    target_create,
)
from perfmgmt.common.periods import Period, period_last_complete, store_today
from teams.models import Role, TeamKind
from teams.selectors.scoping import viewer_get
from tests.factories import RoleGrantFactory, StoreFactory, TeamFactory, UserFactory
from tests.metrics.test_kpis import Shop

pytestmark = pytest.mark.django_db
FEB_2027 = Period(dt.date(2027, 2, 1), dt.date(2027, 2, 28))  # Monday 1st to Sunday 28th: four whole weeks
T = dt.datetime


def seed_001(**more) -> DecompositionInput:
    fields = {"revenue": Decimal(1_000_000), "period": FEB_2027, "returning_share": Decimal("0.40"),
              "new_value_per_deal": Decimal(10_000), "lead_conversion": Decimal("0.06"),
              "returning_order_value": Decimal(500)}  # fmt: skip
    return DecompositionInput(**(fields | more))


def test_seed_001_comes_out_as_it_reads():
    plan = revenue_decompose(seed_001())
    assert plan.returning_revenue == Decimal(400_000) and plan.new_revenue == Decimal(600_000)
    assert plan.new_deals == Decimal(60) and plan.leads == Decimal(1000)
    # Four weeks of six working days (Monday to Saturday): 250 leads a week, about 40 a day.
    assert plan.working_days == 24
    assert [week.leads for week in plan.weeks] == [Decimal(250)] * 4
    assert [week.working_days for week in plan.weeks] == [6] * 4
    assert plan.leads_per_working_day == Decimal("41.7")
    assert plan.returning_orders == Decimal(800) and plan.orders == Decimal(860)
    assert sum(day.revenue for day in plan.days) == pytest.approx(Decimal(1_000_000))


def test_weekday_weights_shift_the_days_not_the_total():
    weights = {day: Decimal(1) for day in range(6)} | {5: Decimal(2)}  # Saturdays count double
    plan = revenue_decompose(seed_001(weekday_weights=weights))
    saturday = next(d for d in plan.days if d.start.weekday() == 5)
    monday = next(d for d in plan.days if d.start.weekday() == 0)
    assert saturday.leads == pytest.approx(2 * monday.leads)
    assert sum(d.leads for d in plan.days) == pytest.approx(Decimal(1000))
    assert [w.leads for w in plan.weeks] == [Decimal(250)] * 4  # every week has the same days


def test_a_partial_week_gets_its_share_of_working_days():
    plan = revenue_decompose(replace(seed_001(), period=Period(dt.date(2027, 3, 1), dt.date(2027, 3, 31))))
    assert plan.working_days == 27  # March 2027: 31 days, four Sundays
    assert [w.working_days for w in plan.weeks] == [6, 6, 6, 6, 3]
    assert plan.weeks[-1].leads == pytest.approx(Decimal(1000) * 3 / 27)


def test_member_shares_equal_by_history_and_by_hand():
    assert member_shares(split="equal", member_ids=[1, 2, 3, 4]) == {m: Decimal("0.25") for m in (1, 2, 3, 4)}
    history = {1: Decimal(300), 2: Decimal(100)}
    assert member_shares(split="last_period", member_ids=[1, 2], history=history) == {
        1: Decimal("0.75"), 2: Decimal("0.25"),
    }  # fmt: skip
    assert member_shares(split="last_period", member_ids=[1, 2], history={}) == {1: Decimal("0.5"), 2: Decimal("0.5")}
    assert member_shares(split="manual", member_ids=[1, 2], manual={1: Decimal(3), 2: Decimal(1)})[1] == Decimal("0.75")
    with pytest.raises(ValueError):
        revenue_decompose(replace(seed_001(), lead_conversion=Decimal(0)))


@pytest.fixture
def shop(tmp_path):
    """The store of test_kpis (team 售前, agents A–D) with August sales: A 900, B 300, C 0."""
    shop = Shop(tmp_path)
    for day in (3, 10, 20):
        shop.chat("A", f"a{day}", T(2026, 8, day, 10), answered_after_s=40)
        shop.order(f"a{day}", T(2026, 8, day, 11), "300.00")
        shop.chat("B", f"b{day}", T(2026, 8, day, 14), answered_after_s=5)
        shop.order(f"b{day}", T(2026, 8, day, 15), "100.00", refund="100.00")
        shop.chat("C", f"c{day}", T(2026, 8, day, 16), answered_after_s=None)
    shop.load()
    shop.manager = UserFactory(username="boss", email="boss@example.com")
    RoleGrantFactory(user=shop.manager, role=Role.MANAGER, store=shop.store)
    shop.viewer = viewer_get(user=shop.manager)
    return shop


def make(shop, **fields) -> Target:
    defaults = {"tier": TargetTier.STRATEGY, "name": "t", "store": shop.store, "period_kind": "month",
                "start": dt.date(2026, 8, 1), "end": dt.date(2026, 8, 31)}  # fmt: skip
    return target_create(viewer=shop.viewer, user=shop.manager, **(defaults | fields))


def test_decomposition_saves_a_tree_whose_members_add_up(shop):
    members = [shop.members[k].pk for k in "ABCD"]
    plan = revenue_decompose(seed_001(inquiry_conversion=Decimal("0.5"), member_shares=member_shares(
        split="equal", member_ids=members)))  # fmt: skip
    how = DecompositionSave(store=shop.store, team=shop.team, name="Q1", period_kind="month", leads_behaviour=None)
    root = decomposition_save(viewer=shop.viewer, user=shop.manager, plan=plan, how=how)
    assert root.tier == TargetTier.STRATEGY and root.kpi_key == "gmv" and root.value == Decimal(1_000_000)
    tactics = {t.kpi_key: t.value for t in root.children.filter(tier=TargetTier.TACTIC)}
    assert tactics == {"paid_orders": Decimal(860), "paid_buyers": Decimal(860), "inquiring_buyers": Decimal(1720)}
    execution = root.children.filter(tier=TargetTier.EXECUTION)
    assert execution.filter(kpi_key="gmv").count() == 4 * 4  # four members, four weeks
    assert sum(t.value for t in execution.filter(kpi_key="gmv")) == Decimal("1000000.00")
    assert set(execution.values_list("period_kind", flat=True)) == {"week"}


def test_pace_forecast_and_status_from_the_rollups(shop):
    gmv = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(2000))
    refunds = make(shop, kpi_key="refund_order_rate", team=shop.team, value=Decimal("0.2"), tier="tactic")
    reached = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(1000))
    progress = targets_progress([gmv, refunds, reached], today=dt.date(2026, 8, 21))
    p = progress[gmv.pk]
    # The last day with data is 20 August: 20 of 31 days counted.
    assert p.as_of == dt.date(2026, 8, 20) and p.elapsed == pytest.approx(Decimal(20) / 31)
    assert p.actual == Decimal("1200.00") and p.expected == pytest.approx(Decimal(2000) * 20 / 31)
    assert p.forecast == pytest.approx(Decimal(1200) * 31 / 20)
    assert p.status == "behind" and p.completion == Decimal("0.6")
    assert refunds.direction == "at_most" and progress[refunds.pk].status == "behind"  # 50% refunded vs ≤ 20%
    assert progress[reached.pk].status == "achieved"
    after = targets_progress([gmv, reached], today=dt.date(2026, 9, 5))
    assert after[gmv.pk].status == "missed" and after[reached.pk].status == "achieved"
    assert targets_progress([gmv], today=dt.date(2026, 7, 1))[gmv.pk].status == "not_started"


def test_a_team_target_counts_what_its_members_targets_count(shop):
    team = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(1500))
    children = [make(shop, kpi_key="gmv", team=shop.team, member=shop.members[k], value=Decimal(500), parent=team,
                     tier="execution") for k in "ABC"]  # fmt: skip
    progress = targets_progress([team, *children], today=dt.date(2026, 9, 1))
    assert [progress[c.pk].actual for c in children] == [Decimal("900.00"), Decimal("300.00"), Decimal("0.00")]
    assert progress[team.pk].actual == sum(progress[c.pk].actual for c in children)
    assert [progress[c.pk].status for c in children] == ["achieved", "missed", "missed"]


def test_behaviour_counts_recorded_by_staff(shop):
    closes = Behaviour.objects.create(store=shop.store, name="A类客户成交", unit="个")
    staff_user = UserFactory(username="a")
    shop.members["A"].user = staff_user
    shop.members["A"].save()
    staff = viewer_get(user=staff_user)
    behaviour_record_set(viewer=staff, user=staff_user, member=shop.members["A"], behaviour=closes,
                         date=dt.date(2026, 8, 3), count=2)  # fmt: skip
    behaviour_record_set(viewer=staff, user=staff_user, member=shop.members["A"], behaviour=closes,
                         date=dt.date(2026, 8, 3), count=3)  # the same day again: replaced  # fmt: skip
    with pytest.raises(PermissionDenied):
        behaviour_record_set(viewer=staff, user=staff_user, member=shop.members["B"], behaviour=closes,
                             date=dt.date(2026, 8, 3), count=1)  # fmt: skip
    with pytest.raises(ValidationError):
        behaviour_record_set(viewer=staff, user=staff_user, member=shop.members["A"], behaviour=closes,
                             date=dt.date(2099, 1, 1), count=1)  # fmt: skip
    week = make(shop, behaviour=closes, member=shop.members["A"], team=shop.team, value=Decimal(3), tier="execution",
                period_kind="week", start=dt.date(2026, 8, 3), end=dt.date(2026, 8, 9))  # fmt: skip
    assert targets_progress([week], today=dt.date(2026, 8, 4))[week.pk].actual == Decimal(3)
    assert targets_progress([week], today=dt.date(2026, 8, 4))[week.pk].status == "achieved"


def test_a_promotion_creates_its_phases_and_focus_targets(shop):
    campaign = campaign_create(
        viewer=shop.viewer, user=shop.manager, store=shop.store, kind="double11", name="双11",
        phases={"preheat": (dt.date(2026, 10, 20), dt.date(2026, 10, 31)), "peak": (dt.date(2026, 11, 1),
                dt.date(2026, 11, 11)), "after": (dt.date(2026, 11, 12), dt.date(2026, 11, 18))},
    )  # fmt: skip
    focus = {(t.phase.kind, t.kpi_key, t.level) for t in Target.objects.filter(phase__campaign=campaign)}
    assert focus == {
        ("preheat", "answered_15s_rate", "team"), ("peak", "cart_to_pay_rate", "store"),
        ("peak", "inquiry_to_payment_rate", "team"), ("after", "repurchase_7d_rate", "store"),
    }  # fmt: skip
    assert Target.objects.get(phase__kind="preheat").start == dt.date(2026, 10, 20)


def test_alerts_once_per_milestone_and_by_mail(shop):
    target = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(1300), owner=shop.manager)
    raised = target_alerts_check(store=shop.store, today=dt.date(2026, 8, 21))
    assert {a.kind for a in raised} == {"half", "ninety"}  # 1,200 of 1,300: 92%
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["boss@example.com"]
    assert target_alerts_check(store=shop.store, today=dt.date(2026, 8, 21)) == []
    assert TargetAlert.objects.filter(target=target).count() == 2


def test_who_may_set_targets(shop, org):
    staff, lead, hr = (viewer_get(user=org.users[name]) for name in ("staff_a", "lead_x", "hr"))
    fields = {"tier": "execution", "name": "x", "kpi_key": "gmv", "period_kind": "week", "value": Decimal(1),
              "start": dt.date(2026, 8, 3), "end": dt.date(2026, 8, 9)}  # fmt: skip
    for viewer in (staff, hr):
        with pytest.raises(PermissionDenied):
            target_create(viewer=viewer, user=None, store=org.s1, team=org.x, member=org.a, **fields)
    assert target_create(viewer=lead, user=None, store=org.s1, team=org.x, member=org.a, **fields).pk
    with pytest.raises(PermissionDenied):  # a member of team Y
        target_create(viewer=lead, user=None, store=org.s1, team=org.y, member=org.c, **fields)
    with pytest.raises(PermissionDenied):  # manager of S1 in S2
        target_create(viewer=viewer_get(user=org.users["manager_s1"]), user=None, store=org.s2, **fields)
    with pytest.raises(ValidationError):  # UV is a store KPI, not a member's
        target_create(viewer=lead, user=None, store=org.s1, team=org.x, member=org.a, **(fields | {"kpi_key": "uv"}))
    # Staff see their own targets, not another team's member's.
    mine = target_list(viewer=staff)
    assert mine.filter(member=org.a).exists()
    other = target_create(viewer=viewer_get(user=org.users["admin"]), user=None, store=org.s1, team=org.y,
                          member=org.c, **fields)  # fmt: skip
    assert not mine.filter(pk=other.pk).exists()


def test_a_target_paced_by_weekday_expects_what_history_sold_on_those_days(shop):
    # History before September: sales on Mondays (3, 10 August) and a Thursday (20 August).
    target = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(3000), pace="weekdays",
                  start=dt.date(2026, 9, 7), end=dt.date(2026, 9, 13))  # fmt: skip
    linear = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(3000), start=dt.date(2026, 9, 7),
                  end=dt.date(2026, 9, 13))  # fmt: skip
    # Data up to Monday 7 September only (a sale of A that day).
    shop.chat("A", "mon", T(2026, 9, 7, 10))
    shop.order("mon", T(2026, 9, 7, 11), "300.00")
    shop.load()
    progress = targets_progress([target, linear], today=dt.date(2026, 9, 8))
    # Mondays sold 2 × 400 of 1,200: two thirds of the week's GMV is expected by Monday night.
    assert progress[target.pk].elapsed == pytest.approx(Decimal(800) / 1200)
    assert progress[linear.pk].elapsed == pytest.approx(Decimal(1) / 7)
    assert progress[target.pk].status == "behind" and progress[linear.pk].status == "behind"
    assert progress[target.pk].expected > progress[linear.pk].expected


# --- decomposition for a service team, prefill and weekday weights (issue 18, point 12) ------------


def test_the_last_complete_period_is_of_the_same_kind_and_never_a_running_one():
    today = dt.date(2026, 12, 7)  # a Monday
    january = Period(dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    # Not the six days of December so far, nor "the month before January": the last whole month.
    assert period_last_complete(period=january, today=today) == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    december = Period(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert period_last_complete(period=december, today=today) == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    next_week = Period(dt.date(2026, 12, 14), dt.date(2026, 12, 20))
    assert period_last_complete(period=next_week, today=today) == Period(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    quarter = Period(dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    assert period_last_complete(period=quarter, today=today) == Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    ten_days = Period(dt.date(2026, 12, 20), dt.date(2026, 12, 29))
    assert period_last_complete(period=ten_days, today=today) == Period(dt.date(2026, 11, 27), dt.date(2026, 12, 6))
    # A period in the past: the complete one just before it.
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert period_last_complete(period=march, today=today) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_a_service_teams_figures_come_from_its_last_complete_month(shop):
    # August (shop fixture): the team sold 3 × 300 (A) + 3 × 100 (B) in 6 paid orders, 6 of 9
    # inquiring buyers paid. September so far: one 900 order of A, one chat of C without a sale.
    shop.chat("A", "sep", T(2026, 9, 7, 10))
    shop.order("sep", T(2026, 9, 7, 11), "900.00")
    shop.chat("C", "sep2", T(2026, 9, 7, 12))
    shop.load()
    october = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    history = decomposition_history(store_id=shop.store.pk, team_id=shop.team.pk, period=october,
                                    today=dt.date(2026, 9, 8))  # fmt: skip
    assert history.period == Period(dt.date(2026, 8, 1), dt.date(2026, 8, 31)) and history.kind == "month"
    assert history.aov == Decimal(200)  # August's 1,200 over 6 orders, not September's 900
    assert history.inquiry_conversion == Decimal("0.6667")  # 6 of 9 inquiring buyers paid
    assert history.member_gmv[shop.members["A"].pk] == Decimal(900)


def test_a_buyer_served_by_two_members_counts_once_in_the_teams_inquiry_conversion(tmp_path):
    # Issue 21: the team's inquiry conversion is its inquiry-to-payment rate KPI (distinct buyers
    # over the team), not its members' counts added up. "both" consults A, then B, and pays
    # (credited to B's later session); "a" and "b" consult one member each and never pay.
    shop = Shop(tmp_path)
    shop.chat("A", "both", T(2026, 8, 4, 10))
    shop.chat("B", "both", T(2026, 8, 4, 11))
    shop.order("both", T(2026, 8, 4, 12), "100.00")
    shop.chat("A", "a", T(2026, 8, 5, 10))
    shop.chat("B", "b", T(2026, 8, 5, 11))
    shop.load()
    history = decomposition_history(store_id=shop.store.pk, team_id=shop.team.pk,
                                    period=Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
                                    today=dt.date(2026, 9, 8))  # fmt: skip
    # 1 paying of 3 inquiring buyers; the members' counts added up would say 1 of 4.
    assert history.inquiry_conversion == Decimal("0.3333")
    team = shop.table(level="team").to_dict("records")[0]
    assert history.inquiry_conversion == Decimal(str(team["inquiry_to_payment_rate"])).quantize(Decimal("0.0001"))


def test_the_decomposition_prefill_is_the_engines_kpis_of_the_last_complete_month(shop):
    # August as in the fixture; July and September add sales and chats outside the month.
    for month, day in ((7, 30), (9, 2)):
        shop.chat("A", f"out{month}", T(2026, month, day, 10))
        shop.order(f"out{month}", T(2026, month, day, 11), "5000.00")
        shop.chat("B", f"idle{month}", T(2026, month, day, 12))
    shop.load()
    history = decomposition_history(store_id=shop.store.pk, team_id=shop.team.pk,
                                    period=Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
                                    today=dt.date(2026, 9, 8))  # fmt: skip
    team = shop.table(level="team").to_dict("records")[0]  # August
    members = {row["entity_id"]: row for row in shop.table().to_dict("records")}

    def places(value) -> Decimal:
        return Decimal(str(value)).quantize(Decimal("0.0001"))

    assert history.inquiry_conversion == places(team["inquiry_to_payment_rate"])
    assert history.aov == team["aov"]
    assert history.orders_per_buyer == places(Decimal(team["paid_orders"]) / team["paid_buyers"])
    assert history.member_gmv == {member: row["gmv"] for member, row in members.items()}


def _store_days(store, start: dt.date, end: dt.date, yuan_by_weekday: dict[int, int]) -> None:
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    StoreDay.objects.bulk_create(
        StoreDay(store=store, date=day, gmv_cents=yuan_by_weekday[day.weekday()] * 100)
        for day in days
        if yuan_by_weekday.get(day.weekday())
    )


def test_weekday_weights_count_each_weekday_as_often_as_the_others():
    store = StoreFactory()
    # The same sales every day of August 2026, which has five Saturdays, Sundays and Mondays and
    # four of every other weekday; nothing imported since. A target from October.
    _store_days(store, dt.date(2026, 8, 1), dt.date(2026, 8, 31), dict.fromkeys(range(7), 100))
    weights = store_weekday_weights(store_id=store.pk, before=dt.date(2026, 10, 1))
    assert weights == {day: Decimal(1) / 7 for day in range(7)}
    history = store_weekday_history(store_id=store.pk, before=dt.date(2026, 10, 1))
    assert history.window == Period(dt.date(2026, 8, 1), dt.date(2026, 8, 31))


def test_a_plan_weighed_by_weekday_follows_the_stores_weekdays_whatever_the_team_sells(shop):
    from metrics.targets.services import DecompositionFigures as DecomposeFigures
    from metrics.targets.services import decomposition_plan as decompose_plan

    # A team with no shop sales of its own (online sales): the store's weekdays weigh its days.
    sellers = TeamFactory(store=shop.store, kind=TeamKind.ONLINE_SALES, name="线上销售")
    # Eight weeks before February 2027: Saturdays sell twice a weekday, the shop is shut on Sundays.
    _store_days(shop.store, dt.date(2026, 12, 7), dt.date(2027, 1, 31), {0: 100, 1: 100, 2: 100, 3: 100, 4: 100,
                                                                          5: 200})  # fmt: skip
    figures = DecomposeFigures(
        revenue=Decimal(1_000_000), returning_share=Decimal("0.4"), new_value_per_deal=Decimal(10_000),
        lead_conversion=Decimal("0.06"), returning_order_value=Decimal(500), orders_per_buyer=Decimal(1),
        inquiry_conversion=None, uv_conversion=None, working_weekdays=(0, 1, 2, 3, 4, 5, 6), pace_by_weights=True,
        split="equal", manual_shares={},
    )  # fmt: skip
    plan, _history = decompose_plan(store=shop.store, team=sellers, period=FEB_2027, figures=figures, members=[])
    share = {day.start.weekday(): day.weight for day in plan.days}
    # 4 weeks × (5 weekdays × 1 + Saturday 2 + Sunday 0) = 28 parts
    assert share[5] == pytest.approx(2 * share[0]) and share[0] == pytest.approx(Decimal(1) / 28) and share[6] == 0
    assert sum(day.weight for day in plan.days) == pytest.approx(Decimal(1))
    assert plan.weighted and plan.leads == Decimal(1000)
    even, _history = decompose_plan(store=shop.store, team=sellers, period=FEB_2027,
                                    figures=replace(figures, pace_by_weights=False), members=[])  # fmt: skip
    assert not even.weighted and {day.weight for day in even.days} == {Decimal(1) / 28}  # every day 3.57%


def test_a_service_teams_plan_works_from_inquiries_without_leads():
    plan = revenue_decompose(seed_001(lead_conversion=None, inquiry_conversion=Decimal("0.4")))
    assert plan.leads is None and plan.leads_per_working_day is None
    assert plan.orders == Decimal(860) and plan.inquiries == Decimal(2150)  # 860 buyers ÷ 40%
    assert [week.inquiries for week in plan.weeks] == [Decimal("537.5")] * 4
    assert all(week.leads is None for week in plan.weeks)


def test_a_service_teams_tree_aims_at_inquiring_buyers_and_keeps_the_weekday_pace(shop):
    members = [shop.members[k].pk for k in "AB"]
    leads = Behaviour.objects.create(store=shop.store, name="新客线索")
    weights = {day: Decimal(1) for day in range(5)} | {5: Decimal(2)}
    plan = revenue_decompose(seed_001(lead_conversion=None, inquiry_conversion=Decimal("0.4"), weekday_weights=weights,
                                      member_shares=member_shares(split="equal", member_ids=members)))  # fmt: skip
    # A leads behaviour sent anyway gives no leads targets: the team has no leads.
    how = DecompositionSave(store=shop.store, team=shop.team, name="Feb", period_kind="month", leads_behaviour=leads)
    root = decomposition_save(viewer=shop.viewer, user=shop.manager, plan=plan, how=how)
    tactics = {t.kpi_key: t.value for t in root.children.filter(tier=TargetTier.TACTIC)}
    assert tactics == {"paid_orders": Decimal(860), "paid_buyers": Decimal(860), "inquiring_buyers": Decimal(2150)}
    execution = root.children.filter(tier=TargetTier.EXECUTION)
    assert not Target.objects.filter(behaviour=leads).exists()
    assert execution.filter(kpi_key="inquiring_buyers").count() == 2 * 4  # two members, four weeks
    assert sum(t.value for t in execution.filter(kpi_key="gmv")) == Decimal("1000000.00")
    assert set(Target.objects.values_list("pace", flat=True)) == {"weekdays"}


# --- one forecast; expected to date counts complete days (issue 18, points 4 and 6) -------------


def test_the_forecast_counts_the_complete_days_with_data_not_today():
    december = {"start": dt.date(2026, 12, 1), "end": dt.date(2026, 12, 31)}
    # Data end on the 6th and today is the 7th: 6 of 31 days counted, not 7.
    pace = forecast_get(**december, today=dt.date(2026, 12, 7), last_day=dt.date(2026, 12, 6),
                        actual=Decimal(600), value=Decimal(3100))  # fmt: skip
    assert (pace.through, pace.days_counted, pace.days) == (dt.date(2026, 12, 6), 6, 31)
    assert pace.expected == pytest.approx(Decimal(600)) and pace.forecast == pytest.approx(Decimal(3100))
    # Data of today (the 7th) are in the figure to date, not in the pace: still 6 of 31.
    today = forecast_get(**december, today=dt.date(2026, 12, 7), last_day=dt.date(2026, 12, 7),
                         actual=Decimal(600), actual_to_date=Decimal(650), value=Decimal(3100))  # fmt: skip
    assert today.days_counted == 6 and today.expected == pytest.approx(Decimal(600))
    assert today.forecast == pytest.approx(Decimal(3100))
    # A rate is not paced: expected is the value, the forecast where it stands.
    rate = forecast_get(**december, today=dt.date(2026, 12, 7), last_day=dt.date(2026, 12, 6),
                        actual=Decimal("0.4"), value=Decimal("0.5"), is_sum=False)  # fmt: skip
    assert (rate.expected, rate.forecast) == (Decimal("0.5"), Decimal("0.4"))
    # The first day of a period: nothing complete yet, nothing expected, no forecast.
    first = forecast_get(**december, today=dt.date(2026, 12, 1), last_day=dt.date(2026, 12, 1),
                         actual=None, actual_to_date=Decimal(50), value=Decimal(3100))  # fmt: skip
    assert (first.through, first.days_counted, first.expected, first.forecast) == (None, 0, Decimal(0), None)


def test_orders_of_today_do_not_move_expected_to_date_by_a_day(shop):
    # A week target on pace: 17–20 August counted (400 sold on the 20th) of 7 days, 700 in all.
    week = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(700), period_kind="week",
                start=dt.date(2026, 8, 17), end=dt.date(2026, 8, 23))  # fmt: skip
    before = targets_progress([week], today=dt.date(2026, 8, 21))[week.pk]
    assert (before.expected, before.status, before.days_counted) == (Decimal(400), "on_pace", 4)
    # A few yuan of orders one minute into the 21st (the store's day) are imported.
    shop.chat("A", "early", T(2026, 8, 21, 0, 1))
    shop.order("early", T(2026, 8, 21, 0, 1), "10.00")
    shop.load()
    for now in (T(2026, 8, 21, 0, 1), T(2026, 8, 21, 23, 59)):  # the same store day at 00:01 and 23:59
        local = timezone.make_aware(now, zoneinfo.ZoneInfo(shop.store.time_zone))
        after = targets_progress([week], today=store_today(shop.store, local))[week.pk]
        assert after.actual == Decimal("410.00") and after.as_of == dt.date(2026, 8, 21)  # today in the actual
        assert after.expected == before.expected and after.days_counted == 4  # not a whole day more
        assert after.status == "on_pace" and after.forecast == Decimal(700)
    # Once the 21st is over it counts: 5 of 7 days, 500 expected, and 410 is behind.
    next_day = targets_progress([week], today=dt.date(2026, 8, 22))[week.pk]
    assert (next_day.expected, next_day.days_counted, next_day.status) == (Decimal(500), 5, "behind")


def test_a_target_paces_the_same_whatever_other_targets_are_shown(shop):
    shop.chat("A", "july", T(2026, 7, 15, 10))  # a Wednesday
    shop.order("july", T(2026, 7, 15, 11), "500.00")
    shop.load()
    early = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(3000), pace="weekdays",
                 start=dt.date(2026, 8, 10), end=dt.date(2026, 8, 16))  # fmt: skip
    late = make(shop, kpi_key="gmv", team=shop.team, value=Decimal(3000), pace="weekdays",
                start=dt.date(2026, 8, 17), end=dt.date(2026, 8, 23))  # fmt: skip
    # On the 18th, Monday the 17th is counted. Before the 17th the store sold on two Mondays
    # (3 and 10 August) and a Wednesday (15 July); before the 10th, on one Monday only.
    alone = targets_progress([late], today=dt.date(2026, 8, 18))[late.pk]
    together = targets_progress([early, late], today=dt.date(2026, 8, 18))[late.pk]
    # Each by its store's sales by weekday before its own start, not before the page's first target.
    assert alone.elapsed == pytest.approx(Decimal(800) / 1300)
    assert together.elapsed == alone.elapsed and together.expected == alone.expected
