"""KPI values for the callers outside the KPI tables: member alerts, the target decomposition,
pay statements, badges, and breakdowns the tables do not cut (a weekday × hour grid).

Every value here is the registry's formula (metrics.registry) over the engine's measures
(metrics.kpis.selectors: kpi_table, kpi_values): a caller never divides two measures or counts
buyers itself. A team's figure is the team-level KPI (distinct buyers over the whole team), never
a sum of its members' values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from metrics.kpis.grouping import Columns
from metrics.kpis.sales import SALES_MEASURES
from metrics.kpis.selectors import (
    MemberRows,
    kpi_table,
    kpi_values,
    measures_member,
    member_rows_load,
)
from metrics.registry import Formula, Level, kpi_get


def kpi_column_evaluate(*, key: str, level: str, measures: Mapping[str, np.ndarray]) -> np.ndarray:
    """The KPI's value for each row of measures the caller has summed over its own cut (an hour,
    a cell, a window), by the registry's formula: an object array, None where undefined (a ratio
    over zero). A measure the formula needs and `measures` lacks counts 0."""
    rows = Columns({name: np.asarray(column) for name, column in measures.items()})
    return kpi_values(rows, level=level, only=[key])[key].to_numpy()


def kpi_evaluate(*, key: str, level: str, measures: Mapping[str, int | float]) -> object:
    """One KPI value from one set of measures (kpi_column_evaluate for a single row)."""
    return kpi_column_evaluate(key=key, level=level, measures={name: [value] for name, value in measures.items()})[0]


def _needs_sales_queries(keys: Iterable[str], level: str) -> bool:
    """Whether a KPI of `keys` reads a measure computed per query (SALES_MEASURES: leads
    touched, the pipeline, targets, new hires) rather than summed from the day rows."""
    return any(
        measure in SALES_MEASURES for key in keys for measure in (kpi_get(key).formula(level) or Formula()).measures
    )


def member_kpi_table_get(
    *,
    grain: str,
    start: dt.date,
    end: dt.date,
    only: Iterable[str],
    store_ids=None,
    member_ids=None,
    team_ids=None,
    rows: MemberRows | None = None,
) -> pd.DataFrame:
    """The member KPIs `only` per (store, member, period), as kpi_table computes them, with one row
    per member and period that has day rollups. When none of `only` needs a per-query sales
    measure, those queries are not run (they only add rows of members with nothing but open deals,
    targets or a probation's end, which these KPIs would show as 0)."""
    only = list(only)
    if rows is None:
        rows = member_rows_load(start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids)
    if not _needs_sales_queries(only, Level.MEMBER):
        rows = dataclasses.replace(rows, has_sales=False)
    return kpi_table(level=Level.MEMBER, grain=grain, start=start, end=end, rows=rows, only=only)


def member_measures_get(
    *, grain: str, start: dt.date, end: dt.date, names: Iterable[str], store_ids=None, member_ids=None
) -> pd.DataFrame:
    """The engine's member measures `names` (sums of the day rollups: sessions, answered_30s, …)
    per (store, member, period: entity_id, period_start), for a rule on a measure no KPI names
    (every session of a day answered within 30 s). Rows as member_kpi_table_get's."""
    names = list(names)
    rows = member_rows_load(start=start, end=end, store_ids=store_ids, member_ids=member_ids)
    if not any(name in SALES_MEASURES for name in names):
        rows = dataclasses.replace(rows, has_sales=False)
    measures = measures_member(level=Level.MEMBER, grain=grain, start=start, end=end, rows=rows)
    measures = measures.rename(columns={"member_id": "entity_id"})
    return measures[["store_id", "entity_id", "period_start", *names]]


def member_kpis_get(*, member_id: int, store_id: int, start: dt.date, end: dt.date) -> dict:
    """The member's KPIs in the store over start … end (every member KPI, by key); {} without
    any row."""
    table = kpi_table(
        level=Level.MEMBER, grain="range", start=start, end=end, store_ids=[store_id], member_ids=[member_id]
    )
    return table.iloc[0].to_dict() if len(table) else {}


def scope_kpis_get(*, level: str, store_id: int, start: dt.date, end: dt.date, entity_id: int | None = None) -> dict:
    """The KPIs of one store, team or member of the store over start … end (every KPI of the
    level, by key): a team's are the team-level KPIs (distinct buyers over the team); {} without
    any row. `entity_id`: the team or member (the store's own id for the store level)."""
    filters = {Level.TEAM: {"team_ids": [entity_id]}, Level.MEMBER: {"member_ids": [entity_id]}}.get(level, {})
    table = kpi_table(level=level, grain="range", start=start, end=end, store_ids=[store_id], **filters)
    return table.iloc[0].to_dict() if len(table) else {}
