"""Redis down or silent while people read pages: the cache is an optimisation, so the dashboards,
the KPI API and API login answer from the database with the same figures, within a bounded time;
uploads are refused with their reason (503); /healthz names what is down (docs/faults.md, section
"Redis down while pages are read").

Both passes run these: the cache (and, for the upload and /healthz, the in-process Celery app) is
pointed at a private redis-server that the test stops, or at a socket that never answers.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time

import pytest
import redis
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.kpis.frames import rollup_memory_clear
from perfmgmt.cache import redis_cache_settings
from perfmgmt.health import WORKER_SEEN_SECONDS, worker_heartbeat_write
from perfmgmt.models import WorkerHeartbeat
from tests.factories import PASSWORD
from tests.faults.conftest import wait_until, worker_args
from tests.faults.test_broker_down import MESSAGE, _api_upload, broker, private_redis  # noqa: F401
from tests.metrics.test_dashboard_views import sales  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Generous bounds for one request (seconds), on a machine shared with other test runs; the measured
# figures are in docs/faults.md. Before the fix, a stopped Redis answered 500 at once and a silent one
# hung each request (no socket timeout at all).
REQUEST_LIMIT_S = 4
HEALTHZ_LIMIT_S = 4
# Each page's form token differs; everything else of a page must be the same with Redis down.
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _answers(org, *, pages) -> tuple[dict, dict]:
    """What each endpoint answers the store's manager: {name: body} and {name: seconds}."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token(org)}")
    requests = {
        "kpis": lambda: api.get("/api/kpis/", {"level": "member", "page_size": 1000}),
        "team": lambda: api.get("/api/dashboards/team/", {"team": org.x.pk}),
        "stores": lambda: api.get("/api/dashboards/stores/"),
        "token": lambda: APIClient().post("/api/auth/token/", {"username": "manager_s1", "password": PASSWORD}),
        "team page": lambda: pages.get("/dashboard/", {"team": org.x.pk, "preset": "last30"}),
        "member page": lambda: pages.get(f"/dashboard/members/{org.a.pk}/", {"preset": "last30"}),
        "stores page": lambda: pages.get("/dashboard/stores/"),
    }
    bodies, seconds = {}, {}
    for name, request in requests.items():
        rollup_memory_clear()  # each process's own copy of the rollups: read them from the cache or the database
        started = time.monotonic()
        response = request()
        seconds[name] = time.monotonic() - started
        assert response.status_code == 200, (name, response.status_code, response.content[:500])
        if name.endswith("page"):
            html = response.content.decode()
            assert 'data-kpi="' in html or 'data-testid="stores"' in html, name  # figures, not an empty state
            bodies[name] = CSRF_TOKEN.sub("", html)
        else:
            bodies[name] = response.json()
    return bodies, seconds


def _token(org) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=org.users["manager_s1"])[0].key


def _healthz(client) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = client.get("/healthz")
    return response.status_code, response.json(), time.monotonic() - started


def _other_pages_answer(client, org) -> None:
    """Pages that do not read the cache at all still answer (sessions, messages and login lockouts
    live in the database, not in the cache)."""
    for path in ("/", "/data/imports/", "/data/imports/new/", "/org/members/", "/targets/", "/appraisals/", "/pay/"):
        response = client.get(path, follow=True)
        assert response.status_code == 200, (path, response.status_code)


@pytest.fixture
def heartbeat(transactional_db):
    """A worker seen just now, so that /healthz's answer is about the cache and the broker only."""
    worker_heartbeat_write(hostname="celery@test", started_at=timezone.now())


