"""Facts imported from shop exports, and the record of every import.

Facts keep the platform's own values (status text, account name) next to the normalised fields.
Money is stored as integer cents (分): exact on SQLite and PostgreSQL alike, and SUM() stays
exact; code reads it as Decimal through the `*_amount` properties (see `metrics.money`).
Datetimes are aware, stored in UTC, and were read as local times of the store's time zone.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from metrics.messages import message_render
from metrics.money import cents_to_decimal
from teams.models import PlatformAccount, Store


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
    """The KPI update that follows a succeeded import (metrics.services.followups)."""

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


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid, awaiting shipment")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    OTHER = "other", _("Other")


class ImportedFact(models.Model):
    """What every fact table has: its store and the import that last wrote the row.

    Fact tables hold millions of rows written only by the importer, with ids it has just
    resolved: no database constraints on these references (a per-row trigger on every import,
    2.7 s a million rows here); PROTECT still guards deletes in the ORM. No single-column index
    on store either: each fact's composite indexes start with it.
    """

    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="%(class)s_set", db_index=False, db_constraint=False
    )
    # Informational: no constraint or index, which would cost every imported row.
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        abstract = True


class Order(ImportedFact):
    order_id = models.CharField(_("order id"), max_length=64)
    buyer = models.CharField(_("buyer"), max_length=128)
    payable_cents = models.BigIntegerField(_("amount payable (cents)"), null=True)
    paid_cents = models.BigIntegerField(_("amount paid (cents)"))
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus)
    status_raw = models.CharField(_("status as exported"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    created_date = models.DateField(_("created on (store's local date)"))
    paid_at = models.DateTimeField(_("paid at"), null=True)
    item_count = models.PositiveIntegerField(_("items"), default=1)
    refund_cents = models.BigIntegerField(_("refund (cents)"), default=0)
    title = models.CharField(_("item title"), max_length=300, blank=True)
    # Credit (询单 → 下单), computed by metrics.services.attribution whenever orders or chats of
    # the buyer change: the session, its account, the member of that account on the session's
    # local day, and that day. All empty for a silent order (静默下单). Ids without constraints,
    # like the store: rewritten in bulk by the attribution.
    credited_session_id = models.BigIntegerField(_("credited chat session"), null=True)
    credited_account_id = models.BigIntegerField(_("credited account"), null=True)
    credited_member_id = models.BigIntegerField(_("credited member"), null=True)
    credited_date = models.DateField(_("credited session's local date"), null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "order_id"], name="order_unique_per_store")]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

        # Only what queries use: every index costs each imported row (a buyer index, in random
        # insertion order, cost 3 s per million orders here). Rollups find credited orders by
        # created_date too (an order follows its session within the window), so no credit column
        # is indexed and re-crediting can update rows in place (HOT; fillfactor, migration 0004).
        indexes = [models.Index(fields=["store", "created_date"])]

    def __str__(self) -> str:
        return self.order_id

    @property
    def paid_amount(self) -> Decimal:
        return cents_to_decimal(self.paid_cents)

    @property
    def payable_amount(self) -> Decimal | None:
        return None if self.payable_cents is None else cents_to_decimal(self.payable_cents)

    @property
    def refund_amount(self) -> Decimal:
        return cents_to_decimal(self.refund_cents)


class ChatSession(ImportedFact):
    # No database constraint on account either: see ImportedFact.
    session_id = models.CharField(_("session id"), max_length=64)
    account = models.ForeignKey(
        PlatformAccount, on_delete=models.PROTECT, related_name="chat_sessions", db_constraint=False
    )
    buyer = models.CharField(_("buyer"), max_length=128)
    started_at = models.DateTimeField(_("started at"))
    started_date = models.DateField(_("started on (store's local date)"))
    started_hour = models.PositiveSmallIntegerField(_("started at hour (store's local time)"))
    first_response_at = models.DateTimeField(_("first response at"), null=True)
    ended_at = models.DateTimeField(_("ended at"), null=True)
    buyer_messages = models.PositiveIntegerField(_("buyer messages"), null=True)
    agent_messages = models.PositiveIntegerField(_("agent messages"), null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "session_id"], name="chat_unique_per_store")]
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")

        indexes = [models.Index(fields=["store", "started_date"])]

    def __str__(self) -> str:
        return self.session_id


class TrafficDay(ImportedFact):
    date = models.DateField(_("date"))
    channel = models.CharField(_("channel"), max_length=64)
    uv = models.PositiveIntegerField(_("visitors (UV)"))
    pv = models.PositiveIntegerField(_("page views (PV)"))
    cart_adds = models.PositiveIntegerField(_("add-to-cart buyers"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "date", "channel"], name="traffic_unique_per_store_day_channel")
        ]
        verbose_name = _("traffic day")
        verbose_name_plural = _("traffic days")

    def __str__(self) -> str:
        return f"{self.date} {self.channel}"


class LeadStage(models.TextChoices):
    """The pipeline of seed 001: lead → intent → negotiation → won or lost."""

    LEAD = "lead", _("Lead")
    INTENT = "intent", _("Intent")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = (LeadStage.LEAD, LeadStage.INTENT, LeadStage.NEGOTIATION)


class Lead(ImportedFact):
    """A lead or deal as the latest export shows it; its past stages are in LeadStageChange."""

    lead_id = models.CharField(_("lead id"), max_length=64)
    # The owner's platform or CRM account; assigned to members like chat accounts.
    account = models.ForeignKey(PlatformAccount, on_delete=models.PROTECT, related_name="leads", db_constraint=False)
    customer = models.CharField(_("customer"), max_length=128)
    source = models.CharField(_("source"), max_length=64, blank=True)
    stage = models.CharField(_("stage"), max_length=16, choices=LeadStage)
    stage_raw = models.CharField(_("stage as exported"), max_length=64)
    stage_changed_at = models.DateTimeField(_("stage changed at"))
    stage_changed_date = models.DateField(_("stage changed on (store's local date)"))
    # When the lead was created: the export's column, or else the earliest stage change seen.
    created_at = models.DateTimeField(_("created at"))
    created_date = models.DateField(_("created on (store's local date)"))
    amount_cents = models.BigIntegerField(_("amount (cents)"), null=True)
    guide_price_cents = models.BigIntegerField(_("guide price (cents)"), null=True)  # seed 002's price control
    collected_cents = models.BigIntegerField(_("collected (cents)"), null=True)  # payments received so far
    product = models.CharField(_("product"), max_length=120, blank=True)
    new_product = models.BooleanField(_("new product"), default=False)
    expected_close = models.DateField(_("expected close"), null=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "lead_id"], name="lead_unique_per_store")]
        indexes = [
            models.Index(fields=["store", "stage"]),
            models.Index(fields=["store", "stage_changed_date"]),
            models.Index(fields=["store", "created_date"]),
        ]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def __str__(self) -> str:
        return self.lead_id

    @property
    def amount(self) -> Decimal | None:
        return None if self.amount_cents is None else cents_to_decimal(self.amount_cents)


class LeadStageChange(models.Model):
    """A stage a lead was seen entering, at the time the export gave: the stage history.

    Every import adds the (lead, stage, time) it shows when not yet known, so two exports a week
    apart give the lead's path between them. Written only by the leads import (set-based)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes", db_constraint=False)
    stage = models.CharField(_("stage"), max_length=16, choices=LeadStage)
    changed_at = models.DateTimeField(_("changed at"))
    changed_date = models.DateField(_("changed on (store's local date)"))
    # The owner when the change was seen (ownership can move between exports).
    account = models.ForeignKey(PlatformAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    amount_cents = models.BigIntegerField(_("amount (cents)"), null=True)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.SET_NULL, null=True, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "stage", "changed_at"], name="lead_stage_change_unique")]
        indexes = [models.Index(fields=["store", "changed_date"])]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")

    def __str__(self) -> str:
        return f"{self.lead_id} {self.stage} {self.changed_at:%Y-%m-%d %H:%M}"


