"""Writing targets: one at a time, a decomposed tree in one action, promotions with their focus
targets, staff's behaviour counts, and the alerts of targets' progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from metrics.messages import MessageData, choice, kpi_label, message, message_render, money
from metrics.models import (
    Behaviour,
    BehaviourRecord,
    Campaign,
    CampaignPhase,
    PaceMethod,
    PeriodKind,
    PhaseKind,
    Target,
    TargetAlert,
    TargetAlertKind,
    TargetDirection,
    TargetTier,
)
from metrics.registry import KPI_BY_KEY, Direction
from metrics.targets.decomposition import (
    LEADS,
    Decomposition,
    DecompositionInput,
    History,
    decomposition_chain,
    decomposition_history,
    member_shares,
    revenue_decompose,
)
from metrics.targets.selectors import ACHIEVED, BEHIND, targets_progress
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Store, Team
from teams.selectors.scoping import Viewer, viewer_edits_target, viewer_plans_promotions, viewer_records_counts

FIELDS = ("tier", "name", "kpi_key", "behaviour", "store", "team", "member", "period_kind", "start", "end", "phase",
          "value", "direction", "pace", "parent", "owner", "notes")  # fmt: skip


def target_validate(target: Target) -> None:
    """Raise ValidationError for what the database cannot check: the KPI exists at the target's
    level, the scope is consistent, the parent is of the same store and no later tier."""
    errors = {}
    if target.kpi_key:
        kpi = KPI_BY_KEY.get(target.kpi_key)
        if kpi is None:
            errors["kpi_key"] = _("Unknown KPI.")
        elif kpi.formula(target.level) is None:
            errors["kpi_key"] = _("%(kpi)s is not measured at this level.") % {"kpi": kpi.label}
    if bool(target.kpi_key) == bool(target.behaviour_id):
        errors["kpi_key"] = _("Choose a KPI or a counted behaviour, not both.")
    if target.behaviour_id and target.behaviour.store_id != target.store_id:
        errors["behaviour"] = _("The behaviour belongs to another store.")
    if target.team_id and target.team.store_id != target.store_id:
        errors["team"] = _("The team belongs to another store.")
    if target.end < target.start:
        errors["end"] = _("The last day is before the first.")
    if target.value is not None and target.value < 0:
        errors["value"] = _("A target value cannot be negative.")
    if target.parent_id:
        order = [TargetTier.STRATEGY, TargetTier.TACTIC, TargetTier.EXECUTION]
        if target.parent.store_id != target.store_id:
            errors["parent"] = _("The parent target belongs to another store.")
        elif order.index(target.parent.tier) > order.index(target.tier):
            errors["parent"] = _("A parent cannot be of a lower tier.")
        elif target.pk and (target.parent_id == target.pk or _is_descendant(target.parent, target.pk)):
            errors["parent"] = _("A target cannot be its own ancestor.")
    if errors:
        raise ValidationError(errors)


def _is_descendant(node: Target, ancestor_id: int) -> bool:
    while node is not None:
        if node.parent_id == ancestor_id:
            return True
        node = node.parent
    return False


def default_direction(kpi_key: str) -> str:
    kpi = KPI_BY_KEY.get(kpi_key)
    return TargetDirection.AT_MOST if kpi and kpi.direction == Direction.LOWER else TargetDirection.AT_LEAST


def _check_edit(viewer: Viewer, target: Target) -> None:
    if not viewer_edits_target(
        viewer=viewer, store_id=target.store_id, team_id=target.team_id, member_id=target.member_id
    ):
        raise PermissionDenied(_("You may not set targets for this store, team or member."))


def _site_text(msg: MessageData) -> str:
    """A generated text in the site's language: what `name`/`notes` keep beside the message."""
    with translation.override(settings.LANGUAGE_CODE):
        return message_render(message=msg)


