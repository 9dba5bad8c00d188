"""The demo organisation and logins behind `make run`."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Max, Min
from django.utils import timezone

from incentives.models import Badge, BadgeRule, CommissionedOrder, PlanAssignment, Statement, StatementState
from metrics.models import (
    BehaviourRecord,
    Call,
    Campaign,
    ChatSession,
    Followup,
    ImportBatch,
    Lead,
    LeadStageChange,
    MemberDay,
    Order,
    StuckDeal,
    Target,
    TargetAlert,
    TrafficDay,
)
from perfmgmt.common.periods import store_today
from reviews.models import (
    Appraisal,
    AuditEntry,
    Cycle,
    CycleState,
    Item,
    ItemDecision,
    ItemKind,
    ItemScore,
    ItemStatus,
    RaterRole,
    Rating,
)
from teams.models import AccountAssignment, ChangeRecord, Member, PlatformAccount, Store, Team, TeamKind
from teams.selectors.scoping import member_list, viewer_get

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_organisation_and_role_logins(settings):
    settings.DEBUG = True
    console = _Console()
    call_command("seed_demo", "--password", "pw-for-test-1", "--orders", "600", stdout=console)
    out = console.getvalue()
    _check_progress(console)
    assert (Store.objects.count(), Team.objects.count(), Member.objects.count()) == (3, 7, 33)
    # 33 people's accounts (24 agents, 9 salespeople), plus one newcomer per store first seen in the chats.
    assert PlatformAccount.objects.count() == 36
    assert set(PlatformAccount.objects.filter(name__endswith="客服新人").values_list("store__name", flat=True)) == set(
        Store.objects.values_list("name", flat=True)
    )
    # One known account per store and every newcomer wait for a manager to assign them.
    assert PlatformAccount.objects.exclude(assignments__isnull=False).count() == 6
    assert AccountAssignment.objects.count() == 30
    # 90 days up to yesterday, imported through the importers.
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert ImportBatch.objects.filter(status="succeeded").count() == 5  # orders, chats, traffic, leads, calls
    # The demo computes the KPIs itself: no import reads "figures updating", nothing is left for a worker.
    assert all(batch.figures_current for batch in ImportBatch.objects.all())
    assert not Followup.objects.exclude(status="done").exists()
    assert 500 < Order.objects.count() <= 600
    assert ChatSession.objects.count() == 840
    assert TrafficDay.objects.count() == 3 * 5 * 90
    assert TrafficDay.objects.aggregate(first=Min("date"), last=Max("date")) == {
        "first": yesterday - dt.timedelta(days=89),
        "last": yesterday,
    }
    assert "imported" in out
    _check_sales_teams(yesterday, out)
    # Targets through the services: each store's quarter tree, each team's month tree under it
    # with the members' weekly targets; a counted behaviour; a promotion; the alerts they raised.
    today = store_today(Store.objects.first())
    quarters = Target.objects.filter(tier="strategy", period_kind="quarter", team__isnull=True, parent__isnull=True)
    assert quarters.count() == 3 and all(q.start <= today <= q.end for q in quarters)
    months = Target.objects.filter(tier="strategy", period_kind="month", parent__in=quarters)
    assert months.count() == 5 and all(m.team_id and m.start <= today <= m.end for m in months)
    assert Target.objects.filter(parent__in=quarters, tier="tactic", kpi_key="uv").count() == 3
    weekly = Target.objects.filter(tier="execution", period_kind="week", member__isnull=False, parent__in=months)
    assert weekly.filter(kpi_key="gmv").values("member").distinct().count() == 24
    this_week = weekly.filter(behaviour__isnull=False, start__lte=today, end__gte=today)
    assert this_week.count() == 24
    assert BehaviourRecord.objects.filter(date__lte=today).count() >= 24
    campaign = Campaign.objects.get()
    phases = list(campaign.phases.order_by("start"))
    assert [p.kind for p in phases] == ["preheat", "peak", "after"]
    assert any(p.start <= today and p.end >= today - dt.timedelta(days=29) for p in phases)  # on the default view
    assert Target.objects.filter(phase__campaign=campaign).exists()
    alerts = TargetAlert.objects.count()
    assert alerts > 0 and f"{alerts} alerts" in out and "targets:" in out
    _check_appraisals(today, out)
    _check_incentives(today, out)
    users = {u.username: u for u in get_user_model().objects.all()}
    for username in ("manager", "lead", "staff1", "staff2", "sales1", "tele1", "hr", "admin"):
        assert f"  {username}" in out
        assert users[username].check_password("pw-for-test-1")
    assert users["admin"].is_superuser
    assert member_list(viewer=viewer_get(user=users["staff1"])).count() == 1
    assert member_list(viewer=viewer_get(user=users["lead"])).count() == 7
    assert member_list(viewer=viewer_get(user=users["manager"])).count() == 27
    assert member_list(viewer=viewer_get(user=users["hr"])).count() == 33
    assert member_list(viewer=viewer_get(user=users["tele1"])).count() == 1


SALES_KINDS = (TeamKind.ONLINE_SALES, TeamKind.TELESALES)


def _check_sales_teams(yesterday: dt.date, out: str) -> None:
    """The online-sales and telesales teams' 90 days of leads (a stage history) and calls,
    imported and rolled up; stuck deals with plans and answers."""
    assert Lead.objects.count() > 500 and LeadStageChange.objects.count() > Lead.objects.count()
    assert set(Lead.objects.values_list("stage", flat=True)) == {"lead", "intent", "negotiation", "won", "lost"}
    assert Call.objects.count() > 1_000  # a small demo (--orders 600) dials 5% of the full one's calls
    assert Call.objects.aggregate(last=Max("started_date"))["last"] <= yesterday
    # Calls and leads belong to the sales teams' accounts only, and no chat does.
    sales_accounts = PlatformAccount.objects.filter(assignments__member__memberships__team__kind__in=SALES_KINDS)
    assert not Call.objects.exclude(account__in=sales_accounts).exists()
    assert not ChatSession.objects.filter(account__in=sales_accounts).exists()
    telesales = MemberDay.objects.filter(team__kind=TeamKind.TELESALES)
    assert telesales.filter(dials__gt=0).exists() and telesales.filter(won_deals__gt=0).exists()
    assert "imported" in out and " leads (" in out and " calls (" in out
    stuck = StuckDeal.objects.all()
    assert stuck.exists() and f"stuck deals: {stuck.count()} recorded" in out
    assert stuck.filter(plan_submitted_at__isnull=False).exists()
    assert stuck.filter(responded_at__isnull=False).exists()


def _check_appraisals(today: dt.date, out: str) -> None:
    """Last month's cycle of every team finalised by HR (rated, commented, scored, frozen); this
    month's open for self review."""
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    for team in Team.objects.all():
        states = dict(Cycle.objects.filter(team=team).values_list("month", "state"))
        assert states == {last_month: CycleState.FINALISED, this_month: CycleState.SELF_REVIEW}, team
    last = Appraisal.objects.filter(cycle__month=last_month).select_related("cycle")
    assert last.count() == 33
    for appraisal in last:
        assert appraisal.total is not None and appraisal.grade in "SABCD" and appraisal.grade
        assert appraisal.frozen_at is not None and appraisal.cycle.finalised_at is not None
        assert appraisal.frozen["total"] == str(appraisal.total) and appraisal.frozen["grade"] == appraisal.grade
        assert appraisal.manager_comment and appraisal.self_comment
        rated = Item.objects.filter(dimension__template=appraisal.cycle.template_id, kind=ItemKind.RATING).count()
        ratings = Rating.objects.filter(appraisal=appraisal)
        assert ratings.filter(role=RaterRole.SELF).count() == ratings.filter(role=RaterRole.MANAGER).count() == rated
    assert len({a.grade for a in last}) >= 3  # a spread of grades, not one for all
    # The members left without an account have no data: HR decided on their KPI items before
    # finalising (amounts and counts 0, rates excluded), each with a reason in the audit trail.
    # This month their items are insufficient data, awaiting HR's decision.
    unassigned = set(Member.objects.exclude(account_assignments__isnull=False).values_list("pk", flat=True))
    decided = ItemDecision.objects.filter(appraisal__cycle__month=last_month)
    assert len(unassigned) == 3 and unassigned <= set(decided.values_list("appraisal__member_id", flat=True))
    assert decided.filter(kind="value", value=0).exists() and decided.filter(kind="exclude").exists()
    hr = get_user_model().objects.get(username="hr")
    assert AuditEntry.objects.filter(field__endswith="(decision)", user=hr).exclude(reason="").count() == len(decided)
    assert not ItemScore.objects.filter(appraisal__in=last, status=ItemStatus.INSUFFICIENT).exists()
    waiting = ItemScore.objects.filter(appraisal__cycle__month=this_month, status=ItemStatus.INSUFFICIENT)
    assert unassigned <= set(waiting.values_list("appraisal__member_id", flat=True))
    current = Appraisal.objects.filter(cycle__month=this_month)
    assert current.count() == 33 and not current.filter(frozen_at__isnull=False).exists()
    assert not Rating.objects.filter(appraisal__in=current).exists()  # the members' self review is to come
    assert f"appraisals: 7 cycles of {last_month:%Y-%m} finalised by HR (33 appraisals; grades " in out
    assert f"7 cycles of {this_month:%Y-%m} in self review" in out
    sales = Cycle.objects.filter(team__kind__in=SALES_KINDS).values_list("template__key", flat=True)
    assert set(sales) == {"pipeline-calls"}


