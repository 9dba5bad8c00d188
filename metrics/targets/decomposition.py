"""Backward decomposition of a revenue target (倒推法), as seed 001 describes it.

From the revenue of a period: the share from returning customers and from new ones; new revenue
÷ value per deal = deals (a new customer's orders); returning revenue ÷ their order value =
repeat orders; orders ÷ orders per buyer = paying buyers; paying buyers ÷ inquiry conversion =
inquiries; paying buyers ÷ store conversion = UV. Teams that work leads (online sales,
telesales) also go deals ÷ lead conversion = leads to reach; a service team works from
inquiries instead (`decomposition_chain`). Then spread over the period's working days (evenly,
or by the store's weekday weights, `store_weekday_history`), summed per week, and split between
members (equally, by their share of GMV in the last complete period, or by hand).

Seed 001: 1,000,000 → returning 40% = 400,000, new 60% = 600,000; at 10,000 a deal and 6% lead
conversion, 60 deals and 1,000 leads; over a four-week month of six working days a week, 250
leads a week and about 41.7 (the seed's "about 40") a working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from metrics.kpis.families import team_families
from metrics.kpis.selectors import kpi_table
from metrics.kpis.values import scope_kpis_get
from metrics.registry import Family, Level
from metrics.targets.selectors import store_weekday_history
from perfmgmt.common.periods import Period, period_last_complete, period_shape
from teams.models import Store, Team

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DEFAULT_WORKING_WEEKDAYS = (0, 1, 2, 3, 4, 5)  # Monday to Saturday: six working days a week
SPLITS = ("equal", "last_period", "manual")
LEADS, INQUIRIES = "leads", "inquiries"  # what new customers are reached through (decomposition_chain)


def decomposition_chain(*, store: Store, team: Team | None) -> str:
    """LEADS for a team that works leads (its KPI families include the pipeline: online sales,
    telesales), and for the whole store when one of its teams does; INQUIRIES otherwise: a
    customer-service team sells to the buyers who consult it, through inquiry conversion and the
    order value, and has no leads to convert."""
    teams = [team] if team is not None else list(Team.objects.filter(store=store))
    return LEADS if any(Family.PIPELINE in team_families(team=t) for t in teams) else INQUIRIES


@dataclass(frozen=True)
class DecompositionInput:
    revenue: Decimal  # yuan
    period: Period
    returning_share: Decimal  # 0.40
    new_value_per_deal: Decimal  # yuan per new customer's deal (or order)
    lead_conversion: Decimal | None  # leads (new customers reached) → deals, 0.06; None: no leads (a service team)
    returning_order_value: Decimal  # yuan per returning customer's order
    orders_per_buyer: Decimal = Decimal(1)
    inquiry_conversion: Decimal | None = None  # paying buyers / inquiring buyers
    uv_conversion: Decimal | None = None  # paying buyers / UV
    working_weekdays: tuple[int, ...] = DEFAULT_WORKING_WEEKDAYS
    # Monday = 0 → share of the week's GMV (store_weekday_history); None: every working day the same.
    weekday_weights: dict[int, Decimal] | None = None
    member_shares: dict[int, Decimal] = field(default_factory=dict)  # member id → share (sums to 1)


@dataclass(frozen=True)
class Slice:
    """A part of the period (a week or a working day) and what it must bring."""

    start: dt.date
    end: dt.date
    working_days: int
    weight: Decimal  # its share of the period
    revenue: Decimal
    leads: Decimal | None  # None without lead conversion
    orders: Decimal
    inquiries: Decimal | None  # inquiring buyers; None without inquiry conversion

    @property
    def leads_per_working_day(self) -> Decimal | None:
        return None if self.leads is None else self.leads / self.working_days

    @property
    def inquiries_per_working_day(self) -> Decimal | None:
        return None if self.inquiries is None else self.inquiries / self.working_days


@dataclass(frozen=True)
class MemberPlan:
    member_id: int
    share: Decimal
    revenue: Decimal
    leads: Decimal | None
    orders: Decimal
    leads_per_week: list[Decimal | None]
    revenue_per_week: list[Decimal]
    inquiries: Decimal | None
    inquiries_per_week: list[Decimal | None]


@dataclass(frozen=True)
class Decomposition:
    input: DecompositionInput
    returning_revenue: Decimal
    new_revenue: Decimal
    new_deals: Decimal
    leads: Decimal | None
    returning_orders: Decimal
    orders: Decimal
    paying_buyers: Decimal
    inquiries: Decimal | None
    uv: Decimal | None
    days: list[Slice]
    weeks: list[Slice]
    members: list[MemberPlan]
    weighted: bool  # the days follow weekday weights (False: evenly, also when the weights were empty)

    @property
    def working_days(self) -> int:
        return len(self.days)

    @property
    def leads_per_working_day(self) -> Decimal | None:
        return _per_day(self.leads, self.working_days)

    @property
    def inquiries_per_working_day(self) -> Decimal | None:
        return _per_day(self.inquiries, self.working_days)


def _per_day(total: Decimal | None, days: int) -> Decimal | None:
    if total is None:
        return None
    return (total / days).quantize(TENTH, ROUND_HALF_UP) if days else Decimal(0)


def _div(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    return None if not denominator else numerator / denominator


def _times(value: Decimal | None, factor: Decimal) -> Decimal | None:
    return None if value is None else value * factor


def revenue_decompose(spec: DecompositionInput) -> Decomposition:
    """The arithmetic; exact Decimals, rounded only where people read them (cents, tenths)."""
    if spec.revenue <= 0:
        raise ValueError("The revenue target must be positive.")
    if not 0 <= spec.returning_share <= 1:
        raise ValueError("The returning customers' share is a fraction between 0 and 1.")
    for name in ("new_value_per_deal", "lead_conversion", "returning_order_value", "orders_per_buyer"):
        value = getattr(spec, name)
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive.")
    returning_revenue = spec.revenue * spec.returning_share
    new_revenue = spec.revenue - returning_revenue
    new_deals = new_revenue / spec.new_value_per_deal
    leads = _div(new_deals, spec.lead_conversion)
    returning_orders = returning_revenue / spec.returning_order_value
    orders = new_deals + returning_orders
    paying_buyers = orders / spec.orders_per_buyer
    inquiries = _div(paying_buyers, spec.inquiry_conversion)
    uv = _div(paying_buyers, spec.uv_conversion)

    working = [d for d in spec.period.dates() if d.weekday() in spec.working_weekdays]
    if not working:
        raise ValueError("The period has no working day.")
    # A working weekday the store sold nothing on in its history weighs 0; weights that leave
    # every working day at 0 (or none at all) spread the period evenly.
    raw = [Decimal((spec.weekday_weights or {}).get(d.weekday(), 0)) for d in working]
    weighted = sum(raw) > 0
    if not weighted:
        raw = [Decimal(1)] * len(working)
    total = sum(raw)
    weights = [w / total for w in raw]

    def part(first: dt.date, last: dt.date, days: int, weight: Decimal) -> Slice:
        return Slice(first, last, days, weight, spec.revenue * weight, _times(leads, weight), orders * weight,
                     _times(inquiries, weight))  # fmt: skip

    days = [part(d, d, 1, w) for d, w in zip(working, weights, strict=True)]
    # Weeks (Monday to Sunday, cut at the period's ends) weigh their days' raw weights over the
    # total, not a sum of rounded day shares: four weeks of six days are 0.25 each, exactly.
    by_week: dict[dt.date, list[tuple[dt.date, Decimal]]] = {}
    for day, weight in zip(working, raw, strict=True):
        by_week.setdefault(day - dt.timedelta(days=day.weekday()), []).append((day, weight))
    weeks = [
        part(
            max(monday, spec.period.start),
            min(monday + dt.timedelta(days=6), spec.period.end),
            len(items),
            sum(w for _day, w in items) / total,
        )
        for monday, items in by_week.items()
    ]
    members = [
        MemberPlan(
            member_id=member_id,
            share=share,
            revenue=spec.revenue * share,
            leads=_times(leads, share),
            orders=orders * share,
            leads_per_week=[_times(week.leads, share) for week in weeks],
            revenue_per_week=[week.revenue * share for week in weeks],
            inquiries=_times(inquiries, share),
            inquiries_per_week=[_times(week.inquiries, share) for week in weeks],
        )
        for member_id, share in spec.member_shares.items()
    ]
    return Decomposition(
        input=spec,
        returning_revenue=returning_revenue,
        new_revenue=new_revenue,
        new_deals=new_deals,
        leads=leads,
        returning_orders=returning_orders,
        orders=orders,
        paying_buyers=paying_buyers,
        inquiries=inquiries,
        uv=uv,
        days=days,
        weeks=weeks,
        members=members,
        weighted=weighted,
    )


def member_shares(*, split: str, member_ids: list[int], history: dict[int, Decimal] | None = None,
                  manual: dict[int, Decimal] | None = None) -> dict[int, Decimal]:  # fmt: skip
    """Each member's share: equal; proportional to last period's GMV (equal if nobody sold); or
    as typed (normalised to sum to 1)."""
    if not member_ids:
        return {}
    if split == "manual" and manual:
        chosen = {m: Decimal(manual.get(m, 0)) for m in member_ids}
    elif split == "last_period" and history and sum(history.get(m, Decimal(0)) for m in member_ids) > 0:
        chosen = {m: Decimal(history.get(m, 0)) for m in member_ids}
    else:
        chosen = {m: Decimal(1) for m in member_ids}
    total = sum(chosen.values())
    if total <= 0:
        raise ValueError("The members' shares must add up to more than zero.")
    return {m: value / total for m, value in chosen.items()}


@dataclass(frozen=True)
class History:
    """What the last complete period of the same kind suggests, to prefill the form (None where
    there is no data), and the store's weekday weights."""

    period: Period  # the last complete period of the target's kind (period_last_complete)
    kind: str  # its shape (period_shape): "month", "quarter", "year", "week" or "days"
    returning_share: Decimal | None
    aov: Decimal | None
    orders_per_buyer: Decimal | None
    inquiry_conversion: Decimal | None
    uv_conversion: Decimal | None
    weekday_weights: dict[int, Decimal]  # Monday = 0 → share of the week's GMV; empty without history
    weights_window: Period | None  # the days the weights were learned from
    member_gmv: dict[int, Decimal]