class CallDirection(models.TextChoices):
    OUTBOUND = "out", _("Outbound")
    INBOUND = "in", _("Inbound")


class Call(ImportedFact):
    """One phone call of an agent account (telesales)."""

    # The export's call id, or, when it has none, one derived from account, start time and number.
    call_id = models.CharField(_("call id"), max_length=160)
    account = models.ForeignKey(PlatformAccount, on_delete=models.PROTECT, related_name="calls", db_constraint=False)
    started_at = models.DateTimeField(_("started at"))
    started_date = models.DateField(_("started on (store's local date)"))
    started_hour = models.PositiveSmallIntegerField(_("started at hour (store's local time)"))
    number = models.CharField(_("number (masked)"), max_length=32)
    direction = models.CharField(_("direction"), max_length=3, choices=CallDirection)
    connected = models.BooleanField(_("connected"))
    duration_seconds = models.PositiveIntegerField(_("talk time (s)"), default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "call_id"], name="call_unique_per_store")]
        indexes = [models.Index(fields=["store", "started_date"])]
        verbose_name = _("call")
        verbose_name_plural = _("calls")

    def __str__(self) -> str:
        return self.call_id


class StuckDeal(models.Model):
    """A deal found in negotiation longer than the store allows (seed 001: most such deals are
    lost), the owner's breakthrough plan (卡点突破方案) and the manager's response to it."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stuck_alerts", db_constraint=False)
    # Which stay in negotiation this is about: a deal can be stuck, move on, and come back.
    negotiation_since = models.DateTimeField(_("in negotiation since"))
    member = models.ForeignKey(
        "teams.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="stuck_deals"
    )
    detected_at = models.DateTimeField(_("detected at"))
    plan = models.TextField(_("breakthrough plan"), blank=True)
    plan_submitted_at = models.DateTimeField(_("plan submitted at"), null=True, blank=True)
    plan_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response = models.TextField(_("manager's response"), blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the deal leaves negotiation (won, lost, or back to an earlier stage).
    closed_at = models.DateTimeField(_("left negotiation at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=LeadStage, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "negotiation_since"], name="stuck_deal_once_per_stay")]
        indexes = [models.Index(fields=["store", "detected_at"])]
        ordering = ["-detected_at", "id"]
        verbose_name = _("stuck deal")
        verbose_name_plural = _("stuck deals")

    def __str__(self) -> str:
        return f"{self.lead_id} {self.negotiation_since:%Y-%m-%d}"


# --- Rollups: rebuilt per (store, local day) partition by metrics.services.rollups ----------
# Additive measures are summed per day; distinct-buyer KPIs count buyers from the slim
# buyer-day tables, so they are distinct over any period and any group (docs/kpis.md).


class MemberDay(models.Model):
    """One member's additive measures in one store on one local day (cohort by the session's day)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    member = models.ForeignKey("teams.Member", on_delete=models.CASCADE, related_name="+")
    # The member's team on that day: team figures follow membership on the day of the activity.
    team = models.ForeignKey("teams.Team", on_delete=models.SET_NULL, null=True, related_name="+")
    sessions = models.PositiveIntegerField(default=0)
    unanswered_sessions = models.PositiveIntegerField(default=0)
    answered_sessions = models.PositiveIntegerField(default=0)
    response_seconds = models.BigIntegerField(default=0)  # sum over answered sessions, seconds
    # Answered within 15 s, 30 s and 3 min of the start (the first-response distribution).
    answered_15s = models.PositiveIntegerField(default=0)
    answered_30s = models.PositiveIntegerField(default=0)
    answered_180s = models.PositiveIntegerField(default=0)
    paid_orders = models.PositiveIntegerField(default=0)  # paid orders credited to the day's sessions
    refunded_orders = models.PositiveIntegerField(default=0)  # … of which with a refund > 0
    items = models.PositiveIntegerField(default=0)  # item count of those paid orders
    gmv_cents = models.BigIntegerField(default=0)
    refund_cents = models.BigIntegerField(default=0)
    # Telesales (calls by the start's local day; seed 002 assesses outbound connected calls and time).
    dials = models.PositiveIntegerField(default=0, db_default=0)  # outbound calls
    connected_dials = models.PositiveIntegerField(default=0, db_default=0)  # … of which connected
    talk_seconds = models.BigIntegerField(default=0, db_default=0)  # duration of connected outbound calls, seconds
    inbound_calls = models.PositiveIntegerField(default=0, db_default=0)
    # Pipeline: the owner's member on the day of each event (stage history). A stage's entries
    # are counted on the day of entry, with how many of them have since moved on (cohort
    # conversion); time in a stage on the day the lead left it.
    new_leads = models.PositiveIntegerField(default=0, db_default=0)  # leads created on the day
    leads_to_intent = models.PositiveIntegerField(default=0, db_default=0)  # … of which reached intent or beyond
    intent_entries = models.PositiveIntegerField(default=0, db_default=0)
    intents_to_negotiation = models.PositiveIntegerField(default=0, db_default=0)
    negotiation_entries = models.PositiveIntegerField(default=0, db_default=0)
    negotiations_won = models.PositiveIntegerField(default=0, db_default=0)
    lead_stage_seconds = models.BigIntegerField(
        default=0, db_default=0
    )  # time spent in a stage by the leads leaving it
    lead_stage_exits = models.PositiveIntegerField(default=0, db_default=0)
    intent_stage_seconds = models.BigIntegerField(default=0, db_default=0)
    intent_stage_exits = models.PositiveIntegerField(default=0, db_default=0)
    negotiation_stage_seconds = models.BigIntegerField(default=0, db_default=0)
    negotiation_stage_exits = models.PositiveIntegerField(default=0, db_default=0)
    won_deals = models.PositiveIntegerField(default=0, db_default=0)
    closed_deals = models.PositiveIntegerField(default=0, db_default=0)  # won or lost on the day
    won_cents = models.BigIntegerField(default=0, db_default=0)  # amount of the deals won on the day
    collected_cents = models.BigIntegerField(default=0, db_default=0)  # collected on the deals won on the day
    cycle_seconds = models.BigIntegerField(default=0, db_default=0)  # deals won on the day: time since creation, summed
    new_customers = models.PositiveIntegerField(default=0, db_default=0)  # won deals of customers with no earlier win
    new_product_cents = models.BigIntegerField(default=0, db_default=0)  # won amount of deals of a new product
    priced_cents = models.BigIntegerField(default=0, db_default=0)  # won amount of deals that have a guide price …
    guide_price_cents = models.BigIntegerField(default=0, db_default=0)  # … and the sum of those guide prices

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "date", "member"], name="memberday_unique")]
        indexes = [models.Index(fields=["member", "date"]), models.Index(fields=["team", "date"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.date}"


class InquiryBuyerDay(models.Model):
    """A buyer who chatted with a member (or an unassigned account: member empty) on a day, in
    an hour of the store's local day, and whether an order, and a paid order, of those sessions
    was credited. Distinct-buyer measures count buyers, so a buyer on several rows counts once."""

    # Rebuilt in bulk and read by (store, date) range only: no constraints and no index per key,
    # which every rebuilt row would pay for.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    date = models.DateField()
    member = models.ForeignKey(
        "teams.Member", on_delete=models.CASCADE, null=True, related_name="+", db_constraint=False, db_index=False
    )
    team = models.ForeignKey(
        "teams.Team", on_delete=models.SET_NULL, null=True, related_name="+", db_constraint=False, db_index=False
    )
    hour = models.PositiveSmallIntegerField()  # local hour the sessions started (0–23)
    buyer = models.CharField(max_length=128)
    ordered = models.BooleanField(default=False)
    paid = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["store", "date"])]

    def __str__(self) -> str:
        return f"{self.buyer} {self.date}"


