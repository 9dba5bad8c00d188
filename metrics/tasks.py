from celery import shared_task


@shared_task(acks_late=True)
def import_batch_run_task(batch_id: int) -> str:
    """Import one uploaded file. Idempotent: a batch that already finished is left as it is."""
    from metrics.models import ImportBatch
    from metrics.services.imports import import_batch_run

    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return "missing"
    return import_batch_run(batch=batch).status


@shared_task
def import_files_purge_task() -> int:
    """Daily: original export files past the retention period are deleted (see perfmgmt/celery.py)."""
    from metrics.services.imports import import_files_purge

    return import_files_purge()
