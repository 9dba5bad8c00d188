"""Statement lines worded once for the statements and the what-if estimator: the call assessment
of telesales plans (seed 002's 考核: connected outbound calls and outbound talk time), and the
performance pay held while the appraisal lacks data, so the estimate and the payslip say the same
thing with the same numbers.

Explanations are written in the active language: statements compute under the site's language,
the estimator under the reader's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incentives import calc
from incentives.models import Plan
from metrics.formatting import kpi_display
from metrics.registry import KPI_BY_KEY

CONNECTED, TALK = "connected_dials", "talk_time"  # registry KPIs: a count, and seconds
SECONDS_PER_MINUTE = Decimal(60)


@dataclass(frozen=True)
class CallLine:
    amount: Decimal
    explanation: str
    kpi_key: str
    kpi_value: str


def yuan(value: Decimal) -> str:
    """Money as the pages show it: ¥1,000.00."""
    return kpi_display(KPI_BY_KEY["gmv"], calc.money(value))


def percent(share: Decimal) -> str:
    """A fraction as a percentage with at most one decimal: 1 → 100%, 0.755 → 75.5%."""
    shown = (Decimal(share) * 100).quantize(Decimal("0.1"))
    return f"{shown.normalize():f}%"


def minutes_text(minutes: Decimal) -> str:
    """Minutes with grouping, one decimal only when not whole: "1,500 min", "12.5 min"."""
    minutes = Decimal(minutes)
    places = 0 if minutes == minutes.to_integral_value() else 1
    return _("%(minutes)s min") % {
        "minutes": number_format(minutes.quantize(Decimal(1) if not places else Decimal("0.1")), places,
                                 use_l10n=True, force_grouping=True),
    }  # fmt: skip


def performance_pending_text(*, month: dt.date, count: int) -> str:
    """Why performance pay is 0 while the month's appraisal has KPI items without data that HR
    has not decided on (its total and grade are empty until then)."""
    return ngettext(
        "The appraisal of %(month)s lacks data for %(count)s KPI item, awaiting HR's decision: no grade "
        "yet, so no performance pay until HR decides.",
        "The appraisal of %(month)s lacks data for %(count)s KPI items, awaiting HR's decision: no grade "
        "yet, so no performance pay until HR decides.",
        count,
    ) % {"month": f"{month:%Y-%m}", "count": count}


def count_text(value: Decimal) -> str:
    return number_format(Decimal(value).quantize(Decimal(1)), 0, use_l10n=True, force_grouping=True)


def call_assessment_lines(*, plan: Plan, connected: Decimal | int | None, talk_seconds: Decimal | int | None
                          ) -> list[CallLine]:  # fmt: skip
    """The plan's call assessment, one line per part that has a weight: connected outbound calls
    (a count) and outbound talk time (seconds, compared in minutes with the plan's target).
    Nothing when the plan has no call assessment pay. A missing figure counts as 0."""
    if not plan.call_pay:
        return []
    lines = []
    parts = (
        (CONNECTED, plan.call_connected_weight, plan.call_connected_target, Decimal(connected or 0)),
        (TALK, plan.call_talk_weight, plan.call_talk_target_minutes,
         Decimal(talk_seconds or 0) / SECONDS_PER_MINUTE),
    )  # fmt: skip
    for key, weight, target, actual in parts:
        if not weight or not target:
            continue
        part = calc.call_part(actual=actual, target=Decimal(target), weight=weight, pay=plan.call_pay,
                              floor=plan.call_floor)  # fmt: skip
        if key == CONNECTED:
            label, value, goal = KPI_BY_KEY[CONNECTED].label, count_text(actual), count_text(Decimal(target))
        else:
            label, value, goal = _("Outbound talk time"), minutes_text(actual), minutes_text(Decimal(target))
        numbers = {
            "kpi": label, "value": value, "target": goal, "done": percent(part.completion),
            "counted": percent(part.counted), "weight": percent(weight), "pay": yuan(plan.call_pay),
            "amount": yuan(part.amount), "floor": percent(plan.call_floor),
        }  # fmt: skip
        if part.below_floor:
            text = _(
                "%(kpi)s %(value)s / target %(target)s (%(done)s) is below the %(floor)s floor: this part "
                "(%(weight)s × %(pay)s) pays %(amount)s."
            )
        elif part.completion > 1:
            text = _(
                "%(kpi)s %(value)s / target %(target)s (%(done)s, counted as at most 100%%) → "
                "%(counted)s × %(weight)s × %(pay)s = %(amount)s."
            )
        else:
            text = _("%(kpi)s %(value)s / target %(target)s → %(counted)s × %(weight)s × %(pay)s = %(amount)s.")
        lines.append(CallLine(part.amount, text % numbers, key, value))
    return lines
