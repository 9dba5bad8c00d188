"""Redis stopped right after an import commits: the import's KPI update is not lost. It is recorded
with the import's rows (a Followup), waits while the broker is down, and is delivered once Redis is
back (by the periodic job, or a worker's start); the KPI tables then equal a clean import's
(docs/faults.md, "A follow-up when the broker is down").

Both passes run it: the in-process Celery app and the worker use a private redis-server that the
test stops and starts again on the same port.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation

from metrics import tasks
from metrics.followups.services import followups_deliver, followups_held
from metrics.importing import services as import_services
from metrics.importing.services import chats_import, import_batch_create
from metrics.kpis.segments import buyer_segments_refresh
from metrics.kpis.services import kpis_after_import
from metrics.models import Followup, ImportBatch, ImportKind, ImportStatus, Order
from tests.faults.conftest import wait_until, worker_args
from tests.faults.shopdata import exports_write, facts_only, rollups_snapshot, shop_create
from tests.faults.test_broker_down import PrivateRedis, _free_port, broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(_free_port())
    server.start()
    yield server
    server.stop()


START, DAYS, ORDERS = dt.date(2026, 1, 1), 60, 3_000


def test_redis_stopped_after_an_import_commits_its_kpi_update_waits_and_is_delivered(
    tmp_path, process_env, celery_processes, private_redis, monkeypatch
):
    options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    with broker(private_redis.url, options):
        store = shop_create(start=START)
        chats_file, orders_file = exports_write(tmp_path / "data", orders=ORDERS, start=START, days=DAYS)
        with followups_held():  # the chats' KPIs are updated here, as import_data does
            chats = chats_import(store=None, file=chats_file, user=None)
        kpis_after_import(batch=chats)  # its follow-up done
        batch = import_batch_create(file=orders_file, user=None, kind=ImportKind.ORDERS)
        assert batch.status == ImportStatus.QUEUED

        # Redis stops the moment the import's transaction commits, before anything is published.
        succeeded = import_services._batch_succeeded

        def stop_redis_on_commit(*args, **kwargs):
            transaction.on_commit(private_redis.stop)
            return succeeded(*args, **kwargs)

        monkeypatch.setattr(import_services, "_batch_succeeded", stop_redis_on_commit)
        # The worker's task body, in this process: before, `kpis_after_import_task.delay` raised
        # OperationalError here and the update was lost, the batch reading "succeeded".
        assert tasks.import_batch_run_task(batch.pk) == ImportStatus.SUCCEEDED
        monkeypatch.undo()
        stopped = time.monotonic()

        batch.refresh_from_db()
        assert Order.objects.count() == ORDERS
        followup = Followup.objects.get(batch=batch)
        assert (followup.task, followup.args, followup.status) == (
            "metrics.tasks.kpis_after_import_task",
            [batch.pk],
            "pending",
        )
        assert followup.attempts == 0 and followup.delivered_at is None
        assert batch.kpis_status == "pending"
        with translation.override("en"):
            assert batch.status_label == "Imported; figures updating"
        stale = rollups_snapshot()

        # The periodic job while Redis is still down: nothing lost, nothing raised, still pending.
        report = followups_deliver()
        assert (report.delivered, report.undelivered) == (0, 1)
        assert Followup.objects.get(pk=followup.pk).status == "pending"

        private_redis.start()  # the same port: the app reconnects
        report = followups_deliver()
        assert report.delivered == 1
        followup.refresh_from_db()
        assert followup.status == "queued" and followup.attempts == 1 and followup.delivered_at

        env = {**process_env, "REDIS_URL": private_redis.url}
        worker = celery_processes("worker", worker_args("faults-followup"), env, tmp_path)
        wait_until(
            lambda: ImportBatch.objects.get(pk=batch.pk).kpis_status == "done",
            timeout=180,
            interval=0.2,
            what="the delivered KPI update to finish",
        )
        recovered_s = time.monotonic() - stopped
        assert "follow-ups at the worker's start" in worker.output()
        wait_until(lambda: rollups_snapshot()["BuyerSegmentCount"], timeout=60, what="the RFM summary")
        time.sleep(1)  # the chain's last tasks (targets, warm-up) write no KPI row
        after = rollups_snapshot()
        assert after != stale
        assert Followup.objects.get(pk=followup.pk).status == "done"

    # A clean import: the same facts, the KPIs of each import rebuilt in order, uninterrupted.
    facts_only()
    kpis_after_import(batch=chats)
    kpis_after_import(batch=ImportBatch.objects.get(pk=batch.pk))
    buyer_segments_refresh(store=store)
    assert rollups_snapshot() == after
    print(f"\nKPI update recorded while Redis was down; delivered and done {recovered_s:.1f} s after the stop "
          f"(Redis restart and a worker start included)")  # fmt: skip
