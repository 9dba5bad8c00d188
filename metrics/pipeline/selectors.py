"""Reading the sales pipeline: stuck deals as a viewer may see them, who may act on one, the
response-time status of a breakthrough plan, a lead's stage history and the follow-up health
report per member. The counts behind figures and grids (the funnel, the stage ageing, the calls
by hour, the "best hours" grids) are in metrics.pipeline.reports.

Scoping follows teams/selectors/scoping.py: admins and HR see every stuck deal (HR read-only);
managers those of their stores; team leads those of the members of the teams they lead (in that
team's store); staff their own only. Other engineers may import from here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from metrics.models import (
    OPEN_STAGES,
    Lead,
    LeadStage,
    LeadStageChange,
    StuckDeal,
)
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Role, RoleGrant, Store, Team, TeamMembership
from teams.selectors.history import account_holder_subquery
from teams.selectors.scoping import Viewer, member_list, team_list

PLAN_MIN_LENGTH = 20  # a plan names the blocker, the next step and a date: a sentence at least
RESPONSE_MIN_LENGTH = 10
TEXT_MAX_LENGTH = 4000

# --- response time of a breakthrough plan ------------------------------------------------------

NO_PLAN = "no_plan"  # the owner has not submitted a plan (the clock has not started)
WAITING = "waiting"  # plan submitted, not answered, deadline not passed
ON_TIME = "on_time"  # answered within the store's response hours (the boundary itself counts)
LATE = "late"  # answered after the deadline
OVERDUE = "overdue"  # not answered, deadline passed
CLOSED = "closed"  # not answered, but the deal left negotiation before the deadline

SLA_STATUSES = {
    NO_PLAN: (_("No plan yet"), ""),
    WAITING: (_("Awaiting answer"), "info"),
    ON_TIME: (_("Answered on time"), "ok"),
    LATE: (_("Answered late"), "warn"),
    OVERDUE: (_("Answer overdue"), "bad"),
    CLOSED: (_("Closed before an answer was due"), ""),
}
OPEN, CLOSED_DEALS = "open", "closed"
DEAL_STATES = {OPEN: _("In negotiation"), CLOSED_DEALS: _("Left negotiation")}


def sla_status(
    *,
    submitted: dt.datetime | None,
    responded: dt.datetime | None,
    closed: dt.datetime | None,
    hours: int,
    now: dt.datetime,
) -> str:
    """The plan's response status: the clock runs from the plan's submission for `hours` hours;
    an answer at exactly the deadline is on time; it stops when the deal leaves negotiation."""
    if submitted is None:
        return NO_PLAN
    deadline = submitted + dt.timedelta(hours=hours)
    if responded is not None:
        return ON_TIME if responded <= deadline else LATE
    if closed is not None and closed <= deadline:
        return CLOSED
    return OVERDUE if now > deadline else WAITING


def stuck_deal_sla(*, deal: StuckDeal, now: dt.datetime | None = None) -> str:
    return sla_status(
        submitted=deal.plan_submitted_at,
        responded=deal.responded_at,
        closed=deal.closed_at,
        hours=deal.store.stuck_deal_response_hours,
        now=now or timezone.now(),
    )


def stuck_deal_deadline(*, deal: StuckDeal) -> dt.datetime | None:
    """When the answer to the plan is due; None before a plan is submitted."""
    if deal.plan_submitted_at is None:
        return None
    return deal.plan_submitted_at + dt.timedelta(hours=deal.store.stuck_deal_response_hours)


def stuck_deal_response_time(*, deal: StuckDeal) -> dt.timedelta | None:
    if deal.plan_submitted_at is None or deal.responded_at is None:
        return None
    return deal.responded_at - deal.plan_submitted_at


def _sla_q(sla: str, *, hours: int, now: dt.datetime) -> Q:
    """The same rule as sla_status, as a filter on the deals of a store with these hours."""
    window = dt.timedelta(hours=hours)
    deadline = F("plan_submitted_at") + window
    unanswered = Q(plan_submitted_at__isnull=False, responded_at__isnull=True)
    not_closed_in_time = Q(closed_at__isnull=True) | Q(closed_at__gt=deadline)
    return {
        NO_PLAN: Q(plan_submitted_at__isnull=True),
        ON_TIME: Q(responded_at__isnull=False, responded_at__lte=deadline),
        LATE: Q(responded_at__isnull=False, responded_at__gt=deadline),
        CLOSED: unanswered & Q(closed_at__isnull=False, closed_at__lte=deadline),
        OVERDUE: unanswered & not_closed_in_time & Q(plan_submitted_at__lt=now - window),
        WAITING: unanswered & not_closed_in_time & Q(plan_submitted_at__gte=now - window),
    }[sla]


# --- who sees and does what --------------------------------------------------------------------


def stuck_deal_list(*, viewer: Viewer) -> QuerySet[StuckDeal]:
    """Stuck deals the viewer may see (see the module's docstring)."""
    deals = StuckDeal.objects.select_related("store", "lead", "lead__account", "member", "plan_by", "responded_by")
    if viewer.sees_everything:
        return deals
    if not viewer.is_authenticated:
        return deals.none()
    q = Q(store_id__in=viewer.managed_store_ids)
    if viewer.led_team_ids:
        led = TeamMembership.objects.filter(
            team_id__in=viewer.led_team_ids, team__store_id=OuterRef("store_id"), member_id=OuterRef("member_id")
        )
        q |= Q(Exists(led))
    if viewer.member_id:
        q |= Q(member_id=viewer.member_id)
    return deals.filter(q)


def stuck_deals_filter(
    *,
    deals: QuerySet[StuckDeal],
    store_id: int | None = None,
    team_id: int | None = None,
    member_id: int | None = None,
    state: str = "",
    sla: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[StuckDeal]:
    """Narrow a (scoped) list: a store, a team (deals of members who belong or belonged to it),
    a member, open or closed, a response status."""
    now = now or timezone.now()
    if store_id:
        deals = deals.filter(store_id=store_id)
    if team_id:
        deals = deals.filter(
            Exists(TeamMembership.objects.filter(team_id=team_id, member_id=OuterRef("member_id"))),
            Exists(TeamMembership.objects.filter(team_id=team_id, team__store_id=OuterRef("store_id"))),
        )
    if member_id:
        deals = deals.filter(member_id=member_id)
    if state == OPEN:
        deals = deals.filter(closed_at__isnull=True)
    elif state == CLOSED_DEALS:
        deals = deals.filter(closed_at__isnull=False)
    if sla in SLA_STATUSES:
        q = Q(pk__in=[])
        hours = Store.objects.filter(pk__in=deals.values("store_id")).values_list("pk", "stuck_deal_response_hours")
        for store_pk, store_hours in hours:
            q |= Q(store_id=store_pk) & _sla_q(sla, hours=store_hours, now=now)
        deals = deals.filter(q)
    return deals


def stuck_deal_counts_get(*, viewer: Viewer, now: dt.datetime | None = None) -> dict[str, int]:
    """How many stuck deals the viewer sees are open, open without a plan, open and overdue."""
    open_deals = stuck_deal_list(viewer=viewer).filter(closed_at__isnull=True)
    return {
        "open": open_deals.count(),
        "no_plan": open_deals.filter(plan_submitted_at__isnull=True).count(),
        "overdue": stuck_deals_filter(deals=open_deals, sla=OVERDUE, now=now).count(),
    }


def member_list_of_stuck_deals(*, viewer: Viewer) -> QuerySet[Member]:
    """The members of the stuck deals the viewer sees (the list's member filter), by name."""
    members = stuck_deal_list(viewer=viewer).values("member_id")
    return Member.objects.filter(pk__in=members).order_by("display_name")


def stuck_deal_can_submit_plan(*, viewer: Viewer, deal: StuckDeal) -> bool:
    """Only the member who owns the deal (its member at detection) writes the plan."""
    return viewer.member_id is not None and deal.member_id == viewer.member_id


def _leads_team_of(*, viewer: Viewer, deal: StuckDeal, day: dt.date) -> bool:
    if not viewer.led_team_ids or deal.member_id is None:
        return False
    return (
        TeamMembership.objects.filter(
            member_id=deal.member_id, team_id__in=viewer.led_team_ids, team__store_id=deal.store_id, start_date__lte=day
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .exists()
    )


def stuck_deal_can_respond(*, viewer: Viewer, deal: StuckDeal) -> bool:
    """Admins, the store's managers and the lead of the owner's current team (in the deal's
    store) answer a plan; never the owner themselves, never HR (read-only)."""
    if viewer.member_id is not None and deal.member_id == viewer.member_id:
        return False
    if viewer.is_admin or deal.store_id in viewer.managed_store_ids:
        return True
    return _leads_team_of(viewer=viewer, deal=deal, day=store_today(deal.store))


def stuck_deal_responder_emails(*, deal: StuckDeal, day: dt.date) -> set[str]:
    """E-mail addresses of those who answer the deal's plan: the store's managers and the lead of
    the owner's team(s) in that store on `day`."""
    emails = set(
        RoleGrant.objects.filter(role=Role.MANAGER, store_id=deal.store_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if deal.member_id:
        emails |= set(
            TeamMembership.objects.filter(member_id=deal.member_id, team__store_id=deal.store_id, start_date__lte=day)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
            .filter(team__lead__user__isnull=False)
            .exclude(team__lead_id=deal.member_id)
            .exclude(team__lead__user__email="")
            .values_list("team__lead__user__email", flat=True)
        )
    return emails


def lead_owner_on(day: dt.date) -> Subquery:
    """For a queryset of leads (or anything with an account_id): the member holding the account on
    the local day `day` (the one rule of teams.selectors.history)."""
    return account_holder_subquery(day=day)


# --- a lead's stage history --------------------------------------------------------------------


@dataclass(frozen=True)
class StageStep:
    change: LeadStageChange
    until: dt.datetime | None  # the next change, None for the current stage
    seconds: int  # time spent in the stage (until the next change, or until now)


def lead_stage_history(*, lead: Lead, now: dt.datetime | None = None) -> list[StageStep]:
    """The lead's stage changes, oldest first, each with the time spent in that stage."""
    now = now or timezone.now()
    changes = list(LeadStageChange.objects.filter(lead=lead).select_related("account").order_by("changed_at", "pk"))
    steps = []
    for i, change in enumerate(changes):
        until = changes[i + 1].changed_at if i + 1 < len(changes) else None
        end = until or (change.changed_at if change.stage in (LeadStage.WON, LeadStage.LOST) else now)
        steps.append(
            StageStep(change=change, until=until, seconds=max(0, int((end - change.changed_at).total_seconds())))
        )
    return steps


# --- which members a viewer may report on ------------------------------------------------------


def pipeline_members(*, viewer: Viewer, store: Store, team_id: int | None = None) -> QuerySet[Member]:
    """Members of the store's teams (or one of them) the viewer may see; staff: themselves."""
    in_store = TeamMembership.objects.filter(team__store=store)
    if team_id:
        in_store = in_store.filter(team_id=team_id)
    return member_list(viewer=viewer).filter(pk__in=in_store.values("member_id")).order_by("display_name", "pk")


def pipeline_teams(*, viewer: Viewer, store: Store) -> list[Team]:
    """The store's teams the viewer sees (the reports' team filter)."""
    return list(team_list(viewer=viewer).filter(store=store))


def viewer_oversees_store(*, viewer: Viewer, store: Store) -> bool:
    """Whether the viewer sees the whole store (admins, HR, its managers)."""
    return viewer.sees_everything or store.pk in viewer.managed_store_ids


# --- follow-up health report -------------------------------------------------------------------

STALE_DAYS = 3  # staff update stages daily (seed 001): three days without a change is stale
AMBER_STALE_SHARE = Decimal("0.10")
RED_STALE_SHARE = Decimal("0.30")
GREEN, AMBER, RED, IDLE = "green", "amber", "red", "idle"
HEALTH_STATUSES = {
    GREEN: (_("Healthy"), "ok"),
    AMBER: (_("Watch"), "warn"),
    RED: (_("Act now"), "bad"),
    IDLE: (_("No open leads"), ""),
}
HEALTH_ORDER = {RED: 0, AMBER: 1, GREEN: 2, IDLE: 3}


@dataclass
class HealthRow:
    member: Member
    open_leads: int = 0  # now: open leads of the accounts the member holds today
    stale_leads: int = 0  # … of which without a stage change for more than stale_days
    stage_seconds: int = 0  # … their time in the current stage, summed
    stuck_open: int = 0  # now: the member's stuck deals still in negotiation
    stuck_open_without_plan: int = 0
    stuck_detected: int = 0  # in the period: stuck deals found
    plans_submitted: int = 0  # in the period: plans submitted
    answered_on_time: int = 0  # … of those, answered within the store's response hours
    answered_late: int = 0
    overdue: int = 0  # … of those, not answered and past the deadline
    status: str = IDLE

    @property
    def stale_share(self) -> Decimal | None:
        if not self.open_leads:
            return None
        return Decimal(self.stale_leads) / Decimal(self.open_leads)

    @property
    def average_stage_days(self) -> Decimal | None:
        if not self.open_leads:
            return None
        days = Decimal(self.stage_seconds) / Decimal(86400 * self.open_leads)
        return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def health_status(row: HealthRow) -> str:
    """Red: a stuck deal still without a plan, or ≥ 30% of open leads stale. Amber: any stuck
    deal open, or ≥ 10% stale. Green: open leads and neither. Idle: no open lead, nothing stuck."""
    share = row.stale_share
    if row.stuck_open_without_plan or (share is not None and share >= RED_STALE_SHARE):
        return RED
    if row.stuck_open or (share is not None and share >= AMBER_STALE_SHARE):
        return AMBER
    return GREEN if row.open_leads else IDLE


def period_bounds(*, store: Store, period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period's local days as [start, end) aware datetimes of the store's zone."""
    zone = zoneinfo.ZoneInfo(store.time_zone)
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def followup_health_report(
    *,
    store: Store,
    members: list[Member],
    period: Period,
    now: dt.datetime | None = None,
    stale_days: int = STALE_DAYS,
) -> list[HealthRow]:
    """Per member: the pipeline now (open leads, stale ones, average days in the current stage,
    open stuck deals) and the period's stuck deals, plans and their answers. Ordered by name."""
    now = now or timezone.now()
    today = store_today(store, now)
    rows = {m.pk: HealthRow(member=m) for m in members}
    if not rows:
        return []
    stale_before = now - dt.timedelta(days=stale_days)
    open_leads = (
        Lead.objects.filter(store=store, stage__in=OPEN_STAGES, stage_changed_at__lte=now)
        .annotate(owner=lead_owner_on(today))
        .filter(owner__in=list(rows))
        .values_list("owner", "stage_changed_at")
    )
    for owner, changed in open_leads:
        row = rows[owner]
        row.open_leads += 1
        row.stale_leads += changed < stale_before
        row.stage_seconds += int((now - changed).total_seconds())
    start, end = period_bounds(store=store, period=period)
    deals = StuckDeal.objects.filter(store=store, member_id__in=list(rows)).filter(
        Q(closed_at__isnull=True) | Q(detected_at__gte=start) | Q(plan_submitted_at__gte=start)
    )
    hours = store.stuck_deal_response_hours
    for deal in deals.values("member_id", "detected_at", "plan_submitted_at", "responded_at", "closed_at"):
        row = rows[deal["member_id"]]
        if deal["closed_at"] is None and deal["detected_at"] <= now:
            row.stuck_open += 1
            row.stuck_open_without_plan += deal["plan_submitted_at"] is None
        if start <= deal["detected_at"] < end:
            row.stuck_detected += 1
        submitted = deal["plan_submitted_at"]
        if submitted is not None and start <= submitted < end:
            row.plans_submitted += 1
            status = sla_status(
                submitted=submitted, responded=deal["responded_at"], closed=deal["closed_at"], hours=hours, now=now
            )
            row.answered_on_time += status == ON_TIME
            row.answered_late += status == LATE
            row.overdue += status == OVERDUE
    for row in rows.values():
        row.status = health_status(row)
    return list(rows.values())