def _check_incentives(today: dt.date, out: str) -> None:
    """The plan on every team; last month's statements approved and locked (commission orders
    recorded), this month's drafts, every one with a total; badges of the 90 days."""
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    assert set(PlanAssignment.objects.values_list("team_id", flat=True)) == set(
        Team.objects.values_list("pk", flat=True)
    )
    admin = get_user_model().objects.get(username="admin")
    last = Statement.objects.filter(month=last_month)
    assert last.count() == 33 and set(last.values_list("state", flat=True)) == {StatementState.LOCKED}
    assert all(s.total > 0 and s.approved_by == admin and s.locked_by == admin for s in last)
    # Graded last month: everyone but the telesales team, whose plan (seed 002) has no performance pay.
    assert last.filter(lines__kind="performance", lines__amount__gt=0).distinct().count() == 28
    telesales = last.filter(member__memberships__team__kind=TeamKind.TELESALES)
    assert telesales.count() == 5 and telesales.filter(lines__kind="calls").distinct().count() == 5
    # The telesales plan's phone allowance, on each of its statements (and no one else's).
    assert set(last.filter(lines__kind="allowance").values_list("pk", flat=True)) == set(
        telesales.values_list("pk", flat=True))  # fmt: skip
    # Plans are set up by HR through the plan services: each in the change log, by HR.
    hr = get_user_model().objects.get(username="hr")
    plans = ChangeRecord.objects.filter(area="pay_plans", object_type="incentives.plan", action="created")
    assert plans.count() == 3 and set(plans.values_list("actor", flat=True)) == {hr.pk}
    assert ChangeRecord.objects.filter(area="pay_plans", object_type="incentives.planassignment").count() == len(
        set(PlanAssignment.objects.values_list("pk", flat=True)))  # fmt: skip
    assert last.filter(member__memberships__team__kind=TeamKind.ONLINE_SALES, lines__kind="commission",
                       lines__amount__gt=0).exists()  # fmt: skip
    assert last.filter(lines__kind="commission", lines__amount__gt=0).exists()
    assert CommissionedOrder.objects.filter(statement__in=last).exists()
    current = Statement.objects.filter(month=this_month)
    assert current.count() == 33 and set(current.values_list("state", flat=True)) == {StatementState.DRAFT}
    assert all(s.total > 0 for s in current)
    assert Badge.objects.filter(key="lightning_deal").exists() and BadgeRule.objects.count() == 3
    days = (today - dt.timedelta(days=90), today - dt.timedelta(days=1))  # the demo's data: 90 days to yesterday
    assert not Badge.objects.filter(key="lightning_deal").exclude(period_start__range=days).exists()
    assert not Badge.objects.filter(period_start__gt=days[1]).exists()  # weeks judged once they ended
    assert f"33 statements of {last_month:%Y-%m} approved and locked" in out
    assert f"33 drafts of {this_month:%Y-%m}; {Badge.objects.count()} badges (" in out


