"""Two beat schedulers: no periodic job is sent twice, and when the leader dies the other takes over
within the lock's TTL (perfmgmt/beat.py, docs/faults.md)."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.conf import settings

from perfmgmt.beat import LOCK_KEY, FileLeaderLock, RedisLeaderLock, leader_lock_create
from tests.faults.conftest import wait_until, worker_args

TTL_S = 3  # the beats' CELERY_BEAT_LOCK_TTL here; 60 s in production
PROBE = "faults-probe"
SENDING = f"Sending due task {PROBE}"
LEADS = "holds the leader lock"


@pytest.fixture
def fresh_lock(settings, tmp_path):
    """This test's lock: a file under tmp_path, or the Redis key cleared before and after."""
    settings.CELERY_BROKER_DIR = tmp_path
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(LOCK_KEY)
        yield
        client.delete(LOCK_KEY)
    else:
        yield


def test_the_leader_lock_is_held_by_one_holder_at_a_time(fresh_lock):
    first, second = leader_lock_create(), leader_lock_create()
    assert isinstance(first, RedisLeaderLock if settings.REDIS_URL else FileLeaderLock)
    assert first.hold() and first.hold()  # taken, then renewed
    assert not second.hold()
    first.release()
    assert second.hold() and not first.hold()
    second.release()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the file lock has no TTL: the kernel drops it with its process")
def test_an_unrenewed_redis_lock_expires_and_its_old_holder_cannot_renew_it(fresh_lock):
    first = RedisLeaderLock(url=settings.REDIS_URL, ttl=1)
    second = RedisLeaderLock(url=settings.REDIS_URL, ttl=1)
    assert first.hold() and not second.hold()
    time.sleep(1.3)  # past the TTL: the leader "died" without renewing
    assert second.hold()
    assert not first.hold()  # the old holder finds the key is another's and stays idle


def _probe_times(path) -> list[float]:
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def _sends(path) -> list[tuple[float, int]]:
    """(time, beat pid) of every probe send (tests/faults/tasks.py)."""
    if not path.exists():
        return []
    return [(float(at), int(pid)) for at, pid in (line.split() for line in path.read_text().splitlines())]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_beats_send_each_run_once_and_the_other_takes_over_when_the_leader_dies(
    tmp_path, process_env, celery_processes, fresh_lock
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from perfmgmt.celery import app

    probe_log = tmp_path / "probe.log"
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=PROBE, task="tests.faults.tasks.beat_probe", interval=every, args=json.dumps([str(probe_log)])
    )
    app.control.purge()
    env = {**process_env, "CELERY_BEAT_LOCK_TTL": str(TTL_S)}
    worker = celery_processes("worker", worker_args("faults-beat"), env, tmp_path)
    beats = [
        celery_processes(
            name,
            ["beat", "--loglevel", "info", "--pidfile=", "--schedule", str(tmp_path / name), "--max-interval", "1"],
            env,
            tmp_path,
        )
        for name in ("beat-1", "beat-2")
    ]
    worker.wait_for_output("ready.")
    sends_log = tmp_path / "sends.log"
    leader = wait_until(
        lambda: next((beat for beat in beats if LEADS in beat.output()), None), timeout=60, what="a leader"
    )
    follower = beats[1 - beats.index(leader)]
    wait_until(lambda: len(_sends(sends_log)) >= 8, timeout=60, what="8 sends of the probe")

    # Both beats are up and ticking; only the leader sends.
    assert follower.process.poll() is None and leader.process.poll() is None
    assert LEADS not in follower.output() and SENDING not in follower.output()

    leader.kill_all()
    killed = time.time()
    wait_until(lambda: LEADS in follower.output(), timeout=TTL_S + 20, what="the follower to take over")
    wait_until(lambda: len([s for s in _sends(sends_log) if s[0] > killed]) >= 4, timeout=30, what="4 sends more")
    follower.stop()

    sends = _sends(sends_log)
    before, after = [s for s in sends if s[0] <= killed], [s for s in sends if s[0] > killed]
    assert {pid for _, pid in before} == {leader.pid} and {pid for _, pid in after} == {follower.pid}
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sends)]
    takeover_s = after[0][0] - before[-1][0]
    # Once a second, never twice for one tick: two beats sending would put sends a few ms apart,
    # and a new leader starting from a stale schedule would send at once after taking over.
    assert min(gaps) > 0.5, [f"{at:.3f} {pid}" for at, pid in sends]
    # The lock expires TTL_S after the leader's last renewal; the follower tries every second.
    assert takeover_s < TTL_S + 3, takeover_s
    # And each send ran once (a leader killed between sending signal and publish: one run fewer).
    wait_until(lambda: len(_probe_times(probe_log)) >= len(sends) - 1, timeout=30, what="every sent run")
    time.sleep(1.5)
    assert len(sends) - 1 <= len(_probe_times(probe_log)) <= len(sends)
    print(
        f"\n{len(before)} sends by the leader, {len(after)} by the other beat after the leader was killed; "
        f"smallest gap {min(gaps):.2f} s; the new leader's first send {takeover_s:.1f} s after the old one's last "
        f"(TTL {TTL_S} s); {len(_probe_times(probe_log))} runs"
    )
