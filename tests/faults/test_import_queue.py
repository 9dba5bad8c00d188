"""Imports do not wait behind cache warm-ups: with the worker of every queue busy on a long warm-up
(and another queued behind it), an upload is imported, and its KPIs updated, by the imports worker
at once (docs/faults.md, docs/deploy.md).

Before, there was one queue: an upload sat "queued" for as long as the warm-ups ahead of it took.
The workers here are started as bin/serve starts them: one for every queue, one for "imports".
"""

from __future__ import annotations

import re
import time

import pytest

from metrics.models import ImportBatch, ImportStatus
from metrics.tasks import dashboards_warm_task
from perfmgmt.celery import app
from tests.faults.conftest import wait_until
from tests.faults.test_broker_down import _api_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# How long each warm-up is made to take (tests/faults/tasks.py). Seconds: the import must be done
# well within it, on however busy a machine.
SLOW_WARM_S = 60


def _warm_log(tmp_path) -> list[str]:
    path = tmp_path / "warm.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_an_upload_is_imported_while_the_default_worker_runs_a_long_warm_up(
    tmp_path, process_env, celery_processes, api_for, org
):
    app.control.purge()
    env = {**process_env, "FAULTS_SLOW_WARM_S": str(SLOW_WARM_S)}
    common = ["worker", "--pool", "prefork", "--concurrency", "1", "--loglevel", "info"]
    common += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    default = celery_processes("default", [*common, "-Q", "celery,imports", "-n", "default@%h"], env, tmp_path)
    default.wait_for_output("ready.")  # one after the other, as bin/serve starts them (the file broker)
    imports = celery_processes("imports", [*common, "-Q", "imports", "-n", "imports@%h"], env, tmp_path)
    imports.wait_for_output("ready.")
    try:
        # Two stores' warm-ups: the default worker runs one, the other waits in the default queue.
        dashboards_warm_task.delay(org.s1.pk)
        dashboards_warm_task.delay(org.s2.pk)
        wait_until(lambda: any(line.startswith("warm start") for line in _warm_log(tmp_path)), timeout=60)

        response, _ = _api_upload(api_for(org.users["manager_s1"]), org, "during-warm-up")
        assert response.status_code == 201, response.content
        uploaded = time.monotonic()
        batch = ImportBatch.objects.get(pk=response.json()["id"])
        wait_until(
            lambda: ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.SUCCEEDED,
            timeout=SLOW_WARM_S,
            what="the import",
        )
        imported = time.monotonic()
        # Its KPI update follows on the same queue, also before the warm-up ends.
        wait_until(
            lambda: re.search(r"kpis_after_import_task\[[^]]+\] succeeded", imports.output()),
            timeout=SLOW_WARM_S,
            what="its KPIs",
        )
        updated = time.monotonic()

        warm = _warm_log(tmp_path)
        assert len([line for line in warm if line.startswith("warm start")]) == 1 and not any(
            line.startswith("warm end") for line in warm
        ), warm
        assert "import_batch_run_task[" in imports.output() and "import_batch_run_task[" not in default.output()
        print(
            f"\nimported {imported - uploaded:.1f} s and KPIs updated {updated - uploaded:.1f} s after the upload, "
            f"with the default worker busy on a {SLOW_WARM_S} s warm-up"
        )
    finally:
        default.kill_all()
        imports.kill_all()
