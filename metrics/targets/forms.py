"""Forms of the target pages: a target, the revenue decomposition (scope and figures), a
promotion, staff's counts. Choices are limited to what the viewer may set; the services check
again and their errors are shown on the fields.

Rates are typed as percentages (35 means 35%) and handed to the services as fractions (0.35), the
unit the models keep."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from metrics.models import (
    Behaviour,
    CampaignKind,
    CampaignPhase,
    PaceMethod,
    PeriodKind,
    PhaseKind,
    Target,
    TargetDirection,
    TargetTier,
)
from metrics.registry import KPI_BY_KEY, KPIS, Kpi, Level, Unit
from metrics.targets.decomposition import LEADS
from metrics.targets.selectors import target_list
from perfmgmt.common.periods import Period
from teams.models import Member, Store, Team, TeamMembership
from teams.selectors.scoping import Viewer

HUNDRED = Decimal(100)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NUMBER = forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
UNIT_NAMES = {
    Unit.MONEY: _("yuan"),
    Unit.RATE: "%",
    Unit.SECONDS: _("seconds"),
    Unit.COUNT: _("count"),
    Unit.DAYS: _("days"),
}
WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


def plain(value: Decimal | None, places: str = "0.01") -> str:
    """A Decimal for an input field: rounded, without trailing zeros or an exponent."""
    if value is None:
        return ""
    text = format(Decimal(value).quantize(Decimal(places)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent_initial(fraction: Decimal | None) -> str:
    return "" if fraction is None else plain(Decimal(fraction) * HUNDRED, "0.01")


# --- what a viewer may set --------------------------------------------------------------------


def can_set_targets(viewer: Viewer) -> bool:
    """Admins, managers and team leads set targets; HR and staff do not."""
    return viewer.is_admin or viewer.is_manager or viewer.is_team_lead


def editable_stores(viewer: Viewer) -> QuerySet[Store]:
    if viewer.is_admin:
        return Store.objects.order_by("name")
    q = Q(pk__in=viewer.managed_store_ids) | Q(teams__in=viewer.led_team_ids)
    return Store.objects.filter(q).distinct().order_by("name")


def editable_teams(viewer: Viewer) -> QuerySet[Team]:
    teams = Team.objects.select_related("store").order_by("store__name", "name")
    if viewer.is_admin:
        return teams
    return teams.filter(Q(store_id__in=viewer.managed_store_ids) | Q(pk__in=viewer.led_team_ids))


def editable_members(viewer: Viewer) -> QuerySet[Member]:
    members = Member.objects.order_by("display_name")
    if viewer.is_admin:
        return members
    q = Q(memberships__team__store_id__in=viewer.managed_store_ids) | Q(memberships__team_id__in=viewer.led_team_ids)
    return members.filter(pk__in=Member.objects.filter(q).values("pk"))


def recordable_members(viewer: Viewer) -> QuerySet[Member]:
    """Whose counts the viewer may record: their own; a team lead or manager, their members'."""
    if viewer.is_admin:
        return Member.objects.filter(active=True).order_by("display_name")
    q = Q(memberships__team__store_id__in=viewer.managed_store_ids) | Q(memberships__team_id__in=viewer.led_team_ids)
    if viewer.member_id:
        q |= Q(pk=viewer.member_id)
    return Member.objects.filter(pk__in=Member.objects.filter(q).values("pk")).order_by("display_name")


def member_stores(member: Member) -> QuerySet[Store]:
    """The stores of the member's teams (past and present)."""
    return Store.objects.filter(teams__memberships__member=member).distinct().order_by("name")


def period_members(*, store: Store, team: Team | None, period: Period) -> list[Member]:
    """Active members of the team (or of the store's teams) at some time in the period."""
    memberships = TeamMembership.objects.filter(team__store=store, start_date__lte=period.end).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=period.start)
    )
    if team is not None:
        memberships = memberships.filter(team=team)
    return list(
        Member.objects.filter(pk__in=memberships.values("member_id"), active=True).order_by("display_name", "pk")
    )


# --- labels -----------------------------------------------------------------------------------


def kpi_label(kpi: Kpi) -> str:
    return f"{kpi.label} ({UNIT_NAMES[kpi.unit]})"


def kpi_choices() -> list:
    """KPIs grouped by the levels they are measured at (the service refuses a KPI at a level
    without a formula)."""
    both, members_only, store_only = [], [], []
    for kpi in KPIS:
        has_member, has_store = kpi.formula(Level.MEMBER) is not None, kpi.formula(Level.STORE) is not None
        group = both if has_member and has_store else (members_only if has_member else store_only)
        group.append((kpi.key, kpi_label(kpi)))
    return [
        ("", _("— a counted behaviour instead —")),
        (_("Members, teams and stores"), both),
        (_("Members and teams"), members_only),
        (_("Stores"), store_only),
    ]


