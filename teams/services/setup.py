"""The first run of an empty installation: the set-up page creates the first administrator and the
company's first store, once. `python manage.py createsuperuser` is the other way in; either way,
an installation with a user is set up, and the set-up page is gone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from teams.models import Store
from teams.services.organisation import store_create
from teams.services.users import user_create


class AlreadySetUp(ValidationError):
    """The installation has a user: someone set it up first (or ran createsuperuser)."""


def installation_is_empty() -> bool:
    """No user at all: the set-up page is open (and every page leads to it)."""
    return not get_user_model().objects.exists()


def _users_lock() -> None:
    """Hold off every other writer of users until this transaction ends, so that of two first
    visitors submitting at once, the second sees the first's administrator and is refused.
    PostgreSQL: a table lock that conflicts with itself and with inserts (createsuperuser's too).
    SQLite: the settings begin every transaction IMMEDIATE, which takes the database's write
    lock at BEGIN, so the second transaction starts only after the first has committed."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(get_user_model()._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def installation_set_up(
    *, username: str, password: str, email: str = "", store_name: str, **store_settings: Any
) -> tuple[Any, Store]:
    """Create the first administrator (a superuser, as createsuperuser makes one) and the first
    store, in one transaction. Raises AlreadySetUp when any user exists, then or by the time the
    lock is held; ValidationError for invalid values (by field: username, email, the store's
    fields). `password` was checked by the form (Django's validators)."""
    with transaction.atomic():
        _users_lock()
        if not installation_is_empty():
            raise AlreadySetUp(_("This installation is already set up: sign in."))
        user = user_create(actor=None, username=username, password=password, email=email, is_superuser=True)
        store = store_create(actor=user, name=store_name, **store_settings)
        return user, store
