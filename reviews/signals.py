"""What appraisals do when the figures change, and what they announce to the app above them.

metrics announces rebuilt store-days (metrics.signals.store_days_rebuilt); once that commits, the
open appraisal cycles of those months in the store are scored again from the new rollups (an
account assigned from a past day may give a member without data their first KPI values), then
`appraisals_followed` tells incentives, whose statements pay by those scores, to follow in turn.
The order matters: a statement's performance-pay line reads the appraisal's total and grade."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal, receiver

from metrics.signals import store_days_rebuilt
from perfmgmt.common.periods import months_between

# Sent by reviews.tasks.appraisals_follow_data_task once the open cycles of a store's months were
# scored again after a rebuild (also when there was no cycle to score), with `store_id` and
# `months`: a tuple of first days of months.
appraisals_followed = Signal()


@receiver(store_days_rebuilt, dispatch_uid="reviews.appraisals_follow")
def appraisals_follow_rebuilt_days(sender, store_id: int, ranges, **kwargs) -> None:
    """Queue the scoring of the open cycles of every month the rebuilt days fall in, after the
    rebuild commits."""
    from reviews.services.cycles import appraisals_follow_queue

    months = sorted({month for first, last in ranges for month in months_between(first, last)})
    transaction.on_commit(lambda: appraisals_follow_queue(store_id=store_id, months=months))
