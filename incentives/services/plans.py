"""Writing incentive plans: create, edit (in place, or as a new version once a locked statement
was computed with the plan), copy, retire, assign to teams and members for a span of days; the
telesales template of seed 002 (基本工资 + 考核(呼出接通数量 + 呼出接通时间) + 提成(1.5%~3%)); and the
validation every plan passes, whoever writes it (the pages, the API, the admin, code).

Money is Decimal yuan, rates and weights are fractions (0.015 = 1.5%, 0.5 = 50%), talk time
targets are minutes a month.

Who: HR and administrators (`actor`, the user making the change; None for code such as the demo
seed or the shell). Every change is recorded in the change log (area pay_plans) in its own
transaction, and the statements still open that the change affects are queued to recompute
once it commits (incentives.services.statements.statements_follow_queue); locked statements
keep the plan version they were computed with.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incentives.models import (
    CommissionBase,
    CommissionMode,
    CommissionTier,
    Milestone,
    Modifier,
    Plan,
    PlanAllowance,
    PlanAssignment,
    PlanKind,
    RankingAward,
    Statement,
    StatementState,
    TierMode,
    telesales_rate_error,
)
from incentives.selectors.plans import PlanParts, plan_is_final, plan_parts_read
from metrics.messages import (
    MessageData,
    bilingual,
    choice,
    joined,
    kpi_label,
    kpi_value,
    message,
    money,
    month_text,
    number,
    percent,
)
from teams.models import ChangeArea, Member, Store, Team, TeamMembership
from teams.selectors.scoping import viewer_edits_plans, viewer_get
from teams.services.changes import change_record, fields_snapshot

# The plan's own fields an editor sets (and the change log compares).
PLAN_FIELDS = (
    "name", "store", "description", "kind", "base_salary", "performance_pay", "performance_by_score",
    "grade_coefficients", "commission_mode", "commission_base", "flat_rate", "tier_mode", "commission_cap",
    "pk_kpi_key", "pk_bonus_rate", "call_pay", "call_connected_target", "call_talk_target_minutes",
    "call_connected_weight", "call_talk_weight", "call_floor",
)  # fmt: skip
PART_NAMES = ("tiers", "modifiers", "milestones", "ranking_awards", "allowances")
ASSIGNMENT_FIELDS = ("plan", "member", "team", "start_date", "end_date")
TIER_FIELDS = ("from_completion", "rate")
MODIFIER_FIELDS = ("kpi_key", "comparison", "threshold", "multiplier")
MILESTONE_FIELDS = ("kpi_key", "comparison", "threshold", "amount")
AWARD_FIELDS = ("kpi_key", "amounts")
ALLOWANCE_FIELDS = ("name_zh", "name_en", "amount", "start_month", "end_month")
PART_FIELDS = {"tiers": TIER_FIELDS, "modifiers": MODIFIER_FIELDS, "milestones": MILESTONE_FIELDS,
               "ranking_awards": AWARD_FIELDS, "allowances": ALLOWANCE_FIELDS}  # fmt: skip

# Seed 002's default: 1.5% below 100% of the amount-won target, 2.5% from 100%, 3% from 150%.
TELESALES_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("0"), Decimal("0.015")),
    (Decimal("1.0"), Decimal("0.025")),
    (Decimal("1.5"), Decimal("0.03")),
)
# The default grade letters and coefficients of a new plan (the built-in appraisal templates' S–D).
DEFAULT_GRADE_COEFFICIENTS = {"S": "1.5", "A": "1.2", "B": "1.0", "C": "0.8", "D": "0.5"}


def _require_editor(actor) -> None:
    if actor is not None and not viewer_edits_plans(viewer=viewer_get(user=actor)):
        raise PermissionDenied(_("HR and administrators edit pay plans."))


# --- validation ---------------------------------------------------------------------------------


def plan_tier_rates_validate(*, plan: Plan, rates: Iterable[Decimal]) -> None:
    """A telesales plan's tier rates lie within 1.5%–3%, and a tiered one has at least one tier
    (raises ValidationError listing each rate outside); other plans take any rate. Tiers are
    their own rows, so Plan.clean cannot see them."""
    if plan.kind != PlanKind.TELESALES:
        return
    rates = list(rates)
    if plan.commission_mode == CommissionMode.TIERED and not rates:
        raise ValidationError(_("A telesales plan needs at least one commission tier."), code="telesales_tiers")
    errors = [error for rate in rates if (error := telesales_rate_error(Decimal(rate))) is not None]
    if errors:
        raise ValidationError(errors)


def plan_tiers_validate(*, plan: Plan, tiers: Sequence[tuple[Decimal, Decimal]]) -> None:
    """The tiers as entered, (from completion, rate): a tiered commission has at least one; their
    starts rise strictly (no two tiers start at the same completion); a telesales plan's rates lie
    within 1.5%–3%. The admin's tier formset and the editor run this."""
    errors: list[ValidationError] = []
    if plan.commission_mode == CommissionMode.TIERED and not tiers and plan.kind != PlanKind.TELESALES:
        errors.append(ValidationError(_("A tiered commission needs at least one tier."), code="tiers_missing"))
    starts = [Decimal(start) for start, _rate in tiers]
    if any(later <= earlier for earlier, later in pairwise(starts)):
        errors.append(ValidationError(
            _("Tiers go from the lowest target completion to the highest, each starting above the one before."),
            code="tiers_order",
        ))  # fmt: skip
    try:
        plan_tier_rates_validate(plan=plan, rates=[rate for _start, rate in tiers])
    except ValidationError as error:
        errors.extend(error.error_list)
    if errors:
        raise ValidationError(errors)


