"""The importer's database session killed during the merge statement (pg_terminate_backend from
another session, as an administrator or a connection pooler does): the batch fails as "connection
lost", as when it happens during COPY staging, not as an unexpected error (issue 20, point 5;
docs/faults.md, section 3).

The shared PostgreSQL keeps running: only the importer's own session (this test's connection) is
terminated. PostgreSQL pass only: SQLite has no sessions to kill.
"""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from django.db import connection
from django.utils import translation

from metrics.importing.services import import_batch_create, import_batch_run
from metrics.models import ImportStatus, Order
from teams.models import Store
from tests.faults.conftest import wait_until
from tests.metrics.helpers import ORDER_HEADER, order_line, write

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _connect():
    settings = connection.settings_dict
    db = psycopg2.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )
    return db


def test_session_killed_during_the_merge_fails_the_batch_as_connection_lost(tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://…): SQLite has no session to terminate")
    settings.MEDIA_ROOT = tmp_path / "media"
    Store.objects.create(name="未来衣橱旗舰店")
    path = write(tmp_path / "orders.csv", [ORDER_HEADER, *(order_line(f"K{i}") for i in range(2000))])
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.QUEUED, batch.error_text
    connection.ensure_connection()
    importer = connection.connection.get_backend_pid()

    # Another session holds the fact table, so the merge statement (INSERT … ON CONFLICT into
    # metrics_order) waits on its lock: the importer is then exactly inside the merge statement.
    holder = _connect()
    with holder.cursor() as cursor:
        cursor.execute("LOCK TABLE metrics_order IN EXCLUSIVE MODE")
    killer = _connect()
    killer.autocommit = True
    seen: dict[str, object] = {}

    def kill() -> None:
        def waiting():
            with killer.cursor() as cursor:
                cursor.execute("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s", [importer])
                row = cursor.fetchone()
            return row if row and row[0] == "Lock" and "metrics_order" in row[1] else None

        try:
            seen["activity"] = wait_until(waiting, timeout=60, what="the importer waiting in the merge statement")
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [importer])
            seen["killed_at"] = time.monotonic()
        finally:
            holder.rollback()

    thread = threading.Thread(target=kill)
    thread.start()
    try:
        with translation.override("en"):
            batch = import_batch_run(batch=batch)
        finished = time.monotonic()
    finally:
        thread.join(timeout=90)
        holder.close()
        killer.close()
    assert "killed_at" in seen, "the importer never waited in the merge statement"
    assert seen["activity"][1].lstrip().upper().startswith(("INSERT", "WITH")), seen["activity"]

    batch.refresh_from_db()
    with translation.override("en"):
        text = batch.error_text
    assert (batch.status, batch.inserted) == (ImportStatus.FAILED, 0), text
    assert text.startswith("The connection to the database was lost during the import, so nothing was imported."), text
    assert batch.finished_at is not None
    # All or nothing: no row of the batch, no staging table left behind (the temporary table went
    # with the killed session).
    assert Order.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'import_stage_%%'")
        assert cursor.fetchone()[0] == 0
    print(f"\nsession killed in the merge: batch marked failed {finished - seen['killed_at']:.2f} s after the kill")
