"""SQL the rollups' writer and the KPI readers share: the lead stages as SQL literals, the order of a
lead's stage changes and its stage entries, won deals and their amounts, the member a stage entry
counts for, and the sales measures a member's day row holds."""

# SQL fragments of this app's tables and columns; values travel as parameters.
# ruff: noqa: S608
from __future__ import annotations

from metrics.models import LeadStage
from teams.selectors.history import account_holder_join_sql

# Where a lead's stage sits in the pipeline (the funnel counts a lead at every step up to its rank).
STAGE_RANK = {LeadStage.LEAD: 0, LeadStage.INTENT: 1, LeadStage.NEGOTIATION: 2, LeadStage.WON: 3, LeadStage.LOST: 3}

# The stages as SQL string literals.
SQL_LEAD, SQL_INTENT, SQL_NEGOTIATION = f"'{LeadStage.LEAD}'", f"'{LeadStage.INTENT}'", f"'{LeadStage.NEGOTIATION}'"
SQL_WON, SQL_LOST = f"'{LeadStage.WON}'", f"'{LeadStage.LOST}'"


def stage_rank(alias: str) -> str:
    """A stage's place in the pipeline: lead 0, intent 1, negotiation 2, won or lost 3."""
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in STAGE_RANK.items() if rank < 3)
    return f"CASE {alias}.stage {whens} ELSE 3 END"


def stage_order(alias: str, descending: bool = False) -> str:
    """Order of a lead's stage changes: by time, then (same second) by pipeline order, then id."""
    way = " DESC" if descending else ""
    return f"{alias}.changed_at{way}, {stage_rank(alias)}{way}, {alias}.id{way}"


def stage_entries() -> str:
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


# A stage entry's deal amount (cents): the lead's as last exported, else the change's as seen then
# (`e` a stage entry, `l` its lead); a won deal without either counts 0 in won_amount.
DEAL_AMOUNT = "COALESCE(l.amount_cents, e.amount_cents)"
WON_AMOUNT = f"COALESCE({DEAL_AMOUNT}, 0)"
WON_ENTRY = f"e.stage = {SQL_WON}"  # a stage entry (`e`) that is a deal won


def entry_member_join() -> str:
    """LEFT JOIN of the member a stage entry (`e`) counts for: the one its account was assigned
    to on the change's local day (`aa.member_id`, NULL: nobody's)."""
    return account_holder_join_sql(alias="aa", account="e.account_id", day="e.changed_date")


SALES_DAY_MEASURES = (
    "dials", "connected_dials", "talk_seconds", "inbound_calls",
    "new_leads", "leads_to_intent", "intent_entries", "intents_to_negotiation", "negotiation_entries",
    "negotiations_won", "lead_stage_seconds", "lead_stage_exits", "intent_stage_seconds", "intent_stage_exits",
    "negotiation_stage_seconds", "negotiation_stage_exits", "won_deals", "closed_deals", "won_cents",
    "collected_cents", "cycle_seconds", "new_customers", "new_product_cents", "priced_cents", "guide_price_cents",
)  # fmt: skip