def plan_parts_validate(*, parts: PlanParts) -> None:
    """Everything a plan must satisfy before it is written: its fields (Plan.clean: amounts not
    negative, rates within 0–100%, the call assessment, telesales bounds), each part's row
    (their clean) and the rules across rows (tiers). Raises one ValidationError whose keys are the
    plan's fields and the parts ("tiers", "allowances"…; each message says which row)."""
    errors: dict[str, list] = defaultdict(list)
    try:
        parts.plan.full_clean(exclude=["replaces", "version", "retired_at"], validate_unique=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors[name].extend(messages)
    for name in PART_NAMES:
        for row_number, row in enumerate(getattr(parts, name), start=1):
            try:
                row.full_clean(exclude=["plan"], validate_unique=False)
            except ValidationError as error:
                for messages in error.message_dict.values():
                    errors[name] += [_("Row %(number)s: %(error)s") % {"number": row_number, "error": m}
                                     for m in messages]  # fmt: skip
    try:
        plan_tiers_validate(plan=parts.plan, tiers=[(t.from_completion, t.rate) for t in parts.tiers])
    except ValidationError as error:
        errors["tiers"].extend(error.messages)
    if errors:
        raise ValidationError(dict(errors))


# --- the change log ---------------------------------------------------------------------------------


def _allowance_summary(allowance) -> MessageData:
    name = bilingual(zh=allowance.name_zh, en=allowance.name_en)
    if not (allowance.start_month or allowance.end_month):
        return message("incentives.change_allowance", name=name, amount=money(allowance.amount))
    return message("incentives.change_allowance_months", name=name, amount=money(allowance.amount),
                   first=month_text(allowance.start_month) if allowance.start_month else "…",
                   last=month_text(allowance.end_month) if allowance.end_month else "…")  # fmt: skip


def _parts_summary(parts: PlanParts) -> dict[str, list[MessageData]]:
    """Each part as a short message, read in each reader's language on the change log."""
    return {
        "tiers": [message("incentives.change_tier", start=percent(t.from_completion, places=2),
                          rate=percent(t.rate, places=3)) for t in parts.tiers],
        "modifiers": [message("incentives.change_modifier", kpi=kpi_label(m.kpi_key), cmp=choice("comparison",
                              m.comparison), threshold=kpi_value(m.kpi_key, m.threshold),
                              multiplier=number(m.multiplier, places=2)) for m in parts.modifiers],
        "milestones": [message("incentives.change_milestone", kpi=kpi_label(m.kpi_key), cmp=choice("comparison",
                               m.comparison), threshold=kpi_value(m.kpi_key, m.threshold), amount=money(m.amount))
                       for m in parts.milestones],
        "ranking_awards": [message("incentives.change_ranking", kpi=kpi_label(r.kpi_key),
                                   amounts=joined([money(a) for a in r.amounts], separator=", "))
                           for r in parts.ranking_awards],
        "allowances": [_allowance_summary(a) for a in parts.allowances],
    }  # fmt: skip


def plan_snapshot(*, parts: PlanParts) -> dict:
    """What the change log compares: the plan's fields, its version, and its parts summarised."""
    return {**fields_snapshot(instance=parts.plan, fields=(*PLAN_FIELDS, "version")), **_parts_summary(parts)}


# --- writing --------------------------------------------------------------------------------------


def _quantize(instance) -> None:
    """Decimal fields to their places (3000 → 3000.00), as the database keeps them, so that a
    draft compares equal to the saved plan it did not change."""
    from django.db.models import DecimalField

    for model_field in instance._meta.concrete_fields:
        value = getattr(instance, model_field.attname)
        if isinstance(model_field, DecimalField) and value is not None:
            setattr(
                instance, model_field.attname, Decimal(value).quantize(Decimal(1).scaleb(-model_field.decimal_places))
            )


def _normalized(parts: PlanParts) -> PlanParts:
    for row in (parts.plan, *(row for name in PART_NAMES for row in getattr(parts, name))):
        _quantize(row)
    return parts


def _parts_write(plan: Plan, parts: PlanParts) -> None:
    """Replace the plan's parts by the draft's (copies: the draft's rows stay unsaved)."""
    for name, model in (("tiers", CommissionTier), ("modifiers", Modifier), ("milestones", Milestone),
                        ("ranking_awards", RankingAward), ("allowances", PlanAllowance)):  # fmt: skip
        model.objects.filter(plan=plan).delete()
        fields = PART_FIELDS[name]
        model.objects.bulk_create(
            [model(plan=plan, **{f: getattr(row, f) for f in fields}) for row in getattr(parts, name)]
        )


def _fields_copy(source: Plan, target: Plan) -> None:
    for name in PLAN_FIELDS:
        setattr(target, name, getattr(source, name))


def _statements_follow(statements) -> None:
    """Queue the recompute of these statements' store-months once the change commits (only those
    still open: statements_follow_queue skips months whose statements are all locked)."""
    from incentives.services.statements import statements_follow_queue

    months: dict[int, set[dt.date]] = defaultdict(set)
    for store_id, month in statements.exclude(state=StatementState.LOCKED).values_list("store_id", "month"):
        months[store_id].add(month)
    for store_id, wanted in months.items():
        ordered = sorted(wanted)
        transaction.on_commit(
            lambda store_id=store_id, ordered=ordered: statements_follow_queue(store_id=store_id, months=ordered)
        )


@transaction.atomic
def plan_create(*, actor, parts: PlanParts) -> Plan:
    """Save a new plan (version 1) and its parts. Raises ValidationError (nothing written) when a
    rule is broken, PermissionDenied when `actor` is neither HR nor an administrator."""
    _require_editor(actor)
    plan_parts_validate(parts=parts)
    _normalized(parts)
    plan = Plan()
    _fields_copy(parts.plan, plan)
    plan.version, plan.replaces, plan.retired_at = 1, None, None
    plan.save()
    _parts_write(plan, parts)
    plan.refresh_from_db()
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=plan, store=plan.store,
                  after=plan_snapshot(parts=plan_parts_read(plan=plan)))  # fmt: skip
    return plan