class StoreDay(models.Model):
    """A store's additive measures on one local day: orders by creation, traffic by its date."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    uv = models.PositiveIntegerField(default=0)
    pv = models.PositiveIntegerField(default=0)
    cart_adds = models.PositiveIntegerField(default=0)
    orders_placed = models.PositiveIntegerField(default=0)
    paid_orders = models.PositiveIntegerField(default=0)
    gmv_cents = models.BigIntegerField(default=0)
    refund_cents = models.BigIntegerField(default=0)
    silent_gmv_cents = models.BigIntegerField(default=0)  # paid orders credited to no session

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="storeday_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date}"


class StoreBuyerDay(models.Model):
    """A buyer's orders created in a store on one local day: placed, paid and their GMV (the
    funnel; paying, repeat and returning buyers; RFM)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    date = models.DateField()
    buyer = models.CharField(max_length=128)
    placed_orders = models.PositiveIntegerField(default=0)
    paid_orders = models.PositiveIntegerField(default=0)
    gmv_cents = models.BigIntegerField(default=0)

    class Meta:
        # No buyer index: the queries by buyer (first paid day, RFM) read a whole store anyway, and
        # one in random order cost most of the rebuild time (250 of 300 ms a store-month here).
        indexes = [models.Index(fields=["store", "date"])]

    def __str__(self) -> str:
        return f"{self.buyer} {self.date}"


