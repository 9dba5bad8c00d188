"""What incentives does when the figures change: metrics announces rebuilt store-days
(metrics.signals.store_days_rebuilt, sent once per store and run, never per partition of it),
and the statements of those months follow once the rebuild is committed."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from metrics.selectors.periods import months_between
from metrics.signals import store_days_rebuilt


@receiver(store_days_rebuilt, dispatch_uid="incentives.statements_follow")
def statements_follow_rebuilt_days(sender, store_id: int, ranges, **kwargs) -> None:
    """Queue the refresh of the statements of every month the rebuilt days fall in, after the
    rebuild commits, so they read the new rollups and credited orders."""
    from incentives.services.statements import statements_follow_queue

    months = sorted({month for first, last in ranges for month in months_between(first, last)})
    transaction.on_commit(lambda: statements_follow_queue(store_id=store_id, months=months))
