"""Ranking entities by a KPI: the one rule of who is ranked and how ties share a rank, used by the
dashboards' leaderboard and personal page, the team PK champions, the ranking awards of the pay
plans and the appraisals' rank rule."""

from __future__ import annotations

import math

from metrics.registry import Direction, Kpi, Unit

# Lower-is-better durations whose zero means "not measured", not "instant": a first response or
# a stage time of exactly 0 s comes from missing or equal timestamps, not from a real best.
UNMEASURED_ZERO_UNITS = (Unit.SECONDS, Unit.DAYS)


def rank_value(value, kpi: Kpi) -> float | None:
    """The number a ranking by `kpi` compares, or None when the entity is not ranked (the rule
    is `ranks`')."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # pandas' NA and the like: no value
        return None
    if not math.isfinite(number):
        return None
    if number == 0 and (kpi.direction != Direction.LOWER or kpi.unit in UNMEASURED_ZERO_UNITS):
        return None
    return number


def ranks(values: dict[int, object], kpi: Kpi) -> dict[int, int | None]:
    """Competition ranks (1, 2, 2, 4) of entities by a KPI, best first in the KPI's direction;
    entities that are not ranked get None. The one rule of who is ranked, for every ranking
    (the leaderboard, the personal page's "rank / of", the team PK champions, the ranking
    awards and the appraisals' rank rule):

    - an empty value (None or NaN: no activity, or a ratio with nothing to divide by) is not
      ranked;
    - zero is not ranked where it means nothing was done: for a higher-is-better or neutral KPI
      (no GMV, no paid orders, no calls, a conversion of 0 %) and for any duration (a first
      response or a stage time of 0 s was not measured);
    - zero is ranked for the other lower-is-better KPIs, where it is the best real value: 0 %
      refunded orders over paid orders, no unanswered session, no refund (an entity with no
      activity has no value there at all, not zero).

    "Rank r of N": N is the number ranked (`ranked_count`), never the number of entities."""
    numbers = {entity: rank_value(value, kpi) for entity, value in values.items()}
    lower_first = kpi.direction == Direction.LOWER
    ordered = sorted(
        ((entity, number) for entity, number in numbers.items() if number is not None),
        key=lambda item: item[1] if lower_first else -item[1],
    )
    result: dict[int, int | None] = dict.fromkeys(values)
    rank, last = 0, None
    for position, (entity, number) in enumerate(ordered, start=1):
        if number != last:
            rank, last = position, number
        result[entity] = rank
    return result


def ranked_count(member_ranks: dict[int, int | None]) -> int:
    """How many entities a ranking ranked: the N of "rank r of N"."""
    return sum(rank is not None for rank in member_ranks.values())