@transaction.atomic
def plan_update(*, actor, plan: Plan, parts: PlanParts) -> Plan:
    """Save an edit of `plan` as `parts` describe it, and return the plan now current.

    A plan no locked statement was computed with is edited in place. One that a locked statement
    used is never changed: the edit becomes a new row, version + 1, that `replaces` it; the old
    version is retired (kept, and shown on the statements computed with it) and its assignments
    move to the new version with their spans unchanged. Either way the statements still open
    (draft or approved) that were computed with the plan recompute under the edit once it
    commits: a draft takes the new lines, an approved one shows the difference as a proposed
    adjustment; locked ones keep their version and total. An edit that changes nothing writes
    nothing. A retired version cannot be edited (edit the current one)."""
    _require_editor(actor)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.retired_at is not None:
        raise ValidationError(_("This version of the plan is retired: edit its current version instead."),
                              code="retired")  # fmt: skip
    plan_parts_validate(parts=parts)
    before = plan_snapshot(parts=plan_parts_read(plan=plan))
    if {**plan_snapshot(parts=_normalized(parts)), "version": plan.version} == before:
        return plan
    used = Statement.objects.filter(plan=plan)
    if plan_is_final(plan=plan):
        current = Plan(version=plan.version + 1, replaces=plan)
        _fields_copy(parts.plan, current)
        current.save()
        _parts_write(current, parts)
        plan.retired_at = timezone.now()
        plan.save(update_fields=["retired_at"])
        PlanAssignment.objects.filter(plan=plan).update(plan=current)
    else:
        current = plan
        _fields_copy(parts.plan, current)
        current.save()
        _parts_write(current, parts)
    current.refresh_from_db()
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=current, store=current.store, before=before,
                  after=plan_snapshot(parts=plan_parts_read(plan=current)))  # fmt: skip
    _statements_follow(used)
    return current


