"""Load test: 20 people browsing dashboards and the API on the 1,000,000-order data set, over HTTP.

  python bench/bench_load.py [--orders 1000000] [--users 20] [--duration 120] [--import-orders 100000]
                             [--database-url URL] [--keep-data] [--workers 3] [--threads 1]
                             [--prepare-only] [--no-calibration] [--skip-task CLASS.TASK]

1. Data. The loaded data set is built by bench_dashboards' loader (the shared generator's files
   imported through the importers, every platform account given a member in its store's team,
   every store recomputed, RFM summary filled) into the scratch database perfmgmt_bench_dash
   (perfmgmt_bench_dash_ORDERS at other sizes): reused when it holds exactly --orders orders and
   its rollups, else built here (its duration is printed) and dropped at the end unless
   --keep-data (--prepare-only builds it and keeps it). --database-url names another loaded
   database instead (e.g. bench_kpis' with --keep-data): checked, never built or dropped. The
   run works on a copy of it (CREATE DATABASE perfmgmt_bench_load TEMPLATE …), so scenario B's
   import never changes the data set and every run starts from the same data. The copy gets the
   simulated people: a manager per store, a lead per team, a login for every other member
   (staff), HR, an API client (manager of every store, token) and an administrator who uploads
   the import; their sessions are created here (no password hashing during the test).
2. Serve, production-like: gunicorn (3 sync workers, as docker-compose.yml; docs/load.md says
   why on 2 cores) with perfmgmt.settings.production on 127.0.0.1 and a free port, a throwaway
   secret key, no TLS redirect (plain HTTP on loopback), whitenoise static files (collectstatic
   first), Redis cache and broker on a bench-only database (--redis-db, default 13, flushed at
   start and end), and a real Celery worker (2 processes, as docker-compose.yml).
3. The cache starts as the product leaves it after an import: the default views warmed by the
   warm-up task's service (run here, timed). Calibration: each endpoint once, one request at a
   time, computed and (dashboards) cached. Scenario A: locust (bench/locustfile.py) runs --users
   people for --duration seconds, 1–3 s think time. Scenario B: once the server is idle again,
   the same people browse while an admin uploads --import-orders new orders through POST
   /api/imports/batches/; the worker imports them, recomputes the touched days' rollups (which
   bumps the stores' data versions, so every cached page of those stores is computed again on
   its next request), refreshes the RFM summary, checks targets and warms the cache again.
   Browsing stops once the worker is idle.
4. Prints p50/p95/p99/max, requests and errors per endpoint and overall (A) and for the import
   window and its phases (B), the share of dashboard requests served from the cache, the CPU
   the machine, this run's processes and other work used, gunicorn's timeouts, and the verdicts
   (A: p95 under 300 ms and no errors; B: dashboards p95 under 1 s and the import finished).
   Writes var/bench/load/summary.json, summary.csv, every request (requests-A.csv,
   requests-B.csv), locust's own CSVs and the logs. Everything (server, worker, PostgreSQL,
   Redis, locust) shares the machine's cores: the load average and the CPU other work took are
   printed with each scenario.

Ctrl-C, `kill` or an error stops gunicorn, the worker and locust and drops the working copy.
Needs PostgreSQL and Redis (BENCH_DATABASE_URL / REDIS_URL, defaults on 127.0.0.1) and locust
(requirements/bench.txt). See docs/load.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GENERATOR, ROOT, server_url, shop_data

BASE = "perfmgmt_bench_dash"  # bench_dashboards' loaded data set, reused here
WORK = "perfmgmt_bench_load"  # this run's copy
OUT = ROOT / "var" / "bench" / "load"
GOAL_A_MS = 300  # p95 of every request, scenario A
GOAL_B_MS = 1000  # p95 of the dashboard requests during the import, scenario B
IMPORT_START = dt.date(2026, 10, 25)  # the imported orders fall on the 30 days from here (inside the data)
IMPORT_DAYS = 30


# --- data -------------------------------------------------------------------------------------


# The PostgreSQL server, read before this process points DATABASE_URL at the working copy.
SERVER = server_url()


def database_url(name: str) -> str:
    return urlunparse(urlparse(SERVER)._replace(path=f"/{name}"))


def admin_connection():
    import psycopg2

    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    return admin


def data_set_problem(url: str, orders: int, *, exact: bool = True) -> str | None:
    """Why the database at `url` is not a complete loaded data set of `orders` orders (at least
    that many unless `exact`); None if it is."""
    import psycopg2

    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        return "it does not exist"
    checks = (
        (
            "SELECT count(*) FROM metrics_order",
            lambda n: n == orders if exact else n >= orders,
            f"it does not hold {'' if exact else 'at least '}{orders} orders",
        ),
        ("SELECT count(*) FROM metrics_chatsession", bool, "it has no chats"),
        ("SELECT count(*) FROM metrics_memberday", bool, "it has no member rollups"),
        ("SELECT count(*) FROM metrics_storeday", bool, "it has no store rollups"),
        (
            "SELECT count(*) FROM teams_platformaccount p WHERE NOT EXISTS "
            "(SELECT 1 FROM teams_accountassignment a WHERE a.account_id = p.id)",
            lambda n: n == 0,
            "some platform accounts have no member",
        ),
        (
            "SELECT count(*) FROM teams_store s WHERE NOT EXISTS "
            "(SELECT 1 FROM metrics_buyersegmentcount b WHERE b.store_id = s.id)",
            lambda n: n == 0,
            "some stores have no RFM summary",
        ),
    )
    try:
        with connection.cursor() as cursor:
            for sql, ok, problem in checks:
                cursor.execute(sql)
                if not ok(cursor.fetchone()[0]):
                    return problem
    except psycopg2.Error as error:
        return f"it is not a loaded data set ({error.pgerror or error})".strip()
    finally:
        connection.close()
    return None


def build_into(url: str, orders: int) -> None:
    """(In a child process.) Load the data set into the empty database at `url`, as bench_dashboards does."""
    os.environ.update(
        {
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "perfmgmt.settings.local",
            "PERFMGMT_VAR_DIR": str(ROOT / "var" / "bench" / "var"),
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from bench_dashboards import load_data_set, segments_fill
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    load_data_set(shop_data(orders))
    segments_fill()


def base_name(orders: int) -> str:
    """The loaded data set's database: bench_dashboards' for the default size, one per other size."""
    return BASE if orders == 1_000_000 else f"{BASE}_{orders}"


def data_set_ready(url: str, orders: int, *, given: bool) -> float | None:
    """Make sure `url` holds the loaded data set; seconds spent building it (None: reused). A
    database named with --database-url (`given`) is only checked, never built."""
    name = urlparse(url).path.lstrip("/")
    problem = data_set_problem(url, orders, exact=not given)
    if problem is None:
        print(f"data set: reusing {name} ({orders} orders, loaded and recomputed)")
        return None
    if given:
        raise SystemExit(f"--database-url {name} is not a loaded data set: {problem}")
    print(f"data set: building {name} ({problem}); at 1,000,000 orders this takes minutes …", flush=True)
    started = time.perf_counter()
    data = shop_data(orders)  # the generator's files, cached under var/bench/
    generated = time.perf_counter()
    admin = admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()
    subprocess.run([sys.executable, __file__, "--build-into", url, "--orders", str(orders)], check=True)
    problem = data_set_problem(url, orders)
    if problem:
        raise SystemExit(f"building {name} did not give a complete data set: {problem}")
    spent = time.perf_counter() - started
    print(
        f"data set built in {spent:.0f} s (generator's files: {generated - started:.0f} s, {data}; "
        f"import, recompute of every store, RFM summary: {spent - (generated - started):.0f} s)",
        flush=True,
    )
    return spent


def work_copy(base_url: str) -> str:
    """A fresh copy of the data set for this run (file copy: fast for a large database)."""
    base = urlparse(base_url).path.lstrip("/")
    admin = admin_connection()
    started = time.perf_counter()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {WORK} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {WORK} TEMPLATE {base} STRATEGY FILE_COPY")
    admin.close()
    print(f"working copy {WORK} of {base}: {time.perf_counter() - started:.1f} s")
    return database_url(WORK)


def database_drop(name: str) -> None:
    admin = admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def import_file(orders: int) -> Path:
    """`orders` new orders over IMPORT_DAYS days from IMPORT_START, with order ids of their own
    (LOAD-…), from the shared generator (seed 99); written once under var/bench/."""
    out = ROOT / "var" / "bench" / f"load-import-{orders}"
    target = out / "orders.csv"
    if target.exists():
        return target
    raw = out / "raw"
    print(f"writing {orders} orders to import with the shared generator into {out} …", flush=True)
    subprocess.run(
        [sys.executable, str(GENERATOR), str(raw), "--orders", str(orders), "--agents", "60",
         "--days", str(IMPORT_DAYS), "--start", IMPORT_START.isoformat(), "--seed", "99"],
        check=True, capture_output=True,
    )  # fmt: skip
    with (raw / "orders.csv").open(encoding="utf-8-sig", newline="") as source:
        rows = csv.reader(source)
        with target.with_suffix(".tmp").open("w", encoding="utf-8-sig", newline="") as sink:
            writer = csv.writer(sink)
            writer.writerow(next(rows))
            for row in rows:
                row[0] = f"LOAD-{row[0]}"  # 订单编号: new orders, never updates of the data set's
                writer.writerow(row)
    target.with_suffix(".tmp").rename(target)
    return target


# --- the people -------------------------------------------------------------------------------


def people_create() -> dict:
    """Logins of the simulated people in the working copy, their sessions and tokens, the data's
    days: what the locustfile reads (LOAD_CONFIG)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from metrics.models import StoreDay
    from teams.models import Member, Role, RoleGrant, Store, Team, TeamMembership

    users = get_user_model().objects
    backend = "django.contrib.auth.backends.ModelBackend"

    def login(username: str, **extra) -> tuple:
        user, _ = users.get_or_create(username=username, defaults=extra)
        client = Client()
        client.force_login(user, backend=backend)  # a session as the login page would create it
        return user, client.cookies[settings.SESSION_COOKIE_NAME].value

    def token(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    members_of: dict[int, list[int]] = {}
    for team_id, member_id in TeamMembership.objects.order_by("member_id").values_list("team_id", "member_id"):
        members_of.setdefault(team_id, []).append(member_id)
    teams = list(Team.objects.filter(pk__in=members_of).order_by("pk"))
    stores = list(Store.objects.filter(teams__in=teams).distinct().order_by("pk"))
    config: dict = {"managers": [], "leads": [], "staff": [], "hr": [], "api": [], "teams": [t.pk for t in teams]}
    for store in stores:
        user, session = login(f"load-manager-{store.pk}")
        RoleGrant.objects.get_or_create(user=user, role=Role.MANAGER, store=store)
        own = [t.pk for t in teams if t.store_id == store.pk]
        config["managers"].append(
            {
                "session": session,
                "store": store.pk,
                "teams": own,
                "members": sorted({m for t in own for m in members_of[t]}),
            }
        )
    leads = {}
    for team in teams:
        member = Member.objects.get(pk=members_of[team.pk][0])
        user, session = login(f"load-lead-{team.pk}")
        member.user = member.user or user
        member.save(update_fields=["user"])
        Team.objects.filter(pk=team.pk).update(lead=member)
        leads[member.pk] = team.pk
        config["leads"].append({"session": session, "team": team.pk, "members": members_of[team.pk]})
    for member in Member.objects.filter(pk__in={m for ms in members_of.values() for m in ms}).order_by("pk"):
        if member.pk in leads:
            continue
        user, session = login(f"load-staff-{member.pk}")
        if member.user_id is None:
            member.user = user
            member.save(update_fields=["user"])
        config["staff"].append({"session": session, "token": token(member.user), "member": member.pk})
    user, session = login("load-hr")
    RoleGrant.objects.get_or_create(user=user, role=Role.HR, store=None)
    config["hr"].append({"session": session})
    user, _ = login("load-api")
    for store in stores:
        RoleGrant.objects.get_or_create(user=user, role=Role.MANAGER, store=store)
    everyone = sorted({m for ms in members_of.values() for m in ms})
    config["api"].append({"token": token(user), "teams": [t.pk for t in teams], "members": everyone})
    admin, _ = login("load-admin", is_superuser=True, is_staff=True)
    days = StoreDay.objects.aggregate(first=Min("date"), last=Max("date"))
    config.update(
        first_day=days["first"].isoformat(),
        last_day=days["last"].isoformat(),
        session_cookie=settings.SESSION_COOKIE_NAME,
        language_cookie=settings.LANGUAGE_COOKIE_NAME,
        admin_token=token(admin),
    )
    return config


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """The children of this run (gunicorn, the worker, locust), each in its own session so that
    Ctrl-C reaches only this process, which then stops them in order."""

    def __init__(self):
        self.running: list[tuple[str, subprocess.Popen, int]] = []

    def start(self, name: str, command: list[str], env: dict, log: Path, stop_signal=signal.SIGTERM):
        handle = log.open("w")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        self.running.append((name, process, stop_signal))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        for name, candidate, stop_signal in list(self.running):
            if candidate is not process:
                continue
            self.running.remove((name, candidate, stop_signal))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, stop_signal)  # the main process only: it stops its own children
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop within {timeout:.0f} s: killed", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything of its group still left
            process.wait()

    def stop_all(self) -> None:
        for _name, process, _signal in reversed(list(self.running)):
            self.stop(process, timeout=20)


