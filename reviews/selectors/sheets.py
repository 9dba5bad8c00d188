"""One appraisal as its pages show it (the appraisal, the printable sheet, the reviews): its
dimensions with their KPI and rating items, how each KPI item is scored in words, the ratings of
a role, and the members before and after it in its cycle."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from metrics.formatting import kpi_display, share_display
from metrics.registry import KPI_BY_KEY, Direction, Kpi
from reviews import scoring
from reviews.models import (
    Appraisal,
    Cycle,
    Dimension,
    Item,
    ItemDecision,
    ItemKind,
    ItemStatus,
    RaterRole,
    Rating,
    ScoringRule,
)
from reviews.selectors.appraisals import appraisal_dimension_scores

HUNDRED = Decimal(100)


@dataclass
class KpiRow:
    item: Item
    kpi: object
    value: str
    target: str
    score: Decimal | None
    rule: str
    status: str = ItemStatus.SCORED
    decision: ItemDecision | None = None  # HR's, when the month has no data for the item

    @property
    def insufficient(self) -> bool:
        return self.status == ItemStatus.INSUFFICIENT

    @property
    def decided(self) -> bool:
        return self.status in (ItemStatus.HR_VALUE, ItemStatus.EXCLUDED)

    @property
    def excluded(self) -> bool:
        return self.status == ItemStatus.EXCLUDED

    @property
    def hr_value(self) -> bool:
        return self.status == ItemStatus.HR_VALUE

    @property
    def superseded(self) -> bool:
        """HR decided while the month had no data; it has some now, and the data is used."""
        return self.decision is not None and not self.decided


@dataclass
class RatingRow:
    item: Item
    self_rating: Rating | None
    manager_rating: Rating | None
    peers: list[Rating]
    score: Decimal | None

    @property
    def peer_mean(self) -> Decimal | None:
        if not self.peers:
            return None
        return (Decimal(sum(r.score for r in self.peers)) / len(self.peers)).quantize(Decimal("0.1"))


@dataclass
class DimensionRow:
    dimension: Dimension
    score: Decimal | None
    kpis: list[KpiRow]
    ratings: list[RatingRow]

    @property
    def weight_percent(self) -> str:
        return share_display(self.dimension.weight, places=0)


@dataclass
class Sheet:
    appraisal: Appraisal
    cycle: Cycle
    dimensions: list[DimensionRow]
    rating_items: list[Item]

    @property
    def kpi_rows(self) -> list[KpiRow]:
        return [row for d in self.dimensions for row in d.kpis]

    @property
    def rating_rows(self) -> list[RatingRow]:
        return [row for d in self.dimensions for row in d.ratings]

    @property
    def pending(self) -> list[KpiRow]:
        """KPI items without data that await HR's decision: the total and grade wait for them."""
        return [row for row in self.kpi_rows if row.insufficient]

    @property
    def without_data(self) -> list[KpiRow]:
        """KPI items the month has no data for (decided or not), and decisions the data overtook."""
        return [row for row in self.kpi_rows if row.insufficient or row.decided or row.superseded]

    @property
    def notes(self) -> list[RatingRow]:
        """Rating items with a comment from the member or the manager."""
        return [
            row for row in self.rating_rows
            if (row.self_rating and row.self_rating.comment) or (row.manager_rating and row.manager_rating.comment)
        ]  # fmt: skip


def rule_text(*, item: Item, kpi: Kpi) -> str:
    """How a KPI item is scored, in words."""
    if item.rule == ScoringRule.RANK:
        return _("Rank within the team: the best scores 100, the last 0.")
    if item.rule == ScoringRule.THRESHOLDS:
        sign = "≤" if kpi.direction == Direction.LOWER else "≥"
        steps = "; ".join(
            f"{sign} {kpi_display(kpi, Decimal(str(limit)))} → {score}" for limit, score in item.thresholds or []
        )
        return _("Thresholds: %(steps)s") % {"steps": steps}
    floor = kpi_display(kpi, item.floor if item.floor is not None else Decimal(0))
    if item.target is None:
        return _("Linear: %(floor)s scores 0, the member's target of the month scores 100.") % {"floor": floor}
    return _("Linear: %(floor)s scores 0, %(target)s scores 100.") % {
        "floor": floor, "target": kpi_display(kpi, item.target)
    }  # fmt: skip


