"""Writes on members and their team history. Each change of the histories runs inside
history_watch (the recompute of exactly the store-days it moves is queued on commit) and records
its change in the change log (area organisation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from teams.models import AccountAssignment, ChangeArea, Member, Team, TeamMembership
from teams.services.changes import change_record, change_record_build, change_records_create, fields_snapshot
from teams.services.history import history_watch

MEMBER_FIELDS = ("display_name", "employee_number", "hire_date", "confirmed_date", "leave_date", "active")
MEMBERSHIP_FIELDS = ("member", "team", "start_date", "end_date")
ASSIGNMENT_FIELDS = ("account", "member", "start_date", "end_date")
_DAY = dt.timedelta(days=1)


def _day(value: dt.date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _member_clean(*, member: Member) -> None:
    """The member's own rules, as field errors: a name, a unique employee number, dates in order."""
    member.display_name = (member.display_name or "").strip()
    member.employee_number = (member.employee_number or "").strip() or None  # empty: none (unique when given)
    member.full_clean(validate_constraints=False)
    errors = {}
    if member.hire_date and member.leave_date and member.leave_date < member.hire_date:
        errors["leave_date"] = _("The last working day cannot be before the hire date (%(date)s).") % {
            "date": _day(member.hire_date)
        }
    if member.hire_date and member.confirmed_date and member.confirmed_date < member.hire_date:
        errors["confirmed_date"] = _("The end of probation cannot be before the hire date (%(date)s).") % {
            "date": _day(member.hire_date)
        }
    if errors:
        raise ValidationError(errors)


def _membership_record(*, actor, row: TeamMembership, before: dict | None = None) -> None:
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=row, before=before, store=row.team.store,
                  after=fields_snapshot(instance=row, fields=MEMBERSHIP_FIELDS))  # fmt: skip


@transaction.atomic
def member_create(
    *,
    actor: AbstractBaseUser | None,
    display_name: str,
    employee_number: str | None = None,
    hire_date: dt.date | None = None,
    confirmed_date: dt.date | None = None,
    team: Team | None = None,
    start_date: dt.date | None = None,
) -> Member:
    """A new member, in `team` from `start_date` (default: the hire date, else today) when a team
    is given. A manager's members are those of their stores' teams, so their pages always give one."""
    member = Member(display_name=display_name, employee_number=employee_number, hire_date=hire_date,
                    confirmed_date=confirmed_date)  # fmt: skip
    _member_clean(member=member)
    member.save()
    change_record(
        actor=actor,
        area=ChangeArea.ORGANISATION,
        target=member,
        after=fields_snapshot(instance=member, fields=MEMBER_FIELDS),
        store=team.store if team else None,
    )
    if team is not None:
        with history_watch(member_ids=[member.pk]):
            row = TeamMembership.objects.create(
                member=member, team=team, start_date=start_date or hire_date or timezone.localdate()
            )
            _membership_record(actor=actor, row=row)
    return member


@transaction.atomic
def membership_move(
    *, member: Member, team: Team, start_date: dt.date, actor: AbstractBaseUser | None = None
) -> TeamMembership:
    """Move `member` into `team` from `start_date` (inclusive); their open membership ends the day before.

    Past days stay with the team of that day, so a move may not start inside a closed period, nor
    after the member's last working day. The team figures of the member's days from `start_date`
    on are recomputed once this commits (teams.services.history).
    """
    member = Member.objects.select_for_update().get(pk=member.pk)
    later = TeamMembership.objects.filter(member=member).filter(
        Q(end_date__isnull=False, end_date__gte=start_date) | Q(end_date__isnull=True, start_date__gte=start_date)
    )
    if later.exists():
        raise ValidationError(
            _("%(member)s already has a team on or after %(date)s."),
            params={"member": member.display_name, "date": start_date.isoformat()},
        )
    if member.leave_date is not None and start_date > member.leave_date:
        raise ValidationError(
            _("%(member)s left on %(date)s: clear their leave date first to take them back."),
            params={"member": member.display_name, "date": _day(member.leave_date)},
        )
    current = TeamMembership.objects.select_related("team__store").filter(member=member, end_date__isnull=True).first()
    if current is not None and current.team_id == team.pk:
        raise ValidationError(
            _("%(member)s is already in %(team)s."), params={"member": member.display_name, "team": team.name}
        )
    with history_watch(member_ids=[member.pk]):
        if current is not None:
            before = fields_snapshot(instance=current, fields=MEMBERSHIP_FIELDS)
            current.end_date = start_date - _DAY
            current.save(update_fields=["end_date"])
            _membership_record(actor=actor, row=current, before=before)
        row = TeamMembership.objects.create(member=member, team=team, start_date=start_date)
        _membership_record(actor=actor, row=row)
        return row


