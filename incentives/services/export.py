"""HR's payout workbook of a month (xlsx): a summary sheet (one row per statement: the member, their
store and team, the statement's state, the amounts by kind, the total and the proposed adjustment),
a lines sheet (every statement line with its explanation and the orders or deals behind it, then
its manual lines with their reasons and who added them) and a definitions sheet (line kinds,
states, and the rules of each plan in use).

Built like the appraisal export (reviews/services/export.py), with its cell writers: headers in the
chosen language; no cell can become a formula (every text is written as text, and one that starts
like a formula also gets Excel's quote prefix); money is a number with two decimals. Statements
are exported as stored: an approved or locked statement shows its own lines, a recomputation
that differs only shows as the proposed adjustment."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from incentives import calc
from incentives.models import LineKind, ManualLineKind, Plan, Statement, StatementState
from incentives.selectors.plans import allowance_text, plan_label
from metrics.formatting import kpi_label_text, rate_display
from metrics.registry import KPI_BY_KEY
from perfmgmt.common.exports import (
    MONEY,
)
from perfmgmt.common.exports import xlsx_column_widths as _widths
from perfmgmt.common.exports import xlsx_sheet_title as _sheet_title
from perfmgmt.common.exports import xlsx_value_cell as _cell
from perfmgmt.common.numbers import decimal_plain
from perfmgmt.common.periods import month_last
from teams.models import Store, Team, TeamMembership

# The summary's amount columns: the kinds of line summed into each, in the statement's order.
SUMMARY_KINDS = (
    LineKind.BASE,
    LineKind.PERFORMANCE,
    LineKind.CALLS,
    LineKind.COMMISSION,
    LineKind.MODIFIER,
    LineKind.PK,
    LineKind.MILESTONE,
    LineKind.RANKING,
    LineKind.ALLOWANCE,
    LineKind.CLAWBACK,
)
# Then one column per kind of manual line (awards, allowances, deductions, corrections).
MANUAL_KINDS = tuple(ManualLineKind)
ORDER_SEPARATOR = ";"
DEAL_SEPARATOR = "; "  # between deals; within a deal: lead id, customer, amount separated by spaces


def _kind_meanings() -> dict[str, str]:
    return {
        LineKind.BASE: _("The plan's monthly base salary."),
        LineKind.PERFORMANCE: _(
            "The plan's performance pay scaled by the month's appraisal: by the grade's coefficient, or by "
            "the score / 100."
        ),
        LineKind.COMMISSION: _(
            "A rate (flat, or by tiers of GMV target completion) on the GMV credited to the member, paid "
            "orders net of refunds; a negative line is the cap."
        )
        + " "
        + _(
            "A plan paying on deals: the rate (tiers by amount-won target completion) on the amount of the deals "
            "the member's accounts won in the month, listed in the Deals column; deals have no refunds, so no "
            "clawback."
        ),
        LineKind.CALLS: _(
            "Telesales call assessment: the plan's monthly amount × the part's weight × the completion of its "
            "monthly target (connected outbound calls, or talk time in minutes), at most 100%, 0 below the floor."
        ),
        LineKind.MODIFIER: _("The commission multiplied when a KPI of the month compares true: the difference."),
        LineKind.PK: _("Extra commission on a week's GMV when the member's team was the store's champion that week."),
        LineKind.MILESTONE: _("A bonus when a KPI of the month reaches the plan's threshold."),
        LineKind.RANKING: _("An award for a top place in the team by a KPI of the month."),
        LineKind.CLAWBACK: _(
            "Commission taken back on an order refunded after a locked statement paid commission on it."
        ),
        LineKind.ALLOWANCE: _("A recurring allowance of the plan (e.g. travel), paid every month it applies to."),
    }


def _manual_kind_meanings() -> dict[str, str]:
    manual = _("Added by hand by the store's manager or HR, with its reason; approved with the statement; "
               "a recomputation never changes it.")  # fmt: skip
    return {
        ManualLineKind.AWARD: _("A discretionary award, e.g. 最佳话术奖.") + " " + manual,
        ManualLineKind.ALLOWANCE: _("A one-off allowance, e.g. 差旅补贴.") + " " + manual,
        ManualLineKind.DEDUCTION: _("Money taken off (a negative amount).") + " " + manual,
        ManualLineKind.CORRECTION: _("A correction of the statement, up or down.") + " " + manual,
    }


def _state_text(statement: Statement) -> str:
    """The statement's state; an approved one whose manual lines changed since says so."""
    if statement.awaits_reapproval:
        return _("%(state)s, changes await the manager's approval") % {"state": statement.get_state_display()}
    return str(statement.get_state_display())


