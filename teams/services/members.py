"""Writes on members and their team history."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from teams.models import AccountAssignment, Member, Team, TeamMembership


@transaction.atomic
def membership_move(*, member: Member, team: Team, start_date: dt.date) -> TeamMembership:
    """Move `member` into `team` from `start_date` (inclusive); their open membership ends the day before.

    Past days stay with the team of that day, so a move may not start inside a closed period.
    """
    Member.objects.select_for_update().get(pk=member.pk)
    later = TeamMembership.objects.filter(member=member).filter(
        Q(end_date__isnull=False, end_date__gte=start_date) | Q(end_date__isnull=True, start_date__gte=start_date)
    )
    if later.exists():
        raise ValidationError(
            _("%(member)s already has a team on or after %(date)s."),
            params={"member": member.display_name, "date": start_date.isoformat()},
        )
    TeamMembership.objects.filter(member=member, end_date__isnull=True).update(
        end_date=start_date - dt.timedelta(days=1)
    )
    return TeamMembership.objects.create(member=member, team=team, start_date=start_date)


def members_deactivate_departed(*, today: dt.date) -> int:
    """Mark members whose last working day is before `today` inactive and end their open
    memberships and account assignments on that last day. Returns how many members changed.

    Set-based and idempotent: a second run finds nothing left to change.
    """
    with transaction.atomic():
        ids = list(
            Member.objects.select_for_update().filter(active=True, leave_date__lt=today).values_list("id", flat=True)
        )
        if not ids:
            return 0
        leave_date = Subquery(Member.objects.filter(pk=OuterRef("member_id")).values("leave_date")[:1])
        for model in (TeamMembership, AccountAssignment):
            model.objects.filter(
                member_id__in=ids, end_date__isnull=True, start_date__lte=F("member__leave_date")
            ).update(end_date=leave_date)
        return Member.objects.filter(id__in=ids).update(active=False)
