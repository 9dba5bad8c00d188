"""Backward decomposition of a revenue target (倒推法), as seed 001 describes it.

From the revenue of a period: the share from returning customers and from new ones; new revenue
÷ value per deal = deals; deals ÷ lead conversion = leads to reach; returning revenue ÷ their
order value = repeat orders; orders ÷ orders per buyer = paying buyers; paying buyers ÷ inquiry
conversion = inquiries; paying buyers ÷ store conversion = UV. Then spread over the period's
working days (evenly, or by weekday weights learned from history), summed per week, and split
between members (equally, by last period's share of GMV, or by hand).

Seed 001: 1,000,000 → returning 40% = 400,000, new 60% = 600,000; at 10,000 a deal and 6% lead
conversion, 60 deals and 1,000 leads; over a four-week month of six working days a week, 250
leads a week and about 41.7 (the seed's "about 40") a working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from metrics.registry import Level
from metrics.selectors.kpis import kpi_table
from metrics.selectors.periods import Period

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DEFAULT_WORKING_WEEKDAYS = (0, 1, 2, 3, 4, 5)  # Monday to Saturday: six working days a week
SPLITS = ("equal", "last_period", "manual")


@dataclass(frozen=True)
class DecompositionInput:
    revenue: Decimal  # yuan
    period: Period
    returning_share: Decimal  # 0.40
    new_value_per_deal: Decimal  # yuan per new customer's deal (or order)
    lead_conversion: Decimal  # leads (new customers reached) → deals, 0.06
    returning_order_value: Decimal  # yuan per returning customer's order
    orders_per_buyer: Decimal = Decimal(1)
    inquiry_conversion: Decimal | None = None  # paying buyers / inquiring buyers
    uv_conversion: Decimal | None = None  # paying buyers / UV
    working_weekdays: tuple[int, ...] = DEFAULT_WORKING_WEEKDAYS
    weekday_weights: dict[int, Decimal] | None = None  # None: every working day weighs the same
    member_shares: dict[int, Decimal] = field(default_factory=dict)  # member id → share (sums to 1)


@dataclass(frozen=True)
class Slice:
    """A part of the period (a week or a working day) and what it must bring."""

    start: dt.date
    end: dt.date
    working_days: int
    weight: Decimal  # its share of the period
    revenue: Decimal
    leads: Decimal
    orders: Decimal


@dataclass(frozen=True)
class MemberPlan:
    member_id: int
    share: Decimal
    revenue: Decimal
    leads: Decimal
    orders: Decimal
    leads_per_week: list[Decimal]
    revenue_per_week: list[Decimal]


@dataclass(frozen=True)
class Decomposition:
    input: DecompositionInput
    returning_revenue: Decimal
    new_revenue: Decimal
    new_deals: Decimal
    leads: Decimal
    returning_orders: Decimal
    orders: Decimal
    paying_buyers: Decimal
    inquiries: Decimal | None
    uv: Decimal | None
    days: list[Slice]
    weeks: list[Slice]
    members: list[MemberPlan]

    @property
    def working_days(self) -> int:
        return len(self.days)

    @property
    def leads_per_working_day(self) -> Decimal:
        return (self.leads / self.working_days).quantize(TENTH, ROUND_HALF_UP) if self.working_days else Decimal(0)


def _div(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    return None if not denominator else numerator / denominator


def revenue_decompose(spec: DecompositionInput) -> Decomposition:
    """The arithmetic; exact Decimals, rounded only where people read them (cents, tenths)."""
    if spec.revenue <= 0:
        raise ValueError("The revenue target must be positive.")
    if not 0 <= spec.returning_share <= 1:
        raise ValueError("The returning customers' share is a fraction between 0 and 1.")
    for name in ("new_value_per_deal", "lead_conversion", "returning_order_value", "orders_per_buyer"):
        if getattr(spec, name) <= 0:
            raise ValueError(f"{name} must be positive.")
    returning_revenue = spec.revenue * spec.returning_share
    new_revenue = spec.revenue - returning_revenue
    new_deals = new_revenue / spec.new_value_per_deal
    leads = new_deals / spec.lead_conversion
    returning_orders = returning_revenue / spec.returning_order_value
    orders = new_deals + returning_orders
    paying_buyers = orders / spec.orders_per_buyer
    inquiries = _div(paying_buyers, spec.inquiry_conversion)
    uv = _div(paying_buyers, spec.uv_conversion)

    working = [d for d in spec.period.dates() if d.weekday() in spec.working_weekdays]
    if not working:
        raise ValueError("The period has no working day.")
    raw = [(spec.weekday_weights or {}).get(d.weekday(), Decimal(1)) if spec.weekday_weights else Decimal(1)
           for d in working]  # fmt: skip
    total = sum(raw) or Decimal(len(working))
    weights = [w / total for w in raw]

    def part(first: dt.date, last: dt.date, days: int, weight: Decimal) -> Slice:
        return Slice(first, last, days, weight, spec.revenue * weight, leads * weight, orders * weight)

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
            leads=leads * share,
            orders=orders * share,
            leads_per_week=[week.leads * share for week in weeks],
            revenue_per_week=[week.revenue * share for week in weeks],
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
    """What the period before suggests, to prefill the form (None where there is no data)."""

    period: Period
    returning_share: Decimal | None
    aov: Decimal | None
    orders_per_buyer: Decimal | None
    inquiry_conversion: Decimal | None
    uv_conversion: Decimal | None
    weekday_weights: dict[int, Decimal]
    member_gmv: dict[int, Decimal]


def decomposition_history(*, store_id: int, team_id: int | None, period: Period) -> History:
    """Rates and values of the same length of time just before the period, from the rollups."""
    before = period.previous()
    store = kpi_table(level=Level.STORE, grain="range", start=before.start, end=before.end, store_ids=[store_id])
    row = store.iloc[0].to_dict() if len(store) else {}

    def dec(value, places: str = "0.0001") -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(Decimal(places))

    orders, buyers = row.get("paid_orders"), row.get("paying_buyers")
    member_kwargs = {"team_ids": [team_id]} if team_id else {}
    members = kpi_table(
        level=Level.MEMBER, grain="range", start=before.start, end=before.end, store_ids=[store_id], **member_kwargs
    )
    team_or_store = kpi_table(
        level=Level.TEAM if team_id else Level.STORE, grain="day", start=before.start, end=before.end,
        store_ids=[store_id], **member_kwargs,
    )  # fmt: skip
    weights: dict[int, Decimal] = {}
    if len(team_or_store):
        by_weekday: dict[int, Decimal] = {}
        for record in team_or_store.to_dict("records"):
            weekday = record["period_start"].weekday()
            by_weekday[weekday] = by_weekday.get(weekday, Decimal(0)) + Decimal(record["gmv"] or 0)
        total = sum(by_weekday.values())
        if total > 0:
            weights = {day: (value / total * 7).quantize(Decimal("0.001")) for day, value in sorted(by_weekday.items())}
    inquiry = row.get("inquiring_buyers")
    paying_from_inquiry = None
    if team_id and len(members):
        inquiring = sum(int(v or 0) for v in members["inquiring_buyers"])
        paid = sum(int(v or 0) for v in members["paid_buyers"])
        paying_from_inquiry = Decimal(paid) / inquiring if inquiring else None
    elif inquiry:
        paying_from_inquiry = Decimal(int(buyers or 0)) / Decimal(int(inquiry))
    return History(
        period=before,
        returning_share=dec(row.get("returning_rate")),
        aov=row.get("aov"),
        orders_per_buyer=dec(Decimal(int(orders)) / Decimal(int(buyers))) if orders and buyers else None,
        inquiry_conversion=dec(paying_from_inquiry),
        uv_conversion=dec(row.get("uv_to_paid_conversion")),
        weekday_weights=weights,
        member_gmv={int(r["entity_id"]): Decimal(r["gmv"] or 0) for r in members.to_dict("records")},
    )
