"""HR's workbook of a month's appraisals (xlsx): a summary sheet, a sheet per team's cycle with one
row per member, and a definitions sheet (every item's weight, KPI, definition and scoring rule;
the grade bands).

Headers are in the chosen language. No cell can become a formula: every text goes through
perfmgmt.common.exports (written as text; one that starts like a formula also gets Excel's quote
prefix). Money is a number with two decimals, rates are fractions shown as percentages, scores
are 0–100 with two decimals. A finalised cycle shows its frozen scores."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from metrics.registry import KPI_BY_KEY, Direction, Kpi, Unit
from perfmgmt.common.exports import (
    MONEY,
)
from perfmgmt.common.exports import xlsx_column_widths as _widths
from perfmgmt.common.exports import xlsx_sheet_title as _sheet_title
from perfmgmt.common.exports import xlsx_value_cell as _cell
from reviews import scoring
from reviews.models import (
    Appraisal,
    Cycle,
    Dimension,
    Item,
    ItemKind,
    ItemScore,
    ItemStatus,
    RaterRole,
    ScoringRule,
)
from reviews.selectors.appraisals import appraisal_dimension_scores
from teams.models import Store

RATE = "0.00%"
WEIGHT = "0%"
SCORE = "0.00"
_CENT = Decimal("0.01")


def _grade_letters(sheets: list[_Sheet]) -> list[str]:
    """The grades of the cycles' templates, each template's order, the first template's first."""
    letters: list[str] = []
    for sheet in sheets:
        letters += [g for g in sheet.cycle.template.grade_letters if g not in letters]
    return letters


def _number_format(kpi: Kpi) -> str:
    if kpi.unit == Unit.MONEY:
        return MONEY
    if kpi.unit == Unit.RATE:
        return RATE
    return "0." + "0" * kpi.decimals if kpi.decimals else "0"


def _kpi_value(kpi: Kpi, value) -> Decimal | None:
    if value is None:
        return None
    value = Decimal(str(value))
    return value.quantize(_CENT) if kpi.unit == Unit.MONEY else value


@dataclass
class _Sheet:
    cycle: Cycle
    title: str
    items: list[Item]
    dimensions: list[Dimension]
    appraisals: list[Appraisal]


def _cycles(month: dt.date, store: Store | None) -> list[Cycle]:
    cycles = Cycle.objects.filter(month=month.replace(day=1)).select_related("store", "team", "template")
    if store is not None:
        cycles = cycles.filter(store=store)
    return list(cycles.order_by("store__name", "store_id", "team__name", "team_id"))


def _sheets(cycles: list[Cycle], used: set[str]) -> list[_Sheet]:
    names = Counter(c.team.name for c in cycles if c.team_id)
    sheets = []
    for cycle in cycles:
        if cycle.team_id is None:
            base = cycle.store.name
        elif names[cycle.team.name] > 1:  # the same team name in two stores
            base = f"{cycle.team.name} · {cycle.store.name}"
        else:
            base = cycle.team.name
        items = list(Item.objects.filter(dimension__template_id=cycle.template_id).select_related("dimension")
                     .order_by("dimension__order", "dimension_id", "order", "pk"))  # fmt: skip
        dimensions = list(Dimension.objects.filter(template_id=cycle.template_id).order_by("order", "pk"))
        appraisals = list(cycle.appraisals.select_related("member").prefetch_related("item_scores", "decisions")
                          .order_by("member__display_name", "member_id"))  # fmt: skip
        sheets.append(_Sheet(cycle, _sheet_title(base, used), items, dimensions, appraisals))
    return sheets


def _kpi_items(items: list[Item]) -> list[tuple[Item, Kpi]]:
    return [(i, KPI_BY_KEY[i.kpi_key]) for i in items if i.kind == ItemKind.KPI and i.kpi_key in KPI_BY_KEY]


def _team_header(sheet: _Sheet) -> list[str]:
    header = [_("Employee number"), _("Name"), _("Store"), _("Team")]
    for item, kpi in _kpi_items(sheet.items):
        header.append(kpi.label)
        if item.rule == ScoringRule.LINEAR:
            header.append(f"{kpi.label} · {_('Target')}")
    header += [f"{item.name} · {_('Score')}" for item in sheet.items]
    header += [f"{d.name} · {_('Score')}" for d in sheet.dimensions]
    return [*header, _("KPI items without data"), _("Total"), _("Grade"), capfirst(_("manager's comment"))]


