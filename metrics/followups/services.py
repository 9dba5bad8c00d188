"""Follow-up tasks that must not be lost, and work whose worker vanished (docs/faults.md).

- A task that follows committed work (an import's KPI update, the recompute after a change of
  who held an account, the appraisals and statements after a rebuild) is recorded as a Followup
  row in the work's transaction (`followup_record`) and published once it commits. A broker that
  cannot take it leaves the row pending; `followups_deliver` (every minute, and when a worker
  starts) publishes it again. A follow-up is never lost with its broker.
- The worker running a follow-up or an import refreshes a heartbeat (`work_heartbeat`). Work
  whose heartbeat is older than WORK_STALE_SECONDS is marked interrupted by `followups_deliver`
  and queued again once (WORK_AUTO_RETRIES); interrupted again, a manager runs it again from the
  batch's page (`import_batch_run_again`). Without this, a message taken by a worker killed as a
  whole waits in Redis for the visibility timeout (an hour) and nobody is told.

Every task sent so is idempotent, so a follow-up delivered twice (an interrupted one whose old
message comes back after the visibility timeout) leaves the same rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from metrics.models import Followup, FollowupStatus, ImportBatch, ImportStatus, KpisStatus

logger = logging.getLogger(__name__)

TASK_ID_PREFIX = "followup-"
IMPORT_TASK = "metrics.tasks.import_batch_run_task"
KPIS_AFTER_IMPORT_TASK = "metrics.tasks.kpis_after_import_task"


# Set by a caller that runs the follow-ups it causes itself (import_data updates the KPIs in its
# own process): they are recorded but not published on commit. Left pending, they are still sent
# by followups_deliver if that caller dies before it marks them done (followups_done).
_held: ContextVar[bool] = ContextVar("followups_held", default=False)


@dataclass
class DeliveryReport:
    delivered: int = 0
    undelivered: int = 0  # the broker is still unreachable: left pending
    interrupted: int = 0  # follow-ups and imports whose worker vanished
    retried: int = 0  # of those, queued again


def followup_record(
    *,
    task: str,
    args: list | tuple = (),
    kwargs: dict | None = None,
    store_id: int | None = None,
    batch: ImportBatch | None = None,
) -> Followup:
    """Record that `task` must run (call in the transaction of the work it follows); it is
    published once that commits. A follow-up of a batch's KPIs marks the batch's figures pending."""
    followup = Followup.objects.create(task=task, args=list(args), kwargs=kwargs or {}, store_id=store_id, batch=batch)
    if batch is not None and task == KPIS_AFTER_IMPORT_TASK:
        ImportBatch.objects.filter(pk=batch.pk).update(kpis_status=KpisStatus.PENDING)
        batch.kpis_status = KpisStatus.PENDING
    if not _held.get():
        transaction.on_commit(lambda: followup_deliver(followup_id=followup.pk))
    return followup


@contextlib.contextmanager
def followups_held() -> Iterator[None]:
    """Follow-ups recorded inside are not published on commit: the caller runs them itself and
    then calls followups_done."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


def followups_done(*, batch: ImportBatch) -> None:
    """The batch's KPI update was run outside a follow-up's task (kpis_after_import called in the
    caller's process: import_data, the demo): its recorded update, not yet taken by a worker, is
    done. One a worker runs is left to that worker."""
    now = timezone.now()
    waiting = [FollowupStatus.PENDING, FollowupStatus.QUEUED]
    if Followup.objects.filter(batch=batch, task=KPIS_AFTER_IMPORT_TASK, status__in=waiting).update(
        status=FollowupStatus.DONE, started_at=now, finished_at=now
    ):
        ImportBatch.objects.filter(pk=batch.pk).update(kpis_status=KpisStatus.DONE)
        batch.kpis_status = KpisStatus.DONE


