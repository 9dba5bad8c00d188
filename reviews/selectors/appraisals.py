"""Reading appraisals: who may do what in which state, the KPI evidence of a month, scores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from metrics.kpis.ranking import ranks
from metrics.kpis.selectors import kpi_table
from metrics.models import Target
from metrics.registry import KPI_BY_KEY, Direction, Level
from perfmgmt.common.periods import month_last
from reviews import scoring
from reviews.models import (
    CYCLE_ORDER,
    Appraisal,
    Cycle,
    CycleState,
    DecisionKind,
    Item,
    ItemDecision,
    ItemKind,
    ItemScore,
    ItemStatus,
    RaterRole,
    ScoringRule,
)
from teams.selectors.scoping import Viewer, viewer_manages_cycle, viewer_runs_appraisals

# What each role may change in each state (enforced by the services).
SELF_EDITABLE = {CycleState.SELF_REVIEW}
PEER_EDITABLE = {CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW}
MANAGER_EDITABLE = {CycleState.MANAGER_REVIEW, CycleState.CALIBRATION}
HR_EDITABLE = {CycleState.CALIBRATION}
# HR decides on KPI items without data once the month is over and reviewed: not while members still
# review themselves (the month may not be complete), never once the cycle is locked.
DECISION_EDITABLE = {CycleState.MANAGER_REVIEW, CycleState.CALIBRATION}
# The audit trail's field of a decision: the item's Chinese name and this (data, not words).
DECISION_AUDIT_SUFFIX = " (decision)"
AUDITED = {CycleState.MANAGER_REVIEW, CycleState.CALIBRATION, CycleState.FINALISED, CycleState.PUBLISHED}


def viewer_moves_cycle(*, viewer: Viewer, cycle: Cycle, to: str) -> bool:
    """Whether the viewer may move the cycle to state `to`: one state on, the cycle's managers and
    HR until calibration, HR alone to finalise and publish; HR reopens a locked cycle into
    calibration. The cycle page offers these moves and the service enforces them."""
    manages = viewer_manages_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id)
    hr = viewer_runs_appraisals(viewer=viewer)
    current = CYCLE_ORDER.index(cycle.state)
    if to == CycleState.CALIBRATION and cycle.locked:
        return hr  # reopen
    if CYCLE_ORDER.index(to) != current + 1:
        return False
    if to in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION):
        return manages or hr
    return hr  # finalise and publish are HR's


def viewer_rates_as_manager(*, viewer: Viewer, cycle: Cycle) -> bool:
    """The manager's ratings: the cycle's managers give them in manager review and calibration,
    HR changes them in calibration. (The service also refuses a lead's own appraisal.)"""
    manages = viewer_manages_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id)
    return (manages and cycle.state in MANAGER_EDITABLE) or (viewer.is_hr and cycle.state == CycleState.CALIBRATION)


def viewer_is_peer(*, viewer: Viewer, appraisal: Appraisal) -> bool:
    """A teammate of the appraised member: another member appraised in the same cycle."""
    return (
        viewer.member_id is not None
        and viewer.member_id != appraisal.member_id
        and appraisal.cycle.appraisals.filter(member_id=viewer.member_id).exists()
    )


def viewer_decides_items(*, viewer: Viewer, cycle: Cycle) -> bool:
    """HR (and admins) decide on KPI items without data while the cycle is in a state for it."""
    return viewer_runs_appraisals(viewer=viewer) and cycle.state in DECISION_EDITABLE


