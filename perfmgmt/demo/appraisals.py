"""The demo's appraisals: last month's cycle finalised by HR, this month's in self review, each
with the month's targets the appraisal items read."""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model

from metrics.kpis.selectors import kpi_table
from metrics.messages import kpi_label, message, month_text
from metrics.models import (
    PeriodKind,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import KPI_BY_KEY, Level
from metrics.targets.services import (
    target_create,
)
from perfmgmt.common.periods import Period, month_period, month_previous, store_today
from perfmgmt.demo.targets import DEMO_GROWTH, HISTORY_DAYS, members_today
from teams.models import Member, Team, TeamKind
from teams.selectors.scoping import viewer_get

DEMO_SELF_COMMENTS = (
    "本月重点跟进了老客回访，询单转化有提升。",
    "大促期间接待量大，首次响应还需要再快一些。",
    "熟悉了新品卖点，下个月争取把客单价提上去。",
    "售后问题处理更及时了，退款订单有所减少。",
)
DEMO_MANAGER_COMMENTS = (  # (from this level up, the comment)
    (Decimal(85), "业绩突出，沟通专业，可以带教新人。"),
    (Decimal(75), "整体表现稳定，建议多做关联推荐，提高客单价。"),
    (Decimal(65), "基本完成本职，询单转化偏低，需加强催付和异议处理。"),
    (Decimal(0), "本月未达预期，请重点补强产品知识，主管每周跟进。"),
)


@dataclass(frozen=True)
class DemoAppraisals:
    last_month: dt.date
    this_month: dt.date
    finalised: int  # cycles
    open: int
    appraisals: int  # last month's
    grades: dict[str, int]


def _demo_month_targets(*, viewer, user, team: Team, members: list[Member], month: Period) -> None:
    """Each member's GMV target of the month, so the appraisal's sales item has one: an equal
    share of the team's month target, or (without one) of the team's pace over the four weeks
    before the month, with a little growth."""
    root = Target.objects.filter(team=team, member__isnull=True, kpi_key="gmv", period_kind=PeriodKind.MONTH,
                                 start=month.start, end=month.end).first()  # fmt: skip
    if root is not None:
        total = root.value
    else:
        before = Period(month.start - dt.timedelta(days=HISTORY_DAYS), month.start - dt.timedelta(days=1))
        table = kpi_table(level=Level.TEAM, grain="range", start=before.start, end=before.end,
                          store_ids=[team.store_id], team_ids=[team.pk])  # fmt: skip
        gmv = Decimal(table.iloc[0]["gmv"] or 0) if len(table) else Decimal(0)
        total = gmv / HISTORY_DAYS * month.days * DEMO_GROWTH["month"]
    share = (total / len(members)).quantize(Decimal("1")) if members else Decimal(0)
    if share <= 0:
        return
    for member in members:
        target_create(
            viewer=viewer, user=user, tier=TargetTier.EXECUTION, kpi_key="gmv", store=team.store, team=team,
            member=member, period_kind=PeriodKind.MONTH, start=month.start, end=month.end, value=share,
            direction=TargetDirection.AT_LEAST, owner=user,
            name_msg=message("metrics.target_member_period", member=member.display_name,
                             period=month_text(month.start), measure=kpi_label("gmv")),
        )  # fmt: skip


# A salesperson's month targets (seed 002's completion rates), from the team's won amount over
# the four weeks before the month: amount won, collected (90% of it), new customers, new products.
DEMO_SALES_TARGETS = (("won_amount", Decimal("1.0")), ("collected_amount", Decimal("0.9")),
                      ("new_product_amount", Decimal("0.25")))  # fmt: skip
DEMO_DEAL_SIZE = Decimal(15_000)  # yuan: a typical demo deal, to turn amounts into customers


def _demo_sales_targets(*, viewer, user, team: Team, members: list[Member], month: Period) -> None:
    before = Period(month.start - dt.timedelta(days=HISTORY_DAYS), month.start - dt.timedelta(days=1))
    table = kpi_table(level=Level.TEAM, grain="range", start=before.start, end=before.end,
                      store_ids=[team.store_id], team_ids=[team.pk])  # fmt: skip
    won = Decimal(table.iloc[0]["won_amount"] or 0) if len(table) else Decimal(0)
    per_member = won / HISTORY_DAYS * month.days * DEMO_GROWTH["month"] / max(len(members), 1)
    if per_member <= 0:
        return
    values = [(key, (per_member * share).quantize(Decimal("1"))) for key, share in DEMO_SALES_TARGETS]
    values.append(("new_customers", max(Decimal(1), (per_member / DEMO_DEAL_SIZE).quantize(Decimal("1")))))
    for member in members:
        for key, value in values:
            target_create(
                viewer=viewer, user=user, tier=TargetTier.EXECUTION, kpi_key=key, store=team.store, team=team,
                member=member, period_kind=PeriodKind.MONTH, start=month.start, end=month.end, value=value,
                direction=TargetDirection.AT_LEAST, owner=user,
                name_msg=message("metrics.target_member_period", member=member.display_name,
                                 period=month_text(month.start), measure=kpi_label(key)),
            )  # fmt: skip


# Appraisal template by kind of team (presales and others: seed 003's).
DEMO_TEMPLATES = {TeamKind.AFTERSALES: "results-behaviour-growth", TeamKind.ONLINE_SALES: "pipeline-calls",
                  TeamKind.TELESALES: "pipeline-calls"}  # fmt: skip


def _demo_rate(rng: random.Random, level: Decimal, *, self_review: bool) -> int:
    """A 1–5 rating around the member's level (their KPI score): people rate themselves a little higher."""
    mean = 3.0 + (float(level) - 60) / 40
    if self_review:
        return max(2, min(5, round(mean + 0.5 + rng.gauss(0, 0.5))))
    return max(1, min(5, round(mean + rng.gauss(0, 0.6))))


def _demo_cycle_complete(*, viewer, user, cycle, rng: random.Random) -> None:
    """Self review, manager review and calibration of a demo cycle, then HR's finalisation.

    States and comments go through the services. The ratings are written in one go per review
    round, in the states where their raters give them, and scored when HR finalises
    (`rating_set` rescores the whole team after every rating: hundreds of times for the demo)."""
    from reviews.models import CycleState, Item, ItemKind, RaterRole, Rating
    from reviews.services.cycles import comment_set, cycle_advance
    from teams.selectors.scoping import Viewer

    items = list(Item.objects.filter(dimension__template=cycle.template, kind=ItemKind.RATING).order_by("pk"))
    cycle = cycle_advance(viewer=viewer, user=user, cycle=cycle, to=CycleState.SELF_REVIEW)
    appraisals = list(cycle.appraisals.select_related("cycle", "member__user").order_by("member_id"))
    levels = {a.pk: (a.total if a.total is not None else Decimal(60)) + Decimal(rng.gauss(0, 8)) for a in appraisals}
    Rating.objects.bulk_create(
        Rating(appraisal=a, item=item, role=RaterRole.SELF, rater=a.member.user,
               score=_demo_rate(rng, levels[a.pk], self_review=True))
        for a in appraisals for item in items
    )  # fmt: skip
    for appraisal in appraisals:
        own = Viewer(user_id=appraisal.member.user_id, member_id=appraisal.member_id)  # the member, as if logged in
        comment_set(viewer=own, user=appraisal.member.user, appraisal=appraisal, text=rng.choice(DEMO_SELF_COMMENTS))
    cycle = cycle_advance(viewer=viewer, user=user, cycle=cycle, to=CycleState.MANAGER_REVIEW)
    Rating.objects.bulk_create(
        Rating(appraisal=a, item=item, role=RaterRole.MANAGER, rater=None,  # one manager rating, as rating_set keeps
               score=_demo_rate(rng, levels[a.pk], self_review=False))
        for a in appraisals for item in items
    )  # fmt: skip
    for appraisal in cycle.appraisals.select_related("cycle"):
        # The comment follows the member's level, as their ratings do.
        # (a level below the lowest floor, possible with little data, gets the lowest band's comment)
        text = next(
            (text for floor, text in DEMO_MANAGER_COMMENTS if levels[appraisal.pk] >= floor),
            DEMO_MANAGER_COMMENTS[-1][1],
        )
        comment_set(viewer=viewer, user=user, appraisal=appraisal, text=text)
    cycle = cycle_advance(viewer=viewer, user=user, cycle=cycle, to=CycleState.CALIBRATION)
    _demo_decisions(cycle=cycle)
    cycle_advance(viewer=viewer, user=user, cycle=cycle, to=CycleState.FINALISED)  # scores and freezes


# HR's reasons (stored as written): a count or an amount without data means nothing was credited
# to the member that month (no account, or no activity); a rate or an average has nothing to measure.
DEMO_DECISION_ZERO = "本月没有归属的业绩（未分配平台账号或没有活动）：按 0 计。"
DEMO_DECISION_EXCLUDE = "本月没有可衡量此项的会话或订单：对该成员不计此项，由同维度其他项目承担权重。"


def _demo_decisions(*, cycle) -> None:
    """HR's decisions on the KPI items without data (the members the demo leaves without an
    account), as HR would make them: a count or an amount is 0 (nothing was credited to them), a
    rate or an average cannot be measured and is excluded for the member. Through the service, as
    the demo's HR user (the administrator without one), so the audit trail shows them."""
    from reviews.models import DecisionKind, ItemScore, ItemStatus
    from reviews.services.cycles import item_decision_set

    hr = (
        get_user_model().objects.filter(username="hr").first()
        or get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    )
    viewer = viewer_get(user=hr)
    pending = ItemScore.objects.filter(appraisal__cycle=cycle, status=ItemStatus.INSUFFICIENT).select_related(
        "appraisal__cycle", "item__dimension"
    )
    for score in pending.order_by("appraisal__member_id", "item_id"):
        formula = KPI_BY_KEY[score.item.kpi_key].formula(Level.MEMBER)
        additive = formula is not None and formula.measure is not None and formula.denominator is None
        item_decision_set(
            viewer=viewer, user=hr, appraisal=score.appraisal, item=score.item,
            kind=DecisionKind.VALUE if additive else DecisionKind.EXCLUDE, value=Decimal(0) if additive else None,
            reason=DEMO_DECISION_ZERO if additive else DEMO_DECISION_EXCLUDE,
        )  # fmt: skip


def demo_appraisals_create(*, today: dt.date | None = None) -> DemoAppraisals:
    """Through the appraisal services, as the administrator: for every team, last month's cycle
    (members' self ratings, the manager's ratings and comments, calibrated and finalised by HR,
    so its scores are frozen) and this month's cycle, open for self review. Presales teams use
    seed 003's template (sales 80, ability 15, attitude 5), after-sales teams seed 000's.
    Deterministic: the same data gives the same ratings."""
    from reviews.models import AppraisalTemplate, CycleState
    from reviews.services.cycles import cycle_advance, cycle_create
    from reviews.services.templates import appraisal_templates_ensure

    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    viewer = viewer_get(user=admin)
    appraisal_templates_ensure()
    templates = {t.key: t for t in AppraisalTemplate.objects.exclude(key="")}
    finalised = opened = appraisals = 0
    grades: dict[str, int] = {}
    this_month = last_month = None
    for team in Team.objects.select_related("store").order_by("store_id", "pk"):
        day = today or store_today(team.store)
        this_month = day.replace(day=1)
        last_month = month_previous(this_month)
        sales = team.kind in (TeamKind.ONLINE_SALES, TeamKind.TELESALES)
        key = DEMO_TEMPLATES.get(team.kind, "sales-ability-attitude")
        rng = random.Random(team.pk * 100 + last_month.month)  # noqa: S311 - demo ratings, not secrets
        for month in (last_month, this_month):
            set_targets = _demo_sales_targets if sales else _demo_month_targets
            set_targets(
                viewer=viewer, user=admin, team=team, members=members_today(team, day), month=month_period(month)
            )
            cycle = cycle_create(viewer=viewer, user=admin, store=team.store, team=team, month=month,
                                 template=templates[key])  # fmt: skip
            if month == last_month:
                _demo_cycle_complete(viewer=viewer, user=admin, cycle=cycle, rng=rng)
                finalised += 1
                for appraisal in cycle.appraisals.all():
                    appraisals += 1
                    grades[appraisal.grade or "-"] = grades.get(appraisal.grade or "-", 0) + 1
            else:
                cycle_advance(viewer=viewer, user=admin, cycle=cycle, to=CycleState.SELF_REVIEW)
                opened += 1
    order = [*"SABCD", "-"]
    return DemoAppraisals(last_month, this_month, finalised, opened, appraisals,
                          dict(sorted(grades.items(), key=lambda kv: order.index(kv[0]))))  # fmt: skip
