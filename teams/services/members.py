"""Writes on members and their team history."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from teams.models import AccountAssignment, Member, Team, TeamMembership
from teams.services.history import history_watch


@transaction.atomic
def membership_move(*, member: Member, team: Team, start_date: dt.date) -> TeamMembership:
    """Move `member` into `team` from `start_date` (inclusive); their open membership ends the day before.

    Past days stay with the team of that day, so a move may not start inside a closed period.
    The team figures of the member's days from `start_date` on are recomputed once this commits
    (teams.services.history).
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
    with history_watch(member_ids=[member.pk]):
        TeamMembership.objects.filter(member=member, end_date__isnull=True).update(
            end_date=start_date - dt.timedelta(days=1)
        )
        return TeamMembership.objects.create(member=member, team=team, start_date=start_date)


def members_deactivate_departed(*, today: dt.date, member_ids: list[int] | None = None) -> int:
    """Mark members whose last working day is before `today` inactive and end their open
    memberships and account assignments on that last day. Returns how many members changed.
    `member_ids`: only those members (the admin, after a leave date was edited), else everyone.

    The figures of the days after each leave date move to nobody (their accounts) or no team: they
    are recomputed once this commits (teams.services.history).

    Set-based and idempotent: a second run finds nothing left to change.
    """
    with transaction.atomic():
        departed = Member.objects.select_for_update().filter(active=True, leave_date__lt=today)
        if member_ids is not None:
            departed = departed.filter(pk__in=member_ids)
        ids = list(departed.values_list("id", flat=True))
        if not ids:
            return 0
        leave_date = Subquery(Member.objects.filter(pk=OuterRef("member_id")).values("leave_date")[:1])
        with history_watch(member_ids=ids):
            for model in (TeamMembership, AccountAssignment):
                model.objects.filter(
                    member_id__in=ids, end_date__isnull=True, start_date__lte=F("member__leave_date")
                ).update(end_date=leave_date)
        return Member.objects.filter(id__in=ids).update(active=False)
