"""The appraisal workflow: create a month's cycle, move it through its states, rate, comment,
score from the rollups, freeze at HR finalisation, publish, reopen. Every change after self
review is written to the audit trail; what a role may change in a state is enforced here."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from metrics.messages import MessageData, bilingual, choice, message
from reviews import scoring
from reviews.models import (
    Appraisal,
    AppraisalTemplate,
    AuditEntry,
    Cycle,
    CycleState,
    DecisionKind,
    Item,
    ItemDecision,
    ItemKind,
    ItemScore,
    ItemStatus,
    RaterRole,
    Rating,
)
from reviews.selectors.appraisals import (
    AUDITED,
    DECISION_AUDIT_SUFFIX,
    DECISION_EDITABLE,
    MANAGER_EDITABLE,
    PEER_EDITABLE,
    SELF_EDITABLE,
    Computed,
    appraisals_pending,
    cycle_compute,
    cycle_evidence,
    members_of_cycle,
    viewer_is_peer,
    viewer_moves_cycle,
    viewer_rates_as_manager,
)
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, viewer_manages_cycle, viewer_runs_appraisals

logger = logging.getLogger(__name__)


def _audit(cycle: Cycle, user, field: str, old, new, reason: str = "", appraisal: Appraisal | None = None,
           field_msg: MessageData | None = None) -> None:  # fmt: skip
    """`field`: a field's key (state, self_comment…); or, for what has no key, `field_msg` (a
    message shown in the reader's language) with `field` its text for the admin."""
    if cycle.state in AUDITED or field == "state":
        AuditEntry.objects.create(cycle=cycle, appraisal=appraisal, user=user, field=field[:120],
                                  field_msg=field_msg or {}, old="" if old is None else str(old),
                                  new="" if new is None else str(new), reason=reason)  # fmt: skip


@transaction.atomic
def cycle_create(*, viewer: Viewer, user, store: Store, team: Team | None, month: dt.date,
                 template: AppraisalTemplate, deadlines: dict[str, dt.date] | None = None) -> Cycle:  # fmt: skip
    """A month's cycle with an appraisal for every member in the team (or store) that month."""
    cycle = Cycle(store=store, team=team, month=month.replace(day=1), template=template, created_by=user,
                  **(deadlines or {}))  # fmt: skip
    if not (viewer_manages_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id) or viewer.is_hr):
        raise PermissionDenied(_("Appraisal cycles are opened by HR, the store's managers or the team's lead."))
    if team is not None and team.store_id != store.pk:
        raise ValidationError({"team": _("The team belongs to another store.")})
    if Cycle.objects.filter(team=team, month=cycle.month, store=store).exists():
        raise ValidationError({"month": _("This month already has a cycle for this team.")})
    cycle.save()
    Appraisal.objects.bulk_create([Appraisal(cycle=cycle, member=m) for m in members_of_cycle(cycle=cycle)])
    cycle_scores_refresh(cycle=cycle)
    return cycle


def cycle_advance(*, viewer: Viewer, user, cycle: Cycle, to: str, reason: str = "") -> Cycle:
    """Move the cycle one state on (HR may also reopen a finalised or published cycle into
    calibration, with a reason). Finalising computes the scores a last time and freezes them; it
    is refused while a KPI item of an appraisal has no data and no decision of HR."""
    cycle = Cycle.objects.get(pk=cycle.pk)  # its state now, not as the caller last read it
    if to == CycleState.FINALISED and viewer_moves_cycle(viewer=viewer, cycle=cycle, to=to):
        # Scored from today's data first, in a transaction of its own: when finalising is refused
        # for missing data, the cycle page still shows which members and items stop it.
        cycle_scores_refresh(cycle=cycle)
    return _cycle_move(viewer=viewer, user=user, cycle=cycle, to=to, reason=reason)


def _pending_refusal(cycle: Cycle) -> ValidationError | None:
    pending = appraisals_pending(appraisals=cycle.appraisals.all())
    if not pending:
        return None
    names = sorted(Appraisal.objects.filter(pk__in=pending).values_list("member__display_name", flat=True))
    return ValidationError(
        ngettext(
            "The cycle cannot be finalised: %(count)s member has KPI items without data for the month "
            "(%(members)s). HR enters a value or excludes each item, with a reason, on the appraisal.",
            "The cycle cannot be finalised: %(count)s members have KPI items without data for the month "
            "(%(members)s). HR enters a value or excludes each item, with a reason, on the appraisal.",
            len(names),
        )
        % {"count": len(names), "members": ", ".join(names)},
        code="insufficient_data",
    )


