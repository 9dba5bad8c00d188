"""Commission arithmetic by hand: flat, cumulative and marginal tiers, the exact-100% boundary."""

from decimal import Decimal as D

from incentives import calc

TIERS = [(D(0), D("0.015")), (D("1.0"), D("0.025")), (D("1.5"), D("0.03"))]


def total(parts) -> D:
    return sum((p.amount for p in parts), D(0))


def test_cumulative_tiers_apply_the_reached_rate_to_everything():
    assert total(calc.tiered_commission(base=D(9000), completion=D("0.9"), tiers=TIERS, marginal=False)) == D(135)
    # Exactly 100%: the 100% tier is reached (a tier's start is inclusive).
    assert total(calc.tiered_commission(base=D(10000), completion=D("1.0"), tiers=TIERS, marginal=False)) == D(250)
    assert total(calc.tiered_commission(base=D(18000), completion=D("1.8"), tiers=TIERS, marginal=False)) == D(540)


def test_marginal_tiers_apply_each_rate_to_its_part():
    # Target 10,000, GMV 18,000: 10,000 × 1.5% + 5,000 × 2.5% + 3,000 × 3% = 150 + 125 + 90.
    parts = calc.tiered_commission(base=D(18000), completion=D("1.8"), tiers=TIERS, marginal=True)
    assert [(p.rate, p.base.quantize(D(1))) for p in parts] == [(D("0.015"), D(10000)), (D("0.025"), D(5000)),
                                                               (D("0.03"), D(3000))]  # fmt: skip
    assert calc.money(total(parts)) == D("365.00")
    # Exactly 100%: all of it in the first band, nothing at 2.5% yet.
    exact = calc.tiered_commission(base=D(10000), completion=D("1.0"), tiers=TIERS, marginal=True)
    assert [(p.rate, p.base) for p in exact] == [(D("0.015"), D(10000))]


def test_no_target_takes_the_first_tier_and_caps_and_comparisons():
    assert total(calc.tiered_commission(base=D(5000), completion=None, tiers=TIERS, marginal=True)) == D(75)
    assert calc.capped(D(800), D(500)) == D(500) and calc.capped(D(300), None) == D(300)
    assert calc.compares(D("0.26"), "gt", D("0.25")) and not calc.compares(D("0.25"), "gt", D("0.25"))
    assert calc.compares(D("0.40"), "ge", D("0.40")) and not calc.compares(None, "ge", D(0))