def decomposition_history(*, store_id: int, team_id: int | None, period: Period, today: dt.date) -> History:
    """Rates and values of the last complete period of the same kind as `period` (the last whole
    month for a month, the last whole ISO week for a week, never a part of a running period),
    from the rollups: a team's own order value, orders per buyer and inquiry conversion (team
    level: distinct buyers over the team, as its tactic targets count them), the store's
    returning share and store conversion; the members' GMV. The weekday weights are the
    store's, as a target paced by weekday uses them (store_weekday_history, before the period)."""
    before = period_last_complete(period=period, today=today)
    store_row = scope_kpis_get(level=Level.STORE, store_id=store_id, start=before.start, end=before.end)
    scope_row = store_row
    if team_id:  # the team-level KPIs: distinct buyers over the team, never a sum of its members'
        scope_row = scope_kpis_get(level=Level.TEAM, store_id=store_id, start=before.start, end=before.end,
                                   entity_id=team_id)  # fmt: skip

    def dec(value, places: str = "0.0001") -> Decimal | None:
        if value is None or value != value:  # absent, or NaN
            return None
        return Decimal(str(value)).quantize(Decimal(places))

    orders = scope_row.get("paid_orders")
    buyers = scope_row.get("paid_buyers" if team_id else "paying_buyers")
    member_kwargs = {"team_ids": [team_id]} if team_id else {}
    members = kpi_table(
        level=Level.MEMBER, grain="range", start=before.start, end=before.end, store_ids=[store_id], **member_kwargs
    )
    weights = store_weekday_history(store_id=store_id, before=period.start)
    return History(
        period=before,
        kind=period_shape(period),
        returning_share=dec(store_row.get("returning_rate")),
        # A team that sold nothing through its chats (a sales team) is prefilled with the store's.
        aov=scope_row.get("aov") if dec(scope_row.get("aov")) else store_row.get("aov"),
        orders_per_buyer=dec(Decimal(int(orders)) / Decimal(int(buyers))) if orders and buyers else None,
        inquiry_conversion=dec(_inquiry_conversion(scope_row, team=bool(team_id))),
        uv_conversion=dec(store_row.get("uv_to_paid_conversion")),
        weekday_weights=weights.weights,
        weights_window=weights.window,
        member_gmv={int(r["entity_id"]): Decimal(r["gmv"] or 0) for r in members.to_dict("records")},
    )


def _inquiry_conversion(row: dict, *, team: bool) -> Decimal | None:
    """Paying buyers ÷ inquiring buyers, as the tree's tactic targets count them: a team's is its
    inquiry-to-payment rate KPI (team level: a buyer two members served counts once); the store,
    which has no such KPI in the registry, divides its two KPIs its tactic targets are set on
    (paying_buyers, inquiring_buyers)."""
    if team:
        return row.get("inquiry_to_payment_rate")
    inquiring, paying = row.get("inquiring_buyers"), row.get("paying_buyers")
    return Decimal(int(paying or 0)) / Decimal(int(inquiring)) if inquiring else None
