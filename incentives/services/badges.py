"""Badges: public praise for a day, a week or a month of good work, awarded from the orders, chats
and day rollups, and read back for a team's badge wall.

Built-in badges:
- lightning deal (a day): a paid order credited to the member, paid within an hour of the start of
  the buyer's chat with them (the credited session's start stands for the first inquiry);
- weekly sprint (an ISO week): the member's best week of GMV, above every earlier week they
  worked in the 12 weeks before it;
- perfect response (a day): at least 50 chat sessions, every one answered within 30 seconds.
And the store's own rules (BadgeRule): a member KPI of a day, week or month compared with a
threshold.

A period is judged once it has ended within the window awarded (a week on its Sunday, a month on
its last day), over all its days. Awarding is idempotent (one badge per member, store, key and
period, by a unique constraint): running it again, or over overlapping windows, adds nothing.
Badges are praise, not pay: one earned stays when later data would not earn it any more.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import translation
from django.utils.translation import get_language

from incentives import calc
from incentives.models import Badge, BadgeRule
from metrics.kpis.selectors import kpi_table
from metrics.kpis.values import member_kpi_table_get, member_measures_get
from metrics.messages import MessageData, Param, choice, kpi_value, message, message_render, money, percent
from metrics.models import ChatSession, Order
from metrics.registry import KPI_BY_KEY, Level
from perfmgmt.common.periods import month_last
from teams.models import Member, Store, Team, TeamMembership
from teams.selectors.scoping import Viewer, team_list_overseen

LIGHTNING_DEAL, WEEKLY_SPRINT, PERFECT_RESPONSE = "lightning_deal", "weekly_sprint", "perfect_response"
LIGHTNING_WITHIN = dt.timedelta(hours=1)
SPRINT_WEEKS = 12
PERFECT_MIN_SESSIONS = 50  # in a day, every one answered within 30 s (the engine's answered_30s measure)

# The built-in badges' names and what earns them, in both languages (like the KPI registry).
BADGE_NAMES: dict[str, dict[str, str]] = {
    LIGHTNING_DEAL: {"zh-hans": "闪电成交", "en": "Lightning deal"},
    WEEKLY_SPRINT: {"zh-hans": "周冲刺", "en": "Weekly sprint"},
    PERFECT_RESPONSE: {"zh-hans": "完美响应", "en": "Perfect response"},
}
BADGE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    LIGHTNING_DEAL: {
        "zh-hans": "买家首次咨询后一小时内付款成交。",
        "en": "A buyer paid within an hour of their first inquiry.",
    },
    WEEKLY_SPRINT: {
        "zh-hans": "本周销售额创近12周个人最佳。",
        "en": "The week's GMV beat every earlier week of the last 12.",
    },
    PERFECT_RESPONSE: {
        "zh-hans": "一天接待至少50个会话，全部在30秒内响应。",
        "en": "At least 50 chat sessions in a day, every one answered within 30 seconds.",
    },
}
BUILT_IN_PERIODS = {LIGHTNING_DEAL: "day", WEEKLY_SPRINT: "week", PERFECT_RESPONSE: "day"}
_SIGNS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def _language() -> str:
    return "zh-hans" if (get_language() or settings.LANGUAGE_CODE or "").startswith("zh") else "en"


def badge_name(key: str, *, rules: dict[str, BadgeRule] | None = None) -> str:
    """A built-in badge's name in the active language; a rule's name as its manager wrote it."""
    if key in BADGE_NAMES:
        return BADGE_NAMES[key][_language()]
    rule = (rules or {}).get(key)
    return rule.name if rule else key


def badge_description(key: str, *, rules: dict[str, BadgeRule] | None = None) -> str:
    if key in BADGE_DESCRIPTIONS:
        return BADGE_DESCRIPTIONS[key][_language()]
    rule = (rules or {}).get(key)
    if rule is None or rule.kpi_key not in KPI_BY_KEY:
        return ""
    kpi = KPI_BY_KEY[rule.kpi_key]
    return f"{kpi.label} {_SIGNS.get(rule.comparison, rule.comparison)} {_threshold_text(rule)}"


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def period_end(period: str, start: dt.date) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=6)
    if period == "month":
        return month_last(start)
    return start


def _periods(period: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the periods that end within start … end."""
    firsts = []
    if period == "day":
        day = start
        while day <= end:
            firsts.append(day)
            day += dt.timedelta(days=1)
    elif period == "week":
        monday = _monday(start)
        while monday + dt.timedelta(days=6) <= end:
            if monday + dt.timedelta(days=6) >= start:
                firsts.append(monday)
            monday += dt.timedelta(days=7)
    elif period == "month":
        first = start.replace(day=1)
        while month_last(first) <= end:
            if month_last(first) >= start:
                firsts.append(first)
            first = month_last(first) + dt.timedelta(days=1)
    return firsts