def _state_meanings() -> dict[str, str]:
    return {
        StatementState.DRAFT: _("Follows the data: recomputed whenever the figures change."),
        StatementState.APPROVED: _(
            "Approved by the store's manager: the lines stay; a recomputation that differs is the proposed adjustment."
        ),
        StatementState.LOCKED: _("Locked by HR for payroll: final; later refunds are clawed back next month."),
    }


def _statements(month: dt.date, store: Store | None) -> list[Statement]:
    statements = Statement.objects.filter(month=month).select_related("member", "store", "plan")
    if store is not None:
        statements = statements.filter(store=store)
    return list(statements.prefetch_related("lines", "manual_lines__created_by"))


def _teams(statements: list[Statement], month: dt.date) -> dict[tuple[int, int], Team]:
    """Each (member, store)'s team on the month's last day (the team its statement's plan and
    ranking follow)."""
    end = month_last(month)
    memberships = (
        TeamMembership.objects.filter(
            member_id__in={s.member_id for s in statements},
            team__store_id__in={s.store_id for s in statements},
            start_date__lte=end,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=end))
        .select_related("team")
        .order_by("member_id", "start_date", "pk")
    )
    teams: dict[tuple[int, int], Team] = {}
    for membership in memberships:
        teams.setdefault((membership.member_id, membership.team.store_id), membership.team)
    return teams


def _ordered(statements: list[Statement], teams: dict) -> list[Statement]:
    def key(statement: Statement):
        team = teams.get((statement.member_id, statement.store_id))
        return (statement.store.name, statement.store_id, team.name if team else "", team.pk if team else 0,
                statement.member.display_name, statement.member_id)  # fmt: skip

    return sorted(statements, key=key)


def _who(ws, statement: Statement, team: Team | None) -> list:
    texts = (statement.member.employee_number or "", statement.member.display_name, statement.store.name,
             team.name if team else "")  # fmt: skip
    return [_cell(ws, text) for text in texts]


def _summary_rows(ws, statements: list[Statement], teams: dict) -> list[list]:
    header = [_("Employee number"), _("Name"), _("Store"), _("Team"), capfirst(_("state")), _("Plan"),
              *(str(kind.label) for kind in SUMMARY_KINDS), *(str(kind.label) for kind in MANUAL_KINDS),
              _("Total pay"), _("Proposed adjustment")]  # fmt: skip
    rows = [[_cell(ws, h) for h in header]]
    for statement in statements:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        present = set()
        for line in [*statement.lines.all(), *statement.manual_lines.all()]:
            sums[line.kind] += line.amount
            present.add(line.kind)
        rows.append([
            *_who(ws, statement, teams.get((statement.member_id, statement.store_id))),
            _cell(ws, _state_text(statement)),
            _cell(ws, plan_label(plan=statement.plan) if statement.plan else ""),
            *(_cell(ws, sums[kind] if kind in present else None, MONEY) for kind in (*SUMMARY_KINDS, *MANUAL_KINDS)),
            _cell(ws, statement.total, MONEY),
            _cell(ws, statement.adjustment, MONEY),
        ])  # fmt: skip
    return rows


