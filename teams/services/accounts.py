"""Writes on platform accounts: who used an account over which days."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from teams.models import AccountAssignment, ChangeArea, Member, PlatformAccount, TeamMembership
from teams.services.changes import change_record, fields_snapshot
from teams.services.history import history_watch

ASSIGNMENT_FIELDS = ("account", "member", "start_date", "end_date")


@transaction.atomic
def account_assign(
    *,
    account: PlatformAccount,
    member: Member,
    start_date: dt.date,
    actor: AbstractBaseUser | None = None,
) -> AccountAssignment:
    """Give `account` to `member` from `start_date` on (inclusive).

    The open assignment, if any, ends the day before; an account belongs to one member at a
    time, so a start inside or before an earlier closed period is refused rather than rewriting
    history that KPIs were credited by.

    The figures of the account's store from `start_date` on (those of its previous holder until
    now) are recomputed once this commits (teams.services.history).
    """
    # Lock the account row so two managers assigning at once cannot both open an assignment.
    PlatformAccount.objects.select_for_update().get(pk=account.pk)
    if not TeamMembership.objects.filter(member=member, team__store_id=account.store_id).exists():
        raise ValidationError(
            _("%(member)s is in no team of %(store)s, so cannot use its account %(account)s."),
            params={"member": member.display_name, "store": account.store.name, "account": account.name},
        )
    current = AccountAssignment.objects.filter(account=account, end_date__isnull=True).first()
    if current and current.member_id == member.pk:
        return current
    overlapping = AccountAssignment.objects.filter(account=account).filter(
        Q(end_date__isnull=False, end_date__gte=start_date) | Q(end_date__isnull=True, start_date__gte=start_date)
    )
    if overlapping.exists():
        raise ValidationError(
            _("%(account)s already has a member on or after %(date)s; choose a later start date."),
            params={"account": account.name, "date": start_date.isoformat()},
        )
    with history_watch(account_ids=[account.pk]):
        if current:
            before = fields_snapshot(instance=current, fields=ASSIGNMENT_FIELDS)
            current.end_date = start_date - dt.timedelta(days=1)
            current.save(update_fields=["end_date"])
            after = fields_snapshot(instance=current, fields=ASSIGNMENT_FIELDS)
            change_record(actor=actor, area=ChangeArea.ORGANISATION, target=current, before=before, after=after,
                          store=account.store)  # fmt: skip
        assignment = AccountAssignment.objects.create(
            account=account, member=member, start_date=start_date, assigned_by=actor
        )
        after = fields_snapshot(instance=assignment, fields=ASSIGNMENT_FIELDS)
        change_record(actor=actor, area=ChangeArea.ORGANISATION, target=assignment, after=after, store=account.store)
        return assignment
