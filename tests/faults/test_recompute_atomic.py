"""A range recompute stopped right after it re-credited orders leaves neither the new credit nor
half-rebuilt days behind, so a rerun rebuilds every day, including those outside the range whose
credit moved (metrics.kpis.services._credit_with_moved_days, docs/faults.md)."""

import datetime as dt

import pytest

from metrics.importing.services import chats_import, orders_import
from metrics.kpis import services as kpis
from metrics.models import InquiryBuyerDay, Order
from tests.faults.shopdata import exports_write, facts_only, rollups_snapshot, shop_create

pytestmark = pytest.mark.django_db

START, DAYS = dt.date(2026, 1, 1), 40
END = START + dt.timedelta(days=DAYS)
MIDDLE = START + dt.timedelta(days=20)  # the recomputed range is MIDDLE … END


class Killed(Exception):
    """Stands for the worker dying at this point: the open transaction is rolled back."""


def test_stopped_between_the_credit_and_the_days_it_moved_a_rerun_rebuilds_them(tmp_path, monkeypatch):
    store = shop_create(start=START)
    chats, orders = exports_write(tmp_path, orders=400, start=START, days=DAYS)
    for batch in (chats_import(store=None, file=chats, user=None), orders_import(store=None, file=orders, user=None)):
        assert batch.status == "succeeded", batch.error_message
    kpis.kpis_recompute_range(store=store, start=MIDDLE, end=END)
    expected = rollups_snapshot()
    # The range's buyers' earlier orders are re-credited too: days before the range, rebuilt only
    # because their credit moved.
    assert InquiryBuyerDay.objects.filter(date__lt=MIDDLE).exists()

    facts_only()
    rebuild = kpis.rollup_partition_recompute

    def killed_on_the_first_rebuild(**kwargs):
        raise Killed

    monkeypatch.setattr(kpis, "rollup_partition_recompute", killed_on_the_first_rebuild)
    with pytest.raises(Killed):
        kpis.kpis_recompute_range(store=store, start=MIDDLE, end=END)
    # The credit went back with the rebuild it was committed with: a rerun sees it move again.
    assert not Order.objects.filter(credited_session_id__isnull=False).exists()

    monkeypatch.setattr(kpis, "rollup_partition_recompute", rebuild)
    kpis.kpis_recompute_range(store=store, start=MIDDLE, end=END)
    assert rollups_snapshot() == expected
