"""Reads of imports, scoped like everything else: admins see every batch, managers those of
their stores (and their own), nobody else any."""

from django.db.models import Q, QuerySet

from metrics.models import ImportBatch
from teams.models import Store
from teams.selectors.scoping import Viewer


def viewer_can_import(*, viewer: Viewer) -> bool:
    return viewer.is_admin or viewer.is_manager


def importable_store_list(*, viewer: Viewer) -> QuerySet[Store]:
    """Stores the viewer may import into."""
    if viewer.is_admin:
        return Store.objects.all()
    return Store.objects.filter(pk__in=viewer.managed_store_ids)


def import_batch_list(*, viewer: Viewer) -> QuerySet[ImportBatch]:
    batches = ImportBatch.objects.select_related("store", "created_by")
    if viewer.is_admin:
        return batches
    if not viewer.is_manager:
        return batches.none()
    return batches.filter(
        Q(store_id__in=viewer.managed_store_ids)
        | Q(stores__in=viewer.managed_store_ids)
        | Q(created_by_id=viewer.user_id)
    ).distinct()
