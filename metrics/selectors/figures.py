"""Plotly figures of the dashboards, built here (not in templates) and drawn by plotly.js.

Each function returns the figure as a plain dict (plotly's JSON), ready for `json_script`.
A point that leads somewhere carries its URL in `customdata`: static/js/dashboards.js follows
it on click (drill-down into a day or a member)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Band:
    """A promotion phase on a trend chart: a shaded band over its days, labelled at the top."""

    start: dt.date
    end: dt.date  # inclusive
    kind: str  # preheat, peak or after: the band's colour
    label: str  # short, on the chart
    title: str  # on hover: the promotion, the phase and its days


# Pre-heat warms up (amber), the peak is the sale itself (red), after cools down (green).
_BAND_COLOURS = {"preheat": "#f59e0b", "peak": "#ef4444", "after": "#10b981"}
_HALF_DAY = dt.timedelta(hours=12)


def _day_edge(day: dt.date, shift: dt.timedelta) -> str:
    # A day's marker sits at its midnight: a band covers its days from half a day before the
    # first to half a day after the last, so the first and last markers are inside it.
    return (dt.datetime.combine(day, dt.time()) + shift).isoformat(sep=" ")


def _bands_layout(bands: Sequence[Band], days: Sequence[dt.date]) -> tuple[list[dict], list[dict]]:
    """Plotly shapes (rectangles over the x range, the full height) and their labels; clipped to
    the chart's days so a long promotion does not stretch the axis."""
    if not days:
        return [], []
    first, last = min(days), max(days)
    shapes, annotations = [], []
    for band in bands:
        start, end = max(band.start, first), min(band.end, last)
        if end < start:
            continue
        colour = _BAND_COLOURS.get(band.kind, _MUTED)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _day_edge(start, -_HALF_DAY),
                "x1": _day_edge(end, _HALF_DAY),
                "y0": 0,
                "y1": 1,
                "fillcolor": colour,
                "opacity": 0.12,
                "layer": "below",
                "line": {"width": 0},
            }
        )
        middle = (
            dt.datetime.combine(start, dt.time())
            + (dt.datetime.combine(end, dt.time()) - dt.datetime.combine(start, dt.time())) / 2
        )
        annotations.append(
            {
                "x": middle.isoformat(sep=" "),
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "yanchor": "bottom",
                "text": band.label,
                "hovertext": band.title,
                "showarrow": False,
                "font": {"size": 10, "color": colour},
            }
        )
    return shapes, annotations


