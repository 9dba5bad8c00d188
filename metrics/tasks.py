import logging

from celery import chain, shared_task
from celery.signals import task_postrun, task_prerun, worker_ready

logger = logging.getLogger(__name__)


# No result kept: the batch row is the outcome, and the web process that queues this task would
# otherwise subscribe to a result it never reads, a second Redis round trip that, with Redis down,
# retries for 20 s before the upload hears of it (docs/faults.md).
@shared_task(acks_late=True, ignore_result=True)
def import_batch_run_task(batch_id: int, attempt: int = 0) -> str:
    """Import one uploaded file. Idempotent: a batch that already finished is left as it is; one
    left running by a killed worker is imported again when its message is redelivered. `attempt`:
    the batch's run (0 the first; more after an interruption); a message of an earlier run is
    ignored. The KPI update that follows was recorded with the import's rows (a Followup)."""
    from metrics.followups.services import work_heartbeat
    from metrics.importing.services import import_batch_run
    from metrics.models import ImportBatch

    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return "missing"
    if batch.attempt != attempt:
        return "superseded"
    with work_heartbeat(model=ImportBatch, pk=batch.pk):
        batch = import_batch_run(batch=batch)
    return batch.status


@shared_task(ignore_result=True)
def followups_deliver_task() -> dict:
    """Every minute (perfmgmt/celery.py) and at each worker's start: work whose worker vanished is
    marked interrupted and queued again once; follow-ups the broker could not take are sent."""
    from metrics.followups.services import followups_deliver

    return vars(followups_deliver())


# Follow-ups (metrics.followups.services) run with ids `followup-<id>-<attempt>`: the worker marks
# them running (with a heartbeat while they run), then done or failed. Other tasks are untouched.
_beating: dict[str, object] = {}


@task_prerun.connect(dispatch_uid="metrics.followup_prerun")
def _followup_prerun(task_id=None, task=None, **kwargs) -> None:
    from metrics.followups.services import followup_id_parse, followup_started, work_heartbeat
    from metrics.models import Followup

    parsed = followup_id_parse(task_id=task_id)
    if parsed is None or not followup_started(followup_id=parsed[0], attempt=parsed[1]):
        return
    beat = work_heartbeat(model=Followup, pk=parsed[0])
    beat.__enter__()
    _beating[task_id] = beat


@task_postrun.connect(dispatch_uid="metrics.followup_postrun")
def _followup_postrun(task_id=None, state=None, **kwargs) -> None:
    from metrics.followups.services import followup_finished, followup_id_parse

    beat = _beating.pop(task_id, None)
    if beat is None:
        return
    beat.__exit__(None, None, None)
    parsed = followup_id_parse(task_id=task_id)
    followup_finished(followup_id=parsed[0], attempt=parsed[1], succeeded=state == "SUCCESS")


@worker_ready.connect(dispatch_uid="metrics.followups_at_worker_start")
def _followups_at_worker_start(sender=None, **kwargs) -> None:
    """A worker starting (after a crash, a deploy, the broker back) delivers what waits at once,
    without waiting for the beat's next minute."""
    from django.db import connection

    from metrics.followups.services import followups_deliver

    try:
        report = followups_deliver()
        logger.info("follow-ups at the worker's start: %s", vars(report))
    except Exception:  # the worker starts all the same; the periodic job tries again
        logger.exception("follow-ups could not be delivered at the worker's start")
    finally:
        connection.close()  # the main process forks new pool processes: they must not share it


@shared_task
def import_files_purge_task() -> int:
    """Daily: original export files past the retention period are deleted (see perfmgmt/celery.py)."""
    from metrics.importing.files import import_files_purge

    return import_files_purge()


# --- KPIs ----------------------------------------------------------------------------------
# Every KPI task is idempotent (partitions are rebuilt, never incremented) and takes a per-store
# lock, so a task that runs twice, or two that run at once, leave the same rows.


@shared_task(acks_late=True, reject_on_worker_lost=True)
def kpis_after_import_task(batch_id: int) -> dict:
    """After an import: attribution of the touched buyers, rollups of the touched days."""
    from metrics.dashboards.services import dashboards_refresh_begin, dashboards_refresh_end
    from metrics.kpis.services import kpis_after_import
    from metrics.models import ImportBatch, ImportKind, ImportStatus

    batch = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.SUCCEEDED).first()
    if batch is None:
        return {}
    # From here to each store's warm-up, pages computed before the import are served (with a
    # notice) instead of being computed on the data as it changes.
    stores = {batch.store_id} if batch.store_id else set(batch.stores.values_list("id", flat=True))
    dashboards_refresh_begin(store_ids=stores)
    report = None
    try:
        report = kpis_after_import(batch=batch)
    finally:
        # Stores no warm-up will follow for (nothing changed there, or the KPIs failed): fresh pages.
        for store_id in stores - set(report.store_ids if report else ()):
            dashboards_refresh_end(store_id=store_id)
    # The RFM summary reads every paying buyer of the store: a task of its own, so the KPIs of
    # the new day are visible without waiting for it. A leads export may show deals newly stuck
    # in negotiation: their owners hear of it now, not at the next hourly check.
    for store_id in report.store_ids:
        after = [buyer_segments_refresh_task.si(store_id), targets_check_task.si(store_id)]
        if batch.kind == ImportKind.LEADS:
            after.append(stuck_deals_detect_task.si(store_id))
        chain(*after, dashboards_warm_task.si(store_id)).delay()
    return vars(report)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def buyer_segments_refresh_task(store_id: int, _previous=None) -> int:
    """RFM segment sizes of one store as of its last day with data (idempotent)."""
    from metrics.kpis.segments import buyer_segments_refresh
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    return len(buyer_segments_refresh(store=store)) if store else 0


