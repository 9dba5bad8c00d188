"""Stuck deals: detection, the breakthrough plan and its answer (response-time status), who may
do what, the follow-up health report and the best-hours grids. Every figure computed by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from metrics.models import LeadStage, StuckDeal
from metrics.pipeline.reports import (
    call_hours_grid,
    stage_advance_hours_grid,
)
from metrics.pipeline.selectors import (
    AMBER,
    CLOSED,
    GREEN,
    IDLE,
    LATE,
    NO_PLAN,
    ON_TIME,
    OVERDUE,
    RED,
    WAITING,
    HealthRow,
    followup_health_report,
    health_status,
    stuck_deal_list,
    stuck_deal_sla,
    stuck_deals_filter,
)
from metrics.pipeline.services import stuck_deal_plan_submit, stuck_deal_respond, stuck_deals_detect
from metrics.tasks import stuck_deals_detect_task
from perfmgmt.common.periods import Period
from teams.models import AccountAssignment
from teams.selectors.scoping import viewer_get
from tests.factories import (
    AccountAssignmentFactory,
    CallFactory,
    LeadFactory,
    LeadStageChangeFactory,
    PlatformAccountFactory,
    lead_path,
)

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 8, 20, 12, 0, tzinfo=SH)  # a Thursday
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
PLAN = "客户卡在价格: 周五前申请阶梯折扣并约老板面谈, needs the manager's approval."
ANSWER = "同意折扣, 我周五陪同面谈。"


def negotiating(org, *, days: float, account=None, store=None, **fields):
    """A lead created 20 days before NOW, in negotiation since `days` days before NOW."""
    return lead_path(
        steps=[(LeadStage.LEAD, NOW - 20 * DAY), (LeadStage.NEGOTIATION, NOW - dt.timedelta(days=days))],
        store=store or org.s1,
        account=account or org.account_a,
        **fields,
    )


def viewer(org, name):
    return viewer_get(user=org.users[name])


@pytest.fixture
def emails(org):
    for name, user in org.users.items():
        user.email = f"{name}@example.com"
        user.save()
    return org


# --- detection --------------------------------------------------------------------------------


def test_eight_days_is_stuck_six_is_not_and_detection_is_idempotent(org):
    stuck = negotiating(org, days=8)
    negotiating(org, days=6)
    at_limit = negotiating(org, days=7)  # exactly the limit: not *more than* 7 days
    negotiating(org, days=9, store=org.s2, account=org.account_d)  # another store

    assert stuck_deals_detect(store=org.s1, now=NOW) == 1
    assert stuck_deals_detect(store=org.s1, now=NOW) == 0
    deal = StuckDeal.objects.get()
    assert deal.lead == stuck and deal.store == org.s1 and deal.member == org.a
    assert deal.negotiation_since == NOW - 8 * DAY and deal.detected_at == NOW
    assert deal.closed_at is None and deal.outcome == ""
    assert stuck_deals_detect(store=org.s1, now=NOW + HOUR) == 1  # the 7-day one is now past the limit
    assert set(StuckDeal.objects.values_list("lead", flat=True)) == {stuck.pk, at_limit.pk}


def test_negotiation_start_falls_back_to_the_leads_stage_time_without_history(org):
    lead = LeadFactory(store=org.s1, account=org.account_b, stage=LeadStage.NEGOTIATION,
                       created_at=NOW - 30 * DAY, stage_changed_at=NOW - 9 * DAY)  # fmt: skip
    assert stuck_deals_detect(store=org.s1, now=NOW) == 1
    deal = StuckDeal.objects.get(lead=lead)
    assert deal.negotiation_since == NOW - 9 * DAY and deal.member == org.b


def test_the_latest_entry_into_negotiation_counts(org):
    lead = lead_path(
        steps=[(LeadStage.NEGOTIATION, NOW - 15 * DAY), (LeadStage.INTENT, NOW - 12 * DAY),
               (LeadStage.NEGOTIATION, NOW - 5 * DAY)],
        store=org.s1, account=org.account_a,
    )  # fmt: skip
    assert stuck_deals_detect(store=org.s1, now=NOW) == 0  # back in negotiation only 5 days
    assert stuck_deals_detect(store=org.s1, now=NOW + 3 * DAY) == 1
    assert StuckDeal.objects.get(lead=lead).negotiation_since == NOW - 5 * DAY


def test_the_owner_is_the_accounts_member_on_the_day_of_detection(org):
    negotiating(org, days=10)
    AccountAssignment.objects.filter(account=org.account_a).update(end_date=dt.date(2026, 8, 18))
    AccountAssignmentFactory(account=org.account_a, member=org.b, start_date=dt.date(2026, 8, 19))
    stuck_deals_detect(store=org.s1, now=NOW)
    assert StuckDeal.objects.get().member == org.b


def test_leaving_negotiation_closes_the_deal_with_its_outcome(org):
    lead = negotiating(org, days=8)
    stuck_deals_detect(store=org.s1, now=NOW)
    LeadStageChangeFactory(lead=lead, stage=LeadStage.WON, changed_at=NOW + 3 * HOUR)
    lead.stage, lead.stage_changed_at = LeadStage.WON, NOW + 3 * HOUR
    lead.save()

    assert stuck_deals_detect(store=org.s1, now=NOW + 5 * HOUR) == 0
    deal = StuckDeal.objects.get()
    assert deal.closed_at == NOW + 3 * HOUR and deal.outcome == LeadStage.WON
    closed_at = deal.closed_at
    stuck_deals_detect(store=org.s1, now=NOW + 6 * HOUR)
    deal.refresh_from_db()
    assert deal.closed_at == closed_at and StuckDeal.objects.count() == 1


def test_a_lost_lead_without_the_exit_in_its_history_closes_at_its_stage_time(org):
    lead = negotiating(org, days=8)
    stuck_deals_detect(store=org.s1, now=NOW)
    lead.stage, lead.stage_changed_at = LeadStage.LOST, NOW + 2 * HOUR
    lead.save()
    stuck_deals_detect(store=org.s1, now=NOW + 4 * HOUR)
    deal = StuckDeal.objects.get()
    assert deal.closed_at == NOW + 2 * HOUR and deal.outcome == LeadStage.LOST


def test_back_and_stuck_again_is_a_second_stay(org):
    lead = negotiating(org, days=8)
    stuck_deals_detect(store=org.s1, now=NOW)
    LeadStageChangeFactory(lead=lead, stage=LeadStage.INTENT, changed_at=NOW + DAY)
    LeadStageChangeFactory(lead=lead, stage=LeadStage.NEGOTIATION, changed_at=NOW + 2 * DAY)
    lead.stage, lead.stage_changed_at = LeadStage.NEGOTIATION, NOW + 2 * DAY
    lead.save()

    assert stuck_deals_detect(store=org.s1, now=NOW + 9 * DAY) == 0  # 7 days exactly: not yet
    first = StuckDeal.objects.get()
    assert first.closed_at == NOW + DAY and first.outcome == LeadStage.INTENT
    assert stuck_deals_detect(store=org.s1, now=NOW + 10 * DAY) == 1
    assert StuckDeal.objects.filter(closed_at__isnull=True).get().negotiation_since == NOW + 2 * DAY


def test_new_stuck_deals_are_emailed_to_owner_team_lead_and_store_managers_once(
    emails, mailoutbox, django_capture_on_commit_callbacks
):
    org = emails
    negotiating(org, days=8)
    negotiating(org, days=10, account=org.account_c)  # Carol: team Y, no lead, no user
    with django_capture_on_commit_callbacks(execute=True):
        stuck_deals_detect(store=org.s1, now=NOW)
    to = {message.to[0]: message for message in mailoutbox}
    assert set(to) == {"staff_a@example.com", "lead_x@example.com", "manager_s1@example.com"}
    assert " 2 " in f" {to['manager_s1@example.com'].subject} "  # "2 deals stuck …" / "… 有 2 个商机…"
    assert len([line for line in to["staff_a@example.com"].body.splitlines() if "/pipeline/stuck/" in line]) == 1
    assert len([line for line in to["manager_s1@example.com"].body.splitlines() if "/pipeline/stuck/" in line]) == 2
    with django_capture_on_commit_callbacks(execute=True):
        stuck_deals_detect(store=org.s1, now=NOW + HOUR)
    assert len(mailoutbox) == 3


def test_the_task_runs_detection_and_ignores_a_missing_store(org):
    negotiating(org, days=8)
    assert stuck_deals_detect_task(org.s1.pk) == 1
    assert stuck_deals_detect_task(org.s1.pk) == 0
    assert stuck_deals_detect_task(999_999) == 0
    assert StuckDeal.objects.count() == 1


# --- plan and answer ----------------------------------------------------------------------------


@pytest.fixture
def deal(org):
    negotiating(org, days=8)
    stuck_deals_detect(store=org.s1, now=NOW)
    return StuckDeal.objects.select_related("store", "lead").get()


def submit(org, deal, at=NOW + HOUR):
    return stuck_deal_plan_submit(viewer=viewer(org, "staff_a"), user=org.users["staff_a"], deal=deal, plan=PLAN,
                                  now=at)  # fmt: skip


def answer(org, deal, at, who="lead_x"):
    return stuck_deal_respond(viewer=viewer(org, who), user=org.users[who], deal=deal, response=ANSWER, now=at)


def sla_everywhere(deal, now):
    """The status from the deal, and the one status filter that finds it (they must agree)."""
    matches = [s for s in (NO_PLAN, WAITING, ON_TIME, LATE, OVERDUE, CLOSED)
               if stuck_deals_filter(deals=StuckDeal.objects.all(), sla=s, now=now).filter(pk=deal.pk).exists()]  # fmt: skip
    deal.refresh_from_db()
    return stuck_deal_sla(deal=deal, now=now), matches


def test_plan_starts_the_clock_and_an_answer_at_exactly_twelve_hours_is_on_time(org, deal):
    assert sla_everywhere(deal, NOW) == (NO_PLAN, [NO_PLAN])
    submit(org, deal)
    deal.refresh_from_db()
    assert deal.plan == PLAN and deal.plan_submitted_at == NOW + HOUR and deal.plan_by == org.users["staff_a"]
    assert sla_everywhere(deal, NOW + 13 * HOUR) == (WAITING, [WAITING])  # the deadline itself: not overdue yet
    answer(org, deal, NOW + 13 * HOUR)
    assert deal.responded_by == org.users["lead_x"] and deal.response == ANSWER
    assert sla_everywhere(deal, NOW + 20 * HOUR) == (ON_TIME, [ON_TIME])


def test_an_answer_a_second_after_twelve_hours_is_late(org, deal):
    submit(org, deal)
    answer(org, deal, NOW + 13 * HOUR + dt.timedelta(seconds=1), who="manager_s1")
    assert sla_everywhere(deal, NOW + 20 * HOUR) == (LATE, [LATE])


def test_no_answer_a_second_past_the_deadline_is_overdue(org, deal):
    submit(org, deal)
    assert sla_everywhere(deal, NOW + 13 * HOUR + dt.timedelta(seconds=1)) == (OVERDUE, [OVERDUE])


def test_a_deal_that_leaves_negotiation_before_the_deadline_needs_no_answer(org, deal):
    submit(org, deal)
    StuckDeal.objects.filter(pk=deal.pk).update(closed_at=NOW + 5 * HOUR, outcome=LeadStage.WON)
    assert sla_everywhere(deal, NOW + 30 * HOUR) == (CLOSED, [CLOSED])
    with pytest.raises(ValidationError):
        answer(org, deal, NOW + 6 * HOUR, who="manager_s1")


def test_only_the_owner_submits_a_plan_once_and_long_enough(org, deal):
    for name in ("staff_b", "lead_x", "manager_s1", "hr"):
        with pytest.raises(PermissionDenied):
            stuck_deal_plan_submit(viewer=viewer(org, name), user=org.users[name], deal=deal, plan=PLAN, now=NOW)
    with pytest.raises(ValidationError) as short:
        stuck_deal_plan_submit(viewer=viewer(org, "staff_a"), user=org.users["staff_a"], deal=deal, plan="  再跟进  ")
    assert "plan" in short.value.message_dict
    submit(org, deal)
    with pytest.raises(ValidationError):
        submit(org, deal, at=NOW + 2 * HOUR)
    deal.refresh_from_db()
    assert deal.plan_submitted_at == NOW + HOUR


def test_who_may_answer(org, deal):
    with pytest.raises(ValidationError):  # no plan yet
        answer(org, deal, NOW, who="manager_s1")
    submit(org, deal)
    for name in ("staff_a", "staff_b", "manager_s2", "hr"):
        with pytest.raises(PermissionDenied):
            answer(org, deal, NOW + 2 * HOUR, who=name)
    answer(org, deal, NOW + 2 * HOUR, who="manager_s1")
    with pytest.raises(ValidationError):  # answered once
        answer(org, deal, NOW + 3 * HOUR, who="lead_x")


def test_who_sees_a_stuck_deal(org, deal):
    seen = {name: stuck_deal_list(viewer=viewer(org, name)).filter(pk=deal.pk).exists() for name in org.users}
    assert seen == {"staff_a": True, "staff_b": False, "lead_x": True, "manager_s1": True, "manager_s2": False,
                    "hr": True, "admin": True, "nobody": False}  # fmt: skip


# --- follow-up health -----------------------------------------------------------------------------


def test_health_report_by_hand(org):
    # Alice: open leads changed 1, 5 and 10 days before NOW (the last one stuck), and a won one.
    LeadFactory(store=org.s1, account=org.account_a, stage=LeadStage.INTENT, stage_changed_at=NOW - DAY)
    LeadFactory(store=org.s1, account=org.account_a, stage=LeadStage.LEAD, stage_changed_at=NOW - 5 * DAY)
    negotiating(org, days=10)
    LeadFactory(store=org.s1, account=org.account_a, stage=LeadStage.WON, stage_changed_at=NOW - 2 * DAY)
    # Bob: one open lead changed 2 days ago; Carol: nothing.
    LeadFactory(store=org.s1, account=org.account_b, stage=LeadStage.INTENT, stage_changed_at=NOW - 2 * DAY)
    stuck_deals_detect(store=org.s1, now=NOW)
    deal = StuckDeal.objects.select_related("store").get()
    submit(org, deal, at=NOW + HOUR)
    answer(org, deal, NOW + 2 * HOUR)

    rows = followup_health_report(store=org.s1, members=[org.a, org.b, org.c], now=NOW + 3 * HOUR,
                                  period=Period(dt.date(2026, 8, 20), dt.date(2026, 8, 20)), stale_days=3)  # fmt: skip
    a, b, c = rows
    assert (a.open_leads, a.stale_leads, a.stale_share) == (3, 2, Decimal(2) / Decimal(3))
    # (1 d 3 h + 5 d 3 h + 10 d 3 h) / 3 = 16.375 d / 3 = 5.458… days
    assert a.average_stage_days == Decimal("5.5")
    assert (a.stuck_open, a.stuck_open_without_plan, a.stuck_detected) == (1, 0, 1)
    assert (a.plans_submitted, a.answered_on_time, a.answered_late, a.overdue) == (1, 1, 0, 0)
    assert a.status == RED  # 67% stale
    assert (b.open_leads, b.stale_leads, b.average_stage_days, b.stuck_open, b.status) == (
        1, 0, Decimal("2.1"), 0, GREEN)  # fmt: skip
    assert (c.open_leads, c.average_stage_days, c.status) == (0, None, IDLE)

    earlier = followup_health_report(store=org.s1, members=[org.a], now=NOW + 3 * HOUR,
                                     period=Period(dt.date(2026, 8, 1), dt.date(2026, 8, 19)))  # fmt: skip
    assert (earlier[0].stuck_detected, earlier[0].plans_submitted, earlier[0].stuck_open) == (0, 0, 1)


@pytest.mark.parametrize(
    ("open_leads", "stale", "stuck", "without_plan", "expected"),
    [
        (10, 0, 0, 0, GREEN),
        (10, 1, 0, 0, AMBER),  # exactly 10% stale
        (10, 0, 1, 0, AMBER),  # a stuck deal with a plan
        (10, 3, 0, 0, RED),  # exactly 30%
        (10, 0, 1, 1, RED),  # a stuck deal without a plan
        (0, 0, 0, 0, IDLE),
    ],
)
def test_health_status_rule(org, open_leads, stale, stuck, without_plan, expected):
    row = HealthRow(member=org.a, open_leads=open_leads, stale_leads=stale, stuck_open=stuck,
                    stuck_open_without_plan=without_plan)  # fmt: skip
    assert health_status(row) == expected


# --- best hours -------------------------------------------------------------------------------------

WED = dt.date(2026, 8, 19)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def calls(org, when, made, connected, **fields):
    for i in range(made):
        CallFactory(store=org.s1, account=org.account_a, started_at=when, connected=i < connected, **fields)


def test_call_connect_rate_grid_by_hand(org):
    calls(org, at(WED, 14, 5), 10, 7)  # Wednesday 14:00: 70%
    calls(org, at(WED, 10, 30), 10, 4)  # Wednesday 10:00: 40%
    calls(org, at(WED + DAY, 15), 3, 3)  # Thursday 15:00: 100%, but only 3 calls
    calls(org, at(WED, 14, 10), 2, 2, direction="in")  # inbound: not counted
    calls(org, at(WED - 7 * DAY, 14), 5, 5)  # before the period
    period = Period(WED - DAY, WED + DAY)

    grid = call_hours_grid(store=org.s1, period=period, min_calls=10)
    assert (grid.total, grid.total_hits) == (23, 14)
    assert grid.cell(3, 14).rate == Decimal("0.7") and grid.cell(3, 10).rate == Decimal("0.4")
    assert grid.cell(4, 15).rate == 1 and not grid.cell(4, 15).best
    assert [(c.weekday, c.hour) for c in grid.best] == [(3, 14), (3, 10)]
    assert grid.hours == [10, 11, 12, 13, 14, 15]

    assert [(c.weekday, c.hour) for c in call_hours_grid(store=org.s1, period=period, min_calls=3).best] == [
        (4, 15), (3, 14), (3, 10)]  # fmt: skip
    assert call_hours_grid(store=org.s1, period=period, member_ids=[org.b.pk]).total == 0
    assert call_hours_grid(store=org.s1, period=period, member_ids=[org.a.pk]).total == 23


def test_the_call_grids_connect_rate_is_the_engines_kpi(org):
    from metrics.kpis.selectors import kpi_table
    from metrics.kpis.services import kpis_recompute_store_full
    from metrics.pipeline.reports import calls_by_hour_get

    calls(org, at(WED, 14, 5), 9, 7)
    calls(org, at(WED, 10, 30), 3, 1)
    calls(org, at(WED - 7 * DAY, 14), 5, 5)  # before the period
    calls(org, at(WED + 7 * DAY, 14), 4, 0)  # after it
    kpis_recompute_store_full(store=org.s1)
    period = Period(WED - DAY, WED + DAY)
    table = kpi_table(level="member", grain="range", start=period.start, end=period.end, store_ids=[org.s1.pk],
                      member_ids=[org.a.pk])  # fmt: skip
    engine = table.iloc[0]["connect_rate"]
    grid = call_hours_grid(store=org.s1, period=period, member_ids=[org.a.pk])
    assert grid.rate == Decimal(str(engine)) and engine == pytest.approx(8 / 12)
    assert grid.cell(3, 14).rate == Decimal(str(7 / 9))
    by_hour = calls_by_hour_get(store_id=org.s1.pk, start=period.start, end=period.end, member_id=org.a.pk)
    assert by_hour[14].rate == 7 / 9 and by_hour[10].rate == 1 / 3 and by_hour[9].rate is None


def test_stage_advance_grid_by_hand(org):
    tue = WED - DAY
    first = LeadFactory(store=org.s1, account=org.account_a)
    second = LeadFactory(store=org.s1, account=org.account_b)
    LeadStageChangeFactory(lead=first, stage=LeadStage.LEAD, changed_at=at(WED, 14))  # not an advance
    LeadStageChangeFactory(lead=first, stage=LeadStage.INTENT, changed_at=at(WED, 14, 30))
    LeadStageChangeFactory(lead=second, stage=LeadStage.INTENT, changed_at=at(WED, 14, 45))
    LeadStageChangeFactory(lead=first, stage=LeadStage.WON, changed_at=at(WED, 15, 10))
    LeadStageChangeFactory(lead=second, stage=LeadStage.NEGOTIATION, changed_at=at(tue, 9))
    LeadStageChangeFactory(lead=second, stage=LeadStage.LOST, changed_at=at(WED, 16))  # not an advance
    period = Period(tue, WED)

    grid = stage_advance_hours_grid(store=org.s1, period=period)
    assert grid.total == 4
    assert grid.cell(3, 14).count == 2 and grid.cell(3, 14).rate == Decimal("0.5")
    assert grid.cell(2, 9).rate == Decimal("0.25") and grid.cell(3, 16) is None
    assert [(c.weekday, c.hour) for c in grid.best] == [(3, 14), (2, 9), (3, 15)]
    mine = stage_advance_hours_grid(store=org.s1, period=period, member_ids=[org.a.pk])
    assert (mine.total, mine.cell(3, 14).count) == (2, 1)


def test_calls_of_an_unassigned_account_count_for_the_store_only(org):
    other = PlatformAccountFactory(store=org.s1, name="未来:外呼")
    CallFactory(store=org.s1, account=other, started_at=at(WED, 9))
    period = Period(WED, WED)
    assert call_hours_grid(store=org.s1, period=period).total == 1
    assert call_hours_grid(store=org.s1, period=period, member_ids=[org.a.pk, org.b.pk]).total == 0
