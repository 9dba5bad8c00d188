"""Day rollups, rebuilt per (store, range of local days) partition from the facts.

Each recompute deletes the partition's rows in the four rollup tables and inserts them anew with
one INSERT … SELECT … GROUP BY each, in one transaction under a per-store lock: running it twice
gives identical rows, and two runs on the same store wait for each other instead of double
counting. The member of a session is the one its account was assigned to on the session's local
day, and the team that member's team on that day (range joins on the dated histories).

Calls and the sales pipeline fill their own MemberDay columns in the same INSERT (one UNION ALL
branch each): a call counts on its start's local day for the member of its account that day; a
pipeline event (a lead created, a stage entered or left, a deal won or lost) on its local day for
the member of the owner's account then (the account on the stage change). See docs/sales-kpis.md.
"""

# SQL here names tables and columns this package owns; values travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction

from metrics.db import store_data_version_bump, store_lock, store_months_bump
from metrics.models import CallDirection, LeadStage

ROLLUP_LOCK = 7402
_TABLES = ("metrics_memberday", "metrics_inquirybuyerday", "metrics_storeday", "metrics_storebuyerday")


@dataclass(frozen=True)
class PartitionCounts:
    member_days: int
    inquiry_buyer_days: int
    store_days: int
    store_buyer_days: int


def _response_seconds() -> str:
    """Seconds from a session's start to its first response (NULL when unanswered)."""
    return _seconds_between("c.first_response_at", "c.started_at")


def on_day_join(alias: str, table: str, key: str, key_value: str, day: str) -> str:
    """LEFT JOIN of a dated history (start and end both inclusive, end empty while open)."""
    return (
        f"LEFT JOIN {table} {alias} ON {alias}.{key} = {key_value} AND {day} >= {alias}.start_date "
        f"AND ({alias}.end_date IS NULL OR {day} <= {alias}.end_date)"
    )


def _sessions() -> str:
    """The partition's chat sessions with their member and team of the day."""
    return (
        f"SELECT c.id, c.started_date AS date, c.started_hour AS hour, c.buyer, aa.member_id, tm.team_id, "
        f"c.first_response_at IS NULL AS unanswered, {_response_seconds()} AS response "
        "FROM metrics_chatsession c "
        + on_day_join("aa", "teams_accountassignment", "account_id", "c.account_id", "c.started_date")
        + " "
        + on_day_join("tm", "teams_teammembership", "member_id", "aa.member_id", "c.started_date")
        + " WHERE c.store_id = %s AND c.started_date BETWEEN %s AND %s"
    )


def _within(limit: int) -> str:
    return _when(f"NOT unanswered AND response <= {limit}")


def _seconds_between(later: str, earlier: str) -> str:
    """Whole seconds from `earlier` to `later` (two timestamp columns)."""
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS BIGINT)"
    return f"CAST(strftime('%%s', {later}) AS INTEGER) - CAST(strftime('%%s', {earlier}) AS INTEGER)"


# Stage names are code constants (LeadStage), written into the SQL as literals.
_LEAD, _INTENT, _NEGOTIATION = f"'{LeadStage.LEAD}'", f"'{LeadStage.INTENT}'", f"'{LeadStage.NEGOTIATION}'"
_WON, _LOST = f"'{LeadStage.WON}'", f"'{LeadStage.LOST}'"


# A stage's place in the pipeline, the one rule for ordering stage changes (here) and for how far a
# lead got (the pipeline funnel, metrics.pipeline.reports): won and lost both end it.
STAGE_RANK = {LeadStage.LEAD: 0, LeadStage.INTENT: 1, LeadStage.NEGOTIATION: 2, LeadStage.WON: 3, LeadStage.LOST: 3}
_LAST_RANK = max(STAGE_RANK.values())


def stage_rank(alias: str) -> str:
    """A stage's place in the pipeline (STAGE_RANK) in SQL: lead 0, intent 1, negotiation 2, won or lost 3."""
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in STAGE_RANK.items() if rank < _LAST_RANK)
    return f"CASE {alias}.stage {whens} ELSE {_LAST_RANK} END"


