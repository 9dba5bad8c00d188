"""Facts imported from shop exports, and the record of every import.

Facts keep the platform's own values (status text, account name) next to the normalised fields.
Money is stored as integer cents (分): exact on SQLite and PostgreSQL alike, and SUM() stays
exact; code reads it as Decimal through the `*_amount` properties (see `metrics.money`).
Datetimes are aware, stored in UTC, and were read as local times of the store's time zone.
"""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from metrics.models.imports import ImportBatch
from metrics.money import cents_to_decimal
from teams.models import PlatformAccount, Store


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
    # Credit (询单 → 下单), computed by metrics.kpis.attribution whenever orders or chats of
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
