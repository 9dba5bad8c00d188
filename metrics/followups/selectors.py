"""What the dashboards say of their stores' KPI updates recorded as follow-ups
(metrics.followups.services): updating, or interrupted (failed or lost its worker)."""

from __future__ import annotations

from django.db.models import Q

from metrics.kpis.cache import stores_refreshing
from metrics.models import Followup, FollowupStatus

IMPORT_TASK = "metrics.tasks.import_batch_run_task"  # an import's own run: not a KPI update


def kpi_updates_state(*, store_ids) -> str:
    """What the dashboards' notice says of the stores' KPI updates recorded in the database:
    "interrupted" (one failed or lost its worker: retried, or waiting for "Run again"),
    "updating" (one is pending, queued or running), or "" (none). One that a later update of the
    same stores completed is over: that update rebuilt its days too, or newer ones."""
    store_ids = list(set(store_ids))
    if not store_ids:
        return ""
    concerned = Q(store_id__in=store_ids) | Q(batch__store_id__in=store_ids) | Q(batch__stores__in=store_ids)
    kpis = Followup.objects.filter(concerned).exclude(task=IMPORT_TASK)
    state = ""
    for pk, status in kpis.exclude(status=FollowupStatus.DONE).values_list("pk", "status").distinct():
        if kpis.filter(status=FollowupStatus.DONE, pk__gt=pk).exists():
            continue
        if status in (FollowupStatus.FAILED, FollowupStatus.INTERRUPTED):
            return "interrupted"
        state = "updating"
    return state


def figures_notice(*, store_ids) -> dict[str, bool]:
    """The dashboards' notice: `refreshing` (figures updating: the cache's flag, or an update
    recorded in the database and not finished) and `kpis_interrupted` (one failed or lost its
    worker and is not yet redone)."""
    store_ids = list(store_ids)
    state = kpi_updates_state(store_ids=store_ids)
    return {
        "refreshing": state == "updating" or stores_refreshing(store_ids=store_ids),
        "kpis_interrupted": state == "interrupted",
    }
