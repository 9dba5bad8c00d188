from django.apps import AppConfig


class PerfmgmtConfig(AppConfig):
    name = "perfmgmt"
    verbose_name = "perfmgmt"

    def ready(self) -> None:
        # A worker's heartbeat starts and ends with the worker (Celery's worker_ready and
        # worker_shutdown signals), which /healthz reads.
        from perfmgmt import health  # noqa: F401