def _kpi_value_cell(ws, kpi: Kpi, score: ItemScore | None):
    """The value scored, or why there is none: insufficient data, or excluded by HR."""
    if score is not None and score.status == ItemStatus.INSUFFICIENT:
        return _cell(ws, _("Insufficient data"))
    if score is not None and score.status == ItemStatus.EXCLUDED:
        return _cell(ws, _("Excluded by HR"))
    return _cell(ws, _kpi_value(kpi, score and score.value), _number_format(kpi))


def _without_data(sheet: _Sheet, appraisal: Appraisal, scores: dict[int, ItemScore]) -> str:
    """The KPI items the month has no data for, each with what happened: "GMV against target:
    insufficient data; AOV rank in the team: excluded by HR (reason)"."""
    decisions = {d.item_id: d for d in appraisal.decisions.all()}
    parts = []
    for item in sheet.items:
        score = scores.get(item.pk)
        if score is None or score.status == ItemStatus.SCORED:
            continue
        if score.status == ItemStatus.INSUFFICIENT:
            # A cycle finalised before such items needed a decision keeps its frozen scores.
            text = (
                _("%(item)s: insufficient data")
                if sheet.cycle.locked
                else _("%(item)s: insufficient data, awaiting HR's decision")
            )
            parts.append(text % {"item": item.name})
            continue
        decision = decisions.get(item.pk)
        reason = decision.reason if decision else ""
        if score.status == ItemStatus.EXCLUDED:
            parts.append(_("%(item)s: excluded by HR (%(reason)s)") % {"item": item.name, "reason": reason})
        else:
            parts.append(_("%(item)s: value entered by HR (%(reason)s)") % {"item": item.name, "reason": reason})
    return "; ".join(parts)


def _team_row(ws, sheet: _Sheet, appraisal: Appraisal) -> list:
    cycle, member = sheet.cycle, appraisal.member
    scores = {s.item_id: s for s in appraisal.item_scores.all()}
    row = [
        _cell(ws, member.employee_number or ""),
        _cell(ws, member.display_name),
        _cell(ws, cycle.store.name),
        _cell(ws, cycle.team.name if cycle.team_id else ""),
    ]
    for item, kpi in _kpi_items(sheet.items):
        score = scores.get(item.pk)
        row.append(_kpi_value_cell(ws, kpi, score))
        if item.rule == ScoringRule.LINEAR:
            row.append(_cell(ws, _kpi_value(kpi, score and score.target), _number_format(kpi)))
    row += [_cell(ws, scores[i.pk].score if i.pk in scores else None, SCORE) for i in sheet.items]
    dimensions = appraisal_dimension_scores(items=sheet.items, item_scores=scores)
    row += [_cell(ws, dimensions.get(d.pk), SCORE) for d in sheet.dimensions]
    return [
        *row,
        _cell(ws, _without_data(sheet, appraisal, scores)),
        _cell(ws, appraisal.total, SCORE),
        _cell(ws, appraisal.grade),
        _cell(ws, appraisal.manager_comment),
    ]


def _summary_rows(ws, sheets: list[_Sheet]) -> list[list]:
    grades_shown = _grade_letters(sheets)
    rows = [[_cell(ws, h) for h in [_("Month"), _("Store"), _("Team"), capfirst(_("state")), _("Members"),
                                     _("Average total"), *grades_shown, _("Not graded"),
                                     _("Awaiting HR's decision on missing data")]]]  # fmt: skip
    for sheet in sheets:
        cycle = sheet.cycle
        totals = [a.total for a in sheet.appraisals if a.total is not None]
        average = scoring.rounded(sum(totals) / len(totals)) if totals else None
        grades = Counter(a.grade for a in sheet.appraisals)
        waiting = (
            0
            if cycle.locked
            else sum(any(s.status == ItemStatus.INSUFFICIENT for s in a.item_scores.all()) for a in sheet.appraisals)
        )
        rows.append([
            _cell(ws, f"{cycle.month:%Y-%m}"), _cell(ws, cycle.store.name),
            _cell(ws, cycle.team.name if cycle.team_id else ""), _cell(ws, str(cycle.get_state_display())),
            len(sheet.appraisals), _cell(ws, average, SCORE), *(grades.get(g, 0) for g in grades_shown),
            grades.get("", 0), waiting,
        ])  # fmt: skip
    return rows


