"""The outbox of background work that must follow a committed change (docs/faults.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from metrics.models.imports import ImportBatch
from teams.models import Store


class FollowupStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # recorded, not (or no longer) on the broker
    QUEUED = "queued", _("Queued")  # published to the broker
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    INTERRUPTED = "interrupted", _("Interrupted")  # its worker stopped sending heartbeats


class Followup(models.Model):
    """A task that must run because some work committed (an outbox row): recorded in the work's
    transaction, published once it commits, and again by followups_deliver_task (every minute)
    and at each worker's start while the broker could not take it. The task runs with the id
    `followup-<id>-<attempts>`, by which the worker marks it running, done or failed and keeps
    its heartbeat (metrics.followups.services). Every task sent so is idempotent."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # Whose figures it updates: a store, or the stores of an import batch (the dashboards' notice).
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, null=True, blank=True, related_name="followups")
    status = models.CharField(max_length=16, choices=FollowupStatus, default=FollowupStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)  # times published
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(null=True, blank=True)  # last publish tried
    delivered_at = models.DateTimeField(null=True, blank=True)  # last publish the broker took
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} ({self.status})"
