"""What a manager should read from a cycle's figures: seed 003's five analyses, from the data.

(a) below target: every target the appraisal scores against (the member's KPI target of the
    month, or the template item's own target), its completion, and who falls short;
(b) volume or price: each member's quadrant by paid orders and AOV against the team medians;
(c) inquiries or conversion: inquiring buyers and inquiry-to-payment rate against the medians
    (many inquiries converted poorly: selling skill; few converted well: workload or routing);
(d) after-sales quality: the refund order rate, flagged when well above the team median;
(e) a suggested training focus from each member's weakest items.

"At or above the median" counts as high. Values and item scores are live until HR finalises the
cycle; afterwards the frozen item scores are read (KPIs that are not items stay live).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from metrics.models import Target
from metrics.registry import KPI_BY_KEY, Direction
from perfmgmt.common.periods import month_last
from reviews.models import Cycle, Item, ItemKind, ItemScore, Rating, ScoringRule
from reviews.selectors.appraisals import (
    Evidence,
    cycle_evidence,
    item_kpi_score,
    item_rating_score,
)

# (d) "well above the team median": at least this many times the median and this much above it.
REFUND_FLAG_RATIO = Decimal("1.25")
REFUND_FLAG_GAP = Decimal("0.05")
# (e) items scoring below this are training needs; at most this many focus areas per member.
TRAINING_BELOW = Decimal(80)
TRAINING_FOCI = 3

QUADRANTS = {
    "volume_and_price": _("High volume and high price"),
    "volume": _("Sells on volume"),
    "price": _("Sells on price"),
    "neither": _("Below the median on volume and price"),
}
SELLS_ON = {"volume": _("volume"), "price": _("price")}
INQUIRY_PATTERNS = {
    "many_low": _("Many inquiries, low conversion: selling skill"),
    "few_high": _("Converts well, few inquiries: workload or routing"),
    "many_high": _("Many inquiries, converts well"),
    "few_low": _("Few inquiries, low conversion"),
}
FOCI = {
    "conversion": _("Conversion skills: needs, objections, closing"),
    "upselling": _("Recommending and bundling: order value"),
    "response_speed": _("Response speed"),
    "after_sales": _("After-sales handling: refunds, returns, complaints"),
    "product_knowledge": _("Product knowledge"),
    "communication": _("Communication"),
    "attitude": _("Work attitude: responsibility, initiative, discipline"),
    "teamwork": _("Teamwork and coaching"),
}
# Rating items by their English name (the built-in templates' names); KPI items by their KPI.
RATING_FOCUS = {
    "product knowledge": "product_knowledge",
    "communication": "communication",
    "coordination": "after_sales",
    "responsibility": "attitude",
    "initiative": "attitude",
    "discipline": "attitude",
    "cooperation": "teamwork",
    "mentoring": "teamwork",
}
KPI_FOCUS = {
    "gmv": "conversion",
    "paid_orders": "conversion",
    "paid_buyers": "conversion",
    "ordered_buyers": "conversion",
    "inquiry_to_payment_rate": "conversion",
    "inquiry_to_order_rate": "conversion",
    "orders_per_working_day": "conversion",
    "gmv_per_working_day": "conversion",
    "sales_share": "conversion",
    "aov": "upselling",
    "per_buyer_value": "upselling",
    "items_per_order": "upselling",
    "avg_first_response_s": "response_speed",
    "answered_15s_rate": "response_speed",
    "unanswered_sessions": "response_speed",
    "sessions": "response_speed",
    "inquiring_buyers": "response_speed",
    "working_days": "attitude",
    "refund_order_rate": "after_sales",
    "refund_amount": "after_sales",
}


@dataclass(frozen=True)
class TargetCheck:
    """(a) One target of one member: completion is value / target (target / value when lower is
    better); `met` when the value reaches it (stays at or under it)."""

    member_id: int
    member: str
    kpi_key: str
    label: str
    value: Decimal | None
    target: Decimal
    completion: Decimal | None
    met: bool
    source: str  # "member": their target of the month; "template": the item's own target


@dataclass(frozen=True)
class Shortfall:
    member_id: int
    member: str
    checks: tuple[TargetCheck, ...]  # the unmet ones


@dataclass(frozen=True)
class QuadrantRow:
    """(b) Paid orders and AOV against the team medians (ratios: value / median)."""

    member_id: int
    member: str
    paid_orders: int | None
    aov: Decimal | None
    orders_ratio: Decimal | None
    aov_ratio: Decimal | None
    quadrant: str  # a key of QUADRANTS, "" without data
    sells_on: str  # "volume" or "price" (the larger lead over the median), "" for neither

    @property
    def label(self) -> str:
        return str(QUADRANTS.get(self.quadrant, ""))

    @property
    def sells_on_label(self) -> str:
        return str(SELLS_ON.get(self.sells_on, ""))


@dataclass(frozen=True)
class InquiryRow:
    """(c) Inquiring buyers and inquiry-to-payment rate against the team medians."""

    member_id: int
    member: str
    inquiring_buyers: int | None
    conversion: Decimal | None
    pattern: str  # a key of INQUIRY_PATTERNS, "" without data

    @property
    def label(self) -> str:
        return str(INQUIRY_PATTERNS.get(self.pattern, ""))


@dataclass(frozen=True)
class RefundRow:
    """(d) The refund order rate against the team median."""

    member_id: int
    member: str
    refund_order_rate: Decimal | None
    ratio: Decimal | None  # rate / median
    flagged: bool  # well above the median
    lowest: bool  # the team's lowest refund rate: its after-sales example


@dataclass(frozen=True)
class WeakItem:
    item_id: int
    name: str
    score: Decimal
    focus: str


@dataclass(frozen=True)
class TrainingRow:
    """(e) The member's weakest items (lowest score first) and the focus areas they point at."""

    member_id: int
    member: str
    weakest: tuple[WeakItem, ...]
    foci: tuple[str, ...]  # keys of FOCI, most urgent first

    @property
    def labels(self) -> list[str]:
        return [str(FOCI[key]) for key in self.foci]