@transaction.atomic
def _cycle_move(*, viewer: Viewer, user, cycle: Cycle, to: str, reason: str) -> Cycle:
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if not viewer_moves_cycle(viewer=viewer, cycle=cycle, to=to):
        raise PermissionDenied(_("You may not move this cycle to %(state)s.") % {"state": CycleState(to).label})
    reopening = cycle.locked and to == CycleState.CALIBRATION
    if reopening and not reason.strip():
        raise ValidationError({"reason": _("Say why the cycle is reopened.")})
    old = cycle.state
    if to == CycleState.FINALISED:
        # The template's row too: an edit saved meanwhile would change it in place under the cycle
        # (reviews/services/templates.py locks it the same way before deciding in place or a version).
        AppraisalTemplate.objects.select_for_update().filter(pk=cycle.template_id).first()
        cycle_scores_refresh(cycle=cycle)  # again, under the lock: nothing changes between check and freeze
        if (refusal := _pending_refusal(cycle)) is not None:
            raise refusal
        _freeze(cycle)
        cycle.finalised_at, cycle.finalised_by = timezone.now(), user
    if to == CycleState.PUBLISHED:
        cycle.published_at = timezone.now()
    if reopening:
        Appraisal.objects.filter(cycle=cycle).update(frozen={}, frozen_at=None)
        cycle.finalised_at = cycle.published_at = None
    cycle.state = to
    cycle.save()
    _audit(cycle, user, "state", old, to, reason)
    if reopening:
        cycle_scores_refresh(cycle=cycle)
    return cycle


def _editable_role(viewer: Viewer, appraisal: Appraisal, role: str) -> bool:
    state = appraisal.cycle.state
    if role == RaterRole.SELF:
        return viewer.member_id == appraisal.member_id and state in SELF_EDITABLE
    if role == RaterRole.PEER:
        return state in PEER_EDITABLE and viewer_is_peer(viewer=viewer, appraisal=appraisal)
    if role == RaterRole.MANAGER:
        if viewer.member_id is not None and viewer.member_id == appraisal.member_id:
            return False  # a team lead is appraised too, but never as their own manager
        return viewer_rates_as_manager(viewer=viewer, cycle=appraisal.cycle)
    return False


@transaction.atomic
def rating_set(*, viewer: Viewer, user, appraisal: Appraisal, item: Item, role: str, score: int,
               comment: str = "", reason: str = "") -> Rating:  # fmt: skip
    """Give (or change) a 1–5 rating in a role; calibration changes need a reason."""
    if item.kind != ItemKind.RATING or item.dimension.template_id != appraisal.cycle.template_id:
        raise ValidationError({"item": _("Not a rating item of this appraisal.")})
    if not 1 <= int(score) <= 5:
        raise ValidationError({"score": _("A rating is 1 to 5.")})
    if not _editable_role(viewer, appraisal, role):
        raise PermissionDenied(_("You may not give this rating now."))
    cycle = appraisal.cycle
    if cycle.state == CycleState.CALIBRATION and not reason.strip():
        raise ValidationError({"reason": _("Say why the rating changes in calibration.")})
    rater = None if role == RaterRole.MANAGER else user  # one manager rating, whoever of the managers gives it
    existing = Rating.objects.filter(appraisal=appraisal, item=item, role=role, rater=rater).first()
    old = existing.score if existing else None
    rating, _created = Rating.objects.update_or_create(
        appraisal=appraisal, item=item, role=role, rater=rater, defaults={"score": score, "comment": comment}
    )
    if old != int(score):
        # The item's names in both languages and the role's key: each reader sees their language.
        what = message("reviews.audit_rating", item=bilingual(zh=item.name_zh, en=item.name_en),
                       role=choice("rater_role", role))  # fmt: skip
        _audit(cycle, user, f"{item.name_zh} ({role})", old, score, reason, appraisal, field_msg=what)
    appraisal_scores_refresh(appraisal=appraisal)
    return rating


