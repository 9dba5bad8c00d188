"""Dashboards of online-sales and telesales teams (issue 9): KPI families by team kind, the
pipeline funnel, stage ageing, calls by hour, the leaderboard's columns, the personal page, the
API, the store overview and the warm-up. Figures are computed by hand below."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import translation

from metrics.dashboards.pages import team_dashboard_cached
from metrics.dashboards.presenters import team_dashboard_get
from metrics.dashboards.selectors.team import CARD_KPIS
from metrics.kpis.families import team_families
from metrics.models import LeadStage, MemberDay
from metrics.pipeline.reports import calls_by_hour_get, pipeline_funnel_get, stage_ageing_get
from metrics.registry import kpis_for
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, PlatformAccount, Role, Store, Team, TeamKind
from tests.factories import (
    AccountAssignmentFactory,
    CallFactory,
    LeadFactory,
    MemberFactory,
    PlatformAccountFactory,
    RoleGrantFactory,
    StoreFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    lead_path,
)

pytestmark = pytest.mark.django_db
SH = dt.timezone(dt.timedelta(hours=8))  # the store's zone, Asia/Shanghai
UTC = dt.UTC
AUG = Period(dt.date(2026, 8, 1), dt.date(2026, 8, 31))
LEAD, INTENT, NEGOTIATION, WON, LOST = (LeadStage.LEAD, LeadStage.INTENT, LeadStage.NEGOTIATION, LeadStage.WON,
                                        LeadStage.LOST)  # fmt: skip
CALL_KPIS = ["dials", "connected_dials", "connect_rate", "talk_time"]
PIPELINE_CARDS = ["new_leads", "won_deals", "won_amount", "win_rate", "pipeline_value", "sales_target_completion"]


def link(value) -> str:
    return f"/x/{value}"


@dataclass
class Org:
    """Store S (Asia/Shanghai, stuck after 7 days): telesales team T (M1, M2), online sales
    team O (M3), pre-sales team P (M4). Each member has one account."""

    store: Store
    tele: Team
    online: Team
    presales: Team
    m1: Member
    m2: Member
    m3: Member
    m4: Member
    acc1: PlatformAccount
    acc2: PlatformAccount
    acc3: PlatformAccount
    users: dict


@pytest.fixture
def org(db) -> Org:
    store = StoreFactory(name="电销旗舰店", time_zone="Asia/Shanghai", stuck_deal_days=7)
    tele = TeamFactory(store=store, name="电销一组", kind=TeamKind.TELESALES)
    online = TeamFactory(store=store, name="网销一组", kind=TeamKind.ONLINE_SALES)
    presales = TeamFactory(store=store, name="售前一组", kind=TeamKind.PRESALES)
    users = {name: UserFactory(username=name) for name in ("manager", "staff1", "staff2")}
    m1 = MemberFactory(display_name="Mia 周", user=users["staff1"])
    m2 = MemberFactory(display_name="Max 吴", user=users["staff2"])
    m3 = MemberFactory(display_name="Oli 郑")
    m4 = MemberFactory(display_name="Pia 冯")
    accounts = []
    for member, team in ((m1, tele), (m2, tele), (m3, online), (m4, presales)):
        TeamMembershipFactory(member=member, team=team, start_date=dt.date(2025, 1, 1))
        account = PlatformAccountFactory(store=store, name=f"CRM:{member.display_name}")
        AccountAssignmentFactory(member=member, account=account, start_date=dt.date(2025, 1, 1))
        accounts.append(account)
    RoleGrantFactory(user=users["manager"], role=Role.MANAGER, store=store)
    return Org(store, tele, online, presales, m1, m2, m3, m4, *accounts[:3], users)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def pipeline_facts(org: Org) -> None:
    """Leads of August. Team T created 6 (M1: 4, M2: 2): 5 reached intent, 4 negotiation, 2 won."""
    common = {"store": org.store}
    lead_path(steps=[(LEAD, at(2026, 8, 3, 9)), (INTENT, at(2026, 8, 5, 9)), (NEGOTIATION, at(2026, 8, 8, 9)),
                     (WON, at(2026, 8, 12, 9))], account=org.acc1, **common)  # fmt: skip
    lead_path(steps=[(LEAD, at(2026, 8, 4, 9)), (INTENT, at(2026, 8, 6, 9)), (LOST, at(2026, 8, 9, 9))],
              account=org.acc1, **common)  # fmt: skip  # lost after intent: counts for intent only
    lead_path(steps=[(LEAD, at(2026, 8, 10, 9)), (WON, at(2026, 8, 11, 9))], account=org.acc1, **common)  # skipped
    lead_path(steps=[(LEAD, at(2026, 8, 20, 9))], account=org.acc1, **common)
    lead_path(steps=[(LEAD, at(2026, 8, 15, 9)), (NEGOTIATION, at(2026, 8, 16, 9))], account=org.acc2, **common)
    # No stage history at all: its current stage (negotiation) counts.
    LeadFactory(account=org.acc2, created_at=at(2026, 8, 18, 9), stage=NEGOTIATION, **common)
    # Outside the cohort: created in July; created 1 September 00:30 local (16:30 UTC on the 31st).
    lead_path(steps=[(LEAD, at(2026, 7, 30, 9)), (INTENT, at(2026, 8, 2, 9))], account=org.acc1, **common)
    lead_path(steps=[(LEAD, dt.datetime(2026, 8, 31, 16, 30, tzinfo=UTC))], account=org.acc1, **common)
    # Another team's lead.
    lead_path(steps=[(LEAD, at(2026, 8, 5, 9)), (WON, at(2026, 8, 6, 9))], account=org.acc3, **common)


# --- families ------------------------------------------------------------------------------


def test_the_team_kind_decides_the_kpi_families(org):
    assert team_families(team=org.presales) == ("service",)
    assert team_families(team=TeamFactory(store=org.store, kind=TeamKind.AFTERSALES)) == ("service",)
    assert team_families(team=TeamFactory(store=org.store, kind=TeamKind.OPERATIONS)) == ("service",)
    assert team_families(team=org.tele) == ("calls", "pipeline")
    assert team_families(team=org.online) == ("pipeline",)  # no calls yet
    MemberDay.objects.create(store=org.store, date=dt.date(2026, 8, 3), member=org.m3, team=org.online, dials=1)
    assert team_families(team=org.online) == ("pipeline", "calls")


# --- the three sales figures ------------------------------------------------------------------


def test_pipeline_funnel_is_the_cohort_of_the_periods_leads(org):
    pipeline_facts(org)
    steps = pipeline_funnel_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, team_id=org.tele.pk)
    assert [(s.key, s.count) for s in steps] == [("created", 6), ("intent", 5), ("negotiation", 4), ("won", 2)]
    assert [s.of_created for s in steps] == pytest.approx([1.0, 5 / 6, 4 / 6, 2 / 6])
    assert steps[0].of_previous is None
    assert [s.of_previous for s in steps[1:]] == pytest.approx([5 / 6, 4 / 5, 2 / 4])
    mine = pipeline_funnel_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, member_id=org.m1.pk)
    assert [s.count for s in mine] == [4, 3, 2, 2]  # L1 (all), L2 (intent), L3 (won straight), L4 (lead)
    september = pipeline_funnel_get(
        store_id=org.store.pk, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30), team_id=org.tele.pk
    )
    assert [s.count for s in september] == [1, 0, 0, 0]  # 16:30 UTC on 31 August is 1 September here
    assert september[1].of_created == 0.0
    empty = pipeline_funnel_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, team_id=org.presales.pk)
    assert [s.count for s in empty] == [0, 0, 0, 0] and empty[1].of_created is None


def test_stage_ageing_buckets_by_local_days_with_the_boundaries_inclusive(org):
    today = dt.date(2026, 9, 1)

    def open_lead(stage, entered: dt.datetime, account=None):
        LeadFactory(store=org.store, account=account or org.acc1, stage=stage, created_at=entered - dt.timedelta(days=1),
                    stage_changed_at=entered)  # fmt: skip

    open_lead(LEAD, at(2026, 9, 1, 8))  # 0 days
    open_lead(LEAD, at(2026, 8, 29, 23, 59))  # 3 days: 0–3
    open_lead(INTENT, at(2026, 8, 28, 0, 1))  # 4 days: 4–7
    open_lead(NEGOTIATION, at(2026, 8, 25, 9))  # exactly 7 days: 4–7, not stuck
    # 24 August 16:30 UTC is 25 August 00:30 here: 7 local days, not 8.
    open_lead(NEGOTIATION, dt.datetime(2026, 8, 24, 16, 30, tzinfo=UTC))
    open_lead(NEGOTIATION, at(2026, 8, 24, 23, 30))  # 8 days: 8–14, stuck (more than 7)
    open_lead(INTENT, at(2026, 8, 2, 9))  # 30 days: 15–30
    open_lead(NEGOTIATION, at(2026, 8, 1, 9))  # 31 days: over 30, stuck
    open_lead(WON, at(2026, 8, 30, 9))  # closed: not ageing
    open_lead(LOST, at(2026, 8, 30, 9))
    open_lead(NEGOTIATION, at(2026, 8, 1, 9), account=org.acc3)  # another team's
    with translation.override("en"):  # the bucket labels are read in English below
        ageing = stage_ageing_get(store=org.store, as_of=today, team_id=org.tele.pk)
    assert ageing.counts == {"lead": [2, 0, 0, 0, 0], "intent": [0, 1, 0, 1, 0], "negotiation": [0, 2, 1, 0, 1]}
    assert ageing.stuck == 2 and ageing.stuck_days == 7 and ageing.total == 8
    assert ageing.buckets == ["0–3 days", "4–7 days", "8–14 days", "15–30 days", "> 30 days"]
    # A store that tolerates 8 days: the 8-day deal is not stuck yet.
    org.store.stuck_deal_days = 8
    assert stage_ageing_get(store=org.store, as_of=today, team_id=org.tele.pk).stuck == 1
    assert stage_ageing_get(store=org.store, as_of=today, member_id=org.m2.pk).total == 0


def test_calls_by_hour_are_the_stores_local_hours_of_the_teams_outbound_calls(org):
    def call(moment: dt.datetime, account=None, **more):
        CallFactory(store=org.store, account=account or org.acc1, started_at=moment, **more)

    call(dt.datetime(2026, 8, 3, 1, 30, tzinfo=UTC))  # 09:30 local, connected
    call(dt.datetime(2026, 8, 3, 1, 59, tzinfo=UTC), connected=False, duration_seconds=0)  # 09:59 local
    call(dt.datetime(2026, 8, 3, 2, 0, tzinfo=UTC), account=org.acc2)  # 10:00 local
    call(dt.datetime(2026, 7, 31, 16, 10, tzinfo=UTC))  # 1 August 00:10 local: in August, hour 0
    call(dt.datetime(2026, 8, 31, 16, 10, tzinfo=UTC))  # 1 September 00:10 local: outside
    call(dt.datetime(2026, 8, 3, 1, 40, tzinfo=UTC), direction="in")  # inbound: not a dial
    call(dt.datetime(2026, 8, 3, 1, 45, tzinfo=UTC), account=org.acc3)  # another team's
    hours = calls_by_hour_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, team_id=org.tele.pk)
    assert len(hours) == 24
    assert {h.hour: (h.dials, h.connected) for h in hours if h.dials} == {0: (1, 1), 9: (2, 1), 10: (1, 1)}
    assert hours[9].rate == pytest.approx(0.5) and hours[11].rate is None
    mine = calls_by_hour_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, member_id=org.m2.pk)
    assert sum(h.dials for h in mine) == 1 and mine[10].dials == 1


def test_one_stage_rank_orders_stage_changes_and_a_lost_lead_reaches_no_funnel_step():
    """One rank of the pipeline's stages (metrics.kpis.sql.STAGE_RANK) for the rollups' order of
    same-second changes and for the funnel's "reached": won and lost both end the pipeline (3),
    and the funnel does not count a lost entry as reaching any step."""
    from metrics.kpis.sql import STAGE_RANK, stage_rank

    assert STAGE_RANK == {LEAD: 0, INTENT: 1, NEGOTIATION: 2, WON: 3, LOST: 3}
    assert (
        stage_rank("h") == "CASE h.stage WHEN 'lead' THEN 0 WHEN 'intent' THEN 1 WHEN 'negotiation' THEN 2 ELSE 3 END"
    )


def test_the_calls_chart_and_the_best_hours_grid_count_the_same_calls(org):
    from metrics.pipeline.reports import call_hours_grid

    for hour in (1, 1, 2):
        CallFactory(store=org.store, account=org.acc1, started_at=dt.datetime(2026, 8, 3, hour, 30, tzinfo=UTC))
    CallFactory(store=org.store, account=org.acc2, started_at=dt.datetime(2026, 8, 4, 2, 0, tzinfo=UTC))
    for member in (org.m1, org.m2):
        hours = calls_by_hour_get(store_id=org.store.pk, start=AUG.start, end=AUG.end, member_id=member.pk)
        grid = call_hours_grid(store=org.store, period=AUG, member_ids=[member.pk])
        by_hour = {h.hour: h.dials for h in hours if h.dials}
        assert sum(by_hour.values()) == grid.total and grid.total > 0
        assert by_hour == {hour: sum(c.count for (_w, h), c in grid.cells.items() if h == hour) for hour in by_hour}


# --- the team dashboard ----------------------------------------------------------------------


def member_days(org: Org) -> None:
    """Rollup rows of T: M1 60 dials (45 connected) and 2 wins for ¥3,000; M2 40 (20), 1 win ¥500."""
    rows = (
        (org.m1, dt.date(2026, 8, 3), {"dials": 40, "connected_dials": 30, "talk_seconds": 3000, "new_leads": 3,
                                       "won_deals": 1, "closed_deals": 1, "won_cents": 100_000}),
        (org.m1, dt.date(2026, 8, 4), {"dials": 20, "connected_dials": 15, "talk_seconds": 1500, "new_leads": 1,
                                       "won_deals": 1, "closed_deals": 2, "won_cents": 200_000}),
        (org.m2, dt.date(2026, 8, 3), {"dials": 40, "connected_dials": 20, "talk_seconds": 1000, "new_leads": 2,
                                       "won_deals": 1, "closed_deals": 1, "won_cents": 50_000}),
    )  # fmt: skip
    for member, day, measures in rows:
        MemberDay.objects.create(store=org.store, date=day, member=member, team=org.tele, **measures)


def test_a_telesales_dashboard_shows_calls_and_pipeline(org):
    member_days(org)
    pipeline_facts(org)
    d = team_dashboard_get(team=org.tele, period=AUG, member_link=link, day_link=link, today=dt.date(2026, 9, 1))
    assert d.families == ("calls", "pipeline") and not d.is_service
    assert [c.kpi.key for c in d.cards] == CALL_KPIS + PIPELINE_CARDS
    cards = {c.kpi.key: c.value for c in d.cards}
    assert cards["dials"] == 100 and cards["connected_dials"] == 65 and cards["connect_rate"] == pytest.approx(0.65)
    assert cards["talk_time"] == 5500 and cards["new_leads"] == 6 and cards["won_deals"] == 3
    assert cards["won_amount"] == Decimal("3500.00") and cards["win_rate"] == pytest.approx(3 / 4)
    # Columns: the calls family, then the pipeline family; none of the shop's.
    assert [k.key for k in d.columns] == [k.key for k in kpis_for("member", families=("calls",))] + [
        k.key for k in kpis_for("member", families=("pipeline",))
    ]
    assert "gmv" not in [k.key for k in d.columns]
    # Default order and trend: connected calls, best first.
    assert d.sort == "connected_dials" and d.descending is True and d.trend_kpi.key == "connected_dials"
    assert [(r.name, r.rank, r.values["connected_dials"]) for r in d.leaderboard] == [
        ("Mia 周", 1, 45),
        ("Max 吴", 2, 20),
    ]
    assert d.leaderboard[0].spark[2:4] == [30.0, 15.0]  # 3 and 4 August
    by_amount = team_dashboard_get(team=org.tele, period=AUG, sort="won_amount", descending=False, member_link=link,
                                   day_link=link, today=dt.date(2026, 9, 1))  # fmt: skip
    assert [r.name for r in by_amount.leaderboard] == ["Max 吴", "Mia 周"]
    # The sales figures; none of the shop's.
    assert [s.count for s in d.sales.funnel] == [6, 5, 4, 2]
    assert sum(h.dials for h in d.sales.calls) == 0  # no call facts here: the rollup rows are written by hand
    # Open on 1 September: M1's leads of 20 August, of July (in intent) and of 1 September; M2's two
    # in negotiation (since 16 and 18 August: 16 and 14 days).
    assert d.sales.ageing.total == 5
    assert d.sales.ageing.counts["negotiation"] == [0, 0, 1, 1, 0] and d.sales.ageing.stuck == 2
    assert d.funnel_steps == [] and d.scatter == {} and d.alerts == [] and d.segments == []
    assert d.sales.funnel_figure["data"][0]["x"] == [6, 5, 4, 2]


def test_an_online_sales_team_without_calls_shows_the_pipeline_only(org):
    pipeline_facts(org)
    d = team_dashboard_get(team=org.online, period=AUG, member_link=link, day_link=link, today=dt.date(2026, 9, 1))
    assert [c.kpi.key for c in d.cards] == PIPELINE_CARDS
    assert d.sales.calls is None and [s.count for s in d.sales.funnel] == [1, 1, 1, 1]
    assert d.has_data is True  # the leads, even before any rollup row
    assert d.sort == "won_amount"


def test_a_presales_dashboard_is_unchanged(org):
    MemberDay.objects.create(store=org.store, date=dt.date(2026, 8, 3), member=org.m4, team=org.presales, sessions=4,
                             answered_sessions=4, paid_orders=2, gmv_cents=30_000)  # fmt: skip
    d = team_dashboard_get(team=org.presales, period=AUG, member_link=link, day_link=link)
    assert d.families == ("service",) and d.is_service
    assert [c.kpi.key for c in d.cards] == list(CARD_KPIS)
    assert [k.key for k in d.columns] == [k.key for k in kpis_for("member", families=("service",))]
    assert d.sort == "gmv" and d.trend_kpi.key == "gmv"
    assert {c.kpi.key: c.value for c in d.cards}["gmv"] == Decimal("300.00")
    assert d.sales.funnel is None and d.sales.calls is None and d.sales.ageing is None
    assert d.funnel["data"] and d.scatter["data"] and d.response_figure["data"]


def test_another_familys_kpi_falls_back_to_the_teams_default(org):
    member_days(org)
    d = team_dashboard_cached(team=org.tele, preset="custom", period=AUG, trend_kpi="gmv", sort="gmv", descending=False)
    assert d.trend_kpi.key == "connected_dials" and d.sort == "connected_dials" and d.descending is True
    # The day links of the default view carry no kpi or sort.
    assert d.trend["data"][0]["customdata"][0].endswith(
        f"team={org.tele.pk}&preset=custom&start=2026-08-01&end=2026-08-01"
    )


# --- pages, API, store overview, warm-up -----------------------------------------------------


@pytest.fixture
def recent(org):
    """Facts and rollup rows of the last days, relative to the store's today."""
    today = store_today(org.store)
    day = today - dt.timedelta(days=2)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=SH)
    lead_path(steps=[(LEAD, noon), (INTENT, noon + dt.timedelta(hours=1)), (WON, noon + dt.timedelta(hours=2))],
              store=org.store, account=org.acc1)  # fmt: skip
    lead_path(steps=[(LEAD, noon), (NEGOTIATION, noon + dt.timedelta(hours=3))], store=org.store, account=org.acc2)
    CallFactory(store=org.store, account=org.acc1, started_at=noon.replace(hour=9))
    CallFactory(store=org.store, account=org.acc1, started_at=noon.replace(hour=9, minute=30), connected=False)
    CallFactory(store=org.store, account=org.acc2, started_at=noon.replace(hour=15))
    MemberDay.objects.create(store=org.store, date=day, member=org.m1, team=org.tele, dials=2, connected_dials=1,
                             talk_seconds=120, new_leads=1, won_deals=1, closed_deals=1, won_cents=1_000_000)  # fmt: skip
    MemberDay.objects.create(store=org.store, date=day, member=org.m2, team=org.tele, dials=1, connected_dials=1,
                             talk_seconds=120, new_leads=1)  # fmt: skip
    return today