def wait_for(what: str, ready, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited ({process.returncode}); see {log}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.5)
    raise SystemExit(f"{what} not ready within {timeout:.0f} s; see {log}")


def http_ok(url: str) -> bool:
    import requests

    return requests.get(url, timeout=2).status_code == 200


def worker_ping() -> bool:
    from perfmgmt.celery import app

    return bool(app.control.inspect(timeout=1).ping())


def worker_timeouts() -> int:
    """gunicorn workers killed so far for a request over --timeout (60 s): the client gets a 500."""
    log = OUT / "gunicorn.log"
    return log.read_text(errors="replace").count("WORKER TIMEOUT") if log.exists() else 0


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class CpuMeter:
    """CPU seconds over a scenario: the machine's (all cores, /proc/stat) and this run's own
    processes (gunicorn, the worker, the PostgreSQL backends of the working copy), so that the
    share other work on the machine took is known, and the server's CPU per request. A process
    that ends within the scenario (a worker killed on timeout, a closed connection) is not counted
    for its last stretch: the own figures are lower bounds."""

    def __init__(self, roots: dict[str, subprocess.Popen]):
        self.roots = roots

    def _postgres_pids(self) -> list[int]:
        import psycopg2

        with contextlib.closing(psycopg2.connect(SERVER)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [WORK])
            return [row[0] for row in cursor.fetchall()]

    def sample(self) -> dict:
        import psutil

        def seconds(pids) -> dict[int, float]:
            times = {}
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    cpu = psutil.Process(pid).cpu_times()
                    times[pid] = cpu.user + cpu.system
            return times

        groups = {}
        for name, root in self.roots.items():
            with contextlib.suppress(psutil.Error):
                tree = psutil.Process(root.pid)
                groups[name] = seconds([root.pid, *(child.pid for child in tree.children(recursive=True))])
        groups["postgres"] = seconds(self._postgres_pids())
        machine = psutil.cpu_times()
        return {"at": time.monotonic(), "busy": sum(machine) - machine.idle - machine.iowait, "groups": groups}

    @staticmethod
    def usage(first: dict, last: dict, extra: dict[str, float]) -> dict:
        """CPU seconds between two samples: the machine's busy and available time, per group of
        this run's processes, and `extra` (locust and this process, measured apart)."""
        result = {
            "wall_s": round(last["at"] - first["at"], 1),
            "available_cpu_s": round((last["at"] - first["at"]) * (os.cpu_count() or 1), 1),
            "machine_busy_cpu_s": round(last["busy"] - first["busy"], 1),
        }
        for name, now in last["groups"].items():
            before = first["groups"].get(name, {})
            result[f"{name}_cpu_s"] = round(sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items()), 1)
        result.update({f"{name}_cpu_s": round(value, 1) for name, value in extra.items()})
        totals = ("available_cpu_s", "machine_busy_cpu_s")
        own = sum(value for key, value in result.items() if key.endswith("_cpu_s") and key not in totals)
        result["other_work_cpu_s"] = round(max(result["machine_busy_cpu_s"] - own, 0.0), 1)
        return result


