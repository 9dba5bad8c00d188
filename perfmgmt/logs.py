"""Filters of the LOGGING setting (perfmgmt/settings/base.py)."""

from __future__ import annotations

import logging


class ClientErrorTracebackFilter(logging.Filter):
    """Drops the traceback Django attaches to a refused request's log record, keeps its one line.

    Django logs a view's PermissionDenied (and a body it cannot parse) on `django.request` with the
    exception's traceback. A 403 is the product working (a role asked for what it may not do, see
    docs/roles.md), not a fault: "Forbidden (Permission denied): /path" says all there is. Server
    errors (5xx) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