def stage_order(alias: str, descending: bool = False) -> str:
    """Order of a lead's stage changes: by time, then (same second) by pipeline order, then id."""
    way = " DESC" if descending else ""
    return f"{alias}.changed_at{way}, {stage_rank(alias)}{way}, {alias}.id{way}"


def _stage_entries() -> str:
    """The history of every lead with a stage change in the partition, as stage entries.

    A change that repeats the stage before it (the export showed the same stage at a new time)
    is no new entry: it is dropped. Each entry carries the stage it left and when that stage was
    entered (`left_stage`, `left_at`, NULL for a lead's first entry). Parameters: store, first
    day, last day, store."""
    return (
        "SELECT e.id, e.lead_id, e.stage, e.changed_at, e.changed_date, e.account_id, e.amount_cents, "
        f" LAG(e.stage) OVER (PARTITION BY e.lead_id ORDER BY {stage_order('e')}) AS left_stage, "
        f" LAG(e.changed_at) OVER (PARTITION BY e.lead_id ORDER BY {stage_order('e')}) AS left_at "
        "FROM ("
        " SELECT h.id, h.lead_id, h.stage, h.changed_at, h.changed_date, h.account_id, h.amount_cents, "
        f"  LAG(h.stage) OVER (PARTITION BY h.lead_id ORDER BY {stage_order('h')}) AS prev_stage "
        " FROM metrics_leadstagechange h WHERE h.lead_id IN ("
        "  SELECT t.lead_id FROM metrics_leadstagechange t WHERE t.store_id = %s AND t.changed_date BETWEEN %s AND %s"
        " ) AND h.store_id = %s"
        ") e WHERE e.prev_stage IS NULL OR e.prev_stage <> e.stage"
    )


def _reached(entry: str, stages: str) -> str:
    """The lead of `entry` has a change to one of `stages` at or after the entry (as of now)."""
    return (
        f"EXISTS (SELECT 1 FROM metrics_leadstagechange n WHERE n.lead_id = {entry}.lead_id "
        f"AND n.stage IN ({stages}) AND n.changed_at >= {entry}.changed_at)"
    )


def _when(condition: str, value: str = "1") -> str:
    return f"SUM(CASE WHEN {condition} THEN {value} ELSE 0 END)"


# MemberDay measures filled by the sales branches, in the order of the SELECTs below (the KPI
# selectors read the same columns).
SALES_DAY_MEASURES = (
    "dials", "connected_dials", "talk_seconds", "inbound_calls",
    "new_leads", "leads_to_intent", "intent_entries", "intents_to_negotiation", "negotiation_entries",
    "negotiations_won", "lead_stage_seconds", "lead_stage_exits", "intent_stage_seconds", "intent_stage_exits",
    "negotiation_stage_seconds", "negotiation_stage_exits", "won_deals", "closed_deals", "won_cents",
    "collected_cents", "cycle_seconds", "new_customers", "new_product_cents", "priced_cents", "guide_price_cents",
)  # fmt: skip
_SERVICE_MEASURES = ("sessions", "unanswered", "response", "w15", "w30", "w180", "paid_orders", "refunded", "items",
                     "gmv", "refund")  # fmt: skip


def _branch(select: dict[str, str]) -> str:
    """The SELECT list of one UNION ALL branch: every measure, 0 where the branch has none (named
    in every branch, though only the first branch's names count)."""
    return ", ".join(f"{select.get(m, '0')} AS {m}" for m in (*_SERVICE_MEASURES, *SALES_DAY_MEASURES))


def _calls_branch() -> str:
    """Calls by their start's local day, for the member of the account that day.
    Parameters: store, first day, last day."""
    out, connected = f"c.direction = '{CallDirection.OUTBOUND}'", "c.connected"
    measures = {
        "dials": _when(out),
        "connected_dials": _when(f"{out} AND {connected}"),
        "talk_seconds": _when(f"{out} AND {connected}", "c.duration_seconds"),
        "inbound_calls": _when(f"c.direction = '{CallDirection.INBOUND}'"),
    }
    return (
        f"SELECT c.started_date AS date, aa.member_id, tm.team_id, {_branch(measures)} FROM metrics_call c "
        + on_day_join("aa", "teams_accountassignment", "account_id", "c.account_id", "c.started_date")
        + " "
        + on_day_join("tm", "teams_teammembership", "member_id", "aa.member_id", "c.started_date")
        + " WHERE c.store_id = %s AND c.started_date BETWEEN %s AND %s AND aa.member_id IS NOT NULL"
        " GROUP BY c.started_date, aa.member_id, tm.team_id"
    )