def _line_rows(ws, statements: list[Statement], teams: dict) -> list[list]:
    header = [_("Employee number"), _("Name"), _("Store"), _("Team"), capfirst(_("state")), _("No."),
              capfirst(_("kind")), _("Amount"), _("Explanation"), _("KPI"), _("KPI value"), _("Order ids"),
              _("Deals"), _("Reason"), _("Added by")]  # fmt: skip
    rows = [[_cell(ws, h) for h in header]]
    for statement in statements:
        team = teams.get((statement.member_id, statement.store_id))
        state = _state_text(statement)
        computed = list(statement.lines.all())
        for number, line in enumerate(computed, start=1):
            rows.append([
                *_who(ws, statement, team), _cell(ws, state), number,
                _cell(ws, str(line.get_kind_display())), _cell(ws, line.amount, MONEY),
                _cell(ws, line.explanation_text),
                _cell(ws, kpi_label_text(line.kpi_key) if line.kpi_key else ""), _cell(ws, line.kpi_value_text),
                _cell(ws, ORDER_SEPARATOR.join(str(ref) for ref in line.order_ids or [])),
                _cell(ws, _deals_text(line.deals)), _cell(ws, ""), _cell(ws, ""),
            ])  # fmt: skip
        # The manual lines after the computed ones: the title as written in Explanation, and why
        # and by whom (all text people typed: written as text, never a formula).
        for number, line in enumerate(statement.manual_lines.all(), start=len(computed) + 1):
            rows.append([
                *_who(ws, statement, team), _cell(ws, state), number,
                _cell(ws, str(line.get_kind_display())), _cell(ws, line.amount, MONEY), _cell(ws, line.title),
                _cell(ws, ""), _cell(ws, ""), _cell(ws, ""), _cell(ws, ""), _cell(ws, line.reason),
                _cell(ws, _added_by(line)),
            ])  # fmt: skip
    return rows


def _added_by(line) -> str:
    """Who added a manual line and when (the site's local time): "hr 2026-09-02 10:15"."""
    return f"{line.created_by_name} {timezone.localtime(line.created_at):%Y-%m-%d %H:%M}"


def _deals_text(deals: list[dict] | None) -> str:
    """The deals behind a line: "L001 客户甲 30000.00; L002 客户乙 12000.00" (amounts in yuan)."""
    return DEAL_SEPARATOR.join(f"{d.get('lead_id', '')} {d.get('customer', '')} {d.get('amount', '')}"
                               for d in deals or [])  # fmt: skip


def _comparison(kpi_key: str, comparison: str, threshold: Decimal) -> str:
    kpi = KPI_BY_KEY.get(kpi_key)
    sign = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}.get(comparison, comparison)
    shown = rate_display(threshold) if kpi is not None and kpi.is_rate else decimal_plain(threshold)
    return f"{kpi_label_text(kpi_key)} {sign} {shown}"


def _plan_texts(plan: Plan) -> list[str]:
    """The plan's rules, one short text per column of the definitions' plan table."""
    if plan.performance_by_score:
        scaling = _("× score / 100")
    else:
        scaling = ", ".join(
            f"{grade} ×{value}" for grade, value in calc.grade_coefficients_ordered(plan.grade_coefficients)
        )
    tiers = "; ".join(f"≥ {rate_display(t.from_completion)} → {rate_display(t.rate)}" for t in plan.tiers.all())
    if plan.commission_mode == "flat":
        commission = f"{plan.get_commission_mode_display()}: {rate_display(plan.flat_rate)}"
    elif plan.commission_mode == "tiered":
        commission = f"{plan.get_tier_mode_display()}: {tiers}"
    else:
        commission = str(plan.get_commission_mode_display())
    if plan.commission_cap is not None:
        commission += f" ({capfirst(_('commission cap (yuan)'))} {plan.commission_cap})"
    modifiers = "; ".join(f"{_comparison(m.kpi_key, m.comparison, m.threshold)} → ×{decimal_plain(m.multiplier)}"
                          for m in plan.modifiers.all())  # fmt: skip
    milestones = "; ".join(f"{_comparison(m.kpi_key, m.comparison, m.threshold)} → {m.amount}"
                           for m in plan.milestones.all())  # fmt: skip
    ranking = "; ".join(f"{kpi_label_text(r.kpi_key)}: {', '.join(str(a) for a in r.amounts)}"
                        for r in plan.ranking_awards.all())  # fmt: skip
    allowances = "; ".join(allowance_text(allowance=a) for a in plan.allowances.all())
    pk = f"{kpi_label_text(plan.pk_kpi_key)} +{rate_display(plan.pk_bonus_rate)}" if plan.pk_kpi_key else ""
    calls = ""
    if plan.call_pay:
        parts = []
        if plan.call_connected_weight and plan.call_connected_target:
            parts.append(f"{kpi_label_text('connected_dials')} {plan.call_connected_target} × "
                         f"{rate_display(plan.call_connected_weight)}")  # fmt: skip
        if plan.call_talk_weight and plan.call_talk_target_minutes:
            parts.append(_("talk time %(minutes)s min × %(weight)s") % {
                "minutes": plan.call_talk_target_minutes, "weight": rate_display(plan.call_talk_weight),
            })  # fmt: skip
        calls = f"{plan.call_pay}: " + "; ".join(parts)
        if plan.call_floor:
            calls += " (" + _("floor %(floor)s") % {"floor": rate_display(plan.call_floor)} + ")"
    return [scaling, commission, modifiers, pk, milestones, ranking, str(plan.get_kind_display()), calls,
            str(plan.get_commission_base_display()), allowances]  # fmt: skip


