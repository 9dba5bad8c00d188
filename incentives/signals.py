"""What incentives does when the figures change: metrics announces rebuilt store-days, reviews
scores the open appraisal cycles of those months again and then announces it
(reviews.signals.appraisals_followed), and the statements of those months follow, reading both
the new rollups and the new appraisal scores (the performance-pay line pays by the grade)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from reviews.signals import appraisals_followed


@receiver(appraisals_followed, dispatch_uid="incentives.statements_follow")
def statements_follow_appraisals(sender, store_id: int, months, **kwargs) -> None:
    """Queue the refresh of the statements of those months, once what triggered it commits."""
    from incentives.services.statements import statements_follow_queue

    transaction.on_commit(lambda: statements_follow_queue(store_id=store_id, months=sorted(months)))
