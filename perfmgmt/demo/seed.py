"""Load the demo's 90 days of shop data through the importers; then its targets, a counted behaviour
and a promotion through the targets' services."""

import datetime as dt
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from metrics.followups.services import followups_done, followups_held
from metrics.importing.services import calls_import, chats_import, leads_import, orders_import, traffic_import
from metrics.kpis.selectors import kpi_table
from metrics.kpis.services import kpis_recompute_store_full
from metrics.messages import kpi_label, message, month_text
from metrics.models import (
    Behaviour,
    CampaignKind,
    ImportStatus,
    PeriodKind,
    PhaseKind,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import KPI_BY_KEY, Level
from metrics.targets.decomposition import (
    LEADS,
    Decomposition,
    DecompositionInput,
    History,
    decomposition_chain,
    decomposition_history,
    member_shares,
    revenue_decompose,
)
from metrics.targets.services import (
    PHASE_FOCUS,
    DecompositionSave,
    behaviour_record_set,
    campaign_create,
    decomposition_save,
    target_alerts_check,
    target_create,
    target_update,
)
from perfmgmt.common.periods import Period, month_period, month_previous, store_today
from perfmgmt.demo.exports import demo_exports_write, demo_pipeline_exports_write
from teams.models import Member, PlatformAccount, Role, RoleGrant, Store, Team, TeamKind
from teams.selectors.scoping import viewer_get


def _quiet(line: str) -> None:
    """The default `progress` of the demo's steps: say nothing."""


def demo_data_import(*, orders: int = 50_000, days: int = 90, progress: Callable[[str], None] = _quiet) -> list[str]:
    """Write the demo exports for the stores and accounts that exist, import them, report counts.

    Each step is told to `progress` as it starts ("…") and when it is done (with its counts), so
    that `seed_demo` is never silent for long; returns the lines of the steps done.

    The data ends yesterday. Besides the known accounts, each store has one newcomer account the
    organisation does not know yet: its chats arrive unassigned, as a real new hire's would.
    Accounts of online-sales and telesales teams chat with no one: they get the CRM's leads and
    the call centre's calls instead.
    """
    sales_kinds = (TeamKind.ONLINE_SALES, TeamKind.TELESALES)
    sales_accounts = PlatformAccount.objects.filter(assignments__member__memberships__team__kind__in=sales_kinds)
    accounts = {
        store.name: [
            *PlatformAccount.objects.filter(store=store)
            .exclude(pk__in=sales_accounts.values("pk"))
            .order_by("name")
            .values_list("name", flat=True),
            f"{store.name[:4]}:客服新人",
        ]
        for store in Store.objects.order_by("id")
    }
    last_day = timezone.localdate() - dt.timedelta(days=1)
    report = []
    batches = []

    def done(line: str) -> None:
        report.append(line)
        progress(line)

    with tempfile.TemporaryDirectory(prefix="perfmgmt-demo-") as folder:
        progress(f"  writing the shops' exports: {orders:,} orders with their chats and traffic over {days} days…")
        files = demo_exports_write(
            out_dir=Path(folder), accounts_by_store=accounts, last_day=last_day, days=days, orders=orders
        )
        imports = [
            ("orders", orders_import, files.orders),
            ("chats", chats_import, files.chats),
            ("traffic", traffic_import, files.traffic),
        ]
        for store in Store.objects.filter(teams__kind__in=sales_kinds).distinct().order_by("id"):
            owners = {
                kind: list(
                    sales_accounts.filter(store=store, assignments__member__memberships__team__kind=kind)
                    .order_by("name")
                    .values_list("name", flat=True)
                    .distinct()
                )
                for kind in sales_kinds
            }
            progress(f"  writing the leads and calls of {store.name}…")
            pipeline = demo_pipeline_exports_write(
                out_dir=Path(folder) / f"store-{store.pk}", store=store.name, owners=owners, last_day=last_day,
                days=days, call_share=min(1.0, max(0.05, orders / 50_000)),  # calls follow the demo's size
            )  # fmt: skip
            imports += [("leads", leads_import, pipeline.leads), ("calls", calls_import, pipeline.calls)]
        for number, (label, importer, path) in enumerate(imports, start=1):
            progress(f"  importing {label} ({number}/{len(imports)})…")
            # The KPIs are computed below, in full: the imports' KPI updates are not sent to a worker.
            with followups_held():
                batch = importer(store=None, file=path, user=None)
            if batch.status != ImportStatus.SUCCEEDED:
                raise RuntimeError(f"demo {label} import failed: {batch.error_message}")
            batches.append(batch)
            done(f"  imported {batch.inserted:>7} {label} ({batch.duration_ms} ms)")
    stores = list(Store.objects.order_by("id"))
    for number, store in enumerate(stores, start=1):
        progress(f"  computing the KPIs of {store.name} ({number}/{len(stores)})…")
        computed = kpis_recompute_store_full(store=store)
        done(f"  KPIs of {store.name}: {computed.partitions} months, {computed.orders_recredited} orders credited")
    for batch in batches:
        followups_done(batch=batch)
    return report


# --- targets, a counted behaviour and a promotion ----------------------------------------------

# Targets ask for a little more than the last four weeks' pace: teams end near "on pace",
# members with an equal share ahead or behind by how well they sell.
DEMO_GROWTH = {"quarter": Decimal("1.05"), "month": Decimal("1.04"), "focus": Decimal("1.03")}
DEMO_LEAD_CONVERSION = Decimal("0.06")  # leads → new customers' deals (the seed's 6%)
# Name, unit in Chinese and in English, description (written by the store, as a manager would).
DEMO_BEHAVIOUR = ("客户需求上报", "条", "reports", "向店长上报的客户需求（尺码、面料、到货提醒）。")
DEMO_BEHAVIOUR_PER_DAY = 3  # the weekly count target: per working day
HISTORY_DAYS = 28


@dataclass(frozen=True)
class DemoPlans:
    targets: int
    trees: int
    campaigns: int
    behaviour_records: int
    alerts: int


def _quarter(day: dt.date) -> Period:
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = dt.date(day.year + 1, 1, 1) if first.month == 10 else dt.date(day.year, first.month + 3, 1)
    return Period(first, after - dt.timedelta(days=1))


def _members_today(team: Team, today: dt.date) -> list[Member]:
    current = Q(memberships__team=team, memberships__start_date__lte=today) & (
        Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gte=today)
    )
    return list(Member.objects.filter(current).distinct().order_by("pk"))


