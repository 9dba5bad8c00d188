"""Stuck deals (谈判卡点预警, seed 001): deals in negotiation longer than the store allows are
detected and announced, the owner submits a breakthrough plan (《卡点突破方案》) and a manager or
the team lead answers it within the store's response hours.

Detection is set-based (one query for the candidates, one bulk INSERT, one UPDATE for the deals
that left negotiation) under a per-store lock, so running it twice, or twice at once, leaves the
same rows and announces each stuck deal once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from metrics.db import store_lock
from metrics.models import Lead, LeadStage, LeadStageChange, StuckDeal
from metrics.pipeline.selectors import (
    PLAN_MIN_LENGTH,
    RESPONSE_MIN_LENGTH,
    TEXT_MAX_LENGTH,
    lead_owner_on,
    stuck_deal_can_respond,
    stuck_deal_can_submit_plan,
    stuck_deal_responder_emails,
)
from perfmgmt.common.periods import store_today
from teams.models import Store
from teams.selectors.scoping import Viewer

STUCK_DEALS_LOCK = 7411  # pg_advisory_xact_lock namespace of detection (rollups use 7402)
NEGOTIATION = LeadStage.NEGOTIATION


def _close_left(store: Store) -> int:
    """Close the store's open stuck deals whose lead has left that stay in negotiation: at the
    first stage change after the stay began that is not negotiation (its stage is the outcome),
    or, when the history has none, at the lead's current stage and its time."""
    exit_change = (
        LeadStageChange.objects.filter(lead_id=OuterRef("lead_id"), changed_at__gt=OuterRef("negotiation_since"))
        .exclude(stage=NEGOTIATION)
        .order_by("changed_at", "pk")
    )
    lead_left = Lead.objects.filter(pk=OuterRef("lead_id")).exclude(stage=NEGOTIATION)
    return (
        StuckDeal.objects.filter(store=store, closed_at__isnull=True)
        .filter(Q(Exists(exit_change)) | Q(Exists(lead_left)))
        .update(
            closed_at=Coalesce(
                Subquery(exit_change.values("changed_at")[:1]), Subquery(lead_left.values("stage_changed_at")[:1])
            ),
            outcome=Coalesce(Subquery(exit_change.values("stage")[:1]), Subquery(lead_left.values("stage")[:1])),
        )
    )


def stuck_deals_detect(*, store: Store, now: dt.datetime | None = None) -> int:
    """Record the store's deals stuck in negotiation and close those that left it; returns how
    many stuck deals were newly recorded (each is e-mailed to its owner, team lead and managers).

    A deal is stuck when it is in negotiation now and its stay began (the latest stage change
    into negotiation, else the lead's stage time) more than `store.stuck_deal_days` ago. It is
    recorded once per stay, with the member who owns the lead's account on the store's local day
    of detection: the person who has to write the plan now."""
    now = now or timezone.now()
    today = store_today(store, now)
    latest_entry = (
        LeadStageChange.objects.filter(lead_id=OuterRef("pk"), stage=NEGOTIATION, changed_at__lte=now)
        .order_by("-changed_at")
        .values("changed_at")[:1]
    )
    already = StuckDeal.objects.filter(lead_id=OuterRef("pk"), negotiation_since=OuterRef("since"))
    with transaction.atomic():
        store_lock(STUCK_DEALS_LOCK, store.pk)
        _close_left(store)
        candidates = list(
            Lead.objects.filter(store=store, stage=NEGOTIATION)
            .annotate(since=Coalesce(Subquery(latest_entry), F("stage_changed_at")))
            .filter(since__lt=now - dt.timedelta(days=store.stuck_deal_days))
            .exclude(Exists(already))
            .annotate(owner=lead_owner_on(today))
            .values_list("pk", "since", "owner")
        )
        StuckDeal.objects.bulk_create(
            [
                StuckDeal(store=store, lead_id=lead_id, negotiation_since=since, member_id=owner, detected_at=now)
                for lead_id, since, owner in candidates
            ],
            ignore_conflicts=True,
        )
        if candidates:
            new = list(
                StuckDeal.objects.filter(store=store, detected_at=now, lead_id__in=[c[0] for c in candidates])
                .select_related("lead", "member__user", "store")
                .order_by("negotiation_since", "pk")
            )
            transaction.on_commit(lambda: _announce(store=store, deals=new, today=today))
    return len(candidates)


# --- e-mail ----------------------------------------------------------------------------------


