"""A task and a signal handler for the fault tests' worker and beat processes only
(tests/faults/settings.py imports this module)."""

import os
import time
from pathlib import Path

from celery import shared_task
from celery.signals import before_task_publish

PROBE_TASK = "tests.faults.tasks.beat_probe"


@shared_task(ignore_result=True)
def beat_probe(path: str) -> None:
    """Append the time it runs (epoch seconds) to `path`: one line per run."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{time.time():.3f}\n")


@before_task_publish.connect
def _probe_send_record(sender=None, **kwargs) -> None:
    """In a beat: append when and by which process each probe run is sent, to FAULTS_DIR/sends.log.
    Run times alone would not show a double send: a worker on the file broker takes one message
    per poll (about a second), spacing the runs of two messages sent together."""
    if sender == PROBE_TASK and os.environ.get("FAULTS_DIR"):
        with (Path(os.environ["FAULTS_DIR"]) / "sends.log").open("a", encoding="utf-8") as handle:
            handle.write(f"{time.time():.3f} {os.getpid()}\n")


@shared_task(bind=True, acks_late=True)
def sleep_probe(self, path: str, seconds: float) -> None:
    """Append 'start <task id>' to `path`, sleep `seconds`, append 'end <task id>'."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"start {self.request.id}\n")
    time.sleep(seconds)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"end {self.request.id}\n")


def _slow_warm_ups(seconds: float, log: Path) -> None:
    """Make every cache warm-up of this worker take `seconds` longer, logging 'warm start <store>'
    and 'warm end <store>' to `log`: a warm-up of a big store, for tests/faults/test_import_queue.py."""
    from metrics.dashboards import warmup as dashboards

    warm = dashboards.dashboards_warm

    def slow(*, store):
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"warm start {store.pk}\n")
        time.sleep(seconds)
        try:
            return warm(store=store)
        finally:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"warm end {store.pk}\n")

    dashboards.dashboards_warm = slow


if os.environ.get("FAULTS_SLOW_WARM_S"):
    _slow_warm_ups(float(os.environ["FAULTS_SLOW_WARM_S"]), Path(os.environ["FAULTS_DIR"]) / "warm.log")
