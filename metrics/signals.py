"""The signal metrics sends for the apps above it, and what metrics does when the organisation
changes.

- store_days_rebuilt: the rollups of some days of a store were rebuilt (reviews scores the open
  appraisal cycles of those months again, then incentives' statements follow; metrics never
  imports either).
- A change of who held an account or of a member's team on some days (teams' history_changed):
  the recompute of those store-days is queued on commit (metrics.kpis.services).
- Whether a store has imported facts (teams' store_data_exists): its time zone is then fixed.
- Rollup rows that change without a rebuild: deleting a team nulls its rollup rows' team, and
  deleting a member removes theirs (the foreign keys' SET_NULL and CASCADE), in every month. The
  cached rollup months and dashboards of the stores concerned are keyed by versions that only a
  rebuild moves, so the deletion moves them too, in its own transaction (Django sends pre_delete
  inside the deletion's atomic block)."""

from __future__ import annotations

from django.db.models.signals import pre_delete
from django.dispatch import Signal, receiver

from metrics.db import store_all_months_bump
from metrics.models import MemberDay
from teams.models import Member, Team
from teams.signals import history_changed, store_data_exists

# Sent by metrics.kpis.services once a store's rollups of some local days were rebuilt (after an
# import, a range, nightly or full recompute, a change of the histories), once per store and
# run, with `store_id` and `ranges`: a tuple of (first day, last day), both inclusive. The
# rebuilds run in autocommit, so they are committed when a task sends it; receivers act on
# commit all the same, for callers inside a transaction.
store_days_rebuilt = Signal()


@receiver(history_changed, dispatch_uid="metrics.history_changed")
def history_changed_recompute(sender, spans, **kwargs) -> None:
    """Who held an account, or which team a member was in, changed on some days: those days of
    the stores concerned are re-credited and rebuilt. Recorded in the change's transaction and
    queued once it commits (a follow-up: a broker down then does not lose it)."""
    from metrics.kpis.services import kpis_history_recompute_queue

    kpis_history_recompute_queue(spans=spans)


@receiver(store_data_exists, dispatch_uid="metrics.store_data_exists")
def store_has_facts(sender, store, **kwargs) -> bool:
    """Imported facts keep the local day they were read in: the store has some, or not."""
    from metrics.kpis.services import store_fact_days

    return store_fact_days(store=store) is not None


# The stores are read from the member-days (indexed by team and by member): every inquiry
# buyer-day of a member and team comes from a session of a member-day of the same ones.


@receiver(pre_delete, sender=Team, dispatch_uid="metrics.team_deleted")
def team_deleted(sender, instance: Team, **kwargs) -> None:
    stores = set(MemberDay.objects.filter(team=instance).values_list("store_id", flat=True).distinct())
    if stores:
        store_all_months_bump(stores)


@receiver(pre_delete, sender=Member, dispatch_uid="metrics.member_deleted")
def member_deleted(sender, instance: Member, **kwargs) -> None:
    stores = set(MemberDay.objects.filter(member=instance).values_list("store_id", flat=True).distinct())
    if stores:
        store_all_months_bump(stores)