def _thresholds_text(item: Item, kpi: Kpi) -> str:
    sign = "≤" if kpi.direction == Direction.LOWER else "≥"
    parts = []
    for limit, score in item.thresholds or []:
        limit = Decimal(str(limit))
        shown = f"{limit * 100:g}%" if kpi.unit == Unit.RATE else f"{limit:g}"
        parts.append(f"{sign} {shown} → {score}")
    return "; ".join(parts)


def _rater_weights(item: Item) -> str:
    weights = ((RaterRole.MANAGER, item.manager_weight), (RaterRole.SELF, item.self_weight),
               (RaterRole.PEER, item.peer_weight))  # fmt: skip
    return ", ".join(f"{role.label} {weight * 100:.0f}%" for role, weight in weights if weight > 0)


def _definition_rows(ws, sheets: list[_Sheet]) -> list[list]:
    header = [_("Template"), _("Dimension"), _("Dimension weight"), _("Item"), _("Item weight"), capfirst(_("kind")),
              _("KPI key"), _("KPI"), _("Definition"), capfirst(_("scoring rule")), capfirst(_("floor")),
              _("Target"), capfirst(_("thresholds")), _("Rater weights")]  # fmt: skip
    rows = [[_cell(ws, h) for h in header]]
    seen = set()
    for sheet in sheets:
        template = sheet.cycle.template
        if template.pk in seen:
            continue
        seen.add(template.pk)
        for item in sheet.items:
            kpi = KPI_BY_KEY.get(item.kpi_key) if item.kind == ItemKind.KPI else None
            fmt = _number_format(kpi) if kpi else None
            target = None
            if kpi and item.rule == ScoringRule.LINEAR:
                target = item.target if item.target is not None else _("The member's target of the month")
            rows.append([
                _cell(ws, template.name), _cell(ws, item.dimension.name), _cell(ws, item.dimension.weight, WEIGHT),
                _cell(ws, item.name), _cell(ws, item.weight, WEIGHT), _cell(ws, str(item.get_kind_display())),
                _cell(ws, item.kpi_key), _cell(ws, kpi.label if kpi else ""),
                _cell(ws, kpi.definition if kpi else item.rubric),
                _cell(ws, str(item.get_rule_display()) if item.rule else ""),
                _cell(ws, item.floor if kpi and item.rule == ScoringRule.LINEAR else None, fmt),
                _cell(ws, target, fmt),
                _cell(ws, _thresholds_text(item, kpi) if kpi and item.rule == ScoringRule.THRESHOLDS else ""),
                _cell(ws, _rater_weights(item) if item.kind == ItemKind.RATING else ""),
            ])  # fmt: skip
    rows.append([])
    rows.append([_cell(ws, h) for h in (_("Template"), _("Grade"), _("Total from"), _("Total below"),
                                        _("Calibration guide"))])  # fmt: skip
    templates = {sheet.cycle.template_id: sheet.cycle.template for sheet in sheets}
    for template in templates.values():  # each template's own bands
        upper = None
        for band in template.bands:
            rows.append([_cell(ws, template.name), _cell(ws, band.grade), _cell(ws, band.lower, SCORE),
                         _cell(ws, upper, SCORE), _cell(ws, band.guide, WEIGHT)])  # fmt: skip
            upper = band.lower
    return rows


def appraisals_export(*, month: dt.date, store: Store | None = None, lang: str = "zh-hans") -> bytes:
    """The month's appraisals of every team (or of one store's teams) as an xlsx workbook."""
    from openpyxl import Workbook

    with translation.override(lang):
        summary_title, definitions_title = _("Summary")[:31], _("Definitions")[:31]
        used = {summary_title.lower(), definitions_title.lower()}
        sheets = _sheets(_cycles(month, store), used)
        workbook = Workbook(write_only=True)
        summary = workbook.create_sheet(_sheet_title(summary_title, set()))
        _widths(summary, [10, 20, 20, 14, 8, 12])
        summary.freeze_panes = "A2"
        for row in _summary_rows(summary, sheets):
            summary.append(row)
        for sheet in sheets:
            ws = workbook.create_sheet(sheet.title)
            _widths(ws, [12, 16, 18, 16])
            ws.freeze_panes = "C2"
            ws.append([_cell(ws, h) for h in _team_header(sheet)])
            for appraisal in sheet.appraisals:
                ws.append(_team_row(ws, sheet, appraisal))
        definitions = workbook.create_sheet(_sheet_title(definitions_title, set()))
        _widths(definitions, [24, 14, 10, 20, 10, 16, 24, 18, 48, 24, 10, 14, 28, 20])
        for row in _definition_rows(definitions, sheets):
            definitions.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
    return buffer.getvalue()