def _plan(
    *, revenue: Decimal, period: Period, history: History, shares: dict[int, Decimal], chain: str
) -> Decomposition:
    aov = Decimal(history.aov) if history.aov else Decimal(200)
    return revenue_decompose(
        DecompositionInput(
            revenue=revenue.quantize(Decimal("0.01")),
            period=period,
            returning_share=min(max(history.returning_share or Decimal("0.3"), Decimal(0)), Decimal(1)),
            new_value_per_deal=aov,
            lead_conversion=DEMO_LEAD_CONVERSION if chain == LEADS else None,
            returning_order_value=aov,
            orders_per_buyer=history.orders_per_buyer or Decimal(1),
            inquiry_conversion=history.inquiry_conversion or None,
            uv_conversion=history.uv_conversion or None,
            weekday_weights=history.weekday_weights or None,
            member_shares=shares,
        )
    )


def _focus_values(store: Store, recent: Period) -> dict[str, Decimal]:
    """Each promotion focus KPI a little above the store's (or its teams' average) recent value."""
    store_row = kpi_table(level=Level.STORE, grain="range", start=recent.start, end=recent.end, store_ids=[store.pk])
    teams = kpi_table(level=Level.TEAM, grain="range", start=recent.start, end=recent.end, store_ids=[store.pk])
    values = {}
    for focus in PHASE_FOCUS.values():
        for key, _default in focus:
            if KPI_BY_KEY[key].store is not None:
                found = [store_row.iloc[0][key]] if len(store_row) else []
            else:
                found = list(teams[key]) if len(teams) else []
            found = [float(v) for v in found if v is not None and v == v]  # present, not NaN
            if found:
                value = Decimal(str(sum(found) / len(found))) * DEMO_GROWTH["focus"]
                values[key] = min(value, Decimal("0.99")).quantize(Decimal("0.001"))
    return values