@transaction.atomic
def plan_copy(*, actor, plan: Plan) -> Plan:
    """An independent copy of the plan and its parts: version 1, replacing nothing, named
    "… (copy)", assigned to nobody."""
    _require_editor(actor)
    source = plan_parts_read(plan=plan)
    copy = Plan()
    _fields_copy(plan, copy)
    copy.name = (_("%(name)s (copy)") % {"name": plan.name})[: Plan._meta.get_field("name").max_length]
    return plan_create(actor=actor, parts=PlanParts(plan=copy, **{n: getattr(source, n) for n in PART_NAMES}))


@transaction.atomic
def plan_retire(*, actor, plan: Plan, today: dt.date | None = None) -> Plan:
    """Retire the plan: it is no longer offered for new assignments, and keeps showing where it
    was used. Refused while it is still assigned to someone today or later (end those first)."""
    _require_editor(actor)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.retired_at is not None:
        return plan
    today = today or timezone.localdate()
    if plan.assignments.filter(Q(end_date__isnull=True) | Q(end_date__gte=today)).exists():
        raise ValidationError(_("The plan is still assigned to someone today or later: end those assignments "
                                "first, then retire it."), code="assigned")  # fmt: skip
    before = fields_snapshot(instance=plan, fields=("retired_at",))
    plan.retired_at = timezone.now()
    plan.save(update_fields=["retired_at"])
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=plan, store=plan.store, before=before,
                  after=fields_snapshot(instance=plan, fields=("retired_at",)))  # fmt: skip
    return plan


# --- assignments ----------------------------------------------------------------------------------


def _months(start: dt.date, end: dt.date | None) -> Q:
    """Statements of the months a span of days touches (an open span: every later month)."""
    q = Q(month__gte=start.replace(day=1))
    return q if end is None else q & Q(month__lte=end.replace(day=1))


def _affected(assignment: PlanAssignment, start: dt.date, end: dt.date | None):
    """The statements whose plan a change of this assignment over start … end may change."""
    statements = Statement.objects.filter(_months(start, end))
    if assignment.team_id is not None:
        return statements.filter(store_id=assignment.team.store_id)
    return statements.filter(member_id=assignment.member_id)


