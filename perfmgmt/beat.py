"""Celery beat behind a leader lock: two beat processes never both send a periodic job.

django-celery-beat's DatabaseScheduler keeps the schedule in the database but takes no lock, so a
second `celery beat` (a restart that overlaps the old process, a second host, a worker started
with -B beside the beat service) would send every nightly recompute, target check and statement
run twice. LockedDatabaseScheduler sends only while it holds a leader lock:

- with REDIS_URL: a Redis key set with SET NX PX and a random token (redis-py's Lock), renewed at
  every tick, at least every CELERY_BEAT_LOCK_TTL / 3 seconds. A leader that dies stops renewing;
  another beat takes the key once it expires, within CELERY_BEAT_LOCK_TTL seconds;
- without (the embedded default, one machine): an exclusive flock on a file beside the file
  broker. The kernel drops it the moment its process dies, so a waiting beat takes over at its
  next tick.

Followers tick too, only to try the lock. A process that becomes leader first reads the schedule
back from the database, where the last leader saved each job's last run just before sending it,
so a job the old leader had just sent is not sent again (docs/faults.md).

celery-redbeat does leader election too, but it replaces the database schedule (and the admin's
view of it) with one kept in Redis and needs Redis, which the embedded default has not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from celery.utils.log import get_logger
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = get_logger(__name__)

LOCK_KEY = "perfmgmt:beat:leader"


class RedisLeaderLock:
    """A Redis key held while renewed; another holder's key is left alone (compare token)."""

    def __init__(self, *, url: str, ttl: float) -> None:
        import redis

        # Short timeouts: a Redis that does not answer makes this beat a follower, not a hung one.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)  # seconds
        self.lock = self.client.lock(LOCK_KEY, timeout=ttl, blocking=False, thread_local=False)
        self.held = False

    def hold(self) -> bool:
        """Take the lock, or renew it when held; False while another process holds it."""
        import redis

        try:
            if self.held:
                self.lock.reacquire()  # resets the TTL; raises when the key expired or is another's
            else:
                self.held = self.lock.acquire(blocking=False)
        except (redis.exceptions.LockError, redis.exceptions.RedisError) as error:
            if self.held:
                logger.warning("beat: the leader lock could not be renewed: %s", error)
            self.held = False
        return self.held

    def release(self) -> None:
        import redis

        if self.held:
            self.held = False
            # Expired or unreachable: the key goes away by itself.
            with contextlib.suppress(redis.exceptions.LockError, redis.exceptions.RedisError):
                self.lock.release()


class FileLeaderLock:
    """An exclusive flock on a file: held until released or until the process dies."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        self.handle = None

    def hold(self) -> bool:
        if self.handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the only descriptor releases the flock
            self.handle = None


def leader_lock_create() -> RedisLeaderLock | FileLeaderLock:
    """The lock every beat of this installation competes for."""
    if settings.REDIS_URL:
        return RedisLeaderLock(url=settings.REDIS_URL, ttl=settings.CELERY_BEAT_LOCK_TTL)
    return FileLeaderLock(path=Path(settings.CELERY_BROKER_DIR) / "beat.lock")


class LockedDatabaseScheduler(DatabaseScheduler):
    """DatabaseScheduler that sends only while it holds the installation's leader lock."""

    def __init__(self, *args, **kwargs) -> None:
        self.leader_lock = leader_lock_create()
        self.is_leader = False
        super().__init__(*args, **kwargs)
        # Renewed at every tick: a tick at least every third of the TTL keeps the lock with margin.
        self.max_interval = min(self.max_interval, settings.CELERY_BEAT_LOCK_TTL / 3)  # seconds

    def tick(self, *args, **kwargs) -> float:
        was_leader, self.is_leader = self.is_leader, self.leader_lock.hold()
        if self.is_leader and not was_leader:
            logger.info("beat: pid %s holds the leader lock and sends the periodic jobs", os.getpid())
            # What the previous leader sent is in the database (saved before each send, below), not
            # in the schedule this process read when it started.
            self._dirty.clear()
            self._schedule = self.all_as_schedule()
            self._heap = None
        elif was_leader and not self.is_leader:
            logger.warning("beat: pid %s lost the leader lock and stops sending", os.getpid())
            self._dirty.clear()  # runs the new leader records are newer than ours
        if not self.is_leader:
            return self.max_interval
        return super().tick(*args, **kwargs)

    def reserve(self, entry):
        new_entry = super().reserve(entry)
        # DatabaseScheduler leaves the sent entry in the schedule with its previous last run: a
        # heap rebuilt from the schedule without reading the database again (the first ticks
        # after taking over) would find the job due again and send it twice.
        if self._schedule is not None and entry.name in self._schedule:
            self._schedule[entry.name] = new_entry
        # The run is saved before it is sent (tick sends it next), not at the next periodic sync
        # (3 minutes): a beat taking over after this one dies reads it and does not send the job
        # again. Killed between the two, the run is lost rather than sent twice, as Celery's own
        # schedulers do (they record a run before sending it).
        self._do_sync()
        return new_entry

    def close(self) -> None:
        try:
            super().close()
        finally:
            # A beat stopped cleanly lets a waiting one take over at once, not after the TTL.
            self.leader_lock.release()