def _definition_rows(ws, statements: list[Statement]) -> list[list]:
    rows = [[_cell(ws, h) for h in (capfirst(_("kind")), _("Key"), _("Definition"))]]
    meanings = _kind_meanings()
    for kind in LineKind:
        rows.append([_cell(ws, str(kind.label)), _cell(ws, kind.value), _cell(ws, meanings[kind])])
    for kind, meaning in _manual_kind_meanings().items():
        rows.append([_cell(ws, str(kind.label)), _cell(ws, kind.value), _cell(ws, meaning)])
    rows.append([])
    rows.append([_cell(ws, h) for h in (capfirst(_("state")), _("Key"), _("Definition"))])
    meanings = _state_meanings()
    for state in StatementState:
        rows.append([_cell(ws, str(state.label)), _cell(ws, state.value), _cell(ws, meanings[state])])
    plans = {s.plan_id: s.plan for s in statements if s.plan_id}
    if plans:
        rows.append([])
        rows.append([_cell(ws, h) for h in (
            _("Plan"), _("Store"), str(LineKind.BASE.label), str(LineKind.PERFORMANCE.label), _("Performance scaling"),
            str(LineKind.COMMISSION.label), str(LineKind.MODIFIER.label), str(LineKind.PK.label),
            str(LineKind.MILESTONE.label), str(LineKind.RANKING.label), capfirst(_("kind")),
            str(LineKind.CALLS.label), capfirst(_("commission base")), str(LineKind.ALLOWANCE.label),
        )])  # fmt: skip
        for plan in sorted(plans.values(), key=lambda p: (p.name, p.pk)):
            texts = _plan_texts(plan)
            rows.append([
                _cell(ws, plan_label(plan=plan)), _cell(ws, plan.store.name if plan.store_id else ""),
                _cell(ws, plan.base_salary, MONEY), _cell(ws, plan.performance_pay, MONEY),
                *(_cell(ws, text) for text in texts),
            ])  # fmt: skip
    return rows


def payouts_export(*, month: dt.date, store: Store | None = None, lang: str = "zh-hans") -> bytes:
    """The month's payout statements of every store (or of one) as an xlsx workbook."""
    from openpyxl import Workbook

    month = month.replace(day=1)
    with translation.override(lang):
        statements = _statements(month, store)
        teams = _teams(statements, month)
        statements = _ordered(statements, teams)
        workbook = Workbook(write_only=True)
        used: set[str] = set()
        summary = workbook.create_sheet(_sheet_title(_("Summary"), used))
        _widths(summary, [12, 16, 20, 14, 16, 18, *([12] * (len(SUMMARY_KINDS) + len(MANUAL_KINDS))), 12, 14])
        summary.freeze_panes = "C2"
        for row in _summary_rows(summary, statements, teams):
            summary.append(row)
        lines = workbook.create_sheet(_sheet_title(_("Lines"), used))
        _widths(lines, [12, 16, 20, 14, 16, 6, 14, 12, 72, 18, 14, 40, 48, 48, 24])
        lines.freeze_panes = "C2"
        for row in _line_rows(lines, statements, teams):
            lines.append(row)
        definitions = workbook.create_sheet(_sheet_title(_("Definitions"), used))
        _widths(definitions, [20, 14, 72, 12, 12, 28, 36, 32, 20, 32, 14, 40, 24, 32])
        for row in _definition_rows(definitions, statements):
            definitions.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
    return buffer.getvalue()
