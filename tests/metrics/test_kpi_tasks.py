"""recompute_kpis, the Celery fan-out through a real worker, two recomputes at once, and the
dashboards' refresh around an import's tasks."""

import datetime as dt
import threading

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.db import connection

from metrics.kpis.rollups import rollup_partition_recompute
from metrics.kpis.services import month_ranges
from metrics.models import InquiryBuyerDay, MemberDay, StoreBuyerDay, StoreDay
from perfmgmt.celery import app
from teams.models import Store
from tests.metrics.test_kpis import Shop


def _rows():
    return [
        sorted(MemberDay.objects.values_list("date", "member_id", "team_id", "sessions", "paid_orders", "gmv_cents")),
        sorted(InquiryBuyerDay.objects.values_list("date", "hour", "member_id", "buyer", "ordered", "paid")),
        sorted(StoreDay.objects.values_list("date", "orders_placed", "paid_orders", "gmv_cents")),
        sorted(StoreBuyerDay.objects.values_list("date", "buyer", "placed_orders", "paid_orders", "gmv_cents")),
    ]


def _shop(tmp_path) -> Shop:
    shop = Shop(tmp_path)
    for i in range(30):  # July to September
        at = dt.datetime(2026, 7, 20, 10) + dt.timedelta(days=2 * i)
        shop.chat("ABCD"[i % 4], f"t{i}", at)
        shop.order(f"t{i}", at + dt.timedelta(hours=2), f"{10 + i}.00", refund="1.00" if i % 5 == 0 else "0.00")
    shop.load()
    return shop


def test_month_ranges_cut_at_month_boundaries():
    assert month_ranges(dt.date(2026, 1, 30), dt.date(2026, 3, 2)) == [
        (dt.date(2026, 1, 30), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 2)),
    ]


@pytest.mark.django_db
def test_recompute_command_rebuilds_what_was_lost(tmp_path, capsys):
    shop = _shop(tmp_path)
    expected = _rows()
    MemberDay.objects.all().delete()
    StoreDay.objects.filter(date__range=(dt.date(2026, 8, 1), dt.date(2026, 8, 31))).delete()
    call_command("recompute_kpis", "--store", shop.store.name, "--start", "2026-08-01", "--end", "2026-08-31")
    assert sorted(StoreDay.objects.values_list("date", "orders_placed", "paid_orders", "gmv_cents")) == expected[2]
    call_command("recompute_kpis", "--full")
    assert _rows() == expected
    assert "done in" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_full_recompute_fans_out_through_a_real_worker(tmp_path):
    from metrics.tasks import kpis_full_recompute_signature

    shop = _shop(tmp_path)
    expected = _rows()
    for model in (MemberDay, InquiryBuyerDay, StoreDay, StoreBuyerDay):
        model.objects.all().delete()
    signature = kpis_full_recompute_signature([shop.store.pk])
    # One store: attribution, then a group of its three months (July, August, September).
    assert len(signature.tasks) == 1 and len(signature.tasks[0].tasks[1].tasks) == 3
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        signature.apply_async().get(timeout=120)
    assert _rows() == expected


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_recomputes_of_one_partition_at_once_never_double_count(tmp_path):
    shop = _shop(tmp_path)
    expected = _rows()
    failures = []

    def run():
        try:
            for _ in range(3):
                rollup_partition_recompute(store=shop.store, start=dt.date(2026, 7, 1), end=dt.date(2026, 9, 30))
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert _rows() == expected


@pytest.mark.django_db
def test_an_imports_refresh_lasts_from_its_kpis_to_its_warm_up(tmp_path, monkeypatch):
    from metrics import tasks
    from metrics.dashboards.pages import team_dashboard_cached
    from metrics.kpis.cache import data_versions, stores_refreshing
    from metrics.models import ImportBatch
    from perfmgmt.common.periods import DEFAULT_PRESET, period_resolve, store_today

    shop = _shop(tmp_path)
    other = Store.objects.create(name="另一家店")
    queued = []
    monkeypatch.setattr(
        tasks, "chain", lambda *steps: type("Chain", (), {"delay": lambda self: queued.append(steps)})()
    )
    batch = ImportBatch.objects.filter(kind="orders").latest("pk")
    period = period_resolve(preset=DEFAULT_PRESET, today=store_today(shop.store))
    team_dashboard_cached(team=shop.team, preset=DEFAULT_PRESET, period=period)  # seen before the import
    versions = data_versions([shop.store.pk])
    tasks.kpis_after_import_task(batch.pk)
    assert data_versions([shop.store.pk]) != versions  # the KPIs changed the store's data
    # The KPIs are done and the store's warm-up is queued: until it ends, pages from before are served.
    assert len(queued) == 1 and stores_refreshing(store_ids=[shop.store.pk])
    assert not stores_refreshing(store_ids=[other.pk])
    assert tasks.dashboards_warm_task(shop.store.pk) > 0
    assert not stores_refreshing(store_ids=[shop.store.pk])
    # The warm-up computed the new data's pages (not the old ones the refresh was serving).
    monkeypatch.setattr("metrics.dashboards.pages.team_dashboard_get", lambda **kw: 1 / 0)
    assert team_dashboard_cached(team=shop.team, preset=DEFAULT_PRESET, period=period).team == shop.team

    # A warm-up that fails ends the refresh all the same (fresh pages, slower, rather than old ones).
    tasks.kpis_after_import_task(batch.pk)
    assert stores_refreshing(store_ids=[shop.store.pk])
    monkeypatch.setattr("metrics.dashboards.warmup.dashboards_warm", lambda **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tasks.dashboards_warm_task(shop.store.pk)
    assert not stores_refreshing(store_ids=[shop.store.pk])

    # KPIs that fail leave no refresh behind: no warm-up would end it.
    monkeypatch.setattr("metrics.kpis.services.kpis_after_import", lambda **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tasks.kpis_after_import_task(batch.pk)
    assert not stores_refreshing(store_ids=[shop.store.pk])
