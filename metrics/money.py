"""Money: integer cents (分) in the database, Decimal with two places everywhere else."""

from decimal import Decimal

_CENT = Decimal("0.01")


def cents_to_decimal(cents: int) -> Decimal:
    """12345 → Decimal('123.45'), exactly."""
    return (Decimal(int(cents)) / 100).quantize(_CENT)


def decimal_to_cents(amount: Decimal) -> int:
    """Decimal('123.45') → 12345; refuses amounts with fractions of a cent."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has fractions of a cent")
    return int(cents)
