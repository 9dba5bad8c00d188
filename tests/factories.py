import datetime as dt

import factory
from django.contrib.auth import get_user_model

from teams.models import (
    AccountAssignment,
    Member,
    PlatformAccount,
    Role,
    RoleGrant,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"店铺{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"客服{n}组")
    kind = TeamKind.PRESALES


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    display_name = factory.Sequence(lambda n: f"成员{n}")
    employee_number = factory.Sequence(lambda n: f"E{n:04d}")
    hire_date = dt.date(2025, 1, 1)


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    member = factory.SubFactory(MemberFactory)
    team = factory.SubFactory(TeamFactory)
    start_date = dt.date(2025, 1, 1)


class PlatformAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformAccount

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"衣衣风尚:客服{n:02d}")


class AccountAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountAssignment

    account = factory.SubFactory(PlatformAccountFactory)
    member = factory.SubFactory(MemberFactory)
    start_date = dt.date(2025, 1, 1)


class RoleGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleGrant

    user = factory.SubFactory(UserFactory)
    role = Role.HR
