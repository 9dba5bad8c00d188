"""Values as plotly's JSON leaves them, for the dashboards' figures (metrics.dashboards.figures):
what plotly's validation and JSON round trip made of numbers, labels and texts, written out
directly (the round trip cost 5–50 ms a figure)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd


def plain_value(value):
    """A value as plotly's JSON left it: numpy scalars as Python numbers, Decimal as float, NaN
    and infinities as None (null); strings and ints as they are."""
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, float | Decimal):  # numpy's float64 is a float
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.generic):
        return plain_value(value.item())
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)  # a plain str, as JSON gives back
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def plain_values(values: Iterable) -> list:
    return [plain_value(v) for v in values]


def plain_label(value):
    """A label as plotly takes it: a string, or a number written as one."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    return str(value) if isinstance(value, int | float) else value


def plain_texts(values: Iterable) -> list:
    """Texts of points as plotly takes them: strings, anything else written as one, None kept."""
    return [v if v is None or type(v) is str else str.__str__(v) if isinstance(v, str) else str(v) for v in values]


def plain_number(value) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None  # NaN and infinities: null
