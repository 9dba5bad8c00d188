"""Organisation: stores, teams, members, their platform accounts and who may see what.

Dated histories (team membership, account assignment) use `start_date` inclusive and
`end_date` inclusive (the last day), `end_date` empty while the period is open. A day is a
calendar day in the store's time zone.
"""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a known time zone."), params={"zone": value})


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    PDD = "pdd", _("Pinduoduo")
    DOUYIN = "douyin", _("Douyin")
    SHOPIFY = "shopify", _("Shopify")
    OTHER = "other", _("Other")


class Store(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform, default=Platform.TAOBAO)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[_validate_time_zone]
    )
    # An order is credited to the buyer's latest chat that started at most this many hours earlier.
    attribution_window_hours = models.PositiveSmallIntegerField(_("attribution window (hours)"), default=24)
    # Seed 001: deals in negotiation for more than 7 days are mostly lost; the manager answers the
    # owner's breakthrough plan within 12 hours.
    stuck_deal_days = models.PositiveSmallIntegerField(_("negotiation days before a deal is stuck"), default=7)
    stuck_deal_response_hours = models.PositiveSmallIntegerField(
        _("hours the manager has to answer a breakthrough plan"), default=12
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    @property
    def attribution_window_days(self) -> int:
        """Local days an order can lie after the session it is credited to: the window, rounded up."""
        return -(-self.attribution_window_hours // 24)


class TeamKind(models.TextChoices):
    PRESALES = "presales", _("Pre-sales service")
    AFTERSALES = "aftersales", _("After-sales service")
    ONLINE_SALES = "online_sales", _("Online sales")
    TELESALES = "telesales", _("Telesales")
    OPERATIONS = "operations", _("Operations")


class Team(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="teams", verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=TeamKind, default=TeamKind.PRESALES)
    lead = models.ForeignKey(
        "Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teams_led",
        verbose_name=_("team lead"),
    )

    class Meta:
        ordering = ["store__name", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="team_unique_name_per_store")]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return f"{self.store.name} / {self.name}"


class Member(models.Model):
    display_name = models.CharField(_("display name"), max_length=120)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
        verbose_name=_("user"),
    )
    employee_number = models.CharField(_("employee number"), max_length=40, unique=True, null=True, blank=True)
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    leave_date = models.DateField(_("leave date"), null=True, blank=True, help_text=_("Last working day."))
    # 转正: the end of probation, which seed 002's new-hire qualification rate counts.
    confirmed_date = models.DateField(
        _("confirmed on"), null=True, blank=True, help_text=_("The day the probation was passed (转正).")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(leave_date__isnull=True) | Q(hire_date__isnull=True) | Q(leave_date__gte=F("hire_date")),
                name="member_leave_after_hire",
            )
        ]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.display_name