def target_create(*, viewer: Viewer, user, name_msg: MessageData | None = None, notes_msg: MessageData | None = None,
                  **fields) -> Target:  # fmt: skip
    """A target; `name_msg` / `notes_msg`: a generated name or notes (metrics/messages.py),
    shown in each reader's language, instead of a written `name` / `notes`."""
    target = Target(**{k: v for k, v in fields.items() if k in FIELDS}, created_by=user)
    if name_msg:
        target.name, target.name_msg = _site_text(name_msg)[:120], name_msg
    if notes_msg:
        target.notes, target.notes_msg = _site_text(notes_msg), notes_msg
    if not target.direction:
        target.direction = default_direction(target.kpi_key)
    _check_edit(viewer, target)
    target_validate(target)
    target.save()
    return target


def target_update(*, viewer: Viewer, target: Target, **fields) -> Target:
    """Change a target. A generated name (or notes) stays generated while the text given is the
    one shown to the editor; a different text is the editor's own and replaces it."""
    _check_edit(viewer, target)  # may change what it was …
    for key, value in fields.items():
        if key not in FIELDS:
            continue
        if key in ("name", "notes"):
            generated = getattr(target, f"{key}_msg")
            if generated and value == getattr(target, f"{key}_text"):
                continue  # left as shown: still the generated text, in every language
            setattr(target, f"{key}_msg", {})
        setattr(target, key, value)
    _check_edit(viewer, target)  # … and what it becomes
    target_validate(target)
    target.save()
    return target


def target_delete(*, viewer: Viewer, target: Target) -> None:
    _check_edit(viewer, target)
    target.delete()  # its children go with it (the tree below it)


@dataclass(frozen=True)
class DecompositionSave:
    store: Store
    team: Team | None
    name: str  # written by a person; empty: `name_msg`, or the generated "<scope> revenue <start> – <end>"
    period_kind: str
    # Counted by staff; None: no leads targets (each member aims at inquiring buyers instead).
    # Only for a plan with leads (a team that works leads): a service team's plan has none.
    leads_behaviour: Behaviour | None
    name_msg: MessageData | None = None


@dataclass(frozen=True)
class DecompositionFigures:
    """The figures a revenue target is worked back through, as typed on the page or sent to the API.
    Rates and shares are fractions (0.35), money in yuan."""

    revenue: Decimal
    returning_share: Decimal
    new_value_per_deal: Decimal
    lead_conversion: Decimal | None  # None for a service team (decomposition_chain)
    returning_order_value: Decimal
    orders_per_buyer: Decimal
    inquiry_conversion: Decimal | None
    uv_conversion: Decimal | None
    working_weekdays: tuple[int, ...]  # 0 = Monday
    pace_by_weights: bool
    split: str  # equal, last_period or manual (SPLITS)
    manual_shares: dict[int, Decimal]  # member id → share (split=manual), scaled to add up to 1


SPLITS = ("equal", "last_period", "manual")


def decomposition_plan(
    *, store: Store, team: Team | None, period: Period, figures: DecompositionFigures, members: list[Member]
) -> tuple[Decomposition, History | None]:
    """The plan for these figures (shared by the page and the API); the history (the store's
    weekday weights, the members' GMV of the last complete period) only when weekday weights or
    that split need it. A team that works no leads gets no leads, whatever lead conversion came.
    ValueError when the figures cannot be worked back (no working day, shares that add up to
    nothing). Writes nothing: decomposition_save saves a plan."""
    history = None
    if figures.pace_by_weights or figures.split == "last_period":
        history = decomposition_history(
            store_id=store.pk, team_id=team.pk if team else None, period=period, today=store_today(store)
        )
    member_ids = [m.pk for m in members]
    if figures.split == "manual":
        member_ids = [m for m in member_ids if figures.manual_shares.get(m, 0) > 0]
    shares = member_shares(
        split=figures.split,
        member_ids=member_ids,
        history=history.member_gmv if history else None,
        manual=figures.manual_shares,
    )
    weights = history.weekday_weights if history and figures.pace_by_weights and history.weekday_weights else None
    spec = DecompositionInput(
        revenue=figures.revenue,
        period=period,
        returning_share=figures.returning_share,
        new_value_per_deal=figures.new_value_per_deal,
        lead_conversion=figures.lead_conversion if decomposition_chain(store=store, team=team) == LEADS else None,
        returning_order_value=figures.returning_order_value,
        orders_per_buyer=figures.orders_per_buyer,
        inquiry_conversion=figures.inquiry_conversion,
        uv_conversion=figures.uv_conversion,
        working_weekdays=tuple(sorted(figures.working_weekdays)),
        weekday_weights=weights,
        member_shares=shares,
    )
    return revenue_decompose(spec), history