@transaction.atomic
def comment_set(*, viewer: Viewer, user, appraisal: Appraisal, text: str, reason: str = "") -> Appraisal:
    """The member's self-assessment (in self review) or the manager's comment (manager review
    and calibration)."""
    state = appraisal.cycle.state
    if viewer.member_id == appraisal.member_id and state in SELF_EDITABLE:
        field, old = "self_comment", appraisal.self_comment
    elif (
        viewer_manages_cycle(viewer=viewer, store_id=appraisal.cycle.store_id, team_id=appraisal.cycle.team_id)
        and state in MANAGER_EDITABLE
        and viewer.member_id != appraisal.member_id  # not one's own manager's comment
    ):
        field, old = "manager_comment", appraisal.manager_comment
    else:
        raise PermissionDenied(_("You may not change this comment now."))
    setattr(appraisal, field, text)
    appraisal.save(update_fields=[field])
    if old != text:
        _audit(appraisal.cycle, user, field, old, text, reason, appraisal)
    return appraisal


def _decision_text(decision: ItemDecision | None) -> str:
    """A decision as the audit trail keeps it (data, not words): "exclude", the value, or ""."""
    if decision is None:
        return ""
    return DecisionKind.EXCLUDE.value if decision.kind == DecisionKind.EXCLUDE else f"{decision.value.normalize():f}"


def _decision_check(viewer: Viewer, appraisal: Appraisal, item: Item, reason: str) -> Cycle:
    """HR (or an administrator), a KPI item of the appraisal's template, a state that allows it,
    a reason. Returns the cycle, locked for the change."""
    if not viewer_runs_appraisals(viewer=viewer):
        raise PermissionDenied(_("Only HR decides on KPI items without data."))
    cycle = Cycle.objects.select_for_update().get(pk=appraisal.cycle_id)
    if cycle.state not in DECISION_EDITABLE:
        raise PermissionDenied(
            _("HR decides on KPI items without data in manager review and calibration; the cycle is %(state)s.")
            % {"state": cycle.get_state_display()}
        )
    if item.kind != ItemKind.KPI or item.dimension.template_id != cycle.template_id:
        raise ValidationError({"item": _("Not a KPI item of this appraisal.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why: the reason is written to the audit trail.")})
    return cycle


def _decision_audit_label(item: Item) -> MessageData:
    """The audit trail's label of a decision on the item, in each reader's language."""
    return message("reviews.audit_decision", item=bilingual(zh=item.name_zh, en=item.name_en))


@transaction.atomic
def item_decision_set(*, viewer: Viewer, user, appraisal: Appraisal, item: Item, kind: str,
                      value: Decimal | None = None, reason: str) -> ItemDecision:  # fmt: skip
    """HR's decision on a KPI item that has no data for the member in the month: a value to score
    it from (by the item's rule), or the item excluded for this member. Audited, then the cycle
    is scored again. Refused for an item that has data."""
    cycle = _decision_check(viewer, appraisal, item, reason)
    if kind not in DecisionKind.values:
        raise ValidationError({"kind": _("Enter a value or exclude the item.")})
    if kind == DecisionKind.VALUE and value is None:
        raise ValidationError({"value": _("Enter the value the item is scored from.")})
    evidence = cycle_evidence(cycle=cycle, member_ids=[appraisal.member_id])  # today's data, not the last scoring
    if evidence.values.get(appraisal.member_id, {}).get(item.kpi_key) is not None:
        raise ValidationError({"item": _("The month has data for this item: there is nothing to decide.")})
    existing = ItemDecision.objects.filter(appraisal=appraisal, item=item).first()
    old = _decision_text(existing)
    decision, _created = ItemDecision.objects.update_or_create(
        appraisal=appraisal, item=item,
        defaults={"kind": kind, "value": Decimal(value) if kind == DecisionKind.VALUE else None,
                  "reason": reason.strip(), "decided_by": user},
    )  # fmt: skip
    decision.refresh_from_db()
    _audit(cycle, user, item.name_zh + DECISION_AUDIT_SUFFIX, old, _decision_text(decision), reason.strip(), appraisal,
           field_msg=_decision_audit_label(item))  # fmt: skip
    cycle_scores_refresh(cycle=cycle)
    return decision


@transaction.atomic
def item_decision_withdraw(*, viewer: Viewer, user, appraisal: Appraisal, item: Item, reason: str) -> None:
    """Withdraw HR's decision on an item (with a reason, audited): it is insufficient again while
    the month has no data for it."""
    cycle = _decision_check(viewer, appraisal, item, reason)
    existing = ItemDecision.objects.filter(appraisal=appraisal, item=item).first()
    if existing is None:
        raise ValidationError({"item": _("There is no decision on this item to withdraw.")})
    old = _decision_text(existing)
    existing.delete()
    _audit(cycle, user, item.name_zh + DECISION_AUDIT_SUFFIX, old, "", reason.strip(), appraisal,
           field_msg=_decision_audit_label(item))  # fmt: skip
    cycle_scores_refresh(cycle=cycle)


