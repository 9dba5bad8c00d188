"""A Celery worker killed with SIGKILL in the middle of a KPI recompute: the task runs again and the
rollups equal, row for row, those of an uninterrupted run on the same data (docs/faults.md)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from django.conf import settings

from metrics.importing.services import chats_import, orders_import
from metrics.models import MemberDay
from metrics.tasks import kpis_recompute_range_task
from perfmgmt.celery import app
from tests.faults.conftest import wait_until, worker_args
from tests.faults.shopdata import exports_write, facts_only, rollups_snapshot, shop_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

START, DAYS = dt.date(2026, 1, 1), 180
END = START + dt.timedelta(days=DAYS)
# Enough for a recompute of a few seconds (attribution, then one partition per month, then the
# RFM summary), so that the kill lands between two partitions' commits.
ORDERS = 20_000


def _seed(tmp_path):
    store = shop_create(start=START)
    chats, orders = exports_write(tmp_path / "data", orders=ORDERS, start=START, days=DAYS)
    for batch in (chats_import(store=None, file=chats, user=None), orders_import(store=None, file=orders, user=None)):
        assert batch.status == "succeeded", batch.error_message
    return store


def _uninterrupted(store) -> dict[str, list[tuple]]:
    """The task's body run here, start to end, then reset: what the killed run must end up as."""
    kpis_recompute_range_task.apply(args=(store.pk, START.isoformat(), END.isoformat())).get()
    expected = rollups_snapshot()
    assert len(expected["MemberDay"]) > 1000 and len(expected["StoreDay"]) > DAYS - 5
    assert sum(1 for row in expected["Order credit"] if row[1] is not None) > ORDERS // 2
    facts_only()
    assert rollups_snapshot() != expected
    return expected


def _started(result) -> int:
    """The pid of the pool process running the task, once the result store says STARTED."""
    wait_until(lambda: result.state == "STARTED", timeout=60, what="the task to start")
    return result.info["pid"]


def test_pool_process_killed_mid_recompute_the_task_runs_again_to_the_same_rows(
    tmp_path, process_env, celery_processes
):
    store = _seed(tmp_path)
    expected = _uninterrupted(store)
    app.control.purge()
    worker = celery_processes("worker", worker_args("faults-kill-child"), process_env, tmp_path)
    worker.wait_for_output("ready.")

    result = kpis_recompute_range_task.delay(store.pk, START.isoformat(), END.isoformat())
    child = _started(result)
    assert child != worker.pid
    # Some months rebuilt, not all: the kill lands in the middle of the rebuild.
    wait_until(lambda: MemberDay.objects.exists(), timeout=60, interval=0.01, what="a first partition")
    os.kill(child, signal.SIGKILL)
    killed = time.monotonic()
    at_kill = MemberDay.objects.count()
    assert 0 < at_kill < len(expected["MemberDay"]), (at_kill, len(expected["MemberDay"]))

    # acks_late + reject_on_worker_lost: the main process puts the message back and a new pool
    # process takes it; the task id is the same, its result the second run's.
    assert result.get(timeout=180)["partitions"] >= 6
    rerun_s = time.monotonic() - killed
    log = worker.output()
    assert "signal 9 (SIGKILL)" in log
    assert log.count(f"[{result.id}] received") == 2, log[-3000:]
    assert rollups_snapshot() == expected
    print(f"\nkilled pool process {child} with {at_kill}/{len(expected['MemberDay'])} member-days rebuilt; "
          f"redelivered once, rerun finished {rerun_s:.1f} s after the kill")  # fmt: skip


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="the file broker (no REDIS_URL) deletes a message from its folder when it hands it to a "
    "worker and keeps the unacknowledged ones in that worker's memory: a worker killed as a whole "
    "loses its message (docs/faults.md); the Redis pass tests this",
)
def test_worker_killed_as_a_whole_mid_recompute_the_message_returns_after_the_visibility_timeout(
    tmp_path, process_env, celery_processes
):
    store = _seed(tmp_path)
    expected = _uninterrupted(store)
    app.control.purge()
    first = celery_processes("worker-1", worker_args("faults-kill-all-1"), process_env, tmp_path)
    first.wait_for_output("ready.")

    result = kpis_recompute_range_task.delay(store.pk, START.isoformat(), END.isoformat())
    _started(result)
    taken = time.time()
    wait_until(lambda: MemberDay.objects.exists(), timeout=60, interval=0.01, what="a first partition")
    first.kill_all()  # main process and pool: nobody is left to give the message back
    killed = time.monotonic()
    at_kill = MemberDay.objects.count()
    assert 0 < at_kill < len(expected["MemberDay"]), (at_kill, len(expected["MemberDay"]))
    assert result.state == "STARTED"

    # The message waits in Redis's unacked set until the visibility timeout (3600 s in production)
    # has passed since it was taken; a worker restores such messages when it starts and then every
    # few minutes. Here the restarted worker uses 3 s, so the test need not wait an hour.
    visibility_s = 3
    time.sleep(max(0.0, taken + visibility_s + 0.5 - time.time()))
    env = {**process_env, "CELERY_BROKER_VISIBILITY_TIMEOUT": str(visibility_s)}
    second = celery_processes("worker-2", worker_args("faults-kill-all-2"), env, tmp_path)
    assert result.get(timeout=180)["partitions"] >= 6
    rerun_s = time.monotonic() - killed
    assert f"[{result.id}] received" in second.output()
    assert rollups_snapshot() == expected
    print(f"\nkilled the worker with {at_kill}/{len(expected['MemberDay'])} member-days rebuilt; "
          f"redelivered by the restarted worker, finished {rerun_s:.1f} s after the kill")  # fmt: skip
