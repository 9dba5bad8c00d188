"""Statement lines, proposed adjustments and badge details written before messages, turned into
messages (metrics/messages.py) by the data migration 0004: see metrics/legacy_messages.py."""

from __future__ import annotations

import re
from decimal import Decimal

from incentives.models import TierMode
from metrics.legacy_messages import (
    CMP,
    GRADE,
    INT,
    KPI_LABEL,
    MONEY,
    MONTH,
    NUMBER,
    PERCENT,
    PLAIN,
    TEXT,
    WEEK,
    Kind,
    NoMatch,
    _alternation,
    _decimal,
    _in_languages,
    _kpi_by_label,
    _kpi_value,
    choice_of,
    either,
    joined_of,
    kpi_value_of,
    legacy_match,
    nested_of,
    number_of,
    optional_message,
    threshold_of,
)
from metrics.messages import MessageData, Param, kpi_label, message, message_keys, money, nested, percent
from metrics.registry import KPI_BY_KEY

BATCH = 2000


def _minutes_suffixes() -> list[str]:
    return [t.replace("%(minutes)s", "") for t in _in_languages(lambda: message_keys()["incentives.minutes"])]


def _call_value(text: str, _groups: dict | None = None) -> Param:
    """412, or 1,500 min / 1,500 分钟."""
    for suffix in _minutes_suffixes():
        if suffix and text.endswith(suffix):
            return nested(message("incentives.minutes", minutes=number_of(text[: -len(suffix)])))
    return number_of(text)


def _call_kpi(text: str, _groups: dict) -> Param:
    """Connected calls by the KPI's label; talk time in the lines' own words (the KPI's English
    label is the same words)."""
    if text in _in_languages(lambda: message_keys()["incentives.outbound_talk_time"]):
        return nested(message("incentives.outbound_talk_time"))
    return kpi_label(_kpi_by_label()[text])


CALL_VALUE = Kind(lambda: rf"{NUMBER}(?: ?(?:min|分钟))?", _call_value)
CALL_KPI = Kind(
    lambda: _alternation([*_kpi_by_label(), *_in_languages(lambda: message_keys()["incentives.outbound_talk_time"])]),
    _call_kpi,
)
CALLS = {"kpi": CALL_KPI, "value": CALL_VALUE, "target": CALL_VALUE, "done": PERCENT, "counted": PERCENT,
         "weight": PERCENT, "pay": MONEY, "amount": MONEY, "floor": PERCENT}  # fmt: skip

KINDS: dict[str, dict[str, Kind]] = {}
KINDS.update({
    "incentives.base_salary": {"plan": TEXT},
    "incentives.no_appraisal": {"month": MONTH},
    "incentives.performance_by_score": {"pay": MONEY, "score": PLAIN, "amount": MONEY},
    "incentives.performance_by_grade": {"pay": MONEY, "coefficient": PLAIN, "grade": GRADE, "amount": MONEY},
    "incentives.calls_below_floor": CALLS,
    "incentives.calls_capped": CALLS,
    "incentives.calls": CALLS,
    "incentives.flat_on_deals": {"rate": PERCENT, "base": MONEY, "count": INT},
    "incentives.flat_on_gmv": {"rate": PERCENT, "base": MONEY, "count": INT},
    "incentives.completion_won": {"done": PERCENT, "reached": MONEY, "target": MONEY},
    "incentives.tier_part": {"rate": PERCENT, "base": MONEY},
    "incentives.commission_capped": {"cap": MONEY},
    "incentives.modifier": {"kpi": KPI_LABEL, "value": kpi_value_of("kpi"), "cmp": CMP,
                            "threshold": threshold_of("kpi"), "multiplier": PLAIN},
    "incentives.milestone": {"kpi": KPI_LABEL, "value": kpi_value_of("kpi"), "cmp": CMP,
                             "threshold": threshold_of("kpi"), "amount": MONEY},
    "incentives.pk": {"team": TEXT, "week": WEEK, "kpi": KPI_LABEL, "shared": optional_message("incentives.pk_tie"),
                      "rate": PERCENT, "commission": MONEY, "base": MONEY, "effective": PERCENT},
    "incentives.ranking": {"rank": INT, "count": INT, "team": TEXT, "kpi": KPI_LABEL, "amount": MONEY},
    "incentives.clawback": {"order": TEXT, "month": MONTH, "refund": MONEY, "rate": PERCENT},
})  # fmt: skip
_tiered = {
    "done": either(PERCENT, nested_of("incentives.no_won_target", "incentives.no_gmv_target",
                                      "incentives.completion_won", kinds=KINDS)),
    "mode": choice_of("tier_mode", TierMode),
    "how": joined_of("incentives.tier_part", separator="; ", kinds=KINDS),
    "base": MONEY,
    "count": INT,
}  # fmt: skip
KINDS["incentives.tiered_on_deals"] = KINDS["incentives.tiered_on_gmv"] = _tiered
LINE_KEYS = [key for key in KINDS if key not in ("incentives.completion_won", "incentives.tier_part")]


def explanation_message(text: str) -> MessageData | None:
    """A statement line's explanation as a message; None when no template gives it."""
    return legacy_match(text=text, keys=LINE_KEYS, kinds=KINDS)