def demo_plans_create(*, today: dt.date | None = None) -> DemoPlans:
    """Through the services, for each demo store with history: the quarter's revenue tree of the
    store, each team's month tree (members' weekly revenue and inquiring buyers, equal shares)
    under it; a counted behaviour with this week's target and counts of each team's members; in
    the first store a promotion whose pre-heat and peak fall in the last two weeks (bands on
    the default dashboard, the peak running today); then the targets' alerts."""
    User = get_user_model()
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    before = Target.objects.count()
    trees = campaigns = records = alerts = 0
    for index, store in enumerate(Store.objects.order_by("id")):
        day = today or store_today(store)
        grant = RoleGrant.objects.filter(role=Role.MANAGER, store=store).select_related("user").order_by("pk").first()
        user = grant.user if grant else admin
        viewer = viewer_get(user=user)
        # The last four weeks with data, as `decomposition_history` reads the last complete 28 days.
        recent = Period(day - dt.timedelta(days=HISTORY_DAYS), day - dt.timedelta(days=1))
        upcoming = Period(day, day + dt.timedelta(days=HISTORY_DAYS - 1))
        store_history = decomposition_history(store_id=store.pk, team_id=None, period=upcoming, today=day)
        store_gmv = kpi_table(level=Level.STORE, grain="range", start=recent.start, end=recent.end,
                              store_ids=[store.pk])  # fmt: skip
        daily = Decimal(store_gmv.iloc[0]["gmv"] or 0) / HISTORY_DAYS if len(store_gmv) else Decimal(0)
        if daily <= 0:
            continue
        quarter, month = _quarter(day), month_period(day)
        q = (quarter.start.month - 1) // 3 + 1
        quarter_root = decomposition_save(
            viewer=viewer, user=user,
            plan=_plan(revenue=daily * quarter.days * DEMO_GROWTH["quarter"], period=quarter, history=store_history,
                       shares={}, chain=decomposition_chain(store=store, team=None)),
            how=DecompositionSave(store=store, team=None, name=f"{store.name} · {quarter.start.year} Q{q}",
                                  period_kind=PeriodKind.QUARTER, leads_behaviour=None),
        )  # fmt: skip
        trees += 1
        behaviour = Behaviour.objects.create(
            store=store,
            name=DEMO_BEHAVIOUR[0],
            unit=DEMO_BEHAVIOUR[1],
            unit_en=DEMO_BEHAVIOUR[2],
            description=DEMO_BEHAVIOUR[3],
        )
        monday = day - dt.timedelta(days=day.weekday())
        week = Period(monday, monday + dt.timedelta(days=6))
        rng = random.Random(store.pk)  # noqa: S311 - demo counts, not secrets
        for team in Team.objects.filter(store=store).order_by("pk"):
            members = _members_today(team, day)
            history = decomposition_history(store_id=store.pk, team_id=team.pk, period=upcoming, today=day)
            team_gmv = sum(history.member_gmv.get(m.pk, Decimal(0)) for m in members)
            if not members or team_gmv <= 0:
                continue
            shares = member_shares(split="equal", member_ids=[m.pk for m in members])
            root = decomposition_save(
                viewer=viewer, user=user,
                plan=_plan(revenue=team_gmv / HISTORY_DAYS * month.days * DEMO_GROWTH["month"], period=month,
                           history=history, shares=shares, chain=decomposition_chain(store=store, team=team)),
                how=DecompositionSave(store=store, team=team, name=f"{team.name} · {month.start:%Y-%m}",
                                      period_kind=PeriodKind.MONTH, leads_behaviour=None),
            )  # fmt: skip
            target_update(viewer=viewer, target=root, parent=quarter_root)  # one tree, quarter to week
            trees += 1
            for member in members:
                target_create(
                    viewer=viewer, user=user, tier=TargetTier.EXECUTION, behaviour=behaviour, store=store, team=team,
                    member=member, period_kind=PeriodKind.WEEK, start=week.start, end=week.end, parent=root,
                    name_msg=message("metrics.target_member_period", member=member.display_name,
                                     period=f"{week.start:%m-%d}–{week.end:%m-%d}", measure=behaviour.name),
                    value=Decimal(DEMO_BEHAVIOUR_PER_DAY * 6), direction=TargetDirection.AT_LEAST, owner=user,
                )  # fmt: skip
                # Each member counts at their own rate, from last Monday to today.
                rate = rng.uniform(0.5, 1.5) * DEMO_BEHAVIOUR_PER_DAY
                for n in range((day - (monday - dt.timedelta(days=7))).days + 1):
                    date = monday - dt.timedelta(days=7 - n)
                    if date.weekday() in (5, 6) and rng.random() < 0.5:
                        continue
                    behaviour_record_set(viewer=viewer, user=user, member=member, behaviour=behaviour, date=date,
                                         count=max(0, round(rng.gauss(rate, 1))))  # fmt: skip
                    records += 1
        if index == 0:
            campaign_create(
                viewer=viewer, user=user, store=store, kind=CampaignKind.CUSTOM, name="店庆大促",
                phases={PhaseKind.PREHEAT: (day - dt.timedelta(days=13), day - dt.timedelta(days=4)),
                        PhaseKind.PEAK: (day - dt.timedelta(days=3), day + dt.timedelta(days=1)),
                        PhaseKind.AFTER: (day + dt.timedelta(days=2), day + dt.timedelta(days=8))},
                focus_values=_focus_values(store, recent),
            )  # fmt: skip
            campaigns += 1
        alerts += len(target_alerts_check(store=store, today=day))
    return DemoPlans(Target.objects.count() - before, trees, campaigns, records, alerts)


# --- appraisals: last month's cycle finalised by HR, this month's in self review -------------

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
                viewer=viewer, user=admin, team=team, members=_members_today(team, day), month=month_period(month)
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


# --- incentives: a customer-service plan, last month's statements locked, badges ---------------

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


def demo_incentives_create(*, today: dt.date | None = None, progress: Callable[[str], None] = _quiet) -> DemoIncentives:
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
    from teams.models import Role, RoleGrant
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


# --- online sales and telesales: stuck deals, breakthrough plans and the manager's answers ------

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