def _new_leads_branch() -> str:
    """Leads created in the partition, on their creation day, for the member of the owner then
    (the account of the lead's first stage change; the lead's account when it has none), and how
    many of them have reached intent or beyond. Parameters: store, first day, last day."""
    first_owner = (
        "COALESCE((SELECT f.account_id FROM metrics_leadstagechange f WHERE f.lead_id = l.id "
        f"ORDER BY {stage_order('f')} LIMIT 1), l.account_id)"
    )
    measures = {
        "new_leads": "COUNT(*)",
        "leads_to_intent": _when(
            "EXISTS (SELECT 1 FROM metrics_leadstagechange n WHERE n.lead_id = l.lead_pk "
            f"AND n.stage IN ({_INTENT}, {_NEGOTIATION}, {_WON}))"
        ),
    }
    return (
        f"SELECT l.created_date AS date, aa.member_id, tm.team_id, {_branch(measures)} FROM ("
        f" SELECT l.id AS lead_pk, l.created_date, {first_owner} AS account_id FROM metrics_lead l"
        " WHERE l.store_id = %s AND l.created_date BETWEEN %s AND %s) l "
        + on_day_join("aa", "teams_accountassignment", "account_id", "l.account_id", "l.created_date")
        + " "
        + on_day_join("tm", "teams_teammembership", "member_id", "aa.member_id", "l.created_date")
        + " WHERE aa.member_id IS NOT NULL GROUP BY l.created_date, aa.member_id, tm.team_id"
    )


def _stage_events_branch() -> str:
    """Stage entries, exits and closes of the partition, on the change's local day, for the member
    of the owner's account on that change that day. Parameters: store, first day, last day, store
    (the entries), store (customers' first wins), first day, last day."""
    won = f"e.stage = {_WON}"
    amount = "COALESCE(l.amount_cents, e.amount_cents)"  # the deal as last exported, else as seen then
    stay = _seconds_between("e.changed_at", "e.left_at")
    measures = {
        "intent_entries": _when(f"e.stage = {_INTENT}"),
        "intents_to_negotiation": _when(f"e.stage = {_INTENT} AND {_reached('e', f'{_NEGOTIATION}, {_WON}')}"),
        "negotiation_entries": _when(f"e.stage = {_NEGOTIATION}"),
        "negotiations_won": _when(f"e.stage = {_NEGOTIATION} AND {_reached('e', _WON)}"),
        "lead_stage_seconds": _when(f"e.left_stage = {_LEAD}", stay),
        "lead_stage_exits": _when(f"e.left_stage = {_LEAD}"),
        "intent_stage_seconds": _when(f"e.left_stage = {_INTENT}", stay),
        "intent_stage_exits": _when(f"e.left_stage = {_INTENT}"),
        "negotiation_stage_seconds": _when(f"e.left_stage = {_NEGOTIATION}", stay),
        "negotiation_stage_exits": _when(f"e.left_stage = {_NEGOTIATION}"),
        "won_deals": _when(won),
        "closed_deals": _when(f"e.stage IN ({_WON}, {_LOST})"),
        "won_cents": _when(won, f"COALESCE({amount}, 0)"),
        "collected_cents": _when(won, "COALESCE(l.collected_cents, 0)"),
        "cycle_seconds": _when(won, _seconds_between("e.changed_at", "l.created_at")),
        "new_customers": _when(f"{won} AND fw.id IS NOT NULL"),
        "new_product_cents": _when(f"{won} AND l.new_product", f"COALESCE({amount}, 0)"),
        "priced_cents": _when(f"{won} AND l.guide_price_cents IS NOT NULL AND {amount} IS NOT NULL", amount),
        "guide_price_cents": _when(
            f"{won} AND l.guide_price_cents IS NOT NULL AND {amount} IS NOT NULL", "l.guide_price_cents"
        ),
    }
    # Each customer's first won change in the store (ties in the same second: the lower id): a
    # won deal is a new customer's when it is that change.
    first_wins = (
        "SELECT w.id FROM ("
        " SELECT w.id, ROW_NUMBER() OVER (PARTITION BY wl.customer ORDER BY w.changed_at, w.id) AS nth"
        " FROM metrics_leadstagechange w JOIN metrics_lead wl ON wl.id = w.lead_id"
        f" WHERE w.store_id = %s AND w.stage = {_WON} AND wl.customer <> ''"
        ") w WHERE w.nth = 1"
    )
    return (
        f"SELECT e.changed_date AS date, aa.member_id, tm.team_id, {_branch(measures)} "
        f"FROM ({_stage_entries()}) e JOIN metrics_lead l ON l.id = e.lead_id "
        f"LEFT JOIN ({first_wins}) fw ON fw.id = e.id "
        + on_day_join("aa", "teams_accountassignment", "account_id", "e.account_id", "e.changed_date")
        + " "
        + on_day_join("tm", "teams_teammembership", "member_id", "aa.member_id", "e.changed_date")
        + " WHERE e.changed_date BETWEEN %s AND %s AND aa.member_id IS NOT NULL"
        " GROUP BY e.changed_date, aa.member_id, tm.team_id"
    )


