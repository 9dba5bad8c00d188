"""Importing shop exports: the only way facts enter the product.

`import_batch_create` stores the file and decides what it is; `import_batch_run` reads, checks,
stages and merges it. The upload page and the API create a batch and queue
`import_batch_run_task`; the CLI, the demo and the tests call `orders_import` and friends, which
do both in the calling process. Either way the same code runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone, translation
from kombu.exceptions import KombuError

from metrics.importing.merge import Staging
from metrics.importing.normalize import StoreResolver, chunk_check
from metrics.importing.readers import ImportRefused, Source, file_size_check, source_open
from metrics.importing.roster import roster_errors_frame, roster_rows_of
from metrics.importing.schema import kind_detect, mapping_propose, missing_required
from metrics.importing.selectors import (
    account_first_activity_days,
    import_batch_rerun_get,
    import_batch_valid_rows_refusal,
)
from metrics.messages import MessageData, message, message_render
from metrics.models import ColumnMapping, ImportBatch, ImportKind, ImportRowError, ImportStatus
from teams.models import Store
from teams.selectors.scoping import viewer_get
from teams.services.roster import roster_apply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileFacts:
    """What is known of a file before it is imported: enough for the upload page's next step."""

    kind: str | None
    headers: list[str]
    encoding: str
    sheet: str
    proposal: dict[str, str]
    missing: list[str]  # canonical names of required fields the proposal does not cover


def _sha256(handle) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def import_batch_create(
    *,
    file: UploadedFile | Path,
    user: AbstractBaseUser | None,
    kind: str | None = None,
    store: Store | None = None,
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    sheet: str | None = None,
) -> ImportBatch:
    """Keep the file and record the batch. Its status says what happens next:

    - refused: the file cannot be imported (size, format, no kind recognised);
    - needs_mapping: required columns were not recognised; a person maps them first;
    - queued: ready for import_batch_run.
    """
    handle = file.open("rb") if isinstance(file, Path) else file
    try:
        name = Path(getattr(file, "name", "upload")).name
        size = file.stat().st_size if isinstance(file, Path) else file.size
        batch = ImportBatch(
            kind=kind or "",
            store=store,
            created_by=user if user and user.is_authenticated else None,
            file_name=name[:255],
            sha256=_sha256(handle),
            size_bytes=size,
            skip_invalid=skip_invalid,
            sheet=sheet or "",
            created_at=timezone.now(),
        )
        try:
            file_size_check(size=size)
        except ImportRefused as refusal:  # recorded with its reason; an oversize file is not kept
            return _batch_refused(batch, refusal)
        batch.file.save(name, File(handle, name=name), save=False)
    finally:
        if isinstance(file, Path):
            handle.close()
    try:
        try:
            facts = file_inspect(path=Path(batch.file.path), kind=kind, store=store, sheet=sheet, mapping=mapping)
        except ImportRefused as refusal:
            return _batch_refused(batch, refusal)
        except Exception:
            # A file no check foresaw: refused with the generic message (the error logged), never
            # an error page; the batch keeps the file for whoever looks into it.
            logger.exception("import batch of %s: inspecting the file failed", name)
            return _batch_refused(batch, ImportRefused("metrics.import_unexpected"))
        batch.kind = facts.kind
        batch.encoding, batch.sheet = facts.encoding, facts.sheet
        batch.column_mapping = facts.proposal
        batch.status = ImportStatus.NEEDS_MAPPING if facts.missing else ImportStatus.QUEUED
        batch.save()
    except BaseException:
        # No batch row refers to the stored file: remove it rather than leave an orphan.
        batch.file.delete(save=False)
        raise
    return batch


def _batch_error(batch: ImportBatch, error: MessageData) -> None:
    """Why the batch failed: the message, shown in each reader's language, and its text in the
    site's language (ImportBatch.error_message)."""
    batch.error_msg = error
    with translation.override(settings.LANGUAGE_CODE):
        batch.error_message = message_render(message=error)


def _batch_refused(batch: ImportBatch, refusal: ImportRefused) -> ImportBatch:
    batch.status = ImportStatus.REFUSED
    _batch_error(batch, refusal.message)
    batch.kind = batch.kind or ImportKind.ORDERS
    batch.finished_at = timezone.now()
    batch.save()
    return batch


