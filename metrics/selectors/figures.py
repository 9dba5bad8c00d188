"""Plotly figures of the dashboards, built here (not in templates) and drawn by plotly.js.

Each function returns the figure as a plain dict (plotly's JSON), ready for `json_script`.
A point that leads somewhere carries its URL in `customdata`: static/js/dashboards.js follows
it on click (drill-down into a day or a member)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import gettext as _

from metrics.formatting import d3_format
from metrics.registry import Kpi, Unit

_PRIMARY, _MUTED, _ACCENT = "#2563eb", "#94a3b8", "#f97316"
_FONT = "system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


def _layout(fig: go.Figure, *, height: int = 320, **more) -> dict:
    layout = {
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "font": {"family": _FONT, "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"font": {"family": _FONT}},
        "legend": {"orientation": "h", "y": -0.18},
    }
    fig.update_layout(**{**layout, **more})
    # Through JSON: numpy values become plain numbers the template can embed.
    return json.loads(pio.to_json(fig, validate=False))


def _axis_format(kpi: Kpi) -> dict:
    # Axis ticks of money without cents (hover shows them); other units as the hover.
    return {"tickformat": ",.0f" if kpi.unit == Unit.MONEY else d3_format(kpi), "rangemode": "tozero"}


def _number(value) -> float | None:
    return None if value is None else float(value)


def trend_figure(
    *, kpi: Kpi, days: Sequence[dt.date], values: Sequence, links: Sequence[str], medians: Sequence | None = None
) -> dict:
    """A KPI day by day; clicking a day opens that day. `medians`: the team's median per day."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[d.isoformat() for d in days],
            y=[_number(v) for v in values],
            name=kpi.label,
            mode="lines+markers",
            line={"color": _PRIMARY, "width": 2},
            customdata=list(links),
            hovertemplate=f"%{{x|%Y-%m-%d}}<br>%{{y:{d3_format(kpi)}}}<extra></extra>",
            connectgaps=False,
        )
    )
    if medians is not None:
        fig.add_trace(
            go.Scatter(
                x=[d.isoformat() for d in days],
                y=[_number(v) for v in medians],
                name=_("Team median"),
                mode="lines",
                line={"color": _MUTED, "dash": "dot"},
                hovertemplate=f"%{{x|%Y-%m-%d}}<br>{_('Team median')}: %{{y:{d3_format(kpi)}}}<extra></extra>",
            )
        )
    return _layout(
        fig, yaxis=_axis_format(kpi), xaxis={"type": "date", "tickformat": "%m-%d"}, showlegend=bool(medians)
    )


def funnel_figure(*, steps: Sequence[tuple[str, int]]) -> dict:
    fig = go.Figure(
        go.Funnel(
            y=[label for label, _value in steps],
            x=[value for _label, value in steps],
            textinfo="value+percent initial",
            marker={"color": [_PRIMARY, "#3b82f6", "#60a5fa", "#93c5fd", _ACCENT]},
            hovertemplate="%{y}: %{x:,d}<extra></extra>",
        )
    )
    return _layout(fig, height=300, margin={"l": 120, "r": 16, "t": 8, "b": 8})


def scatter_figure(
    *,
    names: Sequence[str],
    paid_orders: Sequence[int],
    aov: Sequence,
    links: Sequence[str],
    median_orders: float | None,
    median_aov: float | None,
) -> dict:
    """Volume vs price: members by paid orders (x) and AOV (y), the team medians as quadrant lines."""
    fig = go.Figure(
        go.Scatter(
            x=list(paid_orders),
            y=[_number(v) for v in aov],
            text=list(names),
            customdata=list(links),
            mode="markers+text",
            textposition="top center",
            marker={"size": 11, "color": _PRIMARY, "opacity": 0.8},
            hovertemplate="%{text}<br>"
            + _("Paid orders")
            + ": %{x:,d}<br>"
            + _("Average order value")
            + ": ¥%{y:,.2f}<extra></extra>",
        )
    )
    if median_orders is not None:
        fig.add_vline(x=median_orders, line={"color": _MUTED, "dash": "dash"})
    if median_aov is not None:
        fig.add_hline(y=median_aov, line={"color": _MUTED, "dash": "dash"})
    return _layout(
        fig,
        height=360,
        xaxis={"title": {"text": _("Paid orders")}, "rangemode": "tozero"},
        yaxis={"title": {"text": _("Average order value")}, "tickformat": ",.0f", "rangemode": "tozero"},
    )


def weekday_labels() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def heatmap_figure(*, grid: pd.DataFrame) -> dict:
    """Inquiry-to-payment conversion by weekday (rows) and hour of the session's start (columns)."""
    values = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=[f"{h:02d}" for h in range(24)],
            y=weekday_labels(),
            colorscale="Blues",
            zmin=0,
            hoverongaps=False,
            colorbar={"tickformat": ".0%", "thickness": 10},
            hovertemplate="%{y} %{x}:00<br>" + _("Inquiry-to-payment rate") + ": %{z:.1%}<extra></extra>",
        )
    )
    return _layout(fig, height=300, yaxis={"autorange": "reversed"}, xaxis={"title": {"text": _("Hour")}})


def response_figure(*, shares: dict[str, float | None]) -> dict:
    labels = {
        "within_15s": _("Within 15 s"),
        "within_30s": _("Within 30 s"),
        "within_3min": _("Within 3 min"),
        "unanswered": _("Unanswered"),
    }
    fig = go.Figure(
        go.Bar(
            x=[labels[k] for k in labels],
            y=[shares.get(k) for k in labels],
            marker={"color": [_PRIMARY, "#3b82f6", "#93c5fd", _ACCENT]},
            text=[None if shares.get(k) is None else f"{shares[k]:.1%}" for k in labels],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    return _layout(fig, height=280, yaxis={"tickformat": ".0%", "range": [0, 1.1]})


def stores_figure(*, names: Sequence[str], gmv: Sequence, staff: Sequence[int], links: Sequence[str]) -> dict:
    """GMV (bars) beside staff count (markers, right axis) per store: more staff ≠ more sales."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=list(names),
            y=[_number(v) for v in gmv],
            name=_("GMV"),
            marker={"color": _PRIMARY},
            customdata=list(links),
            hovertemplate="%{x}<br>" + _("GMV") + ": ¥%{y:,.2f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(names),
            y=list(staff),
            name=_("Staff"),
            yaxis="y2",
            mode="markers",
            marker={"size": 14, "color": _ACCENT, "symbol": "diamond"},
            customdata=list(links),
            hovertemplate="%{x}<br>" + _("Staff") + ": %{y:d}<extra></extra>",
        )
    )
    return _layout(
        fig,
        height=320,
        yaxis={"title": {"text": _("GMV")}, "tickformat": ",.0f", "rangemode": "tozero"},
        yaxis2={
            "title": {"text": _("Staff")},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ",d",  # people: whole numbers, on whole-number ticks
            "dtick": max(1, math.ceil(max(staff, default=0) / 5)),
        },
    )
