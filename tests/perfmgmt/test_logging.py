"""The console log of a refused request: one line, no traceback, not printed twice."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@contextmanager
def _console() -> Iterator[io.StringIO]:
    """What the configured console handlers print for django.request's records: every plain
    StreamHandler on the way from that logger up to the root (the settings' own and any Django
    adds), pointed at one buffer. pytest's capture handlers (subclasses) are left alone."""
    handlers = []
    logger = logging.getLogger("django.request")
    while logger is not None:
        handlers += [h for h in logger.handlers if type(h) is logging.StreamHandler]
        logger = logger.parent if logger.propagate else None
    buffer = io.StringIO()
    streams = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_a_refused_page_and_api_call_log_one_line_each(org, client, api_for, settings, caplog, debug):
    # DEBUG on is how manage.py runserver serves (local settings); off is production.
    settings.DEBUG = debug
    client.force_login(org.users["staff_a"])
    assign = reverse("teams:account_assign", kwargs={"pk": org.account_a.pk})
    api = api_for(org.users["staff_a"])
    with caplog.at_level(logging.INFO), _console() as console:
        page = client.post(assign, {"member": org.b.pk, "start_date": "2026-06-01"})
        refused = api.get("/api/kpis/", {"level": "store"})
    assert (page.status_code, refused.status_code) == (403, 403)
    lines = console.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(f"WARNING django.request Forbidden (Permission denied): {assign}")
    assert lines[1].endswith("WARNING django.request Forbidden: /api/kpis/")
    records = [r for r in caplog.records if r.name.startswith("django")]
    assert [(r.name, r.status_code) for r in records] == [("django.request", 403)] * 2
    assert all(r.exc_info is None for r in records)


def test_a_server_error_keeps_its_traceback(org, client, settings, caplog, monkeypatch):
    settings.DEBUG = False
    client.raise_request_exception = False

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("teams.views.store_list", broken)
    client.force_login(org.users["manager_s1"])
    with caplog.at_level(logging.INFO), _console() as console:
        assert client.get(reverse("teams:store_list")).status_code == 500
    text = console.getvalue()
    assert "ERROR django.request Internal Server Error: /org/stores/" in text
    assert "Traceback" in text and "RuntimeError: the database went away" in text


def test_runserver_keeps_its_access_log_as_django_has_it():
    """Configuring the "django" logger resets its children: the access log of runserver
    (`make run`) is declared again, with Django's handler and format, printed once."""
    from django.utils.log import ServerFormatter

    server = logging.getLogger("django.server")
    assert server.propagate is False and server.level == logging.INFO
    # (pytest's own capture handlers left aside)
    console = [handler for handler in server.handlers if type(handler) is logging.StreamHandler]
    assert [type(handler.formatter) for handler in console] == [ServerFormatter]
