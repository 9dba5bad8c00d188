"""What /healthz reports: each dependency of the product (database, cache, broker, a worker seen
recently), each check bounded in time, and the heartbeat that workers write for the last one
(docs/faults.md, "Redis down while pages are read"; docs/deploy.md, health checks)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.core.cache import caches
from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# A worker's main process writes its heartbeat this often (seconds)...
HEARTBEAT_SECONDS = 30
# ...and counts as seen while its last one is younger than this (seconds): three beats, so that a
# beat that waited behind a long write (SQLite has one writer at a time; its lock wait is 30 s)
# does not make a live worker look dead.
WORKER_SEEN_SECONDS = 100
# The cache and broker checks run side by side and each gets this long (seconds); their clients'
# own timeouts (0.25 s to connect, 0.5 s to read) end them sooner. This one also bounds what those
# timeouts do not cover (a host name whose lookup hangs).
CHECK_SECONDS = 1.5
# Broker check's socket timeouts (seconds), as the cache's (perfmgmt/cache.py).
BROKER_CONNECT_TIMEOUT_SECONDS = 0.25
BROKER_READ_TIMEOUT_SECONDS = 0.5


def _error(error: BaseException) -> str:
    return f"{error.__class__.__name__}: {error}"[:300]


def database_check() -> str | None:
    """None if the database answers, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return _error(error)
    return None


def cache_check() -> str | None:
    """None if the shared cache answers, else why not. The Redis cache is asked for PONG past its
    circuit breaker; another backend (files under VAR_DIR) must give back what was just written."""
    backend = caches["default"]
    try:
        if hasattr(backend, "ping"):
            backend.ping()
            return None
        token = secrets.token_hex(8)
        backend.set("healthz:probe", token, 60)
        if backend.get("healthz:probe") != token:
            return "the cache did not keep a value"
    except Exception as error:
        return _error(error)
    return None


def broker_check() -> str | None:
    """None if the task broker takes messages, else why not: Redis answers PING; the file broker's
    queue folder is a folder this process may write into."""
    from perfmgmt.celery import app

    url = app.conf.broker_url or ""
    scheme = url.split("://", 1)[0]
    try:
        if scheme in ("redis", "rediss"):
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=BROKER_CONNECT_TIMEOUT_SECONDS,
                socket_timeout=BROKER_READ_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
            )
            try:
                client.ping()
            finally:
                client.close()
        elif scheme == "filesystem":
            folder = (app.conf.broker_transport_options or {}).get("data_folder_in", "")
            if not os.path.isdir(folder):
                return f"the queue folder {folder} is missing"
            if not os.access(folder, os.W_OK):
                return f"the queue folder {folder} cannot be written"
        else:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=BROKER_READ_TIMEOUT_SECONDS)
    except Exception as error:
        return _error(error)
    return None


def worker_check() -> str | None:
    """None if a worker wrote its heartbeat within WORKER_SEEN_SECONDS, else what was last seen."""
    from perfmgmt.models import WorkerHeartbeat

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # tasks run in the process that queues them
    try:
        last = WorkerHeartbeat.objects.order_by("-seen_at").first()
    except Exception as error:
        return _error(error)
    if last is None:
        return "no worker has started"
    age = (timezone.now() - last.seen_at).total_seconds()
    if age > WORKER_SEEN_SECONDS:
        return f"no heartbeat for {age:.0f} s (last: {last.hostname})"
    return None


def _bounded(checks: dict[str, Callable[[], str | None]]) -> dict[str, str | None]:
    """The checks' answers, run side by side, each one given CHECK_SECONDS at most."""
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="healthz")
    futures = {name: pool.submit(check) for name, check in checks.items()}
    deadline = time.monotonic() + CHECK_SECONDS
    answers = {}
    for name, future in futures.items():
        try:
            answers[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            answers[name] = f"no answer within {CHECK_SECONDS} s"
    pool.shutdown(wait=False)  # a check still hanging ends with its own timeout, in its thread
    return answers


def dependencies_check(*, live: bool = False) -> dict[str, str | None]:
    """Each dependency's problem (None: up). `live`: only the database, which this web process
    cannot serve a page without; the cache, the broker and the workers it can do without for a while
    (pages are computed from the database, uploads are refused with their reason)."""
    answers = {"database": database_check()}
    if live:
        return answers
    answers.update(_bounded({"cache": cache_check, "broker": broker_check}))
    answers["worker"] = worker_check()
    return answers


# The heartbeat, in each worker's main process.

_heartbeat_stop = threading.Event()
_heartbeat_thread: threading.Thread | None = None


def worker_heartbeat_write(*, hostname: str, started_at: dt.datetime) -> None:
    """Record that the worker `hostname` is alive now."""
    from perfmgmt.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"pid": os.getpid(), "started_at": started_at, "seen_at": timezone.now()}
    )


def _heartbeat_loop(hostname: str) -> None:
    started_at = timezone.now()
    while True:
        try:
            close_old_connections()
            worker_heartbeat_write(hostname=hostname, started_at=started_at)
        except Exception as error:  # the database away: the next beat tries again
            logger.warning("worker heartbeat not written: %s", _error(error))
        finally:
            connection.close()  # a new connection per beat: one idle connection less per worker
        if _heartbeat_stop.wait(HEARTBEAT_SECONDS):
            return


@worker_ready.connect
def _heartbeat_start(sender=None, **kwargs) -> None:
    """Once the worker takes messages, its main process beats on a thread of its own (not on the
    worker's event loop, which a database write waiting for a lock would stall)."""
    global _heartbeat_thread
    if _heartbeat_thread is not None and _heartbeat_thread.is_alive():
        return  # the consumer was ready again after a lost broker connection
    hostname = getattr(sender, "hostname", None) or f"worker-{os.getpid()}"
    _heartbeat_stop.clear()
    _heartbeat_thread = threading.Thread(target=_heartbeat_loop, args=(hostname,), name="worker-heartbeat", daemon=True)
    _heartbeat_thread.start()


@worker_shutdown.connect
def _heartbeat_end(sender=None, **kwargs) -> None:
    """A worker stopped cleanly removes its heartbeat, so /healthz says at once that it is gone."""
    from perfmgmt.models import WorkerHeartbeat

    _heartbeat_stop.set()
    if _heartbeat_thread is not None:
        _heartbeat_thread.join(timeout=5)
    hostname = getattr(sender, "hostname", None)
    if hostname:
        try:
            WorkerHeartbeat.objects.filter(hostname=hostname).delete()
        except Exception as error:
            logger.warning("worker heartbeat not removed: %s", _error(error))