@dataclass(frozen=True)
class Insights:
    cycle: Cycle
    medians: dict[str, Decimal | None]  # paid_orders, aov, inquiring_buyers, conversion, refund rate
    targets: list[TargetCheck] = field(default_factory=list)
    below_target: list[Shortfall] = field(default_factory=list)
    quadrants: list[QuadrantRow] = field(default_factory=list)
    inquiries: list[InquiryRow] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    training: list[TrainingRow] = field(default_factory=list)

    def checks_of(self, kpi_key: str) -> list[TargetCheck]:
        return [c for c in self.targets if c.kpi_key == kpi_key]


def _decimal(value) -> Decimal | None:
    if value is None or value != value:  # None or NaN
        return None
    return Decimal(str(value))


def _median(values) -> Decimal | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _ratio(value: Decimal | None, median: Decimal | None) -> Decimal | None:
    if value is None or not median:
        return None
    return value / median


def _high(value: Decimal | None, median: Decimal | None) -> bool | None:
    if value is None or median is None:
        return None
    return value >= median


def _completion(value: Decimal | None, target: Decimal, lower: bool) -> tuple[Decimal | None, bool]:
    if value is None:
        return None, False
    if lower:
        return (target / value if value else None), value <= target
    return (value / target if target else None), value >= target


def _item_results(cycle: Cycle, items: list[Item], evidence: Evidence, member_ids: list[int]) -> dict:
    """(member id, item id) → (value, target, score): frozen scores once locked, else live."""
    if cycle.locked:
        return {
            (s.appraisal.member_id, s.item_id): (s.value, s.target, s.score)
            for s in ItemScore.objects.filter(appraisal__cycle=cycle).select_related("appraisal")
        }
    ratings = list(Rating.objects.filter(appraisal__cycle=cycle).select_related("appraisal"))
    results = {}
    for member_id in member_ids:
        mine = [r for r in ratings if r.appraisal.member_id == member_id]
        for item in items:
            if item.kind == ItemKind.KPI:
                results[member_id, item.pk] = item_kpi_score(item, member_id=member_id, evidence=evidence,
                                                             member_ids=member_ids)  # fmt: skip
            else:
                results[member_id, item.pk] = (None, None, item_rating_score(item, mine))
    return results


def _month_targets(cycle: Cycle, member_ids: list[int], keys: set[str]) -> dict[tuple[int, str], Decimal]:
    """Members' targets for exactly the cycle's month, of KPIs the template does not score."""
    found = Target.objects.filter(member_id__in=member_ids, start=cycle.month, end=month_last(cycle.month),
                                  kpi_key__in=[k for k in KPI_BY_KEY if k not in keys]).order_by("pk")  # fmt: skip
    return {(t.member_id, t.kpi_key): t.value for t in found}


def _target_checks(cycle, items, evidence, results, members: dict[int, str]) -> list[TargetCheck]:
    checks = []
    linear = [i for i in items if i.kind == ItemKind.KPI and i.rule == ScoringRule.LINEAR]
    extra = _month_targets(cycle, list(members), {i.kpi_key for i in linear})
    for member_id, name in members.items():
        for item in linear:
            value, target, _score = results.get((member_id, item.pk), (None, None, None))
            if target is None:
                continue
            kpi = KPI_BY_KEY[item.kpi_key]
            source = "template" if item.target is not None else "member"
            completion, met = _completion(_decimal(value), Decimal(target), kpi.direction == Direction.LOWER)
            checks.append(TargetCheck(member_id, name, item.kpi_key, item.name, _decimal(value), Decimal(target),
                                      completion, met, source))  # fmt: skip
        for (mid, key), target in sorted(extra.items()):
            if mid != member_id:
                continue
            kpi = KPI_BY_KEY[key]
            value = _decimal(evidence.values.get(member_id, {}).get(key))
            completion, met = _completion(value, Decimal(target), kpi.direction == Direction.LOWER)
            checks.append(TargetCheck(member_id, name, key, kpi.label, value, Decimal(target), completion, met,
                                      "member"))  # fmt: skip
    return checks