def test_manager_sees_the_telesales_dashboard_in_both_languages(org, recent, client_for):
    client = client_for(org.users["manager"])
    html = client.get("/dashboard/", {"team": org.tele.pk}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for key in CALL_KPIS + PIPELINE_CARDS:
        assert f'data-kpi="{key}"' in html
    assert 'data-kpi="gmv"' not in html
    for figure in ("fig-trend", "fig-pipeline-funnel", "fig-ageing", "fig-calls-hour"):
        assert f'id="{figure}-data"' in html
    for figure in ("fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"):
        assert f'id="{figure}-data"' not in html
    assert "Pipeline funnel" in html and "Stage ageing" in html and "Calls by hour" in html
    board = html[html.index('data-testid="leaderboard"') :]
    assert board.count('<td class="num rank">1</td>') == 2  # 1 connected call each: both rank 1
    assert ">Outbound calls" in board and ">Amount won" in board and ">GMV" not in board
    # The trend's choices are the team's KPIs.
    assert '<option value="connected_dials" selected>' in html and '<option value="gmv"' not in html
    zh = client.get("/dashboard/", {"team": org.tele.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "呼出数" in zh and "成单金额" in zh
    # Sorted by another KPI through the URL.
    html = client.get("/dashboard/", {"team": org.tele.pk, "sort": "dials"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    board = html[html.index('data-testid="leaderboard"') :]
    assert board.index("Mia 周") < board.index("Max 吴") and 'aria-sort="descending"' in board


def test_a_sales_team_without_data_says_what_to_import(org, client_for):
    html = client_for(org.users["manager"]).get("/dashboard/", {"team": org.online.pk}, HTTP_ACCEPT_LANGUAGE="en")
    html = html.content.decode()
    assert 'data-testid="empty-state"' in html and "leads and call exports" in html
    assert 'data-testid="pipeline-funnel-empty"' in html and 'data-testid="stage-ageing-empty"' in html
    assert 'data-testid="calls-by-hour"' not in html  # an online team without calls


def test_sales_staff_see_their_own_page_only(org, recent, client_for, api_for):
    client = client_for(org.users["staff1"])
    assert client.get("/dashboard/").url.endswith("/dashboard/me/")
    html = client.get("/dashboard/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mia 周" in html
    for other in ("Max 吴", "Oli 郑", "Pia 冯"):
        assert other not in html
    table = html[html.index('data-testid="personal-kpis"') :]
    assert 'data-kpi="dials"' in table and 'data-kpi="won_amount"' in table and 'data-kpi="gmv"' not in table
    assert 'data-testid="estimator"' not in html  # the GMV estimator is for the shop's service staff
    assert client.get(f"/dashboard/members/{org.m2.pk}/").status_code == 404
    mine = api_for(org.users["staff1"]).get("/api/dashboards/me/").json()
    assert mine["families"] == ["calls", "pipeline"] and "Max" not in str(mine)
    assert [s["leads"] for s in mine["pipeline_funnel"]] == [1, 1, 1, 1]  # their own lead only: won, via intent
    assert sum(h["dials"] for h in mine["calls_by_hour"]) == 2 and mine["calls_by_hour"][9]["connected"] == 1


def test_the_api_returns_the_sales_figures(org, recent, api_for):
    body = api_for(org.users["manager"]).get("/api/dashboards/team/", {"team": org.tele.pk}).json()
    assert body["families"] == ["calls", "pipeline"]
    assert [c["kpi"] for c in body["cards"]] == CALL_KPIS + PIPELINE_CARDS
    # M1's lead won (so it passed intent and negotiation), M2's is in negotiation.
    assert [s["leads"] for s in body["pipeline_funnel"]] == [2, 2, 2, 1]
    assert body["pipeline_funnel"][3]["of_created"] == pytest.approx(0.5)
    assert body["pipeline_funnel"][3]["of_previous"] == pytest.approx(0.5)
    assert body["stage_ageing"]["stuck_days"] == 7
    assert body["stage_ageing"]["stages"][2] == {
        "stage": "negotiation",
        "label": "谈判",  # the site's language (zh-hans) when the request asks for none
        "leads": [1, 0, 0, 0, 0],
    }
    assert {h["hour"]: h["dials"] for h in body["calls_by_hour"] if h["dials"]} == {9: 2, 15: 1}
    assert body["calls_by_hour"][9]["connect_rate"] == pytest.approx(0.5)
    assert body["first_response"] is None and body["funnel"] == []
    assert body["leaderboard"]["sort"] == "connected_dials"
    presales = api_for(org.users["manager"]).get("/api/dashboards/team/", {"team": org.presales.pk}).json()
    assert presales["families"] == ["service"] and presales["pipeline_funnel"] is None
    assert [c["kpi"] for c in presales["cards"]] == list(CARD_KPIS)


def test_the_store_overview_works_with_sales_teams(org, recent, client_for, api_for):
    assert client_for(org.users["manager"]).get("/dashboard/stores/").status_code == 200
    stores = api_for(org.users["manager"]).get("/api/dashboards/stores/").json()["stores"]
    assert [(s["name"], s["staff"], s["sessions"], s["gmv"]) for s in stores] == [("电销旗舰店", 0, 0, "0.00")]


def test_the_warm_up_covers_sales_teams(org, recent, client_for, monkeypatch):
    from metrics.dashboards.warmup import dashboards_warm

    # Three teams and four members today, in both languages.
    assert dashboards_warm(store=org.store) == 2 * (3 + 4)

    def refuse(**kwargs):
        raise AssertionError("computed on request although warmed")

    monkeypatch.setattr("metrics.dashboards.pages.team_dashboard_get", refuse)
    monkeypatch.setattr("metrics.dashboards.pages.member_dashboard_get", refuse)
    manager = client_for(org.users["manager"])
    for team in (org.tele, org.online, org.presales):
        assert manager.get("/dashboard/", {"team": team.pk}, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    # Asking for the default KPI by name is the same page.
    assert manager.get("/dashboard/", {"team": org.tele.pk, "kpi": "connected_dials"}).status_code == 200
    with pytest.raises(AssertionError, match="computed on request"):
        manager.get("/dashboard/", {"team": org.tele.pk, "kpi": "dials"})
    assert client_for(org.users["staff1"]).get("/dashboard/me/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
