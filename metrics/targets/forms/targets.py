"""The form of one target."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from metrics.models import (
    Behaviour,
    CampaignPhase,
    PaceMethod,
    PeriodKind,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import KPI_BY_KEY, KPIS, Kpi, Level, Unit
from metrics.targets.forms.fields import (
    DATE,
    HUNDRED,
    NUMBER,
    UNIT_NAMES,
    period_end,
    team_label,
)
from metrics.targets.selectors import target_list
from perfmgmt.common.numbers import decimal_plain
from teams.models import Member, Store, Team, TeamMembership
from teams.selectors.scoping import (
    Viewer,
    member_list_target_editable,
    store_list_target_editable,
    team_list_target_editable,
)

# --- labels -----------------------------------------------------------------------------------


def kpi_choice_label(kpi: Kpi) -> str:
    """A KPI as a form's choice names it: its label and unit."""
    return f"{kpi.label} ({UNIT_NAMES[kpi.unit]})"


def kpi_choices() -> list:
    """KPIs grouped by the levels they are measured at (the service refuses a KPI at a level
    without a formula)."""
    both, members_only, store_only = [], [], []
    for kpi in KPIS:
        has_member, has_store = kpi.formula(Level.MEMBER) is not None, kpi.formula(Level.STORE) is not None
        group = both if has_member and has_store else (members_only if has_member else store_only)
        group.append((kpi.key, kpi_choice_label(kpi)))
    return [
        ("", _("— a counted behaviour instead —")),
        (_("Members, teams and stores"), both),
        (_("Members and teams"), members_only),
        (_("Stores"), store_only),
    ]


def _behaviour_label(behaviour: Behaviour) -> str:
    unit = f" ({behaviour.unit_text})" if behaviour.unit_text else ""
    return f"{behaviour.store.name} · {behaviour.name}{unit}"


def _parent_label(target: Target) -> str:
    days = f"{target.start:%Y-%m-%d}–{target.end:%Y-%m-%d}"
    return f"{target.get_tier_display()} · {target.name_text} · {target.store.name} · {days}"


def _phase_label(phase: CampaignPhase) -> str:
    return f"{phase.campaign.name} · {phase.get_kind_display()} · {phase.start:%Y-%m-%d}–{phase.end:%Y-%m-%d}"


# --- a target ---------------------------------------------------------------------------------


