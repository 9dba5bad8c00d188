"""What the fault tests share: Celery worker and beat processes on the test run's database and
broker, and a way to wait for something to happen."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = "") -> object:
    """The first truthy value of predicate() within `timeout` seconds; fails the test otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@pytest.fixture
def process_env(tmp_path, transactional_db, settings) -> dict[str, str]:
    """Environment of a worker or beat on this test's database and broker (tests/faults/settings.py)."""
    from django.db import connection

    from perfmgmt.celery import app

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.faults.settings",
        PYTHONPATH=str(ROOT),
        FAULTS_DATABASE_NAME=str(connection.settings_dict["NAME"]),
        FAULTS_BROKER_OPTIONS=json.dumps(app.conf.broker_transport_options or {}),
        FAULTS_RESULT_BACKEND=str(app.conf.result_backend),
        FAULTS_DIR=str(tmp_path),
        FAULTS_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    return env


class CeleryProcess:
    """`celery -A perfmgmt <args>` in a session of its own, its output in a log file."""

    def __init__(self, *, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "perfmgmt", *args],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, *, timeout: float = 60) -> None:
        wait_until(lambda: text in self.output() or self.process.poll() is not None, timeout=timeout, what=repr(text))
        assert text in self.output(), f"exited {self.process.poll()} before {text!r}:\n{self.output()[-3000:]}"

    def kill_all(self) -> None:
        """SIGKILL the main process and its pool: a container killed or a host lost."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        else:
            with contextlib.suppress(ProcessLookupError):  # a pool left behind by its killed main process
                os.killpg(self.process.pid, signal.SIGKILL)
        self.handle.close()


@pytest.fixture
def celery_processes():
    """Start Celery processes with start(name, args, env); every one is stopped at the end."""
    started: list[CeleryProcess] = []

    def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> CeleryProcess:
        process = CeleryProcess(args=args, env=env, log=log_dir / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def worker_args(name: str) -> list[str]:
    """A prefork worker with one pool process, taking one message at a time (as configured)."""
    return [
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "info",
        "--hostname",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
