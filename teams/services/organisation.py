"""Writes on stores, teams and platform accounts. Each records its change in the change log (area
organisation), in its own transaction.

Who may call them for what is decided before, by the scoping selectors (teams/selectors/scoping.py):
the pages and the API check the role and the store there, then call these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from teams.models import ChangeArea, Member, PlatformAccount, Store, Team, TeamKind, TeamMembership
from teams.services.changes import change_record, fields_snapshot
from teams.services.history import store_days_announce
from teams.signals import store_data_exists

STORE_FIELDS = (
    "name", "platform", "time_zone", "attribution_window_hours", "stuck_deal_days", "stuck_deal_response_hours",
)  # fmt: skip
# Allowed ranges of a store's numeric settings (inclusive): a window beyond 30 days would credit
# a chat with orders of another month's campaign.
STORE_LIMITS = {
    "attribution_window_hours": (1, 720),  # hours
    "stuck_deal_days": (1, 365),  # days
    "stuck_deal_response_hours": (1, 720),  # hours
}
TEAM_FIELDS = ("store", "name", "kind", "lead")
TEAM_EDITABLE = ("name", "kind", "lead")
ACCOUNT_FIELDS = ("store", "name")


def _fields_set(*, instance: models.Model, changes: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(instance, name, value.strip() if isinstance(value, str) else value)


def _store_clean(*, store: Store) -> None:
    store.full_clean()
    errors = {}
    for name, (low, high) in STORE_LIMITS.items():
        value = getattr(store, name)
        if not low <= value <= high:
            errors[name] = _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
    if errors:
        raise ValidationError(errors)


def store_has_data(*, store: Store) -> bool:
    """Whether an app above holds data of the store fixed in its time zone (imported facts)."""
    return any(answer for _receiver, answer in store_data_exists.send(sender=Store, store=store))


@transaction.atomic
def store_create(*, actor: AbstractBaseUser | None, name: str, **settings: Any) -> Store:
    """A new store, named as the platform's exports name it (the import finds it by that name).
    `settings`: platform, time_zone, attribution_window_hours, stuck_deal_days,
    stuck_deal_response_hours (the model's defaults otherwise)."""
    store = Store()
    _fields_set(instance=store, changes={"name": name, **settings}, allowed=STORE_FIELDS)
    _store_clean(store=store)
    store.save()
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=store, store=store,
                  after=fields_snapshot(instance=store, fields=STORE_FIELDS))  # fmt: skip
    return store


@transaction.atomic
def store_update(*, actor: AbstractBaseUser | None, store: Store, **changes: Any) -> Store:
    """Change a store's name or settings.

    The time zone decides the local day of every imported fact when it is imported, so it can
    only change while the store has none. A new attribution window credits the store's orders
    again: every day with data is recomputed once this commits."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    before = fields_snapshot(instance=store, fields=STORE_FIELDS)
    old_zone, old_window = store.time_zone, store.attribution_window_hours
    _fields_set(instance=store, changes=changes, allowed=STORE_FIELDS)
    _store_clean(store=store)
    if store.time_zone != old_zone and store_has_data(store=store):
        raise ValidationError({"time_zone": _(
            "%(store)s already has imported data, whose days were read in %(zone)s: its time zone can no "
            "longer change."
        ) % {"store": store.name, "zone": old_zone}})  # fmt: skip
    store.save()
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=store, store=store, before=before,
                  after=fields_snapshot(instance=store, fields=STORE_FIELDS))  # fmt: skip
    if store.attribution_window_hours != old_window:
        store_days_announce(store_id=store.pk, recredit=True)
    return store


def _lead_check(*, team: Team, lead: Member | None) -> None:
    if lead is None:
        return
    if team.pk is None or not TeamMembership.objects.filter(member=lead, team=team, end_date__isnull=True).exists():
        raise ValidationError({"lead": _(
            "%(member)s is not in %(team)s now: move them into the team first, then make them its lead."
        ) % {"member": lead.display_name, "team": team.name}})  # fmt: skip


def _team_name_check(*, team: Team) -> None:
    clash = Team.objects.filter(store_id=team.store_id, name=team.name).exclude(pk=team.pk)
    if clash.exists():
        raise ValidationError({"name": _("%(store)s already has a team named %(name)s.")
                               % {"store": team.store.name, "name": team.name}})  # fmt: skip


@transaction.atomic
def team_create(
    *, actor: AbstractBaseUser | None, store: Store, name: str, kind: str = TeamKind.PRESALES,
    lead: Member | None = None,
) -> Team:  # fmt: skip
    """A new team of `store`. A lead must be in the team, so a new team gets its lead once a
    member has moved in (team_update)."""
    team = Team(store=store)
    _fields_set(instance=team, changes={"name": name, "kind": kind}, allowed=TEAM_EDITABLE)
    team.full_clean(exclude=["lead"], validate_unique=False, validate_constraints=False)
    _team_name_check(team=team)
    _lead_check(team=team, lead=lead)
    team.save()
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=team, store=store,
                  after=fields_snapshot(instance=team, fields=TEAM_FIELDS))  # fmt: skip
    return team


@transaction.atomic
def team_update(*, actor: AbstractBaseUser | None, team: Team, **changes: Any) -> Team:
    """Rename a team, change its kind or its lead (a member in the team now, or none). A team
    stays in its store: its history is that store's."""
    team = Team.objects.select_for_update().select_related("store").get(pk=team.pk)
    before = fields_snapshot(instance=team, fields=TEAM_FIELDS)
    old_lead_id = team.lead_id
    _fields_set(instance=team, changes=changes, allowed=TEAM_EDITABLE)
    team.full_clean(exclude=["lead"], validate_unique=False, validate_constraints=False)
    _team_name_check(team=team)
    if team.lead_id != old_lead_id:  # a lead kept as it is stays, even if they have moved on since
        _lead_check(team=team, lead=team.lead)
    team.save()
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=team, store=team.store, before=before,
                  after=fields_snapshot(instance=team, fields=TEAM_FIELDS))  # fmt: skip
    return team


@transaction.atomic
def platform_account_create(*, actor: AbstractBaseUser | None, store: Store, name: str) -> PlatformAccount:
    """A platform account of `store`, named exactly as the platform's exports write it, created
    before its first import so that it can be assigned from the first day (imports create the
    accounts they meet unassigned)."""
    account = PlatformAccount(store=store, name=name.strip())
    account.full_clean(validate_unique=False, validate_constraints=False)
    if PlatformAccount.objects.filter(store=store, name=account.name).exists():
        raise ValidationError({"name": _("%(store)s already has the account %(name)s.")
                               % {"store": store.name, "name": account.name}})  # fmt: skip
    account.save()
    change_record(actor=actor, area=ChangeArea.ORGANISATION, target=account, store=store,
                  after=fields_snapshot(instance=account, fields=ACCOUNT_FIELDS))  # fmt: skip
    return account