def followup_deliver(*, followup_id: int) -> bool:
    """Publish one pending follow-up. Taken with a conditional update, so of two deliverers
    (the commit's and the periodic one) only one publishes it. False when the broker is
    unreachable: it stays pending."""
    from perfmgmt.celery import app

    now = timezone.now()
    claimed = Followup.objects.filter(pk=followup_id, status=FollowupStatus.PENDING)
    # The attempt is counted before the publish: a worker may take the message (and look the
    # follow-up up by the attempt in its id) before this process is back from publishing it.
    if not claimed.update(status=FollowupStatus.QUEUED, attempted_at=now, attempts=F("attempts") + 1):
        return True  # delivered by someone else, or not pending any more
    followup = Followup.objects.get(pk=followup_id)
    # Its module imported first: a web process has not necessarily loaded every app's tasks.
    importlib.import_module(followup.task.rpartition(".")[0])
    try:
        app.tasks[followup.task].apply_async(
            args=followup.args, kwargs=followup.kwargs, task_id=f"{TASK_ID_PREFIX}{followup.pk}-{followup.attempts}"
        )
    except (KombuError, OSError) as error:
        # Publishing retries are bounded (CELERY_TASK_PUBLISH_RETRY_POLICY, broker socket timeouts).
        logger.warning("follow-up %s (%s) could not be queued, it stays pending: the task broker is unreachable (%s)",
                       followup.pk, followup.task, error)  # fmt: skip
        Followup.objects.filter(pk=followup_id, status=FollowupStatus.QUEUED).update(
            status=FollowupStatus.PENDING, attempts=F("attempts") - 1
        )
        return False
    Followup.objects.filter(pk=followup_id).update(delivered_at=timezone.now())
    return True


def followups_deliver(*, now: dt.datetime | None = None) -> DeliveryReport:
    """Every minute and at each worker's start: mark interrupted what lost its worker (and queue it
    again once), then publish every pending follow-up, oldest first. Stops at the first publish
    the broker refuses: the rest wait for the next run."""
    now = now or timezone.now()
    report = DeliveryReport()
    _imports_interrupted(now, report)
    _followups_interrupted(now, report)
    for followup_id in (
        Followup.objects.filter(status=FollowupStatus.PENDING).order_by("pk").values_list("pk", flat=True)
    ):
        if followup_deliver(followup_id=followup_id):
            report.delivered += 1
        else:
            report.undelivered = Followup.objects.filter(status=FollowupStatus.PENDING).count()
            break
    return report


def _stale_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.WORK_STALE_SECONDS)


def _imports_interrupted(now: dt.datetime, report: DeliveryReport) -> None:
    """Imports left running by a worker that stopped beating: queued again from the kept file
    (the import is idempotent: nothing of an unfinished run was committed), or, when their
    automatic re-run is used up, marked interrupted with "Run again" offered."""
    stale = ImportBatch.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=_stale_before(now)) | Q(heartbeat_at__isnull=True, started_at__lt=_stale_before(now))
    )
    for batch in stale:
        with transaction.atomic():
            taken = ImportBatch.objects.filter(
                pk=batch.pk, status=ImportStatus.RUNNING, heartbeat_at=batch.heartbeat_at
            )
            report.interrupted += 1
            if batch.attempt < settings.WORK_AUTO_RETRIES:
                if taken.update(status=ImportStatus.QUEUED, attempt=batch.attempt + 1, interrupted_at=now):
                    followup_record(task=IMPORT_TASK, args=[batch.pk, batch.attempt + 1], batch=batch)
                    report.retried += 1
            else:
                taken.update(status=ImportStatus.INTERRUPTED, interrupted_at=now, finished_at=now)
        logger.warning("import batch %s: its worker stopped (no heartbeat since %s)", batch.pk, batch.heartbeat_at)


def _followups_interrupted(now: dt.datetime, report: DeliveryReport) -> None:
    # An import's own run is watched on its batch (above).
    stale = Followup.objects.filter(status=FollowupStatus.RUNNING, heartbeat_at__lt=_stale_before(now)).exclude(
        task=IMPORT_TASK
    )
    for followup in stale:
        if Followup.objects.filter(
            pk=followup.pk, status=FollowupStatus.RUNNING, heartbeat_at=followup.heartbeat_at
        ).update(status=FollowupStatus.INTERRUPTED, finished_at=now):
            report.interrupted += 1
            followup.status = FollowupStatus.INTERRUPTED
            logger.warning("follow-up %s (%s): its worker stopped (no heartbeat since %s)",
                           followup.pk, followup.task, followup.heartbeat_at)  # fmt: skip
            report.retried += _followup_retry(followup)
    # A follow-up that failed (an error, not a vanished worker) is also tried once more.
    failed = Followup.objects.filter(status=FollowupStatus.FAILED, attempts__lt=1 + settings.WORK_AUTO_RETRIES)
    for followup in failed.exclude(task=IMPORT_TASK):
        report.retried += _followup_retry(followup)


def _followup_retry(followup: Followup) -> int:
    """Pending again if its automatic retries are not used up (1), else left for "Run again" (0)."""
    if followup.attempts < 1 + settings.WORK_AUTO_RETRIES:
        Followup.objects.filter(pk=followup.pk, status=followup.status).update(status=FollowupStatus.PENDING)
        _batch_kpis(followup, KpisStatus.RETRYING)
        return 1
    _batch_kpis(followup, KpisStatus.FAILED)
    return 0


