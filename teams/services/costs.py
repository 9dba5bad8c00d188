"""Staff cost entered by managers, for the store overview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from teams.models import StaffCost, Store


def staff_cost_set(*, store: Store, month: dt.date, amount: Decimal, note: str = "") -> StaffCost:
    """Set (or replace) what the store's staff cost in `month` (any day of it), in yuan."""
    if amount < 0:
        raise ValidationError(_("A cost cannot be negative."))
    cents = int((amount * 100).quantize(Decimal(1)))
    cost, _created = StaffCost.objects.update_or_create(
        store=store, month=month.replace(day=1), defaults={"amount_cents": cents, "note": note}
    )
    return cost