class BuyerSegmentCount(models.Model):
    """How many of a store's paying buyers fall in each RFM segment as of a local day, and how
    many of them are churn risks: a small summary written after each recompute, because the
    dashboards must not rank every buyer of a store on request."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    segment = models.CharField(max_length=24)
    buyers = models.PositiveIntegerField()
    churn_risk = models.PositiveIntegerField()  # of those buyers, overdue by > 50% of their usual interval
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "as_of", "segment"], name="buyer_segment_count_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.as_of} {self.segment}"


class StoreDataVersion(models.Model):
    """A counter bumped in the same transaction as any rebuild of a store's rollups or RFM
    summary: dashboards put it in their cache keys, so a cached page never outlives the data."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.store_id} v{self.version}"


class StoreMonthVersion(models.Model):
    """The version of a store's calendar month of rollups, drawn anew (metrics.db.new_version) in
    the same transaction as any rebuild of the month's days, or any deletion that changes them
    (metrics.signals): the rollup months cached for the KPI selectors
    (metrics.selectors.rollup_frames) are keyed by it, so an import of a few days makes only its
    own months stale. Random rather than a counter: a database restored from a backup must not
    bring back a number the cache holds newer rows under. A month without one was never rebuilt
    by the rollup service."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the month's first day
    version = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="store_month_version_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m} v{self.version}"


# --- targets and promotions ------------------------------------------------------------------


class TargetTier(models.TextChoices):
    STRATEGY = "strategy", _("Strategy")  # the store's or team's result for a year, quarter or month
    TACTIC = "tactic", _("Tactic")  # the drivers that produce it: orders, buyers, inquiries, UV
    EXECUTION = "execution", _("Execution")  # what a person does this week and today


class PeriodKind(models.TextChoices):
    YEAR = "year", _("Year")
    QUARTER = "quarter", _("Quarter")
    MONTH = "month", _("Month")
    WEEK = "week", _("Week")
    DAY = "day", _("Day")
    PHASE = "phase", _("Promotion phase")
    CUSTOM = "custom", _("Custom period")


class TargetDirection(models.TextChoices):
    AT_LEAST = "at_least", _("At least")  # reach the value (GMV, orders, conversion)
    AT_MOST = "at_most", _("At most")  # stay under it (first response time, refund rate)


class PaceMethod(models.TextChoices):
    LINEAR = "linear", _("Evenly over the days")
    WEEKDAYS = "weekdays", _("By weekday weights learned from history")


class Behaviour(models.Model):
    """A counted behaviour a target can ask for and staff record themselves: "A-class customers
    closed", "customer needs reported". Defined per store."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="behaviours", verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=80)
    # A unit is grammar around a number, not a name: Chinese counts with a measure word (个, 条)
    # that English has no word for, so each language has its own; English without one shows the
    # bare number ("2.6"), never "2.6 条".
    unit = models.CharField(
        _("unit (Chinese)"), max_length=20, blank=True, help_text=_("The measure word shown after a count in Chinese.")
    )
    unit_en = models.CharField(
        _("unit (English)"), max_length=20, blank=True,
        help_text=_("Shown after a count in English, e.g. reports. Empty: the number alone."),
    )  # fmt: skip
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("counted behaviour")
        verbose_name_plural = _("counted behaviours")
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="behaviour_unique_per_store")]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_text(self) -> str:
        """The unit in the active language (each language its own; see `unit`)."""
        return self.unit if (get_language() or "").startswith("zh") else self.unit_en


