"""A payout statement's lines, computed from the data (nothing is written here).

A member's statement for a month of a store: base salary; performance pay by the month's
appraisal; the call assessment of telesales plans (connected outbound calls and talk time against
monthly targets); commission on the GMV credited to them (paid orders, net of refunds) or on the
deals they won (the plan's commission base), by flat rate or tiers of target completion, capped;
KPI multipliers; the team PK bonus of the weeks their team won; milestone bonuses; ranking
awards; clawbacks of refunds on orders an earlier locked statement paid commission on (deals
have no refunds in the leads export: nothing is clawed back on them).

Every KPI a line reads is the KPI engine's value for the member, team or store and the month
(metrics.kpis.values, kpi_table); the deals won are the ones the won_deals and won_amount KPIs
count (metrics.kpis.deals). Storing, approving and locking statements:
incentives/services/statements.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from incentives import calc
from incentives.lines import allowance_lines, call_assessment_lines, performance_pending
from incentives.models import (
    CommissionBase,
    CommissionedOrder,
    CommissionMode,
    LineKind,
    Plan,
    PlanAssignment,
    StatementState,
    TierMode,
)
from incentives.selectors.estimate import gmv_target
from incentives.selectors.plans import PlanParts, plan_parts_read
from metrics.kpis.deals import DealWon, deals_won_list
from metrics.kpis.ranking import ranked_count, ranks
from metrics.kpis.selectors import kpi_table
from metrics.kpis.values import member_kpis_get
from metrics.messages import (
    MessageData,
    Param,
    choice,
    joined,
    kpi_label,
    kpi_value,
    literal,
    message,
    message_render,
    money,
    month_text,
    nested,
    percent,
)
from metrics.models import Order
from metrics.registry import KPI_BY_KEY, Level
from perfmgmt.common.numbers import decimal_plain
from perfmgmt.common.periods import month_last
from reviews.selectors.appraisals import appraisal_for_pay, appraisal_pending_count
from teams.models import Member, Store, Team
from teams.selectors.history import member_team_on


def plan_for(*, member: Member, store: Store, month: dt.date) -> Plan | None:
    """The member's own plan covering the month's last day, else their team's."""
    end = month_last(month)
    active = Q(start_date__lte=end) & (Q(end_date__isnull=True) | Q(end_date__gte=month))
    own = PlanAssignment.objects.filter(active, member=member).order_by("-start_date").first()
    if own:
        return own.plan
    team = team_of(member=member, store=store, day=end)
    if team:
        shared = PlanAssignment.objects.filter(active, team=team).order_by("-start_date").first()
        return shared.plan if shared else None
    return None


def team_of(*, member: Member, store: Store, day: dt.date) -> Team | None:
    """The member's team in the store on the day (the one rule of teams.selectors.history), whose
    plan pays them when they have none of their own."""
    return member_team_on(member_id=member.pk, day=day, store_id=store.pk)


@dataclass
class Line:
    """A statement line as computed. `explanation` and `kpi_value` are messages (metrics/messages.py),
    rendered in the reader's language; a plain string is kept as it is (a literal)."""

    kind: str
    amount: Decimal
    explanation: MessageData | str
    kpi_key: str = ""
    kpi_value: MessageData | str | None = None
    order_ids: list[str] = field(default_factory=list)
    deals: list[dict] = field(default_factory=list)  # {"lead_id", "customer", "amount"}: the deals behind it

    @property
    def explanation_message(self) -> MessageData:
        return literal(self.explanation) if isinstance(self.explanation, str) else self.explanation

    @property
    def kpi_value_message(self) -> MessageData:
        if not self.kpi_value:
            return {}
        return literal(self.kpi_value) if isinstance(self.kpi_value, str) else self.kpi_value

    @property
    def explanation_text(self) -> str:
        """In the active language."""
        return message_render(message=self.explanation_message)

    @property
    def kpi_value_text(self) -> str:
        return message_render(message=self.kpi_value_message)