def _badge(*, member_id: int, store: Store, key: str, period_start: dt.date, detail: MessageData) -> Badge:
    """A badge with its detail as a message (shown in the reader's language) and, for the admin,
    its text in the active language (badges_award: the site's)."""
    text = message_render(message=detail)[:200]
    return Badge(member_id=member_id, store=store, key=key, period_start=period_start, detail=text, detail_msg=detail)


# --- awarding ------------------------------------------------------------------------------


def _lightning_deals(store: Store, start: dt.date, end: dt.date) -> list[Badge]:
    first_inquiry = ChatSession.objects.filter(pk=OuterRef("credited_session_id")).values("started_at")[:1]
    orders = (
        Order.objects.filter(
            store=store,
            credited_date__range=(start, end),
            credited_member_id__isnull=False,
            credited_session_id__isnull=False,
            paid_at__isnull=False,
        )
        .annotate(inquiry_at=Subquery(first_inquiry))
        .values_list("order_id", "credited_member_id", "credited_date", "paid_at", "inquiry_at")
        .order_by("credited_date", "paid_at", "order_id")
    )
    deals: dict[tuple[int, dt.date], list[tuple[dt.timedelta, str]]] = defaultdict(list)
    for order_id, member_id, day, paid_at, inquiry_at in orders:
        if inquiry_at is not None and dt.timedelta(0) <= paid_at - inquiry_at <= LIGHTNING_WITHIN:
            deals[member_id, day].append((paid_at - inquiry_at, order_id))
    members = set(Member.objects.filter(pk__in={m for m, _ in deals}).values_list("pk", flat=True))
    badges = []
    for (member_id, day), found in deals.items():
        if member_id not in members:
            continue
        fastest, order_id = min(found)
        minutes = int(fastest.total_seconds() // 60)
        more = f" (+{len(found) - 1})" if len(found) > 1 else ""
        detail = message("incentives.badge_lightning", order=order_id, time=f"{minutes // 60}:{minutes % 60:02d}",
                         more=more)  # fmt: skip
        badges.append(_badge(member_id=member_id, store=store, key=LIGHTNING_DEAL, period_start=day, detail=detail))
    return badges


def _weekly_sprints(store: Store, start: dt.date, end: dt.date) -> list[Badge]:
    weeks = _periods("week", start, end)
    if not weeks:
        return []
    first = weeks[0] - dt.timedelta(weeks=SPRINT_WEEKS)
    # The members' GMV KPI per ISO week (a row for every week with day rollups: a week the
    # member worked, even without sales).
    table = member_kpi_table_get(grain="week", start=first, end=weeks[-1] + dt.timedelta(days=6), only=["gmv"],
                             store_ids=[store.pk])  # fmt: skip
    gmv = {(int(r["entity_id"]), r["period_start"]): r["gmv"] for r in table.to_dict("records")}
    badges = []
    for (member_id, monday), yuan in sorted(gmv.items()):
        if monday not in weeks or yuan <= 0:
            continue
        earlier = [gmv[member_id, monday - dt.timedelta(weeks=n)] for n in range(1, SPRINT_WEEKS + 1)
                   if (member_id, monday - dt.timedelta(weeks=n)) in gmv]  # fmt: skip
        if earlier and yuan > max(earlier):
            detail = message("incentives.badge_sprint", week=money(yuan), best=money(max(earlier)))
            badges.append(_badge(member_id=member_id, store=store, key=WEEKLY_SPRINT, period_start=monday,
                                 detail=detail))  # fmt: skip
    return badges


def _perfect_responses(store: Store, start: dt.date, end: dt.date) -> list[Badge]:
    """Member-days of at least PERFECT_MIN_SESSIONS sessions (the sessions KPI) all answered
    within 30 s, from the KPI engine's day measures."""
    days = member_measures_get(grain="day", start=start, end=end, names=["sessions", "answered_30s"],
                                 store_ids=[store.pk])  # fmt: skip
    perfect = days.loc[(days["sessions"] >= PERFECT_MIN_SESSIONS) & (days["answered_30s"] == days["sessions"])]
    return [
        _badge(member_id=int(member_id), store=store, key=PERFECT_RESPONSE, period_start=date,
               detail=message("incentives.badge_perfect", answered=int(sessions), sessions=int(sessions)))
        for member_id, date, sessions in perfect[["entity_id", "period_start", "sessions"]].itertuples(index=False)
    ]  # fmt: skip


def _threshold_param(rule: BadgeRule) -> Param:
    """A rule's threshold: a rate as a percentage (≥ 40%), anything else as its manager wrote it."""
    kpi = KPI_BY_KEY[rule.kpi_key]
    if kpi.is_rate:
        return percent(rule.threshold, places=2)
    return f"{rule.threshold.normalize():f}"


def _threshold_text(rule: BadgeRule) -> str:
    return message_render(message=message("incentives.value", value=_threshold_param(rule)))


def _rule_badges(rule: BadgeRule, store: Store, start: dt.date, end: dt.date) -> list[Badge]:
    kpi = KPI_BY_KEY.get(rule.kpi_key)
    if kpi is None or kpi.member is None or rule.key in BADGE_NAMES:
        return []  # not a member KPI, or a key the built-in badges use
    periods = set(_periods(rule.period, start, end))
    if not periods:
        return []
    first, last = min(periods), period_end(rule.period, max(periods))
    table = kpi_table(level=Level.MEMBER, grain=rule.period, start=first, end=last, store_ids=[store.pk])
    badges = []
    for row in table.to_dict("records"):
        value, period_start = row.get(kpi.key), row["period_start"]
        if value is None or value != value or period_start not in periods:  # missing or NaN
            continue
        if calc.compares(Decimal(str(value)), rule.comparison, rule.threshold):
            detail = message(
                "incentives.badge_rule",
                value=kpi_value(kpi.key, value),
                cmp=choice("comparison", rule.comparison),
                threshold=_threshold_param(rule),
            )
            badges.append(_badge(member_id=int(row["entity_id"]), store=store, key=rule.key,
                                 period_start=period_start, detail=detail))  # fmt: skip
    return badges


def badges_award(*, store: Store, start: dt.date, end: dt.date) -> list[Badge]:
    """Award the store's badges for the periods that end within start … end (local dates, both
    inclusive); returns the badges of those periods, those awarded before included, so a second
    run returns the same list and writes nothing."""
    if end < start:
        return []
    # The details' text is kept in the site's language, for the admin; pages render the messages.
    with translation.override(settings.LANGUAGE_CODE):
        earned = [
            *_lightning_deals(store, start, end),
            *_weekly_sprints(store, start, end),
            *_perfect_responses(store, start, end),
        ]
        for rule in BadgeRule.objects.filter(store=store).order_by("key"):
            earned += _rule_badges(rule, store, start, end)
    if not earned:
        return []
    Badge.objects.bulk_create(earned, ignore_conflicts=True)
    wanted = {(b.member_id, b.key, b.period_start) for b in earned}
    stored = Badge.objects.filter(
        store=store,
        key__in={key for _, key, _ in wanted},
        period_start__range=(min(b.period_start for b in earned), max(b.period_start for b in earned)),
    ).order_by("period_start", "key", "member_id")
    return [b for b in stored if (b.member_id, b.key, b.period_start) in wanted]


# --- the badge wall (reads) ----------------------------------------------------------------

WALL_DAYS = 30
WALL_LATEST = 50  # the wall lists this many of the newest badges (the counts cover all)


def badge_wall_teams(*, viewer: Viewer, today: dt.date) -> QuerySet[Team]:
    """Teams whose badge wall the viewer may open: those they oversee (HR and admins all, managers
    their stores', leads theirs) and the teams they belong to now: badges are public praise."""
    overseen = team_list_overseen(viewer=viewer)
    q = Q(pk__in=overseen.values("pk"))
    if viewer.member_id:
        q |= Q(
            pk__in=TeamMembership.objects.filter(member_id=viewer.member_id, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
            .values("team_id")
        )
    return Team.objects.filter(q).select_related("store").order_by("store__name", "store_id", "name", "pk")


@dataclass
class WallBadge:
    badge: Badge
    name: str
    period: str  # "2026-08-03", "08-03 – 08-09" or "2026-08"
    period_end: dt.date


@dataclass
class WallMember:
    member: Member
    counts: list[int]  # per kind of the wall, in its order
    total: int


@dataclass
class Wall:
    team: Team
    since: dt.date
    until: dt.date
    kinds: list[tuple[str, str, str]] = field(default_factory=list)  # key, name, what earns it
    members: list[WallMember] = field(default_factory=list)  # most badges first
    badges: list[WallBadge] = field(default_factory=list)  # newest first

    @property
    def latest(self) -> list[WallBadge]:
        return self.badges[:WALL_LATEST]


def _period_text(period: str, start: dt.date) -> str:
    if period == "week":
        return f"{start:%m-%d} – {start + dt.timedelta(days=6):%m-%d}"
    if period == "month":
        return f"{start:%Y-%m}"
    return f"{start:%Y-%m-%d}"


def badge_wall(*, team: Team, today: dt.date, days: int = WALL_DAYS) -> Wall:
    """The badges the team's members earned in the store for periods ending in the last `days`
    days (today included), while they were in the team."""
    since = today - dt.timedelta(days=days - 1)
    spans: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    memberships = TeamMembership.objects.filter(team=team, start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=since)
    )
    for membership in memberships:
        spans[membership.member_id].append((membership.start_date, membership.end_date or today))
    rules = {r.key: r for r in BadgeRule.objects.filter(store_id=team.store_id)}
    periods = {**{key: rule.period for key, rule in rules.items()}, **BUILT_IN_PERIODS}
    window = (since - dt.timedelta(days=31), today)  # a month's badge: its first day up to 31 days earlier
    candidates = (
        Badge.objects.filter(store_id=team.store_id, member_id__in=list(spans), period_start__range=window)
        .select_related("member")
        .order_by("-period_start", "member__display_name", "key")
    )
    wall = Wall(team=team, since=since, until=today)
    for badge in candidates:
        period = periods.get(badge.key, "day")
        end = period_end(period, badge.period_start)
        if end < since:
            continue
        if not any(first <= end and badge.period_start <= last for first, last in spans[badge.member_id]):
            continue
        name = badge_name(badge.key, rules=rules)
        wall.badges.append(WallBadge(badge, name, _period_text(period, badge.period_start), end))
    wall.badges.sort(key=lambda b: (b.period_end, b.badge.period_start), reverse=True)
    keys = [k for k in (*BADGE_NAMES, *sorted(rules)) if any(b.badge.key == k for b in wall.badges)]
    wall.kinds = [(k, badge_name(k, rules=rules), badge_description(k, rules=rules)) for k in keys]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    members: dict[int, Member] = {}
    for item in wall.badges:
        counts[item.badge.member_id][item.badge.key] += 1
        members[item.badge.member_id] = item.badge.member
    wall.members = sorted(
        (WallMember(members[m], [counts[m][k] for k in keys], sum(counts[m].values())) for m in members),
        key=lambda row: (-row.total, row.member.display_name, row.member.pk),
    )
    return wall