def _quadrants(members, values, medians) -> list[QuadrantRow]:
    rows = []
    for member_id, name in members.items():
        orders, aov = values[member_id]["paid_orders"], values[member_id]["aov"]
        high_orders, high_aov = _high(orders, medians["paid_orders"]), _high(aov, medians["aov"])
        orders_ratio, aov_ratio = _ratio(orders, medians["paid_orders"]), _ratio(aov, medians["aov"])
        quadrant = sells_on = ""
        if high_orders is not None and high_aov is not None:
            if high_orders and high_aov:
                quadrant = "volume_and_price"
                sells_on = "price" if (aov_ratio or 0) > (orders_ratio or 0) else "volume"
            elif high_orders:
                quadrant = sells_on = "volume"
            elif high_aov:
                quadrant = sells_on = "price"
            else:
                quadrant = "neither"
        rows.append(QuadrantRow(member_id, name, None if orders is None else int(orders), aov, orders_ratio,
                                aov_ratio, quadrant, sells_on))  # fmt: skip
    return rows


def _inquiries(members, values, medians) -> list[InquiryRow]:
    rows = []
    for member_id, name in members.items():
        inquiring, conversion = values[member_id]["inquiring_buyers"], values[member_id]["inquiry_to_payment_rate"]
        many = _high(inquiring, medians["inquiring_buyers"])
        well = _high(conversion, medians["inquiry_to_payment_rate"])
        pattern = "" if many is None or well is None else f"{'many' if many else 'few'}_{'high' if well else 'low'}"
        rows.append(InquiryRow(member_id, name, None if inquiring is None else int(inquiring), conversion, pattern))
    return rows


def _refunds(members, values, medians) -> list[RefundRow]:
    median = medians["refund_order_rate"]
    rates = [values[m]["refund_order_rate"] for m in members]
    lowest = min((r for r in rates if r is not None), default=None)
    rows = []
    for member_id, name in members.items():
        rate = values[member_id]["refund_order_rate"]
        flagged = (
            rate is not None and median is not None
            and rate - median >= REFUND_FLAG_GAP and rate >= median * REFUND_FLAG_RATIO
        )  # fmt: skip
        rows.append(RefundRow(member_id, name, rate, _ratio(rate, median), flagged,
                              rate is not None and rate == lowest and len(members) > 1))  # fmt: skip
    return rows


def _focus(item: Item) -> str:
    if item.kind == ItemKind.KPI:
        return KPI_FOCUS.get(item.kpi_key, "conversion")
    return RATING_FOCUS.get(item.name_en.strip().lower(), "attitude")


def _training(members, items, results) -> list[TrainingRow]:
    # The weight of an item in the total breaks ties between equal scores: the costlier first.
    share = {i.pk: i.weight * i.dimension.weight for i in items}
    rows = []
    for member_id, name in members.items():
        scored = [
            WeakItem(i.pk, i.name, Decimal(results[member_id, i.pk][2]).quantize(Decimal("0.01")), _focus(i))
            for i in items
            if results.get((member_id, i.pk), (None, None, None))[2] is not None
        ]
        weak = sorted((w for w in scored if w.score < TRAINING_BELOW), key=lambda w: (w.score, -share[w.item_id]))
        foci: list[str] = []
        for w in weak:
            if w.focus not in foci and len(foci) < TRAINING_FOCI:
                foci.append(w.focus)
        rows.append(TrainingRow(member_id, name, tuple(weak), tuple(foci)))
    return rows


def cycle_insights(*, cycle: Cycle) -> Insights:
    """Seed 003's five analyses of a cycle's members (in the appraisals' order)."""
    appraisals = list(cycle.appraisals.select_related("member").order_by("member__display_name", "member_id"))
    members = {a.member_id: a.member.display_name for a in appraisals}
    member_ids = list(members)
    items = list(Item.objects.filter(dimension__template_id=cycle.template_id).select_related("dimension")
                 .order_by("dimension__order", "order", "pk"))  # fmt: skip
    evidence = cycle_evidence(cycle=cycle, member_ids=member_ids)
    results = _item_results(cycle, items, evidence, member_ids)
    keys = ("paid_orders", "aov", "inquiring_buyers", "inquiry_to_payment_rate", "refund_order_rate")
    values = {m: {k: _decimal(evidence.values.get(m, {}).get(k)) for k in keys} for m in member_ids}
    # A member without a single paid order has no AOV; without inquiries, no conversion.
    medians = {k: _median(values[m][k] for m in member_ids) for k in keys}
    checks = _target_checks(cycle, items, evidence, results, members)
    below = []
    for member_id, name in members.items():
        unmet = tuple(c for c in checks if c.member_id == member_id and not c.met)
        if unmet:
            below.append(Shortfall(member_id, name, unmet))
    return Insights(
        cycle=cycle,
        medians=medians,
        targets=checks,
        below_target=below,
        quadrants=_quadrants(members, values, medians),
        inquiries=_inquiries(members, values, medians),
        refunds=_refunds(members, values, medians),
        training=_training(members, items, results),
    )