@dataclass
class Computed:
    plan: Plan | None
    lines: list[Line]
    commissioned: list[tuple[Order, Decimal]]  # orders commission is paid on, and the effective rate

    @property
    def total(self) -> Decimal:
        return calc.money(sum((line.amount for line in self.lines), Decimal(0)))


def _value(key: str, value) -> MessageData:
    """A line's KPI value, formatted in the KPI's unit when it is shown."""
    return message("incentives.value", value=kpi_value(key, value))


def _threshold(key: str, threshold: Decimal) -> Param:
    """A rule's threshold: a rate as a percentage ("≥ 40%"), anything else in the KPI's unit."""
    kpi = KPI_BY_KEY.get(key)
    if kpi is not None and kpi.is_rate:
        return percent(threshold, places=2)
    return kpi_value(key, threshold)


def _plain(value: Decimal) -> str:
    """A coefficient, multiplier or score as written: 1.2, 0.5, 78.5."""
    return decimal_plain(value)


def _orders(member: Member, store: Store, start: dt.date, end: dt.date) -> list[Order]:
    return list(
        Order.objects.filter(
            store=store, credited_member_id=member.pk, paid_at__isnull=False, credited_date__range=(start, end)
        ).order_by("created_at")
    )


def _deal_rows(deals: list[DealWon]) -> list[dict]:
    return [
        {"lead_id": d.lead.lead_id, "customer": d.lead.customer, "amount": str(calc.money(d.amount))} for d in deals
    ]


class MonthFigures:
    """What is the same for every member of a store's month (each week's PK champions, each
    team's member table): read once per pass over the store, not once per member."""

    def __init__(self, *, store: Store, month: dt.date):
        self.store, self.month = store, month
        self._champions: dict[str, dict[dt.date, set[int]]] = {}
        self._teams: dict[int, list[dict]] = {}

    def champion_weeks(self, kpi_key: str) -> dict[dt.date, set[int]]:
        """For each ISO week of the month (its Monday), the store's team(s) best by the KPI over
        the week's days within the month. Ties share the title; a team with zero or no value is
        no champion, so a week in which every team has zero has none (see ranks)."""
        if kpi_key not in self._champions:
            kpi = KPI_BY_KEY[kpi_key]
            table = kpi_table(level=Level.TEAM, grain="week", start=self.month, end=month_last(self.month),
                              store_ids=[self.store.pk])  # fmt: skip
            winners: dict[dt.date, set[int]] = {}
            for week, rows in table.groupby("period_start"):
                values = {int(r["entity_id"]): r[kpi_key] for r in rows.to_dict("records")}
                winners[week] = {team for team, rank in ranks(values, kpi).items() if rank == 1}
            self._champions[kpi_key] = winners
        return self._champions[kpi_key]

    def team_members(self, team_id: int) -> list[dict]:
        """The month's KPI rows of the team's members (while in the team)."""
        if team_id not in self._teams:
            table = kpi_table(level=Level.MEMBER, grain="range", start=self.month, end=month_last(self.month),
                              store_ids=[self.store.pk], team_ids=[team_id])  # fmt: skip
            self._teams[team_id] = table.to_dict("records")
        return self._teams[team_id]


def statement_compute(
    *, member: Member, store: Store, month: dt.date, figures: MonthFigures | None = None, plan: PlanParts | None = None
) -> Computed:
    """The statement's lines from the data (nothing is written). Explanations are messages
    (metrics/messages.py): each reader sees them in their own language. `figures`: the
    store-month's shared figures when several members are computed in one pass. `plan`: compute
    under this plan and its parts (saved or only in memory: the editor's draft, simulated)
    instead of the member's plan of the month (plan_for)."""
    month = month.replace(day=1)
    figures = figures or MonthFigures(store=store, month=month)
    if plan is None:
        assigned = plan_for(member=member, store=store, month=month)
        plan = None if assigned is None else plan_parts_read(plan=assigned)
    if plan is None:
        return Computed(None, [], [])
    return _compute(member, store, month, figures, plan)