def own_cpu(since: dict | None = None) -> dict[str, float]:
    """CPU seconds of this process ("bench") and of its children waited for (locust, which is
    always stopped before this is read again), or their growth `since` an earlier reading."""
    import resource

    now = {}
    for name, who in (("bench", resource.RUSAGE_SELF), ("locust", resource.RUSAGE_CHILDREN)):
        usage = resource.getrusage(who)
        now[name] = usage.ru_utime + usage.ru_stime
    return {name: value - (since or {}).get(name, 0.0) for name, value in now.items()}


def cpu_print(usage: dict, served: int) -> None:
    """Print the CPU use; adds the server's CPU per request (ms) to `usage`."""
    own = ", ".join(
        f"{key.removesuffix('_cpu_s')} {value:.0f} s"
        for key, value in usage.items()
        if key.endswith("_cpu_s") and key not in ("machine_busy_cpu_s", "available_cpu_s", "other_work_cpu_s")
    )
    server = usage.get("gunicorn_cpu_s", 0) + usage.get("postgres_cpu_s", 0)
    print(
        f"  CPU: machine busy {usage['machine_busy_cpu_s']:.0f} of {usage['available_cpu_s']:.0f} CPU-seconds "
        f"({100 * usage['machine_busy_cpu_s'] / max(usage['available_cpu_s'], 1):.0f} %); this run: {own}; "
        f"other work on the machine: {usage['other_work_cpu_s']:.0f} s"
    )
    if served:
        usage["server_cpu_ms_per_request"] = round(1000 * server / served, 1)
        print(
            f"  server CPU per request (gunicorn + PostgreSQL, {served} requests): "
            f"{1000 * server / served:.0f} ms (PostgreSQL includes the worker's queries when it runs)"
        )


