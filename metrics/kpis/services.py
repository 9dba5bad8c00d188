"""Keeping the KPI rollups in step with the facts.

- after an import: the attribution of the buyers the batch touched, then the rollups of the
  local days it touched (and of the days whose credit moved); after a leads import, every day
  from the earliest creation or stage change of the leads it touched to their latest change
  (a lead moving on changes the cohort conversion of the day it entered its earlier stages);
- a range (the nightly job: the last 35 days; the command: any range): attribution of the
  store's orders created in the range, then the range's rollups;
- a full recompute: everything, fanned out by store and month (metrics.tasks);
- a change of who held an account or of a member's team on some days (teams.services.history):
  those days, queued by kpis_history_recompute_queue.

Each, once a store's rollups are rebuilt, announces the days with metrics.signals.store_days_rebuilt
(the pay statements of their months follow: incentives/signals.py).
"""

# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction

from metrics.kpis.attribution import attribution_recompute
from metrics.kpis.rollups import rollup_partition_recompute
from metrics.kpis.segments import buyer_segments_refresh
from metrics.models import ImportBatch, ImportKind
from metrics.signals import store_days_rebuilt
from perfmgmt.common.periods import month_last
from teams.models import Store
from teams.services.history import StoreDays

logger = logging.getLogger(__name__)


@dataclass
class RecomputeReport:
    stores: int = 0
    partitions: int = 0
    orders_recredited: int = 0
    store_ids: list[int] = field(default_factory=list)
    # (store id, first day, last day) of each partition rebuilt, ISO dates (a task's JSON result).
    rebuilt: list[tuple[int, str, str]] = field(default_factory=list)


def _rebuild(store: Store, report: RecomputeReport, first: dt.date, last: dt.date) -> None:
    rollup_partition_recompute(store=store, start=first, end=last)
    report.partitions += 1
    report.rebuilt.append((store.pk, first.isoformat(), last.isoformat()))


def _rebuilt_announce(store: Store, report: RecomputeReport) -> None:
    """Tell the apps above which of the store's days were rebuilt (their receivers act on commit:
    the rebuilds run in autocommit, so in a task that is at once)."""
    days = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for s, a, b in report.rebuilt if s == store.pk]
    if days:
        store_days_rebuilt.send(sender=Store, store_id=store.pk, ranges=tuple(days))


def month_ranges(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """start … end cut at month boundaries: the units full recomputes fan out by."""
    ranges, first = [], start
    while first <= end:
        last = min(end, month_last(first))
        ranges.append((first, last))
        first = last + dt.timedelta(days=1)
    return ranges


def _runs(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days grouped into contiguous ranges."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] <= dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _as_date(day) -> dt.date:
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))


def _batch_touch(batch: ImportBatch) -> dict[int, tuple[set[str], set[dt.date]]]:
    """Per store: the buyers and local days of the rows this batch inserted or changed."""
    if batch.kind == ImportKind.LEADS:
        return _leads_touch(batch)
    table, date_columns = {
        ImportKind.ORDERS: ("metrics_order", ("created_date", "credited_date")),
        ImportKind.CHATS: ("metrics_chatsession", ("started_date",)),
        ImportKind.TRAFFIC: ("metrics_trafficday", ("date",)),
        ImportKind.CALLS: ("metrics_call", ("started_date",)),
    }[batch.kind]
    touched: dict[int, tuple[set[str], set[dt.date]]] = {}
    buyer = "buyer" if batch.kind in (ImportKind.ORDERS, ImportKind.CHATS) else "NULL"
    with connection.cursor() as cursor:
        # One pass over the table (the batch column has no index: see ImportedFact).
        cursor.execute(
            f"SELECT DISTINCT store_id, {buyer}, {', '.join(date_columns)} FROM {table} WHERE batch_id = %s", [batch.pk]
        )
        for store_id, buyer_name, *row_days in cursor.fetchall():
            buyers, days = touched.setdefault(store_id, (set(), set()))
            if buyer_name is not None:
                buyers.add(buyer_name)
            for day in row_days:
                if day is not None:
                    days.add(_as_date(day))
    return touched


