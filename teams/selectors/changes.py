"""Reading the change log: HR and administrators see every change to the set-up (organisation,
users and roles, appraisal templates, pay plans, manual statement lines); nobody else does.

Each record is shown in the reader's language: the field's label (from the model the record
names), a choice's label, a related object's name as it was, dates and yes/no as words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from teams.models import ChangeRecord
from teams.selectors.scoping import Viewer

EMPTY = "—"
# Labels of what a record may hold that is no field of its model, or whose model's label reads
# wrongly here (a user's "active" is the members' word for someone still employed).
EXTRA_FIELDS = {
    # A new one-time link to set a user's password (teams.services.users): the day it expires.
    ("auth.user", "password_link"): gettext_lazy("one-time link to set the password, valid until"),
    ("auth.user", "is_active"): gettext_lazy("can sign in"),
}


def viewer_reads_changes(*, viewer: Viewer) -> bool:
    return viewer.is_hr or viewer.is_admin


def change_list(*, viewer: Viewer) -> QuerySet[ChangeRecord]:
    """The change log as the viewer may read it: all of it for HR and administrators, else none."""
    records = ChangeRecord.objects.select_related("actor", "store")
    return records if viewer_reads_changes(viewer=viewer) else records.none()


def change_list_filter(
    *,
    records: QuerySet[ChangeRecord],
    area: str = "",
    action: str = "",
    store_id: int | None = None,
    actor_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    search: str = "",
) -> QuerySet[ChangeRecord]:
    """The records matching every filter given (days are the site's local days, inclusive)."""
    if area:
        records = records.filter(area=area)
    if action:
        records = records.filter(action=action)
    if store_id:
        records = records.filter(store_id=store_id)
    if actor_id:
        records = records.filter(actor_id=actor_id)
    if start:
        records = records.filter(at__date__gte=start)
    if end:
        records = records.filter(at__date__lte=end)
    if search:
        records = records.filter(Q(label__icontains=search) | Q(reason__icontains=search))
    return records


@dataclass(frozen=True)
class FieldChange:
    field: str  # the field's label in the reader's language
    before: str
    after: str


def _field(object_type: str, name: str):
    try:
        return apps.get_model(object_type)._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return None  # a model or field that no longer exists: its name stands for it


# Values an app above teams knows how to show in the reader's language (a generated sentence kept
# as a message, which metrics renders): each renderer returns the text, or None for a value that
# is not of its kind. teams imports none of those apps; they register here when they start.
_VALUE_RENDERERS: list[Callable[[Any], str | None]] = []


def change_value_renderer_register(*, renderer: Callable[[Any], str | None]) -> None:
    if renderer not in _VALUE_RENDERERS:
        _VALUE_RENDERERS.append(renderer)


def _shown(field, value: Any) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    for renderer in _VALUE_RENDERERS:
        shown = renderer(value)
        if shown is not None:
            return shown
    if isinstance(value, dict) and "text" in value:
        return str(value["text"])
    if isinstance(value, list):
        return ", ".join(_shown(field, item) for item in value)
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            pass
    return str(value)


def change_fields(*, record: ChangeRecord) -> list[FieldChange]:
    """The record's fields, before → after, in the reader's language."""
    shown = []
    for name, (before, after) in record.changes.items():
        field = _field(record.object_type, name)
        if (record.object_type, name) in EXTRA_FIELDS:
            label = str(EXTRA_FIELDS[(record.object_type, name)])
        elif field is not None and hasattr(field, "verbose_name"):
            label = str(field.verbose_name)
        elif field is not None and field.is_relation and field.related_model is not None:
            # A summary of related rows (a pay plan's tiers): the related model's plural name.
            label = str(field.related_model._meta.verbose_name_plural)
        else:
            label = name
        shown.append(FieldChange(label[:1].upper() + label[1:], _shown(field, before), _shown(field, after)))
    return shown


def change_object_kind(*, record: ChangeRecord) -> str:
    """What kind of object the record is about ("Member", "Pay plan"…), in the reader's language."""
    try:
        name = str(apps.get_model(record.object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return record.object_type
    return name[:1].upper() + name[1:]
