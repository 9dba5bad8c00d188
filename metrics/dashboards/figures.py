"""Plotly figures of the dashboards, built here (not in templates) and drawn by plotly.js.

Each function returns the figure as a plain dict (plotly's JSON), ready for `json_script`. A point
that leads somewhere carries its URL in `customdata`: static/js/dashboards.js follows it on click.

The dicts are written out directly rather than through `plotly.graph_objects`: its property
validation and JSON round trip took 5–50 ms a figure. They are what that round trip made of the
same figures (tests/metrics/test_figures.py has plotly validate them): values as figure_values
writes them, and plotly's default template in the layout."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.dashboards.figure_values import plain_label, plain_number, plain_texts, plain_value, plain_values
from metrics.dashboards.selectors.team import Band  # a promotion phase: the data a band is drawn from
from metrics.formatting import count_display, d3_format, share_display
from metrics.registry import Kpi, Unit

_PRIMARY, _MUTED, _ACCENT = "#2563eb", "#94a3b8", "#f97316"
_FONT = "system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


@functools.cache
def _template() -> dict:
    """plotly's default template ("plotly"), as plotly.js reads it from every figure's layout:
    taken once, on first use (not at import: 90 ms that every process would pay), through
    plotly's JSON, and shared by all figures (nobody changes it)."""
    return json.loads(pio.to_json(go.Figure(), validate=False))["layout"]["template"]


def __getattr__(name: str):
    if name == "TEMPLATE":  # figures.TEMPLATE: the shared template
        return _template()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# plotly's "Blues" colour scale, written out as plotly does into a figure.
_BLUES = (
    (0.0, "rgb(247,251,255)"),
    (0.125, "rgb(222,235,247)"),
    (0.25, "rgb(198,219,239)"),
    (0.375, "rgb(158,202,225)"),
    (0.5, "rgb(107,174,214)"),
    (0.625, "rgb(66,146,198)"),
    (0.75, "rgb(33,113,181)"),
    (0.875, "rgb(8,81,156)"),
    (1.0, "rgb(8,48,107)"),
)


# Every legend: one row (wrapping on a phone) at the bottom of the figure, placed in the figure's
# own coordinates ("container"), so plotly reserves a strip of the bottom margin for it and
# lays the x axis's tick labels and title out above that strip (`automargin` on every axis).
# A legend placed in the plot's coordinates (y = -0.18) sat wherever 18 % of the plot's height
# fell: on the x axis title of the ageing and calls charts, on the tick labels of a phone's.
_LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "bottom", "yref": "container"}


def _axis(**properties) -> dict:
    """An axis that grows the margin to fit its tick labels and title (never under the legend)."""
    return {"automargin": True, **properties}


def _layout(data: list[dict], *, height: int = 320, lines: Sequence[dict] = (), **more) -> dict:
    """The figure: its traces and the dashboards' common layout with `more` over it. `lines`:
    axis-spanning shapes (see `_vline`, `_hline`), before the rest as plotly put them."""
    layout: dict = {"template": _template()}
    if lines:
        layout["shapes"] = list(lines)
    layout["margin"] = more.pop("margin") if "margin" in more else {"l": 48, "r": 16, "t": 16, "b": 40}
    layout["font"] = {"family": _FONT, "size": 12}
    layout["hoverlabel"] = {"font": {"family": _FONT}}
    layout["legend"] = _LEGEND
    # plotly's order: the objects (axes) first, then the plain values and the lists.
    layout.update((key, value) for key, value in more.items() if isinstance(value, dict))
    layout["height"] = height
    layout["paper_bgcolor"] = "rgba(0,0,0,0)"
    layout["plot_bgcolor"] = "rgba(0,0,0,0)"
    layout.update((key, value) for key, value in more.items() if not isinstance(value, dict))
    return {"data": data, "layout": layout}


def _vline(x, line: dict) -> dict:
    """What plotly's `add_vline` adds: a line at `x` over the plot's full height."""
    x = plain_value(x)
    return {"line": line, "type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"}


