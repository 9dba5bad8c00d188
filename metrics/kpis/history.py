"""Who was where on a day, for frames of rows: dated histories of the organisation, in pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.db import frame_query


def _on_day(rows: pd.DataFrame, key: str, periods: pd.DataFrame) -> pd.Series:
    """For each row (`key`, `date`), the `value` of the period of that key covering the date."""
    result = pd.Series(np.nan, index=rows.index, dtype="float64")
    usable = rows[key].notna() & rows["date"].notna()
    if periods.empty or not usable.any():
        return result
    left = rows.loc[usable, [key, "date"]].astype({key: "int64"}).reset_index(names="row")
    left["date"] = pd.to_datetime(left["date"])
    joined = left.merge(periods, on=key)
    inside = (joined["date"] >= pd.to_datetime(joined["start"])) & (
        joined["end"].isna() | (joined["date"] <= pd.to_datetime(joined["end"]))
    )
    found = joined.loc[inside].drop_duplicates("row").set_index("row")["value"]
    result.loc[found.index] = found.to_numpy(dtype="float64")
    return result


def member_of_account_on(rows: pd.DataFrame) -> pd.Series:
    """Member using each row's `account` on its `date`; NaN when the account was unassigned."""
    assignments = frame_query(
        "SELECT account_id, member_id, start_date, end_date FROM teams_accountassignment",
        columns=["account", "value", "start", "end"],
    )
    return _on_day(rows, "account", assignments)