def decomposition_default_name(*, scope: str, start: dt.date, end: dt.date) -> MessageData:
    """The name of a decomposition's revenue target when nobody writes one."""
    return message("metrics.target_revenue", scope=scope, start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")


@transaction.atomic
def decomposition_save(*, viewer: Viewer, user, plan: Decomposition, how: DecompositionSave) -> Target:
    """The decomposition as a target tree in one action: the revenue (strategy); the orders,
    buyers, inquiries and UV it needs (tactics); each member's revenue and leads (or inquiring
    buyers) per week (execution). Returns the root. A plan weighed by weekday saves targets paced
    by weekday, so that their expected-to-date follows the same weights. The names it generates
    are messages, read in each reader's language (metrics/messages.py)."""
    period = plan.input.period
    store, team = how.store, how.team
    if not viewer_edits_target(viewer=viewer, store_id=store.pk, team_id=team.pk if team else None, member_id=None):
        raise PermissionDenied(_("You may not set targets for this store or team."))
    leads_behaviour = how.leads_behaviour if plan.leads is not None else None
    pace = PaceMethod.WEEKDAYS if plan.weighted else PaceMethod.LINEAR
    common = {"store": store, "team": team, "period_kind": how.period_kind, "start": period.start, "end": period.end,
              "created_by": user, "owner": user, "pace": pace}  # fmt: skip
    default = decomposition_default_name(scope=team.name if team else store.name, start=period.start, end=period.end)
    root_msg = {} if how.name else (how.name_msg or default)
    notes_msg = message("metrics.target_returning_new", returning=money(_money(plan.returning_revenue)),
                        new=money(_money(plan.new_revenue)))  # fmt: skip
    root = Target.objects.create(
        tier=TargetTier.STRATEGY, name=how.name or _site_text(root_msg)[:120], name_msg=root_msg, kpi_key="gmv",
        value=_money(plan.input.revenue), direction=TargetDirection.AT_LEAST, notes=_site_text(notes_msg),
        notes_msg=notes_msg, **common,
    )  # fmt: skip
    level = "team" if team else "store"
    tactics = [("paid_orders", plan.orders, "metrics.target_paid_orders_needed")]
    tactics.append(
        ("paying_buyers" if level == "store" else "paid_buyers", plan.paying_buyers,
         "metrics.target_paying_buyers_needed")
    )  # fmt: skip
    if plan.inquiries is not None:
        tactics.append(("inquiring_buyers", plan.inquiries, "metrics.target_inquiring_buyers_needed"))
    if plan.uv is not None and level == "store":
        tactics.append(("uv", plan.uv, "metrics.target_visitors_needed"))
    children = [
        _generated(
            Target(
                tier=TargetTier.TACTIC,
                kpi_key=key,
                value=_whole(value),
                direction=TargetDirection.AT_LEAST,
                parent=root,
                **common,
            ),
            message(name_key),
        )
        for key, value, name_key in tactics
    ]
    if leads_behaviour is not None:
        children.append(
            _generated(
                Target(tier=TargetTier.TACTIC, behaviour=leads_behaviour, value=_whole(plan.leads),
                       direction=TargetDirection.AT_LEAST, parent=root, **common),
                message("metrics.target_new_leads"),
            )
        )  # fmt: skip
    for child in children:
        target_validate(child)
    Target.objects.bulk_create(children)
    members = {m.pk: m for m in Member.objects.filter(pk__in=[p.member_id for p in plan.members])}
    execution = []
    for member_plan in plan.members:
        member = members[member_plan.member_id]
        for week, revenue, leads, inquiries in zip(
            plan.weeks, member_plan.revenue_per_week, member_plan.leads_per_week, member_plan.inquiries_per_week,
            strict=True,
        ):  # fmt: skip
            base = {"tier": TargetTier.EXECUTION, "store": store, "team": team, "member": member,
                    "period_kind": PeriodKind.WEEK, "start": week.start, "end": week.end, "parent": root,
                    "created_by": user, "direction": TargetDirection.AT_LEAST, "pace": pace}  # fmt: skip
            who = {"member": member.display_name, "period": f"{week.start:%m-%d}–{week.end:%m-%d}"}
            execution.append(
                _generated(
                    Target(kpi_key="gmv", value=_money(revenue), **base),
                    message("metrics.target_member_period", **who, measure=kpi_label("gmv")),
                )
            )
            if leads_behaviour is not None:
                execution.append(
                    _generated(
                        Target(behaviour=leads_behaviour, value=_whole(leads), **base),
                        message("metrics.target_member_period", **who, measure=leads_behaviour.name),
                    )
                )
            elif inquiries is not None:
                execution.append(
                    _generated(
                        Target(kpi_key="inquiring_buyers", value=_whole(inquiries), **base),
                        message("metrics.target_member_period", **who, measure=kpi_label("inquiring_buyers")),
                    )
                )
    Target.objects.bulk_create(execution)
    return root


def _generated(target: Target, name_msg: MessageData) -> Target:
    """A target whose name is generated: the message, and its text in the site's language."""
    target.name, target.name_msg = _site_text(name_msg)[:120], name_msg
    return target


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _whole(value: Decimal) -> Decimal:
    """Counts people must reach are whole: rounded up (60.2 orders means 61)."""
    whole = value.to_integral_value(rounding="ROUND_CEILING")
    return whole


# --- promotions ----------------------------------------------------------------------------

# The focus of each phase (the issue's and seed 003's playbook) and a default target value.
PHASE_FOCUS = {
    PhaseKind.PREHEAT: [("answered_15s_rate", Decimal("0.80"))],
    PhaseKind.PEAK: [("cart_to_pay_rate", Decimal("0.30")), ("inquiry_to_payment_rate", Decimal("0.35"))],
    PhaseKind.AFTER: [("repurchase_7d_rate", Decimal("0.05"))],
}


@transaction.atomic
def campaign_create(
    *, viewer: Viewer, user, store: Store, kind: str, name: str, phases: dict[str, tuple[dt.date, dt.date]],
    focus_values: dict[str, Decimal] | None = None,
) -> Campaign:  # fmt: skip
    """A promotion with its phases and each phase's focus targets: member-level KPIs for every
    team of the store, store-level ones for the store. Their names are messages ("<promotion> ·
    <phase> · <KPI>"), read in each reader's language."""
    if not viewer_plans_promotions(viewer=viewer, store_id=store.pk):
        raise PermissionDenied(_("Only the store's managers plan its promotions."))
    campaign = Campaign.objects.create(store=store, kind=kind, name=name)
    teams = list(Team.objects.filter(store=store))
    for kind_key, (start, end) in phases.items():
        if end < start:
            raise ValidationError({kind_key: _("The last day is before the first.")})
        phase = CampaignPhase.objects.create(campaign=campaign, kind=kind_key, start=start, end=end)
        for kpi_key, default in PHASE_FOCUS[kind_key]:
            value = (focus_values or {}).get(kpi_key, default)
            kpi = KPI_BY_KEY[kpi_key]
            scopes = [None] if kpi.store is not None else teams
            name_msg = message("metrics.target_focus", campaign=name, phase=choice("phase", kind_key),
                               kpi=kpi_label(kpi_key))  # fmt: skip
            for team in scopes:
                Target.objects.create(
                    tier=TargetTier.TACTIC, name=_site_text(name_msg)[:120], name_msg=name_msg, kpi_key=kpi_key,
                    store=store, team=team, period_kind=PeriodKind.PHASE, start=start, end=end, phase=phase,
                    value=value, direction=default_direction(kpi_key), created_by=user, owner=user,
                )  # fmt: skip
    return campaign


# --- behaviours ----------------------------------------------------------------------------


def behaviour_record_set(*, viewer: Viewer, user, member: Member, behaviour: Behaviour, date: dt.date, count: int,
                         note: str = "") -> BehaviourRecord:  # fmt: skip
    """Staff record their own counts (a team lead or manager may correct them); recording the
    same behaviour and day again replaces the count."""
    if not viewer_records_counts(viewer=viewer, member_id=member.pk, store_id=behaviour.store_id):
        raise PermissionDenied(_("You may record only your own counts."))
    if count < 0:
        raise ValidationError({"count": _("A count cannot be negative.")})
    if date > store_today(behaviour.store):
        raise ValidationError({"date": _("A day in the future cannot be recorded yet.")})
    record, _created = BehaviourRecord.objects.update_or_create(
        behaviour=behaviour, member=member, date=date, defaults={"count": count, "note": note, "recorded_by": user}
    )
    return record


# --- alerts --------------------------------------------------------------------------------

MILESTONES = ((Decimal("0.5"), TargetAlertKind.HALF), (Decimal("0.9"), TargetAlertKind.NINETY),
              (Decimal(1), TargetAlertKind.ACHIEVED))  # fmt: skip
BEHIND_EVERY_DAYS = 7  # "behind pace" is repeated at most weekly, not every night


def target_alerts_check(*, store: Store, today: dt.date | None = None) -> list[TargetAlert]:
    """Raise the alerts the store's running targets have earned: 50%, 90% and 100% of a sum
    reached (once each), behind pace (at most weekly); e-mail them to the owner and the member."""
    today = today or store_today(store)
    running = list(
        Target.objects.filter(store=store, start__lte=today, end__gte=today - dt.timedelta(days=1)).select_related(
            "member__user", "owner", "behaviour", "team", "store"
        )
    )
    progress = targets_progress(running, today=today)
    raised = []
    for target in running:
        p = progress[target.pk]
        earned = []
        if p.is_sum and target.direction == TargetDirection.AT_LEAST and p.completion is not None:
            earned += [kind for threshold, kind in MILESTONES if p.completion >= threshold]
        elif p.status == ACHIEVED:
            earned.append(TargetAlertKind.ACHIEVED)
        if p.status == BEHIND:
            earned.append(TargetAlertKind.BEHIND)
        for kind in earned:
            seen = TargetAlert.objects.filter(target=target, kind=kind)
            if kind == TargetAlertKind.BEHIND:
                seen = seen.filter(day__gt=today - dt.timedelta(days=BEHIND_EVERY_DAYS))
            if seen.exists():
                continue
            alert = TargetAlert.objects.create(
                target=target, kind=kind, day=today, actual=p.actual, expected=p.expected
            )
            alert.emailed_to = _email(alert)
            alert.save(update_fields=["emailed_to"])
            raised.append(alert)
    return raised


def _email(alert: TargetAlert) -> str:
    target = alert.target
    users = [u for u in (target.owner, target.member.user if target.member_id else None) if u and u.email]
    recipients = sorted({u.email for u in users})
    if not recipients:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Target %(name)s: %(kind)s") % {"name": target.name_text, "kind": alert.get_kind_display()}
        body = _("%(name)s (%(start)s – %(end)s): %(kind)s. So far %(actual)s of %(value)s.") % {
            "name": target.name_text, "start": target.start, "end": target.end, "kind": alert.get_kind_display(),
            "actual": alert.actual if alert.actual is not None else "—", "value": target.value,
        }  # fmt: skip
    send_mail(subject, body, None, recipients)
    return ", ".join(recipients)


def target_alerts_mark_read(*, alerts) -> int:
    """Mark the given alerts (a queryset the caller scoped to the viewer) read; returns how many."""
    return TargetAlert.objects.filter(
        pk__in=list(alerts.filter(read_at__isnull=True).values_list("pk", flat=True))
    ).update(read_at=timezone.now())
