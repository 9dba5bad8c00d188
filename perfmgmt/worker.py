"""The Celery worker's consumer, kept alive when the broker drops while a task runs.

Celery 5.7.0's consumer, after a connection loss, first collects the broken connection (which
clears the Redis transport's client) and then closes it, a step new in 5.7. When a task is running
(its acks_late message unacknowledged) and a pool process waits for the next message, that close
tries to put the message back through the cleared client and raises AttributeError ("'NoneType'
object has no attribute 'hostname'" in kombu's Redis `_connparams`). Celery wraps the close in
`ignore_errors`, which lets only connection errors pass, so the worker's main process exits with
"Unrecoverable error" and nothing restarts it (docs/faults.md, section 6).

Celery 5.6 only collected, and survived; but its group results never arrive (`recompute_kpis
--queue --full` waited forever), so the fix is here instead of a downgrade: after a loss the
connection is collected and not closed again, as 5.6 did. The running task carries on and
acknowledges on the new connection (tests/faults/test_broker_lost.py). Selected by
CELERY_WORKER_CONSUMER.
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer as CeleryConsumer

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            # Celery calls `connection.close` after collecting it: the instance attribute shadows
            # the method, so the lost connection is only collected, as Celery 5.6 did. Collecting
            # already closed its transport; the close would only try to restore the running task's
            # message, which then stays owned by the channel that acknowledges it once the task
            # ends (a restore through the cleared client both killed the worker and left the
            # message in Redis's unacked set, to be run a second time an hour later).
            connection.close = _lost_connection_close
        super().on_connection_error_after_connected(exc)


def _lost_connection_close() -> None:
    logger.debug("the lost broker connection was collected; not closed again")
