"""The cache of computed pages and API answers: keyed by the stores' data versions, so a result
never outlives its data, and, while a store is being refreshed after an import, the results
computed before it are served (docs/dashboards.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.utils.translation import get_language

from metrics.models import StoreDataVersion

# A cached page lives at most this long (seconds): data changes invalidate it at once through
# the stores' data versions; renamed members and moved teams show within ten minutes.
CACHE_SECONDS = 600


def data_versions(store_ids) -> tuple[tuple[int, int], ...]:
    ids = sorted(set(store_ids))
    versions = dict(StoreDataVersion.objects.filter(store_id__in=ids).values_list("store_id", "version"))
    return tuple((store_id, versions.get(store_id, 0)) for store_id in ids)


def store_data_cached(
    *, prefix: str, kind: str, store_ids, key: tuple, compute: Callable[[], object], per_language: bool = True
):
    """`compute()`'s result, cached under `prefix:kind`, the stores' data versions (a recompute
    or an import of any of them makes it stale at once), the language when the result carries
    translated labels, and `key` (everything else the result depends on).

    While one of the stores is being refreshed (an import's KPIs, RFM summary and warm-up are
    running; see stores_refreshing), a result computed before the data changed is served as it
    is instead of computing one that the refresh is about to make stale again: every page seen
    before an import stays fast during it, and the pages say that their figures are updating."""
    language = get_language() if per_language else None
    raw = repr((kind, data_versions(store_ids), language, key)).encode()
    cache_key = f"{prefix}:{kind}:{hashlib.sha256(raw).hexdigest()}"
    found = cache.get(cache_key)
    if found is not None:
        return found
    # The latest computed entry of the same page at any data version (its key).
    latest_key = f"{prefix}-latest:{kind}:{hashlib.sha256(repr((kind, language, key)).encode()).hexdigest()}"
    if not _fresh_only.get() and stores_refreshing(store_ids=store_ids):
        previous_key = cache.get(latest_key)
        previous = cache.get(previous_key) if previous_key else None
        if previous is not None:
            return previous
    result = compute()
    cache.set_many({cache_key: result, latest_key: cache_key}, CACHE_SECONDS)
    return result


_fresh_only: ContextVar[bool] = ContextVar("dashboards_fresh_only", default=False)


@contextmanager
def dashboards_fresh_only():
    """Inside, store_data_cached computes what the cache holds for older data only: the warm-up
    computes the very pages a refresh waits for."""
    token = _fresh_only.set(True)
    try:
        yield
    finally:
        _fresh_only.reset(token)


# A store's refresh lasts from the start of the KPIs of an import (or a recompute) to the end of
# its warm-up; a refresh that never ends (a failed task) stops counting after this (seconds).
REFRESH_MAX_SECONDS = 600


def refreshing_key(store_id: int) -> str:
    return f"refreshing:store:{store_id}"


def stores_refreshing(*, store_ids) -> bool:
    """Whether any of the stores is being refreshed (metrics.dashboards.services)."""
    keys = [refreshing_key(store_id) for store_id in set(store_ids)]
    return bool(keys) and any(cache.get_many(keys).values())


def dashboard_cached(*, kind: str, store_ids, key: tuple, compute: Callable[[], object]):
    """A dashboard's data, cached per language (figures carry translated labels)."""
    # The prefix changes with the cached classes (pickled): issue 21 moved them to
    # metrics.dashboards.presenters, where a page of the release before would not unpickle.
    return store_data_cached(prefix="dashboard-21", kind=kind, store_ids=store_ids, key=key, compute=compute)