@pytest.mark.usefixtures("sales", "heartbeat")
def test_redis_stopped_pages_and_api_serve_from_the_database(org, client_for, settings, private_redis):  # noqa: F811
    settings.CACHES = {"default": redis_cache_settings(url=private_redis.url)}
    pages = client_for(org.users["manager_s1"])
    expected, _ = _answers(org, pages=pages)
    assert redis.Redis.from_url(private_redis.url).dbsize() > 0  # the pages were cached in Redis
    status, body, _ = _healthz(pages)
    assert status == 200 and body["status"] == "ok", body

    private_redis.stop()
    with broker(private_redis.url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
        got, seconds = _answers(org, pages=pages)
        assert got == expected
        assert max(seconds.values()) < REQUEST_LIMIT_S, seconds
        _other_pages_answer(pages, org)

        # API login: the throttle fails open; django-axes (in the database) still locks a username out.
        wrong = [
            APIClient().post("/api/auth/token/", {"username": "staff_b", "password": "wrong"}).status_code
            for _ in range(settings.AXES_FAILURE_LIMIT)
        ]
        assert wrong[0] == 400 and wrong[-1] == 429, wrong  # the last failure locks the pair out
        assert APIClient().post("/api/auth/token/", {"username": "staff_b", "password": PASSWORD}).status_code == 429

        # Uploads are refused with their reason, as in docs/faults.md section 2.
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {_token(org)}")
        response, upload_seconds = _api_upload(api, org, "cache-down")
        assert response.status_code == 503 and response.json()["error_message"].startswith(MESSAGE)

        status, body, healthz_seconds = _healthz(pages)
        assert status == 503, body
        assert body["down"] == ["cache", "broker"] and body["database"] == body["worker"] == "ok", body
        assert healthz_seconds < HEALTHZ_LIMIT_S

        # Redis back: /healthz says so, and the pages use the cache again.
        private_redis.start()
        status, body, _ = _healthz(pages)
        assert status == 200 and body["down"] == [], body
        assert _answers(org, pages=pages)[0] == expected
        assert redis.Redis.from_url(private_redis.url).dbsize() > 0
    print(
        "\nRedis stopped: "
        + ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items())
        + f", upload {upload_seconds:.2f} s, healthz {healthz_seconds:.2f} s"
    )


@pytest.mark.usefixtures("sales", "heartbeat")
def test_redis_that_never_answers_pages_and_api_serve_within_bounded_time(org, client_for, settings):
    pages = client_for(org.users["manager_s1"])
    expected, _ = _answers(org, pages=pages)  # the test's own cache
    # A listening socket that never accepts: connections hang as on a frozen or unreachable host.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings.CACHES = {"default": redis_cache_settings(url=url)}
        with broker(url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
            got, seconds = _answers(org, pages=pages)
            assert got == expected
            assert max(seconds.values()) < REQUEST_LIMIT_S, seconds
            status, body, healthz_seconds = _healthz(pages)
    assert status == 503 and body["down"] == ["cache", "broker"], body
    assert healthz_seconds < HEALTHZ_LIMIT_S
    print(
        "\nsilent Redis: "
        + ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items())
        + f", healthz {healthz_seconds:.2f} s"
    )


def test_healthz_sees_a_worker_by_its_heartbeat(client, process_env, celery_processes, tmp_path):
    """A real worker writes its heartbeat (in both passes: SQLite and the file broker, PostgreSQL and
    Redis); /healthz answers 200 while it beats and 503 naming the worker once it is gone."""
    status, body, _ = _healthz(client)
    assert status == 503 and body["down"] == ["worker"] and body["worker"] == "no worker has started", body

    worker = celery_processes("worker", worker_args("beating"), process_env, tmp_path)
    wait_until(lambda: WorkerHeartbeat.objects.exists(), timeout=60, what="the worker's heartbeat")
    beat = WorkerHeartbeat.objects.get()
    assert beat.hostname.startswith("beating@") and beat.pid == worker.pid
    status, body, _ = _healthz(client)
    assert status == 200 and body == {
        "status": "ok",
        "down": [],
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "worker": "ok",
    }, body
    # Liveness (the web container's health check) asks for the database only.
    assert client.get("/healthz?live").json() == {"status": "ok", "down": [], "database": "ok"}

    worker.stop()  # a clean stop removes the heartbeat
    assert not WorkerHeartbeat.objects.exists()
    status, body, _ = _healthz(client)
    assert status == 503 and body["down"] == ["worker"], body

    # A worker killed without a word leaves its last heartbeat, which ages out.
    worker_heartbeat_write(hostname="celery@killed", started_at=timezone.now())
    assert _healthz(client)[0] == 200
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - dt.timedelta(seconds=WORKER_SEEN_SECONDS + 1))
    status, body, _ = _healthz(client)
    assert status == 503 and body["worker"].startswith("no heartbeat for ") and "celery@killed" in body["worker"]
    assert client.get("/healthz?live").status_code == 200
