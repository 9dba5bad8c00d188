"""The demo's online sales and telesales follow-ups: stuck deals, breakthrough plans and the
manager's answers, replayed day by day."""

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from teams.models import Role, RoleGrant, Store
from teams.selectors.scoping import viewer_get

DEMO_STUCK_PLANS = (
    "客户卡在预算审批，计划本周内提供分期付款方案，并邀请客户参加新品体验会，周五前再次约谈决策人。",
    "竞品报价更低，准备整理三个同行业成功案例和售后服务对比表，明天上午电话沟通采购负责人。",
    "客户对交期有顾虑，已联系仓库确认现货，计划提供分批交付方案并申请加急物流支持。",
)
DEMO_STUCK_RESPONSES = (
    "同意分期方案，首付比例可放宽到30%，需要我陪同约谈请提前告知。",
    "案例可以用华信科技那一单，价格底线按指导价九五折执行，超出需报批。",
    "交期方案可行，已和仓库确认优先排产，本周内给客户书面答复。",
)
DEMO_STUCK_HISTORY_DAYS = 21  # the hourly job is replayed once a day at 09:00 over these days


@dataclass(frozen=True)
class DemoPipeline:
    stuck: int  # stuck deals recorded
    open: int  # of them still in negotiation
    plans: int
    answers: int


def demo_pipeline_followups_create(*, now: dt.datetime | None = None) -> DemoPipeline:
    """Stuck deals as the hourly job would have found them over the last three weeks (replayed
    once a day through `stuck_deals_detect`), then, for the deals still stuck, the owners'
    breakthrough plans and the managers' answers through the services: some answered within the
    store's hours, one late, and some still waiting. Plans come after their deal was flagged,
    answers after their plan, both before `now`."""
    from metrics.models import StuckDeal
    from metrics.pipeline.services import stuck_deal_plan_submit, stuck_deal_respond, stuck_deals_detect
    from teams.selectors.scoping import Viewer

    now = now or timezone.now()
    plans = answers = 0
    for store in Store.objects.filter(lead_set__isnull=False).distinct().order_by("id"):
        zone = ZoneInfo(store.time_zone)
        today = now.astimezone(zone).date()
        for back in range(DEMO_STUCK_HISTORY_DAYS, 0, -1):
            moment = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(9), tzinfo=zone)
            stuck_deals_detect(store=store, now=moment)
        stuck_deals_detect(store=store, now=now)
        grant = RoleGrant.objects.filter(role=Role.MANAGER, store=store).select_related("user").order_by("pk").first()
        manager = viewer_get(user=grant.user) if grant else None
        rng = random.Random(store.pk)  # noqa: S311 - demo timings, not secrets
        open_deals = StuckDeal.objects.filter(store=store, closed_at__isnull=True).select_related("member__user")
        for index, deal in enumerate(open_deals.order_by("detected_at", "pk")):
            if deal.member is None or index % 4 == 3:  # every fourth owner has not written a plan yet
                continue
            # The owner writes within hours of the alert; a deal flagged only hours ago (by the run
            # at `now`) still waits for its plan, which is never dated before the alert.
            submitted = deal.detected_at + dt.timedelta(hours=rng.uniform(1, 8))
            if submitted >= now:
                continue
            owner = Viewer(user_id=deal.member.user_id, member_id=deal.member_id)
            plan = DEMO_STUCK_PLANS[index % len(DEMO_STUCK_PLANS)]
            deal = stuck_deal_plan_submit(viewer=owner, user=deal.member.user, deal=deal, plan=plan, now=submitted)
            plans += 1
            # Most answers come within the store's hours; one in three is late; some still wait.
            delay = rng.uniform(1, store.stuck_deal_response_hours - 1) if index % 3 else rng.uniform(13, 30)
            answered = submitted + dt.timedelta(hours=delay)
            if manager is None or answered >= now:
                continue
            response = DEMO_STUCK_RESPONSES[index % len(DEMO_STUCK_RESPONSES)]
            stuck_deal_respond(viewer=manager, user=grant.user, deal=deal, response=response, now=answered)
            answers += 1
    deals = StuckDeal.objects.all()
    return DemoPipeline(deals.count(), deals.filter(closed_at__isnull=True).count(), plans, answers)