def _periods_after(*, member: Member, day: dt.date):
    """The member's team and account periods that start after `day`."""
    return [
        *TeamMembership.objects.filter(member=member, start_date__gt=day).select_related("team"),
        *AccountAssignment.objects.filter(member=member, start_date__gt=day).select_related("account"),
    ]


def _period_name(row) -> str:
    return row.team.name if isinstance(row, TeamMembership) else row.account.name


def _departure_rows(*, member: Member, old_leave: dt.date | None, today: dt.date):
    """The member's periods a departure ends: those still open, and those the old leave date
    ended when it was applied (a leave date before today)."""
    ended = Q(end_date__isnull=True)
    if old_leave is not None and old_leave < today:
        ended |= Q(end_date=old_leave)
    return [
        *TeamMembership.objects.filter(ended, member=member).select_related("team__store"),
        *AccountAssignment.objects.filter(ended, member=member).select_related("account__store"),
    ]


def _departure_apply(*, actor, member: Member, old_leave: dt.date | None, today: dt.date) -> None:
    """End (or, for a later or no leave date, extend or reopen) the member's periods at the new
    leave date. A leave date before today ends them on it; a later one, or none, leaves them open
    (the nightly job ends them after that day). Refused when another period was started since
    the old end (a team of their own, or their account given to someone else)."""
    new_end = member.leave_date if member.leave_date is not None and member.leave_date < today else None
    for row in _departure_rows(member=member, old_leave=old_leave, today=today):
        if row.end_date == new_end:
            continue
        if row.end_date is not None and (new_end is None or new_end > row.end_date):  # extended or reopened
            if isinstance(row, AccountAssignment):
                since = AccountAssignment.objects.filter(account_id=row.account_id).select_related("member")
            else:
                since = TeamMembership.objects.filter(member_id=row.member_id).select_related("team")
            since = since.filter(start_date__gt=row.end_date)
            other = (since.filter(start_date__lte=new_end) if new_end is not None else since).first()
            if isinstance(other, AccountAssignment):
                raise ValidationError(
                    {
                        "leave_date": _(
                            "%(account)s was given to %(member)s from %(date)s: a later leave date would take it back."
                        )
                        % {
                            "account": row.account.name,
                            "member": other.member.display_name,
                            "date": _day(other.start_date),
                        }
                    }
                )
            if other is not None:
                raise ValidationError(
                    {
                        "leave_date": _(
                            "%(member)s has been in %(team)s since %(date)s: a later leave date would overlap it."
                        )
                        % {"member": member.display_name, "team": other.team.name, "date": _day(other.start_date)}
                    }
                )
        fields = MEMBERSHIP_FIELDS if isinstance(row, TeamMembership) else ASSIGNMENT_FIELDS
        before = fields_snapshot(instance=row, fields=fields)
        row.end_date = new_end
        row.save(update_fields=["end_date"])
        store = row.team.store if isinstance(row, TeamMembership) else row.account.store
        change_record(actor=actor, area=ChangeArea.ORGANISATION, target=row, before=before, store=store,
                      after=fields_snapshot(instance=row, fields=fields))  # fmt: skip


