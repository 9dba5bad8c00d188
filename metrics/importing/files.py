"""The uploaded files of imports after their import: kept for IMPORT_RETENTION_DAYS (a person can
download the original from its batch), then deleted by the daily purge with the uploads no batch
refers to; the batch records stay."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from metrics.models import ImportBatch

logger = logging.getLogger(__name__)

# A stored upload with no batch row is an orphan only once its upload is surely over: the file is
# written before the request inspects it and commits the batch, which takes at most the web
# server's request timeout (gunicorn --timeout 60 s in docker-compose.yml). A day is far beyond
# that, and far below the retention period; the daily purge (03:30) then deletes such a file
# within 24 to 48 hours of its upload.
_ORPHAN_GRACE = dt.timedelta(hours=24)


def import_files_purge(*, now: dt.datetime | None = None) -> int:
    """Delete original files older than IMPORT_RETENTION_DAYS; the batch records stay. Also delete
    stored uploads that no batch refers to (an upload whose request crashed or was rolled back
    after its file was written), once older than _ORPHAN_GRACE.

    Returns how many batches lost their file (a file shared by a failed upload and the batch that
    imported its valid rows counts for both). Idempotent: purged batches are marked and skipped.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.IMPORT_RETENTION_DAYS)
    # A batch that imported the valid rows of a failed one shares its file: the file goes when the
    # upload's retention ends, for both.
    expired = ImportBatch.objects.filter(
        Q(created_at__lt=cutoff) | Q(rerun_of__created_at__lt=cutoff), file_deleted_at__isnull=True
    ).exclude(file="")
    purged = []
    for batch in expired.only("id", "file").iterator():
        batch.file.delete(save=False)  # one file-system call each: files are not rows
        purged.append(batch.pk)
    ImportBatch.objects.filter(pk__in=purged).update(file_deleted_at=now, file="")
    _orphan_files_delete(before=now - _ORPHAN_GRACE)
    return len(purged)


def _orphan_files_delete(*, before: dt.datetime) -> int:
    """Delete files under the uploads folder (models._upload_to: imports/) that no batch refers
    to and that were last written before `before`. Returns how many."""
    storage = ImportBatch._meta.get_field("file").storage
    # Listed first, then compared with the batches: a batch committed in between keeps its file.
    stored, folders = [], ["imports"]
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = storage.listdir(folder)
        except FileNotFoundError:  # nothing uploaded yet
            continue
        folders.extend(f"{folder}/{name}" for name in subfolders)
        stored.extend(f"{folder}/{name}" for name in files)
    if not stored:
        return 0
    referred = set(ImportBatch.objects.exclude(file="").values_list("file", flat=True))
    deleted = 0
    for name in stored:
        if name not in referred and storage.get_modified_time(name) < before:
            logger.info("deleting %s: an uploaded file no import batch refers to", name)
            storage.delete(name)
            deleted += 1
    return deleted