def drain(host: str, timeout: float = 180) -> float:
    """Wait until the server answers at once again (the previous scenario's queue worked off);
    seconds waited."""
    import requests

    started = time.monotonic()
    quick = 0
    while time.monotonic() - started < timeout and quick < 3:
        begin = time.monotonic()
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{host}/healthz?live", timeout=timeout)
        quick = quick + 1 if time.monotonic() - begin < 0.1 else 0
        time.sleep(0.5)
    return time.monotonic() - started


# --- measuring --------------------------------------------------------------------------------

REQUEST_COLUMNS = ["start", "name", "group", "ms", "status", "error", "url"]


def requests_read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["start"], row["ms"], row["status"] = float(row["start"]), float(row["ms"]), int(row["status"])
        row["failed"] = bool(row["error"]) or row["status"] != 200
    return rows


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def figures(rows: list[dict]) -> dict:
    """Request count, errors and response times (ms, whole response on loopback) of `rows`."""
    times = [row["ms"] for row in rows]
    if not times:
        return {"requests": 0, "errors": 0}
    return {
        "requests": len(rows),
        "errors": sum(row["failed"] for row in rows),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "max_ms": round(max(times), 1),
    }


def is_dashboard(row: dict) -> bool:
    return row["group"].startswith("dashboard")


def table(rows: list[dict]) -> list[tuple[str, dict]]:
    """(label, figures): every endpoint, then the dashboards (pages and API), then everything."""
    names = sorted({row["name"] for row in rows})
    lines = [(name, figures([row for row in rows if row["name"] == name])) for name in names]
    lines.append(("dashboards (pages + API)", figures([row for row in rows if is_dashboard(row)])))
    lines.append(("all requests", figures(rows)))
    return lines


