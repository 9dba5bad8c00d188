"""SQL the rollups' writer and the KPI readers share: the lead stages as SQL literals, the order of a
lead's stage changes, and the sales measures a member's day row holds."""

from __future__ import annotations

from metrics.models import LeadStage

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


SALES_DAY_MEASURES = (
    "dials", "connected_dials", "talk_seconds", "inbound_calls",
    "new_leads", "leads_to_intent", "intent_entries", "intents_to_negotiation", "negotiation_entries",
    "negotiations_won", "lead_stage_seconds", "lead_stage_exits", "intent_stage_seconds", "intent_stage_exits",
    "negotiation_stage_seconds", "negotiation_stage_exits", "won_deals", "closed_deals", "won_cents",
    "collected_cents", "cycle_seconds", "new_customers", "new_product_cents", "priced_cents", "guide_price_cents",
)  # fmt: skip
