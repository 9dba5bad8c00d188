"""The demo's targets: a quarter's and a month's decomposed from history, a counted behaviour and
a promotion, through the targets' services."""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q

from metrics.kpis.selectors import kpi_table
from metrics.messages import message
from metrics.models import (
    Behaviour,
    CampaignKind,
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
from perfmgmt.common.periods import Period, month_period, store_today
from teams.models import Member, Role, RoleGrant, Store, Team
from teams.selectors.scoping import viewer_get

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


def members_today(team: Team, today: dt.date) -> list[Member]:
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
            members = members_today(team, day)
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