def kpi_value_message(kpi_key: str, text: str) -> MessageData | None:
    """A line's KPI value ("55.6%", "¥1,000.00", "1,500 分钟") as a message."""
    if not text or kpi_key not in KPI_BY_KEY:
        return None
    try:
        value = _call_value(text) if kpi_key in ("connected_dials", "talk_time") else _kpi_value(kpi_key, text)
    except (NoMatch, ArithmeticError):
        return None
    return message("incentives.value", value=value)


def statement_lines_convert(apps, schema_editor) -> None:
    """Every statement line and proposed adjustment whose text a template gives: its message."""
    StatementLine = apps.get_model("incentives", "StatementLine")
    Statement = apps.get_model("incentives", "Statement")
    changed = []
    for line in StatementLine.objects.iterator(chunk_size=BATCH):
        line.explanation_msg = explanation_message(line.explanation) or {}
        line.kpi_value_msg = kpi_value_message(line.kpi_key, line.kpi_value) or {}
        if line.explanation_msg or line.kpi_value_msg:
            changed.append(line)
        if len(changed) >= BATCH:
            StatementLine.objects.bulk_update(changed, ["explanation_msg", "kpi_value_msg"])
            changed = []
    StatementLine.objects.bulk_update(changed, ["explanation_msg", "kpi_value_msg"])
    for statement in Statement.objects.exclude(proposed_lines=[]).iterator(chunk_size=BATCH):
        lines = []
        for line in statement.proposed_lines or []:
            found = None if line.get("message") else explanation_message(line.get("explanation", ""))
            lines.append({**line, "message": found} if found else line)
        if lines != statement.proposed_lines:
            statement.proposed_lines = lines
            statement.save(update_fields=["proposed_lines"])


# --- badges --------------------------------------------------------------------------------------

_LIGHTNING = re.compile(r"^(?P<order>.+) · (?P<time>\d+:\d{2})(?P<more> \(\+\d+\))?$")
_SPRINT = re.compile(rf"^(?P<week>¥{NUMBER}) > (?P<best>¥{NUMBER})$")
_PERFECT = re.compile(r"^(?P<answered>\d+)/(?P<sessions>\d+) ≤ 30 s$")
_RULE = re.compile(rf"^(?P<value>.+) (?P<cmp>≥|>|≤|<) (?P<threshold>{NUMBER}%?)$")


def badge_detail_message(key: str, detail: str, rule_kpi: str | None) -> MessageData | None:
    """A badge's detail as a message; `rule_kpi`: the KPI of the store's rule for a rule's badge."""
    try:
        if key == "lightning_deal" and (m := _LIGHTNING.match(detail)):
            return message("incentives.badge_lightning", order=m["order"], time=m["time"], more=m["more"] or "")
        if key == "weekly_sprint" and (m := _SPRINT.match(detail)):
            return message("incentives.badge_sprint", week=money(_decimal(m["week"])), best=money(_decimal(m["best"])))
        if key == "perfect_response" and (m := _PERFECT.match(detail)):
            return message("incentives.badge_perfect", answered=int(m["answered"]), sessions=int(m["sessions"]))
        if rule_kpi in KPI_BY_KEY and (m := _RULE.match(detail)):
            threshold = m["threshold"]
            shown: Param = (percent(_decimal(threshold[:-1]) / 100, places=2) if threshold.endswith("%")
                            else f"{Decimal(threshold.replace(',', '')).normalize():f}")  # fmt: skip
            return message("incentives.badge_rule", value=_kpi_value(rule_kpi, m["value"]),
                           cmp=CMP.convert(m["cmp"], {}), threshold=shown)  # fmt: skip
    except (NoMatch, ArithmeticError, KeyError):
        return None
    return None


def badges_convert(apps, schema_editor) -> None:
    Badge = apps.get_model("incentives", "Badge")
    BadgeRule = apps.get_model("incentives", "BadgeRule")
    rules = {(r.store_id, r.key): r.kpi_key for r in BadgeRule.objects.all()}
    changed = []
    for badge in Badge.objects.exclude(detail="").iterator(chunk_size=BATCH):
        found = badge_detail_message(badge.key, badge.detail, rules.get((badge.store_id, badge.key)))
        if found:
            badge.detail_msg = found
            changed.append(badge)
        if len(changed) >= BATCH:
            Badge.objects.bulk_update(changed, ["detail_msg"])
            changed = []
    Badge.objects.bulk_update(changed, ["detail_msg"])


# The demo's telesales plan, as seeds before issue 18 wrote it (an internal reference in a text
# people read on the plans page), and as it is written now.
DEMO_TELESALES_DESCRIPTION = (
    "底薪3500 + 考核（呼出接通数量 + 呼出接通时间）+ 成单提成1.5%~3%（种子 002）。",
    "底薪3500 + 考核（呼出接通数量 + 呼出接通时间）+ 成单提成1.5%~3%。",
)


def demo_plan_description_convert(apps, schema_editor) -> None:
    """The demo's plan description without its internal reference, where nobody has changed it."""
    Plan = apps.get_model("incentives", "Plan")
    old, new = DEMO_TELESALES_DESCRIPTION
    Plan.objects.filter(description=old).update(description=new)
