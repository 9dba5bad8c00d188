"""What the monthly export commands share: --month and --store read the same way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import CommandError

from perfmgmt.common.exports import month_parse
from teams.models import Store


def month_and_store_parse(*, month: str, store: str | None) -> tuple[dt.date, Store | None]:
    """The month's first day and the store named (None: every store); CommandError otherwise."""
    try:
        first = month_parse(month)
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM (e.g. 2026-08), not {month!r}.") from None
    if store is None:
        return first, None
    chosen = Store.objects.filter(name=store).first()
    if chosen is None:
        names = ", ".join(Store.objects.order_by("name").values_list("name", flat=True)) or "none"
        raise CommandError(f"Unknown store {store!r}. Stores: {names}.")
    return first, chosen


def out_folder_check(out: Path) -> None:
    if out.parent and not out.parent.exists():
        raise CommandError(f"The folder {out.parent} does not exist.")