def _compute(member: Member, store: Store, month: dt.date, figures: MonthFigures, parts: PlanParts) -> Computed:
    end = month_last(month)
    plan = parts.plan
    lines: list[Line] = []
    if plan.base_salary:
        lines.append(
            Line(LineKind.BASE, calc.money(plan.base_salary), message("incentives.base_salary", plan=plan.name))
        )
    if plan.performance_pay:
        appraisal = appraisal_for_pay(member=member, month=month)
        if pending := appraisal_pending_count(appraisal=appraisal):
            # No grade while KPI items lack data and HR has not decided: no grade pay either.
            lines.append(Line(LineKind.PERFORMANCE, Decimal("0.00"), performance_pending(month=month, count=pending)))
        elif appraisal is None or appraisal.total is None:
            lines.append(
                Line(LineKind.PERFORMANCE, Decimal("0.00"), message("incentives.no_appraisal", month=month_text(month)))
            )
        elif plan.performance_by_score:
            amount = calc.money(plan.performance_pay * appraisal.total / 100)
            lines.append(
                Line(
                    LineKind.PERFORMANCE,
                    amount,
                    message("incentives.performance_by_score", pay=money(plan.performance_pay),
                            score=_plain(appraisal.total), amount=money(amount)),
                )
            )  # fmt: skip
        else:
            coefficient = Decimal(str((plan.grade_coefficients or {}).get(appraisal.grade, 0)))
            amount = calc.money(plan.performance_pay * coefficient)
            lines.append(
                Line(
                    LineKind.PERFORMANCE,
                    amount,
                    message("incentives.performance_by_grade", pay=money(plan.performance_pay),
                            coefficient=_plain(coefficient), grade=appraisal.grade, amount=money(amount)),
                )
            )  # fmt: skip
    kpis = member_kpis_get(member_id=member.pk, store_id=store.pk, start=month, end=end)
    lines += [
        Line(LineKind.CALLS, part.amount, part.explanation, part.kpi_key, part.kpi_value)
        for part in call_assessment_lines(
            plan=plan,
            connected=calc.decimal_or_none(kpis.get("connected_dials")),
            talk_seconds=calc.decimal_or_none(kpis.get("talk_time")),
        )
    ]
    commissioned: list[tuple[Order, Decimal]] = []
    commission = Decimal(0)
    if plan.commission_mode != CommissionMode.NONE:
        on_deals = plan.commission_base == CommissionBase.WON
        orders: list[Order] = []
        deals: list[DealWon] = []
        if on_deals:
            # Deals have no refunds in the leads export: nothing is netted and nothing clawed back.
            deals = deals_won_list(store_id=store.pk, member_id=member.pk, start=month, end=end)
            base = sum((d.amount for d in deals), Decimal(0))
            items = [(d.date, d.amount, d) for d in deals]
            kpi_key, refs, deal_rows = "won_amount", [], _deal_rows(deals)
        else:
            orders = _orders(member, store, month, end)
            base = sum((Decimal(o.paid_cents - o.refund_cents) for o in orders), Decimal(0)) / 100
            items = [(o.credited_date, Decimal(o.paid_cents - o.refund_cents) / 100, o) for o in orders]
            kpi_key, refs, deal_rows = "gmv", [o.order_id for o in orders], []
        numbers = {"base": money(calc.money(base)), "count": len(deals) if on_deals else len(orders)}
        if plan.commission_mode == CommissionMode.FLAT:
            commission = base * plan.flat_rate
            key = "incentives.flat_on_deals" if on_deals else "incentives.flat_on_gmv"
            lines.append(
                Line(
                    LineKind.COMMISSION,
                    calc.money(commission),
                    message(key, **numbers, rate=percent(plan.flat_rate, places=2)),
                    kpi_key,
                    _value(kpi_key, kpis.get(kpi_key)),
                    refs,
                    deal_rows,
                )
            )
        else:
            target = gmv_target(member=member, month=month, kpi_key=kpi_key)
            reached = Decimal(kpis.get(kpi_key) or 0)
            completion = (reached / target) if target else None
            bands = calc.tiered_commission(
                base=base, completion=completion, tiers=parts.tier_pairs, marginal=plan.tier_mode == TierMode.MARGINAL
            )
            commission = sum((p.amount for p in bands), Decimal(0))
            how = joined(
                [nested(message("incentives.tier_part", rate=percent(p.rate, places=2), base=money(calc.money(p.base))))
                 for p in bands] or ["—"],
                separator="; ",
            )  # fmt: skip
            if completion is None:
                done: Param = nested(message("incentives.no_won_target" if on_deals else "incentives.no_gmv_target"))
            elif on_deals:
                won = message("incentives.completion_won", done=percent(completion),
                              reached=money(calc.money(reached)), target=money(calc.money(target)))  # fmt: skip
                done = nested(won)
            else:
                done = percent(completion)
            lines.append(
                Line(
                    LineKind.COMMISSION,
                    calc.money(commission),
                    message("incentives.tiered_on_deals" if on_deals else "incentives.tiered_on_gmv", **numbers,
                            done=done, mode=choice("tier_mode", plan.tier_mode), how=how),
                    kpi_key,
                    _value(kpi_key, reached),
                    refs,
                    deal_rows,
                )
            )  # fmt: skip
        if plan.commission_cap is not None and commission > plan.commission_cap:
            lines.append(
                Line(
                    LineKind.COMMISSION,
                    calc.money(plan.commission_cap - commission),
                    message("incentives.commission_capped", cap=money(plan.commission_cap)),
                )
            )
            commission = plan.commission_cap
        for modifier in parts.modifiers:
            value = kpis.get(modifier.kpi_key)
            if calc.compares(None if value is None else Decimal(str(value)), modifier.comparison, modifier.threshold):
                extra = commission * (modifier.multiplier - 1)
                lines.append(
                    Line(
                        LineKind.MODIFIER,
                        calc.money(extra),
                        message("incentives.modifier", kpi=kpi_label(modifier.kpi_key),
                                value=kpi_value(modifier.kpi_key, value), cmp=choice("comparison", modifier.comparison),
                                threshold=_threshold(modifier.kpi_key, modifier.threshold),
                                multiplier=_plain(modifier.multiplier)),
                        modifier.kpi_key,
                        _value(modifier.kpi_key, value),
                    )
                )  # fmt: skip
                commission += extra
        rate = (commission / base) if base else Decimal(0)
        commissioned = [(o, rate) for o in orders]  # deals: none (no refunds, no clawback)
        if plan.pk_kpi_key and plan.pk_bonus_rate:
            lines += _pk_lines(plan, member, store, month, items, rate, figures)
    for milestone in parts.milestones:
        value = kpis.get(milestone.kpi_key)
        if calc.compares(None if value is None else Decimal(str(value)), milestone.comparison, milestone.threshold):
            lines.append(
                Line(
                    LineKind.MILESTONE,
                    calc.money(milestone.amount),
                    message("incentives.milestone", kpi=kpi_label(milestone.kpi_key),
                            value=kpi_value(milestone.kpi_key, value), cmp=choice("comparison", milestone.comparison),
                            threshold=_threshold(milestone.kpi_key, milestone.threshold),
                            amount=money(milestone.amount)),
                    milestone.kpi_key,
                    _value(milestone.kpi_key, value),
                )
            )  # fmt: skip
    lines += _ranking_lines(parts, member, store, month, figures)
    lines += [Line(LineKind.ALLOWANCE, line.amount, line.explanation)
              for line in allowance_lines(plan=plan, allowances=parts.allowances_of(month))]  # fmt: skip
    lines += _clawback_lines(member, store, month)
    return Computed(plan, lines, commissioned)


