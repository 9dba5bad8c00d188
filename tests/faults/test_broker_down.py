"""The task broker unreachable when an upload queues its import: the person hears of it within
seconds, the batch is marked failed, nothing is imported, and the next upload after the broker is
back is queued by the same web process (docs/faults.md).

Both passes run these: the in-process Celery app is pointed at a private redis-server that the
test stops (or at a socket that never answers), or at a file broker whose folder is gone.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import override

from metrics.models import ImportBatch, ImportStatus, Order
from perfmgmt.celery import app
from perfmgmt.file_broker import file_broker_options
from tests.faults.conftest import wait_until
from tests.metrics.helpers import ORDER_HEADER, order_line

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MESSAGE = "The import could not be queued: the background job service is unreachable."
# Connection refused fails at once; publishing is retried twice (CELERY_TASK_PUBLISH_RETRY_POLICY).
REFUSED_LIMIT_S = 5
# A broker that accepts connections and never answers: the socket timeout ends each try (5 s).
SILENT_LIMIT_S = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test only, on a spare port: without persistence, or with an
    append-only file in `data_dir` (as docker-compose.yml runs it), so a restart keeps its queues."""

    def __init__(self, port: int, *, data_dir: Path | None = None) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.data_dir = data_dir
        self.process = None

    def start(self) -> None:
        persistence = (
            ["--appendonly", "no"] if self.data_dir is None else ["--appendonly", "yes", "--dir", str(self.data_dir)]
        )
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._ping, timeout=20, what="the private redis-server")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def _ping(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
        except redis.exceptions.ConnectionError:
            return False

    def queued(self) -> int:
        """Messages waiting in the app's queues (imports have one of their own)."""
        client = redis.Redis.from_url(self.url)
        return sum(client.llen(queue.name) for queue in settings.CELERY_TASK_QUEUES)


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(_free_port())
    server.start()
    yield server
    server.stop()


@contextlib.contextmanager
def broker(url: str, options: dict):
    """Point this process's Celery app at another broker, as a web process configured so would be."""
    conf = app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def repoint(new_url, new_options):
        # The app reads Django's CELERY_* settings: the namespaced key is the one Celery reads first.
        conf["CELERY_BROKER_URL"], conf["CELERY_BROKER_TRANSPORT_OPTIONS"] = new_url, new_options
        # As after a fork: the pools are looked up again for the new configuration (kombu keeps
        # one per broker URL and options, so the original ones come back untouched afterwards).
        app._pool = None
        app.amqp._producer_pool = None

    repoint(url, options)
    try:
        yield
    finally:
        repoint(*saved)


def _upload(org, name: str):
    body = "\n".join(
        [ORDER_HEADER, order_line(f"{name}-1", store=org.s1.name), order_line(f"{name}-2", store=org.s1.name)]
    )
    return SimpleUploadedFile(f"{name}.csv", (body + "\n").encode("utf-8-sig"), content_type="text/csv")


def _api_upload(api, org, name: str):
    """Upload through the API; (the response, seconds the POST took)."""
    started = time.monotonic()
    response = api.post(
        reverse("import-batch-list"),
        {"file": _upload(org, name), "store": org.s1.pk},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return response, time.monotonic() - started


def _page_upload(client, org, name: str) -> tuple[ImportBatch, str, float]:
    """Upload through the page; (the batch, the page the person lands on, seconds the POST took)."""
    started = time.monotonic()
    with override("en"):
        response = client.post(
            reverse("metrics:upload"), {"files": [_upload(org, name)], "store": org.s1.pk}, HTTP_ACCEPT_LANGUAGE="en"
        )
        elapsed = time.monotonic() - started
        batch = ImportBatch.objects.get(file_name=f"{name}.csv")
        assert response.status_code == 302 and response.url == reverse("metrics:batch_detail", args=[batch.pk])
        page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return batch, page, elapsed


def test_redis_stopped_the_upload_page_says_so_fast_and_imports_nothing(client_for, org, private_redis):
    client = client_for(org.users["manager_s1"])
    with broker(private_redis.url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
        batch, page, _ = _page_upload(client, org, "before")
        assert batch.status == ImportStatus.QUEUED and private_redis.queued() == 1

        private_redis.stop()
        batch, page, elapsed = _page_upload(client, org, "down")
        assert elapsed < REFUSED_LIMIT_S, elapsed
        batch.refresh_from_db()
        assert batch.status == ImportStatus.FAILED and batch.finished_at is not None
        with translation.override("en"):  # stored as a message, read in the reader's language
            assert batch.error_text.startswith(MESSAGE)
        assert MESSAGE in page and 'role="alert"' in page
        # No partial data: the import never started, and nothing is left for a worker to find.
        assert Order.objects.count() == 0 and batch.inserted == 0 and batch.started_at is None
        # Several files at once land on the list of the upload's batches: the reason is a page message.
        with override("en"):
            response = client.post(
                reverse("metrics:upload"),
                {"files": [_upload(org, "down-1"), _upload(org, "down-2")], "store": org.s1.pk},
                HTTP_ACCEPT_LANGUAGE="en",
                follow=True,
            )
        assert MESSAGE in response.content.decode()
        assert set(ImportBatch.objects.filter(file_name__startswith="down-").values_list("status", flat=True)) == {
            ImportStatus.FAILED
        }

        # Redis back: the same web process queues the next upload, no restart needed.
        private_redis.start()
        batch, page, _ = _page_upload(client, org, "after")
        assert batch.status == ImportStatus.QUEUED and private_redis.queued() == 1
    print(f"\nupload with Redis stopped answered in {elapsed:.2f} s")


def test_redis_stopped_the_api_answers_503_with_the_reason(api_for, org, private_redis):
    api = api_for(org.users["manager_s1"])
    private_redis.stop()
    with broker(private_redis.url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
        response, elapsed = _api_upload(api, org, "api")
    assert response.status_code == 503, response.content
    assert response.json()["status"] == ImportStatus.FAILED
    assert response.json()["error_message"].startswith(MESSAGE)
    assert elapsed < REFUSED_LIMIT_S, elapsed
    assert ImportBatch.objects.get().status == ImportStatus.FAILED and Order.objects.count() == 0


def test_redis_that_never_answers_fails_the_upload_within_the_socket_timeout(api_for, org):
    # A listening socket that never accepts: connections hang as on a frozen or unreachable host.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        api = api_for(org.users["manager_s1"])
        with broker(url, settings.REDIS_BROKER_TRANSPORT_OPTIONS):
            response, elapsed = _api_upload(api, org, "silent")
    assert response.status_code == 503 and response.json()["error_message"].startswith(MESSAGE)
    assert elapsed < SILENT_LIMIT_S, elapsed
    assert Order.objects.count() == 0
    print(f"\nupload with a silent Redis answered in {elapsed:.2f} s")


def test_file_broker_folder_gone_the_upload_fails_the_same_way(client_for, org, tmp_path):
    # The embedded default's equivalent of a broker down: its queue folder cannot be written
    # (a missing or unmounted disk; here a path under a regular file, which even root cannot create).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    client = client_for(org.users["manager_s1"])
    with broker("filesystem://", file_broker_options(blocker)):
        batch, page, elapsed = _page_upload(client, org, "file-broker")
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED
    with translation.override("en"):  # stored as a message, read in the reader's language
        assert batch.error_text.startswith(MESSAGE)
    assert MESSAGE in page and Order.objects.count() == 0
    assert elapsed < REFUSED_LIMIT_S, elapsed