def _assignment_check(assignment: PlanAssignment) -> None:
    plan = assignment.plan
    if (assignment.team_id is None) == (assignment.member_id is None):
        raise ValidationError(_("Assign the plan to a team or to a member."), code="scope")
    if assignment.end_date is not None and assignment.end_date < assignment.start_date:
        raise ValidationError({"end_date": _("The last day comes on or after the first.")})
    if plan.store_id is not None:
        if assignment.team_id is not None and assignment.team.store_id != plan.store_id:
            raise ValidationError(_("This plan is for %(store)s; the team is in another store.")
                                  % {"store": plan.store.name}, code="store")  # fmt: skip
        if (
            assignment.member_id is not None
            and not TeamMembership.objects.filter(member_id=assignment.member_id, team__store_id=plan.store_id).exists()
        ):
            raise ValidationError(_("This plan is for %(store)s; the member is in none of its teams.")
                                  % {"store": plan.store.name}, code="store")  # fmt: skip


def _overlapping(assignment: PlanAssignment):
    same = PlanAssignment.objects.filter(team_id=assignment.team_id, member_id=assignment.member_id)
    if assignment.pk:
        same = same.exclude(pk=assignment.pk)
    same = same.filter(Q(end_date__isnull=True) | Q(end_date__gte=assignment.start_date))
    if assignment.end_date is not None:
        same = same.filter(start_date__lte=assignment.end_date)
    return same.select_related("plan")


def _overlap_error(other: PlanAssignment) -> ValidationError:
    span = f"{other.start_date:%Y-%m-%d} – {other.end_date:%Y-%m-%d}" if other.end_date else (
        _("from %(day)s") % {"day": f"{other.start_date:%Y-%m-%d}"})  # fmt: skip
    return ValidationError(_("%(who)s already has plan %(plan)s on some of these days (%(span)s): change that "
                             "assignment's days first.") % {"who": str(other.team or other.member),
                                                            "plan": other.plan.name, "span": span},
                           code="overlap")  # fmt: skip


@transaction.atomic
def plan_assign(
    *, actor, plan: Plan, start_date: dt.date, end_date: dt.date | None = None, team: Team | None = None,
    member: Member | None = None,
) -> PlanAssignment:  # fmt: skip
    """Assign the plan to a team (every member of it) or to a member (which wins over their team's)
    from `start_date` to `end_date` (inclusive; None: open). An open assignment of the same team
    or member that began earlier ends the day before; any other overlap is refused. A retired
    version is not assigned. The open statements of the months it touches recompute on commit."""
    _require_editor(actor)
    if plan.retired_at is not None:
        raise ValidationError(_("A retired plan is not assigned any more: assign its current version."),
                              code="retired")  # fmt: skip
    assignment = PlanAssignment(plan=plan, team=team, member=member, start_date=start_date, end_date=end_date)
    _assignment_check(assignment)
    store = team.store if team is not None else plan.store
    for other in _overlapping(assignment):
        if other.end_date is None and other.start_date < start_date:
            before = fields_snapshot(instance=other, fields=ASSIGNMENT_FIELDS)
            other.end_date = start_date - dt.timedelta(days=1)
            other.save(update_fields=["end_date"])
            change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=other, store=store, before=before,
                          after=fields_snapshot(instance=other, fields=ASSIGNMENT_FIELDS))  # fmt: skip
            continue
        raise _overlap_error(other)
    assignment.save()
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=assignment, store=store,
                  after=fields_snapshot(instance=assignment, fields=ASSIGNMENT_FIELDS))  # fmt: skip
    _statements_follow(_affected(assignment, start_date, end_date))
    return assignment


