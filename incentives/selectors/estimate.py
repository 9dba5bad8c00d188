"""The what-if estimator: "if I reach X GMV and Y inquiry-to-payment rate this month, I earn Z";
for telesales plans "if I make X connected calls, talk Y minutes and win Z".

`estimate` is pure: it takes a plan and a few numbers and applies the same arithmetic as the
statements (incentives/calc.py) in the same order: base salary; performance pay by the chosen
grade (or score); the call assessment (worded by incentives/lines.py, as on the statement);
commission on the GMV or the amount won (the plan's commission base) by flat rate or tiers of
target completion; the cap; KPI multipliers and milestones whose KPI is one of the given values
(GMV, inquiry-to-payment rate, refunded order rate, connected calls, talk time, amount won).
What depends on others (team PK, rankings) or on KPIs not given is listed as not estimated.
`month_so_far` reads the member's month to prefill the form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from incentives import calc
from incentives.lines import SECONDS_PER_MINUTE, call_assessment_lines, yuan
from incentives.models import CommissionBase, CommissionMode, LineKind, Plan, TierMode
from metrics.formatting import kpi_display
from metrics.models import Target
from metrics.registry import KPI_BY_KEY, Level
from metrics.selectors.kpis import kpi_table
from teams.models import Member, Store, TeamMembership

GMV, CONVERSION, REFUND_RATE = "gmv", "inquiry_to_payment_rate", "refund_order_rate"
CONNECTED, TALK, WON = "connected_dials", "talk_time", "won_amount"  # a count, seconds, yuan
ESTIMATED_KPIS = (GMV, CONVERSION, REFUND_RATE, CONNECTED, TALK, WON)


@dataclass(frozen=True)
class EstimatePart:
    """One band of tiered commission: this rate on this part of the GMV."""

    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class EstimateLine:
    kind: str
    amount: Decimal
    explanation: str
    parts: tuple[EstimatePart, ...] = ()

    @property
    def label(self) -> str:
        return str(LineKind(self.kind).label)


@dataclass(frozen=True)
class Estimate:
    plan: Plan
    lines: list[EstimateLine]
    not_estimated: list[str] = field(default_factory=list)  # rules left out, in words
    completion: Decimal | None = None  # GMV / target

    @property
    def total(self) -> Decimal:
        return calc.money(sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def commission(self) -> Decimal:
        kinds = {LineKind.COMMISSION, LineKind.MODIFIER}
        return calc.money(sum((line.amount for line in self.lines if line.kind in kinds), Decimal(0)))


def _percent(rate: Decimal) -> str:
    return f"{rate * 100:.2f}%"


def _shown(key: str, value) -> str:
    return kpi_display(KPI_BY_KEY[key], value) if key in KPI_BY_KEY else str(value)


def _label(key: str) -> str:
    return KPI_BY_KEY[key].label if key in KPI_BY_KEY else key


def estimate(
    *,
    plan: Plan,
    gmv: Decimal = Decimal(0),
    conversion: Decimal | None = None,
    target: Decimal | None = None,
    refund_rate: Decimal | None = None,
    appraisal_grade: str | None = None,
    appraisal_score: Decimal | None = None,
    connected_calls: int | Decimal | None = None,
    talk_minutes: Decimal | None = None,
    won_amount: Decimal | None = None,
) -> Estimate:
    """The month's pay under `plan` if the member reaches these values. Rates are fractions
    (0.12 = 12%), money is yuan, talk time minutes. The commission base is the GMV as given (the
    statement pays on GMV net of refunds), or for a plan paying on deals the amount won; `target`
    is the target of that base (GMV, or amount won). Connected calls and talk time not given
    count as 0 in the call assessment."""
    gmv = Decimal(gmv)
    talk_seconds = None if talk_minutes is None else Decimal(talk_minutes) * SECONDS_PER_MINUTE
    won = None if won_amount is None else Decimal(won_amount)
    values: dict[str, Decimal | None] = {
        GMV: gmv, CONVERSION: conversion, REFUND_RATE: refund_rate,
        CONNECTED: None if connected_calls is None else Decimal(connected_calls), TALK: talk_seconds, WON: won,
    }  # fmt: skip
    lines: list[EstimateLine] = []
    left_out: list[str] = []
    if plan.base_salary:
        lines.append(EstimateLine(LineKind.BASE, calc.money(plan.base_salary),
                                  _("Base salary of plan %(plan)s.") % {"plan": plan.name}))  # fmt: skip
    if plan.performance_pay:
        lines.append(_performance(plan, appraisal_grade, appraisal_score))
    lines += [
        EstimateLine(LineKind.CALLS, part.amount, part.explanation_text)
        for part in call_assessment_lines(plan=plan, connected=values[CONNECTED], talk_seconds=talk_seconds)
    ]
    completion = None
    on_deals = plan.commission_base == CommissionBase.WON
    base = (won or Decimal(0)) if on_deals else gmv
    if plan.commission_mode != CommissionMode.NONE:
        commission = Decimal(0)
        if plan.commission_mode == CommissionMode.FLAT:
            commission = base * plan.flat_rate
            if on_deals:
                text = _("%(rate)s of %(won)s won.") % {"rate": _percent(plan.flat_rate), "won": yuan(base)}
            else:
                text = _("%(rate)s of %(gmv)s GMV.") % {"rate": _percent(plan.flat_rate), "gmv": yuan(gmv)}
            lines.append(EstimateLine(LineKind.COMMISSION, calc.money(commission), text))
        else:
            completion = (base / target) if target else None
            tiers = [(t.from_completion, t.rate) for t in plan.tiers.all()]
            parts = calc.tiered_commission(base=base, completion=completion, tiers=tiers,
                                           marginal=plan.tier_mode == TierMode.MARGINAL)  # fmt: skip
            commission = sum((p.amount for p in parts), Decimal(0))
            marginal = plan.tier_mode == TierMode.MARGINAL
            if on_deals:
                if completion is None:
                    text = _("No amount-won target: the first tier's rate on %(won)s won.")
                elif marginal:
                    text = _("Target completion %(done)s; each tier's rate on its part of %(won)s won.")
                else:
                    text = _("Target completion %(done)s; the highest tier reached applies to all of %(won)s won.")
            elif completion is None:
                text = _("No GMV target: the first tier's rate on %(gmv)s GMV.")
            elif marginal:
                text = _("Target completion %(done)s; each tier's rate on its part of %(gmv)s GMV.")
            else:
                text = _("Target completion %(done)s; the highest tier reached applies to all of %(gmv)s GMV.")
            done = "" if completion is None else f"{completion * 100:.1f}%"
            text = text % {"done": done, "gmv": yuan(gmv), "won": yuan(base)}
            lines.append(EstimateLine(
                LineKind.COMMISSION, calc.money(commission), text,
                tuple(EstimatePart(p.rate, calc.money(p.base), calc.money(p.amount)) for p in parts),
            ))  # fmt: skip
        if plan.commission_cap is not None and commission > plan.commission_cap:
            capped = _("Commission capped at %(cap)s.") % {"cap": yuan(plan.commission_cap)}
            lines.append(EstimateLine(LineKind.COMMISSION, calc.money(plan.commission_cap - commission), capped))
            commission = plan.commission_cap
        for modifier in plan.modifiers.all():
            if modifier.kpi_key not in ESTIMATED_KPIS or values.get(modifier.kpi_key) is None:
                left_out.append(_("Commission × %(multiplier)s when %(kpi)s %(cmp)s %(threshold)s.") % {
                    "multiplier": modifier.multiplier.normalize(), "kpi": _label(modifier.kpi_key),
                    "cmp": modifier.get_comparison_display(), "threshold": _shown(modifier.kpi_key, modifier.threshold),
                })  # fmt: skip
                continue
            value = values[modifier.kpi_key]
            if calc.compares(value, modifier.comparison, modifier.threshold):
                extra = commission * (modifier.multiplier - 1)
                lines.append(EstimateLine(
                    LineKind.MODIFIER, calc.money(extra),
                    _("%(kpi)s %(value)s %(cmp)s %(threshold)s: commission × %(multiplier)s.") % {
                        "kpi": _label(modifier.kpi_key), "value": _shown(modifier.kpi_key, value),
                        "cmp": modifier.get_comparison_display(),
                        "threshold": _shown(modifier.kpi_key, modifier.threshold),
                        "multiplier": modifier.multiplier.normalize(),
                    },
                ))  # fmt: skip
                commission += extra
        if plan.pk_kpi_key and plan.pk_bonus_rate:
            left_out.append(_("Team PK: +%(rate)s commission in the weeks your team wins by %(kpi)s.")
                            % {"rate": _percent(plan.pk_bonus_rate), "kpi": _label(plan.pk_kpi_key)})  # fmt: skip
    for milestone in plan.milestones.all():
        if milestone.kpi_key not in ESTIMATED_KPIS or values.get(milestone.kpi_key) is None:
            left_out.append(_("Bonus %(amount)s when %(kpi)s %(cmp)s %(threshold)s.") % {
                "amount": yuan(milestone.amount), "kpi": _label(milestone.kpi_key),
                "cmp": milestone.get_comparison_display(), "threshold": _shown(milestone.kpi_key, milestone.threshold),
            })  # fmt: skip
            continue
        value = values[milestone.kpi_key]
        if calc.compares(value, milestone.comparison, milestone.threshold):
            lines.append(EstimateLine(
                LineKind.MILESTONE, calc.money(milestone.amount),
                _("%(kpi)s %(value)s %(cmp)s %(threshold)s: bonus %(amount)s.") % {
                    "kpi": _label(milestone.kpi_key), "value": _shown(milestone.kpi_key, value),
                    "cmp": milestone.get_comparison_display(),
                    "threshold": _shown(milestone.kpi_key, milestone.threshold), "amount": yuan(milestone.amount),
                },
            ))  # fmt: skip
    for award in plan.ranking_awards.all():
        amounts = ", ".join(yuan(Decimal(str(a))) for a in award.amounts)
        left_out.append(_("Ranking award by %(kpi)s within your team: %(amounts)s.")
                        % {"kpi": _label(award.kpi_key), "amounts": amounts})  # fmt: skip
    return Estimate(plan=plan, lines=lines, not_estimated=left_out, completion=completion)


def _performance(plan: Plan, grade: str | None, score: Decimal | None) -> EstimateLine:
    if plan.performance_by_score:
        if score is None:
            return EstimateLine(LineKind.PERFORMANCE, Decimal("0.00"),
                                _("Enter an appraisal score to include performance pay."))  # fmt: skip
        amount = calc.money(plan.performance_pay * Decimal(score) / 100)
        text = _("%(pay)s × appraisal score %(score)s / 100 = %(amount)s.") % {
            "pay": yuan(plan.performance_pay), "score": score, "amount": yuan(amount)}  # fmt: skip
        return EstimateLine(LineKind.PERFORMANCE, amount, text)
    if not grade:
        return EstimateLine(LineKind.PERFORMANCE, Decimal("0.00"),
                            _("Choose an appraisal grade to include performance pay."))  # fmt: skip
    coefficient = Decimal(str((plan.grade_coefficients or {}).get(grade, 0)))
    amount = calc.money(plan.performance_pay * coefficient)
    return EstimateLine(LineKind.PERFORMANCE, amount, _("%(pay)s × coefficient %(coefficient)s of grade %(grade)s = "
                                                        "%(amount)s.") % {
        "pay": yuan(plan.performance_pay), "coefficient": coefficient, "grade": grade, "amount": yuan(amount),
    })  # fmt: skip


# --- the member's month so far, to prefill the form ----------------------------------------------


@dataclass(frozen=True)
class MonthSoFar:
    month: dt.date
    through: dt.date  # the last day counted (today, or the month's end)
    gmv: Decimal
    conversion: Decimal | None
    refund_rate: Decimal | None
    target: Decimal | None
    connected_calls: int = 0
    talk_seconds: int = 0
    won: Decimal = Decimal(0)  # yuan won in deals
    won_target: Decimal | None = None

    @property
    def talk_minutes(self) -> Decimal:
        """Minutes to the tenth (the form's precision), so the prefilled estimate stays within a
        cent or two of the statement, which counts the exact seconds."""
        return (Decimal(self.talk_seconds) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def _projected(self, value: Decimal) -> Decimal:
        return Decimal(value) * self.days_in_month / self.days if self.days else Decimal(value)

    @property
    def projected_won(self) -> Decimal:
        return calc.money(self._projected(self.won))

    @property
    def projected_connected_calls(self) -> int:
        return int(self._projected(Decimal(self.connected_calls)))

    @property
    def projected_talk_minutes(self) -> Decimal:
        return self._projected(self.talk_minutes).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def days(self) -> int:
        return (self.through - self.month).days + 1

    @property
    def days_in_month(self) -> int:
        return ((self.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - self.month).days

    @property
    def projected_gmv(self) -> Decimal:
        """The GMV at the month's end at the pace so far."""
        return calc.money(self.gmv * self.days_in_month / self.days) if self.days else self.gmv


def gmv_target(*, member: Member, month: dt.date, kpi_key: str = GMV) -> Decimal | None:
    """The member's GMV (or `kpi_key`: amount won) target closest to the month (the one the
    statements use)."""
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    best = None
    for t in Target.objects.filter(member=member, kpi_key=kpi_key, start__lte=end, end__gte=month):
        distance = abs((t.start - month).days) + abs((t.end - end).days)
        if best is None or distance < best[0]:
            best = (distance, t.value)
    return best[1] if best else None


def month_so_far(*, member: Member, store: Store, today: dt.date) -> MonthSoFar:
    month = today.replace(day=1)
    table = kpi_table(level=Level.MEMBER, grain="range", start=month, end=today, store_ids=[store.pk],
                      member_ids=[member.pk])  # fmt: skip
    row = table.iloc[0].to_dict() if len(table) else {}
    return MonthSoFar(
        month=month,
        through=today,
        gmv=calc.money(calc.decimal_or_none(row.get(GMV)) or Decimal(0)),
        conversion=calc.decimal_or_none(row.get(CONVERSION)),
        refund_rate=calc.decimal_or_none(row.get(REFUND_RATE)),
        target=gmv_target(member=member, month=month),
        connected_calls=int(calc.decimal_or_none(row.get(CONNECTED)) or 0),
        talk_seconds=int(calc.decimal_or_none(row.get(TALK)) or 0),
        won=calc.money(calc.decimal_or_none(row.get(WON)) or Decimal(0)),
        won_target=gmv_target(member=member, month=month, kpi_key=WON),
    )


def latest_appraisal(*, member: Member) -> tuple[str, Decimal | None]:
    """The grade and score of the member's latest published appraisal ("", None without one): the
    estimator's default. Appraisals not yet published to the member are not used."""
    from reviews.models import Appraisal, CycleState

    latest = (
        Appraisal.objects.filter(member=member, cycle__state=CycleState.PUBLISHED)
        .order_by("-cycle__month")
        .values("grade", "total")
        .first()
    )
    return (latest["grade"] or "", latest["total"]) if latest else ("", None)


def member_stores(*, member: Member, day: dt.date) -> list[Store]:
    """The stores the member works in on the day (through their teams), by name."""
    ids = (
        TeamMembership.objects.filter(member=member, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .values("team__store_id")
    )
    return list(Store.objects.filter(pk__in=ids).order_by("name"))