@shared_task(acks_late=True, reject_on_worker_lost=True)
def dashboards_warm_task(store_id: int, _previous=None) -> int:
    """Cache the store's default dashboards (every team's and member's last 30 days) after its
    data changed, so the morning's first page view is served from the cache."""
    from metrics.dashboards.services import dashboards_refresh_end
    from metrics.dashboards.warmup import dashboards_warm
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    try:
        return dashboards_warm(store=store) if store else 0
    finally:  # warmed or not, pages computed before the data changed are no longer served
        dashboards_refresh_end(store_id=store_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def kpis_recompute_range_task(store_id: int, start: str, end: str, recredit: bool = True) -> dict:
    """Re-credit (unless `recredit` is False) and rebuild one store's local days start … end (ISO
    dates): nightly, from recompute_kpis, and after a change of the histories (metrics/signals.py)."""
    import datetime as dt

    from metrics.dashboards.services import dashboards_refresh_begin
    from metrics.kpis.segments import buyer_segments_refresh
    from metrics.kpis.services import kpis_recompute_range
    from teams.models import Store

    store = Store.objects.get(pk=store_id)
    dashboards_refresh_begin(store_ids=[store.pk])  # ended by the warm-up below
    report = kpis_recompute_range(
        store=store, start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), recredit=recredit
    )
    buyer_segments_refresh(store=store)
    dashboards_warm_task.delay(store.pk)
    return vars(report)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def kpis_attribution_task(store_id: int) -> int:
    """Full attribution of one store's orders (the first step of a full recompute)."""
    from metrics.dashboards.services import dashboards_refresh_begin
    from metrics.kpis.attribution import attribution_recompute
    from teams.models import Store

    dashboards_refresh_begin(store_ids=[store_id])  # ended by the warm-up that ends the chain
    return attribution_recompute(store=Store.objects.get(pk=store_id)).orders_changed


@shared_task(acks_late=True, reject_on_worker_lost=True)
def kpis_partition_task(_previous, store_id: int, start: str, end: str) -> int:
    """Rebuild the rollups of one (store, month) partition; `_previous` is the chain's result."""
    import datetime as dt

    from metrics.kpis.rollups import rollup_partition_recompute
    from metrics.signals import store_days_rebuilt
    from teams.models import Store

    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    counts = rollup_partition_recompute(store=Store.objects.get(pk=store_id), start=first, end=last)
    # Each month of a full recompute is its own task (after the store's attribution): each says so.
    store_days_rebuilt.send(sender=Store, store_id=store_id, ranges=((first, last),))
    return counts.member_days


@shared_task
def kpis_recompute_nightly_task(days: int = 35) -> list[str]:
    """Nightly: the last `days` local days of every store (late refunds and status changes)."""
    import datetime as dt

    from django.utils import timezone

    from teams.models import Store

    end = timezone.localdate()
    start = end - dt.timedelta(days=days)
    ids = []
    for store_id in Store.objects.values_list("id", flat=True):
        ids.append(kpis_recompute_range_task.delay(store_id, start.isoformat(), end.isoformat()).id)
    return ids


def kpis_full_recompute_signature(store_ids: list[int]):
    """A Celery group: per store, full attribution then its months' partitions in parallel."""
    from celery import group

    from metrics.kpis.services import month_ranges, store_fact_days
    from teams.models import Store

    per_store = []
    for store in Store.objects.filter(pk__in=store_ids):
        days = store_fact_days(store=store)
        if days is None:
            continue
        months = [kpis_partition_task.s(store.pk, a.isoformat(), b.isoformat()) for a, b in month_ranges(*days)]
        # attribution, then the months in parallel, then (a chord) the RFM summary and the warm-up
        per_store.append(
            chain(
                kpis_attribution_task.si(store.pk),
                group(months),
                buyer_segments_refresh_task.si(store.pk),
                dashboards_warm_task.si(store.pk),
            )
        )
    return group(per_store)


# --- targets -------------------------------------------------------------------------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def targets_check_task(store_id: int, _previous=None) -> int:
    """Raise the alerts a store's running targets have earned (after its KPIs changed, and each
    morning); each is raised once, so running this twice raises nothing more."""
    from metrics.targets.services import target_alerts_check
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    return len(target_alerts_check(store=store)) if store else 0


@shared_task
def targets_check_all_task() -> list[str]:
    """Daily: every store's targets checked, for targets whose pace slips without a new import."""
    from teams.models import Store

    return [targets_check_task.delay(store_id).id for store_id in Store.objects.values_list("id", flat=True)]


# --- stuck deals ---------------------------------------------------------------------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def stuck_deals_detect_task(store_id: int, _previous=None) -> int:
    """Record a store's deals stuck in negotiation and close those that left it (after a leads
    import, and hourly); each stay is recorded and announced once, so running this twice adds
    nothing. `_previous` lets it follow another task in a chain."""
    from metrics.pipeline.services import stuck_deals_detect
    from teams.models import Store

    store = Store.objects.filter(pk=store_id).first()
    return stuck_deals_detect(store=store) if store else 0


@shared_task
def stuck_deals_detect_all_task() -> list[str]:
    """Hourly: every store's stuck deals (see perfmgmt/celery.py)."""
    from teams.models import Store

    return [stuck_deals_detect_task.delay(store_id).id for store_id in Store.objects.values_list("id", flat=True)]