def _batch_kpis(followup: Followup, status: str) -> None:
    if followup.batch_id and followup.task == KPIS_AFTER_IMPORT_TASK:
        ImportBatch.objects.filter(pk=followup.batch_id).update(kpis_status=status)


# --- the worker's side: a follow-up runs, beats, ends ------------------------------------------


def followup_id_parse(*, task_id: str | None) -> tuple[int, int] | None:
    """(follow-up id, attempt) of a task id given by followup_deliver; None for any other task."""
    if not task_id or not task_id.startswith(TASK_ID_PREFIX):
        return None
    pk, _sep, attempt = task_id.removeprefix(TASK_ID_PREFIX).partition("-")
    return (int(pk), int(attempt)) if pk.isdigit() and attempt.isdigit() else None


def followup_started(*, followup_id: int, attempt: int) -> bool:
    """A worker took the follow-up. False for an old message (it was queued again since)."""
    now = timezone.now()
    started = Followup.objects.filter(pk=followup_id, attempts=attempt).exclude(status=FollowupStatus.DONE)
    if not started.update(status=FollowupStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None):
        return False
    followup = Followup.objects.filter(pk=followup_id).only("batch_id", "task").first()
    if followup.batch_id and followup.task == KPIS_AFTER_IMPORT_TASK:
        # A retry keeps saying "failed, retrying" until it ends.
        ImportBatch.objects.filter(pk=followup.batch_id, kpis_status=KpisStatus.PENDING).update(
            kpis_status=KpisStatus.RUNNING
        )
    return True


def followup_finished(*, followup_id: int, attempt: int, succeeded: bool) -> None:
    """The follow-up's task returned (done) or raised (failed: tried again once by the next
    followups_deliver, then offered as "Run again")."""
    followup = Followup.objects.filter(pk=followup_id, attempts=attempt).first()
    if followup is None:
        return
    status = FollowupStatus.DONE if succeeded else FollowupStatus.FAILED
    Followup.objects.filter(pk=followup_id, attempts=attempt).update(status=status, finished_at=timezone.now())
    if succeeded:
        _batch_kpis(followup, KpisStatus.DONE)
    else:
        more = followup.attempts < 1 + settings.WORK_AUTO_RETRIES
        _batch_kpis(followup, KpisStatus.RETRYING if more else KpisStatus.FAILED)


@contextlib.contextmanager
def work_heartbeat(*, model: type, pk: int) -> Iterator[None]:
    """While the block runs, a thread sets the row's heartbeat_at every FOLLOWUP_HEARTBEAT_SECONDS
    (on a connection of its own, so a long statement of the work does not hold it back on
    PostgreSQL; on SQLite a beat waits for the work's write transaction, which is why
    WORK_STALE_SECONDS is several beats). A killed process beats no more."""
    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.FOLLOWUP_HEARTBEAT_SECONDS):
                try:
                    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
                except Exception:  # a beat missed (database busy or restarting): the next one counts
                    logger.warning("heartbeat of %s %s missed", model.__name__, pk, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=settings.FOLLOWUP_HEARTBEAT_SECONDS)


# --- "Run again" -------------------------------------------------------------------------------


def import_batch_run_again(*, batch: ImportBatch) -> ImportBatch:
    """Run again, from the kept file, an import interrupted twice (queued as an upload is), or the
    KPI update of one whose figures failed twice. Anything else is returned as it is (a double
    click runs once)."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == ImportStatus.INTERRUPTED:
            batch.status, batch.attempt, batch.finished_at = ImportStatus.QUEUED, batch.attempt + 1, None
            batch.save(update_fields=["status", "attempt", "finished_at"])
            followup_record(task=IMPORT_TASK, args=[batch.pk, batch.attempt], batch=batch)
        elif batch.status == ImportStatus.SUCCEEDED and batch.kpis_status == KpisStatus.FAILED:
            # The same follow-up, pending again: the dashboards' notice follows it.
            ended = batch.followups.filter(
                task=KPIS_AFTER_IMPORT_TASK, status__in=[FollowupStatus.FAILED, FollowupStatus.INTERRUPTED]
            )
            for followup_id in ended.values_list("pk", flat=True):
                Followup.objects.filter(pk=followup_id).update(status=FollowupStatus.PENDING)
                transaction.on_commit(lambda pk=followup_id: followup_deliver(followup_id=pk))
            batch.kpis_status = KpisStatus.PENDING
            batch.save(update_fields=["kpis_status"])
    return batch
