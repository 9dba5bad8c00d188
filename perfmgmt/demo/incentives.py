"""The demo's pay: a customer-service plan, last month's statements locked, and badges."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model

from perfmgmt.common.periods import month_previous, store_today
from perfmgmt.demo.seed import quiet
from teams.models import Role, RoleGrant, Store, Team, TeamKind

DEMO_PLAN = {
    "name": "客服标准方案",
    "description": "底薪4000 + 绩效2000×等级系数 + 阶梯提成（按销售额目标完成率）+ 奖金。",
    "base_salary": Decimal(4000),
    "performance_pay": Decimal(2000),
    "grade_coefficients": {"S": 1.5, "A": 1.2, "B": 1.0, "C": 0.8, "D": 0.5},
    "commission_mode": "tiered",
    "tier_mode": "marginal",
    "pk_kpi_key": "gmv",  # the week's champion team by GMV: +5% commission on that week
    "pk_bonus_rate": Decimal("0.05"),
}
DEMO_TIERS = ((Decimal(0), Decimal("0.015")), (Decimal("1.0"), Decimal("0.025")), (Decimal("1.5"), Decimal("0.03")))
DEMO_MODIFIERS = (  # (KPI, comparison, threshold, commission ×)
    ("refund_order_rate", "gt", Decimal("0.25"), Decimal("0.8")),
    ("inquiry_to_payment_rate", "ge", Decimal("0.40"), Decimal("1.1")),
)
DEMO_MILESTONES = (("inquiry_to_payment_rate", "ge", Decimal("0.10"), Decimal(500)),)
DEMO_RANKING = ("gmv", [800, 500, 300])
# The telesales plan's recurring allowance: their phone bill, 200 yuan a month.
DEMO_ALLOWANCE = {"name_zh": "话费补贴", "name_en": "Phone allowance", "amount": Decimal(200)}
# Each store's own badge: a week converting half the inquiring buyers or more.
DEMO_BADGE_RULE = {"key": "converter-week", "name": "转化达人", "kpi_key": "inquiry_to_payment_rate",
                   "comparison": "ge", "threshold": Decimal("0.5"), "period": "week"}  # fmt: skip
DEMO_BADGE_DAYS = 90


@dataclass(frozen=True)
class DemoIncentives:
    plans: int
    teams: int
    last_month: dt.date
    this_month: dt.date
    locked: int  # last month's statements, approved and locked
    locked_total: Decimal
    drafts: int  # this month's
    badges: dict[str, int]  # by key


def demo_incentives_create(*, today: dt.date | None = None, progress: Callable[[str], None] = quiet) -> DemoIncentives:
    """The customer-service plan, assigned to every service team from last month on, an
    online-sales plan (commission on deals won) and seed 002's telesales plan (with a phone
    allowance) for the sales teams, created and assigned by HR through the plan services as HR
    does in the editor (incentives/services/plans.py; the change log records them); then, through
    the statement services as the administrator, last month's statements computed, approved and
    locked and this month's drafts; and the badges of the demo's 90 days (each store with a rule
    of its own). Needs last month's appraisals and targets (`demo_appraisals_create`) for
    performance pay and commission tiers. Each store's statements, drafts and badges are told to
    `progress` as they start."""
    from incentives.models import (
        BadgeRule,
        CommissionBase,
        CommissionTier,
        Milestone,
        Modifier,
        Plan,
        PlanAllowance,
        RankingAward,
        StatementState,
    )
    from incentives.selectors.plans import PlanParts
    from incentives.services.badges import badges_award
    from incentives.services.plans import plan_assign, plan_create, plan_telesales_create
    from incentives.services.statements import statement_approve, statement_lock, statements_refresh
    from teams.selectors.scoping import Viewer

    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    viewer = Viewer(user_id=admin.pk if admin else None, is_admin=True)
    grant = RoleGrant.objects.filter(role=Role.HR).select_related("user").order_by("pk").first()
    hr = grant.user if grant is not None else admin  # who sets the plans up

    def tiers() -> list:
        return [CommissionTier(from_completion=start, rate=rate) for start, rate in DEMO_TIERS]

    plan = plan_create(actor=hr, parts=PlanParts(
        plan=Plan(**DEMO_PLAN), tiers=tiers(),
        modifiers=[Modifier(kpi_key=key, comparison=cmp, threshold=threshold, multiplier=times)
                   for key, cmp, threshold, times in DEMO_MODIFIERS],
        milestones=[Milestone(kpi_key=key, comparison=cmp, threshold=threshold, amount=amount)
                    for key, cmp, threshold, amount in DEMO_MILESTONES],
        ranking_awards=[RankingAward(kpi_key=DEMO_RANKING[0], amounts=DEMO_RANKING[1])],
    ))  # fmt: skip
    teams = list(Team.objects.select_related("store").order_by("store_id", "pk"))
    # Online sales: the same base and grades, commission on the deals won (tiers by the amount-won
    # target). Telesales: seed 002's plan (base + call assessment + 1.5–3% of the deals won).
    online = plan_create(actor=hr, parts=PlanParts(
        plan=Plan(**{**DEMO_PLAN, "name": "线上销售方案", "pk_kpi_key": "won_amount",
                     "commission_base": CommissionBase.WON,
                     "description": "底薪4000 + 绩效2000×等级系数 + 成单金额阶梯提成。"}),
        tiers=tiers(), ranking_awards=[RankingAward(kpi_key="won_amount", amounts=DEMO_RANKING[1])],
    ))  # fmt: skip
    plans = {TeamKind.ONLINE_SALES: online}
    for team in teams:
        if team.kind == TeamKind.TELESALES and TeamKind.TELESALES not in plans:
            plans[TeamKind.TELESALES] = plan_telesales_create(
                store=team.store, name="电销方案", base_salary=Decimal(3500), actor=hr,
                description="底薪3500 + 考核（呼出接通数量 + 呼出接通时间）+ 成单提成1.5%~3% + 话费补贴。",
                allowances=[PlanAllowance(**DEMO_ALLOWANCE)],
            )  # fmt: skip
    this_month = last_month = None
    locked, drafts, locked_total = 0, 0, Decimal(0)
    badges: dict[str, int] = {}
    stores = list(Store.objects.order_by("id"))
    for number, store in enumerate(stores, start=1):
        turn = f"{store.name} ({number}/{len(stores)})"
        progress(f"  last month's pay statements of {turn}, approved and locked…")
        day = today or store_today(store)
        this_month = day.replace(day=1)
        last_month = month_previous(this_month)
        for team in teams:
            if team.store_id == store.pk:
                plan_assign(actor=hr, plan=plans.get(team.kind, plan), team=team, start_date=last_month)
        BadgeRule.objects.create(store=store, **DEMO_BADGE_RULE)
        for statement in statements_refresh(store=store, month=last_month):
            statement = statement_approve(viewer=viewer, user=admin, statement=statement)
            statement = statement_lock(viewer=viewer, user=admin, statement=statement)
            locked += statement.state == StatementState.LOCKED
            locked_total += statement.total
        progress(f"  this month's draft statements of {turn}…")
        drafts += len(statements_refresh(store=store, month=this_month))
        progress(f"  badges of {turn} over {DEMO_BADGE_DAYS} days…")
        yesterday = day - dt.timedelta(days=1)
        start = yesterday - dt.timedelta(days=DEMO_BADGE_DAYS - 1)
        for badge in badges_award(store=store, start=start, end=yesterday):
            badges[badge.key] = badges.get(badge.key, 0) + 1
    return DemoIncentives(1 + len(plans), len(teams), last_month, this_month, locked, locked_total, drafts,
                          dict(sorted(badges.items())))  # fmt: skip