def _hline(y, line: dict) -> dict:
    """What plotly's `add_hline` adds: a line at `y` over the plot's full width."""
    y = plain_value(y)
    return {"line": line, "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y"}


def _axis_format(kpi: Kpi) -> dict:
    # Axis ticks of money without cents (hover shows them); other units as the hover.
    return _axis(tickformat=",.0f" if kpi.unit == Unit.MONEY else d3_format(kpi), rangemode="tozero")


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
                "fillcolor": colour,
                "layer": "below",
                "line": {"width": 0},
                "opacity": 0.12,
                "type": "rect",
                "x0": _day_edge(start, -_HALF_DAY),
                "x1": _day_edge(end, _HALF_DAY),
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
            }
        )
        middle = (
            dt.datetime.combine(start, dt.time())
            + (dt.datetime.combine(end, dt.time()) - dt.datetime.combine(start, dt.time())) / 2
        )
        annotations.append(
            {
                "font": {"color": colour, "size": 10},
                "hovertext": plain_label(band.title),
                "showarrow": False,
                "text": plain_label(band.label),
                "x": middle.isoformat(sep=" "),
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "paper",
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
    x = [d.isoformat() for d in days]
    number_format = d3_format(kpi)
    data = [
        {
            "connectgaps": False,
            "customdata": plain_values(links),
            "hovertemplate": f"%{{x|%Y-%m-%d}}<br>%{{y:{number_format}}}<extra></extra>",
            "line": {"color": _PRIMARY, "width": 2},
            "mode": "lines+markers",
            "name": kpi.label,
            "x": x,
            "y": [plain_number(v) for v in values],
            "type": "scatter",
        }
    ]
    if medians is not None:
        data.append(
            {
                "hovertemplate": f"%{{x|%Y-%m-%d}}<br>{_('Team median')}: %{{y:{number_format}}}<extra></extra>",
                "line": {"color": _MUTED, "dash": "dot"},
                "mode": "lines",
                "name": _("Team median"),
                "x": list(x),
                "y": [plain_number(v) for v in medians],
                "type": "scatter",
            }
        )
    annotations: list[dict] = []
    has_target = targets is not None and any(v is not None for v in targets)
    if has_target:
        y = [plain_number(v) for v in targets]
        data.append(
            {
                "connectgaps": False,
                "hovertemplate": f"%{{x|%Y-%m-%d}}<br>{_('Target')}: %{{y:{number_format}}}<extra></extra>",
                "line": {"color": _ACCENT, "dash": "dash", "shape": "hv", "width": 2},
                "mode": "lines",
                "name": _("Target"),
                "x": list(x),
                "y": y,
                "type": "scatter",
            }
        )
        last = max(i for i, v in enumerate(y) if v is not None)
        annotations.append(
            {
                "bgcolor": "rgba(255,255,255,0.8)",  # readable over the lines
                "font": {"color": _ACCENT, "size": 11},
                "showarrow": False,
                "text": plain_label(target_label or _("Target")),
                "x": x[last],
                "xanchor": "right",
                "xref": "x",
                "y": y[last],
                "yanchor": "bottom",
                "yref": "y",
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
        data,
        yaxis=_axis_format(kpi),
        xaxis=_axis(type="date", tickformat="%m-%d"),
        showlegend=medians is not None or has_target,
        **more,
    )


# Beyond this ratio of the first step to the smallest step with any count, the funnel's bars are
# drawn on a logarithmic axis: at 40 visitors to 1 inquiry (a shop's usual) the later steps were
# slivers of a few pixels on a linear axis, unreadable on a phone.
FUNNEL_LOG_RATIO = 10
_FUNNEL_COLOURS = [_PRIMARY, "#3b82f6", "#60a5fa", "#93c5fd", _ACCENT]


def funnel_is_log(figure: dict) -> bool:
    """Whether a funnel_figure draws its bars on a logarithmic axis (the page then says so)."""
    return bool(figure) and figure["layout"]["xaxis"].get("type") == "log"


def funnel_figure(*, steps: Sequence[tuple[str, int]]) -> dict:
    """The steps as horizontal bars, first on top, each labelled with its count as a whole number
    grouped in the page's language ("152,396", never "152.396k") and its share of the step before.
    When the first step outnumbers the smallest by more than FUNNEL_LOG_RATIO, the bars' axis is
    logarithmic (the page says so) and hidden: the labels carry the exact numbers."""
    counts = [int(plain_value(value) or 0) for _label, value in steps]
    labels = [plain_label(label) for label, _value in steps]
    present = [count for count in counts if count > 0]
    log = bool(present) and max(present) > FUNNEL_LOG_RATIO * min(present)
    texts, hovers = [], []
    for index, count in enumerate(counts):
        shown = count_display(count)
        before = counts[index - 1] if index else None
        if before:
            share = share_display(count / before)
            texts.append(f"{shown} · {share}")
            hovers.append(_("%(count)s · %(share)s of the step before") % {"count": shown, "share": share})
        else:
            texts.append(shown)
            hovers.append(shown)
    bar: dict = {}
    if log:
        # The bars start at the axis's start, a decade below the smallest count, so the smallest
        # still has a length (from 0 they would start at minus infinity); each bar ends at its
        # count. A step of 0 has no length there, and its label.
        low = math.floor(math.log10(min(present))) - 1
        high = math.log10(max(present))
        bar["base"] = 10**low
        x = [count - 10**low if count > 0 else 0 for count in counts]
        axis = _axis(type="log", range=[low, high + (high - low) * 0.45], visible=False)
    else:
        x = counts
        axis = _axis(range=[0, max(counts, default=0) * 1.45 or 1], visible=False)
    data = [
        {
            **bar,
            "cliponaxis": False,
            "customdata": hovers,
            "hovertemplate": "%{y}: %{customdata}<extra></extra>",
            "marker": {"color": _FUNNEL_COLOURS[: len(counts)]},
            "orientation": "h",
            "text": texts,
            "textposition": "outside",
            "x": x,
            "y": labels,
            "type": "bar",
        }
    ]
    return _layout(
        data,
        height=max(160, 56 * len(counts) + 20),
        margin={"l": 8, "r": 16, "t": 8, "b": 8},
        xaxis=axis,
        yaxis=_axis(autorange="reversed", type="category"),
    )


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
    data = [
        {
            "customdata": plain_values(links),
            "hovertemplate": "%{text}<br>"
            + _("Paid orders")
            + ": %{x:,d}<br>"
            + _("Average order value")
            + ": ¥%{y:,.2f}<extra></extra>",
            "marker": {"color": _PRIMARY, "opacity": 0.8, "size": 11},
            "mode": "markers+text",
            "text": plain_texts(names),
            "textposition": "top center",
            "x": plain_values(paid_orders),
            "y": [plain_number(v) for v in aov],
            "type": "scatter",
        }
    ]
    lines = []
    if median_orders is not None:
        lines.append(_vline(median_orders, {"color": _MUTED, "dash": "dash"}))
    if median_aov is not None:
        lines.append(_hline(median_aov, {"color": _MUTED, "dash": "dash"}))
    return _layout(
        data,
        height=360,
        lines=lines,
        xaxis=_axis(title={"text": _("Paid orders")}, rangemode="tozero"),
        yaxis=_axis(title={"text": _("Average order value")}, tickformat=",.0f", rangemode="tozero"),
    )


def weekday_labels() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def heatmap_figure(*, grid: pd.DataFrame, inquiring: pd.DataFrame | None = None, minimum: int = 1) -> dict:
    """Inquiry-to-payment conversion by weekday (rows) and hour of the session's start (columns).

    `inquiring`: the inquiring buyers of each cell, shown on hover. A cell with some, but fewer
    than `minimum`, shows no rate: it is grey, "too few to rate", with its count on hover (a
    second trace over the first). A cell nobody inquired in is a gap."""
    cells = grid.to_numpy()
    if cells.dtype.kind in "fiub":  # numbers: NaN is their only gap
        rates = [[v if math.isfinite(v) else None for v in row] for row in cells.astype(float).tolist()]
    else:
        rates = [[None if pd.isna(v) else plain_number(v) for v in row] for row in cells]
    counts = (
        [[int(v) for v in row] for row in inquiring.to_numpy().tolist()]
        if inquiring is not None
        else [[0] * len(row) for row in rates]
    )
    few = [[0 < n < minimum for n in row] for row in counts]
    z = [[None if too_few else rate for rate, too_few in zip(row, few_row, strict=True)]
         for row, few_row in zip(rates, few, strict=True)]  # fmt: skip
    x, y = [f"{h:02d}" for h in range(24)], weekday_labels()
    main = {
        "colorbar": {"thickness": 10, "tickformat": ".0%"},
        "colorscale": [[position, colour] for position, colour in _BLUES],
        "hoverongaps": False,
        "hovertemplate": "%{y} %{x}:00<br>" + _("Inquiry-to-payment rate") + ": %{z:.1%}<extra></extra>",
        "x": x,
        "y": y,
        "z": z,
        "zmin": 0,
        "type": "heatmap",
    }
    data = [main]
    if inquiring is not None:
        main["customdata"] = [[_inquiring_text(n) for n in row] for row in counts]
        main["hovertemplate"] = (
            "%{y} %{x}:00<br>" + _("Inquiry-to-payment rate") + ": %{z:.1%}<br>%{customdata}<extra></extra>"
        )
    if any(any(row) for row in few):
        data.append(
            {
                "colorscale": [[0.0, _TOO_FEW], [1.0, _TOO_FEW]],
                "hoverongaps": False,
                "hovertemplate": "%{y} %{x}:00<br>%{hovertext}<extra></extra>",
                "hovertext": [
                    [_too_few_text(n, minimum) if too_few else None for n, too_few in zip(row, few_row, strict=True)]
                    for row, few_row in zip(counts, few, strict=True)
                ],
                "name": _("Too few to rate"),
                "showscale": False,
                "x": list(x),
                "y": list(y),
                "z": [[1 if too_few else None for too_few in row] for row in few],
                "zmax": 1,
                "zmin": 0,
                "type": "heatmap",
            }
        )
    return _layout(
        data,
        height=300,
        yaxis=_axis(autorange="reversed"),
        xaxis=_axis(title={"text": _("Hour")}),
    )


_TOO_FEW = "#d1d5db"  # grey: not a shade of the blue scale, so never read as a rate


def _inquiring_text(count: int) -> str:
    return ngettext("%(count)s inquiring buyer", "%(count)s inquiring buyers", count) % {"count": count_display(count)}


def _too_few_text(count: int, minimum: int) -> str:
    return _("Too few to rate: %(buyers)s (a rate needs %(minimum)s)") % {
        "buyers": _inquiring_text(count),
        "minimum": count_display(minimum),
    }


def response_figure(*, shares: dict[str, float | None]) -> dict:
    labels = {
        "within_15s": _("Within 15 s"),
        "within_30s": _("Within 30 s"),
        "within_3min": _("Within 3 min"),
        "unanswered": _("Unanswered"),
    }
    data = [
        {
            "hovertemplate": "%{x}: %{y:.1%}<extra></extra>",
            "marker": {"color": [_PRIMARY, "#3b82f6", "#93c5fd", _ACCENT]},
            "text": [None if shares.get(k) is None else f"{shares[k]:.1%}" for k in labels],
            "textposition": "outside",
            "x": [labels[k] for k in labels],
            "y": [plain_value(shares.get(k)) for k in labels],
            "type": "bar",
        }
    ]
    return _layout(data, height=280, xaxis=_axis(), yaxis=_axis(tickformat=".0%", range=[0, 1.1]))


def stores_figure(*, names: Sequence[str], gmv: Sequence, staff: Sequence[int], links: Sequence[str]) -> dict:
    """GMV (bars) beside staff count (markers, right axis) per store: more staff ≠ more sales."""
    data = [
        {
            "customdata": plain_values(links),
            "hovertemplate": "%{x}<br>" + _("GMV") + ": ¥%{y:,.2f}<extra></extra>",
            "marker": {"color": _PRIMARY},
            "name": _("GMV"),
            "x": plain_values(names),
            "y": [plain_number(v) for v in gmv],
            "type": "bar",
        },
        {
            "customdata": plain_values(links),
            "hovertemplate": "%{x}<br>" + _("Staff") + ": %{y:d}<extra></extra>",
            "marker": {"color": _ACCENT, "size": 14, "symbol": "diamond"},
            "mode": "markers",
            "name": _("Staff"),
            "x": plain_values(names),
            "y": plain_values(staff),
            "yaxis": "y2",
            "type": "scatter",
        },
    ]
    return _layout(
        data,
        height=320,
        xaxis=_axis(),
        yaxis=_axis(title={"text": _("GMV")}, tickformat=",.0f", rangemode="tozero"),
        yaxis2=_axis(
            title={"text": _("Staff")},
            overlaying="y",
            side="right",
            rangemode="tozero",
            tickformat=",d",  # people: whole numbers, on whole-number ticks
            dtick=max(1, math.ceil(max(staff, default=0) / 5)),
        ),
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
    data = [
        {
            "hovertemplate": f"{label} · %{{x}}: %{{y:,d}}<extra></extra>",
            "marker": {"color": colour},
            "name": plain_label(label),
            "x": plain_values(buckets),
            "y": plain_values(counts[stage]),
            "type": "bar",
        }
        for (stage, label), colour in zip(stages, _STAGE_COLOURS, strict=False)
    ]
    return _layout(
        data,
        height=300,
        lines=[_vline(stuck_position, {"color": "#ef4444", "dash": "dash", "width": 2})],
        barmode="group",
        margin={"l": 48, "r": 16, "t": 28, "b": 40},
        xaxis=_axis(title={"text": _("Days in the current stage")}, type="category"),
        yaxis=_axis(title={"text": _("Open leads")}, tickformat=",d", rangemode="tozero"),
        annotations=[
            {
                "font": {"color": "#ef4444", "size": 11},
                "showarrow": False,
                "text": plain_label(stuck_label),
                "x": plain_value(stuck_position),
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "paper",
            }
        ],
    )


def calls_hour_figure(
    *, hours: Sequence[int], dials: Sequence[int], connected: Sequence[int], rates: Sequence[float | None]
) -> dict:
    """Outbound calls and connected calls by the store's local hour (bars), the connect rate on
    the right axis (line; none in an hour without calls)."""
    x = [f"{h:02d}" for h in hours]
    data = [
        {
            "hovertemplate": "%{x}:00 · " + _("Outbound calls") + ": %{y:,d}<extra></extra>",
            "marker": {"color": "#93c5fd"},
            "name": _("Outbound calls"),
            "x": x,
            "y": plain_values(dials),
            "type": "bar",
        },
        {
            "hovertemplate": "%{x}:00 · " + _("Connected") + ": %{y:,d}<extra></extra>",
            "marker": {"color": _PRIMARY},
            "name": _("Connected"),
            "x": list(x),
            "y": plain_values(connected),
            "type": "bar",
        },
        {
            "connectgaps": False,
            "hovertemplate": "%{x}:00 · " + _("Connect rate") + ": %{y:.1%}<extra></extra>",
            "line": {"color": _ACCENT},
            "mode": "lines+markers",
            "name": _("Connect rate"),
            "x": list(x),
            "y": [plain_number(r) for r in rates],
            "yaxis": "y2",
            "type": "scatter",
        },
    ]
    return _layout(
        data,
        height=300,
        barmode="group",
        xaxis=_axis(title={"text": _("Hour")}, type="category"),
        yaxis=_axis(title={"text": _("Calls")}, tickformat=",d", rangemode="tozero"),
        yaxis2=_axis(overlaying="y", side="right", tickformat=".0%", range=[0, 1.05], showgrid=False),
    )
