"""`make bench`: runs every bench/bench_*.py in turn (arguments are passed to each). The import and
KPI benchmarks time the product against a baseline measured in the same run and report the ratio,
never a bare wall time; the dashboard benchmark reports server times against a fixed goal (p95).

Order: bench_import, bench_kpis, bench_dashboards, then any others. bench_kpis is run with
--keep-data so that bench_dashboards measures on the database it loaded and recomputed (rather
than importing and recomputing the same data set again); that database is dropped afterwards
unless --keep-data was given. If bench_kpis fails, bench_dashboards builds its own.

The load test (bench_load.py: gunicorn, a Celery worker and locust for about ten minutes at full
size) is opt-in: `python bench/run.py --load` runs it last (after `make bench` installed its tools),
on a copy of the same database when bench_kpis loaded it; without --load it is skipped.
"""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

HERE = Path(__file__).resolve().parent
ORDER = ("bench_import.py", "bench_kpis.py", "bench_dashboards.py")
OPT_IN = {"bench_load.py": "--load"}  # benchmarks run only when their flag is given
KPIS_DATABASE = "perfmgmt_bench_kpis"  # the scratch database bench_kpis.py creates


def kpis_database_url() -> str:
    from common import server_url

    return urlunparse(urlparse(server_url())._replace(path=f"/{KPIS_DATABASE}"))


def kpis_database_drop() -> None:
    import psycopg2
    from common import server_url

    admin = psycopg2.connect(server_url())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {KPIS_DATABASE} WITH (FORCE)")
    admin.close()


def main() -> int:
    args = sys.argv[1:]
    chosen = {flag for flag in OPT_IN.values() if flag in args}
    args = [arg for arg in args if arg not in chosen]
    keep_data = "--keep-data" in args
    benches = sorted(
        (bench for bench in HERE.glob("bench_*.py") if bench.name not in OPT_IN or OPT_IN[bench.name] in chosen),
        key=lambda bench: (
            ORDER.index(bench.name) if bench.name in ORDER else len(ORDER) + (bench.name in OPT_IN),
            bench.name,
        ),
    )
    if not benches:
        print("no benchmarks yet")
        return 0
    names = {bench.name for bench in benches}
    share_kpis_data = "bench_kpis.py" in names and "bench_dashboards.py" in names
    kpis_loaded = False
    failed = 0
    try:
        for bench in benches:
            extra = []
            if share_kpis_data and bench.name == "bench_kpis.py" and not keep_data:
                extra = ["--keep-data"]
            if bench.name in ("bench_dashboards.py", "bench_load.py") and kpis_loaded:
                extra = ["--database-url", kpis_database_url()]  # bench_load works on a copy of it
            print(f"== {bench.name}", flush=True)
            returncode = subprocess.run([sys.executable, str(bench), *args, *extra], check=False).returncode
            failed += returncode != 0
            if share_kpis_data and bench.name == "bench_kpis.py":
                kpis_loaded = returncode == 0
    finally:
        if share_kpis_data and not keep_data:
            kpis_database_drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
