"""KPI tables as export rows: who each entity is, its period, and every KPI of the level."""

from __future__ import annotations

import datetime as dt

from metrics.kpis.cache import store_data_cached
from metrics.kpis.selectors import kpi_table
from metrics.registry import Level, kpis_for
from teams.models import AccountAssignment, Member, Store, Team


def kpi_export_columns(*, level: str) -> list[str]:
    entity = {Level.MEMBER: ["member_id", "member_name", "accounts"], Level.TEAM: ["team_id", "team_name"]}
    return [
        "store",
        *entity.get(level, ["store_id"]),
        "period_start",
        *(k.key for k in kpis_for(level, spec_only=True)),
    ]


def kpi_export_rows(
    *, level: str, grain: str, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None
) -> list[list]:
    table = kpi_table(
        level=level, grain=grain, start=start, end=end, store_ids=store_ids, member_ids=member_ids, team_ids=team_ids
    )
    stores = dict(Store.objects.values_list("id", "name"))
    keys = [k.key for k in kpis_for(level, spec_only=True)]
    names, accounts = {}, {}
    if level == Level.MEMBER:
        ids = set(table["entity_id"].tolist())
        names = dict(Member.objects.filter(pk__in=ids).values_list("id", "display_name"))
        for member_id, store_id, account in AccountAssignment.objects.filter(member_id__in=ids).values_list(
            "member_id", "account__store_id", "account__name"
        ):
            accounts.setdefault((member_id, store_id), set()).add(account)
    elif level == Level.TEAM:
        names = dict(Team.objects.values_list("id", "name"))
    rows = []
    for record in table.to_dict("records"):
        store_id, entity_id = int(record["store_id"]), int(record["entity_id"])
        entity = {
            Level.MEMBER: [
                entity_id,
                names.get(entity_id, ""),
                ";".join(sorted(accounts.get((entity_id, store_id), ()))),
            ],
            Level.TEAM: [entity_id, names.get(entity_id, "")],
        }.get(level, [store_id])
        rows.append([stores.get(store_id, ""), *entity, record["period_start"], *(record[k] for k in keys)])
    return rows


def kpi_export_rows_cached(
    *, level: str, grain: str, start: dt.date, end: dt.date, store_ids, member_ids=None, team_ids=None
) -> list[list]:
    """kpi_export_rows, cached until the stores' data change (or ten minutes pass), so that the
    pages of one answer of the API, and the same query asked again, are computed once."""
    store_ids = sorted(set(store_ids))
    key = (
        level,
        grain,
        start,
        end,
        None if member_ids is None else tuple(sorted(set(member_ids))),
        None if team_ids is None else tuple(sorted(set(team_ids))),
    )
    return store_data_cached(
        prefix="kpis",
        kind=level,
        store_ids=store_ids,
        key=key,
        per_language=False,  # names and figures only: nothing translated
        compute=lambda: kpi_export_rows(
            level=level,
            grain=grain,
            start=start,
            end=end,
            store_ids=store_ids,
            member_ids=member_ids,
            team_ids=team_ids,
        ),
    )