def file_inspect(
    *, path: Path, kind: str | None, store: Store | None, sheet: str | None, mapping: dict[str, str] | None
) -> FileFacts:
    """Sniff the file, detect its kind and propose a column mapping (given > saved > known headers)."""
    source = source_open(path, sheet=sheet)
    detected = kind or kind_detect(source.headers)
    if detected is None:
        raise ImportRefused("metrics.import_kind_unknown", headers=", ".join(source.headers[:12]))
    saved = (
        ColumnMapping.objects.filter(store=store, kind=detected).values_list("mapping", flat=True).first()
        if store
        else None
    )
    proposal = mapping_propose(kind=detected, headers=source.headers, saved=saved)
    if mapping:
        unknown = sorted(set(mapping.values()) - set(source.headers))
        if unknown:
            raise ImportRefused("metrics.import_no_column", headers=", ".join(unknown))
        proposal.update(mapping)
    missing = [f.name for f in missing_required(kind=detected, mapping=proposal)]
    return FileFacts(detected, source.headers, source.encoding, source.sheet, proposal, missing)


def import_batch_inspect(*, batch: ImportBatch, mapping: dict[str, str] | None = None) -> FileFacts:
    """file_inspect for a stored batch (its file, kind, store and sheet)."""
    return file_inspect(
        path=Path(batch.file.path),
        kind=batch.kind,
        store=batch.store,
        sheet=batch.sheet or None,
        mapping=mapping,
    )


def import_batch_map(*, batch: ImportBatch, mapping: dict[str, str], remember: bool = True) -> ImportBatch:
    """A person's column mapping for a batch; saved per store and kind for the next file."""
    facts = import_batch_inspect(batch=batch, mapping=mapping)
    batch.column_mapping = facts.proposal
    batch.status = ImportStatus.NEEDS_MAPPING if facts.missing else ImportStatus.QUEUED
    batch.save(update_fields=["column_mapping", "status"])
    if remember and batch.store_id and not facts.missing:
        ColumnMapping.objects.update_or_create(
            store_id=batch.store_id, kind=batch.kind, defaults={"mapping": facts.proposal}
        )
    return batch


@transaction.atomic
def import_batch_valid_rows_import(*, batch: ImportBatch, user: AbstractBaseUser | None) -> tuple[ImportBatch, bool]:
    """A new batch that imports the valid rows of `batch`, which failed over invalid rows: the same
    kept file, kind, store, sheet and column mapping, skipping the invalid rows, created by `user`
    (whose stores bound where a file naming its stores may write, as for an upload). The failed
    batch stays as it was, its errors listed; the new one points back at it. Queue it with
    import_batch_queue. Returns (the batch, created): while one is queued, running or done, it is
    returned again instead of a second (a double click imports once). ValidationError with the
    reason when the valid rows cannot be imported (import_batch_valid_rows_refusal)."""
    original = ImportBatch.objects.select_for_update().get(pk=batch.pk)  # two clicks at once: one re-run
    existing = import_batch_rerun_get(batch=original)
    if existing is not None:
        return existing, False
    refusal = import_batch_valid_rows_refusal(batch=original)
    if refusal:
        raise ValidationError(refusal)
    rerun = ImportBatch.objects.create(
        kind=original.kind,
        store=original.store,
        created_by=user if user and user.is_authenticated else None,
        status=ImportStatus.QUEUED,
        # The same stored file, not a copy: it is deleted when the original's retention ends
        # (import_files_purge), whichever batch refers to it.
        file=original.file.name,
        file_name=original.file_name,
        sha256=original.sha256,
        size_bytes=original.size_bytes,
        encoding=original.encoding,
        sheet=original.sheet,
        column_mapping=original.column_mapping,
        skip_invalid=True,
        rerun_of=original,
    )
    return rerun, True


def import_batch_queue(*, batch: ImportBatch) -> None:
    """Run the import in a worker once the batch row is committed.

    The broker unreachable (Redis down, the file broker's folder gone): the batch is marked failed
    with a message saying so, nothing having been imported, and the person uploads the file again
    later. Not left queued: no worker would ever take it (docs/faults.md)."""
    transaction.on_commit(lambda: _batch_enqueue(batch))


def _batch_enqueue(batch: ImportBatch) -> None:
    from metrics.tasks import import_batch_run_task

    try:
        import_batch_run_task.delay(batch.pk)
    except (KombuError, OSError):
        # Publishing retries are bounded (CELERY_TASK_PUBLISH_RETRY_POLICY, broker socket
        # timeouts), so this comes within seconds instead of hanging the request.
        logger.exception("import batch %s could not be queued: the task broker is unreachable", batch.pk)
        batch.status = ImportStatus.FAILED
        _batch_error(batch, message("metrics.import_not_queued"))
        batch.finished_at = timezone.now()
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.QUEUED).update(
            status=batch.status, error_message=batch.error_message, error_msg=batch.error_msg,
            finished_at=batch.finished_at,
        )  # fmt: skip


