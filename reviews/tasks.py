"""Appraisal jobs. Each takes ids and ISO dates, imports its service inside, and is idempotent:
open cycles are scored again from the rollups (locked ones keep their frozen scores)."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def appraisals_follow_data_task(store_id: int, months_iso: list[str]) -> int:
    """After the rollups of some of the store's days in these months (ISO first days) were
    rebuilt: its open cycles of those months are scored again, then the statements follow
    (reviews/signals.py). Returns the number of cycles scored."""
    import datetime as dt

    from reviews.services.cycles import appraisals_follow_data
    from reviews.signals import appraisals_followed
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    months = tuple(dt.date.fromisoformat(month) for month in months_iso)
    scored = sum(len(appraisals_follow_data(store=store, month=month)) for month in months)
    appraisals_followed.send(sender=Store, store_id=store.pk, months=months)
    return scored
