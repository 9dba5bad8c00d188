"""Rollups: rebuilt per (store, local day) partition by metrics.kpis.rollups, and the versions
the caches of pages and rollup pieces are keyed on."""

from django.db import models

from teams.models import Store

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
    (metrics.kpis.frames) are keyed by it, so an import of a few days makes only its
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
