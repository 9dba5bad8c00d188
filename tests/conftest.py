from dataclasses import dataclass

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from teams.models import Member, PlatformAccount, Role, Store, Team
from tests.factories import (
    AccountAssignmentFactory,
    MemberFactory,
    PlatformAccountFactory,
    RoleGrantFactory,
    StoreFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
)


def pytest_report_header(config):
    """Say which database and broker this run really uses, so a CI log shows it."""
    from django.conf import settings

    return (
        f"perfmgmt: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"celery broker {settings.CELERY_BROKER_URL.split('://')[0]}"
    )


@dataclass
class Org:
    """Two stores. S1 has teams X and Y, S2 has team Z. Staff A and B in X (lead L), C in Y, D in Z."""

    s1: Store
    s2: Store
    x: Team
    y: Team
    z: Team
    a: Member
    b: Member
    c: Member
    d: Member
    lead_x: Member
    account_a: PlatformAccount
    account_b: PlatformAccount
    account_c: PlatformAccount
    account_d: PlatformAccount
    unassigned_s1: PlatformAccount
    unassigned_s2: PlatformAccount
    users: dict


@pytest.fixture
def org(db) -> Org:
    s1, s2 = StoreFactory(name="未来衣橱旗舰店"), StoreFactory(name="Mirror Home Store")
    x, y, z = (
        TeamFactory(store=s1, name="售前X"),
        TeamFactory(store=s1, name="售后Y"),
        TeamFactory(store=s2, name="Z"),
    )
    users = {
        name: UserFactory(username=name)
        for name in ("staff_a", "staff_b", "lead_x", "manager_s1", "manager_s2", "hr", "admin", "nobody")
    }
    a = MemberFactory(display_name="Alice 王", user=users["staff_a"])
    b = MemberFactory(display_name="Bob 李", user=users["staff_b"])
    c = MemberFactory(display_name="Carol 张")
    d = MemberFactory(display_name="Dan 刘")
    lead_x = MemberFactory(display_name="Lead 赵", user=users["lead_x"])
    for member, team in ((a, x), (b, x), (lead_x, x), (c, y), (d, z)):
        TeamMembershipFactory(member=member, team=team)
    x.lead = lead_x
    x.save()
    accounts = {}
    for key, member, store in (("a", a, s1), ("b", b, s1), ("c", c, s1), ("d", d, s2)):
        accounts[key] = AccountAssignmentFactory(
            member=member, account=PlatformAccountFactory(store=store, name=f"{store.name[:4]}:客服{key}")
        ).account
    RoleGrantFactory(user=users["manager_s1"], role=Role.MANAGER, store=s1)
    RoleGrantFactory(user=users["manager_s2"], role=Role.MANAGER, store=s2)
    RoleGrantFactory(user=users["hr"], role=Role.HR)
    users["admin"].is_superuser = True
    users["admin"].save()
    return Org(
        s1=s1,
        s2=s2,
        x=x,
        y=y,
        z=z,
        a=a,
        b=b,
        c=c,
        d=d,
        lead_x=lead_x,
        account_a=accounts["a"],
        account_b=accounts["b"],
        account_c=accounts["c"],
        account_d=accounts["d"],
        unassigned_s1=PlatformAccountFactory(store=s1, name="未来衣橱:新客服"),
        unassigned_s2=PlatformAccountFactory(store=s2, name="Mirr:new agent"),
        users=users,
    )


@pytest.fixture
def client_for(client):
    """A page client logged in as the named fixture user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_for():
    """An API client authenticated as the given user through a real token."""
    from rest_framework.authtoken.models import Token

    def login(user):
        api = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api

    return login


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached dashboards and rollups of one test are never seen by the next."""
    from django.core.cache import cache

    from metrics.kpis.frames import rollup_memory_clear

    cache.clear()
    rollup_memory_clear()
    yield
    cache.clear()
    rollup_memory_clear()


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's default language, whatever the test before it activated
    (a request through the test client leaves its language active in the thread, so a test of
    language-keyed caches passed or failed by the order the tests ran in)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


class _Call(tuple):
    """(task, args, kwargs) of a queued call, with the task id it was given (or None)."""

    def __new__(cls, task, args, kwargs, *, task_id=None):
        call = super().__new__(cls, (task, args, kwargs))
        call.task_id = task_id
        return call


class TaskQueue:
    """Celery tasks queued (apply_async/delay) during a test, kept instead of sent, and run in
    this process in the order they were queued by run_all(): a worker without a broker."""

    def __init__(self, capture):
        self.calls: list[tuple] = []
        self._capture = capture

    def names(self) -> list[str]:
        return [task.name.rsplit(".", 1)[-1] for task, _args, _kwargs in self.calls]

    def of(self, name: str) -> list[tuple]:
        """The arguments (positional + keyword) of the queued calls of the task named `name`."""
        return [(*args, *kwargs.values()) for task, args, kwargs in self.calls if task.name.endswith(f".{name}")]

    def run_all(self) -> list[str]:
        """Run every queued task, then those they queue, each as a worker would: its on-commit
        callbacks run when it returns. Returns the names run."""
        from metrics.followups.services import followup_finished, followup_id_parse, followup_started

        ran = []
        while self.calls:
            call = self.calls.pop(0)
            task, args, kwargs = call
            # A follow-up (metrics.followups.services) is marked running, then done or failed, as
            # the worker's task_prerun and task_postrun handlers do.
            followup = followup_id_parse(task_id=getattr(call, "task_id", None))
            if followup:
                followup_started(followup_id=followup[0], attempt=followup[1])
            succeeded = False
            try:
                with self._capture(execute=True):
                    task(*args, **kwargs)
                succeeded = True
            finally:
                if followup:
                    followup_finished(followup_id=followup[0], attempt=followup[1], succeeded=succeeded)
            ran.append(task.name.rsplit(".", 1)[-1])
        return ran


@pytest.fixture
def task_queue(monkeypatch, django_capture_on_commit_callbacks) -> TaskQueue:
    from celery.app.task import Task

    queue = TaskQueue(django_capture_on_commit_callbacks)

    def apply_async(self, args=None, kwargs=None, **options):
        queue.calls.append(_Call(self, tuple(args or ()), dict(kwargs or {}), task_id=options.get("task_id")))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return queue