def _announce(*, store: Store, deals: list[StuckDeal], today: dt.date) -> dict[str, int]:
    """One e-mail per recipient listing their new stuck deals (the owner's own, or those of the
    teams they lead or the store they manage), through Django's e-mail backend."""
    by_email: dict[str, list[StuckDeal]] = defaultdict(list)
    for deal in deals:
        for email in stuck_deal_responder_emails(deal=deal, day=today) | _owner_email(deal):
            by_email[email].append(deal)
    with translation.override(settings.LANGUAGE_CODE):
        for email, mine in sorted(by_email.items()):
            subject = _("%(count)s deals stuck in negotiation at %(store)s") % {"count": len(mine), "store": store.name}
            lines = [
                _("%(lead)s (%(customer)s): in negotiation since %(since)s, owner %(owner)s, %(url)s")
                % {
                    "lead": deal.lead.lead_id,
                    "customer": deal.lead.customer,
                    "since": timezone.localtime(deal.negotiation_since, zoneinfo.ZoneInfo(store.time_zone)).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    "owner": deal.member.display_name if deal.member_id else _("unassigned"),
                    "url": reverse("pipeline:stuck_detail", args=[deal.pk]),
                }
                for deal in mine
            ]
            intro = _(
                "These deals have been in negotiation for more than %(days)s days. The owner submits a "
                "breakthrough plan; the team lead or a manager answers it within %(hours)s hours."
            ) % {"days": store.stuck_deal_days, "hours": store.stuck_deal_response_hours}
            send_mail(subject, "\n".join([intro, "", *lines]), None, [email])
    return {email: len(mine) for email, mine in by_email.items()}


def _owner_email(deal: StuckDeal) -> set[str]:
    user = deal.member.user if deal.member_id and deal.member.user_id else None
    return {user.email} if user and user.email else set()


def _mail(subject: str, body: str, recipients: set[str]) -> None:
    if recipients:
        send_mail(subject, body, None, sorted(recipients))


# --- the breakthrough plan and the response ---------------------------------------------------


def _text(value: str, *, field: str, minimum: int) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise ValidationError({field: _("Write at least %(count)s characters.") % {"count": minimum}}, code="too_short")
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(
            {field: _("Write at most %(count)s characters.") % {"count": TEXT_MAX_LENGTH}}, code="too_long"
        )
    return text


def stuck_deal_plan_submit(
    *, viewer: Viewer, user, deal: StuckDeal, plan: str, now: dt.datetime | None = None
) -> StuckDeal:
    """The owner's breakthrough plan for a deal still stuck; once, and it starts the responders'
    clock (store.stuck_deal_response_hours). Only the member who owns the deal may submit it."""
    if not stuck_deal_can_submit_plan(viewer=viewer, deal=deal):
        raise PermissionDenied(_("Only the deal's owner submits its breakthrough plan."))
    text = _text(plan, field="plan", minimum=PLAN_MIN_LENGTH)
    now = now or timezone.now()
    with transaction.atomic():
        changed = StuckDeal.objects.filter(pk=deal.pk, plan_submitted_at__isnull=True, closed_at__isnull=True).update(
            plan=text, plan_submitted_at=now, plan_by=user
        )
        if not changed:
            current = StuckDeal.objects.get(pk=deal.pk)
            if current.closed_at:
                raise ValidationError(_("This deal has left negotiation; no plan is needed any more."))
            raise ValidationError(_("A breakthrough plan was already submitted for this deal."))
        deal.refresh_from_db()
        recipients = stuck_deal_responder_emails(deal=deal, day=store_today(deal.store, now))
        transaction.on_commit(lambda: _mail_plan(deal, recipients))
    return deal


def _mail_plan(deal: StuckDeal, recipients: set[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Breakthrough plan for deal %(lead)s: answer within %(hours)s hours") % {
            "lead": deal.lead.lead_id,
            "hours": deal.store.stuck_deal_response_hours,
        }
        body = "\n".join(
            [
                _("%(owner)s submitted a breakthrough plan for %(lead)s (%(customer)s):")
                % {
                    "owner": deal.member.display_name if deal.member_id else "",
                    "lead": deal.lead.lead_id,
                    "customer": deal.lead.customer,
                },
                "",
                deal.plan,
                "",
                reverse("pipeline:stuck_detail", args=[deal.pk]),
            ]
        )
    _mail(subject, body, recipients)


def stuck_deal_respond(
    *, viewer: Viewer, user, deal: StuckDeal, response: str, now: dt.datetime | None = None
) -> StuckDeal:
    """A manager's or the team lead's strategy support for the owner's plan; once. Whether it came
    within the store's response hours is read from the two times (selectors.stuck_deal_sla)."""
    if not stuck_deal_can_respond(viewer=viewer, deal=deal):
        raise PermissionDenied(_("Plans are answered by the store's managers and the owner's team lead."))
    text = _text(response, field="response", minimum=RESPONSE_MIN_LENGTH)
    now = now or timezone.now()
    with transaction.atomic():
        changed = StuckDeal.objects.filter(
            pk=deal.pk, plan_submitted_at__isnull=False, responded_at__isnull=True, closed_at__isnull=True
        ).update(response=text, responded_at=now, responded_by=user)
        if not changed:
            current = StuckDeal.objects.get(pk=deal.pk)
            if current.closed_at:
                raise ValidationError(_("This deal has left negotiation; it needs no answer any more."))
            if current.plan_submitted_at is None:
                raise ValidationError(_("The owner has not submitted a breakthrough plan yet."))
            raise ValidationError(_("This plan has already been answered."))
        deal.refresh_from_db()
        owner = _owner_email(deal)
        transaction.on_commit(lambda: _mail_response(deal, owner))
    return deal


def _mail_response(deal: StuckDeal, recipients: set[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Your breakthrough plan for deal %(lead)s was answered") % {"lead": deal.lead.lead_id}
        body = "\n".join([deal.response, "", reverse("pipeline:stuck_detail", args=[deal.pk])])
    _mail(subject, body, recipients)
