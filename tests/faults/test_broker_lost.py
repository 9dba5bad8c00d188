"""Redis stopped while a worker runs a task: the worker's main process survives, reconnects when
Redis is back, finishes and acknowledges the interrupted task and takes new ones (docs/faults.md).

Celery 5.7.0's own consumer killed the worker here (perfmgmt.worker's keeps it alive): on the connection loss it collected the broken connection,
then closed it once more; the second close restored the running task's message through a
transport whose client the first had already cleared, and `_connparams` raised
AttributeError("'NoneType' object has no attribute 'hostname'"), "Unrecoverable error". It takes
a message in flight (acks_late) and a second fetch outstanding (concurrency 2, prefetch 1, as
production runs), which is why a worker with nothing to do survived the same stop.

Both passes run this: the worker is pointed at a private redis-server (append-only, as in
docker-compose.yml) that the test stops and starts again.
"""

from __future__ import annotations

import shutil
import time

import pytest
import redis
from django.conf import settings

from tests.faults.conftest import wait_until
from tests.faults.tasks import sleep_probe
from tests.faults.test_broker_down import PrivateRedis, _free_port, broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Long enough to outlast the outage and the reconnection (backoff 2, 4, 6 … s): the task is still
# running when the worker is connected again. Seconds.
TASK_S = 25
# Redis stays down this long after the worker noticed: about one reconnection attempt. Seconds.
OUTAGE_S = 3


def _probe_lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_redis_stopped_mid_task_the_worker_survives_and_recovers(tmp_path, process_env, celery_processes):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(_free_port(), data_dir=tmp_path / "redis")
    server.start()
    probe = tmp_path / "probe.txt"
    try:
        # As production runs it: a prefork pool of 2, gossip, mingle and heartbeats on.
        env = {**process_env, "REDIS_URL": server.url}
        worker = celery_processes(
            "worker",
            ["worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "info", "--hostname", "lost@%h"],
            env,
            tmp_path,
        )
        worker.wait_for_output("ready.")

        with broker(server.url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
            interrupted = sleep_probe.delay(str(probe), TASK_S).id
            wait_until(lambda: f"start {interrupted}" in _probe_lines(probe), timeout=60, what="the task to start")

            server.stop()
            stopped = time.monotonic()
            worker.wait_for_output("Connection to broker lost")
            # The worker has closed the broken connection and is retrying (or has died trying).
            wait_until(
                lambda: "Trying again" in worker.output() or worker.process.poll() is not None,
                timeout=30,
                what="the worker's first reconnection attempt",
            )
            time.sleep(OUTAGE_S)
            assert worker.process.poll() is None, f"the worker exited:\n{worker.output()[-4000:]}"
            assert "Unrecoverable error" not in worker.output()

            server.start()
            restarted = time.monotonic()
            wait_until(
                lambda: worker.output().count("Connected to redis://") >= 2 or worker.process.poll() is not None,
                timeout=60,
                what="the worker to reconnect",
            )
            assert worker.process.poll() is None, f"the worker exited:\n{worker.output()[-4000:]}"
            reconnected = time.monotonic()

            # The interrupted task was never stopped: it ends, once, and its message is acknowledged
            # on the new connection (nothing left in Redis to hand out again an hour later).
            wait_until(lambda: f"end {interrupted}" in _probe_lines(probe), timeout=TASK_S + 60, what="its end")
            client = redis.Redis.from_url(server.url)
            wait_until(lambda: client.hlen("unacked") == 0, timeout=30, what="its acknowledgement")
            assert _probe_lines(probe).count(f"start {interrupted}") == 1

            # A task queued after the outage is taken by the same worker.
            queued = time.monotonic()
            fresh = sleep_probe.delay(str(probe), 0).id
            wait_until(lambda: f"end {fresh}" in _probe_lines(probe), timeout=60, what="a new task to run")
            taken = time.monotonic()
        assert worker.process.poll() is None
        assert client.llen("celery") == 0 and client.hlen("unacked") == 0
        print(
            f"\nworker alive; reconnected {reconnected - restarted:.1f} s after Redis was back "
            f"(down {restarted - stopped:.1f} s); a new task ran {taken - queued:.1f} s after it was queued"
        )
    finally:
        server.stop()