def table_print(title: str, lines: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':<30} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, f in lines:
        if not f["requests"]:
            print(f"  {label:<30} {0:>6}")
            continue
        print(
            f"  {label:<30} {f['requests']:>6} {f['errors']:>6} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} "
            f"{f['p99_ms']:>8.1f} {f['max_ms']:>8.1f}"
        )


def dashboard_entries(client) -> int:
    """Cached dashboard pages in the bench's Redis database (each one computed once: a cache miss)."""
    return sum(1 for _ in client.scan_iter(match="*dashboard:*", count=1000))


def cache_share(rows: list[dict], computed: int, warm_up: int = 0) -> dict:
    """How many dashboard requests the cache answered: requests minus the pages they computed.
    With the warm-up task running too (`warm_up`: the pages it computes when none is cached yet),
    the requests computed at least `computed - warm_up`, so the share is an upper bound."""
    served = [row for row in rows if is_dashboard(row) and not row["failed"]]
    distinct = len({row["url"] for row in served})
    hits = min(max(len(served) - max(computed - warm_up, 0), 0), len(served))
    return {
        "dashboard_requests": len(served),
        "distinct_dashboard_urls": distinct,
        "pages_computed": computed,
        "warm_up_pages_at_most": warm_up,
        "served_from_cache_share": round(hits / len(served), 3) if served else None,
    }


def locust_run(
    tag: str, args, host: str, env: dict, processes: Processes, seconds: int
) -> tuple[subprocess.Popen, Path]:
    log = OUT / f"requests-{tag}.csv"
    with log.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(REQUEST_COLUMNS)
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{seconds}s", "--host", host,
        "--csv", str(OUT / f"locust-{tag}"), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {
        **env,
        "LOAD_CONFIG": str(OUT / "people.json"),
        "LOAD_REQUEST_LOG": str(log),
        "LOAD_SKIP_TASKS": ",".join(args.skip_task),
    }
    return processes.start(f"locust {tag}", command, env, OUT / f"locust-{tag}.log", signal.SIGINT), log


def scenario_a(args, host, env, processes, redis_client, meter: CpuMeter) -> dict:
    print(f"\nscenario A: {args.users} people for {args.duration} s (load average before: {loadavg()})", flush=True)
    before = {"loadavg": loadavg()}
    entries, timeouts = dashboard_entries(redis_client), worker_timeouts()
    first, own = meter.sample(), own_cpu()
    locust, log = locust_run("A", args, host, env, processes, args.duration)
    locust.wait(timeout=args.duration + 120)
    last = meter.sample()
    processes.stop(locust)
    rows = requests_read(log)
    if not rows:
        raise SystemExit(f"locust recorded no request; see {OUT / 'locust-A.log'}")
    result = {
        "loadavg_before": before["loadavg"],
        "loadavg_after": loadavg(),
        "endpoints": dict(table(rows)),
        "cache": cache_share(rows, dashboard_entries(redis_client) - entries),
        "cpu": CpuMeter.usage(first, last, own_cpu(own)),
        "gunicorn_worker_timeouts": worker_timeouts() - timeouts,
    }
    table_print(f"scenario A: {args.users} people, {args.duration} s (response times in ms)", table(rows))
    cpu_print(result["cpu"], len(rows))
    overall, dashboards = result["endpoints"]["all requests"], result["endpoints"]["dashboards (pages + API)"]
    result["goal_met"] = overall.get("p95_ms", 1e9) < GOAL_A_MS and overall["errors"] == 0
    print(
        f"  cache: {result['cache']['dashboard_requests']} dashboard requests, "
        f"{result['cache']['distinct_dashboard_urls']} distinct URLs, {result['cache']['pages_computed']} pages "
        f"computed (cache misses), so {100 * (result['cache']['served_from_cache_share'] or 0):.0f} % served from the cache"
    )
    print(
        f"  goal (p95 under {GOAL_A_MS} ms, no errors): p95 {overall.get('p95_ms')} ms, {overall['errors']} errors: "
        f"{'met' if result['goal_met'] else 'MISSED'} (dashboards alone: p95 {dashboards.get('p95_ms')} ms)"
    )
    print(f"  gunicorn workers killed on its 60 s timeout: {result['gunicorn_worker_timeouts']}")
    print(f"  load average after: {result['loadavg_after']}")
    return result


def calibration(host: str, config: dict) -> list[dict]:
    """Each endpoint of the scenario once at a time on the idle server, over HTTP: first with a
    period nobody asked for yet (computed), then the same request again (from the cache, where
    the endpoint has one). Service times without any queueing, to read the scenarios against."""
    import requests

    def session(cookie: str | None) -> requests.Session:
        client = requests.Session()
        if cookie:
            client.cookies.set(config["session_cookie"], cookie)
        return client

    manager, staff, hr = config["managers"][0], config["staff"][0], config["hr"][0]
    browser, own, people = session(manager["session"]), session(staff["session"]), session(hr["session"])
    api = session(None)
    api.headers["Authorization"] = f"Token {config['api'][0]['token']}"
    mine = session(None)
    mine.headers["Authorization"] = f"Token {staff['token']}"
    first = dt.date.fromisoformat(config["first_day"])

    def window(offset: int, days: int) -> dict:
        start = first + dt.timedelta(days=offset)
        return {
            "preset": "custom",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(days=days - 1)).isoformat(),
        }

    def kpis(level: str, grain: str, days: int) -> dict:
        w = window(40, days)
        return {"level": level, "grain": grain, "start": w["start"], "end": w["end"]}

    team, member = manager["teams"][0], manager["members"][0]
    plan = [
        ("page: home", browser, "/", None),
        ("dashboard page: team", browser, "/dashboard/", {"team": team, **window(17, 30)}),
        ("dashboard page: member", browser, f"/dashboard/members/{member}/", window(17, 30)),
        ("dashboard page: stores", browser, "/dashboard/stores/", window(17, 30)),
        ("dashboard page: me", own, "/dashboard/me/", window(17, 30)),
        ("dashboard API: team", api, "/api/dashboards/team/", {"team": team, **window(23, 30)}),
        ("dashboard API: member", api, f"/api/dashboards/members/{member}/", window(23, 30)),
        ("dashboard API: stores", api, "/api/dashboards/stores/", window(23, 30)),
        ("dashboard API: me", mine, "/api/dashboards/me/", window(23, 30)),
        ("API: kpis member/day", api, "/api/kpis/", kpis("member", "day", 30)),
        ("API: kpis team/week", api, "/api/kpis/", kpis("team", "week", 90)),
        ("API: kpis store/month", api, "/api/kpis/", kpis("store", "month", 365)),
        ("API: members list", api, "/api/members/", None),
        ("API: teams list", api, "/api/teams/", None),
        ("API: import batches list", api, "/api/imports/batches/", None),
        ("page: member list", people, "/org/members/", None),
    ]
    results = []
    for name, client, path, params in plan:
        times, status = [], []
        for _ in range(2 if name.startswith("dashboard") else 1):  # only the dashboards have a cache
            started = time.perf_counter()
            response = client.get(f"{host}{path}", params=params, allow_redirects=False, timeout=300)
            times.append((time.perf_counter() - started) * 1000)
            status.append(response.status_code)
        again = round(times[1], 1) if len(times) > 1 else None
        results.append({"name": name, "first_ms": round(times[0], 1), "again_ms": again, "status": status})
    print("\none request at a time on the idle server (ms; 'first' computes, 'cached' is the same again):")
    for r in results:
        flag = "" if set(r["status"]) == {200} else f"  HTTP {r['status']}"
        again = f"   cached {r['again_ms']:>9.1f}" if r["again_ms"] is not None else " " * 19
        print(f"  {r['name']:<30} first {r['first_ms']:>9.1f}{again}{flag}")
    return results


