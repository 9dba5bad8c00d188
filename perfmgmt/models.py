from django.db import models


class WorkerHeartbeat(models.Model):
    """A Celery worker's sign of life: its main process writes `seen_at` on a timer (perfmgmt/health.py),
    and /healthz reports the workers as down when no row is recent. In the database, because the
    database is the one thing every web process and worker share in both setups (SQLite with the
    file broker on one machine, PostgreSQL and Redis on several)."""

    hostname = models.CharField(max_length=255, unique=True)  # the worker's node name, celery@host
    pid = models.PositiveIntegerField()  # of the worker's main process
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.hostname
