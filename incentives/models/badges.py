"""Badges: the rules managers define (a KPI compared with a threshold over a day, week or month)
and the badges members earned by them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from incentives.models.plans import Comparison
from metrics.messages import message_render
from teams.models import Member, Store


class BadgeRule(models.Model):
    """A badge managers define: a KPI compared with a threshold over a day, week or month."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="badge_rules")
    key = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=80)
    kpi_key = models.CharField(max_length=40)
    comparison = models.CharField(max_length=2, choices=Comparison)
    threshold = models.DecimalField(max_digits=16, decimal_places=6)
    period = models.CharField(max_length=6, choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="badge_rule_unique_key")]

    def __str__(self) -> str:
        return self.name


class Badge(models.Model):
    """A badge a member earned for a period (built-in keys: lightning_deal, weekly_sprint,
    perfect_response; or a rule's key)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="badges")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40)
    period_start = models.DateField()
    detail = models.CharField(max_length=200, blank=True)  # its text in the site's language when awarded
    detail_msg = models.JSONField(default=dict, blank=True)  # a message, shown in the reader's language
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["member", "store", "key", "period_start"], name="badge_once_a_period")
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.key} {self.period_start}"

    @property
    def detail_text(self) -> str:
        return message_render(message=self.detail_msg, fallback=self.detail)