def trend_figure(
    *,
    kpi: Kpi,
    days: Sequence[dt.date],
    values: Sequence,
    links: Sequence[str],
    medians: Sequence | None = None,
    targets: Sequence | None = None,
    target_label: str = "",
    bands: Sequence[Band] = (),
) -> dict:
    """A KPI day by day; clicking a day opens that day. `medians`: the team's median per day.
    `targets`: the target for each day (None where there is none), a dashed line labelled with
    `target_label` at its last day. `bands`: promotion phases, shaded behind the lines."""
    fig = go.Figure()
    x = [d.isoformat() for d in days]
    fig.add_trace(
        go.Scatter(
            x=x,
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
                x=x,
                y=[_number(v) for v in medians],
                name=_("Team median"),
                mode="lines",
                line={"color": _MUTED, "dash": "dot"},
                hovertemplate=f"%{{x|%Y-%m-%d}}<br>{_('Team median')}: %{{y:{d3_format(kpi)}}}<extra></extra>",
            )
        )
    annotations: list[dict] = []
    has_target = targets is not None and any(v is not None for v in targets)
    if has_target:
        y = [_number(v) for v in targets]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=_("Target"),
                mode="lines",
                line={"color": _ACCENT, "dash": "dash", "width": 2, "shape": "hv"},
                connectgaps=False,
                hovertemplate=f"%{{x|%Y-%m-%d}}<br>{_('Target')}: %{{y:{d3_format(kpi)}}}<extra></extra>",
            )
        )
        last = max(i for i, v in enumerate(y) if v is not None)
        annotations.append(
            {
                "x": x[last],
                "y": y[last],
                "xref": "x",
                "yref": "y",
                "xanchor": "right",
                "yanchor": "bottom",
                "text": target_label or _("Target"),
                "showarrow": False,
                "bgcolor": "rgba(255,255,255,0.8)",  # readable over the lines
                "font": {"size": 11, "color": _ACCENT},
            }
        )
    shapes, band_labels = _bands_layout(bands, days)
    more: dict = {}
    if shapes:
        more["shapes"] = shapes
        more["margin"] = {"l": 48, "r": 16, "t": 28, "b": 40}  # room for the phases' labels
    if annotations or band_labels:
        more["annotations"] = band_labels + annotations
    return _layout(
        fig,
        yaxis=_axis_format(kpi),
        xaxis={"type": "date", "tickformat": "%m-%d"},
        showlegend=medians is not None or has_target,
        **more,
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


_STAGE_COLOURS = ["#93c5fd", _PRIMARY, _ACCENT]  # lead, intent, negotiation


def ageing_figure(
    *,
    stages: Sequence[tuple[str, str]],
    buckets: Sequence[str],
    counts: dict[str, Sequence[int]],
    stuck_position: float,
    stuck_label: str,
) -> dict:
    """Open leads by days in their current stage (x, buckets) and stage (grouped bars); a dashed
    line where a deal in negotiation becomes stuck (`stuck_position` on the category axis)."""
    fig = go.Figure()
    for (stage, label), colour in zip(stages, _STAGE_COLOURS, strict=False):
        fig.add_trace(
            go.Bar(
                x=list(buckets),
                y=list(counts[stage]),
                name=label,
                marker={"color": colour},
                hovertemplate=f"{label} · %{{x}}: %{{y:,d}}<extra></extra>",
            )
        )
    fig.add_vline(x=stuck_position, line={"color": "#ef4444", "dash": "dash", "width": 2})
    return _layout(
        fig,
        height=300,
        barmode="group",
        margin={"l": 48, "r": 16, "t": 28, "b": 40},
        xaxis={"type": "category", "title": {"text": _("Days in the current stage")}},
        yaxis={"title": {"text": _("Open leads")}, "tickformat": ",d", "rangemode": "tozero"},
        annotations=[
            {
                "x": stuck_position,
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "yanchor": "bottom",
                "text": stuck_label,
                "showarrow": False,
                "font": {"size": 11, "color": "#ef4444"},
            }
        ],
    )


def calls_hour_figure(
    *, hours: Sequence[int], dials: Sequence[int], connected: Sequence[int], rates: Sequence[float | None]
) -> dict:
    """Outbound calls and connected calls by the store's local hour (bars), the connect rate on
    the right axis (line; none in an hour without calls)."""
    x = [f"{h:02d}" for h in hours]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=x,
            y=list(dials),
            name=_("Outbound calls"),
            marker={"color": "#93c5fd"},
            hovertemplate="%{x}:00 · " + _("Outbound calls") + ": %{y:,d}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=list(connected),
            name=_("Connected"),
            marker={"color": _PRIMARY},
            hovertemplate="%{x}:00 · " + _("Connected") + ": %{y:,d}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[_number(r) for r in rates],
            name=_("Connect rate"),
            yaxis="y2",
            mode="lines+markers",
            line={"color": _ACCENT},
            connectgaps=False,
            hovertemplate="%{x}:00 · " + _("Connect rate") + ": %{y:.1%}<extra></extra>",
        )
    )
    return _layout(
        fig,
        height=300,
        barmode="group",
        xaxis={"type": "category", "title": {"text": _("Hour")}},
        yaxis={"title": {"text": _("Calls")}, "tickformat": ",d", "rangemode": "tozero"},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1.05], "showgrid": False},
    )
