"""Warming the dashboards' cache: the views people open every morning are computed by a worker
right after the data changes (metrics.tasks.dashboards_warm_task), so the first manager of the day
does not wait for them.

Presentation, like the pages it fills: a cached page holds its figures and links, so warming it
draws them; hence this module sits beside metrics.dashboards.pages and is no services module
(the "presentation" import contract in pyproject.toml). The cache's refresh flags, which only
write cache entries, stay in metrics.dashboards.services."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

# The warm-up fills the very cache entries a request reads: the pages computed with the same
# arguments, so with the same cache key.
from metrics.dashboards.pages import member_dashboard_cached, team_dashboard_cached
from metrics.dashboards.selectors.member import member_home_store, store_team_members_get
from metrics.kpis.cache import dashboards_fresh_only
from perfmgmt.common.periods import DEFAULT_PRESET, period_resolve, store_today
from teams.models import Store


def dashboards_warm(*, store: Store) -> int:
    """Compute and cache, in every language, the default view (the last 30 days) of each team of
    the store and of each member in those teams today. Returns the number of pages computed.

    Idempotent: it only fills the cache, keyed by the store's data version."""
    today = store_today(store)
    period = period_resolve(preset=DEFAULT_PRESET, today=today)
    teams, members = store_team_members_get(store=store, day=today)
    computed = 0
    for language, _name in settings.LANGUAGES:
        # Computed on the new data even while the store's refresh serves pages from before it.
        with translation.override(language), dashboards_fresh_only():
            for team in teams:
                team_dashboard_cached(team=team, preset=DEFAULT_PRESET, period=period)
                computed += 1
            for member in members:
                home = member_home_store(member=member)
                if home is None or home.pk != store.pk:
                    continue  # their page follows another store's day; that store warms it
                member_dashboard_cached(member=member, store=home, today=today, period=period)
                computed += 1
    return computed
