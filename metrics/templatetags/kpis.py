"""KPI values on pages: {{ value|kpi:kpi_object }}, {{ change|kpi_change:points }}, sparklines."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from metrics.formatting import change_display, count_display, kpi_display, share_display
from metrics.registry import kpi_get

register = template.Library()


@register.filter
def kpi(value, kpi_or_key):
    definition = kpi_get(kpi_or_key) if isinstance(kpi_or_key, str) else kpi_or_key
    return kpi_display(definition, value)


@register.filter
def count(value) -> str:
    """A count grouped by thousands in the page's language: 61630 → 61,630."""
    return count_display(value)


@register.filter
def kpi_change(change, points: bool) -> str:
    return change_display(change, points=bool(points))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def percent(value, decimals: int = 1) -> str:
    """A fraction as a percentage with `decimals` decimals (metrics.formatting.share_display)."""
    return share_display(value, places=int(decimals))


@register.simple_tag
def sparkline(values, width: int = 96, height: int = 24) -> str:
    """An inline SVG line of the values (gaps where a value is missing); empty when none."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return mark_safe('<span class="muted">—</span>')
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    segments, current = [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = height - 2 - (value - low) / span * (height - 4)
        current.append(f"{index * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    lines = "".join(f'<polyline points="{" ".join(points)}"/>' for points in segments if len(points) > 1)
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" aria-hidden="true">{}</svg>',
        width,
        height,
        width,
        height,
        mark_safe(lines),  # noqa: S308 - numbers this function formatted, nothing from a user
    )


@register.simple_tag
def rank_cell(rank: int | None, ranked: int | None = None) -> str:
    """A rank as people read it: "2", or "2 / 5" of the `ranked` members; an unranked member (see
    metrics.kpis.ranking.ranks) a dash that says why on hover and to screen readers."""
    if rank is None:
        return format_html(
            '<span class="unranked" title="{}">—<span class="visually-hidden"> {}</span></span>',
            _("Unranked: no figure, or zero, for this KPI"),
            _("unranked"),
        )
    return str(rank) if ranked is None else f"{rank} / {ranked}"


@register.simple_tag
def leaderboard_rows(dashboard, member_query: str) -> str:
    """The leaderboard's rows (rank, member, sparkline, one cell per KPI column), built in Python:
    20 members × 20 KPIs through the template engine's filters were most of a page's rendering."""
    rows = []
    columns = dashboard.columns
    for row in dashboard.leaderboard:
        cells = format_html_join(
            "", '<td class="num">{}</td>', ((kpi_display(kpi, row.values.get(kpi.key)),) for kpi in columns)
        )
        rows.append(
            format_html(
                '<tr>\n        <td class="num rank">{}</td>\n        <td class="name"><a href="{}?{}">{}</a></td>\n'
                "        <td>{}</td>\n        {}\n      </tr>",
                rank_cell(row.rank),
                reverse("dashboards:member", args=[row.member_id]),
                member_query,
                row.name,
                sparkline(row.spark),
                cells,
            )
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - each row escaped by format_html above
