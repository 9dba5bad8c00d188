"""Incentive jobs. Each takes ids and ISO dates, imports its service inside, and is idempotent:
statements are recomputed in place (approved and locked ones keep their lines) and a badge is
awarded once per member, key and period, so a task that runs twice leaves the same rows."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def statements_refresh_task(store_id: int, month_iso: str) -> int:
    """Recompute one store's statements of the month (any day of it, ISO); the number stored."""
    import datetime as dt

    from incentives.services.statements import statements_refresh
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return len(statements_refresh(store=store, month=dt.date.fromisoformat(month_iso).replace(day=1)))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def statements_follow_data_task(store_id: int, month_iso: str) -> int:
    """After the rollups of some of the store's days of that month (ISO, any day) were rebuilt: its
    open statements follow the data (incentives/signals.py); the number refreshed."""
    import datetime as dt

    from incentives.services.statements import statements_follow_data
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return len(statements_follow_data(store=store, month=dt.date.fromisoformat(month_iso)))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def badges_award_task(store_id: int, start_iso: str, end_iso: str) -> int:
    """Award one store's badges for the periods ending start … end (ISO dates); the number earned."""
    import datetime as dt

    from incentives.services.badges import badges_award
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return len(badges_award(store=store, start=dt.date.fromisoformat(start_iso), end=dt.date.fromisoformat(end_iso)))


@shared_task
def incentives_nightly_task() -> list[str]:
    """Nightly, after the KPI recompute: for every store, the statements of the month of its last
    complete day (yesterday: on the 1st that is the month just ended, so its last day counts) and
    the badges of its last two complete days (one night's slack if a run is missed)."""
    import datetime as dt

    from perfmgmt.common.periods import store_today
    from teams.models import Store

    ids = []
    for store in Store.objects.order_by("pk"):
        yesterday = store_today(store) - dt.timedelta(days=1)
        ids.append(statements_refresh_task.delay(store.pk, yesterday.replace(day=1).isoformat()).id)
        start = yesterday - dt.timedelta(days=1)
        ids.append(badges_award_task.delay(store.pk, start.isoformat(), yesterday.isoformat()).id)
    return ids