def _pk_lines(
    plan: Plan, member: Member, store: Store, month: dt.date, items: list[tuple[dt.date, Decimal, Order | DealWon]],
    rate: Decimal, figures: MonthFigures,
) -> list[Line]:  # fmt: skip
    """+X% commission for the weeks the member's team won: the week's commission base × the
    month's effective commission rate × X. `items`: (day, yuan, order or deal) of the base."""
    lines = []
    for monday, champions in sorted(figures.champion_weeks(plan.pk_kpi_key).items()):
        sunday = monday + dt.timedelta(days=6)
        team = team_of(member=member, store=store, day=min(sunday, month_last(month)))
        if team is None or team.pk not in champions:
            continue
        week = [item for day, _amount, item in items if monday <= day <= sunday]
        base = sum((amount for day, amount, _item in items if monday <= day <= sunday), Decimal(0))
        if not base:
            continue
        commission = base * rate  # the week's share of the commission, at the month's effective rate
        amount = calc.money(commission * plan.pk_bonus_rate)
        shared = nested(message("incentives.pk_tie")) if len(champions) > 1 else ""
        lines.append(
            Line(
                LineKind.PK,
                amount,
                message("incentives.pk", team=team.name, week=f"{monday:%m-%d}", kpi=kpi_label(plan.pk_kpi_key),
                        shared=shared, rate=percent(plan.pk_bonus_rate, places=2),
                        commission=money(calc.money(commission)), base=money(calc.money(base)),
                        effective=percent(rate, places=3)),
                plan.pk_kpi_key,
                None,
                [o.order_id for o in week if isinstance(o, Order)],
                _deal_rows([d for d in week if isinstance(d, DealWon)]),
            )
        )  # fmt: skip
    return lines


