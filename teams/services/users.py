"""Writes on logins and roles: inviting a member (a user linked to them, with a one-time link to
set a password), a new link when a password is forgotten, deactivation, role grants. Each records
its change in the change log (area access), in its own transaction.

The one-time links are Django's password-reset tokens (django.contrib.auth.tokens): a link holds
the user's id and a token signed with the secret key over the user's password hash, last login,
e-mail and the time it was made. Setting the password (or signing in) changes what it was signed
over, so a link works once; it expires PASSWORD_RESET_TIMEOUT seconds after it was made
(PASSWORD_LINK_DAYS); a new link makes the password unusable, which voids every earlier link and
signs the user out everywhere. An inactive user's link is refused (teams/access_views.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.formats import date_format
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from teams.models import ChangeArea, Member, Role, RoleGrant, Store
from teams.services.changes import change_record, fields_snapshot

logger = logging.getLogger(__name__)

USER_FIELDS = ("username", "first_name", "email", "is_active")
GRANT_FIELDS = ("user", "role", "store")


@dataclass(frozen=True)
class PasswordLink:
    """A one-time link to set a password: shown to whoever made it, e-mailed when e-mail is set up."""

    user: AbstractBaseUser
    url: str  # absolute
    expires_at: dt.datetime
    emailed_to: str  # the address it is sent to, "" when it is not sent


def _username_clean(username: str) -> str:
    User = get_user_model()
    username = User.normalize_username((username or "").strip())
    field = User._meta.get_field(User.USERNAME_FIELD)
    try:
        field.run_validators(username)
        if not username:
            raise ValidationError(_("Choose a username."))
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from None
    if User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).exists():
        raise ValidationError({"username": _("The username %(username)s is taken.") % {"username": username}})
    return username


def _email_clean(email: str) -> str:
    email = get_user_model().objects.normalize_email((email or "").strip())
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None
    return email


def user_create(
    *,
    actor: AbstractBaseUser | None,
    username: str,
    password: str | None = None,
    first_name: str = "",
    email: str = "",
    member: Member | None = None,
    is_superuser: bool = False,
):
    """A login, linked to `member` when given (they are then staff: they see themselves). Without
    a password it has none that works until one is set through a link (user_invite). A superuser
    is an administrator with the Django admin too, as `createsuperuser` makes one. The password,
    when given, was checked by the caller's form (Django's validators): the demo's is not.
    `actor` None: made by the product itself (the set-up page's first administrator, the demo)."""
    User = get_user_model()
    user = User(username=_username_clean(username), first_name=(first_name or "").strip()[:150],
                email=_email_clean(email), is_superuser=is_superuser, is_staff=is_superuser)  # fmt: skip
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        if member is not None:
            member = Member.objects.select_for_update().get(pk=member.pk)
            if member.user_id is not None:
                raise ValidationError(
                    {"member": _("%(member)s already has a login.") % {"member": member.display_name}}
                )
        user.save()
        change_record(
            actor=actor,
            area=ChangeArea.ACCESS,
            target=user,
            after={**fields_snapshot(instance=user, fields=USER_FIELDS), "is_superuser": is_superuser},
        )
        if member is not None:
            before = fields_snapshot(instance=member, fields=["user"])
            member.user = user
            member.save(update_fields=["user"])
            change_record(actor=actor, area=ChangeArea.ACCESS, target=member, before=before,
                          after=fields_snapshot(instance=member, fields=["user"]))  # fmt: skip
    return user


def _password_link(*, user, base_url: str) -> PasswordLink:
    """A link to set `user`'s password, from the user's state as saved, and its e-mail on commit."""
    path = reverse("password_set", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })  # fmt: skip
    expires_at = timezone.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    url = urljoin(base_url, path)
    emailed_to = user.email if user.email and settings.EMAIL_CONFIGURED else ""
    if emailed_to:
        transaction.on_commit(lambda: _password_link_send(user=user, url=url, expires_at=expires_at))
    return PasswordLink(user=user, url=url, expires_at=expires_at, emailed_to=emailed_to)


def _password_link_send(*, user, url: str, expires_at: dt.datetime) -> None:
    """The link by e-mail, in the sender's language. A mail server that refuses it is logged: the
    link is on the page that made it all the same."""
    until = date_format(timezone.localtime(expires_at), "SHORT_DATETIME_FORMAT")
    body = _(
        "Hello %(name)s,\n\nYour perfmgmt login is %(username)s. Open this link to set your password (it works "
        "once, until %(until)s):\n\n%(url)s\n\nThen sign in with your username and the new password."
    ) % {
        "name": user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "until": until,
        "url": url,
    }
    try:
        send_mail(_("Set your perfmgmt password"), body, None, [user.email])
    except Exception:  # SMTP errors are many kinds of OSError and smtplib's own
        logger.exception("the password link for user %s could not be e-mailed", user.pk)


