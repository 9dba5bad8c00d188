"""Import speed on PostgreSQL, against a plain COPY of the same files in the same run.

  python bench/bench_import.py [--orders 1000000] [--keep-data]

Writes shop exports with the shared generator (../shared/bench/make_shop_data.py; cached under
var/bench/), imports orders.csv and chats.csv into a scratch database through the same services
the upload page uses (import_batch_create, then import_batch_run, which the Celery task calls),
then times COPY of the same files into an unindexed table of text columns. Prints both times,
their ratio and the import's peak memory. Needs PostgreSQL: BENCH_DATABASE_URL, or DATABASE_URL
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

    from metrics.models import ImportStatus
    from metrics.services.imports import import_batch_create, import_batch_run

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

    connection.close()
    if not args.keep_data:
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS perfmgmt_bench WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
