"""RFM segment sizes per store, kept as a small summary the dashboards read."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max

from metrics.db import store_data_version_bump
from metrics.kpis.analytics import SEGMENTS, rfm_buyers
from metrics.models import BuyerSegmentCount, StoreDay
from teams.models import Store


def buyer_segments_refresh(*, store: Store, as_of: dt.date | None = None) -> list[BuyerSegmentCount]:
    """Count the store's paying buyers per segment as of `as_of` (default: its last day with
    data) and replace that day's counts. Idempotent: the same rollups give the same rows."""
    if as_of is None:
        as_of = StoreDay.objects.filter(store=store).aggregate(last=Max("date"))["last"]
        if as_of is None:
            return []
    buyers = rfm_buyers(store_id=store.pk, as_of=as_of)
    rows = []
    for segment in SEGMENTS:
        chosen = buyers.loc[buyers["segment"] == segment] if not buyers.empty else buyers
        rows.append(
            BuyerSegmentCount(
                store=store,
                as_of=as_of,
                segment=segment,
                buyers=len(chosen),
                churn_risk=int(chosen["churn_risk"].sum()) if len(chosen) else 0,
            )
        )
    with transaction.atomic():
        store_data_version_bump(store.pk)
        BuyerSegmentCount.objects.filter(store=store, as_of=as_of).delete()
        return BuyerSegmentCount.objects.bulk_create(rows)
