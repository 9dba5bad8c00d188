"""The shared cache on Redis, failing open: the cache is an optimisation (computed dashboards,
rollup months, the login throttle's history), so a Redis that is stopped, unreachable or silent
makes every call a miss or a no-op and the pages are computed from the database, instead of
answering 500 (docs/faults.md, "Redis down while pages are read").

Django's RedisCache lets redis-py's errors through, and redis-py waits as long as its socket
timeouts allow (none by default: a Redis that accepts connections and never answers hangs the
request). django-redis has IGNORE_EXCEPTIONS for the first, but it still pays one timeout per call:
a dashboard makes a dozen cache calls, so a silent Redis would cost a dozen timeouts per page.
Here, short socket timeouts bound one call, and a circuit breaker bounds the rest: after a
connection error or a timeout, calls skip Redis for BREAKER_SECONDS, then one call tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# Socket timeouts of every cache call (seconds). Redis answers a cache read in well under a
# millisecond on a local network, and a 5 MB rollup month in tens of milliseconds (the read timeout
# bounds each recv, not the whole value); a quarter and a half second leave a wide margin for a busy
# Redis (a fork for a snapshot) while bounding the cost of a dead one.
CONNECT_TIMEOUT_SECONDS = 0.25
READ_TIMEOUT_SECONDS = 0.5
# After a connection error or a timeout, calls of this process skip Redis this long (seconds): a
# dead Redis then costs each web process at most one timeout (0.5 s) per 10 s, not one per call,
# and a Redis that is back is used again within 10 s.
BREAKER_SECONDS = 10.0
# An outage is logged when it starts, then at most once per this interval per process (seconds),
# with the number of calls that failed open since the last line.
LOG_INTERVAL_SECONDS = 60.0


def redis_cache_settings(*, url: str) -> dict[str, Any]:
    """The CACHES entry of the shared cache on the Redis at `url`."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "BACKEND": "perfmgmt.cache.FailOpenRedisCache",
        "LOCATION": url,
        # redis-py connection-pool arguments (Django passes OPTIONS through).
        "OPTIONS": {
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": READ_TIMEOUT_SECONDS,
            # No retry inside a call: the breaker decides when to try again.
            "retry": Retry(NoBackoff(), 0),
        },
    }


class _Breaker:
    """The circuit breaker of one Redis location, shared by the threads of a process: Django makes
    a cache object per thread (runserver and threaded workers make one per request), so the state
    cannot live on the cache object."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open_until = 0.0  # time.monotonic() before which calls skip Redis
        self.logged_at: float | None = None  # when the outage was last logged; None: no outage
        self.failed_since_log = 0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def failed(self, error: Exception, *, trip: bool) -> None:
        now = time.monotonic()
        with self.lock:
            if trip:
                self.open_until = now + BREAKER_SECONDS
            self.failed_since_log += 1
            if self.logged_at is not None and now - self.logged_at < LOG_INTERVAL_SECONDS:
                return
            first, failed = self.logged_at is None, self.failed_since_log
            self.logged_at, self.failed_since_log = now, 0
        logger.warning(
            "cache unreachable (%s: %s); pages are computed from the database%s",
            error.__class__.__name__,
            error,
            "" if first else f" ({failed} cache calls failed open in the last {LOG_INTERVAL_SECONDS:.0f} s)",
        )

    def succeeded(self) -> None:
        if self.logged_at is None and not self.open_until:
            return
        with self.lock:
            outage, self.logged_at, self.failed_since_log, self.open_until = self.logged_at, None, 0, 0.0
        if outage is not None:
            logger.warning("cache reachable again")


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache whose calls never raise for an unreachable Redis: a read is a miss
    (the default), a write or delete does nothing, `add` and `touch` say False, `set_many` says
    every key failed, `incr` says the key is not there (ValueError, as for a missing key)."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        with _breakers_lock:
            self._breaker = _breakers.setdefault(",".join(self._servers), _Breaker())

    def _call(self, method: Callable[..., Any], fallback: Callable[[], Any], *args, **kwargs) -> Any:
        from redis.exceptions import ConnectionError, RedisError, TimeoutError

        if not self._breaker.allows():
            return fallback()
        try:
            result = method(*args, **kwargs)
        except (ConnectionError, TimeoutError, OSError) as error:
            self._breaker.failed(error, trip=True)
            return fallback()
        except RedisError as error:
            # Redis answered with an error (out of memory, a read-only replica): this call fails
            # open, and the next ones still try, since the server is there.
            self._breaker.failed(error, trip=False)
            return fallback()
        self._breaker.succeeded()
        return result

    def ping(self) -> None:
        """Ask Redis for PONG, past the breaker (the health check's question); raises if it does
        not answer within the socket timeouts. An answer closes the breaker."""
        self._cache.get_client(None).ping()
        self._breaker.succeeded()

    # Django's cache API: each call through the breaker.

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().add, lambda: False, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call(super().get, lambda: default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set, lambda: None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, lambda: False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call(super().delete, lambda: False, key, version)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, dict, keys, version)

    def has_key(self, key, version=None):
        return self._call(super().has_key, lambda: False, key, version)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (cache unreachable).")

        return self._call(super().incr, missing, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set_many, lambda: list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call(super().delete_many, lambda: None, keys, version)

    def clear(self):
        return self._call(super().clear, lambda: False)
