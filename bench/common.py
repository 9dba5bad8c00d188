"""What the benchmarks share: the server to use, the cached data set, a scratch database."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT.parent / "shared" / "bench" / "make_shop_data.py"


def server_url() -> str:
    """PostgreSQL to benchmark on: BENCH_DATABASE_URL, DATABASE_URL if PostgreSQL, or the local one."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"


def shop_data(orders: int) -> Path:
    """The shared generator's files for `orders` orders (60 agents, 365 days), written once."""
    data = ROOT / "var" / "bench" / f"shop-{orders}"
    if not (data / "chats.csv").exists():
        if not GENERATOR.exists():
            raise SystemExit(f"the shared generator is missing: {GENERATOR}")
        print(f"writing {orders} orders with the shared generator into {data} …", flush=True)
        subprocess.run(
            [sys.executable, str(GENERATOR), str(data), "--orders", str(orders), "--agents", "60", "--days", "365"],
            check=True,
        )
    return data


def scratch_database(name: str):
    """Create an empty database `name` on the server; returns (its URL, an autocommit admin connection)."""
    import psycopg2

    server = server_url()
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    return urlunparse(urlparse(server)._replace(path=f"/{name}")), admin