def _resolver(batch: ImportBatch) -> StoreResolver:
    """Where this batch may write: the chosen store, or the stores the importer may import into."""
    user = batch.created_by
    viewer = viewer_get(user=user) if user else None
    unrestricted = user is None or viewer.is_admin  # the CLI runs as the operator of the installation
    stores = Store.objects.all() if unrestricted else Store.objects.filter(pk__in=viewer.managed_store_ids)
    known = dict(stores.values_list("name", "id"))
    return StoreResolver(
        fixed_store_id=batch.store_id,
        fixed_store_name=batch.store.name if batch.store_id else None,
        known=known,
        time_zones=dict(Store.objects.values_list("id", "time_zone")),
        create_unknown=unrestricted,
        default_time_zone=settings.TIME_ZONE,
    )


def import_batch_run(*, batch: ImportBatch, chunk_rows: int | None = None) -> ImportBatch:
    """Read, check, stage and merge the batch's file. Idempotent: a finished batch is left alone.

    Default: a file with any invalid row writes nothing and reports every error (the first
    IMPORT_MAX_REPORTED_ERRORS of them, with the total). With skip_invalid, valid rows are
    imported and the others reported.
    """
    if batch.status != ImportStatus.QUEUED and not (batch.status == ImportStatus.RUNNING and batch.started_at):
        return batch
    started = time.monotonic()
    batch.status, batch.started_at = ImportStatus.RUNNING, timezone.now()
    # Written at once (the page shows the batch running); the final save keeps the same start.
    ImportBatch.objects.filter(pk=batch.pk).update(status=batch.status, started_at=batch.started_at)
    try:
        _run(batch, chunk_rows or settings.IMPORT_CHUNK_ROWS)
    except ImportRefused as refusal:
        batch.status = ImportStatus.REFUSED
        _batch_error(batch, refusal.message)
    except Exception as error:
        if batch.status == ImportStatus.SUCCEEDED:
            # The rows and the batch's counts were committed together; only what follows failed.
            logger.exception("import batch %s: failed after its rows were merged", batch.pk)
        elif _connection_lost(error):
            # PostgreSQL restarted or the network dropped: the merge is one transaction and staging
            # is a temporary table of the lost session, so nothing of this batch was written.
            logger.exception("import batch %s: the database connection was lost", batch.pk)
            batch.status = ImportStatus.FAILED
            _batch_error(batch, message("metrics.import_connection_lost"))
            batch.inserted = batch.updated = batch.unchanged = 0
        else:
            logger.exception("import batch %s failed", batch.pk)
            batch.status = ImportStatus.REFUSED
            _batch_error(batch, message("metrics.import_unexpected"))
            batch.inserted = batch.updated = batch.unchanged = 0
    batch.finished_at = timezone.now()
    batch.duration_ms = round((time.monotonic() - started) * 1000)
    _batch_save(batch)
    return batch


def _connection_lost(error: Exception) -> bool:
    """A database error after which the connection is dead. The driver's own errors count too:
    COPY (Staging.load) calls psycopg2 directly, without Django's error wrapping."""
    if isinstance(error, _ConnectionLost):
        return True
    if not isinstance(error, (DatabaseError, InterfaceError, connection.Database.Error)):
        return False
    return connection.connection is None or not connection.is_usable()


class _ConnectionLost(Exception):
    """A database error in the merge transaction after which the session was dead, recognised
    where it happened: leaving the transaction may already open a new session (Django reconnects
    a connection that fails its health check), and a check after it would see a live one and call
    a killed session (pg_terminate_backend) an unexpected error."""


def _session_dead() -> bool:
    """The current connection is closed or broken (psycopg2: `closed` non-zero once the server
    closed it; psycopg 3: `broken`), without a query: the transaction may be aborted."""
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False)) or bool(getattr(raw, "broken", False))


# After a lost connection the batch's outcome is written on a new one. A restarted PostgreSQL
# accepts connections again within seconds: tries over about 15 s in all, then the error stands.
_RECONNECT_DELAYS = (0.5, 1, 2, 4, 8)  # seconds


# Written by others while the import runs: its KPI update's worker, the heartbeat, the check for
# vanished workers (metrics.followups.services). The run's final save leaves them as they are.
_NOT_THE_RUNS = {"kpis_status", "heartbeat_at", "attempt", "interrupted_at"}


def _batch_save(batch: ImportBatch) -> None:
    fields = [f.name for f in ImportBatch._meta.concrete_fields if not f.primary_key and f.name not in _NOT_THE_RUNS]
    for delay in (*_RECONNECT_DELAYS, None):
        try:
            batch.save(update_fields=fields)
            return
        except (OperationalError, InterfaceError):
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("import batch %s: the database is unreachable, trying again in %s s", batch.pk, delay)
            connection.close()
            time.sleep(delay)


