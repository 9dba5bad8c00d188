"""Targets and the promotion calendar: behaviours, campaigns and phases, targets, their alerts."""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from metrics.messages import message_render
from teams.models import Store


class TargetTier(models.TextChoices):
    STRATEGY = "strategy", _("Strategy")  # the store's or team's result for a year, quarter or month
    TACTIC = "tactic", _("Tactic")  # the drivers that produce it: orders, buyers, inquiries, UV
    EXECUTION = "execution", _("Execution")  # what a person does this week and today


class PeriodKind(models.TextChoices):
    YEAR = "year", _("Year")
    QUARTER = "quarter", _("Quarter")
    MONTH = "month", _("Month")
    WEEK = "week", _("Week")
    DAY = "day", _("Day")
    PHASE = "phase", _("Promotion phase")
    CUSTOM = "custom", _("Custom period")


class TargetDirection(models.TextChoices):
    AT_LEAST = "at_least", _("At least")  # reach the value (GMV, orders, conversion)
    AT_MOST = "at_most", _("At most")  # stay under it (first response time, refund rate)


class PaceMethod(models.TextChoices):
    LINEAR = "linear", _("Evenly over the days")
    WEEKDAYS = "weekdays", _("By weekday weights learned from history")


class Behaviour(models.Model):
    """A counted behaviour a target can ask for and staff record themselves: "A-class customers
    closed", "customer needs reported". Defined per store."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="behaviours", verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=80)
    # A unit is grammar around a number, not a name: Chinese counts with a measure word (个, 条)
    # that English has no word for, so each language has its own; English without one shows the
    # bare number ("2.6"), never "2.6 条".
    unit = models.CharField(
        _("unit (Chinese)"), max_length=20, blank=True, help_text=_("The measure word shown after a count in Chinese.")
    )
    unit_en = models.CharField(
        _("unit (English)"), max_length=20, blank=True,
        help_text=_("Shown after a count in English, e.g. reports. Empty: the number alone."),
    )  # fmt: skip
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("counted behaviour")
        verbose_name_plural = _("counted behaviours")
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="behaviour_unique_per_store")]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_text(self) -> str:
        """The unit in the active language (each language its own; see `unit`)."""
        return self.unit if (get_language() or "").startswith("zh") else self.unit_en


class BehaviourRecord(models.Model):
    """How many times a member did a counted behaviour on a day (one row per member, behaviour and
    day: recording again replaces the count)."""

    behaviour = models.ForeignKey(Behaviour, on_delete=models.CASCADE, related_name="records")
    member = models.ForeignKey("teams.Member", on_delete=models.CASCADE, related_name="behaviour_records")
    date = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("count"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["behaviour", "member", "date"], name="behaviour_record_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.behaviour_id} {self.date}: {self.count}"


class CampaignKind(models.TextChoices):
    JUNE_18 = "618", _("618")
    DOUBLE_11 = "double11", _("Double 11 (双11)")
    DOUBLE_12 = "double12", _("Double 12 (双12)")
    NEW_YEAR_GOODS = "new_year_goods", _("New Year goods festival (年货节)")
    CUSTOM = "custom", _("Custom")


class PhaseKind(models.TextChoices):
    PREHEAT = "preheat", _("Pre-heat")
    PEAK = "peak", _("Peak")
    AFTER = "after", _("After")


class Campaign(models.Model):
    """A promotion on the calendar; its phases are bands on the dashboards' charts."""

    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("store"),
        help_text=_("Empty: every store."),
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind, default=CampaignKind.CUSTOM)
    name = models.CharField(_("name"), max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")

    def __str__(self) -> str:
        return self.name


class CampaignPhase(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(_("phase"), max_length=10, choices=PhaseKind)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))  # inclusive

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="phase_end_after_start"),
            models.UniqueConstraint(fields=["campaign", "kind"], name="phase_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.get_kind_display()}"


class Target(models.Model):
    """A goal for one scope (a store, a team or a member) and one period: a KPI of the registry
    (by key) or a counted behaviour reaching (or staying under) a value. Targets form a tree from
    strategy down to execution through `parent`."""

    tier = models.CharField(_("tier"), max_length=10, choices=TargetTier)
    # A name a person wrote is kept as written. A generated name ("Paid orders needed", "李娜
    # 12-07–12-13 · GMV") is a message (metrics/messages.py) in `name_msg`, shown in the reader's
    # language (`name_text`); `name` then holds its text in the site's language (admin, sorting).
    name = models.CharField(_("name"), max_length=120)
    name_msg = models.JSONField(default=dict, blank=True)
    kpi_key = models.CharField(_("KPI"), max_length=40, blank=True)  # a key of metrics.registry
    behaviour = models.ForeignKey(
        Behaviour, null=True, blank=True, on_delete=models.PROTECT, related_name="targets", verbose_name=_("behaviour")
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="targets", verbose_name=_("store"))
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="targets", verbose_name=_("team")
    )
    member = models.ForeignKey(
        "teams.Member", null=True, blank=True, on_delete=models.CASCADE, related_name="targets",
        verbose_name=_("member"),
    )  # fmt: skip
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))  # inclusive
    phase = models.ForeignKey(
        CampaignPhase, null=True, blank=True, on_delete=models.CASCADE, related_name="targets",
        verbose_name=_("promotion phase"),
    )  # fmt: skip
    # Money in yuan, rates as fractions (0.35), seconds, counts: the KPI's own unit.
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    direction = models.CharField(_("direction"), max_length=10, choices=TargetDirection)
    pace = models.CharField(_("pace"), max_length=10, choices=PaceMethod, default=PaceMethod.LINEAR)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("parent")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_targets",
        verbose_name=_("owner"),
    )  # fmt: skip
    notes = models.TextField(_("notes"), blank=True)
    notes_msg = models.JSONField(default=dict, blank=True)  # generated notes, as `name_msg`
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "tier", "name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="target_end_after_start"),
            models.CheckConstraint(
                condition=(models.Q(behaviour__isnull=True) & ~models.Q(kpi_key=""))
                | (models.Q(behaviour__isnull=False) & models.Q(kpi_key="")),
                name="target_kpi_or_behaviour",
            ),
        ]
        indexes = [models.Index(fields=["store", "start", "end"])]

    def __str__(self) -> str:
        return self.name_text

    @property
    def name_text(self) -> str:
        """The name in the active language: a generated one rendered, a written one as written."""
        return message_render(message=self.name_msg, fallback=self.name)

    @property
    def notes_text(self) -> str:
        return message_render(message=self.notes_msg, fallback=self.notes)

    @property
    def level(self) -> str:
        """The scope's level: member, team or store."""
        return "member" if self.member_id else ("team" if self.team_id else "store")


class TargetAlertKind(models.TextChoices):
    HALF = "half", _("Half reached")
    # xgettext:no-python-format
    NINETY = "ninety", _("90% reached")
    ACHIEVED = "achieved", _("Achieved")
    BEHIND = "behind", _("Behind pace")


class TargetAlert(models.Model):
    """A notice about a target, shown in the app and e-mailed to its owner and member: each
    milestone once per target; "behind pace" at most once a week."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=TargetAlertKind)
    day = models.DateField()  # the local day the alert was raised
    actual = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    expected = models.DecimalField(max_digits=18, decimal_places=4, null=True)
    emailed_to = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["target", "kind", "day"], name="target_alert_once_a_day")]

    def __str__(self) -> str:
        return f"{self.target_id} {self.kind} {self.day}"