@transaction.atomic
def cycle_scores_refresh(*, cycle: Cycle) -> None:
    """Score every appraisal of a cycle that is not locked from the rollups, HR's decisions on
    items without data, and the ratings."""
    if cycle.locked:
        return
    items = list(Item.objects.filter(dimension__template=cycle.template_id).select_related("dimension"))
    appraisals = list(cycle.appraisals.all())
    ratings = list(Rating.objects.filter(appraisal__cycle=cycle).select_related("appraisal"))
    decisions = {(d.appraisal.member_id, d.item_id): d
                 for d in ItemDecision.objects.filter(appraisal__cycle=cycle).select_related("appraisal")}  # fmt: skip
    bands = AppraisalTemplate.objects.get(pk=cycle.template_id).bands
    computed = cycle_compute(cycle=cycle, items=items, bands=bands, member_ids=[a.member_id for a in appraisals],
                             ratings=ratings, decisions=decisions)  # fmt: skip
    for appraisal in appraisals:
        _store(appraisal, computed[appraisal.member_id])


def appraisals_follow_data(*, store: Store, month: dt.date) -> list[Cycle]:
    """The store's cycles of the month that are still open, scored again after the rollups of
    some of its days were rebuilt (an import, a recompute, a change of who held an account or of
    a member's team): KPI items follow the data, including items that had none. Finalised and
    published cycles keep their frozen scores (their pages show what changed since). Idempotent."""
    cycles = list(
        Cycle.objects.filter(store=store, month=month.replace(day=1))
        .exclude(state__in=[CycleState.FINALISED, CycleState.PUBLISHED])
        .select_related("template")
        .order_by("pk")
    )
    for cycle in cycles:
        cycle_scores_refresh(cycle=cycle)
    return cycles


def appraisals_follow_queue(*, store_id: int, months: list[dt.date]) -> bool:
    """Queue appraisals_follow_data_task for the store's months (call on commit, after the
    rebuild); it runs even for months without an open cycle, because the statements follow once it
    ends. A follow-up (metrics.followups.services): a broker unreachable now does not lose it."""
    from metrics.followups.services import followup_record

    if not months:
        return False
    followup_record(
        task="reviews.tasks.appraisals_follow_data_task",
        args=[store_id, [month.isoformat() for month in months]],
        store_id=store_id,
    )
    return True


def appraisal_scores_refresh(*, appraisal: Appraisal) -> None:
    cycle_scores_refresh(cycle=appraisal.cycle)  # ranks need the whole team


def _store(appraisal: Appraisal, computed: Computed) -> None:
    ItemScore.objects.filter(appraisal=appraisal).delete()
    ItemScore.objects.bulk_create([
        ItemScore(appraisal=appraisal, item_id=pk, value=s.value, target=s.target, score=scoring.rounded(s.score),
                  status=s.status)
        for pk, s in computed.items.items()
    ])  # fmt: skip
    appraisal.total = scoring.rounded(computed.total)
    appraisal.grade = computed.grade
    appraisal.save(update_fields=["total", "grade"])


def _freeze(cycle: Cycle) -> None:
    """Copy what the scores were made of into each appraisal: per item the value, target, score
    and status, and HR's decision where one was used; the total and grade."""
    now = timezone.now()
    decisions = {(d.appraisal_id, d.item_id): d for d in ItemDecision.objects.filter(appraisal__cycle=cycle)}
    for appraisal in cycle.appraisals.all():
        frozen = {}
        for s in appraisal.item_scores.all():
            frozen[str(s.item_id)] = {"value": _text(s.value), "target": _text(s.target), "score": _text(s.score),
                                      "status": s.status}  # fmt: skip
            decision = decisions.get((appraisal.pk, s.item_id))
            if decision is not None and s.status in (ItemStatus.HR_VALUE, ItemStatus.EXCLUDED):
                frozen[str(s.item_id)]["decision"] = {
                    "kind": decision.kind, "value": _text(decision.value), "reason": decision.reason,
                    "by": decision.decided_by_id, "at": decision.decided_at.isoformat(),
                }  # fmt: skip
        appraisal.frozen = frozen | {"total": _text(appraisal.total), "grade": appraisal.grade}
        appraisal.frozen_at = now
        appraisal.save(update_fields=["frozen", "frozen_at"])


def _text(value) -> str | None:
    return None if value is None else str(value)
