"""Scoring rules, 0–100, and grades. Pure functions of numbers: no database here.

- linear: 0 at the floor, 100 at the target, straight in between, capped to 0…100. For a KPI
  where lower is better (first response time) the floor is the worst acceptable value and lies
  above the target; the same formula then rewards going down.
- thresholds: [[value, score], …]; the best threshold the value reaches gives its score (for a
  lower-is-better KPI, "reaches" means "is at or below").
- rank within the team: the best of n scores 100, the last 0, evenly in between (one member: 100).
- ratings: 1–5 mapped to 0–100 (1 → 0, 5 → 100), raters weighted, missing raters left out.
- an appraisal: each dimension the weighted mean of its items' scores, the total the weighted mean
  of the dimensions'. A score that is missing is left out and the others carry its weight (an item
  HR excluded, a rating not given yet), but an item *pending* (a KPI item without data that HR has
  not decided on) leaves its dimension and the total empty: nothing is graded on part of the data.
- grades: each template has its own bands (letters and lower cut-offs, descending, the last at 0)
  and the share of a team each grade should roughly take in calibration; the default is S ≥ 90,
  A ≥ 80, B ≥ 70, C ≥ 60, D below, guided 10/20/40/20/10%.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Band:
    """A grade: its letter(s), the lowest total that earns it (0–100), and the share of a team it
    should roughly take during calibration (0–1, a forced-distribution guide, not a quota)."""

    grade: str
    lower: Decimal
    guide: Decimal


DEFAULT_BANDS: tuple[Band, ...] = (
    Band("S", Decimal(90), Decimal("0.10")),
    Band("A", Decimal(80), Decimal("0.20")),
    Band("B", Decimal(70), Decimal("0.40")),
    Band("C", Decimal(60), Decimal("0.20")),
    Band("D", Decimal(0), Decimal("0.10")),
)


def bands_json(bands: tuple[Band, ...] | list[Band]) -> list[dict[str, str]]:
    """Bands as a template stores them: [{"grade": "S", "lower": "90", "guide": "0.10"}, …]."""
    return [{"grade": b.grade, "lower": str(b.lower), "guide": str(b.guide)} for b in bands]


def bands_parse(data: list | None) -> tuple[Band, ...]:
    """A template's stored bands (the default ones when it has none)."""
    if not data:
        return DEFAULT_BANDS
    return tuple(Band(str(b["grade"]), Decimal(str(b["lower"])), Decimal(str(b.get("guide") or 0))) for b in data)


def _clamp(score: Decimal) -> Decimal:
    return min(HUNDRED, max(Decimal(0), score))


def score_linear(value: Decimal | None, *, floor: Decimal, target: Decimal) -> Decimal | None:
    if value is None:
        return None
    if target == floor:
        return HUNDRED if value == target else Decimal(0)
    return _clamp((value - floor) / (target - floor) * HUNDRED)


def score_thresholds(value: Decimal | None, *, thresholds: list, lower_is_better: bool) -> Decimal | None:
    if value is None:
        return None
    best = Decimal(0)
    for limit, score in thresholds:
        reached = value <= Decimal(str(limit)) if lower_is_better else value >= Decimal(str(limit))
        if reached:
            best = max(best, Decimal(str(score)))
    return _clamp(best)


def score_rank(rank: int | None, *, of: int) -> Decimal | None:
    if rank is None or of < 1:
        return None
    if of == 1:
        return HUNDRED
    return _clamp(HUNDRED * Decimal(of - rank) / Decimal(of - 1))


def score_rating(ratings: dict[str, list[int]], weights: dict[str, Decimal]) -> Decimal | None:
    """ratings: role → the 1–5 scores given in that role (peers may be several: averaged)."""
    parts = []
    for role, scores in ratings.items():
        weight = weights.get(role, Decimal(0))
        if scores and weight > 0:
            mean = Decimal(sum(scores)) / len(scores)
            parts.append(((mean - 1) / 4 * HUNDRED, weight))
    total = sum(w for _s, w in parts)
    if not total:
        return None
    return sum(s * w for s, w in parts) / total


def weighted(scores: list[tuple[Decimal | None, Decimal]]) -> Decimal | None:
    """Weighted mean of the scores present (weights of missing scores are left out). Callers mark
    what may not be left out silently: see `Part.pending`."""
    present = [(s, w) for s, w in scores if s is not None and w > 0]
    total = sum(w for _s, w in present)
    if not total:
        return None
    return sum(s * w for s, w in present) / total


@dataclass(frozen=True)
class Part:
    """An item's share of an appraisal: its dimension, its score (None: left out), its weight in
    the dimension, and whether it is pending (no data, undecided)."""

    dimension: int
    score: Decimal | None
    weight: Decimal
    pending: bool = False


def dimension_scores(parts: list[Part]) -> dict[int, Decimal | None]:
    """Each dimension's score: None while one of its items is pending, else the weighted mean of
    the scores present (None when none is)."""
    groups: dict[int, list[Part]] = {}
    for part in parts:
        groups.setdefault(part.dimension, []).append(part)
    return {
        dimension: None if any(p.pending for p in group) else weighted([(p.score, p.weight) for p in group])
        for dimension, group in groups.items()
    }


def total_score(parts: list[Part], dimension_weights: dict[int, Decimal]) -> Decimal | None:
    """The appraisal's total: None while any item is pending, else the weighted mean of the
    dimensions that have a score (a dimension HR excluded whole is carried by the others)."""
    if any(p.pending for p in parts):
        return None
    scores = dimension_scores(parts)
    return weighted([(score, dimension_weights[d]) for d, score in scores.items()])


def rounded(score: Decimal | None) -> Decimal | None:
    return None if score is None else score.quantize(Decimal("0.01"), ROUND_HALF_UP)


def grade_for(total: Decimal | None, *, bands: tuple[Band, ...] | list[Band] = DEFAULT_BANDS) -> str:
    """The grade of a total by the bands (descending); the lowest band's below its cut-off."""
    if total is None:
        return ""
    for band in bands:
        if total >= band.lower:
            return band.grade
    return bands[-1].grade
