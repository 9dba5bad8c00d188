"""A Celery round trip through the configured broker (Redis when REDIS_URL is set) and a real worker."""

import datetime as dt
import os

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult, EagerResult
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from perfmgmt.celery import app
from teams.models import Member
from teams.tasks import members_deactivate_departed_task
from tests.factories import MemberFactory


def test_broker_is_redis_when_redis_url_is_set():
    if os.environ.get("REDIS_URL"):
        assert app.conf.broker_url.startswith("redis://")
        assert str(app.conf.result_backend).startswith("redis://")
    else:
        assert app.conf.broker_url == "filesystem://localhost/"
        assert str(app.conf.result_backend).startswith("file://")
    assert not app.conf.task_always_eager


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_a_real_worker():
    leaver = MemberFactory(leave_date=timezone.localdate() - dt.timedelta(days=1))
    MemberFactory(leave_date=None)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        results = []
        with transaction.atomic():
            # Queued only once the transaction commits, as every task of the product is.
            transaction.on_commit(lambda: results.append(members_deactivate_departed_task.delay()))
            assert results == []
        result = results[0]
        assert isinstance(result, AsyncResult) and not isinstance(result, EagerResult)
        assert result.get(timeout=60) == 1
        # Idempotent: the second run finds nothing to change.
        assert members_deactivate_departed_task.delay().get(timeout=60) == 0
    leaver.refresh_from_db()
    assert leaver.active is False
    assert Member.objects.filter(active=True).count() == 1


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
    # django-celery-beat's database scheduler, behind the leader lock of perfmgmt/beat.py.
    from django_celery_beat.schedulers import DatabaseScheduler
    from kombu.utils.imports import symbol_by_name

    assert issubclass(symbol_by_name(settings.CELERY_BEAT_SCHEDULER), DatabaseScheduler)


IMPORT_QUEUE_TASKS = {
    "metrics.tasks.import_batch_run_task",
    "metrics.tasks.kpis_after_import_task",
    "metrics.tasks.kpis_recompute_range_task",
    "metrics.tasks.kpis_attribution_task",
    "metrics.tasks.kpis_partition_task",
    "metrics.tasks.followups_deliver_task",  # the outbox of follow-ups, routed by name
}


def _queue(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_imports_and_kpi_updates_have_a_queue_of_their_own():
    """An upload never waits behind a cache warm-up (docs/deploy.md): imports and the KPI updates
    that follow them go to "imports", every other task to the default queue."""
    app.loader.import_default_modules()
    for name in IMPORT_QUEUE_TASKS:
        assert _queue(name) == "imports", name
    ours = [name for name in app.tasks if name.split(".")[0] in ("metrics", "teams", "incentives", "reviews")]
    assert "metrics.tasks.dashboards_warm_task" in ours and "metrics.tasks.targets_check_task" in ours
    for name in set(ours) - IMPORT_QUEUE_TASKS:
        assert _queue(name) == "celery", name
    # A worker started without -Q (make worker, compose's worker, start_worker in tests) takes both.
    assert set(app.amqp.queues) == {"celery", "imports"}
    # Each queue has its own exchange: a message for one is never delivered to the other too.
    assert {q.name: (q.exchange.name, q.routing_key) for q in app.amqp.queues.values()} == {
        "celery": ("celery", "celery"),
        "imports": ("imports", "imports"),
    }