def user_invite(
    *,
    actor: AbstractBaseUser | None,
    username: str,
    base_url: str,
    email: str = "",
    first_name: str = "",
    member: Member | None = None,
) -> PasswordLink:
    """A login for `member` (or, for an administrator, someone who is not a member, such as HR or
    a manager to be granted a role), with a one-time link to set its password. The member must
    not have left."""
    if member is not None and not member.active:
        raise ValidationError({"member": _("%(member)s has left: they cannot be given a login.")
                               % {"member": member.display_name}})  # fmt: skip
    with transaction.atomic():
        name = first_name or (member.display_name if member else "")
        user = user_create(actor=actor, username=username, first_name=name, email=email, member=member)
        return _password_link(user=user, base_url=base_url)


def users_invitation_send(*, users: Sequence[AbstractBaseUser], base_url: str) -> list[PasswordLink]:
    """The one-time links of logins just made without a password (a roster import's): e-mailed,
    on commit, to those who have an e-mail address when e-mail is set up. Nothing is changed: a
    link comes from the login's state, so the users page can make the same kind of link later."""
    return [_password_link(user=user, base_url=base_url) for user in users if user.email and user.is_active]


def user_password_reset(*, actor: AbstractBaseUser | None, user, base_url: str) -> PasswordLink:
    """A new one-time link for `user` (who forgot their password, or never used their
    invitation). Their password stops working now, with every earlier link and every session."""
    if not user.is_active:
        raise ValidationError(_("%(username)s is deactivated: reactivate the login first.")
                              % {"username": user.get_username()})  # fmt: skip
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        link = _password_link(user=user, base_url=base_url)
        change_record(actor=actor, area=ChangeArea.ACCESS, target=user, before={"password_link": None},
                      after={"password_link": link.expires_at.date()})  # fmt: skip
        return link


def _administrators(*, exclude_user_id: int | None = None, exclude_grant_id: int | None = None):
    """Active administrators (superusers and admin grants' users), leaving out the given ones."""
    grants = RoleGrant.objects.filter(role=Role.ADMIN)
    if exclude_grant_id is not None:
        grants = grants.exclude(pk=exclude_grant_id)
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(pk__in=grants.values("user_id")))
    )
    return users.exclude(pk=exclude_user_id) if exclude_user_id is not None else users


def user_active_set(*, actor: AbstractBaseUser | None, user, active: bool):
    """Deactivate a login (it can no longer sign in, use its API token or a password link) or
    reactivate it. Never one's own, and never the last active administrator."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate or reactivate your own login."))
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        before = fields_snapshot(instance=user, fields=["is_active"])
        last_admin = not _administrators(exclude_user_id=user.pk).exists()
        if not active and last_admin and _administrators().filter(pk=user.pk).exists():
            raise ValidationError(_("%(username)s is the last active administrator: grant the role to someone "
                                    "else first.") % {"username": user.get_username()})  # fmt: skip
        user.is_active = active
        user.save(update_fields=["is_active"])
        change_record(actor=actor, area=ChangeArea.ACCESS, target=user, before=before,
                      after=fields_snapshot(instance=user, fields=["is_active"]))  # fmt: skip
        return user


def role_grant_create(*, actor: AbstractBaseUser | None, user, role: str, store: Store | None = None) -> RoleGrant:
    """Grant `role` to `user`: manager of a store, or HR or administrator of every store."""
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    if role == Role.MANAGER and store is None:
        raise ValidationError({"store": _("A manager is granted a store: choose it.")})
    if role != Role.MANAGER:
        store = None  # HR and administrators are granted everything
    with transaction.atomic():
        if RoleGrant.objects.filter(user=user, role=role, store=store).exists():
            label = dict(Role.choices)[role]
            raise ValidationError({"role": _("%(username)s already has this role: %(role)s.")
                                   % {"username": user.get_username(), "role": label}})  # fmt: skip
        grant = RoleGrant.objects.create(user=user, role=role, store=store)
        change_record(actor=actor, area=ChangeArea.ACCESS, target=grant, store=store,
                      after=fields_snapshot(instance=grant, fields=GRANT_FIELDS))  # fmt: skip
        return grant


def role_grant_delete(*, actor: AbstractBaseUser | None, grant: RoleGrant) -> None:
    """Revoke a role. Never the last active administrator's."""
    with transaction.atomic():
        # Only this row is locked (of self): PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer join select_related makes for a nullable key (SQLite has no row locks and let it pass).
        grant = RoleGrant.objects.select_for_update(of=("self",)).select_related("user", "store").get(pk=grant.pk)
        if grant.role == Role.ADMIN and not _administrators(exclude_grant_id=grant.pk).exists():
            raise ValidationError(_("%(username)s is the last active administrator: grant the role to someone "
                                    "else first.") % {"username": grant.user.get_username()})  # fmt: skip
        change_record(actor=actor, area=ChangeArea.ACCESS, target=grant, store=grant.store,
                      before=fields_snapshot(instance=grant, fields=GRANT_FIELDS))  # fmt: skip
        grant.delete()
