"""KPI recompute speed: the product's full recompute through Celery against DuckDB on the CSVs.

  python bench/bench_kpis.py [--orders 1000000]

1. Imports the shared generator's files (cached under var/bench/) into a scratch PostgreSQL
   database through the importers, and gives each platform account a member in a team.
2. Times a full recompute through the Celery task path: a real worker (2 processes, Redis) runs
   the group that fans out by store and month (attribution, then month partitions).
3. In the same run, computes the same member-day and store-month figures with DuckDB straight
   from the CSV files (attribution by ASOF JOIN), and prints both times and the ratio.
4. Times importing one more day (about 3,000 orders and 4,000 chats) plus its incremental
   recompute (kpis_after_import), as the Celery import task does.

Needs PostgreSQL and Redis (BENCH_DATABASE_URL / REDIS_URL, defaults on 127.0.0.1) and duckdb
(`pip install -r requirements/bench.txt`, which `make bench` does).
"""

import argparse
import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GENERATOR, ROOT, scratch_database, shop_data


def duckdb_figures(data: Path) -> tuple[float, int, int]:
    """Member-day and store-month figures from the CSVs with DuckDB; (seconds, member-days, store-months)."""
    import duckdb

    started = time.perf_counter()
    db = duckdb.connect()
    db.execute(f"""
        CREATE TABLE orders AS SELECT 店铺名称 AS store, 订单编号 AS order_id, 买家会员名 AS buyer,
            CAST(订单创建时间 AS TIMESTAMP) AS created, 订单付款时间 IS NOT NULL AS paid,
            CAST(买家实际支付金额 AS DECIMAL(14,2)) AS paid_amount, CAST(退款金额 AS DECIMAL(14,2)) AS refund,
            宝贝总数量 AS items FROM read_csv('{data / "orders.csv"}', header = true, all_varchar = false);
        CREATE TABLE chats AS SELECT 店铺名称 AS store, 会话ID AS session, 客服 AS account, 买家会员名 AS buyer,
            CAST(咨询时间 AS TIMESTAMP) AS started, CAST(首次响应时间 AS TIMESTAMP) AS first
            FROM read_csv('{data / "chats.csv"}', header = true);
        CREATE TABLE traffic AS SELECT 店铺名称 AS store, CAST(日期 AS DATE) AS day, 访客数 AS uv, 浏览量 AS pv,
            加购人数 AS cart_adds FROM read_csv('{data / "traffic.csv"}', header = true);
        CREATE TABLE credit AS SELECT o.*, c.session, c.account, c.started AS session_started,
            CAST(c.started AS DATE) AS session_day
            FROM orders o ASOF LEFT JOIN chats c
            ON o.store = c.store AND o.buyer = c.buyer AND o.created >= c.started;
        UPDATE credit SET session = NULL, account = NULL, session_day = NULL
            WHERE session_started < created - INTERVAL 24 HOUR;
    """)
    member_days = db.execute("""
        WITH s AS (
            SELECT store, account, CAST(started AS DATE) AS day, count(*) AS sessions,
                count(DISTINCT buyer) AS inquiring_buyers, count(*) FILTER (WHERE first IS NULL) AS unanswered,
                avg(epoch(first) - epoch(started)) AS avg_first_response_s
            FROM chats GROUP BY ALL),
        o AS (
            SELECT store, account, session_day AS day, count(DISTINCT buyer) AS ordered_buyers,
                count(DISTINCT buyer) FILTER (WHERE paid) AS paid_buyers, count(*) FILTER (WHERE paid) AS paid_orders,
                sum(paid_amount) FILTER (WHERE paid) AS gmv, sum(refund) FILTER (WHERE paid) AS refund_amount,
                count(*) FILTER (WHERE paid AND refund > 0) AS refunded, sum(items) FILTER (WHERE paid) AS items
            FROM credit WHERE account IS NOT NULL GROUP BY ALL),
        g AS (SELECT store, CAST(created AS DATE) AS day, sum(paid_amount) FILTER (WHERE paid) AS store_gmv
              FROM orders GROUP BY ALL)
        SELECT s.*, o.ordered_buyers, o.paid_buyers, o.paid_orders, o.gmv, o.refund_amount,
            o.ordered_buyers / s.inquiring_buyers AS inquiry_to_order_rate,
            o.paid_buyers / s.inquiring_buyers AS inquiry_to_payment_rate, o.gmv / nullif(o.paid_orders, 0) AS aov,
            o.gmv / nullif(o.paid_buyers, 0) AS per_buyer_value, o.refunded / nullif(o.paid_orders, 0) AS refund_order_rate,
            o.items / nullif(o.paid_orders, 0) AS items_per_order, o.gmv / nullif(g.store_gmv, 0) AS sales_share
        FROM s LEFT JOIN o USING (store, account, day) LEFT JOIN g USING (store, day)
    """).fetchall()
    store_months = db.execute("""
        WITH p AS (SELECT *, date_trunc('month', created) AS month FROM orders),
        first_paid AS (SELECT store, buyer, min(created) AS first FROM orders WHERE paid GROUP BY ALL),
        per_buyer AS (SELECT store, month, buyer, count(*) AS n FROM p WHERE paid GROUP BY ALL),
        o AS (SELECT store, month, count(*) AS orders_placed, count(*) FILTER (WHERE paid) AS paid_orders,
                sum(paid_amount) FILTER (WHERE paid) AS gmv, sum(refund) FILTER (WHERE paid) AS refund_amount
              FROM p GROUP BY ALL),
        b AS (SELECT pb.store, pb.month, count(*) AS paying_buyers, count(*) FILTER (WHERE n >= 2) AS repeat_buyers,
                count(*) FILTER (WHERE f.first < pb.month) AS returning_buyers
              FROM per_buyer pb JOIN first_paid f USING (store, buyer) GROUP BY ALL),
        silent AS (SELECT store, date_trunc('month', created) AS month, sum(paid_amount) AS silent_gmv
                   FROM credit WHERE paid AND session IS NULL GROUP BY ALL),
        t AS (SELECT store, date_trunc('month', day) AS month, sum(uv) AS uv, sum(pv) AS pv, sum(cart_adds) AS cart_adds
              FROM traffic GROUP BY ALL),
        i AS (SELECT store, date_trunc('month', started) AS month, count(DISTINCT buyer) AS inquiring_buyers
              FROM chats GROUP BY ALL)
        SELECT * FROM o JOIN b USING (store, month) LEFT JOIN silent USING (store, month)
            LEFT JOIN t USING (store, month) LEFT JOIN i USING (store, month)
    """).fetchall()
    return time.perf_counter() - started, len(member_days), len(store_months)