@transaction.atomic
def plan_assignment_update(
    *, actor, assignment: PlanAssignment, start_date: dt.date, end_date: dt.date | None
) -> PlanAssignment:
    """Change an assignment's days. Overlaps with another assignment of the same team or member
    are refused. The open statements of the months of the old and the new span recompute."""
    _require_editor(actor)
    # Only this row is locked (of self): PostgreSQL refuses FOR UPDATE on the nullable side of the
    # outer join select_related makes for a nullable key (SQLite has no row locks and let it pass).
    assignment = (
        PlanAssignment.objects.select_for_update(of=("self",)).select_related("plan", "team").get(pk=assignment.pk)
    )
    before = fields_snapshot(instance=assignment, fields=ASSIGNMENT_FIELDS)
    old_start, old_end = assignment.start_date, assignment.end_date
    assignment.start_date, assignment.end_date = start_date, end_date
    _assignment_check(assignment)
    if (other := _overlapping(assignment).first()) is not None:
        raise _overlap_error(other)
    assignment.save(update_fields=["start_date", "end_date"])
    store = assignment.team.store if assignment.team_id else assignment.plan.store
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=assignment, store=store, before=before,
                  after=fields_snapshot(instance=assignment, fields=ASSIGNMENT_FIELDS))  # fmt: skip
    first = min(old_start, start_date)
    last = None if old_end is None or end_date is None else max(old_end, end_date)
    _statements_follow(_affected(assignment, first, last))
    return assignment


@transaction.atomic
def plan_assignment_delete(*, actor, assignment: PlanAssignment) -> None:
    """Remove an assignment (one made by mistake). Statements already locked keep their plan; the
    open ones of its months recompute (without a plan, a draft keeps no lines)."""
    _require_editor(actor)
    store = assignment.team.store if assignment.team_id else assignment.plan.store
    affected = list(_affected(assignment, assignment.start_date, assignment.end_date).values_list("pk", flat=True))
    change_record(actor=actor, area=ChangeArea.PAY_PLANS, target=assignment, store=store,
                  before=fields_snapshot(instance=assignment, fields=ASSIGNMENT_FIELDS))  # fmt: skip
    assignment.delete()
    _statements_follow(Statement.objects.filter(pk__in=affected))


# --- the telesales template -----------------------------------------------------------------------


@transaction.atomic
def plan_telesales_create(
    *,
    store: Store | None,
    name: str,
    base_salary: Decimal,
    call_pay: Decimal = Decimal(1000),
    connected_target: int = 600,
    talk_target_minutes: int = 1500,
    connected_weight: Decimal = Decimal("0.5"),
    talk_weight: Decimal = Decimal("0.5"),
    call_floor: Decimal = Decimal("0.6"),
    tiers: Sequence[tuple[Decimal, Decimal]] = TELESALES_TIERS,
    tier_mode: str = TierMode.CUMULATIVE,
    commission_base: str = CommissionBase.WON,
    description: str = "",
    allowances: Sequence[PlanAllowance] = (),
    actor=None,
) -> Plan:
    """A telesales plan (seed 002): `base_salary` a month; call assessment of `call_pay` a month,
    split by the weights between connected outbound calls (`connected_target` a month) and talk
    time (`talk_target_minutes` a month), each part pro rata up to 100% of its target and 0
    below `call_floor`; commission on the amount won (default) tiered by completion of the
    member's amount-won target, every rate within 1.5%–3%. Raises ValidationError (nothing is
    written) when a rule is broken. Written by plan_create; assign it with plan_assign."""
    plan = Plan(
        store=store,
        name=name,
        description=description,
        kind=PlanKind.TELESALES,
        base_salary=Decimal(base_salary),
        call_pay=Decimal(call_pay),
        call_connected_target=connected_target,
        call_talk_target_minutes=talk_target_minutes,
        call_connected_weight=Decimal(connected_weight),
        call_talk_weight=Decimal(talk_weight),
        call_floor=Decimal(call_floor),
        commission_mode=CommissionMode.TIERED,
        tier_mode=tier_mode,
        commission_base=commission_base,
    )
    rows = [CommissionTier(from_completion=Decimal(start), rate=Decimal(rate)) for start, rate in tiers]
    return plan_create(actor=actor, parts=PlanParts(plan=plan, tiers=rows, allowances=list(allowances)))