class TeamMembership(models.Model):
    """A member's time in a team. Activity of a day belongs to the team of that day."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("member"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("team"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True, help_text=_("Last day in the team."))

    class Meta:
        ordering = ["member", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="membership_end_after_start",
            )
        ]
        indexes = [models.Index(fields=["team", "start_date"])]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self) -> str:
        return f"{self.member} @ {self.team} {self.start_date}–{self.end_date or ''}"


class PlatformAccount(models.Model):
    """A shop sub-account as it appears in exports, e.g. `衣衣风尚:客服05`.

    Its name is kept exactly as the platform writes it. The member it belongs to on a day comes
    from AccountAssignment; an account with no open assignment is "unassigned" and waits for a
    manager on the assign-accounts page, so no imported activity is ever dropped.
    """

    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="platform_accounts", verbose_name=_("store")
    )
    name = models.CharField(_("account name"), max_length=120)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        ordering = ["store__name", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="account_unique_name_per_store")]
        verbose_name = _("platform account")
        verbose_name_plural = _("platform accounts")

    def __str__(self) -> str:
        return self.name


class AccountAssignment(models.Model):
    """Which member used a platform account, over which days. At most one member at a time."""

    account = models.ForeignKey(
        PlatformAccount, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("account")
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="account_assignments", verbose_name=_("member")
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True, help_text=_("Last day, inclusive."))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="assignment_end_after_start",
            ),
            # One open assignment per account; closed periods are checked for overlap in the service.
            models.UniqueConstraint(
                fields=["account"], condition=Q(end_date__isnull=True), name="assignment_one_open_per_account"
            ),
        ]
        verbose_name = _("account assignment")
        verbose_name_plural = _("account assignments")

    def __str__(self) -> str:
        return f"{self.account} → {self.member} {self.start_date}–{self.end_date or ''}"


class Role(models.TextChoices):
    MANAGER = "manager", _("Manager")
    HR = "hr", _("HR")
    ADMIN = "admin", _("Administrator")


class RoleGrant(models.Model):
    """A role given to a user. Managers are granted per store; HR and admin everywhere.

    Staff need no grant (a user linked to a member is staff) and team leads none either
    (Team.lead makes the member lead of that team).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role)
    store = models.ForeignKey(
        Store,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_grants",
        verbose_name=_("store"),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="manager") & Q(store__isnull=False)) | (~Q(role="manager") & Q(store__isnull=True)),
                name="rolegrant_store_only_for_manager",
            ),
            models.UniqueConstraint(fields=["user", "role", "store"], name="rolegrant_unique"),
            models.UniqueConstraint(
                fields=["user", "role"], condition=Q(store__isnull=True), name="rolegrant_unique_global"
            ),
        ]
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.store or ''}".strip()


class StaffCost(models.Model):
    """What a store's service and sales staff cost in one month (wages, all in), as entered by a
    manager: the store overview sets it beside GMV (more staff does not mean more sales)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="staff_costs", verbose_name=_("store"))
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount_cents = models.BigIntegerField(_("amount (cents)"), validators=[MinValueValidator(0)])
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["store", "-month"]
        verbose_name = _("staff cost")
        verbose_name_plural = _("staff costs")
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="staff_cost_one_per_store_month")]

    def __str__(self) -> str:
        return f"{self.store} {self.month:%Y-%m}"

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_cents) / 100


class ChangeArea(models.TextChoices):
    """What part of a company's set-up a change touched (the change log's filter)."""

    ORGANISATION = "organisation", _("Organisation")  # stores, teams, members, accounts, memberships
    ACCESS = "access", _("Users and roles")  # users, invitations, passwords, role grants
    APPRAISAL_TEMPLATES = "appraisal_templates", _("Appraisal templates")
    PAY_PLANS = "pay_plans", _("Pay plans")
    STATEMENTS = "statements", _("Pay statements")  # manual lines


class ChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    DELETED = "deleted", _("Deleted")


class ChangeRecord(models.Model):
    """One change to a company's set-up made in the product: who, when, what (the object, and each
    field before → after) and why, when a reason is asked. Written by the services that make the
    change (teams/services/changes.py), in the change's transaction; never edited.

    The object is named as it was then (`label`), so a record outlives what it describes. Field
    values are kept raw (a choice's value, a related object's id and name, ISO dates) and shown
    with the field's label and the choice's label in the reader's language."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("who"),
    )  # fmt: skip
    area = models.CharField(_("area"), max_length=24, choices=ChangeArea)
    action = models.CharField(_("action"), max_length=12, choices=ChangeAction)
    object_type = models.CharField(max_length=60)  # the model's label, e.g. "teams.member"
    object_id = models.CharField(max_length=40)
    label = models.CharField(_("object"), max_length=200)
    # The store the object belongs to, when it belongs to one (a team's, a member's team's…).
    store = models.ForeignKey(
        Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    changes = models.JSONField(default=dict)  # field name → [before, after], JSON values
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("change")
        verbose_name_plural = _("change log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.label}"