class BehaviourRecord(models.Model):
    """How many times a member did a counted behaviour on a day (one row per member, behaviour and
    day: recording again replaces the count)."""

    behaviour = models.ForeignKey(Behaviour, on_delete=models.CASCADE, related_name="records")
    member = models.ForeignKey("teams.Member", on_delete=models.CASCADE, related_name="behaviour_records")
    date = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("count"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["behaviour", "member", "date"], name="behaviour_record_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.behaviour_id} {self.date}: {self.count}"


class CampaignKind(models.TextChoices):
    JUNE_18 = "618", _("618")
    DOUBLE_11 = "double11", _("Double 11 (双11)")
    DOUBLE_12 = "double12", _("Double 12 (双12)")
    NEW_YEAR_GOODS = "new_year_goods", _("New Year goods festival (年货节)")
    CUSTOM = "custom", _("Custom")


class PhaseKind(models.TextChoices):
    PREHEAT = "preheat", _("Pre-heat")
    PEAK = "peak", _("Peak")
    AFTER = "after", _("After")


class Campaign(models.Model):
    """A promotion on the calendar; its phases are bands on the dashboards' charts."""

    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("store"),
        help_text=_("Empty: every store."),
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind, default=CampaignKind.CUSTOM)
    name = models.CharField(_("name"), max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")

    def __str__(self) -> str:
        return self.name


class CampaignPhase(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(_("phase"), max_length=10, choices=PhaseKind)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))  # inclusive

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="phase_end_after_start"),
            models.UniqueConstraint(fields=["campaign", "kind"], name="phase_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.get_kind_display()}"


class Target(models.Model):
    """A goal for one scope (a store, a team or a member) and one period: a KPI of the registry
    (by key) or a counted behaviour reaching (or staying under) a value. Targets form a tree from
    strategy down to execution through `parent`."""

    tier = models.CharField(_("tier"), max_length=10, choices=TargetTier)
    # A name a person wrote is kept as written. A generated name ("Paid orders needed", "李娜
    # 12-07–12-13 · GMV") is a message (metrics/messages.py) in `name_msg`, shown in the reader's
    # language (`name_text`); `name` then holds its text in the site's language (admin, sorting).
    name = models.CharField(_("name"), max_length=120)
    name_msg = models.JSONField(default=dict, blank=True)
    kpi_key = models.CharField(_("KPI"), max_length=40, blank=True)  # a key of metrics.registry
    behaviour = models.ForeignKey(
        Behaviour, null=True, blank=True, on_delete=models.PROTECT, related_name="targets", verbose_name=_("behaviour")
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="targets", verbose_name=_("store"))
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="targets", verbose_name=_("team")
    )
    member = models.ForeignKey(
        "teams.Member", null=True, blank=True, on_delete=models.CASCADE, related_name="targets",
        verbose_name=_("member"),
    )  # fmt: skip
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))  # inclusive
    phase = models.ForeignKey(
        CampaignPhase, null=True, blank=True, on_delete=models.CASCADE, related_name="targets",
        verbose_name=_("promotion phase"),
    )  # fmt: skip
    # Money in yuan, rates as fractions (0.35), seconds, counts: the KPI's own unit.
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    direction = models.CharField(_("direction"), max_length=10, choices=TargetDirection)
    pace = models.CharField(_("pace"), max_length=10, choices=PaceMethod, default=PaceMethod.LINEAR)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("parent")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_targets",
        verbose_name=_("owner"),
    )  # fmt: skip
    notes = models.TextField(_("notes"), blank=True)
    notes_msg = models.JSONField(default=dict, blank=True)  # generated notes, as `name_msg`
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "tier", "name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="target_end_after_start"),
            models.CheckConstraint(
                condition=(models.Q(behaviour__isnull=True) & ~models.Q(kpi_key=""))
                | (models.Q(behaviour__isnull=False) & models.Q(kpi_key="")),
                name="target_kpi_or_behaviour",
            ),
        ]
        indexes = [models.Index(fields=["store", "start", "end"])]

    def __str__(self) -> str:
        return self.name_text

    @property
    def name_text(self) -> str:
        """The name in the active language: a generated one rendered, a written one as written."""
        return message_render(message=self.name_msg, fallback=self.name)

    @property
    def notes_text(self) -> str:
        return message_render(message=self.notes_msg, fallback=self.notes)

    @property
    def level(self) -> str:
        """The scope's level: member, team or store."""
        return "member" if self.member_id else ("team" if self.team_id else "store")


class TargetAlertKind(models.TextChoices):
    HALF = "half", _("Half reached")
    # xgettext:no-python-format
    NINETY = "ninety", _("90% reached")
    ACHIEVED = "achieved", _("Achieved")
    BEHIND = "behind", _("Behind pace")


class TargetAlert(models.Model):
    """A notice about a target, shown in the app and e-mailed to its owner and member: each
    milestone once per target; "behind pace" at most once a week."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=TargetAlertKind)
    day = models.DateField()  # the local day the alert was raised
    actual = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    expected = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    emailed_to = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["target", "kind", "day"], name="target_alert_once_a_day")]

    def __str__(self) -> str:
        return f"{self.target_id} {self.kind} {self.day}"


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
    its heartbeat (metrics.services.followups). Every task sent so is idempotent."""

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