def pipeline_state(redis_client) -> tuple[list[str], int]:
    """Names of the tasks the worker runs or holds, and the messages waiting in the queue."""
    from perfmgmt.celery import app

    inspect = app.control.inspect(timeout=1)
    names = []
    for answer in (inspect.active() or {}, inspect.reserved() or {}):
        names += [task["name"].rsplit(".", 1)[-1] for tasks in answer.values() for task in tasks]
    return names, redis_client.llen("celery")


def scenario_b(
    args, host, env, processes, redis_client, meter: CpuMeter, upload: Path, admin_token: str, warm_up: int
) -> dict:
    import requests

    from metrics.models import ImportBatch, StoreDataVersion

    waited = drain(host)
    print(
        f"\nscenario B: {args.users} people browse while {args.import_orders} orders are imported "
        f"(server idle again after {waited:.0f} s; load average before: {loadavg()})",
        flush=True,
    )
    result: dict = {"loadavg_before": loadavg(), "drain_s": round(waited, 1)}
    versions = dict(StoreDataVersion.objects.values_list("store_id", "version"))
    entries, timeouts = dashboard_entries(redis_client), worker_timeouts()
    locust, log = locust_run("B", args, host, env, processes, args.import_timeout + 300)
    lead_in = args.users / args.spawn_rate + 15  # everyone browsing for 15 s before the upload
    time.sleep(lead_in)
    if locust.poll() is not None:
        raise SystemExit(f"locust exited early; see {OUT / 'locust-B.log'}")
    meter.roots["locust"] = locust  # alive over the whole window: measured like the server
    first, own = meter.sample(), own_cpu()
    t_upload = time.time()
    with upload.open("rb") as handle:
        response = requests.post(
            f"{host}/api/imports/batches/",
            headers={"Authorization": f"Token {admin_token}"},
            data={"kind": "orders"},
            files={"file": (upload.name, handle, "text/csv")},
            timeout=600,
        )
    t_uploaded = time.time()
    if response.status_code != 201:
        processes.stop(locust)
        raise SystemExit(f"upload answered {response.status_code}: {response.text[:500]}")
    batch_id = response.json()["id"]
    print(f"  uploaded {upload.stat().st_size / 1e6:.1f} MB in {t_uploaded - t_upload:.1f} s: batch {batch_id}")
    seen: dict[str, list[float]] = {}  # task name: [first, last] time it was seen running or reserved
    idle_polls, t_idle, status = 0, None, None
    while time.time() - t_upload < args.import_timeout:
        time.sleep(1)
        now = time.time()
        names, waiting = pipeline_state(redis_client)
        for name in names:
            seen.setdefault(name, [now, now])[1] = now
        status = ImportBatch.objects.values_list("status", flat=True).get(pk=batch_id)
        finished = status not in ("queued", "running")
        idle_polls = idle_polls + 1 if finished and not names and not waiting else 0
        if idle_polls >= 2:  # two polls a second apart: no follow-up task is about to be queued
            t_idle = now
            break
        if locust.poll() is not None:
            break
    last = meter.sample()
    meter.roots.pop("locust")
    processes.stop(locust)
    batch = ImportBatch.objects.get(pk=batch_id)
    rows = requests_read(log)
    t_end = t_idle or time.time()
    during = [row for row in rows if t_upload <= row["start"] <= t_end]
    result.update(
        loadavg_after=loadavg(),
        batch={
            "id": batch.pk,
            "status": batch.status,
            "rows": batch.rows_total,
            "inserted": batch.inserted,
            "rejected": batch.rejected,
            "import_s": round(batch.duration_ms / 1000, 1) if batch.duration_ms else None,
            "error": batch.error_message,
        },
        upload_s=round(t_uploaded - t_upload, 1),
        upload_to_imported_s=round(batch.finished_at.timestamp() - t_upload, 1) if batch.finished_at else None,
        upload_to_idle_s=round(t_idle - t_upload, 1) if t_idle else None,
        finished=bool(t_idle) and batch.status == "succeeded",
        tasks={name: [round(first - t_upload, 1), round(last - t_upload, 1)] for name, (first, last) in seen.items()},
        data_versions_bumped=sum(
            version > versions.get(store_id, 0)
            for store_id, version in StoreDataVersion.objects.values_list("store_id", "version")
        ),
    )
    windows = [("before the upload", rows[0]["start"] if rows else t_upload, t_upload)]
    if batch.finished_at and batch.duration_ms is not None:
        # The batch's own started_at is not kept (see docs/load.md): its end less its duration.
        imported = batch.finished_at.timestamp()
        windows.append(("upload and queue", t_upload, imported - batch.duration_ms / 1000))
        windows.append(("file import (worker)", imported - batch.duration_ms / 1000, imported))
        windows.append(("KPIs, RFM, targets, warm-up", imported, t_end))
    windows.append(("upload to idle (the import window)", t_upload, t_end))
    result["windows"] = {}
    for label, start, end in windows:
        selected = [row for row in rows if start <= row["start"] <= end]
        result["windows"][label] = {
            "from_s": round(start - t_upload, 1),
            "to_s": round(end - t_upload, 1),
            "dashboards": figures([row for row in selected if is_dashboard(row)]),
            "all": figures(selected),
        }
    result["endpoints"] = dict(table(during))
    result["cache"] = cache_share(during, dashboard_entries(redis_client) - entries, warm_up)
    result["cpu"] = CpuMeter.usage(first, last, {"bench": own_cpu(own)["bench"]})
    result["gunicorn_worker_timeouts"] = worker_timeouts() - timeouts  # over the whole scenario
    dashboards = result["endpoints"]["dashboards (pages + API)"]
    result["goal_met"] = result["finished"] and dashboards.get("p95_ms", 1e9) < GOAL_B_MS
    table_print("scenario B, from the upload until the worker is idle (response times in ms)", table(during))
    cpu_print(result["cpu"], len(during))
    print("\n  by phase (seconds from the upload):")
    for label, window in result["windows"].items():
        d, a = window["dashboards"], window["all"]
        print(
            f"    {label:<36} {window['from_s']:>6.1f} to {window['to_s']:>6.1f}: dashboards n={d['requests']} "
            f"p95 {d.get('p95_ms')} ms, max {d.get('max_ms')} ms; all n={a['requests']} p95 {a.get('p95_ms')} ms, "
            f"errors {a['errors']}"
        )
    print(
        f"  import: batch {batch.status}, {batch.inserted} rows inserted, {batch.rejected} rejected; "
        f"file import {result['batch']['import_s']} s in the worker; upload to imported "
        f"{result['upload_to_imported_s']} s; upload to idle (KPIs recomputed, RFM, targets, cache warmed) "
        f"{result['upload_to_idle_s']} s; stores whose data version moved: {result['data_versions_bumped']}"
    )
    print(
        "  tasks seen (first, last second after the upload): "
        + ", ".join(f"{k} {v}" for k, v in result["tasks"].items())
    )
    c = result["cache"]
    print(
        f"  cache: {c['dashboard_requests']} dashboard requests, {c['pages_computed']} pages computed "
        f"(with the warm-up task's, at most {warm_up}), so at most {100 * (c['served_from_cache_share'] or 0):.0f} % "
        "served from the cache"
    )
    print(
        f"  goal (dashboards p95 under {GOAL_B_MS} ms during the import, import finished): p95 "
        f"{dashboards.get('p95_ms')} ms, import {'finished' if result['finished'] else 'NOT finished'}: "
        f"{'met' if result['goal_met'] else 'MISSED'}"
    )
    print(f"  gunicorn workers killed on its 60 s timeout (whole scenario): {result['gunicorn_worker_timeouts']}")
    print(f"  load average after: {result['loadavg_after']}")
    return result


