"""Statement lines worded once for the statements and the what-if estimator: the call assessment
of telesales plans (connected outbound calls and outbound talk time), and the performance pay
held while the appraisal lacks data, so the estimate and the payslip say the same thing with the
same numbers.

Explanations are messages (metrics/messages.py): the statement stores them and each reader sees
them in their own language; the estimator renders them at once, in the reader's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from incentives import calc
from incentives.models import Plan
from metrics.formatting import money_display, number_display
from metrics.messages import (
    MessageData,
    Param,
    bilingual,
    kpi_label,
    message,
    message_render,
    money,
    month_text,
    nested,
    number,
    percent,
)

CONNECTED, TALK = "connected_dials", "talk_time"  # registry KPIs: a count, and seconds
SECONDS_PER_MINUTE = Decimal(60)


@dataclass(frozen=True)
class CallLine:
    amount: Decimal
    explanation: MessageData
    kpi_key: str
    kpi_value: MessageData

    @property
    def explanation_text(self) -> str:
        return message_render(message=self.explanation)


def yuan(value: Decimal) -> str:
    """Money as the pages show it: ¥1,000.00."""
    return money_display(calc.money(value))


def _minutes_param(minutes: Decimal) -> Param:
    """Minutes with grouping, one decimal only when not whole: "1,500 min", "12.5 min"."""
    minutes = Decimal(minutes)
    places = 0 if minutes == minutes.to_integral_value() else 1
    return nested(message("incentives.minutes", minutes=number(minutes.quantize(Decimal(1).scaleb(-places)),
                                                               places=places)))  # fmt: skip


def minutes_text(minutes: Decimal) -> str:
    return message_render(message=_minutes_param(minutes)["message"])


def performance_pending(*, month: dt.date, count: int) -> MessageData:
    """Why performance pay is 0 while the month's appraisal has `count` KPI items without data
    that HR has not decided on (its total and grade are empty until then)."""
    return message("incentives.performance_pending", month=month_text(month), count=count)


@dataclass(frozen=True)
class AllowanceLine:
    amount: Decimal
    explanation: MessageData

    @property
    def explanation_text(self) -> str:
        return message_render(message=self.explanation)


def allowance_lines(*, plan: Plan, allowances: list) -> list[AllowanceLine]:
    """The plan's recurring allowances (PlanAllowance, those paid in the month), one line each:
    their name in the reader's language (either when only one was written), the plan, yuan."""
    return [
        AllowanceLine(calc.money(a.amount), message("incentives.allowance", name=bilingual(zh=a.name_zh, en=a.name_en),
                                                    plan=plan.name, amount=money(a.amount)))
        for a in allowances
    ]  # fmt: skip


def count_text(value: Decimal) -> str:
    return number_display(value, places=0)


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
        value: Param
        if key == CONNECTED:
            label: Param = kpi_label(CONNECTED)
            value, goal = number(actual.quantize(Decimal(1))), number(Decimal(target).quantize(Decimal(1)))
        else:
            label = nested(message("incentives.outbound_talk_time"))
            value, goal = _minutes_param(actual), _minutes_param(Decimal(target))
        numbers = {
            "kpi": label, "value": value, "target": goal, "done": percent(part.completion),
            "counted": percent(part.counted), "weight": percent(weight), "pay": money(plan.call_pay),
            "amount": money(part.amount),
        }  # fmt: skip
        if part.below_floor:
            text = message("incentives.calls_below_floor", **numbers, floor=percent(plan.call_floor))
        elif part.completion > 1:
            text = message("incentives.calls_capped", **numbers)
        else:
            text = message("incentives.calls", **numbers)
        lines.append(CallLine(part.amount, text, key, message("incentives.value", value=value)))
    return lines