class TargetForm(forms.Form):
    """One target. The KPI's unit decides what the value means: yuan, a percentage for rates,
    seconds, or a count."""

    name = forms.CharField(label=pgettext_lazy("target", "Name"), max_length=120)
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=TargetTier.choices,
        help_text=_("Strategy: the result; tactic: the drivers that produce it; execution: what a person does."),
    )
    kpi_key = forms.ChoiceField(label=_("KPI"), required=False)
    behaviour = forms.ModelChoiceField(
        label=_("Counted behaviour"),
        queryset=Behaviour.objects.none(),
        required=False,
        empty_label="—",
        help_text=_("Instead of a KPI: something staff count themselves."),
    )
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("— the whole store —")
    )
    member = forms.ModelChoiceField(
        label=_("Member"), queryset=Member.objects.none(), required=False, empty_label=_("— the whole team or store —")
    )
    period_kind = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices, initial=PeriodKind.MONTH)
    start = forms.DateField(label=_("First day"), required=False, widget=DATE)
    end = forms.DateField(
        label=_("Last day"),
        required=False,
        widget=DATE,
        help_text=_("Inclusive. Empty: the end of the day, week, month, quarter or year that starts on the first day."),
    )
    phase = forms.ModelChoiceField(
        label=_("Promotion phase"),
        queryset=CampaignPhase.objects.none(),
        required=False,
        empty_label="—",
        help_text=_("Optional; its days are used when you leave the dates empty."),
    )
    value = forms.DecimalField(
        label=_("Value"),
        min_value=0,
        max_digits=16,
        decimal_places=4,
        widget=NUMBER,
        help_text=_("In the KPI's unit: yuan for money, a percentage for rates (35 for 35%), seconds, or a count."),
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[("", _("The KPI's usual direction")), *TargetDirection.choices],
    )
    pace = forms.ChoiceField(label=_("Pace"), choices=PaceMethod.choices, initial=PaceMethod.LINEAR)
    parent = forms.ModelChoiceField(
        label=_("Parent target"),
        queryset=Target.objects.none(),
        required=False,
        empty_label=_("— none: a top-level target —"),
        help_text=_("A strategy or tactic of the same store this target contributes to."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, viewer: Viewer, today: dt.date, instance: Target | None = None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        self.instance = instance
        stores = store_list_target_editable(viewer=viewer)
        self.fields["kpi_key"].choices = kpi_choices()
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = team_list_target_editable(viewer=viewer)
        self.fields["team"].label_from_instance = team_label
        self.fields["member"].queryset = member_list_target_editable(viewer=viewer)
        self.fields["behaviour"].queryset = Behaviour.objects.filter(store__in=stores).select_related("store")
        self.fields["behaviour"].label_from_instance = _behaviour_label
        recent = today - dt.timedelta(days=120)
        candidates = target_list(viewer=viewer).filter(
            store__in=stores, tier__in=[TargetTier.STRATEGY, TargetTier.TACTIC], end__gte=recent
        )
        current = instance.parent_id if instance else None  # kept, even if no longer offered
        parents = Target.objects.filter(Q(pk__in=candidates.values("pk")) | Q(pk=current)).select_related("store")
        if instance is not None:
            parents = parents.exclude(pk=instance.pk)
        self.fields["parent"].queryset = parents.order_by("-start", "store__name", "name")
        self.fields["parent"].label_from_instance = _parent_label
        self.fields["phase"].queryset = (
            CampaignPhase.objects.filter(Q(campaign__store__in=stores) | Q(campaign__store__isnull=True))
            .filter(Q(end__gte=recent) | Q(pk=instance.phase_id if instance else None))
            .select_related("campaign")
            .order_by("-start")
        )
        self.fields["phase"].label_from_instance = _phase_label

    @staticmethod
    def initial_from(target: Target) -> dict:
        kpi = KPI_BY_KEY.get(target.kpi_key) if target.kpi_key else None
        value = target.value * HUNDRED if kpi and kpi.unit == Unit.RATE else target.value
        return {
            "name": target.name_text,  # a generated name in the editor's language; kept if left as is
            "tier": target.tier,
            "kpi_key": target.kpi_key,
            "behaviour": target.behaviour_id,
            "store": target.store_id,
            "team": target.team_id,
            "member": target.member_id,
            "period_kind": target.period_kind,
            "start": target.start,
            "end": target.end,
            "phase": target.phase_id,
            "value": decimal_plain(value, places="0.0001"),
            "direction": target.direction,
            "pace": target.pace,
            "parent": target.parent_id,
            "notes": target.notes_text,
        }

    def clean(self):
        data = super().clean()
        phase, kind, start, end = data.get("phase"), data.get("period_kind"), data.get("start"), data.get("end")
        if phase is not None:
            start, end = start or phase.start, end or phase.end
        elif kind == PeriodKind.PHASE:
            self.add_error("phase", _("Choose the promotion phase of a target for a phase."))
        if start is None:
            if "start" not in self.errors:
                self.add_error("start", _("Give the first day."))
        elif end is None and kind:
            end = period_end(kind, start)
            if end is None:
                self.add_error("end", _("Give the last day of a custom period."))
        data["start"], data["end"] = start, end
        kpi_key, behaviour = data.get("kpi_key"), data.get("behaviour")
        if not kpi_key and behaviour is None:
            self.add_error("kpi_key", _("Choose a KPI or a counted behaviour."))
        elif kpi_key and behaviour is not None:
            self.add_error("behaviour", _("Choose a KPI or a counted behaviour, not both."))
        kpi = KPI_BY_KEY.get(kpi_key or "")
        value = data.get("value")
        if kpi is not None and kpi.unit == Unit.RATE and value is not None:
            if value > HUNDRED:
                self.add_error("value", _("A rate is at most 100%."))
            else:
                data["value"] = value / HUNDRED
        store, team, member = data.get("store"), data.get("team"), data.get("member")
        if store is not None and member is not None:
            in_store = TeamMembership.objects.filter(member=member, team__store=store)
            if team is not None:
                in_store = in_store.filter(team=team)
            if not in_store.exists():
                self.add_error(
                    "member",
                    _("%(member)s is not in this team or store.") % {"member": member.display_name},
                )
        return data

    def target_fields(self) -> dict:
        """What the service takes."""
        data = self.cleaned_data
        return {
            "tier": data["tier"],
            "name": data["name"],
            "kpi_key": data["kpi_key"] or "",
            "behaviour": data["behaviour"],
            "store": data["store"],
            "team": data["team"],
            "member": data["member"],
            "period_kind": data["period_kind"],
            "start": data["start"],
            "end": data["end"],
            "phase": data["phase"],
            "value": data["value"],
            "direction": data["direction"] or "",
            "pace": data["pace"],
            "parent": data["parent"],
            "notes": data["notes"],
        }