def one_more_day(data: Path, out: Path, day: dt.date) -> tuple[Path, Path]:
    """A day of fresh orders and chats: the generator's one-day files with ids of their own."""
    if not (out / "orders.csv").exists():
        raw = out / "raw"
        subprocess.run(
            [sys.executable, str(GENERATOR), str(raw), "--orders", "3000", "--agents", "60", "--days", "1",
             "--start", day.isoformat(), "--seed", "99"],
            check=True, capture_output=True,
        )  # fmt: skip
        for name, id_column in (("orders", 0), ("chats", 0)):
            with (raw / f"{name}.csv").open(encoding="utf-8-sig", newline="") as source:
                rows = list(csv.reader(source))
            with (out / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as target:
                writer = csv.writer(target)
                writer.writerow(rows[0])
                for row in rows[1:]:
                    row[id_column] = f"NEXT-{row[id_column]}"
                    writer.writerow(row)
    return out / "orders.csv", out / "chats.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep-data", action="store_true", help="Keep the scratch database for profiling.")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    data = shop_data(args.orders)
    scratch, admin = scratch_database("perfmgmt_bench_kpis")
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no task of an interrupted run reaches this run's worker
    env = {**os.environ, "DATABASE_URL": scratch, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "perfmgmt.settings.local",
           "PERFMGMT_VAR_DIR": str(ROOT / "var" / "bench" / "var")}  # fmt: skip
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from metrics.importing.services import chats_import, orders_import, traffic_import
    from metrics.kpis.services import kpis_after_import
    from metrics.tasks import kpis_full_recompute_signature
    from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team, TeamMembership

    call_command("migrate", verbosity=0)
    print("importing the data set …", flush=True)
    for importer, name in ((orders_import, "orders"), (chats_import, "chats"), (traffic_import, "traffic")):
        batch = importer(store=None, file=data / f"{name}.csv", user=None)
        print(f"  {name}: {batch.inserted} rows in {batch.duration_ms / 1000:.1f} s", flush=True)
    for account in PlatformAccount.objects.select_related("store"):
        team, _ = Team.objects.get_or_create(store=account.store, name="客服")
        member = Member.objects.create(display_name=account.name)
        TeamMembership.objects.create(member=member, team=team, start_date=dt.date(2020, 1, 1))
        AccountAssignment.objects.create(account=account, member=member, start_date=dt.date(2020, 1, 1))

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "perfmgmt", "worker", "--concurrency", "2", "-l", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(5)
        started = time.perf_counter()
        kpis_full_recompute_signature(list(Store.objects.values_list("id", flat=True))).apply_async().get(timeout=3600)
        product = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    from metrics.models import MemberDay, StoreDay

    print(f"full recompute through Celery (2 worker processes): {product:.2f} s "
          f"({MemberDay.objects.count()} member-days, {StoreDay.objects.count()} store-days)")  # fmt: skip
    duck, member_days, store_months = duckdb_figures(data)
    print(f"DuckDB from the CSV files: {duck:.2f} s ({member_days} member-days, {store_months} store-months)")
    print(f"ratio (product / DuckDB): {product / duck:.1f}  (goal: at most 3)")

    day = dt.date(2026, 8, 1) + dt.timedelta(days=365)
    orders_file, chats_file = one_more_day(data, ROOT / "var" / "bench" / "one-more-day", day)
    started = time.perf_counter()
    total_rows = 0
    for importer, path in ((chats_import, chats_file), (orders_import, orders_file)):
        batch = importer(store=None, file=path, user=None)
        total_rows += batch.inserted
        kpis_after_import(batch=batch)
    incremental = time.perf_counter() - started
    print(f"one more day ({total_rows} new rows) imported and recomputed: {incremental:.2f} s  (goal: under 2 s)")
    from django.db import connection

    connection.close()
    if not args.keep_data:
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS perfmgmt_bench_kpis WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