def _leads_touch(batch: ImportBatch) -> dict[int, tuple[set[str], set[dt.date]]]:
    """Per store: every day from the earliest creation or stage change of the leads the batch
    inserted, changed or added a stage change to, to their latest stage change (no buyers).

    A new stage changes the conversion of the cohorts the lead entered earlier (the day it was
    created, entered intent, negotiation), and a win can change whether a later win of the same
    customer is a new customer's: the whole span is rebuilt."""
    touched: dict[int, tuple[set[str], set[dt.date]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.store_id, MIN(l.created_date), MAX(l.created_date), MIN(h.changed_date), MAX(h.changed_date), "
            "MAX(l.stage_changed_date) FROM metrics_lead l LEFT JOIN metrics_leadstagechange h ON h.lead_id = l.id "
            "WHERE l.id IN (SELECT id FROM metrics_lead WHERE batch_id = %s "
            "UNION SELECT lead_id FROM metrics_leadstagechange WHERE batch_id = %s) GROUP BY l.store_id",
            [batch.pk, batch.pk],
        )
        for store_id, *bounds in cursor.fetchall():
            known = [_as_date(day) for day in bounds if day is not None]
            first, last = min(known), max(known)
            touched[store_id] = (set(), {first + dt.timedelta(days=n) for n in range((last - first).days + 1)})
    return touched


def kpis_after_import(*, batch: ImportBatch) -> RecomputeReport:
    """Bring attribution and rollups up to date with what `batch` inserted or changed."""
    from metrics.followups.services import followups_done

    report = RecomputeReport()
    for store_id, (buyers, days) in _batch_touch(batch).items():
        store = Store.objects.get(pk=store_id)
        affected = set(days)
        if buyers and batch.kind in (ImportKind.ORDERS, ImportKind.CHATS):
            # New or changed orders are credited from the sessions before them; new sessions can
            # win the orders of the window after them.
            window_days = store.attribution_window_days
            created = (min(days), max(days) + dt.timedelta(days=window_days if batch.kind == ImportKind.CHATS else 0))
            if batch.kind == ImportKind.CHATS:
                # A chat counts on its own day; the orders it won or lost count on theirs.
                # (and the store-days of orders it turned silent or credited, up to the window after).
                affected |= {day + dt.timedelta(days=offset) for day in days for offset in range(window_days + 1)}
            credit = _credit_with_moved_days(store, report, affected, buyers=buyers, created=created)
            report.orders_recredited += credit.orders_changed
        for first, last in _runs(affected):
            _rebuild(store, report, first, last)
        report.stores += 1
        report.store_ids.append(store_id)
        _rebuilt_announce(store, report)
    # Run here (import_data, the demo, tests) rather than by its worker: the batch's recorded
    # update is done; a worker that takes its message later finds nothing to track.
    followups_done(batch=batch)
    return report


def kpis_recompute_range(*, store: Store, start: dt.date, end: dt.date, recredit: bool = True) -> RecomputeReport:
    """Re-credit the store's orders and rebuild its rollups for start … end (local days).

    `recredit` False: the rollups only, for a change that cannot move an order's credit (a
    member's team: the credit names a member)."""
    report = RecomputeReport(stores=1)
    if recredit:
        buyers = _buyers_in(store, start - dt.timedelta(days=store.attribution_window_days), end)
        in_range = {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
        credit = _credit_with_moved_days(store, report, in_range, buyers=buyers)
        report.orders_recredited = credit.orders_changed
    for first, last in month_ranges(start, end):
        _rebuild(store, report, first, last)
    _rebuilt_announce(store, report)
    return report


def kpis_history_recompute_queue(*, spans: Iterable[StoreDays]) -> list[tuple[int, dt.date, dt.date]]:
    """Record the recompute of the store-days a change of the histories touched (call in the
    change's transaction): a follow-up, published once the change commits and, were the broker
    down then, by the next followups_deliver (metrics.followups.services). Never lost with it.

    Each span is cut to the store's days with data: an open span ends on the store's last day
    with data, and a span with no data in it queues nothing. From now to the warm-up that ends
    the task, the store's pages say that their figures are updating (and serve those from before
    the change, which is what they are). Returns (store id, first day, last day) of each recorded."""
    from metrics.dashboards.services import dashboards_refresh_begin
    from metrics.followups.services import followup_record

    queued = []
    for span in spans:
        store = Store.objects.filter(pk=span.store_id).first()
        days = store_fact_days(store=store) if store else None
        if days is None:
            continue
        start, end = max(span.start, days[0]), min(span.end or days[1], days[1])
        if start > end:
            continue
        # Begun (once the change commits: a rolled-back change says nothing) before the task can
        # start: its warm-up ends it, and ending first would leave a notice no warm-up ends.
        transaction.on_commit(lambda pk=store.pk: dashboards_refresh_begin(store_ids=[pk]))
        followup_record(
            task="metrics.tasks.kpis_recompute_range_task",
            args=[store.pk, start.isoformat(), end.isoformat()],
            kwargs={"recredit": span.recredit},
            store_id=store.pk,
        )
        queued.append((store.pk, start, end))
    return queued


def _credit_with_moved_days(store: Store, report: RecomputeReport, rebuilt_after: set[dt.date], **scope):
    """Re-credit orders (attribution_recompute(**scope)) and, in the same transaction, rebuild the
    days whose credit moved that the caller does not rebuild anyway (`rebuilt_after`).

    One transaction because only this run knows those days: killed after committing the credit but
    before rebuilding them, a rerun would find the credit already moved, nothing changed, and leave
    them counting orders that moved away (docs/faults.md)."""
    with transaction.atomic():
        credit = attribution_recompute(store=store, **scope)
        for first, last in _runs(credit.changed_dates - rebuilt_after):
            _rebuild(store, report, first, last)
    return credit


def _buyers_in(store: Store, start: dt.date, end: dt.date) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT buyer FROM metrics_order WHERE store_id = %s AND created_date BETWEEN %s AND %s "
            "UNION SELECT DISTINCT buyer FROM metrics_chatsession WHERE store_id = %s "
            "AND started_date BETWEEN %s AND %s",
            [store.pk, start, end, store.pk, start, end],
        )
        return {row[0] for row in cursor.fetchall()}


def store_fact_days(*, store: Store) -> tuple[dt.date, dt.date] | None:
    """The first and last local day with any fact of the store, or None when it has none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(d), MAX(d) FROM (SELECT MIN(created_date) AS d FROM metrics_order WHERE store_id = %s "
            "UNION ALL SELECT MAX(created_date) FROM metrics_order WHERE store_id = %s "
            "UNION ALL SELECT MIN(started_date) FROM metrics_chatsession WHERE store_id = %s "
            "UNION ALL SELECT MAX(started_date) FROM metrics_chatsession WHERE store_id = %s "
            "UNION ALL SELECT MIN(date) FROM metrics_trafficday WHERE store_id = %s "
            "UNION ALL SELECT MAX(date) FROM metrics_trafficday WHERE store_id = %s "
            "UNION ALL SELECT MIN(created_date) FROM metrics_lead WHERE store_id = %s "
            "UNION ALL SELECT MAX(created_date) FROM metrics_lead WHERE store_id = %s "
            "UNION ALL SELECT MIN(changed_date) FROM metrics_leadstagechange WHERE store_id = %s "
            "UNION ALL SELECT MAX(changed_date) FROM metrics_leadstagechange WHERE store_id = %s "
            "UNION ALL SELECT MIN(started_date) FROM metrics_call WHERE store_id = %s "
            "UNION ALL SELECT MAX(started_date) FROM metrics_call WHERE store_id = %s) days",
            [store.pk] * 12,
        )
        first, last = cursor.fetchone()
    if first is None:
        return None
    return _as_date(first), _as_date(last)


def kpis_recompute_store_full(*, store: Store) -> RecomputeReport:
    """Everything of one store, in this process: full attribution, then every month's rollups."""
    report = RecomputeReport(stores=1)
    days = store_fact_days(store=store)
    if days is None:
        return report
    report.orders_recredited = attribution_recompute(store=store).orders_changed
    for first, last in month_ranges(*days):
        _rebuild(store, report, first, last)
    buyer_segments_refresh(store=store)  # the RFM summary reads the rollups just rebuilt
    _rebuilt_announce(store, report)
    return report
