"""How long the pages, the API and /healthz take while Redis is down, as production runs them:
gunicorn with the production settings, a Celery worker, PostgreSQL and a Redis of this script's own
(docs/faults.md, "Redis down while pages are read").

    python bench/probe_redis_down.py --database postgres://postgres@127.0.0.1:5432/perfmgmt_probe

The database is created (and the demo loaded) if it is empty; a redis-server is started on a spare
port, stopped, replaced by a socket that accepts connections and never answers, and started again.
Every request is timed in each of the four phases; the figures are printed as a table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "demo12345"  # noqa: S105 (the demo logins' default, perfmgmt/management/commands/seed_demo.py)
TIMEOUT = 60  # seconds, any one request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout} s")


def redis_start(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    wait_for("redis-server", lambda: redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="DATABASE_URL of a PostgreSQL database (created if missing)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--orders", type=int, default=4000, help="demo orders, when the demo is loaded")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")

    redis_port, web_port = free_port(), free_port()
    var = Path(tempfile.mkdtemp(prefix="perfmgmt-probe-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "perfmgmt.settings.production",
        "DJANGO_SECRET_KEY": "probe-only-not-a-secret-0123456789abcdefghijklmnop",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": args.database,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PERFMGMT_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
    }
    py = sys.executable
    name = args.database.rsplit("/", 1)[-1]
    server = redis_start(redis_port)  # the demo's loading queues jobs
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], stderr=subprocess.DEVNULL)
    subprocess.run([py, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    # whitenoise's manifest, as the image builds it (into staticfiles/, which git ignores)
    subprocess.run([py, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "seed_demo", "--if-empty", "--force", "--orders", str(args.orders)],
        cwd=ROOT,
        env=env,
        check=True,
    )

    log = (var / "processes.log").open("w")
    web = subprocess.Popen(
        [py, "-m", "gunicorn", "perfmgmt.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
         "--workers", str(args.workers), "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [py, "-m", "celery", "-A", "perfmgmt", "worker", "--concurrency", "2", "--loglevel", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{web_port}"
    silent = None
    try:
        wait_for("gunicorn", lambda: requests.get(f"{base}/healthz?live", timeout=2).ok)
        api = requests.Session()
        token = api.post(f"{base}/api/auth/token/", data={"username": "manager", "password": PASSWORD}).json()["token"]
        api.headers["Authorization"] = f"Token {token}"
        pages = page_session(base)
        wait_for("the worker's heartbeat", lambda: requests.get(f"{base}/healthz", timeout=5).ok)

        endpoints = {
            "GET /api/kpis/": lambda: api.get(f"{base}/api/kpis/", params={"level": "member"}, timeout=TIMEOUT),
            "GET /api/dashboards/team/": lambda: api.get(f"{base}/api/dashboards/team/", timeout=TIMEOUT),
            "GET /api/dashboards/stores/": lambda: api.get(f"{base}/api/dashboards/stores/", timeout=TIMEOUT),
            "POST /api/auth/token/": lambda: requests.post(
                f"{base}/api/auth/token/", data={"username": "manager", "password": PASSWORD}, timeout=TIMEOUT
            ),
            "GET /dashboard/": lambda: pages.get(f"{base}/dashboard/", timeout=TIMEOUT),
            "GET /dashboard/stores/": lambda: pages.get(f"{base}/dashboard/stores/", timeout=TIMEOUT),
            "GET /healthz": lambda: requests.get(f"{base}/healthz", timeout=TIMEOUT),
            "GET /healthz?live": lambda: requests.get(f"{base}/healthz?live", timeout=TIMEOUT),
        }
        rows: dict[str, dict[str, str]] = {label: {} for label in endpoints}

        def phase(title: str, rounds: int = 3) -> None:
            for label, request in endpoints.items():
                times, statuses = [], set()
                for _ in range(rounds):
                    started = time.monotonic()
                    response = request()
                    times.append(time.monotonic() - started)
                    statuses.add(response.status_code)
                note = ""
                if label == "GET /healthz":
                    with contextlib.suppress(ValueError):
                        note = f" down={response.json().get('down')}"
                rows[label][title] = (
                    f"{'/'.join(map(str, sorted(statuses)))} in {min(times):.2f}–{max(times):.2f} s{note}"
                )

        phase("Redis up")
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        phase("Redis stopped")
        silent = socket.socket()
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", redis_port))
        silent.listen(128)
        phase("Redis silent")
        silent.close()
        silent = None
        server = redis_start(redis_port)
        started = time.monotonic()
        wait_for("/healthz 200", lambda: requests.get(f"{base}/healthz", timeout=5).ok)
        back = time.monotonic() - started
        phase("Redis back")
        time.sleep(11)  # every web process's circuit breaker (10 s, perfmgmt/cache.py) has closed again
        phase("back, 11 s later")
        titles = ["Redis up", "Redis stopped", "Redis silent", "Redis back", "back, 11 s later"]
        print(f"\n{args.workers} gunicorn workers; /healthz 200 again {back:.2f} s after Redis was started again\n")
        print("| request | " + " | ".join(titles) + " |")
        print("|---|" + "---|" * len(titles))
        for label, cells in rows.items():
            print(f"| `{label}` | " + " | ".join(cells.get(t, "") for t in titles) + " |")
    finally:
        if silent is not None:
            silent.close()
        for process in (web, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(var, ignore_errors=True)


def page_session(base: str) -> requests.Session:
    """A signed-in browser session. Production cookies are Secure, which requests keeps off plain
    HTTP, so the cookies go in a header of their own (as the TLS proxy in front would pass them)."""
    session = requests.Session()
    form = session.get(f"{base}/accounts/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": "manager", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base}/accounts/login/", "Cookie": f"csrftoken={form.cookies['csrftoken']}"},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"signing in answered {answer.status_code}")
    session.headers["Cookie"] = f"sessionid={answer.cookies['sessionid']}"
    return session


if __name__ == "__main__":
    main()
