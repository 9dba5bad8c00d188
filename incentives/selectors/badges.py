"""Badges as the personal page shows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from incentives.models import Badge, BadgeRule
from incentives.services.badges import badge_name
from teams.models import Member


@dataclass(frozen=True)
class BadgeRow:
    key: str
    name: str
    period_start: dt.date
    detail: str


def member_badges_recent(*, member: Member, today: dt.date, days: int = 30) -> list[BadgeRow]:
    """The member's badges of the last `days` days, newest first (at most 12)."""
    badges = list(Badge.objects.filter(member=member, period_start__gte=today - dt.timedelta(days=days))[:12])
    rules = {r.key: r for r in BadgeRule.objects.filter(store_id__in={b.store_id for b in badges})}
    return [BadgeRow(b.key, badge_name(b.key, rules=rules), b.period_start, b.detail_text) for b in badges]