def _ranking_lines(parts: PlanParts, member: Member, store: Store, month: dt.date, figures: MonthFigures
                   ) -> list[Line]:  # fmt: skip
    awards = parts.ranking_awards
    if not awards:
        return []
    end = month_last(month)
    team = team_of(member=member, store=store, day=end)
    if team is None:
        return []
    rows = figures.team_members(team.pk)
    lines = []
    for award in awards:
        kpi = KPI_BY_KEY[award.kpi_key]
        values = {int(r["entity_id"]): r[award.kpi_key] for r in rows}
        team_ranks = ranks(values, kpi)  # nothing to a zero or an empty value (see ranks)
        rank = team_ranks.get(member.pk)
        if rank is not None and rank <= len(award.amounts):
            amount = calc.money(Decimal(str(award.amounts[rank - 1])))
            lines.append(
                Line(
                    LineKind.RANKING,
                    amount,
                    message("incentives.ranking", rank=rank, count=ranked_count(team_ranks), team=team.name,
                            kpi=kpi_label(award.kpi_key), amount=money(amount)),
                    award.kpi_key,
                    _value(award.kpi_key, values.get(member.pk)),
                )
            )  # fmt: skip
    return lines


def _clawback_lines(member: Member, store: Store, month: dt.date) -> list[Line]:
    """Refunds that arrived after a locked statement paid commission on the order."""
    lines = []
    earlier = CommissionedOrder.objects.filter(
        statement__member=member,
        statement__store=store,
        statement__state=StatementState.LOCKED,
        statement__month__lt=month,
    ).select_related("statement")
    current = dict(Order.objects.filter(pk__in=earlier.values("order_id")).values_list("pk", "refund_cents"))
    for paid in earlier:
        refund_now = current.get(paid.order_id)
        if refund_now is None or refund_now <= paid.refund_cents:
            continue
        amount = calc.money(-Decimal(refund_now - paid.refund_cents) / 100 * paid.rate)
        lines.append(
            Line(
                LineKind.CLAWBACK,
                amount,
                message("incentives.clawback", order=paid.order_ref, month=month_text(paid.statement.month),
                        refund=money(calc.money(Decimal(refund_now - paid.refund_cents) / 100)),
                        rate=percent(paid.rate, places=3)),
                order_ids=[paid.order_ref],
            )
        )  # fmt: skip
    return lines