def _team_label(team: Team) -> str:
    return f"{team.store.name} / {team.name}"


def _behaviour_label(behaviour: Behaviour) -> str:
    unit = f" ({behaviour.unit_text})" if behaviour.unit_text else ""
    return f"{behaviour.store.name} · {behaviour.name}{unit}"


def _parent_label(target: Target) -> str:
    days = f"{target.start:%Y-%m-%d}–{target.end:%Y-%m-%d}"
    return f"{target.get_tier_display()} · {target.name_text} · {target.store.name} · {days}"


def _phase_label(phase: CampaignPhase) -> str:
    return f"{phase.campaign.name} · {phase.get_kind_display()} · {phase.start:%Y-%m-%d}–{phase.end:%Y-%m-%d}"


def period_end(kind: str, start: dt.date) -> dt.date | None:
    """The last day of a period of `kind` that starts on `start` (None: custom lengths)."""
    if kind == PeriodKind.DAY:
        return start
    if kind == PeriodKind.WEEK:
        return start + dt.timedelta(days=6)
    if kind == PeriodKind.MONTH:
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if kind == PeriodKind.QUARTER:
        last_month = (start.month - 1) // 3 * 3 + 3
        return dt.date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])
    if kind == PeriodKind.YEAR:
        return dt.date(start.year, 12, 31)
    return None


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
        stores = editable_stores(viewer)
        self.fields["kpi_key"].choices = kpi_choices()
        self.fields["store"].queryset = stores
        self.fields["team"].queryset = editable_teams(viewer)
        self.fields["team"].label_from_instance = _team_label
        self.fields["member"].queryset = editable_members(viewer)
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
            "value": plain(value, "0.0001"),
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


# --- the revenue decomposition ----------------------------------------------------------------


class PercentField(forms.DecimalField):
    """A percentage typed by people (6 for 6%), cleaned to the fraction the arithmetic uses."""

    def __init__(self, *, allow_zero: bool = True, **kwargs):
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100"}))
        super().__init__(min_value=0, max_value=100, max_digits=9, decimal_places=4, **kwargs)
        self.allow_zero = allow_zero

    def clean(self, value):
        number = super().clean(value)
        if number is None:
            return None
        if not self.allow_zero and number == 0:
            raise forms.ValidationError(_("Must be more than 0%."), code="zero")
        return number / HUNDRED


