"""A roster's (花名册) checked cells as the organisation's typed rows, and the organisation's verdict
on them as the import's row errors (teams.services.roster applies the rows)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from metrics.importing.schema import field_by_name
from metrics.messages import choice, message
from metrics.models import ImportKind
from teams.services.roster import RosterError, RosterRow


def roster_rows_of(*, frame: pd.DataFrame) -> list[RosterRow]:
    """The checked cells as typed rows (dates, yes/no; None for empty optional cells)."""

    def day(value) -> dt.date | None:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None

    def yes(value) -> bool | None:
        return None if value is None or value == "" or pd.isna(value) else bool(int(value))

    frame = frame.astype(object).where(frame.notna(), None)
    return [
        RosterRow(
            line=int(row.line),
            store_id=int(row.store_id),
            employee_number=row.employee_number,
            name=row.name,
            team=row.team,
            hire_date=day(row.hire_date),
            team_kind=row.team_kind or None,
            accounts=row.accounts,
            leave_date=day(row.leave_date),
            leader=yes(row.leader),
            login=row.login or "",
            email=row.email or "",
            move_date=day(row.move_date),
            from_first_activity=bool(yes(row.from_first_activity)),
        )
        for row in frame.itertuples(index=False)
    ]


def roster_errors_frame(*, errors: list[RosterError], mapping: dict[str, str]) -> pd.DataFrame:
    """The roster's row errors as the pipeline keeps them: the file's column, a message."""

    def reason(error: RosterError) -> str:
        params = {k: choice("team_kind", v) if k == "kind" else v for k, v in error.params.items()}
        return json.dumps(message(f"metrics.roster_{error.problem.value}", **params), ensure_ascii=False)

    def column(error: RosterError) -> str:
        return mapping.get(error.field) or str(field_by_name(ImportKind.ROSTER, error.field).label)

    return pd.DataFrame(
        {
            "line": [error.line for error in errors],
            "column": [column(error) for error in errors],
            "value": [error.value for error in errors],
            "reason": [reason(error) for error in errors],
        }
    )
