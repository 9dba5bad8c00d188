"""Dashboard speed: server time of each dashboard page and its API on the 1,000,000-order data set.

  python bench/bench_dashboards.py [--orders 1000000] [--keep-data] [--database-url URL]

1. Without --database-url: imports the shared generator's files (cached under var/bench/) into a
   scratch PostgreSQL database perfmgmt_bench_dash through the importers, gives each platform
   account a member in a team and runs the full recompute of every store in this process (which
   also fills the RFM summary). With --database-url: uses that already loaded and recomputed
   database (migrated, RFM summary filled if empty; never dropped), e.g. the one
   `bench_kpis.py --keep-data` leaves, as `bench/run.py` does.
2. Requests the team dashboard, the personal page and the store overview, and their API where it
   exists, through django.test.Client as a logged-in superuser in this process (DEBUG off), and
   times each client.get (middleware, view, selectors, rendering: the server's whole share).
   COLD: nothing is cached before every request (the page, and the rollup months in the cache
   and in this process's memory), so the page is computed from rollups read from the database;
   varied requests (30-day windows across the data for several teams and members, some 7- and
   90-day windows). COMPUTED: the same request again with only the page's cache entry removed,
   so its rollup months are in memory, as in a server that has served them before. WARM: each
   request repeated at once, served from the cache.
3. Prints p50/p95/max per endpoint and series, and whether each cold p95 is under 300 ms. A
   missed goal is reported, not an error; a response other than 200 is.

The cache is the one the settings give: Redis (database 12 of REDIS_URL's server, default
127.0.0.1:6379, which the bench clears freely) when it answers, as in production; else files.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, scratch_database, shop_data

SCRATCH = "perfmgmt_bench_dash"
GOAL_MS = 300
WINDOWS_30 = 10  # 30-day windows spread over the data, each for every team / member
SHORT_AND_LONG = 4  # 7-day and 90-day windows, spread likewise, one team / member each


def cache_redis_url() -> str | None:
    """Database 12 of REDIS_URL's server (default 127.0.0.1:6379) if it answers, else None."""
    import redis

    server = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
    url = urlunparse(server._replace(path="/12"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def load_data_set(data: Path) -> None:
    """Import the CSVs, give every account a member in its store's team, recompute every store."""
    from metrics.importing.services import chats_import, orders_import, traffic_import
    from metrics.kpis.services import kpis_recompute_store_full
    from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team, TeamMembership

    print("importing the data set …", flush=True)
    for importer, name in ((orders_import, "orders"), (chats_import, "chats"), (traffic_import, "traffic")):
        batch = importer(store=None, file=data / f"{name}.csv", user=None)
        print(f"  {name}: {batch.inserted} rows in {batch.duration_ms / 1000:.1f} s", flush=True)
    for account in PlatformAccount.objects.select_related("store"):
        team, _ = Team.objects.get_or_create(store=account.store, name="客服")
        member = Member.objects.create(display_name=account.name)
        TeamMembership.objects.create(member=member, team=team, start_date=dt.date(2020, 1, 1))
        AccountAssignment.objects.create(account=account, member=member, start_date=dt.date(2020, 1, 1))
    started = time.perf_counter()
    for store in Store.objects.order_by("pk"):
        kpis_recompute_store_full(store=store)
    print(f"full recompute of every store in this process: {time.perf_counter() - started:.1f} s", flush=True)


def segments_fill() -> None:
    """Fill the RFM summary of every store that has none (a data set loaded by another bench)."""
    from metrics.kpis.segments import buyer_segments_refresh
    from metrics.models import BuyerSegmentCount
    from teams.models import Store

    for store in Store.objects.order_by("pk"):
        if not BuyerSegmentCount.objects.filter(store=store).exists():
            print(f"filling the RFM summary of {store.name} …", flush=True)
            buyer_segments_refresh(store=store)


def windows(first: dt.date, last: dt.date, days: int, count: int) -> list[tuple[dt.date, dt.date]]:
    """`count` windows of `days` days spread evenly from `first` to `last` (both inclusive)."""
    span = (last - first).days + 1 - days
    if span < 0:
        raise SystemExit(f"the data ({first} to {last}) is shorter than {days} days")
    starts = [first + dt.timedelta(days=round(span * i / max(count - 1, 1))) for i in range(count)]
    return [(start, start + dt.timedelta(days=days - 1)) for start in starts]


def request_plan(first: dt.date, last: dt.date) -> list[tuple[str, list[str], list[str]]]:
    """(endpoint, page URLs, API URLs) of the cold series: the same requests for page and API."""
    from teams.models import Team, TeamMembership

    teams = list(Team.objects.order_by("pk"))
    members = []  # one member of each team, one with figures (the first assigned an account)
    for team in teams:
        membership = (
            TeamMembership.objects.filter(team=team, member__account_assignments__isnull=False)
            .order_by("member_id")
            .first()
        )
        if membership:
            members.append(membership.member_id)
    month = windows(first, last, 30, WINDOWS_30)
    short, long = windows(first, last, 7, SHORT_AND_LONG), windows(first, last, 90, SHORT_AND_LONG)

    def spans(subjects: list) -> list[tuple[object, dt.date, dt.date]]:
        plan = [(subject, start, end) for start, end in month for subject in subjects]
        plan += [(subjects[i % len(subjects)], start, end) for i, (start, end) in enumerate(short + long)]
        return plan

    def query(start: dt.date, end: dt.date, **extra) -> str:
        return urlencode({**extra, "preset": "custom", "start": start.isoformat(), "end": end.isoformat()})

    return [
        (
            "team",
            [f"/dashboard/?{query(s, e, team=t.pk)}" for t, s, e in spans(teams)],
            [f"/api/dashboards/team/?{query(s, e, team=t.pk)}" for t, s, e in spans(teams)],
        ),
        (
            "member",
            [f"/dashboard/members/{m}/?{query(s, e)}" for m, s, e in spans(members)],
            [f"/api/dashboards/members/{m}/?{query(s, e)}" for m, s, e in spans(members)],
        ),
        (
            "stores",
            [f"/dashboard/stores/?{query(s, e)}" for _, s, e in spans([None])],
            [f"/api/dashboards/stores/?{query(s, e)}" for _, s, e in spans([None])],
        ),
    ]


def resolves(url: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(urlparse(url).path)
    except Resolver404:
        return False
    return True


def timed_get(client, url: str) -> float:
    """Milliseconds of one client.get; anything but 200 stops the bench."""
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}, not 200: {response.content[:300]!r}")
    return elapsed


def measure(
    client, urls: list[str], warm_repeats: int
) -> tuple[list[float], list[float], list[float], tuple[int, int]]:
    """Per request: cold (nothing cached: the page, and the rollup months in the shared cache and
    in this process's memory, so they are read from the database), computed (the page again with
    only its cache entry removed: the months are in memory, as in a server that served them
    before) and warm times (the page from the cache, repeated); and the database queries of one
    untimed cold and warm request."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.kpis.frames import rollup_memory_clear

    def nothing_cached() -> None:
        cache.clear()
        rollup_memory_clear()

    nothing_cached()
    timed_get(client, urls[0])  # untimed: first use of the view's code paths and templates in this process
    cold, computed, warm = [], [], []
    for url in urls:
        nothing_cached()
        cold.append(timed_get(client, url))
        cache.clear()  # the page's entry (and the shared months); this process keeps its months
        computed.append(timed_get(client, url))
        warm += [timed_get(client, url) for _ in range(warm_repeats)]
    nothing_cached()
    with CaptureQueriesContext(connection) as cold_queries:
        client.get(urls[0])
    with CaptureQueriesContext(connection) as warm_queries:
        client.get(urls[0])
    return cold, computed, warm, (len(cold_queries), len(warm_queries))


def window_days(url: str) -> int:
    query = parse_qs(urlparse(url).query)
    start, end = (dt.date.fromisoformat(query[name][0]) for name in ("start", "end"))
    return (end - start).days + 1


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep-data", action="store_true", help="Keep the scratch database for profiling.")
    parser.add_argument(
        "--database-url",
        help="An already loaded and recomputed database to measure on (not built, not dropped).",
    )
    parser.add_argument("--warm-repeats", type=int, default=3, help="Warm requests per cold request.")
    args = parser.parse_args()

    admin = None
    if args.database_url:
        database_url = args.database_url
    else:
        data = shop_data(args.orders)
        database_url, admin = scratch_database(SCRATCH)
    redis_url = cache_redis_url()
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url or "",  # empty: the settings' file cache under PERFMGMT_VAR_DIR
            "DJANGO_SETTINGS_MODULE": "perfmgmt.settings.local",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "PERFMGMT_VAR_DIR": str(ROOT / "var" / "bench" / "var"),
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max, Min
    from django.test import Client
    from django.utils import timezone

    from metrics.models import StoreDay
    from teams.models import Store

    call_command("migrate", verbosity=0)
    if not args.database_url:
        load_data_set(data)
    segments_fill()

    days = StoreDay.objects.aggregate(first=Min("date"), last=Max("date"))
    first, last = days["first"], days["last"]
    if first is None:
        raise SystemExit(f"no rollups in {database_url}: load and recompute the data set first")
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"database: {urlparse(database_url).path.lstrip('/')}, data from {first} to {last}")
    print(f"cache: {cache_backend} ({redis_url or settings.CACHES['default']['LOCATION']}); DEBUG={settings.DEBUG}")
    today = timezone.localdate()
    if not first <= today <= last:
        print(f"note: today ({today}) lies outside the data, so the personal page's today/week/month are empty")

    user, _ = get_user_model().objects.get_or_create(
        username="bench-dashboards", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average before measuring: {load} on {os.cpu_count()} CPUs (other work on the machine adds noise)")
    # The pages are served by this process: no collectstatic needed, so no STATIC_ROOT either.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    results = []  # (endpoint, series, times)
    queries = {}
    by_window = {}  # endpoint: {window days: cold times}
    for kind, pages, apis in request_plan(first, last):
        for endpoint, urls in ((f"{kind} page", pages), (f"{kind} API", apis)):
            if not resolves(urls[0]):
                print(f"skipped {endpoint}: {urlparse(urls[0]).path} does not resolve (not written yet?)")
                continue
            print(f"measuring {endpoint}: {len(urls)} cold requests, {args.warm_repeats} warm each …", flush=True)
            cold, computed, warm, queries[endpoint] = measure(client, urls, args.warm_repeats)
            results += [(endpoint, "cold", cold), (endpoint, "computed", computed), (endpoint, "warm", warm)]
            for url, ms in zip(urls, cold, strict=True):
                by_window.setdefault(endpoint, {}).setdefault(window_days(url), []).append(ms)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average after measuring: {load}")
    print()
    print(f"{'endpoint':<14} {'series':<8} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for endpoint, series, times in results:
        print(
            f"{endpoint:<14} {series:<8} {len(times):>4} {percentile(times, 50):>8.1f} "
            f"{percentile(times, 95):>8.1f} {max(times):>8.1f}"
        )
    print()
    for endpoint, (cold_count, warm_count) in queries.items():
        lengths = ", ".join(
            f"{days} d {statistics.median(times):.0f} ms (n={len(times)})"
            for days, times in sorted(by_window[endpoint].items())
        )
        print(
            f"{endpoint}: cold p50 by window: {lengths}; queries of one request: {cold_count} cold, {warm_count} warm"
        )
    print()
    missed = []
    for endpoint, series, times in results:
        if series in ("cold", "computed"):
            p95 = percentile(times, 95)
            verdict = "goal met" if p95 < GOAL_MS else "goal missed"
            missed += [f"{endpoint} ({series})"] if p95 >= GOAL_MS else []
            print(f"{endpoint}: {series} p95 {p95:.0f} ms (goal: under {GOAL_MS} ms): {verdict}")
    if missed:
        print(f"goal missed by: {', '.join(missed)}")

    # The morning's views: what the warm-up task (run after every import's KPIs and the nightly
    # recompute) caches, then requested as a manager or staff member opens them.
    from metrics.dashboards.warmup import dashboards_warm
    from teams.models import Member, Team

    print()
    cache.clear()
    for store in Store.objects.order_by("pk"):
        started = time.perf_counter()
        pages = dashboards_warm(store=store)
        print(
            f"warm-up task of {store.name}: {pages} pages in {time.perf_counter() - started:.1f} s (in the background)"
        )
    morning = [f"/dashboard/?team={team_id}" for team_id in Team.objects.values_list("pk", flat=True)]
    morning += [f"/api/dashboards/team/?team={team_id}" for team_id in Team.objects.values_list("pk", flat=True)]
    morning += [f"/dashboard/members/{pk}/" for pk in Member.objects.values_list("pk", flat=True)]
    morning += [f"/api/dashboards/members/{pk}/" for pk in Member.objects.values_list("pk", flat=True)]
    times = [timed_get(client, url) for url in morning]
    print(
        f"default views after the warm-up ({len(times)} requests, each once): p50 {percentile(times, 50):.1f} ms, "
        f"p95 {percentile(times, 95):.1f} ms, max {max(times):.1f} ms"
    )

    connection.close()
    if admin is not None and not args.keep_data:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
