import datetime as dt
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from metrics.models import Call, CallDirection, Lead, LeadStage, LeadStageChange
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


def _local(moment: dt.datetime, store: Store) -> dt.datetime:
    """An aware datetime in the store's zone (the importer stores local days and hours)."""
    return timezone.localtime(moment, ZoneInfo(store.time_zone))


def _local_date(moment: dt.datetime, store: Store) -> dt.date:
    return _local(moment, store).date()


_SHANGHAI = dt.timezone(dt.timedelta(hours=8))


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead as an import leaves it. Pass aware datetimes; local dates follow the store's zone.
    Stage history rows are not made here: use LeadStageChangeFactory (or lead_path below)."""

    class Meta:
        model = Lead

    store = factory.SubFactory(StoreFactory)
    lead_id = factory.Sequence(lambda n: f"L{n:06d}")
    account = factory.SubFactory(PlatformAccountFactory, store=factory.SelfAttribute("..store"))
    customer = factory.Sequence(lambda n: f"客户{n}")
    source = "官网"
    stage = LeadStage.LEAD
    stage_raw = factory.LazyAttribute(lambda o: o.stage)
    created_at = dt.datetime(2026, 8, 3, 10, 0, tzinfo=_SHANGHAI)
    created_date = factory.LazyAttribute(lambda o: _local_date(o.created_at, o.store))
    stage_changed_at = factory.LazyAttribute(lambda o: o.created_at)
    stage_changed_date = factory.LazyAttribute(lambda o: _local_date(o.stage_changed_at, o.store))
    amount_cents = 1_000_000


class LeadStageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadStageChange

    lead = factory.SubFactory(LeadFactory)
    store = factory.LazyAttribute(lambda o: o.lead.store)
    account = factory.LazyAttribute(lambda o: o.lead.account)
    stage = LeadStage.LEAD
    changed_at = factory.LazyAttribute(lambda o: o.lead.created_at)
    changed_date = factory.LazyAttribute(lambda o: _local_date(o.changed_at, o.store))
    amount_cents = factory.LazyAttribute(lambda o: o.lead.amount_cents)


def lead_path(*, steps: list[tuple[str, dt.datetime]], **lead_fields) -> Lead:
    """A lead that went through `steps` [(stage, aware time), ...]: the Lead row shows the last
    step, created at the first; one LeadStageChange per step."""
    first, last = steps[0], steps[-1]
    lead = LeadFactory(created_at=first[1], stage=last[0], stage_changed_at=last[1], **lead_fields)
    for stage, moment in steps:
        LeadStageChangeFactory(lead=lead, stage=stage, changed_at=moment)
    return lead


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    store = factory.SubFactory(StoreFactory)
    call_id = factory.Sequence(lambda n: f"C{n:07d}")
    account = factory.SubFactory(PlatformAccountFactory, store=factory.SelfAttribute("..store"))
    started_at = dt.datetime(2026, 8, 3, 10, 0, tzinfo=_SHANGHAI)
    started_date = factory.LazyAttribute(lambda o: _local_date(o.started_at, o.store))
    started_hour = factory.LazyAttribute(lambda o: _local(o.started_at, o.store).hour)
    number = "138****0000"
    direction = CallDirection.OUTBOUND
    connected = True
    duration_seconds = 120