def cycle_list(*, viewer: Viewer) -> QuerySet[Cycle]:
    cycles = Cycle.objects.select_related("store", "team", "template")
    if viewer.sees_everything:
        return cycles
    q = Q(store_id__in=viewer.managed_store_ids) | Q(team_id__in=viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(appraisals__member_id=viewer.member_id)
    return cycles.filter(q).distinct()


def appraisal_list(*, viewer: Viewer) -> QuerySet[Appraisal]:
    """Appraisals the viewer may open: HR and admins all; managers and leads their cycles'; staff
    their own once published (and while they self-review)."""
    appraisals = Appraisal.objects.select_related("cycle__store", "cycle__team", "member")
    if viewer.sees_everything:
        return appraisals
    q = Q(cycle__store_id__in=viewer.managed_store_ids) | Q(cycle__team_id__in=viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(member_id=viewer.member_id)
    return appraisals.filter(q)


def members_of_cycle(*, cycle: Cycle):
    """Members in the cycle's team (or store) for at least one day of the month."""
    from teams.models import Member

    end = month_last(cycle.month)
    on = Q(memberships__start_date__lte=end) & (
        Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gte=cycle.month)
    )
    scope = Q(memberships__team_id=cycle.team_id) if cycle.team_id else Q(memberships__team__store_id=cycle.store_id)
    return Member.objects.filter(on & scope).distinct().order_by("display_name")


@dataclass(frozen=True)
class Evidence:
    """The month's KPI values per member, and each member's KPI targets of the month."""

    values: dict[int, dict[str, object]]  # member id → kpi key → value
    targets: dict[tuple[int, str], Decimal]  # (member id, kpi key) → target value


def cycle_evidence(*, cycle: Cycle, member_ids: list[int]) -> Evidence:
    end = month_last(cycle.month)
    kwargs = {"team_ids": [cycle.team_id]} if cycle.team_id else {}
    table = kpi_table(level=Level.MEMBER, grain="range", start=cycle.month, end=end, store_ids=[cycle.store_id],
                      member_ids=member_ids, **kwargs)  # fmt: skip
    values = {int(r["entity_id"]): r for r in table.to_dict("records")}
    targets: dict[tuple[int, str], Decimal] = {}
    # The member's own target of that KPI for the month: the one whose period is closest to it.
    candidates = Target.objects.filter(member_id__in=member_ids, start__lte=end, end__gte=cycle.month).exclude(
        kpi_key=""
    )
    best: dict[tuple[int, str], tuple[int, Decimal]] = {}
    for t in candidates:
        distance = abs((t.start - cycle.month).days) + abs((t.end - end).days)
        key = (t.member_id, t.kpi_key)
        if key not in best or distance < best[key][0]:
            best[key] = (distance, t.value)
    for key, (_distance, value) in best.items():
        targets[key] = value
    return Evidence(values, targets)


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def item_kpi_score(
    item: Item,
    *,
    member_id: int,
    evidence: Evidence,
    member_ids: list[int],
    entered: dict[int, Decimal] | None = None,
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(value, target, score) of a KPI item for one member. A value None means the month has no
    data for it (no account, no activity, nothing to measure): the score is None too. `entered`:
    member id → the value HR entered for this item where the data has none; it is scored, and
    ranked among the team, as if it came from the data (the data's own value always wins)."""
    kpi = KPI_BY_KEY[item.kpi_key]
    entered = entered or {}

    def value_of(member: int):
        found = evidence.values.get(member, {}).get(item.kpi_key)
        return entered.get(member) if found is None else found

    value = _decimal(value_of(member_id))
    lower = kpi.direction == Direction.LOWER
    if item.rule == ScoringRule.RANK:
        # The ranking leaves out empty values and zeros that mean nothing done (see `ranks`). A
        # zero is data, though: it takes the last place, and "of" counts it. It scores 0 even as
        # the team's only value (never "1 of 1", 100, from nothing done).
        peer_values = {m: value_of(m) for m in member_ids}
        member_ranks = ranks(peer_values, kpi)
        ranked = sum(v is not None for v in peer_values.values())
        rank = member_ranks.get(member_id)
        if rank is None and value is not None:
            return value, None, Decimal(0)  # the last place's score
        return value, None, scoring.score_rank(rank, of=ranked)
    if item.rule == ScoringRule.THRESHOLDS:
        return value, None, scoring.score_thresholds(value, thresholds=item.thresholds or [], lower_is_better=lower)
    target = item.target if item.target is not None else evidence.targets.get((member_id, item.kpi_key))
    if target is None:
        return value, None, None  # nothing to score against: left out of the dimension
    floor = item.floor if item.floor is not None else Decimal(0)
    return value, target, scoring.score_linear(value, floor=floor, target=Decimal(target))


def item_rating_score(item: Item, ratings) -> Decimal | None:
    by_role: dict[str, list[int]] = {}
    for rating in ratings:
        if rating.item_id == item.pk:
            by_role.setdefault(rating.role, []).append(rating.score)
    weights = {
        RaterRole.MANAGER: item.manager_weight,
        RaterRole.SELF: item.self_weight,
        RaterRole.PEER: item.peer_weight,
    }
    return scoring.score_rating(by_role, weights)


@dataclass(frozen=True)
class Scored:
    value: Decimal | None
    target: Decimal | None
    score: Decimal | None
    status: str = ItemStatus.SCORED


@dataclass(frozen=True)
class Computed:
    """One member's appraisal as scored now: per item, per dimension, the total and the grade."""

    items: dict[int, Scored]  # item id → its value, target, score and status
    dimensions: dict[int, Decimal | None]  # dimension id → its score (not rounded)
    total: Decimal | None
    grade: str = ""


def _kpi_scored(item: Item, *, member_id: int, evidence: Evidence, member_ids: list[int],
                decisions: dict[tuple[int, int], ItemDecision]) -> Scored:  # fmt: skip
    """A KPI item from the data; without data, from HR's decision, or insufficient."""
    entered = {
        m: d.value for m in member_ids
        if (d := decisions.get((m, item.pk))) is not None and d.kind == DecisionKind.VALUE
    }  # fmt: skip
    value, target, score = item_kpi_score(item, member_id=member_id, evidence=evidence, member_ids=member_ids,
                                          entered=entered)  # fmt: skip
    if evidence.values.get(member_id, {}).get(item.kpi_key) is not None:
        return Scored(value, target, score)
    decision = decisions.get((member_id, item.pk))
    if decision is None:
        return Scored(None, target, None, ItemStatus.INSUFFICIENT)
    if decision.kind == DecisionKind.EXCLUDE:
        return Scored(None, target, None, ItemStatus.EXCLUDED)
    return Scored(value, target, score, ItemStatus.HR_VALUE)


Decisions = dict[tuple[int, int], ItemDecision]  # (member id, item id) → HR's decision


def appraisal_compute(*, member_id: int, items: list[Item], bands: tuple[scoring.Band, ...], evidence: Evidence,
                      member_ids: list[int], ratings, decisions: Decisions) -> Computed:  # fmt: skip
    """A member's scores by the items (saved or not: an item needs a `pk` and a `dimension`, as
    the preview's unsaved items have) from the month's evidence, the member's ratings and HR's
    decisions. `decisions`: (member id, item id) → HR's decision, for the whole cycle (an entered
    value counts in teammates' ranks too). The one scoring of appraisals: cycles and the template
    editor's preview both call it."""
    scored: dict[int, Scored] = {}
    for item in items:
        if item.kind == ItemKind.KPI:
            scored[item.pk] = _kpi_scored(item, member_id=member_id, evidence=evidence, member_ids=member_ids,
                                          decisions=decisions)  # fmt: skip
        else:
            scored[item.pk] = Scored(None, None, item_rating_score(item, ratings))
    parts = [
        scoring.Part(item.dimension_id, scored[item.pk].score, item.weight,
                     pending=scored[item.pk].status == ItemStatus.INSUFFICIENT)
        for item in items
    ]  # fmt: skip
    weights = {item.dimension_id: item.dimension.weight for item in items}
    total = scoring.total_score(parts, weights)
    grade = scoring.grade_for(scoring.rounded(total), bands=bands)
    return Computed(scored, scoring.dimension_scores(parts), total, grade)


def cycle_compute(*, cycle: Cycle, items: list[Item], bands: tuple[scoring.Band, ...], member_ids: list[int],
                  ratings, decisions: Decisions) -> dict[int, Computed]:  # fmt: skip
    """Every member's scores in a cycle (saved or not: the preview's cycle is never saved) from
    today's data of its month and team. `ratings`: the cycle's ratings, their appraisals loaded."""
    evidence = cycle_evidence(cycle=cycle, member_ids=member_ids)
    by_member: dict[int, list] = {}
    for rating in ratings:
        by_member.setdefault(rating.appraisal.member_id, []).append(rating)
    computed = {}
    for member_id in member_ids:
        computed[member_id] = appraisal_compute(member_id=member_id, items=items, bands=bands, evidence=evidence,
                                                member_ids=member_ids, ratings=by_member.get(member_id, []),
                                                decisions=decisions)  # fmt: skip
    return computed


def is_kpi(item: Item) -> bool:
    return item.kind == ItemKind.KPI


def is_pending(score: ItemScore) -> bool:
    return score.status == ItemStatus.INSUFFICIENT


def appraisal_dimension_scores(*, items: list[Item], item_scores: dict[int, ItemScore]) -> dict[int, Decimal | None]:
    """Each dimension's score from the stored item scores (rounded): empty while one of its KPI
    items has no data and no decision of HR."""
    parts = [
        scoring.Part(item.dimension_id, s.score if (s := item_scores.get(item.pk)) else None, item.weight,
                     pending=s is not None and is_pending(s))
        for item in items
    ]  # fmt: skip
    return {pk: scoring.rounded(score) for pk, score in scoring.dimension_scores(parts).items()}


def appraisals_pending(*, appraisals) -> dict[int, list[Item]]:
    """Appraisal id → its KPI items without data that await HR's decision (in the template's
    order), for the appraisals that have any."""
    pending: dict[int, list[Item]] = {}
    scores = (
        ItemScore.objects.filter(appraisal__in=appraisals, status=ItemStatus.INSUFFICIENT)
        .select_related("item__dimension")
        .order_by("appraisal_id", "item__dimension__order", "item__dimension_id", "item__order", "item_id")
    )
    for score in scores:
        pending.setdefault(score.appraisal_id, []).append(score.item)
    return pending


def appraisal_for_pay(*, member, month: dt.date) -> Appraisal | None:
    """The member's appraisal of the month that pay follows: the finalised (or published) one, else
    the one in progress."""
    found = Appraisal.objects.filter(member=member, cycle__month=month).select_related("cycle")
    return found.filter(cycle__state__in=[CycleState.FINALISED, CycleState.PUBLISHED]).first() or found.first()


def appraisal_pending_count(*, appraisal: Appraisal | None) -> int:
    """How many KPI items of the appraisal have no data and await HR's decision: pay by the
    appraisal waits for them. 0 without an appraisal, or once it has a total (a cycle finalised
    before such items needed a decision keeps its frozen total and grade)."""
    if appraisal is None or appraisal.total is not None:
        return 0
    return ItemScore.objects.filter(appraisal=appraisal, status=ItemStatus.INSUFFICIENT).count()


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
            entry = appraisal.frozen.get(str(pk)) or {}
            # A value HR entered was not the data's: the data had none (nor for an excluded item).
            frozen = entry.get("value") if entry.get("status", ItemStatus.SCORED) == ItemStatus.SCORED else None
            now = evidence.values.get(appraisal.member_id, {}).get(item.kpi_key)
            now_text = None if now is None else str(Decimal(str(now)).quantize(Decimal("0.000001")))
            frozen_text = None if frozen is None else str(Decimal(frozen).quantize(Decimal("0.000001")))
            if now_text != frozen_text:
                changes.append(Change(appraisal.member.display_name, item.name, frozen_text, now_text))
    return changes
