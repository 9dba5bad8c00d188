"""Badges on other apps' pages: a template loads this library to show a member's badges, so that
the page's app (metrics: the personal dashboard) never imports incentives (the apps' order,
teams <- metrics <- reviews <- incentives, in pyproject.toml's import contracts)."""

from __future__ import annotations

import datetime as dt

from django import template

from incentives.selectors.badges import BadgeRow, member_badges_recent
from teams.models import Member

register = template.Library()


@register.simple_tag
def recent_badges(member: Member, today: dt.date) -> list[BadgeRow]:
    """{% recent_badges member today as badges %}: the member's badges of the last 30 days."""
    return member_badges_recent(member=member, today=today)
