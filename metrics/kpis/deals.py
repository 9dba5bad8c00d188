"""The deals behind the won_deals and won_amount KPIs, one by one.

A pay statement that commissions the deals a member won lists them (which lead, which day, how
much). They are read here with the rollup writer's own SQL (metrics.kpis.sql: the stage
entries, the deal amount, the member of the entry's account that day), so the list is the one the
KPIs count: its length is won_deals and its sum is won_amount, for the same member, store and days.
"""

# SQL from the rollup writer's fragments (this package's tables and columns); values travel as
# parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from metrics.kpis.sql import WON_AMOUNT, WON_ENTRY, entry_member_join, stage_entries
from metrics.models import Lead, LeadStageChange


@dataclass(frozen=True)
class DealWon:
    """A deal won: its lead, the local day it was won, the amount in yuan (as won_amount counts it)."""

    lead: Lead
    date: dt.date
    amount: Decimal


def deals_won_list(*, store_id: int, member_id: int, start: dt.date, end: dt.date) -> list[DealWon]:
    """The deals the member won in the store on local days start … end, in the order they were
    won: each entry into the won stage (a change repeating "won" is none), by the account on that
    change when it was assigned to the member that day. A deal reported lost later keeps its win
    (the history does)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id, {WON_AMOUNT} FROM ({stage_entries()}) e JOIN metrics_lead l ON l.id = e.lead_id "
            f"{entry_member_join()} WHERE {WON_ENTRY} AND e.changed_date BETWEEN %s AND %s AND aa.member_id = %s",
            [store_id, start, end, store_id, start, end, member_id],
        )
        cents = dict(cursor.fetchall())
    if not cents:
        return []
    wins = LeadStageChange.objects.filter(pk__in=list(cents)).select_related("lead").order_by("changed_at", "pk")
    return [DealWon(w.lead, w.changed_date, Decimal(cents[w.pk]) / 100) for w in wins]
