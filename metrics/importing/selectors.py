"""Reads of imports, scoped like everything else: admins see every batch, managers those of
their stores (and their own), nobody else any."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min, Q, QuerySet
from django.utils.translation import gettext as _

from metrics.models import Call, ChatSession, ImportBatch, ImportKind, ImportRowError, ImportStatus, LeadStageChange
from teams.models import Store
from teams.selectors.scoping import Viewer


def viewer_can_import(*, viewer: Viewer) -> bool:
    return viewer.is_admin or viewer.is_manager


def importable_store_list(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores the viewer may import into."""
    if viewer.is_admin:
        return Store.objects.all()
    return Store.objects.filter(pk__in=viewer.managed_store_ids)


def importable_store_default(*, viewer: Viewer) -> Store | None:
    """The store a file goes to when the uploader names none: a manager's only store (an admin,
    or a manager of several stores, names it or lets the file's rows tell)."""
    if viewer.is_admin:
        return None
    stores = importable_store_list(viewer=viewer)
    return stores.get() if stores.count() == 1 else None


def account_first_activity_days(*, account_ids: list[int]) -> dict[int, dt.date]:
    """The first local day (in its store's zone) each account was active: its first chat
    session, call or lead stage change, over everything imported. Accounts never active are
    left out. For a roster that counts an account from its first activity (按首次活动起算)."""
    firsts: dict[int, dt.date] = {}
    for model, day in ((ChatSession, "started_date"), (Call, "started_date"), (LeadStageChange, "changed_date")):
        rows = model.objects.filter(account_id__in=account_ids).values("account_id").annotate(first=Min(day))
        for row in rows:
            known = firsts.get(row["account_id"])
            firsts[row["account_id"]] = row["first"] if known is None else min(known, row["first"])
    return firsts


def import_batch_list(*, viewer: Viewer) -> QuerySet[ImportBatch]:
    batches = ImportBatch.objects.select_related("store", "created_by", "rerun_of")
    if viewer.is_admin:
        return batches
    if not viewer.is_manager:
        return batches.none()
    return batches.filter(
        Q(store_id__in=viewer.managed_store_ids)
        | Q(stores__in=viewer.managed_store_ids)
        | Q(created_by_id=viewer.user_id)
    ).distinct()


def import_batch_list_filtered(
    *, viewer: Viewer, ids: list[int], kind: str, status: str, store_id: int | None
) -> QuerySet[ImportBatch]:
    """The viewer's batches (import_batch_list), narrowed to `ids` (the files of one upload), a
    kind, a status and a store (the batch's store, or one of the stores its rows went to); an
    empty or unknown value does not narrow."""
    batches = import_batch_list(viewer=viewer)
    if ids:
        batches = batches.filter(pk__in=ids)
    if kind in ImportKind.values:
        batches = batches.filter(kind=kind)
    if status in ImportStatus.values:
        batches = batches.filter(status=status)
    if store_id is not None:
        batches = batches.filter(store_id=store_id) | batches.filter(stores=store_id)
    return batches.distinct()


def import_row_error_list(*, batch: ImportBatch) -> QuerySet[ImportRowError]:
    """The rows of the batch that were refused, with why (their own order)."""
    return batch.row_errors.all()


# --- importing the valid rows of a failed batch ------------------------------------------------

_ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.SUCCEEDED)  # a re-run that counts


def import_batch_rerun_get(*, batch: ImportBatch) -> ImportBatch | None:
    """The batch importing, or that imported, this batch's valid rows (one that failed or was
    refused in its turn does not count: the valid rows may be imported again)."""
    return batch.reruns.filter(status__in=_ACTIVE).order_by("-created_at", "-id").first()


def import_batch_valid_rows_refusal(*, batch: ImportBatch) -> str | None:
    """Why the valid rows of this batch cannot be imported from its kept file, or None when they
    can: it failed over invalid rows only (not a refused file, a lost queue or database), some
    rows are valid, and the file is still kept."""
    if batch.status == ImportStatus.REFUSED:
        return _(
            "The file itself was refused, not some of its rows, so there are no valid rows to import. "
            "Correct the file and upload it again."
        )
    if batch.status != ImportStatus.FAILED:
        return _("Only an import that failed over invalid rows can import its valid rows.")
    if batch.skip_invalid or not batch.rejected:
        return _("This import did not fail over invalid rows (see the message above): upload the file again.")
    if batch.rows_total <= batch.rejected:
        return _("Every row of the file is invalid: there is nothing to import. Correct the file and upload it again.")
    if not batch.file or batch.file_deleted_at:
        return _(
            "The original file is no longer kept (retention period), so its valid rows cannot be imported "
            "from it: upload the file again with “skip invalid rows”."
        )
    return None


@dataclass(frozen=True)
class ValidRowsOffer:
    """What the page of a failed batch offers: import its valid rows (a POST), or why not."""

    allowed: bool  # the viewer may import into the batch's store (else: not theirs to re-run)
    available: bool  # the button is offered
    reason: str  # why it is not (empty when it is, or when a re-run exists)
    valid: int  # rows that would be imported
    invalid: int  # rows that would be skipped
    rerun: ImportBatch | None  # the batch importing (or that imported) the valid rows


def import_batch_run_again_allowed(*, batch: ImportBatch, viewer: Viewer) -> bool:
    """Whether the viewer may run an interrupted batch (or its failed KPI update) again: the
    managers of its store and admins, as for importing its valid rows."""
    return viewer_can_import(viewer=viewer) and (
        batch.store_id is None or importable_store_list(viewer=viewer).filter(pk=batch.store_id).exists()
    )


def import_batch_valid_rows_offer(*, batch: ImportBatch, viewer: Viewer) -> ValidRowsOffer | None:
    """The offer on a failed or refused batch's page (None for any other batch). Managers of the
    batch's store and admins may take it; a file that names its stores is imported again only into
    the stores of whoever presses the button, as an upload would be."""
    if batch.status not in (ImportStatus.FAILED, ImportStatus.REFUSED):
        return None
    allowed = viewer_can_import(viewer=viewer) and (
        batch.store_id is None or importable_store_list(viewer=viewer).filter(pk=batch.store_id).exists()
    )
    rerun = import_batch_rerun_get(batch=batch)
    refusal = None if rerun else import_batch_valid_rows_refusal(batch=batch)
    return ValidRowsOffer(
        allowed=allowed,
        available=allowed and rerun is None and refusal is None,
        reason=refusal or "",
        valid=max(batch.rows_total - batch.rejected, 0),
        invalid=batch.rejected,
        rerun=rerun,
    )
