"""The Redis cache fails open (perfmgmt/cache.py): every call on an unreachable Redis is a miss or a
no-op, a connection error keeps this process off Redis for BREAKER_SECONDS, and the outage is
logged once per LOG_INTERVAL_SECONDS. tests/faults/test_cache_down.py runs the pages on it."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache.backends.redis import RedisCacheClient

from perfmgmt import cache as cache_module
from perfmgmt.cache import FailOpenRedisCache, redis_cache_settings


def _refused_url() -> str:
    """A port nothing listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"


@pytest.fixture(autouse=True)
def _fresh_breakers(monkeypatch):
    monkeypatch.setattr(cache_module, "_breakers", {})


@pytest.fixture
def down() -> FailOpenRedisCache:
    entry = redis_cache_settings(url=_refused_url())
    return FailOpenRedisCache(entry["LOCATION"], entry)


def test_every_call_on_an_unreachable_redis_is_a_miss_or_a_no_op(down):
    assert down.get("k") is None and down.get("k", "default") == "default"
    assert down.set("k", 1) is None and down.delete("k") is False
    assert down.add("k", 1) is False and down.touch("k") is False and down.has_key("k") is False
    assert down.get_many(["a", "b"]) == {} and down.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert down.delete_many(["a"]) is None and down.clear() is False
    assert down.get_or_set("k", lambda: "computed") == "computed"  # the caller's value, not an error
    with pytest.raises(ValueError):
        down.incr("counter")  # as for a key that is not there


def test_after_a_connection_error_the_process_stays_off_redis_for_the_breaker_interval(down, monkeypatch):
    calls = []
    original = RedisCacheClient.get

    def counted(self, key, default):
        calls.append(key.rsplit(":", 1)[-1])  # without Django's prefix and version
        return original(self, key, default)

    monkeypatch.setattr(RedisCacheClient, "get", counted)
    assert down.get("first") is None
    assert calls == ["first"]  # tried, refused: the breaker opens
    assert down.get("second") is None and down.get("third") is None
    assert calls == ["first"]  # not tried again while the breaker is open
    # Another cache object of the same Redis (Django makes one per thread) shares the breaker.
    other = FailOpenRedisCache(down._servers[0], redis_cache_settings(url=down._servers[0]))
    assert other.get("fourth") is None and calls == ["first"]

    monkeypatch.setattr(down._breaker, "open_until", 0.0)  # the interval is over
    assert down.get("fifth") is None and calls == ["first", "fifth"]


def test_an_outage_is_logged_once_per_interval_not_once_per_call(down, monkeypatch, caplog):
    monkeypatch.setattr(cache_module, "BREAKER_SECONDS", 0.0)  # every call tries Redis
    with caplog.at_level(logging.WARNING, logger="perfmgmt.cache"):
        for _ in range(20):
            down.get("k")
    lines = [r.getMessage() for r in caplog.records if r.name == "perfmgmt.cache"]
    assert len(lines) == 1 and lines[0].startswith("cache unreachable (ConnectionError")
    assert "pages are computed from the database" in lines[0]


def test_the_health_check_ping_raises_past_the_breaker(down):
    import redis

    down.get("k")  # opens the breaker
    with pytest.raises(redis.exceptions.ConnectionError):
        down.ping()


def test_settings_use_short_timeouts_and_no_retries():
    options = redis_cache_settings(url="redis://127.0.0.1:6379/0")["OPTIONS"]
    assert options["socket_connect_timeout"] <= 0.5 and options["socket_timeout"] <= 0.5
    assert options["retry"].get_retries() == 0