def rollup_partition_recompute(*, store, start: dt.date, end: dt.date) -> PartitionCounts:
    """Rebuild the rollups of `store` for local days start … end (both inclusive)."""
    partition = [store.pk, start, end]
    paid = "o.paid_at IS NOT NULL"
    # Orders credited to the partition's sessions were created from its first day to at most the
    # store's window after its last: bounding created_date lets the (store, created_date) index
    # find them.
    created_until = end + dt.timedelta(days=store.attribution_window_days)
    created_near = "o.created_date BETWEEN %s AND %s"
    with transaction.atomic(), connection.cursor() as cursor:
        store_lock(ROLLUP_LOCK, store.pk)
        store_data_version_bump(store.pk)
        store_months_bump(store.pk, start, end)
        for table in _TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s AND date BETWEEN %s AND %s", partition)
        counts = []
        # Member-days: the sessions of each day, the paid orders credited to them, the calls and
        # the pipeline events of the day (one branch each, summed per member and day).
        sums = ", ".join(f"SUM({m})" for m in SALES_DAY_MEASURES)
        service = {
            "sessions": "COUNT(*)",
            "unanswered": "SUM(CASE WHEN unanswered THEN 1 ELSE 0 END)",
            "response": "SUM(CASE WHEN unanswered THEN 0 ELSE response END)",
            "w15": _within(15),
            "w30": _within(30),
            "w180": _within(180),
        }
        orders = {
            "paid_orders": "COUNT(*)",
            "refunded": "SUM(CASE WHEN o.refund_cents > 0 THEN 1 ELSE 0 END)",
            "items": "SUM(o.item_count)",
            "gmv": "SUM(o.paid_cents)",
            "refund": "SUM(o.refund_cents)",
        }
        cursor.execute(
            "INSERT INTO metrics_memberday (store_id, date, member_id, team_id, sessions, unanswered_sessions, "
            "answered_sessions, response_seconds, answered_15s, answered_30s, answered_180s, paid_orders, "
            f"refunded_orders, items, gmv_cents, refund_cents, {', '.join(SALES_DAY_MEASURES)}) "
            "SELECT %s, date, member_id, MAX(team_id), SUM(sessions), SUM(unanswered), "
            "SUM(sessions) - SUM(unanswered), SUM(response), SUM(w15), SUM(w30), SUM(w180), SUM(paid_orders), "
            f"SUM(refunded), SUM(items), SUM(gmv), SUM(refund), {sums} FROM ("
            f" SELECT date, member_id, team_id, {_branch(service)}"
            f"  FROM ({_sessions()}) s WHERE member_id IS NOT NULL GROUP BY date, member_id, team_id"
            " UNION ALL"
            f" SELECT o.credited_date AS date, o.credited_member_id AS member_id, tm.team_id, {_branch(orders)}"
            "  FROM metrics_order o "
            + on_day_join("tm", "teams_teammembership", "member_id", "o.credited_member_id", "o.credited_date")
            + f"  WHERE o.store_id = %s AND o.credited_date BETWEEN %s AND %s AND {paid} AND {created_near}"
            "  AND o.credited_member_id IS NOT NULL GROUP BY o.credited_date, o.credited_member_id, tm.team_id"
            f" UNION ALL {_calls_branch()}"
            f" UNION ALL {_new_leads_branch()}"
            f" UNION ALL {_stage_events_branch()}"
            ") days GROUP BY date, member_id",
            [store.pk, *partition, *partition, start, created_until, *partition, *partition,
             *partition, store.pk, store.pk, start, end],
        )  # fmt: skip
        counts.append(cursor.rowcount)
        # Buyer-days: who chatted with whom in which hour, and whether an order (a paid one) of
        # those sessions was credited.
        cursor.execute(
            "INSERT INTO metrics_inquirybuyerday (store_id, date, hour, member_id, team_id, buyer, ordered, paid) "
            "SELECT %s, s.date, s.hour, s.member_id, MAX(s.team_id), s.buyer, "
            " MAX(CASE WHEN o.session_id IS NOT NULL THEN 1 ELSE 0 END) = 1, MAX(COALESCE(o.paid, 0)) = 1 "
            f"FROM ({_sessions()}) s LEFT JOIN ("
            # The partition's credited orders, one row per session: a small derived table that
            # PostgreSQL hash-joins and SQLite indexes on the fly (a join straight to the orders
            # table has no index on the session to use and runs as a nested loop on SQLite).
            f" SELECT o.credited_session_id AS session_id, MAX(CASE WHEN {paid} THEN 1 ELSE 0 END) AS paid"
            " FROM metrics_order o WHERE o.store_id = %s AND o.credited_date BETWEEN %s AND %s"
            f" AND {created_near} AND o.credited_session_id IS NOT NULL GROUP BY o.credited_session_id"
            ") o ON o.session_id = s.id GROUP BY s.date, s.hour, s.member_id, s.buyer",
            [store.pk, *partition, *partition, start, created_until],
        )
        counts.append(cursor.rowcount)
        # Store-days: traffic by its date, orders by their creation day.
        cursor.execute(
            "INSERT INTO metrics_storeday (store_id, date, uv, pv, cart_adds, orders_placed, paid_orders, gmv_cents, "
            "refund_cents, silent_gmv_cents) "
            "SELECT %s, date, SUM(uv), SUM(pv), SUM(cart_adds), SUM(placed), SUM(paid), SUM(gmv), SUM(refund), "
            "SUM(silent) FROM ("
            " SELECT date, uv, pv, cart_adds, 0 AS placed, 0 AS paid, 0 AS gmv, 0 AS refund, 0 AS silent"
            "  FROM metrics_trafficday WHERE store_id = %s AND date BETWEEN %s AND %s"
            " UNION ALL"
            f" SELECT o.created_date, 0, 0, 0, 1, CASE WHEN {paid} THEN 1 ELSE 0 END,"
            f"  CASE WHEN {paid} THEN o.paid_cents ELSE 0 END, CASE WHEN {paid} THEN o.refund_cents ELSE 0 END,"
            f"  CASE WHEN {paid} AND o.credited_session_id IS NULL THEN o.paid_cents ELSE 0 END"
            "  FROM metrics_order o WHERE o.store_id = %s AND o.created_date BETWEEN %s AND %s"
            ") days GROUP BY date",
            [store.pk, *partition, *partition],
        )
        counts.append(cursor.rowcount)
        # Store-buyer-days: each buyer's orders placed and paid, and their GMV, per creation day.
        cursor.execute(
            "INSERT INTO metrics_storebuyerday (store_id, date, buyer, placed_orders, paid_orders, gmv_cents) "
            f"SELECT %s, o.created_date, o.buyer, COUNT(*), SUM(CASE WHEN {paid} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {paid} THEN o.paid_cents ELSE 0 END) FROM metrics_order o "
            "WHERE o.store_id = %s AND o.created_date BETWEEN %s AND %s GROUP BY o.created_date, o.buyer",
            [store.pk, *partition],
        )
        counts.append(cursor.rowcount)
    return PartitionCounts(*counts)
