"""Pipeline and call KPIs (issue 9) at member and team level, from hand-computed figures.

One telesales store in Shanghai time, August 2026. Members A and B in team T all month; C in
team U until 15 August, then in T; account X assigned to no one. The leads (all 10:00 unless
said; amounts in cents):

| lead | owner | path | amount | other |
|---|---|---|---|---|
| L1 | A | lead 3 Aug → intent 5 Aug → negotiation 8 Aug 22:00 → won 10 Aug | 1,000,000 | guide 1,100,000, collected 600,000, new product, customer 甲 |
| L2 | A | lead 4 Aug 9:00 → intent 6 Aug 9:00 → lost 12 Aug 9:00 | 500,000 | customer 乙 |
| L3 | B | lead 5 Aug → intent 7 Aug → negotiation 20 Aug (still) | 2,000,000 | |
| L4 | B | lead 28 Jul → intent 2 Aug → negotiation 9 Aug → won 25 Aug | 3,000,000 | customer 甲 again |
| L5 | X | lead 5 Aug → won 6 Aug | 1,000,000 | unassigned: credited to no one |
| L6 | A | lead 2 Sep | 1,000,000 | outside August |
| L8 | C | lead 10 Aug → intent 12 Aug → won 20 Aug | 400,000 | guide 500,000, customer 丙 |

docs/sales-kpis.md works through member A's figures.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.kpis.rollups import rollup_partition_recompute
from metrics.kpis.selectors import kpi_table, measures_member
from metrics.kpis.services import kpis_after_import, kpis_recompute_store_full, store_fact_days
from metrics.models import CallDirection, ImportBatch, ImportKind, LeadStage, MemberDay, Target
from teams.models import Store, TeamKind
from tests.factories import (
    AccountAssignmentFactory,
    CallFactory,
    LeadStageChangeFactory,
    MemberFactory,
    PlatformAccountFactory,
    TeamFactory,
    TeamMembershipFactory,
    lead_path,
)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
AUGUST = (dt.date(2026, 8, 1), dt.date(2026, 8, 31))
D = dt.date
L, IN, N, W, X = LeadStage.LEAD, LeadStage.INTENT, LeadStage.NEGOTIATION, LeadStage.WON, LeadStage.LOST
DAY = 86400


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


class Sales:
    def __init__(self):
        self.store = Store.objects.create(name="电销一部", time_zone="Asia/Shanghai")
        self.t = TeamFactory(store=self.store, name="电销T组", kind=TeamKind.TELESALES)
        self.u = TeamFactory(store=self.store, name="电销U组", kind=TeamKind.TELESALES)
        self.members, self.accounts = {}, {}
        for name in "ABC":
            member = MemberFactory(display_name=f"销售{name}")
            account = PlatformAccountFactory(store=self.store, name=f"CRM:{name}")
            AccountAssignmentFactory(account=account, member=member, start_date=D(2026, 1, 1))
            self.members[name], self.accounts[name] = member, account
        for name in "AB":
            TeamMembershipFactory(member=self.members[name], team=self.t, start_date=D(2026, 1, 1))
        TeamMembershipFactory(member=self.members["C"], team=self.u, start_date=D(2026, 1, 1), end_date=D(2026, 8, 15))
        TeamMembershipFactory(member=self.members["C"], team=self.t, start_date=D(2026, 8, 16))
        self.accounts["X"] = PlatformAccountFactory(store=self.store, name="CRM:无人")

    def lead(self, owner: str, steps, **fields):
        return lead_path(steps=steps, store=self.store, account=self.accounts[owner], **fields)

    def pipeline(self):
        a, b = "A", "B"
        self.lead(
            a,
            [(L, at(8, 3)), (IN, at(8, 5)), (N, at(8, 8, 22)), (W, at(8, 10))],
            customer="甲",
            amount_cents=1_000_000,
            guide_price_cents=1_100_000,
            collected_cents=600_000,
            new_product=True,
        )
        self.lead(a, [(L, at(8, 4, 9)), (IN, at(8, 6, 9)), (X, at(8, 12, 9))], customer="乙", amount_cents=500_000)
        self.lead(b, [(L, at(8, 5)), (IN, at(8, 7)), (N, at(8, 20))], customer="丁", amount_cents=2_000_000)
        self.lead(
            b, [(L, at(7, 28)), (IN, at(8, 2)), (N, at(8, 9)), (W, at(8, 25))], customer="甲", amount_cents=3_000_000
        )
        self.lead("X", [(L, at(8, 5)), (W, at(8, 6))], customer="戊", amount_cents=1_000_000)
        self.lead(a, [(L, at(9, 2))], customer="己")
        self.lead("C", [(L, at(8, 10)), (IN, at(8, 12)), (W, at(8, 20))], customer="丙", amount_cents=400_000,
                  guide_price_cents=500_000)  # fmt: skip

    def rebuild(self):
        rollup_partition_recompute(store=self.store, start=D(2026, 7, 1), end=D(2026, 9, 30))


@pytest.fixture
def sales():
    shop = Sales()
    shop.pipeline()
    shop.rebuild()
    return shop


def row(table, entity_id, period=None):
    rows = table.loc[table["entity_id"] == entity_id]
    if period is not None:
        rows = rows.loc[rows["period_start"] == period]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_member_pipeline_kpis_august(sales):
    table = kpi_table(level="member", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    a = row(table, sales.members["A"].pk)
    assert (a["new_leads"], a["leads_touched"]) == (2, 2)
    assert a["lead_to_intent_rate"] == 1.0
    assert a["intent_to_negotiation_rate"] == 0.5  # L1 went on, L2 was lost from intent
    assert a["negotiation_to_won_rate"] == 1.0
    assert a["avg_days_lead"] == pytest.approx(2.0)  # (2 d + 2 d) / 2
    assert a["avg_days_intent"] == pytest.approx(4.75)  # (3.5 d + 6 d) / 2: fractional days
    assert a["avg_days_negotiation"] == pytest.approx(1.5)  # 8 Aug 22:00 → 10 Aug 10:00
    assert (a["won_deals"], a["win_rate"]) == (1, 0.5)  # won L1, lost L2
    assert a["won_amount"] == Decimal("10000.00")
    assert a["collected_amount"] == Decimal("6000.00")
    assert a["sales_cycle_days"] == pytest.approx(7.0)
    assert a["new_customers"] == 1
    assert a["new_product_amount"] == Decimal("10000.00")
    assert a["price_control_rate"] == pytest.approx(1_000_000 / 1_100_000)
    assert a["pipeline_value"] == Decimal("0.00")  # both closed by 31 August

    b = row(table, sales.members["B"].pk)
    assert (b["new_leads"], b["leads_touched"]) == (1, 2)  # L4 was created in July
    assert b["intent_to_negotiation_rate"] == 1.0  # L3 and L4 both reached negotiation
    assert b["negotiation_to_won_rate"] == 0.5  # L4 won, L3 still negotiating
    assert b["avg_days_lead"] == pytest.approx(3.5)  # L3 2 d (exit 7 Aug), L4 5 d (exit 2 Aug)
    assert b["avg_days_intent"] == pytest.approx(10.0)  # L3 13 d, L4 7 d
    assert b["avg_days_negotiation"] == pytest.approx(16.0)  # L4 only: L3 has not left it
    assert (b["won_deals"], b["win_rate"]) == (1, 1.0)
    assert b["won_amount"] == Decimal("30000.00")
    assert b["collected_amount"] == Decimal("0.00")
    assert b["sales_cycle_days"] == pytest.approx(28.0)  # created 28 Jul
    assert b["new_customers"] == 0  # 甲 was first won on L1 (10 Aug)
    assert b["price_control_rate"] is None  # no guide price
    assert b["pipeline_value"] == Decimal("20000.00")  # L3 in negotiation; L4 won before the end

    c = row(table, sales.members["C"].pk)
    assert (c["new_leads"], c["won_deals"], c["new_customers"]) == (1, 1, 1)
    assert c["intent_to_negotiation_rate"] == 1.0  # intent straight to won counts as beyond
    assert c["avg_days_intent"] == pytest.approx(8.0)
    assert c["price_control_rate"] == pytest.approx(0.8)
    # L5's account is assigned to no one: credited to nobody.
    assert int(table["won_deals"].sum()) == 3
    assert set(table["entity_id"]) == {m.pk for m in sales.members.values()}


def test_team_pipeline_kpis_by_membership_on_the_day(sales):
    table = kpi_table(level="team", grain="range", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    t = row(table, sales.t.pk)
    # A and B all month, C's events from 16 August (intent exit and win of L8 on 20 August).
    assert (t["new_leads"], t["lead_to_intent_rate"]) == (3, 1.0)
    assert t["intent_to_negotiation_rate"] == 0.75  # 3 of A's 2 and B's 2 intent entries
    assert t["negotiation_to_won_rate"] == pytest.approx(2 / 3)
    assert t["avg_days_lead"] == pytest.approx(2.75)  # 950,400 s / 4 exits
    assert t["avg_days_intent"] == pytest.approx(7.5)  # (820,800 + 1,728,000 + 691,200) s / 5
    assert t["avg_days_negotiation"] == pytest.approx(8.75)  # (129,600 + 1,382,400) s / 2
    assert (t["won_deals"], t["win_rate"]) == (3, 0.75)
    assert t["won_amount"] == Decimal("44000.00")
    assert t["sales_cycle_days"] == pytest.approx(15.0)  # (7 + 28 + 10) / 3
    assert t["new_customers"] == 2
    assert t["price_control_rate"] == pytest.approx(0.875)  # 1,400,000 / 1,600,000
    assert t["leads_touched"] == 5  # L1–L4, and L8 on 20 August
    assert t["pipeline_value"] == Decimal("20000.00")
    u = row(table, sales.u.pk)
    assert (u["new_leads"], u["won_deals"], u["leads_touched"]) == (1, 0, 1)  # L8 until 15 August
    assert u["avg_days_lead"] == pytest.approx(2.0)
    assert u["pipeline_value"] == Decimal("0.00")


def test_cohort_conversion_counts_on_the_entry_day(sales):
    b = sales.members["B"].pk
    days = kpi_table(level="member", grain="day", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    # L4 entered intent on 2 Aug and negotiation on 9 Aug; L3 on 7 and 20 Aug.
    assert row(days, b, D(2026, 8, 2))["intent_to_negotiation_rate"] == 1.0
    assert row(days, b, D(2026, 8, 9))["negotiation_to_won_rate"] == 1.0
    assert row(days, b, D(2026, 8, 20))["negotiation_to_won_rate"] == 0.0
    assert row(days, b, D(2026, 8, 25))["won_deals"] == 1
    # Rows outside the period: July's L4 creation and September's L6 are not in August.
    july = kpi_table(level="member", grain="range", start=D(2026, 7, 1), end=D(2026, 7, 31),
                     store_ids=[sales.store.pk])  # fmt: skip
    assert row(july, b)["new_leads"] == 1 and row(july, b)["lead_to_intent_rate"] == 1.0
    september = kpi_table(level="member", grain="range", start=D(2026, 9, 1), end=D(2026, 9, 30),
                          store_ids=[sales.store.pk])  # fmt: skip
    a = row(september, sales.members["A"].pk)
    assert (a["new_leads"], a["lead_to_intent_rate"], a["won_deals"]) == (1, 0.0, 0)


def test_pipeline_value_at_each_week_end(sales):
    table = kpi_table(level="member", grain="week", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    b = sales.members["B"].pk
    weeks = {r["period_start"]: r["pipeline_value"] for r in table.to_dict("records") if r["entity_id"] == b}
    assert weeks == {
        D(2026, 7, 27): Decimal("30000.00"),  # 2 Aug (the range's first week ends then): L4 in intent since 10:00
        D(2026, 8, 3): Decimal("50000.00"),  # L4 in negotiation, L3 in intent
        D(2026, 8, 10): Decimal("50000.00"),
        D(2026, 8, 17): Decimal("50000.00"),
        D(2026, 8, 24): Decimal("20000.00"),  # L4 won on 25 Aug: no longer counted
        D(2026, 8, 31): Decimal("20000.00"),  # the week cut at the range's end
    }
    a = sales.members["A"].pk
    weeks = {r["period_start"]: r["pipeline_value"] for r in table.to_dict("records") if r["entity_id"] == a}
    # 9 Aug: L1 in negotiation and L2 in intent; 16 Aug: L1 won, L2 lost.
    assert weeks[D(2026, 8, 3)] == Decimal("15000.00") and weeks[D(2026, 8, 10)] == Decimal("0.00")
    teams = kpi_table(level="team", grain="week", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    assert row(teams, sales.t.pk, D(2026, 8, 3))["pipeline_value"] == Decimal("65000.00")
    # Ownership moved: from 1 Sep B's account belongs to A; L3 is A's at the end of September.
    assignment = sales.accounts["B"].assignments.get()
    assignment.end_date = D(2026, 8, 31)
    assignment.save()
    AccountAssignmentFactory(account=sales.accounts["B"], member=sales.members["A"], start_date=D(2026, 9, 1))
    september = kpi_table(level="member", grain="range", start=D(2026, 9, 1), end=D(2026, 9, 30),
                          store_ids=[sales.store.pk])  # fmt: skip
    assert row(september, a)["pipeline_value"] == Decimal("20000.00")
    assert b not in set(september["entity_id"])


def test_calls_by_local_day_near_midnight():
    shop = Sales()
    a, b, c = (shop.accounts[n] for n in "ABC")
    out, inbound = CallDirection.OUTBOUND, CallDirection.INBOUND
    CallFactory(store=shop.store, account=a, started_at=at(8, 3), duration_seconds=120)
    CallFactory(store=shop.store, account=a, started_at=at(8, 31, 23, 50), duration_seconds=300)  # 15:50 UTC
    CallFactory(store=shop.store, account=a, started_at=at(8, 4), connected=False, duration_seconds=0)
    CallFactory(store=shop.store, account=a, started_at=at(8, 5), direction=inbound, duration_seconds=60)
    CallFactory(store=shop.store, account=a, started_at=at(9, 1, 0, 10), duration_seconds=100)  # 31 Aug UTC
    CallFactory(store=shop.store, account=a, started_at=at(7, 31, 23, 59), duration_seconds=50)
    CallFactory(store=shop.store, account=b, started_at=at(8, 10), duration_seconds=200, direction=out)
    CallFactory(store=shop.store, account=c, started_at=at(8, 5), duration_seconds=30)  # C in team U then
    CallFactory(store=shop.store, account=shop.accounts["X"], started_at=at(8, 6), duration_seconds=999)
    shop.rebuild()
    members = kpi_table(level="member", grain="range", start=AUGUST[0], end=AUGUST[1], store_ids=[shop.store.pk])
    m = row(members, shop.members["A"].pk)
    assert (m["dials"], m["connected_dials"], m["talk_time"], m["inbound_calls"]) == (3, 2, 420, 1)
    assert m["connect_rate"] == pytest.approx(2 / 3)
    assert m["avg_talk_s"] == pytest.approx(210.0)
    day = kpi_table(level="member", grain="day", start=D(2026, 8, 31), end=D(2026, 9, 1), store_ids=[shop.store.pk])
    assert row(day, shop.members["A"].pk, D(2026, 8, 31))["talk_time"] == 300
    assert row(day, shop.members["A"].pk, D(2026, 9, 1))["talk_time"] == 100
    teams = kpi_table(level="team", grain="range", start=AUGUST[0], end=AUGUST[1], store_ids=[shop.store.pk])
    assert (row(teams, shop.t.pk)["dials"], row(teams, shop.t.pk)["talk_time"]) == (4, 620)
    assert row(teams, shop.u.pk)["dials"] == 1
    assert int(members["dials"].sum()) == 5  # X's call is credited to no one


def _target(store, kpi_key, value, start, end, member=None, team=None, kind="month"):
    return Target.objects.create(
        tier="strategy", name=kpi_key, kpi_key=kpi_key, store=store, member=member, team=team, period_kind=kind,
        start=start, end=end, value=Decimal(value), direction="at_least",
    )  # fmt: skip


def test_target_completion_with_monthly_targets(sales):
    store, (a, b) = sales.store, (sales.members["A"], sales.members["B"])
    _target(store, "won_amount", "20000", *AUGUST, member=a)
    _target(store, "won_amount", "5000", D(2026, 8, 3), D(2026, 8, 9), member=a, kind="week")  # inside the month's
    _target(store, "won_amount", "30000", *AUGUST, member=b)
    _target(store, "collected_amount", "10000", *AUGUST, member=a)
    _target(store, "new_customers", "4", *AUGUST, member=a)
    _target(store, "new_product_amount", "20000", *AUGUST, member=a)
    _target(store, "won_amount", "10000", *AUGUST, team=sales.u)
    _target(store, "won_amount", "99999", D(2026, 9, 1), D(2026, 9, 30), member=a)  # outside
    members = kpi_table(level="member", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[store.pk])
    ra = row(members, a.pk)
    assert ra["sales_target_completion"] == 0.5  # 10,000 / 20,000 (the week's target is part of the month's)
    assert ra["collection_rate"] == 0.6
    assert ra["new_customer_completion"] == 0.25
    assert ra["new_product_completion"] == 0.5
    assert row(members, b.pk)["sales_target_completion"] == 1.0
    assert row(members, sales.members["C"].pk)["sales_target_completion"] is None  # no target
    teams = kpi_table(level="team", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[store.pk])
    assert row(teams, sales.t.pk)["sales_target_completion"] == pytest.approx(44_000 / 50_000)  # members' sum
    assert row(teams, sales.u.pk)["sales_target_completion"] == 0.0  # its own target, nothing won
    # Half a month: the month's target prorated by days, 20,000 × 15 / 31 = 9,677.42 yuan.
    half = measures_member(level="member", grain="range", start=AUGUST[0], end=D(2026, 8, 15), store_ids=[store.pk])
    half_a = half.loc[half["entity_id"] == a.pk].iloc[0]
    assert half_a["target_won_cents"] == 967_742
    assert half_a["won_cents"] == 1_000_000


def test_new_hire_qualification(sales, settings):
    settings.PROBATION_MONTHS = 3
    hired = {
        "D": (D(2026, 5, 10), D(2026, 8, 5)),  # probation to 9 Aug, confirmed: qualified
        "E": (D(2026, 5, 20), D(2026, 9, 2)),  # to 19 Aug, confirmed only in September
        "F": (D(2026, 6, 15), None),  # to 14 Sep
        "G": (D(2026, 4, 1), D(2026, 6, 20)),  # to 30 Jun: outside
    }
    members = {}
    for name, (hire, confirmed) in hired.items():
        members[name] = MemberFactory(display_name=name, hire_date=hire, confirmed_date=confirmed)
        TeamMembershipFactory(member=members[name], team=sales.t, start_date=hire)
    august = kpi_table(level="team", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    assert row(august, sales.t.pk)["new_hire_qualification_rate"] == 0.5
    assert row(august, sales.u.pk)["new_hire_qualification_rate"] is None
    by_member = kpi_table(level="member", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    assert row(by_member, members["D"].pk)["new_hire_qualification_rate"] == 1.0
    assert row(by_member, members["E"].pk)["new_hire_qualification_rate"] == 0.0
    two = kpi_table(level="team", grain="range", start=AUGUST[0], end=D(2026, 9, 30), store_ids=[sales.store.pk])
    assert row(two, sales.t.pk)["new_hire_qualification_rate"] == pytest.approx(2 / 3)  # D, E of D, E, F
    settings.PROBATION_MONTHS = 6
    august = kpi_table(level="team", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[sales.store.pk])
    assert row(august, sales.t.pk)["new_hire_qualification_rate"] is None


def _batch(kind):
    return ImportBatch.objects.create(kind=kind, file_name="x.csv", sha256="0" * 64, size_bytes=1, status="succeeded")


def test_a_later_stage_imported_changes_the_earlier_cohort():
    shop = Sales()
    first = _batch(ImportKind.LEADS)
    lead = shop.lead("A", [(L, at(8, 3)), (IN, at(8, 5))], customer="甲", batch=first)
    lead.stage_changes.update(batch=first)
    kpis_after_import(batch=first)
    a = shop.members["A"].pk
    day = MemberDay.objects.get(member_id=a, date=D(2026, 8, 5))
    assert (day.intent_entries, day.intents_to_negotiation) == (1, 0)
    # A week-later export: the lead is in negotiation since 10 Sep.
    second = _batch(ImportKind.LEADS)
    LeadStageChangeFactory(lead=lead, stage=N, changed_at=at(9, 10), batch=second)
    type(lead).objects.filter(pk=lead.pk).update(stage=N, stage_changed_at=at(9, 10), stage_changed_date=D(2026, 9, 10),
                                                 batch=second)  # fmt: skip
    report = kpis_after_import(batch=second)
    assert report.partitions == 1 and report.store_ids == [shop.store.pk]
    day = MemberDay.objects.get(member_id=a, date=D(2026, 8, 5))
    assert (day.intent_entries, day.intents_to_negotiation, day.lead_stage_exits) == (1, 1, 1)
    exit_day = MemberDay.objects.get(member_id=a, date=D(2026, 9, 10))
    assert (exit_day.negotiation_entries, exit_day.intent_stage_seconds) == (1, 36 * DAY)
    # Calls: the days of the batch's calls.
    calls = _batch(ImportKind.CALLS)
    CallFactory(store=shop.store, account=shop.accounts["B"], started_at=at(8, 31, 23, 30), batch=calls)
    kpis_after_import(batch=calls)
    assert MemberDay.objects.get(member_id=shop.members["B"].pk, date=D(2026, 8, 31)).dials == 1
    assert store_fact_days(store=shop.store) == (D(2026, 8, 3), D(2026, 9, 10))


def test_rebuild_is_idempotent_and_full_recompute_equal(sales):
    def snapshot():
        return sorted(MemberDay.objects.filter(store=sales.store).values_list(
            "date", "member_id", "team_id", "new_leads", "leads_to_intent", "intent_entries", "intents_to_negotiation",
            "negotiation_entries", "negotiations_won", "lead_stage_seconds", "intent_stage_seconds",
            "negotiation_stage_seconds", "won_deals", "closed_deals", "won_cents", "collected_cents", "cycle_seconds",
            "new_customers", "new_product_cents", "priced_cents", "guide_price_cents"))  # fmt: skip

    before = snapshot()
    assert len(before) > 10
    sales.rebuild()
    assert snapshot() == before
    kpis_recompute_store_full(store=sales.store)
    assert snapshot() == before


def test_a_repeated_stage_is_no_new_entry(sales):
    """An export showing the same stage at a new time adds a change, not an entry."""
    lead = sales.lead("A", [(L, at(8, 14)), (IN, at(8, 15)), (IN, at(8, 16)), (N, at(8, 17))], customer="庚",
                      amount_cents=100)  # fmt: skip
    assert lead.stage_changes.count() == 4
    sales.rebuild()
    day = MemberDay.objects.get(member_id=sales.members["A"].pk, date=D(2026, 8, 17))
    assert (day.negotiation_entries, day.intent_stage_exits, day.intent_stage_seconds) == (1, 1, 2 * DAY)
    assert MemberDay.objects.get(member_id=sales.members["A"].pk, date=D(2026, 8, 15)).intent_entries == 1
    assert not MemberDay.objects.filter(member_id=sales.members["A"].pk, date=D(2026, 8, 16)).exists()


def test_a_service_store_pays_one_query_and_keeps_its_figures(sales):
    """A shop-service store without leads or calls: the same rows and service KPIs as before,
    sales KPIs empty, and one EXISTS query beyond the month-version lookup and the three rollup reads."""
    shop = Store.objects.create(name="衣衣风尚专营店")
    team = TeamFactory(store=shop)
    member = MemberFactory()
    TeamMembershipFactory(member=member, team=team)
    MemberDay.objects.create(store=shop, date=D(2026, 8, 3), member=member, team=team, sessions=10,
                             answered_sessions=8, unanswered_sessions=2, response_seconds=160, paid_orders=4,
                             gmv_cents=40_000)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        table = kpi_table(level="member", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[shop.pk])
    assert len(queries) == 5
    assert "metrics_storemonthversion" in queries[0]["sql"]
    assert "EXISTS (SELECT 1 FROM metrics_lead" in queries[4]["sql"]  # the check, nothing read from the facts
    r = row(table, member.pk)
    assert (r["sessions"], r["paid_orders"], r["gmv"], r["avg_first_response_s"]) == (10, 4, Decimal("400.00"), 20.0)
    assert (r["new_leads"], r["dials"], r["pipeline_value"]) == (0, 0, Decimal("0.00"))
    assert r["win_rate"] is None and r["new_hire_qualification_rate"] is None
    assert list(table["entity_id"]) == [member.pk]
    # The sales store's figures, read together with it, are its own.
    both = kpi_table(level="member", grain="month", start=AUGUST[0], end=AUGUST[1], store_ids=[shop.pk, sales.store.pk])
    assert row(both, member.pk) == r
