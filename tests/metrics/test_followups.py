"""Follow-ups (an import's KPI update, recorded with its rows) and work whose worker vanished:
the batch's status texts per state in both languages, the automatic retry, "Run again" on the page
and the API, and the dashboards' notice (metrics.followups.services; docs/faults.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from metrics import tasks
from metrics.followups.services import (
    followup_finished,
    followup_started,
    followups_deliver,
    import_batch_run_again,
)
from metrics.importing.services import import_batch_create
from metrics.models import Followup, ImportBatch, ImportStatus, KpisStatus
from tests.metrics.helpers import ORDER_HEADER, order_line, write

pytestmark = pytest.mark.django_db

LONG_AGO = dt.timedelta(hours=1)


def _batch(tmp_path, org, name="orders.csv") -> ImportBatch:
    path = write(tmp_path / name, [ORDER_HEADER, order_line("A1", store=org.s1.name)])
    return import_batch_create(file=path, user=org.users["manager_s1"], store=org.s1)


def _imported(tmp_path, org, task_queue) -> tuple[ImportBatch, Followup]:
    """An upload imported by its task; its KPI update recorded, published, not yet run."""
    batch = _batch(tmp_path, org)
    with task_queue._capture(execute=True):
        assert tasks.import_batch_run_task(batch.pk) == ImportStatus.SUCCEEDED
    batch.refresh_from_db()
    return batch, Followup.objects.get(batch=batch)


@pytest.mark.parametrize(
    ("status", "kpis", "interrupted", "english", "chinese"),
    [
        ("succeeded", "pending", False, "Imported; figures updating", "已导入；数据更新中"),
        ("succeeded", "running", False, "Imported; figures updating", "已导入；数据更新中"),
        (
            "succeeded",
            "retrying",
            False,
            "Imported; figures failed to update, retrying",
            "已导入；数据更新失败，正在重试",
        ),
        ("succeeded", "failed", False, "Imported; figures failed to update", "已导入；数据更新失败"),
        ("succeeded", "done", False, "Imported", "已导入"),
        ("succeeded", "", False, "Imported", "已导入"),
        ("queued", "", True, "Interrupted; queued to run again", "已中断；已排队重新运行"),
        ("running", "", True, "Interrupted; importing again", "已中断；正在重新导入"),
        ("interrupted", "", True, "Interrupted", "已中断"),
    ],
)
def test_a_batch_reads_imported_only_once_its_figures_are_current(status, kpis, interrupted, english, chinese):
    batch = ImportBatch(status=status, kpis_status=kpis, interrupted_at=timezone.now() if interrupted else None)
    with translation.override("en"):
        assert batch.status_label == english
    with translation.override("zh-hans"):
        assert batch.status_label == chinese
    assert batch.figures_current == (status == "succeeded" and kpis in ("", "done"))
    assert batch.can_run_again == (status == "interrupted" or kpis == "failed")


def test_the_import_records_its_kpi_update_with_its_rows_and_it_is_published_on_commit(tmp_path, org, task_queue):
    batch, followup = _imported(tmp_path, org, task_queue)
    assert followup.task == "metrics.tasks.kpis_after_import_task" and followup.args == [batch.pk]
    assert (followup.status, followup.attempts, followup.store_id) == ("queued", 1, org.s1.pk)
    assert task_queue.of("kpis_after_import_task") == [(batch.pk,)]
    assert batch.kpis_status == KpisStatus.PENDING
    # The worker takes it (the ids of follow-ups are followup-<id>-<attempt>), runs it, ends it.
    assert followup_started(followup_id=followup.pk, attempt=1)
    assert ImportBatch.objects.get(pk=batch.pk).kpis_status == KpisStatus.RUNNING
    followup_finished(followup_id=followup.pk, attempt=1, succeeded=True)
    batch.refresh_from_db()
    assert batch.kpis_status == KpisStatus.DONE and batch.figures_current


def test_a_broker_down_at_commit_leaves_the_update_pending_and_the_periodic_job_sends_it(
    tmp_path, org, task_queue, monkeypatch
):
    from celery.app.task import Task

    def down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as broken:
        broken.setattr(Task, "apply_async", down)
        batch, followup = _imported(tmp_path, org, task_queue)  # before: the task raised here
        assert (followup.status, followup.attempts) == ("pending", 0)
        assert followups_deliver().undelivered == 1
    assert followups_deliver().delivered == 1
    assert task_queue.of("kpis_after_import_task") == [(batch.pk,)]
    assert Followup.objects.get(pk=followup.pk).status == "queued"
    assert followups_deliver().delivered == 0  # delivered once


def test_a_failed_kpi_update_is_retried_once_then_offered_again(tmp_path, org, task_queue, client_for, api_for):
    batch, followup = _imported(tmp_path, org, task_queue)
    followup_started(followup_id=followup.pk, attempt=1)
    followup_finished(followup_id=followup.pk, attempt=1, succeeded=False)
    assert ImportBatch.objects.get(pk=batch.pk).kpis_status == KpisStatus.RETRYING
    page = client_for(org.users["manager_s1"]).get(reverse("metrics:batch_detail", args=[batch.pk]))
    assert b'data-testid="figures-retrying"' in page.content and b'data-testid="run-again"' not in page.content

    assert followups_deliver().retried == 1  # pending again, and sent
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == ("queued", 2)
    followup_started(followup_id=followup.pk, attempt=2)
    assert ImportBatch.objects.get(pk=batch.pk).kpis_status == KpisStatus.RETRYING  # still says so
    followup_finished(followup_id=followup.pk, attempt=2, succeeded=False)
    batch.refresh_from_db()
    assert batch.kpis_status == KpisStatus.FAILED and batch.can_run_again
    assert followups_deliver().retried == 0

    page = client_for(org.users["manager_s1"]).get(reverse("metrics:batch_detail", args=[batch.pk]))
    assert b'data-testid="figures-failed"' in page.content and b'data-testid="run-again"' in page.content
    api = api_for(org.users["manager_s1"])
    body = api.get(reverse("import-batch-detail", args=[batch.pk])).json()
    assert (body["kpis_status"], body["can_run_again"]) == ("failed", True)
    with task_queue._capture(execute=True):
        assert api.post(reverse("import-batch-run-again", args=[batch.pk])).status_code == 202
    assert api.post(reverse("import-batch-run-again", args=[batch.pk])).status_code == 409  # once
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == ("queued", 3)
    assert ImportBatch.objects.get(pk=batch.pk).kpis_status == KpisStatus.PENDING


def _running_since(batch: ImportBatch, when: dt.datetime, attempt: int = 0) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.RUNNING, started_at=when, heartbeat_at=when, attempt=attempt
    )


def test_an_import_whose_worker_vanished_is_queued_again_once_then_offered_to_run_again(
    tmp_path, org, task_queue, client_for
):
    batch = _batch(tmp_path, org)
    _running_since(batch, timezone.now() - LONG_AGO)
    report = followups_deliver()
    assert (report.interrupted, report.retried) == (1, 1)
    batch.refresh_from_db()
    assert (batch.status, batch.attempt) == (ImportStatus.QUEUED, 1) and batch.interrupted_at
    assert task_queue.of("import_batch_run_task") == [(batch.pk, 1)]
    # A message of the first run coming back (the visibility timeout) is not run a second time.
    assert tasks.import_batch_run_task(batch.pk, 0) == "superseded"

    # The re-run's worker vanishes too: interrupted, "Run again" offered, nothing queued.
    task_queue.calls.clear()
    _running_since(batch, timezone.now() - LONG_AGO, attempt=1)
    assert followups_deliver().retried == 0
    batch.refresh_from_db()
    assert batch.status == ImportStatus.INTERRUPTED and batch.can_run_again and not task_queue.calls
    client = client_for(org.users["manager_s1"])
    page = client.get(reverse("metrics:batch_detail", args=[batch.pk]))
    assert b'data-testid="interrupted"' in page.content and b'data-testid="run-again"' in page.content
    assert (
        client_for(org.users["manager_s2"]).post(reverse("metrics:batch_run_again", args=[batch.pk])).status_code == 404
    )

    client = client_for(org.users["manager_s1"])
    with task_queue._capture(execute=True):
        assert client.post(reverse("metrics:batch_run_again", args=[batch.pk])).status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.attempt) == (ImportStatus.QUEUED, 2)
    assert task_queue.of("import_batch_run_task") == [(batch.pk, 2)]
    task_queue.run_all()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.SUCCEEDED and batch.inserted == 1
    # The page keeps saying that it was interrupted and run again, in the reader's language.
    client.cookies["django_language"] = "en"
    facts = client.get(reverse("metrics:batch_detail", args=[batch.pk])).content.decode()
    assert "<dt>Interrupted</dt>" in facts and "; run again 2 times</dd>" in facts
    client.cookies["django_language"] = "zh-hans"
    facts = client.get(reverse("metrics:batch_detail", args=[batch.pk])).content.decode()
    assert "<dt>已中断</dt>" in facts and "；已重新运行 2 次</dd>" in facts


def test_a_live_import_is_left_alone(tmp_path, org, task_queue):
    batch = _batch(tmp_path, org)
    _running_since(batch, timezone.now())
    assert followups_deliver().interrupted == 0
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.RUNNING


def test_a_kpi_update_whose_worker_vanished_is_retried_then_the_dashboards_say_interrupted(
    tmp_path, org, task_queue, client_for, api_for
):
    batch, followup = _imported(tmp_path, org, task_queue)
    followup_started(followup_id=followup.pk, attempt=1)
    team_page = reverse("dashboards:team") + f"?team={org.x.pk}"
    client = client_for(org.users["admin"])
    assert b'data-testid="refreshing"' in client.get(team_page).content  # recorded, running
    Followup.objects.filter(pk=followup.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    report = followups_deliver()  # interrupted, pending again, sent again
    assert (report.interrupted, report.retried, report.delivered) == (1, 1, 1)
    assert ImportBatch.objects.get(pk=batch.pk).kpis_status == KpisStatus.RETRYING
    assert b'data-testid="refreshing"' in client.get(team_page).content

    followup_started(followup_id=followup.pk, attempt=2)  # the re-run's worker vanishes too
    Followup.objects.filter(pk=followup.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    assert followups_deliver().retried == 0
    batch.refresh_from_db()
    assert (Followup.objects.get(pk=followup.pk).status, batch.kpis_status) == ("interrupted", KpisStatus.FAILED)
    page = client.get(team_page).content
    assert b'data-testid="kpis-interrupted"' in page and b'data-testid="refreshing"' not in page
    body = api_for(org.users["admin"]).get(reverse("api_dashboard_team"), {"team": org.x.pk}).json()
    assert (body["interrupted"], body["updating"]) == (True, False)

    with task_queue._capture(execute=True):
        import_batch_run_again(batch=batch)
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == ("queued", 3)
    followup_started(followup_id=followup.pk, attempt=3)
    followup_finished(followup_id=followup.pk, attempt=3, succeeded=True)
    page = client.get(team_page).content
    assert b'data-testid="kpis-interrupted"' not in page and b'data-testid="refreshing"' not in page
    assert ImportBatch.objects.get(pk=batch.pk).figures_current
