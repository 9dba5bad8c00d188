"""The dashboards' cache around a change of the data: while a store's data change and its default
pages are computed again (metrics.dashboards.warmup, run by metrics.tasks.dashboards_warm_task),
the pages computed before are served."""

from __future__ import annotations

from django.core.cache import cache

from metrics.kpis.cache import REFRESH_MAX_SECONDS, refreshing_key


def dashboards_refresh_begin(*, store_ids) -> None:
    """The stores' data are about to change and their default pages to be computed again: until
    dashboards_refresh_end (or REFRESH_MAX_SECONDS), cached pages computed before are served."""
    cache.set_many({refreshing_key(store_id): 1 for store_id in set(store_ids)}, REFRESH_MAX_SECONDS)


def dashboards_refresh_end(*, store_id: int) -> None:
    """The store's refresh is over: the next request of a page computed before it computes it again."""
    cache.delete(refreshing_key(store_id))
