"""Writing incentive plans: the telesales template of seed 002 (基本工资 + 考核(呼出接通数量 + 呼出接通
时间) + 提成(1.5%~3%)), and the check every telesales plan passes (the admin runs it too).

Money is Decimal yuan, rates and weights are fractions (0.015 = 1.5%, 0.5 = 50%), talk time
targets are minutes a month."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from incentives.models import (
    CommissionBase,
    CommissionMode,
    CommissionTier,
    Plan,
    PlanKind,
    TierMode,
    telesales_rate_error,
)
from teams.models import Store

# Seed 002's default: 1.5% below 100% of the amount-won target, 2.5% from 100%, 3% from 150%.
TELESALES_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("0"), Decimal("0.015")),
    (Decimal("1.0"), Decimal("0.025")),
    (Decimal("1.5"), Decimal("0.03")),
)


def plan_tier_rates_validate(*, plan: Plan, rates: Iterable[Decimal]) -> None:
    """A telesales plan's tier rates lie within 1.5%–3%, and a tiered one has at least one tier
    (raises ValidationError listing each rate outside); other plans take any rate. Tiers are
    their own rows, so Plan.clean cannot see them."""
    if plan.kind != PlanKind.TELESALES:
        return
    rates = list(rates)
    if plan.commission_mode == CommissionMode.TIERED and not rates:
        raise ValidationError(_("A telesales plan needs at least one commission tier."), code="telesales_tiers")
    errors = [error for rate in rates if (error := telesales_rate_error(Decimal(rate))) is not None]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def plan_telesales_create(
    *,
    store: Store | None,
    name: str,
    base_salary: Decimal,
    call_pay: Decimal = Decimal(1000),
    connected_target: int = 600,
    talk_target_minutes: int = 1500,
    connected_weight: Decimal = Decimal("0.5"),
    talk_weight: Decimal = Decimal("0.5"),
    call_floor: Decimal = Decimal("0.6"),
    tiers: Sequence[tuple[Decimal, Decimal]] = TELESALES_TIERS,
    tier_mode: str = TierMode.CUMULATIVE,
    commission_base: str = CommissionBase.WON,
    description: str = "",
) -> Plan:
    """A telesales plan (seed 002): `base_salary` a month; call assessment of `call_pay` a month,
    split by the weights between connected outbound calls (`connected_target` a month) and talk
    time (`talk_target_minutes` a month), each part pro rata up to 100% of its target and 0
    below `call_floor`; commission on the amount won (default) tiered by completion of the
    member's amount-won target, every rate within 1.5%–3%. Raises ValidationError (nothing is
    written) when a rule is broken. Assign it with a PlanAssignment."""
    plan = Plan(
        store=store,
        name=name,
        description=description,
        kind=PlanKind.TELESALES,
        base_salary=Decimal(base_salary),
        call_pay=Decimal(call_pay),
        call_connected_target=connected_target,
        call_talk_target_minutes=talk_target_minutes,
        call_connected_weight=Decimal(connected_weight),
        call_talk_weight=Decimal(talk_weight),
        call_floor=Decimal(call_floor),
        commission_mode=CommissionMode.TIERED,
        tier_mode=tier_mode,
        commission_base=commission_base,
    )
    plan.full_clean()
    plan_tier_rates_validate(plan=plan, rates=[rate for _start, rate in tiers])
    plan.save()
    CommissionTier.objects.bulk_create(
        [CommissionTier(plan=plan, from_completion=Decimal(start), rate=Decimal(rate)) for start, rate in tiers]
    )
    return plan
