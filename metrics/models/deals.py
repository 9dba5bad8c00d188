"""The stuck-deal workflow: a lead stuck in negotiation, the plan to move it, the answer."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from metrics.models.facts import Lead, LeadStage
from teams.models import Store


class StuckDeal(models.Model):
    """A deal found in negotiation longer than the store allows (seed 001: most such deals are
    lost), the owner's breakthrough plan (卡点突破方案) and the manager's response to it."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stuck_alerts", db_constraint=False)
    # Which stay in negotiation this is about: a deal can be stuck, move on, and come back.
    negotiation_since = models.DateTimeField(_("in negotiation since"))
    member = models.ForeignKey(
        "teams.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="stuck_deals"
    )
    detected_at = models.DateTimeField(_("detected at"))
    plan = models.TextField(_("breakthrough plan"), blank=True)
    plan_submitted_at = models.DateTimeField(_("plan submitted at"), null=True, blank=True)
    plan_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response = models.TextField(_("manager's response"), blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the deal leaves negotiation (won, lost, or back to an earlier stage).
    closed_at = models.DateTimeField(_("left negotiation at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=LeadStage, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "negotiation_since"], name="stuck_deal_once_per_stay")]
        indexes = [models.Index(fields=["store", "detected_at"])]
        ordering = ["-detected_at", "id"]
        verbose_name = _("stuck deal")
        verbose_name_plural = _("stuck deals")

    def __str__(self) -> str:
        return f"{self.lead_id} {self.negotiation_since:%Y-%m-%d}"
