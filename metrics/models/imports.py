"""The record of every import: its batch, rejected rows and remembered column mappings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from metrics.messages import message_render
from teams.models import Store


class ImportKind(models.TextChoices):
    ORDERS = "orders", _("Orders")
    CHATS = "chats", _("Chat sessions")
    TRAFFIC = "traffic", _("Traffic")
    LEADS = "leads", _("Leads and deals")
    CALLS = "calls", _("Calls")
    # Not facts: the organisation (members, teams, accounts), as HR's roster (花名册) lists it.
    ROSTER = "roster", _("Roster (people)")


class ImportStatus(models.TextChoices):
    NEEDS_MAPPING = "needs_mapping", _("Needs column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Failed, nothing imported")  # rejected rows, or the queue or database lost
    REFUSED = "refused", _("File refused")
    # Its worker stopped (killed, host lost) and the automatic re-run was used up: a manager may
    # run it again from the kept file (docs/faults.md).
    INTERRUPTED = "interrupted", _("Interrupted")


class KpisStatus(models.TextChoices):
    """The KPI update that follows a succeeded import (metrics.followups.services)."""

    NONE = "", _("None")  # nothing follows: not imported (yet), or a roster
    PENDING = "pending", _("Figures updating")
    RUNNING = "running", _("Figures updating")
    DONE = "done", _("Figures up to date")
    RETRYING = "retrying", _("Figures failed to update, retrying")  # failed or interrupted once
    FAILED = "failed", _("Figures failed to update")  # failed or interrupted again: "Run again"


def _upload_to(instance: "ImportBatch", filename: str) -> str:
    return f"imports/{instance.created_at:%Y/%m}/{instance.sha256[:16]}-{filename}"


class ImportBatch(models.Model):
    """One file imported (or being imported) by one person."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind)
    # The store chosen for the import; empty when the file names its stores (店铺名称).
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("store"),
    )
    stores = models.ManyToManyField(Store, blank=True, related_name="+", verbose_name=_("stores in the file"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("imported by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus, default=ImportStatus.QUEUED)

    file = models.FileField(_("file"), upload_to=_upload_to, max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size_bytes = models.BigIntegerField(_("size (bytes)"))
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    sheet = models.CharField(_("sheet"), max_length=120, blank=True)
    column_mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    skip_invalid = models.BooleanField(_("import valid rows, skip invalid ones"), default=False)

    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_processed = models.PositiveIntegerField(_("rows read"), default=0)
    inserted = models.PositiveIntegerField(_("inserted"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    # Why it failed: a message (metrics/messages.py) shown in the reader's language (`error_text`);
    # `error_message` keeps its text in the site's language (rows older than messages: only that).
    error_message = models.TextField(_("error"), blank=True)
    error_msg = models.JSONField(default=dict, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    # The failed batch whose valid rows this one imports, from the same kept file (skipping the
    # invalid rows): the failure stays on record as it was, and this batch says where it came from.
    rerun_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reruns",
        verbose_name=_("valid rows of"),
    )

    # Liveness of the run: refreshed every FOLLOWUP_HEARTBEAT_SECONDS by the worker running it, so a
    # vanished worker is seen after WORK_STALE_SECONDS instead of the broker's visibility timeout.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    # Runs queued after the first (0: the first run): a message of an earlier run is ignored.
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    interrupted_at = models.DateTimeField(_("interrupted at"), null=True, blank=True)
    kpis_status = models.CharField(_("figures"), max_length=16, choices=KpisStatus, default="", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"]), models.Index(fields=["sha256"])]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"

    @property
    def error_text(self) -> str:
        return message_render(message=self.error_msg, fallback=self.error_message)

    @property
    def is_finished(self) -> bool:
        return self.status in (
            ImportStatus.SUCCEEDED,
            ImportStatus.FAILED,
            ImportStatus.REFUSED,
            ImportStatus.INTERRUPTED,
        )

    @property
    def status_label(self) -> str:
        """The status as people read it: an import is "Imported" only once its figures are up to
        date, and a re-run after an interruption says so."""
        if self.status == ImportStatus.SUCCEEDED and self.kpis_status not in ("", KpisStatus.DONE):
            if self.kpis_status in (KpisStatus.PENDING, KpisStatus.RUNNING):
                return gettext("Imported; figures updating")
            if self.kpis_status == KpisStatus.RETRYING:
                return gettext("Imported; figures failed to update, retrying")
            return gettext("Imported; figures failed to update")
        if self.interrupted_at and self.status == ImportStatus.QUEUED:
            return gettext("Interrupted; queued to run again")
        if self.interrupted_at and self.status == ImportStatus.RUNNING:
            return gettext("Interrupted; importing again")
        return self.get_status_display()

    @property
    def status_tone(self) -> str:
        """The badge's colour: ok, bad, warn or "" (in progress)."""
        if self.status == ImportStatus.SUCCEEDED:
            return (
                "warn"
                if self.kpis_status in (KpisStatus.RETRYING, KpisStatus.FAILED)
                else ("" if self.kpis_status in (KpisStatus.PENDING, KpisStatus.RUNNING) else "ok")
            )
        if self.status in (ImportStatus.FAILED, ImportStatus.REFUSED, ImportStatus.INTERRUPTED):
            return "bad"
        return "warn" if self.status == ImportStatus.NEEDS_MAPPING or self.interrupted_at else ""

    @property
    def figures_current(self) -> bool:
        """Imported and its KPIs rebuilt (or none follow)."""
        return self.status == ImportStatus.SUCCEEDED and self.kpis_status in ("", KpisStatus.DONE)

    @property
    def can_run_again(self) -> bool:
        """Interrupted twice, or its figures failed twice: a manager may run it again (no upload)."""
        return self.status == ImportStatus.INTERRUPTED or (
            self.status == ImportStatus.SUCCEEDED and self.kpis_status == KpisStatus.FAILED
        )

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        return min(99, round(100 * self.rows_processed / self.rows_total)) if self.rows_total else 0


class ImportRowError(models.Model):
    """A rejected row (or cell). The first IMPORT_MAX_REPORTED_ERRORS are kept; the batch has the total."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=120, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300)  # its text in the site's language
    reason_msg = models.JSONField(default=dict, blank=True)  # a message, shown in the reader's language

    class Meta:
        ordering = ["batch", "line", "id"]
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")

    def __str__(self) -> str:
        return f"line {self.line} {self.column}: {self.reason}"

    @property
    def reason_text(self) -> str:
        return message_render(message=self.reason_msg, fallback=self.reason)


class ColumnMapping(models.Model):
    """How a store's files of one kind name their columns: {canonical field: header in the file}."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="column_mappings")
    kind = models.CharField(max_length=16, choices=ImportKind)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="column_mapping_one_per_store_kind")]

    def __str__(self) -> str:
        return f"{self.store} {self.kind}"
