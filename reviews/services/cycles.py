"""The appraisal workflow: create a month's cycle, move it through its states, rate, comment,
score from the rollups, freeze at HR finalisation, publish, reopen. Every change after self
review is written to the audit trail; what a role may change in a state is enforced here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.messages import MessageData, bilingual, choice, message
from reviews import scoring
from reviews.models import (
    CYCLE_ORDER,
    Appraisal,
    AppraisalTemplate,
    AuditEntry,
    Cycle,
    CycleState,
    Item,
    ItemKind,
    ItemScore,
    RaterRole,
    Rating,
)
from reviews.selectors.appraisals import (
    AUDITED,
    MANAGER_EDITABLE,
    PEER_EDITABLE,
    SELF_EDITABLE,
    cycle_evidence,
    item_kpi_score,
    item_rating_score,
    members_of_cycle,
    viewer_manages_cycle,
)
from teams.models import Store, Team
from teams.selectors.scoping import Viewer


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
    if not (viewer_manages_cycle(viewer=viewer, cycle=cycle) or viewer.is_hr):
        raise PermissionDenied(_("Appraisal cycles are opened by HR, the store's managers or the team's lead."))
    if team is not None and team.store_id != store.pk:
        raise ValidationError({"team": _("The team belongs to another store.")})
    if Cycle.objects.filter(team=team, month=cycle.month, store=store).exists():
        raise ValidationError({"month": _("This month already has a cycle for this team.")})
    cycle.save()
    Appraisal.objects.bulk_create([Appraisal(cycle=cycle, member=m) for m in members_of_cycle(cycle=cycle)])
    cycle_scores_refresh(cycle=cycle)
    return cycle


def _may_move(viewer: Viewer, cycle: Cycle, target: str) -> bool:
    manages = viewer_manages_cycle(viewer=viewer, cycle=cycle)
    hr = viewer.is_hr or viewer.is_admin
    current = CYCLE_ORDER.index(cycle.state)
    if target == CycleState.CALIBRATION and cycle.locked:
        return hr  # reopen
    if CYCLE_ORDER.index(target) != current + 1:
        return False
    if target in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION):
        return manages or hr
    return hr  # finalise and publish are HR's


@transaction.atomic
def cycle_advance(*, viewer: Viewer, user, cycle: Cycle, to: str, reason: str = "") -> Cycle:
    """Move the cycle one state on (HR may also reopen a finalised or published cycle into
    calibration, with a reason). Finalising computes the scores a last time and freezes them."""
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if not _may_move(viewer, cycle, to):
        raise PermissionDenied(_("You may not move this cycle to %(state)s.") % {"state": CycleState(to).label})
    reopening = cycle.locked and to == CycleState.CALIBRATION
    if reopening and not reason.strip():
        raise ValidationError({"reason": _("Say why the cycle is reopened.")})
    old = cycle.state
    if to == CycleState.FINALISED:
        cycle_scores_refresh(cycle=cycle)
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
    cycle, state = appraisal.cycle, appraisal.cycle.state
    if role == RaterRole.SELF:
        return viewer.member_id == appraisal.member_id and state in SELF_EDITABLE
    if role == RaterRole.PEER:
        return (viewer.member_id is not None and viewer.member_id != appraisal.member_id and state in PEER_EDITABLE
                and cycle.appraisals.filter(member_id=viewer.member_id).exists())  # fmt: skip
    if role == RaterRole.MANAGER:
        if viewer.member_id is not None and viewer.member_id == appraisal.member_id:
            return False  # a team lead is appraised too, but never as their own manager
        manages = viewer_manages_cycle(viewer=viewer, cycle=cycle)
        return (manages and state in MANAGER_EDITABLE) or (viewer.is_hr and state == CycleState.CALIBRATION)
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
        viewer_manages_cycle(viewer=viewer, cycle=appraisal.cycle)
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


@dataclass(frozen=True)
class Computed:
    items: dict[int, tuple[Decimal | None, Decimal | None, Decimal | None]]  # item id → value, target, score
    dimensions: dict[int, Decimal | None]
    total: Decimal | None


def _compute(appraisal: Appraisal, *, items: list[Item], evidence, member_ids: list[int], ratings) -> Computed:
    scores: dict[int, tuple] = {}
    for item in items:
        if item.kind == ItemKind.KPI:
            scores[item.pk] = item_kpi_score(item, member_id=appraisal.member_id, evidence=evidence,
                                             member_ids=member_ids)  # fmt: skip
        else:
            scores[item.pk] = (None, None, item_rating_score(item, ratings))
    dimensions = {}
    for dimension in {item.dimension for item in items}:
        dimensions[dimension.pk] = scoring.weighted(
            [(scores[i.pk][2], i.weight) for i in items if i.dimension_id == dimension.pk]
        )
    weights = {item.dimension_id: item.dimension.weight for item in items}
    total = scoring.weighted([(score, weights[pk]) for pk, score in dimensions.items()])
    return Computed(scores, dimensions, total)


def cycle_scores_refresh(*, cycle: Cycle) -> None:
    """Score every appraisal of a cycle that is not locked from the rollups and its ratings."""
    if cycle.locked:
        return
    items = list(Item.objects.filter(dimension__template=cycle.template).select_related("dimension"))
    appraisals = list(cycle.appraisals.all())
    member_ids = [a.member_id for a in appraisals]
    evidence = cycle_evidence(cycle=cycle, member_ids=member_ids)
    ratings = list(Rating.objects.filter(appraisal__cycle=cycle))
    for appraisal in appraisals:
        mine = [r for r in ratings if r.appraisal_id == appraisal.pk]
        _store(appraisal, _compute(appraisal, items=items, evidence=evidence, member_ids=member_ids, ratings=mine))


def appraisal_scores_refresh(*, appraisal: Appraisal) -> None:
    cycle_scores_refresh(cycle=appraisal.cycle)  # ranks need the whole team


def _store(appraisal: Appraisal, computed: Computed) -> None:
    ItemScore.objects.filter(appraisal=appraisal).delete()
    ItemScore.objects.bulk_create([
        ItemScore(appraisal=appraisal, item_id=pk, value=v, target=t, score=scoring.rounded(s))
        for pk, (v, t, s) in computed.items.items()
    ])  # fmt: skip
    appraisal.total = scoring.rounded(computed.total)
    appraisal.grade = scoring.grade_for(appraisal.total)
    appraisal.save(update_fields=["total", "grade"])


def _freeze(cycle: Cycle) -> None:
    now = timezone.now()
    for appraisal in cycle.appraisals.all():
        appraisal.frozen = {
            str(s.item_id): {"value": _text(s.value), "target": _text(s.target), "score": _text(s.score)}
            for s in appraisal.item_scores.all()
        } | {"total": _text(appraisal.total), "grade": appraisal.grade}
        appraisal.frozen_at = now
        appraisal.save(update_fields=["frozen", "frozen_at"])


def _text(value) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Change:
    member: str
    item: str
    frozen: str | None
    now: str | None


def cycle_data_changes(*, cycle: Cycle) -> list[Change]:
    """KPI values that differ now from those frozen at finalisation (a later re-import)."""
    if not cycle.locked:
        return []
    items = {i.pk: i for i in Item.objects.filter(dimension__template=cycle.template, kind=ItemKind.KPI)}
    appraisals = list(cycle.appraisals.select_related("member"))
    evidence = cycle_evidence(cycle=cycle, member_ids=[a.member_id for a in appraisals])
    changes = []
    for appraisal in appraisals:
        for pk, item in items.items():
            frozen = (appraisal.frozen.get(str(pk)) or {}).get("value")
            now = evidence.values.get(appraisal.member_id, {}).get(item.kpi_key)
            now_text = None if now is None else str(Decimal(str(now)).quantize(Decimal("0.000001")))
            frozen_text = None if frozen is None else str(Decimal(frozen).quantize(Decimal("0.000001")))
            if now_text != frozen_text:
                changes.append(Change(appraisal.member.display_name, item.name, frozen_text, now_text))
    return changes
