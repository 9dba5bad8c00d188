"""The what-if estimator: "if I reach X GMV and Y inquiry-to-payment rate this month, I earn Z";
for telesales plans "if I make X connected calls, talk Y minutes and win Z".

`estimate` is pure: it takes a plan and a few numbers and applies the same arithmetic as the
statements (incentives/calc.py) in the same order: base salary; performance pay by the chosen
grade (or score); the call assessment (worded by incentives/lines.py, as on the statement);
commission on the GMV or the amount won (the plan's commission base) by flat rate or tiers of
target completion; the cap; KPI multipliers and milestones whose KPI is one of the given values
(GMV, inquiry-to-payment rate, refunded order rate, connected calls, talk time, amount won); the
plan's recurring allowances of the month (worded by incentives/lines.py, as on the statement).
What depends on others (team PK, rankings) or on KPIs not given is listed as not estimated.
`estimate_prefill` reads the member's month to prefill the form from the same data the statement
uses (incentives/services/statement_lines.py): with the prefilled numbers the estimate is the draft
statement's total less the lines it leaves out (team PK, ranking awards, clawbacks, and every
manual line: "manual, not estimated"). Its "at this
pace" figures are metrics.targets.pace's forecast, the one every target page shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from incentives import calc
from incentives.lines import SECONDS_PER_MINUTE, allowance_lines, call_assessment_lines, performance_pending, yuan
from incentives.models import CommissionBase, CommissionMode, LineKind, ManualLine, Plan, Statement, TierMode
from incentives.selectors.plans import plan_parts_read
from metrics.formatting import kpi_label_text, kpi_value_text, rate_display
from metrics.kpis.values import member_kpis_get
from metrics.messages import message_render
from metrics.models import Target
from metrics.targets.pace import Forecast, counted_through, forecast_get, stores_last_day
from metrics.targets.selectors import target_pace, target_pace_weights
from perfmgmt.common.periods import month_last
from teams.models import Member, Store, TeamMembership

GMV, CONVERSION, REFUND_RATE, REFUNDS = "gmv", "inquiry_to_payment_rate", "refund_order_rate", "refund_amount"
CONNECTED, TALK, WON = "connected_dials", "talk_time", "won_amount"  # a count, seconds, yuan
ESTIMATED_KPIS = (GMV, CONVERSION, REFUND_RATE, REFUNDS, CONNECTED, TALK, WON)
# Statement lines the estimator does not model: they depend on the team (PK, rankings) or on
# earlier months (clawbacks).
LEFT_OUT_KINDS = (LineKind.PK, LineKind.RANKING, LineKind.CLAWBACK)


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


def estimate(
    *,
    plan: Plan,
    gmv: Decimal = Decimal(0),
    refunds: Decimal | None = None,
    conversion: Decimal | None = None,
    target: Decimal | None = None,
    refund_rate: Decimal | None = None,
    appraisal_grade: str | None = None,
    appraisal_score: Decimal | None = None,
    connected_calls: int | Decimal | None = None,
    talk_minutes: Decimal | None = None,
    won_amount: Decimal | None = None,
    appraisal_pending: tuple[dt.date, int] | None = None,
    month: dt.date | None = None,
) -> Estimate:
    """The month's pay under `plan` if the member reaches these values. Rates are fractions
    (0.12 = 12%), money is yuan, talk time minutes. The commission base is, as on the statement,
    the GMV net of `refunds` (tiers are reached by the GMV itself / `target`), or for a plan paying
    on deals the amount won; `target` is the target of that (GMV, or amount won). Connected calls
    and talk time not given count as 0 in the call assessment. `appraisal_pending`: (month, KPI
    items) when the month's appraisal lacks data awaiting HR's decision; without a grade or score
    given, performance pay is then 0 and says why, as on the statement. `month`: the month
    estimated, for the plan's recurring allowances of that month (None: every allowance)."""
    parts = plan_parts_read(plan=plan)
    gmv = Decimal(gmv)
    refunded = Decimal(refunds or 0)
    talk_seconds = None if talk_minutes is None else Decimal(talk_minutes) * SECONDS_PER_MINUTE
    won = None if won_amount is None else Decimal(won_amount)
    values: dict[str, Decimal | None] = {
        GMV: gmv, REFUNDS: None if refunds is None else refunded, CONVERSION: conversion, REFUND_RATE: refund_rate,
        CONNECTED: None if connected_calls is None else Decimal(connected_calls), TALK: talk_seconds, WON: won,
    }  # fmt: skip
    lines: list[EstimateLine] = []
    left_out: list[str] = []
    if plan.base_salary:
        lines.append(EstimateLine(LineKind.BASE, calc.money(plan.base_salary),
                                  _("Base salary of plan %(plan)s.") % {"plan": plan.name}))  # fmt: skip
    if plan.performance_pay:
        lines.append(_performance(plan, appraisal_grade, appraisal_score, appraisal_pending))
    lines += [
        EstimateLine(LineKind.CALLS, part.amount, part.explanation_text)
        for part in call_assessment_lines(plan=plan, connected=values[CONNECTED], talk_seconds=talk_seconds)
    ]
    completion = None
    on_deals = plan.commission_base == CommissionBase.WON
    reached = (won or Decimal(0)) if on_deals else gmv  # what the tiers' completion counts
    base = reached if on_deals else max(gmv - refunded, Decimal(0))  # what commission is paid on
    # The GMV net of refunds, said once after the commission's sentence when there are refunds.
    net = "" if on_deals or not refunded else " " + _("Net of refunds: %(gmv)s GMV − %(refunds)s refunded.") % {
        "gmv": yuan(gmv), "refunds": yuan(refunded)}  # fmt: skip
    if plan.commission_mode != CommissionMode.NONE:
        commission = Decimal(0)
        if plan.commission_mode == CommissionMode.FLAT:
            commission = base * plan.flat_rate
            if on_deals:
                text = _("%(rate)s of %(won)s won.") % {
                    "rate": rate_display(plan.flat_rate),
                    "won": yuan(base),
                }
            else:
                text = _("%(rate)s of %(gmv)s GMV.") % {"rate": rate_display(plan.flat_rate), "gmv": yuan(base)} + net
            lines.append(EstimateLine(LineKind.COMMISSION, calc.money(commission), text))
        else:
            completion = (reached / target) if target else None
            bands = calc.tiered_commission(base=base, completion=completion, tiers=parts.tier_pairs,
                                           marginal=plan.tier_mode == TierMode.MARGINAL)  # fmt: skip
            commission = sum((p.amount for p in bands), Decimal(0))
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
            text = text % {"done": done, "gmv": yuan(base), "won": yuan(base)} + net
            lines.append(EstimateLine(
                LineKind.COMMISSION, calc.money(commission), text,
                tuple(EstimatePart(p.rate, calc.money(p.base), calc.money(p.amount)) for p in bands),
            ))  # fmt: skip
        if plan.commission_cap is not None and commission > plan.commission_cap:
            capped = _("Commission capped at %(cap)s.") % {"cap": yuan(plan.commission_cap)}
            lines.append(EstimateLine(LineKind.COMMISSION, calc.money(plan.commission_cap - commission), capped))
            commission = plan.commission_cap
        for modifier in parts.modifiers:
            if modifier.kpi_key not in ESTIMATED_KPIS or values.get(modifier.kpi_key) is None:
                left_out.append(_("Commission × %(multiplier)s when %(kpi)s %(cmp)s %(threshold)s.") % {
                    "multiplier": modifier.multiplier.normalize(), "kpi": kpi_label_text(modifier.kpi_key),
                    "cmp": modifier.get_comparison_display(),
                    "threshold": kpi_value_text(modifier.kpi_key, modifier.threshold),
                })  # fmt: skip
                continue
            value = values[modifier.kpi_key]
            if calc.compares(value, modifier.comparison, modifier.threshold):
                extra = commission * (modifier.multiplier - 1)
                lines.append(EstimateLine(
                    LineKind.MODIFIER, calc.money(extra),
                    _("%(kpi)s %(value)s %(cmp)s %(threshold)s: commission × %(multiplier)s.") % {
                        "kpi": kpi_label_text(modifier.kpi_key), "value": kpi_value_text(modifier.kpi_key, value),
                        "cmp": modifier.get_comparison_display(),
                        "threshold": kpi_value_text(modifier.kpi_key, modifier.threshold),
                        "multiplier": modifier.multiplier.normalize(),
                    },
                ))  # fmt: skip
                commission += extra
        if plan.pk_kpi_key and plan.pk_bonus_rate:
            left_out.append(_("Team PK: +%(rate)s commission in the weeks your team wins by %(kpi)s.")
                            % {"rate": rate_display(plan.pk_bonus_rate),
                               "kpi": kpi_label_text(plan.pk_kpi_key)})  # fmt: skip
    for milestone in parts.milestones:
        if milestone.kpi_key not in ESTIMATED_KPIS or values.get(milestone.kpi_key) is None:
            left_out.append(_("Bonus %(amount)s when %(kpi)s %(cmp)s %(threshold)s.") % {
                "amount": yuan(milestone.amount), "kpi": kpi_label_text(milestone.kpi_key),
                "cmp": milestone.get_comparison_display(),
                "threshold": kpi_value_text(milestone.kpi_key, milestone.threshold),
            })  # fmt: skip
            continue
        value = values[milestone.kpi_key]
        if calc.compares(value, milestone.comparison, milestone.threshold):
            lines.append(EstimateLine(
                LineKind.MILESTONE, calc.money(milestone.amount),
                _("%(kpi)s %(value)s %(cmp)s %(threshold)s: bonus %(amount)s.") % {
                    "kpi": kpi_label_text(milestone.kpi_key), "value": kpi_value_text(milestone.kpi_key, value),
                    "cmp": milestone.get_comparison_display(),
                    "threshold": kpi_value_text(milestone.kpi_key, milestone.threshold),
                    "amount": yuan(milestone.amount),
                },
            ))  # fmt: skip
    for award in parts.ranking_awards:
        amounts = ", ".join(yuan(Decimal(str(a))) for a in award.amounts)
        left_out.append(_("Ranking award by %(kpi)s within your team: %(amounts)s.")
                        % {"kpi": kpi_label_text(award.kpi_key), "amounts": amounts})  # fmt: skip
    allowances = parts.allowances if month is None else parts.allowances_of(month)
    lines += [EstimateLine(LineKind.ALLOWANCE, line.amount, line.explanation_text)
              for line in allowance_lines(plan=plan, allowances=allowances)]  # fmt: skip
    return Estimate(plan=plan, lines=lines, not_estimated=left_out, completion=completion)