def quarter_choices(today: dt.date) -> list[tuple[str, str]]:
    """The previous quarter, this one and the next four."""
    current = (today.year, (today.month - 1) // 3 + 1)
    choices = []
    for offset in range(-1, 5):
        index = current[0] * 4 + current[1] - 1 + offset
        year, quarter = divmod(index, 4)
        choices.append((f"{year}-Q{quarter + 1}", f"{year} Q{quarter + 1}"))
    return choices


PERIOD_CHOICES = [("month", _("A month")), ("quarter", _("A quarter")), ("custom", _("From … to …"))]
SPLIT_CHOICES = [
    ("equal", _("Equally")),
    ("last_period", _("By each member's GMV in the last complete period")),
    ("manual", _("By hand")),
]


class DecomposeScopeForm(forms.Form):
    """Step one: whose target, and for which days."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("— the whole store —")
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, initial="month", widget=forms.RadioSelect)
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-09"})
    )
    quarter = forms.ChoiceField(label=_("Quarter"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=DATE)
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=DATE)

    def __init__(self, *args, viewer: Viewer, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = editable_stores(viewer)
        self.fields["team"].queryset = editable_teams(viewer)
        self.fields["team"].label_from_instance = _team_label
        self.fields["quarter"].choices = quarter_choices(today)
        next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        self.fields["month"].initial = f"{next_month:%Y-%m}"
        self.fields["quarter"].initial = quarter_choices(today)[2][0]
        if self.is_bound:  # the choices not taken keep their defaults on the page
            data = self.data.copy()
            for name in ("month", "quarter"):
                if not data.get(name):
                    data[name] = self.fields[name].initial
            self.data = data

    def clean(self):
        data = super().clean()
        store, team = data.get("store"), data.get("team")
        if store is not None and team is not None and team.store_id != store.pk:
            self.add_error("team", _("This team belongs to another store."))
        kind = data.get("period")
        if kind == "month":
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", data.get("month") or "")
            if not match or not 1 <= int(match[2]) <= 12:
                self.add_error("month", _("Choose a month, as 2026-09."))
            else:
                first = dt.date(int(match[1]), int(match[2]), 1)
                data["resolved"] = Period(first, period_end(PeriodKind.MONTH, first))
        elif kind == "quarter":
            match = re.fullmatch(r"(\d{4})-Q([1-4])", data.get("quarter") or "")
            if not match:
                self.add_error("quarter", _("Choose a quarter."))
            else:
                first = dt.date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1)
                data["resolved"] = Period(first, period_end(PeriodKind.QUARTER, first))
        elif kind == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start" if not start else "end", _("Give the first and the last day."))
            elif end < start:
                self.add_error("end", _("The last day is before the first."))
            elif (end - start).days > 366:
                self.add_error("end", _("A period of at most a year, please."))
            else:
                data["resolved"] = Period(start, end)
        return data

    @property
    def resolved_period(self) -> Period:
        return self.cleaned_data["resolved"]

    @property
    def period_kind(self) -> str:
        return {"month": PeriodKind.MONTH, "quarter": PeriodKind.QUARTER}.get(
            self.cleaned_data["period"], PeriodKind.CUSTOM
        )


class DecomposeFiguresForm(forms.Form):
    """Step two: the revenue and the rates it is worked back through, prefilled from history."""

    revenue = forms.DecimalField(
        label=_("Revenue target (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", "placeholder": "1000000"}),
    )
    returning_share = PercentField(
        label=_("Returning customers' share of revenue (%)"),
        help_text=_("The rest comes from new customers."),
    )
    new_value_per_deal = forms.DecimalField(
        label=_("Value of a new customer's deal (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=NUMBER,
    )
    lead_conversion = PercentField(
        label=_("Lead conversion (%)"),
        allow_zero=False,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100", "placeholder": "6"}),
        help_text=_("New customers reached (leads) who buy."),
    )
    returning_order_value = forms.DecimalField(
        label=_("Value of a returning customer's order (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=NUMBER,
    )
    orders_per_buyer = forms.DecimalField(
        label=_("Orders per paying buyer"),
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=4,
        initial=1,
        widget=NUMBER,
    )
    inquiry_conversion = PercentField(
        label=_("Inquiry conversion (%)"),
        required=False,
        allow_zero=False,
        help_text=_("Paying buyers / inquiring buyers. Empty: no inquiries target."),
    )
    uv_conversion = PercentField(
        label=_("Store conversion (%)"),
        required=False,
        allow_zero=False,
        help_text=_("Paying buyers / visitors. Empty: no visitors target."),
    )
    working_weekdays = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[0, 1, 2, 3, 4, 5],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
    )
    pace_by_weights = forms.BooleanField(
        label=_("Weigh the days by the store's sales per weekday"),
        required=False,
        help_text=_(
            "Each weekday's share of the store's sales in the 8 weeks before; the saved targets expect "
            "their progress by the same weights. Unticked: every working day carries the same share."
        ),
    )
    period_kind = forms.ChoiceField(
        label=_("Saved as a target of the period"),
        required=False,
        choices=[("", _("As chosen above")), *PeriodKind.choices],
    )
    split = forms.ChoiceField(
        label=_("Split between members"), choices=SPLIT_CHOICES, initial="equal", widget=forms.RadioSelect
    )
    leads_behaviour = forms.ModelChoiceField(
        label=_("Leads are counted as"),
        queryset=Behaviour.objects.none(),
        required=False,
        empty_label=_("— not counted: aim at inquiring buyers instead —"),
        help_text=_("A behaviour staff record, to give each member a weekly leads target."),
    )
    name = forms.CharField(label=_("Name of the revenue target"), max_length=120, required=False)

    def __init__(self, *args, store: Store | None, members: list[Member], chain: str = LEADS, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        self.chain = chain
        if chain == LEADS:
            behaviours = Behaviour.objects.filter(store=store) if store else Behaviour.objects.none()
            self.fields["leads_behaviour"].queryset = behaviours
        else:
            # A service team has no leads: it sells to the buyers who consult it, so the inquiry
            # conversion is what the revenue is worked back through, and is required.
            del self.fields["lead_conversion"], self.fields["leads_behaviour"]
            inquiry = self.fields["inquiry_conversion"]
            inquiry.required = True
            inquiry.help_text = _(
                "Paying buyers / inquiring buyers: of the buyers who consult the team, those who pay."
            )
            self.fields["new_value_per_deal"].label = _("New customers' average order value (yuan)")
            self.fields["returning_order_value"].label = _("Returning customers' average order value (yuan)")
        for member in members:
            self.fields[f"share_{member.pk}"] = forms.DecimalField(
                label=member.display_name,
                required=False,
                min_value=0,
                max_digits=9,
                decimal_places=4,
                widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
            )

    @property
    def share_fields(self) -> list:
        return [self[f"share_{member.pk}"] for member in self.members]

    def manual_shares(self) -> dict[int, Decimal]:
        return {
            member.pk: self.cleaned_data.get(f"share_{member.pk}") or Decimal(0)
            for member in self.members
            if self.cleaned_data.get(f"share_{member.pk}")
        }

    def clean(self):
        data = super().clean()
        if data.get("split") == "manual" and self.members and not self.manual_shares():
            self.add_error("split", _("Give at least one member a share, or split equally."))
        return data


# --- a promotion ------------------------------------------------------------------------------

FOCUS_KPIS = (
    ("answered_15s_rate", PhaseKind.PREHEAT),
    ("cart_to_pay_rate", PhaseKind.PEAK),
    ("inquiry_to_payment_rate", PhaseKind.PEAK),
    ("repurchase_7d_rate", PhaseKind.AFTER),
)


class PromotionForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=CampaignKind.choices, initial=CampaignKind.DOUBLE_11)
    name = forms.CharField(label=pgettext_lazy("promotion", "Name"), max_length=80)

    def __init__(self, *args, viewer: Viewer, focus_defaults: dict[str, Decimal], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(
            pk__in=[s.pk for s in editable_stores(viewer) if viewer.is_admin or s.pk in viewer.managed_store_ids]
        ).order_by("name")
        self.phase_rows = []
        for kind, label in PhaseKind.choices:
            self.fields[f"{kind}_start"] = forms.DateField(label=_("First day"), required=False, widget=DATE)
            self.fields[f"{kind}_end"] = forms.DateField(label=_("Last day"), required=False, widget=DATE)
            focus = []
            for key, phase in FOCUS_KPIS:
                if phase != kind:
                    continue
                kpi = KPI_BY_KEY[key]
                self.fields[f"focus_{key}"] = PercentField(
                    label=kpi.label, required=False, initial=percent_initial(focus_defaults.get(key))
                )
                focus.append(self[f"focus_{key}"])
            self.phase_rows.append((kind, label, self[f"{kind}_start"], self[f"{kind}_end"], focus))

    def clean(self):
        data = super().clean()
        phases = {}
        for kind, _label in PhaseKind.choices:
            start, end = data.get(f"{kind}_start"), data.get(f"{kind}_end")
            if start and end:
                if end < start:
                    self.add_error(f"{kind}_end", _("The last day is before the first."))
                else:
                    phases[kind] = (start, end)
            elif start or end:
                self.add_error(f"{kind}_end" if start else f"{kind}_start", _("Give both days, or neither."))
        if not phases and not self.errors:
            raise forms.ValidationError(_("Give the days of at least one phase."))
        data["phases"] = phases
        data["focus_values"] = {
            key: data[f"focus_{key}"] for key, _phase in FOCUS_KPIS if data.get(f"focus_{key}") is not None
        }
        return data


# --- staff's counts ---------------------------------------------------------------------------


class RecordPickForm(forms.Form):
    """Whose counts, and which day (GET)."""

    member = forms.ModelChoiceField(label=_("Member"), queryset=Member.objects.none(), required=False, empty_label=None)
    date = forms.DateField(label=_("Date"), required=False, widget=DATE)

    def __init__(self, *args, members: QuerySet[Member], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["date"].widget.attrs["max"] = f"{today:%Y-%m-%d}"


class RecordForm(forms.Form):
    """One count per behaviour of the member's stores for a day; empty counts are left alone."""

    date = forms.DateField(label=_("Date"), widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, behaviours: list[Behaviour], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.behaviours = behaviours
        self.today = today
        self.fields["date"].widget.attrs["max"] = f"{today:%Y-%m-%d}"
        for behaviour in behaviours:
            self.fields[f"count_{behaviour.pk}"] = forms.IntegerField(
                label=behaviour.name,
                required=False,
                min_value=0,
                max_value=100_000,
                help_text=behaviour.description,
                widget=forms.NumberInput(attrs={"min": "0", "step": "1", "inputmode": "numeric"}),
            )

    @property
    def count_fields(self) -> list:
        return [(behaviour, self[f"count_{behaviour.pk}"]) for behaviour in self.behaviours]

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day > self.today:
            raise forms.ValidationError(_("A day in the future cannot be recorded yet."))
        return day

    def clean(self):
        data = super().clean()
        if self.behaviours and not self.errors and all(data.get(f"count_{b.pk}") is None for b in self.behaviours):
            raise forms.ValidationError(_("Enter at least one count."))
        return data

    def counts(self) -> list[tuple[Behaviour, int]]:
        counts = [(b, self.cleaned_data.get(f"count_{b.pk}")) for b in self.behaviours]
        return [(behaviour, count) for behaviour, count in counts if count is not None]
