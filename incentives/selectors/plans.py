"""A plan with its parts, as the statements, the estimator and the simulation read it.

A saved plan's parts are rows (tiers, KPI gates and multipliers, milestones, ranking awards,
recurring allowances); the editor's unsaved draft has them only in memory. `PlanParts` holds
either, so `statement_compute` computes a statement under a draft exactly as under a saved plan
(the simulation: incentives/services/simulation.py) and nothing is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from incentives.models import CommissionTier, Milestone, Modifier, Plan, PlanAllowance, RankingAward, Statement
from metrics.formatting import money_display
from metrics.messages import bilingual, message, message_render, month_text


@dataclass
class PlanParts:
    """A plan (saved or not) and its parts. Money in yuan, rates as fractions."""

    plan: Plan
    tiers: list[CommissionTier] = field(default_factory=list)
    modifiers: list[Modifier] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    ranking_awards: list[RankingAward] = field(default_factory=list)
    allowances: list[PlanAllowance] = field(default_factory=list)

    @property
    def tier_pairs(self) -> list[tuple]:
        """(from completion, rate), ascending: what calc.tiered_commission takes."""
        return sorted((t.from_completion, t.rate) for t in self.tiers)

    def allowances_of(self, month: dt.date) -> list[PlanAllowance]:
        """The recurring allowances paid in the month."""
        return [a for a in self.allowances if a.applies_to(month)]


def plan_parts_read(*, plan: Plan) -> PlanParts:
    """A saved plan's parts (prefetched ones are not read again)."""
    return PlanParts(
        plan=plan,
        tiers=sorted(plan.tiers.all(), key=lambda t: t.from_completion),
        modifiers=list(plan.modifiers.all()),
        milestones=list(plan.milestones.all()),
        ranking_awards=list(plan.ranking_awards.all()),
        allowances=list(plan.allowances.all()),
    )


def plan_is_final(*, plan: Plan) -> bool:
    """Whether a locked statement was computed with the plan: then it is never changed (an edit
    makes a new version)."""
    from incentives.models import StatementState

    return plan.pk is not None and Statement.objects.filter(plan=plan, state=StatementState.LOCKED).exists()


def plan_versions(*, plan: Plan) -> list[Plan]:
    """The plan's line of versions, newest first: the ones it replaced and the ones that replace it."""
    first = plan
    while first.replaces_id is not None:
        first = Plan.objects.get(pk=first.replaces_id)
    versions = [first]
    while True:
        following = Plan.objects.filter(replaces=versions[-1]).order_by("pk").first()
        if following is None:
            break
        versions.append(following)
    return list(reversed(versions))


def plan_current_version(*, plan: Plan) -> Plan:
    """The newest version of the plan's line (the plan itself when nothing replaced it)."""
    return plan_versions(plan=plan)[0]


def plan_label(*, plan: Plan) -> str:
    """The plan as statements and the payout export name it: its name and version, in the
    reader's language ("客服标准方案 (version 2)")."""
    return _("%(name)s (version %(version)s)") % {"name": plan.name, "version": plan.version}


def allowance_name(*, allowance: PlanAllowance) -> str:
    """The allowance's name in the reader's language (the other one when only one was written)."""
    return message_render(message=message("incentives.value", value=bilingual(zh=allowance.name_zh,
                                                                              en=allowance.name_en)))  # fmt: skip


def allowance_text(*, allowance: PlanAllowance) -> str:
    """ "差旅补贴 ¥300.00 a month, 2026-01 – 2026-06" in the reader's language."""
    text = _("%(name)s %(amount)s a month") % {"name": allowance_name(allowance=allowance),
                                                "amount": money_display(allowance.amount)}  # fmt: skip
    if allowance.start_month or allowance.end_month:
        first = month_text(allowance.start_month) if allowance.start_month else "…"
        last = month_text(allowance.end_month) if allowance.end_month else "…"
        text += f", {first} – {last}"
    return text