def _run(batch: ImportBatch, chunk_rows: int) -> None:
    path = Path(batch.file.path)
    source: Source = source_open(path, sheet=batch.sheet or None, encoding=batch.encoding)
    mapping = batch.column_mapping
    missing = missing_required(kind=batch.kind, mapping=mapping)
    if missing:
        expected = "; ".join(f"{f.aliases[0]} ({f.label})" for f in missing)
        raise ImportRefused("metrics.import_columns_missing", columns=expected)
    if "store" not in mapping and not batch.store_id:
        raise ImportRefused("metrics.import_no_store_column")
    batch.encoding, batch.sheet = source.encoding, source.sheet
    ImportBatch.objects.filter(pk=batch.pk).update(rows_total=source.rows_estimate, encoding=source.encoding)

    resolver = _resolver(batch)
    if batch.kind == ImportKind.ROSTER:
        _roster_run(batch, source, resolver, chunk_rows)
        return
    cap = settings.IMPORT_MAX_REPORTED_ERRORS
    kept_errors: list[pd.DataFrame] = []
    kept, rejected, read = 0, 0, 0
    present = {name for name in mapping if name != "store"}
    with Staging(kind=batch.kind, batch_id=batch.pk) as staging:
        for chunk in source.chunks(chunk_rows):
            checked = chunk_check(chunk=chunk, kind=batch.kind, mapping=mapping, stores=resolver)
            read += len(chunk.frame) + len(chunk.bad_lines)
            rejected += checked.rejected
            if kept < cap and not checked.errors.empty:
                kept_errors.append(checked.errors.head(cap - kept))
                kept += min(len(checked.errors), cap - kept)
            # Without skip_invalid one bad row means nothing is written: stop staging, keep checking.
            if batch.skip_invalid or rejected == 0:
                staging.load(checked.rows)
            ImportBatch.objects.filter(pk=batch.pk).update(
                rows_processed=read, rows_total=max(read, source.rows_estimate)
            )
        batch.rows_total = batch.rows_processed = read
        batch.rejected = rejected
        _row_errors_save(batch, kept_errors)
        if rejected and not batch.skip_invalid:
            batch.status = ImportStatus.FAILED
            _batch_error(batch, message("metrics.import_rows_invalid", count=rejected))
            return
        with transaction.atomic():
            try:
                created = _stores_create(resolver)
                staging.stores_rename(created)
                counts = staging.merge(batch_id=batch.pk, present_fields=present, now=timezone.now())
                # The outcome is committed with the rows: a connection lost or a worker killed after
                # the commit leaves a batch that says what was written, never "failed" over its rows.
                _batch_succeeded(batch, counts.store_ids, counts.inserted, counts.updated, counts.unchanged)
            except (DatabaseError, connection.Database.Error) as error:
                if _session_dead():
                    raise _ConnectionLost(str(error)) from error
                raise
        staging.statistics_refresh(counts)
    if counts.history:
        logger.info("import batch %s added %s lead stage changes", batch.pk, counts.history)


def _row_errors_save(batch: ImportBatch, frames: list[pd.DataFrame]) -> None:
    """Keep the first IMPORT_MAX_REPORTED_ERRORS rejected cells (line, column, value, reason)."""
    if not frames:
        return
    errors = pd.concat(frames, ignore_index=True).sort_values(["line"], kind="stable")
    errors = errors.head(settings.IMPORT_MAX_REPORTED_ERRORS)
    reasons = {text: json.loads(text) for text in errors["reason"].unique()}  # a few distinct messages
    with translation.override(settings.LANGUAGE_CODE):
        texts = {text: message_render(message=reason)[:300] for text, reason in reasons.items()}
    ImportRowError.objects.bulk_create(
        ImportRowError(
            batch=batch,
            line=int(e.line),
            column=str(e.column)[:120],
            value=str(e.value)[:200],
            reason=texts[e.reason],
            reason_msg=reasons[e.reason],
        )
        for e in errors.itertuples(index=False)
    )