def _performance(plan: Plan, grade: str | None, score: Decimal | None,
                 pending: tuple[dt.date, int] | None = None) -> EstimateLine:  # fmt: skip
    chosen = score is not None if plan.performance_by_score else bool(grade)
    if pending is not None and pending[1] and not chosen:
        # What the statement pays while the appraisal waits for HR (a grade typed in is a what-if).
        why = performance_pending(month=pending[0], count=pending[1])
        return EstimateLine(LineKind.PERFORMANCE, Decimal("0.00"), message_render(message=why))
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
    """The member's month in a store up to its last day with data, read as the statement reads it,
    and each measure's forecast at the month's end (`pace`, by measure key: metrics.targets.pace,
    at the pace rule of the member's target of that measure, else even)."""

    month: dt.date
    through: dt.date | None  # the last day read: the store's last day with data, at most today
    gmv: Decimal
    conversion: Decimal | None
    refund_rate: Decimal | None
    target: Decimal | None
    connected_calls: int = 0
    talk_seconds: int = 0
    won: Decimal = Decimal(0)  # yuan won in deals
    won_target: Decimal | None = None
    refunds: Decimal = Decimal(0)  # yuan refunded on the GMV's orders
    pace: dict[str, Forecast] = field(default_factory=dict)

    @property
    def talk_minutes(self) -> Decimal:
        """Minutes to the tenth (the form's precision); the prefilled estimate itself uses the
        exact minutes (talk_minutes_exact), as the statement counts the exact seconds."""
        return (Decimal(self.talk_seconds) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def talk_minutes_exact(self) -> Decimal:
        return Decimal(self.talk_seconds) / 60

    def _forecast(self, key: str, value: Decimal) -> Decimal:
        forecast = self.pace[key].forecast if key in self.pace else None
        return Decimal(value) if forecast is None else forecast

    @property
    def days(self) -> int:
        """Days counted in the forecast ("N of M days"): complete days with data, up to yesterday."""
        return self.pace[GMV].days_counted if GMV in self.pace else 0

    @property
    def days_in_month(self) -> int:
        return (month_last(self.month) - self.month).days + 1

    @property
    def projected_gmv(self) -> Decimal:
        """The GMV at the month's end at the pace so far (the forecast of the targets pages)."""
        return calc.money(self._forecast(GMV, self.gmv))

    @property
    def projected_refunds(self) -> Decimal:
        return calc.money(self._forecast(REFUNDS, self.refunds))

    @property
    def projected_won(self) -> Decimal:
        return calc.money(self._forecast(WON, self.won))

    @property
    def projected_connected_calls(self) -> int:
        return int(self._forecast(CONNECTED, Decimal(self.connected_calls)))

    @property
    def projected_talk_minutes(self) -> Decimal:
        return (self._forecast(TALK, Decimal(self.talk_seconds)) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP)


def month_target(*, member: Member, month: dt.date, kpi_key: str = GMV) -> Target | None:
    """The member's GMV (or `kpi_key`: amount won) target closest to the month (the one the
    statements use)."""
    end = month_last(month)
    best = None
    for t in Target.objects.filter(member=member, kpi_key=kpi_key, start__lte=end, end__gte=month).order_by("pk"):
        distance = abs((t.start - month).days) + abs((t.end - end).days)
        if best is None or distance < best[0]:
            best = (distance, t)
    return best[1] if best else None


def gmv_target(*, member: Member, month: dt.date, kpi_key: str = GMV) -> Decimal | None:
    """The value of month_target."""
    target = month_target(member=member, month=month, kpi_key=kpi_key)
    return target.value if target else None


def _month_row(member: Member, store: Store, start: dt.date, end: dt.date | None) -> dict:
    """The member's KPIs in the store over start … end: the statement's reader (member_kpis_get,
    incentives/services/statement_lines.py); {} before the month has a counted day."""
    if end is None or end < start:
        return {}
    return member_kpis_get(member_id=member.pk, store_id=store.pk, start=start, end=end)


def month_so_far(*, member: Member, store: Store, today: dt.date) -> MonthSoFar:
    """The member's month of `today` (the store's local day) so far, with each measure's forecast."""
    month, end = today.replace(day=1), month_last(today)
    last = stores_last_day(store_ids=[store.pk]).get(store.pk)
    until = min(last, today) if last else None
    row = _month_row(member, store, month, until)
    through = counted_through(start=month, end=end, today=today, last_day=until)
    paced = row if through == until else _month_row(member, store, month, through)
    targets = {key: month_target(member=member, month=month, kpi_key=key) for key in (GMV, WON)}
    weights = target_pace_weights([t for t in targets.values() if t is not None])

    def measure(key: str) -> Decimal:
        return calc.decimal_or_none(row.get(key)) or Decimal(0)

    def forecast(key: str, target: Target | None) -> Forecast:
        counted = calc.decimal_or_none(paced.get(key)) or Decimal(0)
        return forecast_get(
            start=month, end=end, today=today, last_day=until, actual=counted, actual_to_date=measure(key),
            pace=target_pace(target, weights) if target else None,
        )  # fmt: skip

    # Refunds are part of the GMV: they follow its pace; calls and talk time have no target: even.
    paces = {GMV: targets[GMV], REFUNDS: targets[GMV], WON: targets[WON], CONNECTED: None, TALK: None}
    return MonthSoFar(
        month=month,
        through=until if until and until >= month else None,
        gmv=calc.money(measure(GMV)),
        conversion=calc.decimal_or_none(row.get(CONVERSION)),
        refund_rate=calc.decimal_or_none(row.get(REFUND_RATE)),
        target=targets[GMV].value if targets[GMV] else None,
        connected_calls=int(measure(CONNECTED)),
        talk_seconds=int(measure(TALK)),
        won=calc.money(measure(WON)),
        won_target=targets[WON].value if targets[WON] else None,
        refunds=calc.money(measure(REFUNDS)),
        pace={key: forecast(key, target) for key, target in paces.items()},
    )


@dataclass(frozen=True)
class Prefill:
    """The estimator's inputs from the member's month so far (`inputs`: estimate()'s keyword
    arguments, exact), and the amounts the month's statement has from rules the estimator leaves
    out (`left_out`: line kind, amount)."""

    so_far: MonthSoFar
    inputs: dict
    left_out: list[tuple[LineKind, Decimal]]
    # The statement's manual lines (awards, allowances, deductions, corrections): typed by a
    # manager or HR, never estimated; shown as "manual, not estimated" with their amounts.
    manual: list[ManualLine] = field(default_factory=list)

    @property
    def left_out_total(self) -> Decimal:
        amounts = [amount for _label, amount in self.left_out] + [line.amount for line in self.manual]
        return calc.money(sum(amounts, Decimal(0)))


def estimate_prefill(*, member: Member, store: Store, plan: Plan, today: dt.date) -> Prefill:
    """What the estimator starts from: the data of the statement of the month (its KPIs, its GMV
    target, the appraisal it pays on, else the latest published one while the month has none),
    so that with these inputs the estimate is the statement's total less `left_out`."""
    from reviews.selectors.appraisals import appraisal_for_pay, appraisal_pending_count

    so_far = month_so_far(member=member, store=store, today=today)
    appraisal = appraisal_for_pay(member=member, month=so_far.month)
    pending = appraisal_pending_count(appraisal=appraisal)
    if appraisal is not None:  # scored or not: a statement without a score pays no performance
        scored = appraisal.total is not None
        grade, score = (appraisal.grade or "", appraisal.total) if scored else ("", None)
    else:
        grade, score = latest_appraisal(member=member)
    if grade not in (plan.grade_coefficients or {}):
        grade = ""  # the statement pays no coefficient for it either
    on_deals = plan.commission_base == CommissionBase.WON
    inputs = {
        "gmv": so_far.gmv, "refunds": so_far.refunds, "conversion": so_far.conversion,
        "target": so_far.won_target if on_deals else so_far.target, "refund_rate": so_far.refund_rate,
        "appraisal_grade": grade or None, "appraisal_score": score, "connected_calls": so_far.connected_calls,
        "talk_minutes": so_far.talk_minutes_exact, "won_amount": so_far.won,
        "appraisal_pending": (so_far.month, pending) if pending else None, "month": so_far.month,
    }  # fmt: skip
    return Prefill(so_far=so_far, inputs=inputs,
                   left_out=statement_left_out(member=member, store=store, month=so_far.month),
                   manual=statement_manual_left_out(member=member, store=store, month=so_far.month))  # fmt: skip


def statement_left_out(*, member: Member, store: Store, month: dt.date) -> list[tuple[LineKind, Decimal]]:
    """The month's statement's amounts from the rules the estimator does not model, by kind (its
    label is read in the page's language)."""
    statement = Statement.objects.filter(member=member, store=store, month=month.replace(day=1)).first()
    if statement is None:
        return []
    amounts: dict[str, Decimal] = {}
    for kind, amount in statement.lines.filter(kind__in=LEFT_OUT_KINDS).values_list("kind", "amount"):
        amounts[kind] = amounts.get(kind, Decimal(0)) + amount
    return [(LineKind(kind), calc.money(amounts[kind])) for kind in LEFT_OUT_KINDS if kind in amounts]


def statement_manual_left_out(*, member: Member, store: Store, month: dt.date) -> list[ManualLine]:
    """The manual lines of the month's statement: the estimator models no manual line."""
    return list(
        ManualLine.objects.filter(
            statement__member=member, statement__store=store, statement__month=month.replace(day=1)
        )
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
