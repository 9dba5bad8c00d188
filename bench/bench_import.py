"""Import speed on PostgreSQL, against a plain COPY of the same files in the same run.

  python bench/bench_import.py [--orders 1000000] [--keep-data]

Writes shop exports with the shared generator (../shared/bench/make_shop_data.py; cached under
var/bench/), imports orders.csv and chats.csv into a scratch database through the same services
the upload page uses (import_batch_create, then import_batch_run, which the Celery task calls),
then times COPY of the same files into an unindexed table of text columns. Prints both times,
their ratio and the import's peak memory. Then the same for a telesales call record of `--calls`
rows (written here, without call ids, so the derived key and number masking are measured too). Needs PostgreSQL: BENCH_DATABASE_URL, or DATABASE_URL
if it is PostgreSQL, or postgres://postgres@127.0.0.1:5432 (a database perfmgmt_bench is
created and dropped).
"""

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, scratch_database, shop_data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=500_000, help="Rows of the call record (0: skip).")
    parser.add_argument("--keep-data", action="store_true", help="Do not drop the scratch database.")
    args = parser.parse_args()

    data = shop_data(args.orders)
    sizes = {name: (data / f"{name}.csv").stat().st_size for name in ("orders", "chats")}
    scratch, admin = scratch_database("perfmgmt_bench")

    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perfmgmt.settings.local")
    os.environ["PERFMGMT_VAR_DIR"] = str(ROOT / "var" / "bench" / "var")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from metrics.importing.services import import_batch_create, import_batch_run
    from metrics.models import ImportStatus

    call_command("migrate", verbosity=0)
    results = {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for kind in ("orders", "chats"):
        path = data / f"{kind}.csv"
        started = time.perf_counter()
        batch = import_batch_create(file=path, user=None, kind=kind)
        batch = import_batch_run(batch=batch)
        results[kind] = time.perf_counter() - started
        if batch.status != ImportStatus.SUCCEEDED:
            print(f"{kind}: import {batch.status}: {batch.error_message}")
            return 1
        print(f"{kind}: {batch.rows_total} rows imported in {results[kind]:.2f} s "
              f"(inserted={batch.inserted} updated={batch.updated} unchanged={batch.unchanged})", flush=True)  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    baseline = {}
    with connection.cursor() as cursor:
        for kind in ("orders", "chats"):
            path = data / f"{kind}.csv"
            with path.open(encoding="utf-8-sig", newline="") as handle:
                width = len(next(csv.reader(handle)))
            cursor.execute(f"DROP TABLE IF EXISTS copy_{kind}")
            cursor.execute(f"CREATE TABLE copy_{kind} ({', '.join(f'c{i} text' for i in range(width))})")
            started = time.perf_counter()
            with path.open(encoding="utf-8-sig") as handle:
                cursor.copy_expert(f"COPY copy_{kind} FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
            connection.commit() if not connection.get_autocommit() else None
            baseline[kind] = time.perf_counter() - started

    total, total_copy = sum(results.values()), sum(baseline.values())
    print()
    print(f"{'file':<8} {'MB':>7} {'import s':>9} {'COPY s':>7} {'ratio':>6}")
    for kind in ("orders", "chats"):
        print(
            f"{kind:<8} {sizes[kind] / 1e6:>7.1f} {results[kind]:>9.2f} {baseline[kind]:>7.2f} {results[kind] / baseline[kind]:>6.1f}"
        )
    print(f"{'both':<8} {sum(sizes.values()) / 1e6:>7.1f} {total:>9.2f} {total_copy:>7.2f} {total / total_copy:>6.1f}")
    print(f"peak memory of the importing process: {peak_mb:.0f} MB (before importing: {rss_before / 1024:.0f} MB)")
    print(f"ratio (import / plain COPY): {total / total_copy:.1f}  (goal: at most 3)")
    if args.calls:
        _calls_bench(data / f"calls-{args.calls}.csv", args.calls, connection)

    connection.close()
    if not args.keep_data:
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS perfmgmt_bench WITH (FORCE)")
    return 0


def _calls_file(path: Path, rows: int) -> None:
    """A call record like a call centre's export: 60 agents over a year, full mobile numbers,
    m:ss talk times, no call id. Deterministic (seeded)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20260805)
    start = pd.Timestamp("2025-08-01 08:00:00")
    seconds = np.sort(rng.integers(0, 365 * 86400, rows))
    connected = rng.random(rows) < 0.35
    talk = np.where(connected, rng.integers(5, 900, rows), 0)
    frame = pd.DataFrame(
        {
            "坐席": pd.Series(rng.integers(1, 61, rows)).map(lambda n: f"电销{n:02d}"),
            "呼叫时间": (start + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
            "客户号码": pd.Series(rng.integers(13_000_000_000, 13_999_999_999, rows)).astype(str),
            "呼叫类型": np.where(rng.random(rows) < 0.9, "呼出", "呼入"),
            "是否接通": np.where(connected, "是", "否"),
            "通话时长": [f"{t // 60}:{t % 60:02d}" for t in talk],
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _calls_bench(path: Path, rows: int, connection) -> None:
    from metrics.importing.services import import_batch_create, import_batch_run
    from metrics.models import ImportStatus
    from teams.models import Store

    if not path.exists():
        _calls_file(path, rows)
    store = Store.objects.get_or_create(name="电销中心")[0]
    started = time.perf_counter()
    batch = import_batch_run(batch=import_batch_create(file=path, user=None, kind="calls", store=store))
    elapsed = time.perf_counter() - started
    if batch.status != ImportStatus.SUCCEEDED:
        print(f"calls: import {batch.status}: {batch.error_message}")
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS copy_calls")
        cursor.execute(f"CREATE TABLE copy_calls ({', '.join(f'c{i} text' for i in range(6))})")
        copy_started = time.perf_counter()
        with path.open(encoding="utf-8-sig") as handle:
            cursor.copy_expert("COPY copy_calls FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
        copy_elapsed = time.perf_counter() - copy_started
    print()
    print(
        f"calls: {batch.rows_total} rows ({path.stat().st_size / 1e6:.1f} MB) imported in {elapsed:.2f} s "
        f"= {batch.rows_total / elapsed:,.0f} rows/s (inserted={batch.inserted}); plain COPY {copy_elapsed:.2f} s, "
        f"ratio {elapsed / copy_elapsed:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