def test_seed_demo_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert not Store.objects.exists()
    call_command("seed_demo", "--force", "--orders", "100")
    assert Store.objects.count() == 3


def test_seed_demo_if_empty_leaves_an_existing_database_alone(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--orders", "100")
    call_command("seed_demo", "--if-empty")
    assert Store.objects.count() == 3
    assert "not loaded again" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_demo")


def test_demo_stuck_deal_plans_and_answers_come_after_the_deal_was_flagged():
    """Deals flagged by the replayed mornings and deals flagged only by the last run, at the
    moment of seeding: every plan is dated after its deal's flag, every answer after its plan,
    both before the moment of seeding."""
    from perfmgmt.demo.organisation import demo_organisation_create
    from perfmgmt.demo.pipeline import demo_pipeline_followups_create
    from tests.factories import lead_path

    demo_organisation_create(password="pw-for-test-1")
    store = Store.objects.get(teams__kind=TeamKind.ONLINE_SALES)
    # Yesterday, half an hour after the morning run (the replay's last is the day before, 09:00).
    now = dt.datetime.combine(store_today(store) - dt.timedelta(days=1), dt.time(9, 30), ZoneInfo(store.time_zone))
    accounts = PlatformAccount.objects.filter(store=store, assignments__member__memberships__team__kind__in=SALES_KINDS)
    stuck = dt.timedelta(days=store.stuck_deal_days)
    for i, account in enumerate(accounts.order_by("pk").distinct()[:4]):
        # In negotiation for ten days beyond the limit (flagged on a past morning), and one that
        # passed the limit minutes ago (flagged by the run at `now`).
        for since in (now - stuck - dt.timedelta(days=10, hours=i), now - stuck + dt.timedelta(minutes=-30 - i)):
            lead_path(
                store=store, account=account, steps=[("lead", since - dt.timedelta(days=3)), ("negotiation", since)]
            )

    demo_pipeline_followups_create(now=now)

    deals = list(StuckDeal.objects.all())
    assert len(deals) == 8 and sum(deal.detected_at == now for deal in deals) == 4
    assert any(deal.plan_submitted_at for deal in deals) and any(deal.responded_at for deal in deals)
    for deal in deals:
        if deal.plan_submitted_at:
            assert deal.detected_at < deal.plan_submitted_at < now, deal
        if deal.responded_at:
            assert deal.plan_submitted_at < deal.responded_at < now, deal


class _Console(io.StringIO):
    """seed_demo's stdout: each line with what the database held when it was written, and whether
    it was flushed before the next one came."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, int, int, int]] = []  # (line, orders, chats, statements)
        self.unflushed: list[str] = []

    def write(self, text: str) -> int:
        from incentives.models import Statement

        self.lines.append((text.strip(), Order.objects.count(), ChatSession.objects.count(), Statement.objects.count()))
        self.unflushed.append(text.strip())
        return super().write(text)

    def flush(self) -> None:
        self.unflushed.clear()
        super().flush()


def _check_progress(console: _Console) -> None:
    """Each step's line came as the step started (before what it writes, after the step before),
    and every line was flushed at once."""
    lines = [line for line, *_ in console.lines]
    assert console.unflushed == []
    at = {line: (orders, chats, statements) for line, orders, chats, statements in console.lines}

    def first(start: str) -> str:
        return next(line for line in lines if line.startswith(start))

    assert at[first("writing the shops' exports:")] == (0, 0, 0)
    assert at["importing orders (1/5)…"] == (0, 0, 0)
    assert at[first("imported")][:2] == (Order.objects.count(), 0)  # the orders' count, before the chats
    assert at["importing chats (2/5)…"][1] == 0 and at[first("KPIs of")][1] == ChatSession.objects.count()
    stores = list(Store.objects.order_by("id"))
    for number, store in enumerate(stores, start=1):
        assert f"computing the KPIs of {store.name} ({number}/3)…" in lines
    assert at[f"last month's pay statements of {stores[0].name} (1/3), approved and locked…"][2] == 0
    assert at[f"this month's draft statements of {stores[0].name} (1/3)…"][2] > 0
    assert at[first("incentives:")][2] > 0
    steps = [line for line in lines if line.endswith("…")]
    # organisation, exports, leads and calls, imports, KPIs, targets, deals, appraisals, pay
    assert len(steps) == 1 + 1 + 1 + 5 + 3 + 3 + 3 * 3
    assert lines.index(first("Demo data loaded")) > lines.index(first("incentives:"))