def cycle_items(*, cycle: Cycle) -> list[Item]:
    """The items of the cycle's template, with their dimensions."""
    return list(Item.objects.filter(dimension__template_id=cycle.template_id).select_related("dimension"))


def appraisal_sheet(*, appraisal: Appraisal) -> Sheet:
    """The appraisal as its pages show it: each dimension with its KPI items (value, target, score,
    rule, HR's decision) and rating items (self, manager, peers), and its score."""
    cycle = appraisal.cycle
    items = cycle_items(cycle=cycle)
    item_scores = {s.item_id: s for s in appraisal.item_scores.all()}
    ratings = list(appraisal.ratings.select_related("rater"))
    decisions = {d.item_id: d for d in appraisal.decisions.select_related("decided_by")}
    dimension_scores = appraisal_dimension_scores(items=items, item_scores=item_scores)
    rows: dict[int, DimensionRow] = {}
    for dimension in Dimension.objects.filter(template_id=cycle.template_id):
        rows[dimension.pk] = DimensionRow(dimension, dimension_scores.get(dimension.pk), [], [])
    for item in items:
        stored = item_scores.get(item.pk)
        if item.kind == ItemKind.KPI:
            kpi = KPI_BY_KEY.get(item.kpi_key)
            if kpi is None:
                continue
            rows[item.dimension_id].kpis.append(KpiRow(
                item=item, kpi=kpi,
                value=kpi_display(kpi, stored.value if stored else None),
                target=kpi_display(kpi, stored.target if stored else None),
                score=stored.score if stored else None, rule=rule_text(item=item, kpi=kpi),
                status=stored.status if stored else ItemStatus.SCORED, decision=decisions.get(item.pk),
            ))  # fmt: skip
        else:
            mine = [r for r in ratings if r.item_id == item.pk]
            rows[item.dimension_id].ratings.append(RatingRow(
                item=item,
                self_rating=next((r for r in mine if r.role == RaterRole.SELF), None),
                manager_rating=next((r for r in mine if r.role == RaterRole.MANAGER), None),
                peers=[r for r in mine if r.role == RaterRole.PEER],
                score=stored.score if stored else None,
            ))  # fmt: skip
    rating_items = [i for i in items if i.kind == ItemKind.RATING]
    return Sheet(appraisal, cycle, list(rows.values()), rating_items)


def appraisal_neighbours(*, appraisal: Appraisal) -> tuple[Appraisal | None, Appraisal | None]:
    """The previous and the next member of the cycle (by name), for moving through a review."""
    ids = list(Appraisal.objects.filter(cycle_id=appraisal.cycle_id).values_list("pk", flat=True))
    at = ids.index(appraisal.pk)
    previous = Appraisal.objects.select_related("member").get(pk=ids[at - 1]) if at > 0 else None
    following = Appraisal.objects.select_related("member").get(pk=ids[at + 1]) if at + 1 < len(ids) else None
    return previous, following


def bands_text(*, bands: tuple[scoring.Band, ...]) -> str:
    """The bands as a sentence's part: "S ≥ 90, A ≥ 80, B ≥ 70, C ≥ 60, D ≥ 0"."""
    return ", ".join(f"{b.grade} ≥ {number_format(b.lower.normalize(), use_l10n=True)}" for b in bands)


def appraisal_ratings(*, appraisal: Appraisal, role: str, rater: AbstractBaseUser | None = None) -> dict[int, Rating]:
    """The appraisal's ratings in one role, by item: the manager's whoever rated, a member's or a
    peer's of that rater."""
    ratings = Rating.objects.filter(appraisal=appraisal, role=role)
    if role != RaterRole.MANAGER and rater is not None:
        ratings = ratings.filter(rater=rater)
    return {r.item_id: r for r in ratings}