@transaction.atomic
def member_update(
    *, actor: AbstractBaseUser | None, member: Member, today: dt.date | None = None, **changes: Any
) -> Member:
    """Change a member's name, employee number, dates or active flag.

    A leave date (the last working day) before today applies the departure now, as the nightly
    job would have: the member's open team and account periods end on it and the member is no
    longer active; a corrected leave date moves those ends with it, and clearing it (or moving it
    to today or later) reopens them. The days whose team or account holder this changes are
    recomputed once it commits. `active` left out follows the leave date; a member whose last
    working day has passed cannot be made active."""
    today = today or timezone.localdate()
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    member = Member.objects.select_for_update().get(pk=member.pk)
    before = fields_snapshot(instance=member, fields=MEMBER_FIELDS)
    old_leave = member.leave_date
    departed_before = old_leave is not None and old_leave < today
    for name, value in changes.items():
        setattr(member, name, value)
    _member_clean(member=member)
    leave = member.leave_date
    departed = leave is not None and leave < today
    if "active" not in changes and leave != old_leave:
        member.active = not departed
    if departed and member.active:
        raise ValidationError({"active": _(
            "%(member)s's last working day (%(date)s) has passed: a member who left cannot be active. Clear "
            "the leave date to take them back."
        ) % {"member": member.display_name, "date": _day(leave)}})  # fmt: skip
    if leave is not None:
        later = _periods_after(member=member, day=leave)
        if later:
            raise ValidationError(
                {
                    "leave_date": _(
                        "%(member)s has %(what)s from %(date)s, after that last working day: choose a later day."
                    )
                    % {"member": member.display_name, "what": _period_name(later[0]), "date": _day(later[0].start_date)}
                }
            )
    with history_watch(member_ids=[member.pk]):
        if leave != old_leave and (departed or departed_before):
            _departure_apply(actor=actor, member=member, old_leave=old_leave, today=today)
        member.save()
    change_record(
        actor=actor,
        area=ChangeArea.ORGANISATION,
        target=member,
        before=before,
        after=fields_snapshot(instance=member, fields=MEMBER_FIELDS),
        store=_member_store(member=member),
    )
    return member


def _member_store(*, member: Member):
    """The store of the member's latest team, for the change log's store filter."""
    row = TeamMembership.objects.filter(member=member).select_related("team__store").order_by("-start_date").first()
    return row.team.store if row else None


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
        # The change log holds what the job ends, as it holds the same change made on a page: by
        # "the system" (no actor), each member's active flag and each period's end date.
        ending = {
            model: list(
                model.objects.filter(
                    member_id__in=ids, end_date__isnull=True, start_date__lte=F("member__leave_date")
                ).select_related("member", "team__store" if model is TeamMembership else "account__store")
            )
            for model in (TeamMembership, AccountAssignment)
        }
        with history_watch(member_ids=ids):
            for model in (TeamMembership, AccountAssignment):
                model.objects.filter(
                    member_id__in=ids, end_date__isnull=True, start_date__lte=F("member__leave_date")
                ).update(end_date=leave_date)
        changed = Member.objects.filter(id__in=ids).update(active=False)
        change_records_create(records=_departure_records(ids=ids, ending=ending))
        return changed


def _departure_records(*, ids: list[int], ending: dict) -> list:
    """The change records of members_deactivate_departed: rows as they were before it, ended on
    each member's leave date, and the members made inactive (store: their team's, when known)."""
    records, store_of = [], {}
    for model, fields in ((TeamMembership, MEMBERSHIP_FIELDS), (AccountAssignment, ASSIGNMENT_FIELDS)):
        for row in ending[model]:
            before = fields_snapshot(instance=row, fields=fields)
            row.end_date = row.member.leave_date
            store = row.team.store if model is TeamMembership else row.account.store
            if model is TeamMembership:
                store_of[row.member_id] = store
            after = fields_snapshot(instance=row, fields=fields)
            records.append(
                change_record_build(
                    actor=None, area=ChangeArea.ORGANISATION, target=row, before=before, after=after, store=store
                )
            )
    for member in Member.objects.filter(id__in=ids):
        after = fields_snapshot(instance=member, fields=MEMBER_FIELDS)
        records.append(change_record_build(actor=None, area=ChangeArea.ORGANISATION, target=member,
                                           before={**after, "active": True}, after=after,
                                           store=store_of.get(member.pk)))  # fmt: skip
    return records
