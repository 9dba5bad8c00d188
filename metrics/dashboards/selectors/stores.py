"""The store overview: stores side by side over a period (staff, daily inquiries, GMV, GMV per
staff member, staff cost where entered). Read by the stores page and its API only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext

from metrics.kpis import grouping
from metrics.kpis.frames import rollup_frames_get
from metrics.kpis.selectors import kpi_table
from metrics.registry import Level
from perfmgmt.common.periods import Period, month_last
from teams.models import StaffCost, Store
from teams.selectors.scoping import Viewer, store_list_overseen

_NO_GMV = Decimal("0.00")


@dataclass(frozen=True)
class StoreRow:
    store: Store
    staff: int  # members with at least one session in the period
    daily_inquiries: float | None  # inquiring buyers per day (each day's distinct buyers), 人次
    sessions: int
    gmv: object  # Decimal yuan
    paid_orders: int
    uv: int
    gmv_per_staff: object
    staff_cost: object | None  # Decimal yuan, prorated to the period's days; None when not entered
    cost_share: float | None  # staff cost / GMV


@dataclass
class StoreOverview:
    period: Period
    rows: list[StoreRow]
    has_data: bool


def staff_cost_for(*, store_id: int, period: Period) -> object | None:
    """Entered monthly staff costs prorated to the period's days (a month's cost spread evenly
    over its days); None when no month of the period has a cost entered."""
    costs = {
        (c.month.year, c.month.month): c.amount_cents
        for c in StaffCost.objects.filter(
            store_id=store_id, month__gte=period.start.replace(day=1), month__lte=period.end
        )
    }
    if not costs:
        return None
    total = Decimal(0)
    for day in period.dates():
        cents = costs.get((day.year, day.month))
        if cents is not None:
            month_days = month_last(day).day
            total += Decimal(cents) / month_days
    return (total / 100).quantize(Decimal("0.01"))


# The store KPIs the overview shows, by registry key (the engine computes them: kpi_table).
_OVERVIEW_KPIS = ("gmv", "paid_orders", "uv")


def store_overview_get(*, stores, period: Period) -> StoreOverview:
    """Stores side by side over the period: staff, daily inquiries, GMV, GMV per staff member and
    staff cost where entered. GMV, paid orders and UV are the store KPIs of the engine; staff,
    sessions and daily inquiries are not store KPIs of the registry and are counted here."""
    store_list = list(stores)
    ids = [s.pk for s in store_list]
    table = kpi_table(level=Level.STORE, grain="range", start=period.start, end=period.end, store_ids=ids,
                      only=_OVERVIEW_KPIS)  # fmt: skip
    kpis = {int(row["store_id"]): row for row in table.to_dict("records")}
    frames = rollup_frames_get(store_ids=ids, start=period.start, end=period.end, tables=("days", "buyers"))
    # Per store: staff (members with a session) and their sessions; each day's distinct inquiring
    # buyers, summed ("person-times" as the shops count them; the registry's inquiring_buyers is
    # distinct over the whole period, another figure).
    member_days, buyers = frames["days"], frames["buyers"]
    worked = member_days.where(member_days["sessions"] > 0)
    staff_found, headcounts = grouping.distinct_count(worked["store_id"], worked["member_id"].astype(np.int64))
    headcount_of = dict(zip(staff_found.tolist(), headcounts.tolist(), strict=True))
    session_found, sessions = grouping.group_sums(worked["store_id"], worked.matrix(["sessions"]))
    sessions_of = dict(zip(session_found.tolist(), sessions[:, 0].tolist(), strict=True))
    inquiries: dict[int, int] = {}
    if len(buyers):
        store_ids = np.array(sorted(ids), dtype=np.int64)
        days = grouping.day_numbers(buyers["date"])
        day_codes = np.searchsorted(store_ids, buyers["store_id"]) * grouping.DAY_SPAN + (days - days.min())
        found_days, per_day = grouping.distinct_count(day_codes, buyers["buyer"])
        stores_of_days, inquired = grouping.group_sums(found_days // grouping.DAY_SPAN, per_day.reshape(-1, 1))
        inquiries = dict(zip(store_ids[stores_of_days].tolist(), inquired[:, 0].tolist(), strict=True))
    rows = []
    for store in store_list:
        # A store without a row in the KPI table has no store day in the period: 0 sold, 0 visitors.
        store_kpis = kpis.get(store.pk, {})
        gmv = store_kpis.get("gmv", _NO_GMV)
        headcount = headcount_of.get(store.pk, 0)
        cost = staff_cost_for(store_id=store.pk, period=period)
        inquired = inquiries.get(store.pk)
        rows.append(
            StoreRow(
                store=store,
                staff=headcount,
                daily_inquiries=None if inquired is None else float(inquired) / period.days,
                sessions=sessions_of.get(store.pk, 0),
                gmv=gmv,
                paid_orders=store_kpis.get("paid_orders", 0),
                uv=store_kpis.get("uv", 0),
                gmv_per_staff=(gmv / headcount).quantize(Decimal("0.01")) if headcount else None,
                staff_cost=cost,
                cost_share=float(cost / gmv) if cost is not None and gmv else None,
            )
        )
    return StoreOverview(period=period, rows=rows, has_data=any(r.gmv or r.sessions for r in rows))


def stores_overseen_get(*, viewer: Viewer, store_id: int | None = None) -> QuerySet[Store]:
    """The stores a viewer's store overview shows: the one asked for, else all they oversee (by
    name). PermissionDenied for a viewer overseeing none; Http404 for a store not among them (the
    same answer as one that does not exist)."""
    stores = store_list_overseen(viewer=viewer).order_by("name")
    if not stores.exists():
        raise PermissionDenied(gettext("The store overview is for managers and HR."))
    if store_id is None:
        return stores
    chosen = stores.filter(pk=store_id)
    if not chosen.exists():
        raise Http404(gettext("No such store or team among those you oversee."))
    return chosen
