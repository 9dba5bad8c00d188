"""The sentences incentives stores (statement lines, badge details), as message templates.

Keys are stored in the database: never rename one that rows may hold (add a new key instead);
change a template's wording freely. How to add one: metrics/messages.py, docs/architecture.md."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from incentives.models import Comparison, TierMode
from metrics.messages import messages_register

messages_register(
    templates={
        # --- statement lines (incentives/services/statement_lines.py, incentives/lines.py) ----
        "incentives.base_salary": _("Base salary of plan %(plan)s."),
        "incentives.no_appraisal": _("No appraisal for %(month)s yet: performance pay follows when it is scored."),
        # Plural by the `count` parameter (an int): one KPI item, several.
        "incentives.performance_pending": ngettext_lazy(
            "The appraisal of %(month)s lacks data for %(count)s KPI item, awaiting HR's decision: no grade "
            "yet, so no performance pay until HR decides.",
            "The appraisal of %(month)s lacks data for %(count)s KPI items, awaiting HR's decision: no grade "
            "yet, so no performance pay until HR decides.",
            "count",
        ),
        "incentives.performance_by_score": _("%(pay)s × appraisal score %(score)s / 100 = %(amount)s."),
        "incentives.performance_by_grade": _("%(pay)s × coefficient %(coefficient)s of grade %(grade)s = %(amount)s."),
        "incentives.calls_below_floor": _(
            "%(kpi)s %(value)s / target %(target)s (%(done)s) is below the %(floor)s floor: this part "
            "(%(weight)s × %(pay)s) pays %(amount)s."
        ),
        "incentives.calls_capped": _(
            "%(kpi)s %(value)s / target %(target)s (%(done)s, counted as at most 100%%) → "
            "%(counted)s × %(weight)s × %(pay)s = %(amount)s."
        ),
        "incentives.calls": _(
            "%(kpi)s %(value)s / target %(target)s → %(counted)s × %(weight)s × %(pay)s = %(amount)s."
        ),
        "incentives.outbound_talk_time": _("Outbound talk time"),
        "incentives.minutes": _("%(minutes)s min"),
        "incentives.flat_on_deals": _("%(rate)s of %(base)s won in %(count)s deals (no refunds on deals)."),
        "incentives.flat_on_gmv": _("%(rate)s of %(base)s credited GMV net of refunds (%(count)s paid orders)."),
        "incentives.no_won_target": _("no amount-won target this month"),
        "incentives.no_gmv_target": _("no GMV target this month"),
        "incentives.completion_won": _("%(done)s (%(reached)s won / target %(target)s)"),
        "incentives.tier_part": _("%(rate)s × %(base)s"),
        "incentives.tiered_on_deals": _(
            "Target completion %(done)s (%(mode)s tiers): %(how)s, on %(base)s won in %(count)s deals "
            "(no refunds on deals)."
        ),
        "incentives.tiered_on_gmv": _(
            "Target completion %(done)s (%(mode)s tiers): %(how)s, on %(base)s credited GMV net of "
            "refunds (%(count)s paid orders)."
        ),
        "incentives.commission_capped": _("Commission capped at %(cap)s."),
        "incentives.modifier": _("%(kpi)s %(value)s %(cmp)s %(threshold)s: commission × %(multiplier)s."),
        "incentives.milestone": _("%(kpi)s %(value)s %(cmp)s %(threshold)s: bonus %(amount)s."),
        "incentives.pk_tie": _(" (a tie: the title is shared)"),
        "incentives.pk": _(
            "Team %(team)s won the week of %(week)s by %(kpi)s%(shared)s: +%(rate)s of that week's "
            "commission %(commission)s (%(base)s × %(effective)s)."
        ),
        "incentives.ranking": _("Rank %(rank)s of %(count)s in %(team)s by %(kpi)s: award %(amount)s."),
        "incentives.clawback": _(
            "Order %(order)s, paid out in %(month)s, was refunded %(refund)s later: commission at %(rate)s taken back."
        ),
        "incentives.allowance": _("%(name)s, a recurring allowance of plan %(plan)s: %(amount)s a month."),
        # --- a plan's parts as the change log shows them (incentives/services/plans.py) -----------
        "incentives.change_tier": "≥ %(start)s → %(rate)s",
        "incentives.change_modifier": "%(kpi)s %(cmp)s %(threshold)s → × %(multiplier)s",
        "incentives.change_milestone": "%(kpi)s %(cmp)s %(threshold)s → %(amount)s",
        "incentives.change_ranking": "%(kpi)s: %(amounts)s",
        "incentives.change_allowance": _("%(name)s %(amount)s a month"),
        "incentives.change_allowance_months": _("%(name)s %(amount)s a month, %(first)s – %(last)s"),
        # A line's KPI value ("412", "¥1,000.00", "1,500 min"): one parameter, formatted by its type.
        "incentives.value": "%(value)s",
        # --- badge details (incentives/services/badges.py) ---------------------------------------
        "incentives.badge_lightning": "%(order)s · %(time)s%(more)s",
        "incentives.badge_sprint": "%(week)s > %(best)s",
        "incentives.badge_perfect": _("%(answered)s/%(sessions)s ≤ 30 s"),
        "incentives.badge_rule": "%(value)s %(cmp)s %(threshold)s",
    },
    choices={"comparison": Comparison, "tier_mode": TierMode},
)