def _batch_succeeded(batch: ImportBatch, store_ids, inserted: int, updated: int, unchanged: int) -> None:
    """Record the outcome and the KPI update that must follow it; call in the transaction that
    wrote the rows, so a broker down or a worker killed after the commit cannot lose the update
    (metrics.followups.services). A roster adds no facts: the days whose holder or team it changed
    are recorded by the change of the histories."""
    from metrics.followups.services import KPIS_AFTER_IMPORT_TASK, followup_record

    batch.stores.set(store_ids)
    batch.inserted, batch.updated, batch.unchanged = inserted, updated, unchanged
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.SUCCEEDED,
        inserted=batch.inserted,
        updated=batch.updated,
        unchanged=batch.unchanged,
        rows_total=batch.rows_total,
        rows_processed=batch.rows_processed,
        rejected=batch.rejected,
    )
    batch.status = ImportStatus.SUCCEEDED
    if batch.kind != ImportKind.ROSTER:
        store_id = batch.store_id or (store_ids[0] if len(store_ids) == 1 else None)
        followup_record(task=KPIS_AFTER_IMPORT_TASK, args=[batch.pk], store_id=store_id, batch=batch)


# --- rosters (花名册): rows applied to the organisation, not merged into a fact table -------------


def _roster_run(batch: ImportBatch, source: Source, resolver: StoreResolver, chunk_rows: int) -> None:
    """Check the roster's cells like any import, then hand its rows to teams.services.roster,
    which checks each row against the organisation and applies them in one transaction (or
    only reports, when cells were already invalid and invalid rows are not skipped)."""
    mapping = batch.column_mapping
    frames, errors = [], []
    rejected = read = 0
    for chunk in source.chunks(chunk_rows):
        checked = chunk_check(chunk=chunk, kind=batch.kind, mapping=mapping, stores=resolver)
        read += len(chunk.frame) + len(chunk.bad_lines)
        rejected += checked.rejected
        errors.append(checked.errors)
        frames.append(checked.rows)  # a roster is a few thousand rows at most: kept whole
        ImportBatch.objects.filter(pk=batch.pk).update(rows_processed=read, rows_total=max(read, source.rows_estimate))
    batch.rows_total = batch.rows_processed = read
    rows = roster_rows_of(frame=pd.concat(frames, ignore_index=True)) if frames else []
    user = batch.created_by
    viewer = viewer_get(user=user) if user else None
    with transaction.atomic():
        outcome = roster_apply(
            rows=rows,
            columns={name for name in mapping if name != "store"},
            new_stores={temporary: name for name, temporary in resolver.new.items()},
            actor=user,
            store_ids_allowed=None if viewer is None or viewer.is_admin else viewer.managed_store_ids,
            skip_invalid=batch.skip_invalid,
            check_only=bool(rejected) and not batch.skip_invalid,
            first_activity=lambda ids: account_first_activity_days(account_ids=ids),
            reason=batch.file_name,
        )
        batch.rejected = rejected + outcome.rejected
        if outcome.written:
            _batch_succeeded(batch, outcome.store_ids, outcome.inserted, outcome.updated, outcome.unchanged)
    errors.append(roster_errors_frame(errors=outcome.errors, mapping=mapping))
    _row_errors_save(batch, [frame for frame in errors if not frame.empty])
    if not outcome.written:
        batch.status = ImportStatus.FAILED
        _batch_error(batch, message("metrics.import_rows_invalid", count=batch.rejected))


def _stores_create(resolver: StoreResolver) -> dict[int, int]:
    """Create the stores first seen in this file; {temporary id: new id}."""
    created = {}
    for name, temporary in resolver.new.items():
        store, _created = Store.objects.get_or_create(name=name, defaults={"time_zone": resolver.default_time_zone})
        created[temporary] = store.pk
    return created


def _import(kind: str, *, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    batch = import_batch_create(file=file, kind=kind, store=store, **options)
    if batch.status == ImportStatus.QUEUED:
        batch = import_batch_run(batch=batch)
    return batch


def orders_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import an order report (订单报表) now, in this process."""
    return _import(ImportKind.ORDERS, store=store, file=file, **options)


def chats_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import a customer-service reception log (客服接待记录) now, in this process."""
    return _import(ImportKind.CHATS, store=store, file=file, **options)


def traffic_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import a daily traffic report (流量来源) now, in this process."""
    return _import(ImportKind.TRAFFIC, store=store, file=file, **options)


def leads_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import a CRM lead or deal list (线索/商机列表) now, in this process; adds to the stage history."""
    return _import(ImportKind.LEADS, store=store, file=file, **options)


def calls_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import a call record (通话记录) now, in this process."""
    return _import(ImportKind.CALLS, store=store, file=file, **options)


def roster_import(*, store: Store | None, file: Path | UploadedFile, **options) -> ImportBatch:
    """Import a roster (花名册) now, in this process: members, teams, accounts and logins; the
    recompute of the days whose holder or team changed is queued on commit."""
    return _import(ImportKind.ROSTER, store=store, file=file, **options)
