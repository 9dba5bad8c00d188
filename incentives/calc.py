"""The arithmetic of pay, on plain numbers: commission by flat rate or tiers (cumulative or
marginal), caps, comparisons. Statements (incentives/services/statement_lines.py) and the what-if
estimator both use these, so the page's estimate and the payslip cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def compares(value: Decimal | None, comparison: str, threshold: Decimal) -> bool:
    if value is None:
        return False
    return {
        "ge": value >= threshold,
        "gt": value > threshold,
        "le": value <= threshold,
        "lt": value < threshold,
    }[comparison]


@dataclass(frozen=True)
class TierPart:
    rate: Decimal
    base: Decimal  # the part of the commission base this rate applies to
    amount: Decimal


def tiered_commission(
    *, base: Decimal, completion: Decimal | None, tiers: list[tuple[Decimal, Decimal]], marginal: bool
) -> list[TierPart]:
    """tiers: (from completion, rate), ascending. Cumulative: the rate of the highest tier reached
    applies to the whole base. Marginal: the base is cut where the completion crosses each tier's
    start (in proportion to the completion), each part at its tier's rate. Without a completion
    (no target) the first tier's rate applies to everything."""
    if not tiers:
        return []
    tiers = sorted(tiers)
    if completion is None or completion <= 0:
        rate = tiers[0][1]
        return [TierPart(rate, base, base * rate)]
    if not marginal:
        reached = [rate for start, rate in tiers if completion >= start]
        rate = reached[-1] if reached else tiers[0][1]
        return [TierPart(rate, base, base * rate)]
    parts = []
    for index, (start, rate) in enumerate(tiers):
        end = tiers[index + 1][0] if index + 1 < len(tiers) else None
        low, high = max(start, Decimal(0)), completion if end is None else min(end, completion)
        if high <= low:
            continue
        share = (high - low) / completion  # the share of the base earned in this band
        parts.append(TierPart(rate, base * share, base * share * rate))
    return parts


def capped(amount: Decimal, cap: Decimal | None) -> Decimal:
    return amount if cap is None else min(amount, cap)


GRADE_ORDER = ("S", "A", "B", "C", "D")


def grade_coefficients_ordered(coefficients: dict | None) -> list[tuple[str, object]]:
    """A plan's grade coefficients S, A, B, C, D first (PostgreSQL's jsonb does not keep the order
    they were written in), then any other keys sorted."""
    coefficients = coefficients or {}
    known = [(g, coefficients[g]) for g in GRADE_ORDER if g in coefficients]
    return known + sorted((g, v) for g, v in coefficients.items() if g not in GRADE_ORDER)


@dataclass(frozen=True)
class CallPart:
    """One part of a call assessment (connected calls, or talk time) against its monthly target."""

    completion: Decimal  # actual / target, uncapped (1.03 = 103%)
    counted: Decimal  # the share of the part's pay earned: min(completion, 1), or 0 below the floor
    below_floor: bool
    amount: Decimal  # yuan, to the cent: pay × weight × counted


def call_part(*, actual: Decimal, target: Decimal, weight: Decimal, pay: Decimal, floor: Decimal) -> CallPart:
    """Pro rata up to 100% of the target; a completion below `floor` (a fraction, 0: none) earns
    nothing. The floor is inclusive: exactly 60% of the target with a 60% floor pays 60%."""
    completion = Decimal(actual) / Decimal(target)
    below = bool(floor) and completion < floor
    counted = Decimal(0) if below else min(completion, Decimal(1))
    return CallPart(completion, counted, below, money(pay * weight * counted))


def decimal_or_none(value) -> Decimal | None:
    """A KPI value from a table as a Decimal: None when missing or NaN (a float NaN is unequal to itself)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return Decimal(str(value))