# --- main -------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="Orders of the data set.")
    parser.add_argument("--users", type=int, default=20, help="Concurrent simulated people.")
    parser.add_argument("--spawn-rate", type=float, default=5, help="People started per second.")
    parser.add_argument("--duration", type=int, default=120, help="Seconds of scenario A.")
    parser.add_argument("--import-orders", type=int, default=100_000, help="Orders imported in scenario B (0: skip B).")
    parser.add_argument("--import-timeout", type=int, default=1800, help="Seconds scenario B waits for the import.")
    parser.add_argument(
        "--database-url",
        help=f"A loaded data set to start from, never built or dropped (default: {BASE} on the server, built if "
        f"missing and dropped afterwards unless --keep-data; at other sizes than 1,000,000 orders {BASE}_ORDERS).",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help=f"Keep the data set built here and the working copy {WORK}."
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (docker-compose.yml: 3).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per gunicorn worker (over 1: gthread).")
    parser.add_argument("--no-calibration", action="store_true", help="Skip the one-at-a-time requests.")
    parser.add_argument(
        "--skip-task",
        action="append",
        default=[],
        metavar="CLASS.TASK",
        help="Leave a task of bench/locustfile.py out of the mix, e.g. ApiClient.kpis_store (repeatable).",
    )
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database of the bench (flushed).")
    parser.add_argument(
        "--prepare-only", action="store_true", help="Check or build (and keep) the data set, then stop."
    )
    parser.add_argument("--build-into", help=argparse.SUPPRESS)  # internal: the child that builds the data set
    return parser.parse_args()


def main() -> int:
    args = arguments()

    # A plain `kill` stops the run like Ctrl-C: through the finally clauses that stop the children.
    def stop(signum, _frame):
        print(f"\nstopped by signal {signum}: stopping the server, the worker and locust …", flush=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    if args.build_into:
        build_into(args.build_into, args.orders)
        return 0
    started = time.time()
    base_url = args.database_url or database_url(base_name(args.orders))
    built_s = data_set_ready(base_url, args.orders, given=bool(args.database_url))
    if args.prepare_only:
        return 0  # the data set stays, for the runs to come
    try:
        return measure(args, base_url, built_s, started)
    finally:
        if built_s is not None and not args.keep_data:
            database_drop(urlparse(base_url).path.lstrip("/"))  # built by this run: as the other benches do


def measure(args: argparse.Namespace, base_url: str, built_s: float | None, started: float) -> int:
    upload = import_file(args.import_orders) if args.import_orders else None
    OUT.mkdir(parents=True, exist_ok=True)
    url = work_copy(base_url)
    redis_url = urlunparse(
        urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")._replace(path=f"/{args.redis_db}")
    )
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "perfmgmt.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # throwaway: the sessions made here are signed with it
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at the proxy in production
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "PERFMGMT_VAR_DIR": str(OUT / "var"),
    }
    env.pop("DJANGO_DEBUG", None)  # production settings: DEBUG off whatever the caller's shell says
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django
    import redis

    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()  # the bench's own database: no cache, queue or result of an earlier run
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics.dashboards.warmup import dashboards_warm
    from teams.models import Store

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # whitenoise's manifest, as the image builds it
    config = people_create()
    config_path = OUT / "people.json"
    config_path.write_text(json.dumps(config, indent=1))
    config_path.chmod(0o600)  # sessions and tokens, of a throwaway database
    counts = {role: len(config[role]) for role in ("managers", "leads", "staff", "hr", "api")}
    print(f"people: {counts}; data from {config['first_day']} to {config['last_day']}")
    warm_started = time.perf_counter()
    warmed = sum(dashboards_warm(store=store) for store in Store.objects.order_by("pk"))
    warm_s = time.perf_counter() - warm_started
    print(f"cache warmed as after an import: {warmed} default pages in {warm_s:.1f} s")
    connection.close()

    summary: dict = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": loadavg()},
        "settings": {
            "orders": args.orders,
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "duration_s": args.duration,
            "import_orders": args.import_orders,
            "skipped_tasks": args.skip_task,
            "celery": "1 worker, 2 processes",
            "redis": redis_url,
            "database": WORK,
        },
        "data_set": {
            "built_s": round(built_s) if built_s else None,
            "warm_up_pages": warmed,
            "warm_up_s": round(warm_s, 1),
        },
    }
    processes = Processes()
    server = (
        f"{args.workers} sync workers"
        if args.threads == 1
        else f"{args.workers} gthread workers × {args.threads} threads"
    )
    summary["settings"]["gunicorn"] = f"{server}, timeout 60 s"
    try:
        gunicorn = processes.start(
            "gunicorn",
            # As docker-compose.yml's web command; no control socket: two servers on one machine
            # (another bench, someone's own) would otherwise share its default path.
            [sys.executable, "-m", "gunicorn", "perfmgmt.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", str(args.threads), "--timeout", "60",
             "--access-logfile", "-", "--no-control-socket"],
            env, OUT / "gunicorn.log", signal.SIGINT,  # quick shutdown: a request still running is moot
        )  # fmt: skip
        worker = processes.start(
            "celery worker",
            [sys.executable, "-m", "celery", "-A", "perfmgmt", "worker", "--loglevel", "info", "--concurrency", "2"],
            env, OUT / "worker.log", signal.SIGTERM,
        )  # fmt: skip
        wait_for("gunicorn", lambda: http_ok(f"{host}/healthz?live"), 60, gunicorn, OUT / "gunicorn.log")
        wait_for("the Celery worker", worker_ping, 90, worker, OUT / "worker.log")
        print(f"serving {host} (gunicorn: {server}) with a Celery worker (2 processes)")
        if not args.no_calibration:
            summary["calibration"] = calibration(host, config)
        meter = CpuMeter({"gunicorn": gunicorn, "worker": worker})
        summary["A"] = scenario_a(args, host, env, processes, redis_client, meter)
        if upload:
            summary["B"] = scenario_b(
                args, host, env, processes, redis_client, meter, upload, config["admin_token"], warmed
            )
    finally:
        processes.stop_all()
        connection.close()
        summary["machine"]["loadavg_at_end"] = loadavg()
        if summary.get("A"):
            summary_write(summary)
        redis_client.flushdb()
        if not args.keep_data:
            database_drop(WORK)
    verdicts = [("A", GOAL_A_MS, "p95 of every request, no errors")]
    if upload:
        verdicts.append(("B", GOAL_B_MS, "dashboards p95 during the import"))
    print(f"\nsummary (written to {OUT / 'summary.json'} and summary.csv; {time.time() - started:.0f} s in all)")
    for name, goal, what in verdicts:
        print(f"  scenario {name}: goal {what} under {goal} ms: {'met' if summary[name]['goal_met'] else 'MISSED'}")
    if args.skip_task:
        print(f"  (tasks left out of the mix: {', '.join(args.skip_task)})")
    return 0


def summary_write(summary: dict) -> None:
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False, default=str))
    with (OUT / "summary.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        columns = ["requests", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
        writer.writerow(["scenario", "window", "endpoint", *columns])
        for scenario in ("A", "B"):
            if scenario not in summary:
                continue
            window = "whole run" if scenario == "A" else "upload to idle"
            for endpoint, f in summary[scenario]["endpoints"].items():
                writer.writerow([scenario, window, endpoint, *(f.get(c, "") for c in columns)])
            for label, w in summary[scenario].get("windows", {}).items():
                for endpoint in ("dashboards", "all"):
                    writer.writerow([scenario, label, endpoint, *(w[endpoint].get(c, "") for c in columns)])


if __name__ == "__main__":
    sys.exit(main())
