"""The change log: every service that changes a company's set-up (organisation, users and roles,
appraisal templates, pay plans, manual statement lines) records what it changed here, in the
change's own transaction, so a change and its record commit or roll back together.

Usage, in a service:

    before = fields_snapshot(instance=member, fields=MEMBER_FIELDS)
    ... change and save the member ...
    change_record(actor=user, area=ChangeArea.ORGANISATION, target=member, before=before,
                  after=fields_snapshot(instance=member, fields=MEMBER_FIELDS), store=store, reason=reason)

A creation passes only `after`, a deletion only `before` (record it before deleting: a deleted
object has no id any more). A
"change" whose fields all compare equal records nothing. Values are kept as JSON: a related
object as {"id", "text"} (its name then), dates as ISO text, money as decimal text; the page
shows them with each field's label and each choice's label in the reader's language
(teams/selectors/changes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from teams.models import ChangeAction, ChangeRecord, Store

LABEL_LENGTH = ChangeRecord._meta.get_field("label").max_length
REASON_LENGTH = ChangeRecord._meta.get_field("reason").max_length


def _json_value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return {"id": value.pk, "text": str(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def _blank_as_none(value: Any) -> Any:
    """An empty text or list is no value, as None is: "" → None is no change (a new user's
    empty e-mail address, an employee number cleared to None)."""
    return None if value in ("", []) else value


def fields_snapshot(*, instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of `instance` as JSON values: what a change record compares. A foreign key
    is read as the related object (its id and its name); a many-to-many field as its objects."""
    snapshot = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            value = sorted(getattr(instance, name).all(), key=lambda obj: obj.pk) if instance.pk else []
        else:
            value = getattr(instance, name)
        snapshot[name] = _json_value(value)
    return snapshot


def change_record(
    *,
    actor: AbstractBaseUser | None,
    area: str,
    target: models.Model,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    store: Store | None = None,
    label: str | None = None,
) -> ChangeRecord | None:
    """Record a change of `target` by `actor`: created (only `after`), deleted (only `before`) or
    changed (both; the fields that differ). Returns the record, or None when nothing differs.
    `label`: how to name the object (default: its str()); `store`: the store it belongs to."""
    record = change_record_build(
        actor=actor, area=area, target=target, before=before, after=after, reason=reason, store=store, label=label
    )
    if record is not None:
        record.save()
    return record


def change_record_build(
    *,
    actor: AbstractBaseUser | None,
    area: str,
    target: models.Model,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    store: Store | None = None,
    label: str | None = None,
) -> ChangeRecord | None:
    """The record change_record would write, unsaved (None when nothing differs): a service that
    changes many objects at once builds one per object and writes them with change_records_create."""
    if before is None and after is None:
        raise ValueError("a change record needs the values before, after, or both")
    action = ChangeAction.CREATED if before is None else ChangeAction.DELETED if after is None else ChangeAction.CHANGED
    old, new = dict(before or {}), dict(after or {})
    changes = {
        name: [_json_value(old.get(name)), _json_value(new.get(name))]
        for name in [*old, *(key for key in new if key not in old)]
        if _blank_as_none(_json_value(old.get(name))) != _blank_as_none(_json_value(new.get(name)))
    }
    if action == ChangeAction.CHANGED and not changes:
        return None
    return ChangeRecord(
        actor=actor if actor is not None and actor.is_authenticated else None,
        area=area,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        label=(label if label is not None else str(target))[:LABEL_LENGTH],
        store=store,
        changes=changes,
        reason=reason.strip()[:REASON_LENGTH],
    )


def change_records_create(*, records: Iterable[ChangeRecord | None]) -> list[ChangeRecord]:
    """Write records built by change_record_build in one statement (None entries are skipped):
    the change log of a change to many objects (a roster import) at the cost of one insert."""
    return ChangeRecord.objects.bulk_create([record for record in records if record is not None])
