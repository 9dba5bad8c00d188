"""PostgreSQL restarted during an import: the import fails cleanly (the batch marked failed with a
readable reason, the command exits non-zero saying so), none of the batch's rows are left, and a
re-run of the same file gives exactly the file's rows (docs/faults.md).

The shared PostgreSQL is never touched: the test starts a cluster of its own on a spare port,
restarts that one, and removes it. It runs in the PostgreSQL pass (its schema is copied from that
pass's test database, which takes a second where `migrate` takes half a minute).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from tests.faults.conftest import ROOT, wait_until
from tests.faults.shopdata import STORE, orders_totals, orders_write

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ORDERS = 60_000
CHUNK_ROWS = 5_000  # staged in 12 chunks, so the restart can land between two of them


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """initdb, pg_ctl start / restart / stop of a throwaway cluster, as the postgres OS user when
    run as root (initdb and postgres refuse to run as root)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="perfmgmt-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/perfmgmt"

    def _run(self, program: str, *args: str) -> None:
        # Output to a file, not a pipe: a postmaster started by pg_ctl inherits it and keeps it open.
        with (self.root / "pg_ctl.log").open("a") as log:
            subprocess.run(
                [*self.as_postgres, str(self.bin_dir / program), *args], check=True, stdout=log, stderr=log, timeout=120
            )

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def restart(self) -> None:
        """A fast restart: every session is terminated, open transactions are rolled back."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.as_postgres, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, database: str = "perfmgmt"):
        db = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        db.autocommit = True
        return db

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as db, db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@pytest.fixture
def cluster():
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres OS user to run initdb as")
    server = PrivateCluster(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _schema_copy(server: PrivateCluster) -> None:
    """This pass's test database's schema (all migrations applied) into the private cluster."""
    admin = server.connect("postgres")
    with admin.cursor() as cursor:
        cursor.execute("CREATE DATABASE perfmgmt")
    admin.close()
    source = connection.settings_dict
    dump = subprocess.run(
        [
            str(server.bin_dir / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "-h",
            source["HOST"] or "127.0.0.1",
            "-p",
            str(source["PORT"] or 5432),
            "-U",
            source["USER"] or "postgres",
            source["NAME"],
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PGPASSWORD": source["PASSWORD"] or ""},
    ).stdout
    psql = [str(server.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(server.port)]
    subprocess.run(
        [*psql, "-U", "postgres", "-d", "perfmgmt"],
        input=dump,
        check=True,
        capture_output=True,
    )


def _import(server: PrivateCluster, tmp_path: Path, path: Path) -> subprocess.Popen:
    """`manage.py import_data orders FILE` against the private cluster, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="perfmgmt.settings.local",
        DJANGO_ENV_FILE=str(tmp_path / "no.env"),
        DATABASE_URL=server.url,
        PERFMGMT_VAR_DIR=str(tmp_path / "var"),
        MEDIA_ROOT=str(tmp_path / "media"),
        IMPORT_CHUNK_ROWS=str(CHUNK_ROWS),
        LANGUAGE_CODE="en",  # the messages asserted below, in English
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_data", "orders", str(path), "--store", STORE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _latest_batch(server: PrivateCluster) -> tuple | None:
    rows = server.query(
        "SELECT id, status, rows_processed, inserted, error_message FROM metrics_importbatch ORDER BY id DESC LIMIT 1"
    )
    return rows[0] if rows else None


def _failed_cleanly(server: PrivateCluster, command: subprocess.Popen) -> tuple[int, str]:
    out, err = command.communicate(timeout=120)
    assert command.returncode != 0, out + err
    assert "The connection to the database was lost during the import" in err, err[-3000:]
    batch_id, status, _processed, inserted, message = _latest_batch(server)
    assert (status, inserted) == ("failed", 0)
    assert message.startswith("The connection to the database was lost during the import, so nothing was imported.")
    # All or nothing: no row of the batch, no staging table left behind.
    assert server.query("SELECT count(*) FROM metrics_order") == [(0,)]
    assert server.query("SELECT count(*) FROM pg_class WHERE relname LIKE 'import_stage_%'") == [(0,)]
    return batch_id, err


def test_postgres_restarted_during_an_import_fails_cleanly_and_a_rerun_imports_every_row(tmp_path, cluster):
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://…): it copies that test database's schema")
    _schema_copy(cluster)
    path = orders_write(tmp_path / "orders.csv", orders=ORDERS, start=dt.date(2026, 1, 1), days=180)
    rows, cents = orders_totals(path)
    figures = {}

    # 1. Restarted while the file is being read and staged (chunks in a temporary table).
    started = time.monotonic()
    command = _import(cluster, tmp_path, path)
    wait_until(
        lambda: (batch := _latest_batch(cluster)) and batch[1] == "running" and batch[2] > 0,
        timeout=120,
        interval=0.02,
        what="the first staged chunk",
    )
    staged = _latest_batch(cluster)[2]
    cluster.restart()
    _failed_cleanly(cluster, command)
    figures["staging"] = (staged, time.monotonic() - started)

    # 2. Restarted inside the merge transaction, after every row was inserted into the fact table
    # but before the commit: another session holds the batch-stores table, so the importer waits
    # there, at the last statement of its transaction, until the restart ends the session.
    holder = cluster.connect()
    holder.autocommit = False
    with holder.cursor() as cursor:
        cursor.execute("LOCK TABLE metrics_importbatch_stores IN EXCLUSIVE MODE")
    started = time.monotonic()
    command = _import(cluster, tmp_path, path)
    wait_until(
        lambda: cluster.query(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"metrics_importbatch_stores\"%'"
        )[0][0],
        timeout=120,
        interval=0.05,
        what="the importer waiting at the end of its merge transaction",
    )
    cluster.restart()
    holder.close()
    _failed_cleanly(cluster, command)
    figures["merge"] = time.monotonic() - started

    # 3. The same file again: every row, the file's totals, one succeeded batch.
    started = time.monotonic()
    command = _import(cluster, tmp_path, path)
    out, err = command.communicate(timeout=300)
    assert command.returncode == 0, out + err
    assert f"inserted={rows} updated=0 unchanged=0 rejected=0" in out
    assert cluster.query("SELECT count(*), sum(paid_cents) FROM metrics_order") == [(rows, cents)]
    assert cluster.query("SELECT status, count(*) FROM metrics_importbatch GROUP BY status ORDER BY status") == [
        ("failed", 2),
        ("succeeded", 1),
    ]
    figures["rerun"] = time.monotonic() - started
    print(
        f"\n{rows} rows; restart after {figures['staging'][0]} staged rows, command failed "
        f"{figures['staging'][1]:.1f} s after start; restart in the merge, failed {figures['merge']:.1f} s after "
        f"start; re-run imported every row in {figures['rerun']:.1f} s"
    )
