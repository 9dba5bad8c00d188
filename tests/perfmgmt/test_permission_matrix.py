"""The permission matrix (issue 10, point 2): every URL of the URLconf × every role, with the
expected status and, for lists, the expected rows; one test per cell (`test_cell[<url name>-<case>-
<role>]`), so a failure names the URL, the case and the role.

The cells are generated from the URLconf (`get_resolver()`, walked recursively):
- an ordinary pattern needs an entry in permission_matrix.MATRIX (keyed by its URL name); a new
  endpoint without one fails `test_cell[<route>-MISSING]`, an entry without a pattern fails
  `test_every_entry_has_a_pattern`;
- a DRF `.<format>` twin is held to its canonical entry's expectations, fetched as `.json`;
- a pattern that a former one shadows (none today; the second DRF router's api-root was one) is
  called directly and held to the expectations of the one that answers its URL;
- every Django admin pattern follows one rule (`admin_expectations`): anonymous users and users
  without staff status are sent to the admin's login, the superuser gets the page; one test per
  pattern (`test_admin_pattern[...]`) asks every role and lists every failing URL × role.

Every answer is also searched for the names of members, stores and teams the role may not see
(permission_matrix.HIDDEN), whatever the URL.

The world is built once per module inside a transaction that is rolled back at the end; each test
runs in a savepoint of it (pytest-django's `db`), so a write in one cell is never seen by another.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.http import urlencode
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from tests.factories import (
    AccountAssignmentFactory,
    LeadFactory,
    MemberFactory,
    PlatformAccountFactory,
    RoleGrantFactory,
    StoreFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
)
from tests.perfmgmt.permission_matrix import HIDDEN, KEYS, MATRIX, ROLES, Case, S
from tests.reviews.helpers import exclude_without_data

pytestmark = pytest.mark.django_db

# --- the URLconf ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    route: str  # the full route, prefixes included
    name: str | None  # namespaced ("teams:member_list"), None for unnamed ones
    pattern: URLPattern

    @property
    def kwargs(self) -> set[str]:
        return set(self.pattern.pattern.regex.groupindex)

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def is_format_twin(self) -> bool:
        """A DRF format-suffix twin (`.json`) of another pattern of the same name."""
        return "format" in self.kwargs


def _walk(resolver: URLResolver, prefix: str = "", namespace: str | None = None):
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            inner = namespace
            if item.namespace:
                inner = f"{namespace}:{item.namespace}" if namespace else item.namespace
            yield from _walk(item, prefix + str(item.pattern), inner)
        else:
            name = f"{namespace}:{item.name}" if namespace and item.name else item.name
            yield prefix + str(item.pattern), name, item


PATTERNS = [Pattern(route, name, p) for route, name, p in _walk(get_resolver())]


def _labels() -> dict[Pattern, str]:
    """A readable, unique id per pattern: its name, `.json` for format twins, #2 for repeats."""
    labels, seen = {}, {}
    for p in PATTERNS:
        base = p.name or (f"admin:{p.route.removeprefix('admin/')}" if p.is_admin else p.route)
        if p.is_format_twin:
            base += "[.json]"
        seen[base] = seen.get(base, 0) + 1
        labels[p] = base if seen[base] == 1 else f"{base}#{seen[base]}"
    return labels


LABELS = _labels()


def canonical_entry(p: Pattern) -> list[Case] | None:
    """The entry that holds for the pattern: its own, or (for format twins and shadowed repeats)
    that of its name."""
    return MATRIX.get(p.name) if p.name else None


# --- the world --------------------------------------------------------------------------------


def _month_previous(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


class World:
    """Everything the cells point at (attributes set by `world_build`), and the checks of the
    effects of writes."""

    def exists(self, obj) -> bool:
        return type(obj).objects.filter(pk=obj.pk).exists()

    def account_holder(self, account) -> int | None:
        from teams.models import AccountAssignment

        return (
            AccountAssignment.objects.filter(account=account, end_date__isnull=True)
            .values_list("member_id", flat=True)
            .first()
        )

    def staff_cost_entered(self) -> bool:
        from teams.models import StaffCost

        return StaffCost.objects.filter(store=self.s1, month=self.month, amount_cents=880000).exists()

    def alert_read(self) -> bool:
        from metrics.models import TargetAlert

        return TargetAlert.objects.get(pk=self.alert_a.pk).read_at is not None

    def deal_planned(self) -> bool:
        from metrics.models import StuckDeal

        return StuckDeal.objects.get(pk=self.deal_a.pk).plan_submitted_at is not None

    def deal_answered(self) -> bool:
        from metrics.models import StuckDeal

        return StuckDeal.objects.get(pk=self.deal_a_planned.pk).responded_at is not None

    def cycle_state(self) -> str:
        from reviews.models import Cycle

        return Cycle.objects.get(pk=self.cycle.pk).state

    def statements_recomputed(self) -> bool:
        from incentives.models import Statement

        return Statement.objects.get(pk=self.statement_a.pk).computed_at is not None

    def statement_state(self, statement) -> str:
        from incentives.models import Statement

        return Statement.objects.get(pk=statement.pk).state

    def manual_line_titled(self, title: str) -> bool:
        from incentives.models import ManualLine

        return ManualLine.objects.filter(statement=self.statement_a, title=title).exists()

    def manual_line_amount(self, line) -> Decimal | None:
        from incentives.models import ManualLine

        return ManualLine.objects.filter(pk=line.pk).values_list("amount", flat=True).first()

    def target_named(self, name: str) -> bool:
        from metrics.models import Target

        return Target.objects.filter(name=name).exists()

    def count_of(self, member) -> int | None:
        from metrics.models import BehaviourRecord

        record = BehaviourRecord.objects.filter(member=member, behaviour=self.behaviour, date=self.yesterday).first()
        return record.count if record else None

    def cycle_opened(self, month: dt.date) -> bool:
        from reviews.models import Cycle

        return Cycle.objects.filter(team=self.x, month=month).exists()

    def template_named(self, name: str) -> bool:
        from reviews.models import AppraisalTemplate

        return AppraisalTemplate.objects.filter(name_zh=name).exists()

    def template_new_version(self) -> bool:
        from reviews.models import AppraisalTemplate

        return AppraisalTemplate.objects.filter(replaces=self.template).exists()

    def template_retired(self) -> bool:
        from reviews.models import AppraisalTemplate

        return AppraisalTemplate.objects.get(pk=self.template.pk).retired_at is not None

    def template_form(self, **changes) -> dict:
        """The editor page's fields for the world's template as it is, with `changes`."""
        from reviews.template_forms import editor_from_spec
        from reviews.template_spec import template_spec_of

        editor = editor_from_spec(spec=template_spec_of(template=self.template))
        data = {"action": "save", **editor.values}
        for band in editor.bands:
            data.update({f"{band.prefix}{k}": v for k, v in band.values.items()})
        for d in editor.dimensions:
            data.update({f"{d.prefix}{k}": v for k, v in d.values.items()})
            for i in d.items:
                data.update({f"{i.prefix}{k}": v for k, v in i.values.items()})
                data.update({f"{t.prefix}{k}": v for t in i.thresholds for k, v in t.values.items()})
                for level, zh, en in i.rubric:
                    data.update({f"{i.prefix}rubric-{level}-zh": zh, f"{i.prefix}rubric-{level}-en": en})
        return data | changes

    def plan_named(self, name: str) -> bool:
        from incentives.models import Plan

        return Plan.objects.filter(name=name).exists()

    def plan_copies(self, plan) -> int:
        from incentives.models import Plan

        return Plan.objects.filter(name__startswith=plan.name).exclude(pk=plan.pk).count()

    def plan_retired(self, plan) -> bool:
        from incentives.models import Plan

        return Plan.objects.get(pk=plan.pk).retired_at is not None

    def plan_assigned(self, plan, member) -> bool:
        from incentives.models import PlanAssignment

        return PlanAssignment.objects.filter(plan=plan, member=member).exists()

    def assignment_end(self, assignment) -> dt.date | None:
        from incentives.models import PlanAssignment

        return PlanAssignment.objects.filter(pk=assignment.pk).values_list("end_date", flat=True).first()

    def target_name(self, target) -> str | None:
        from metrics.models import Target

        return Target.objects.filter(pk=target.pk).values_list("name", flat=True).first()

    # --- the organisation and its logins (issue 19) ---

    def user_pk(self, name: str) -> int:
        return self.users[name].pk

    def grant_pk(self, name: str) -> int:
        """The pk of the user's one grant, remembered: a cell that revokes it asks again after."""
        from teams.models import RoleGrant

        known = self.__dict__.setdefault("_grant_pks", {})
        if name not in known:
            known[name] = RoleGrant.objects.filter(user=self.users[name]).values_list("pk", flat=True).get()
        return known[name]

    def store_setting(self, store, name: str):
        from teams.models import Store

        return Store.objects.filter(pk=store.pk).values_list(name, flat=True).get()

    def store_named(self, name: str) -> bool:
        from teams.models import Store

        return Store.objects.filter(name=name).exists()

    def team_named(self, store, name: str) -> bool:
        from teams.models import Team

        return Team.objects.filter(store=store, name=name).exists()

    def member_in(self, name: str, team) -> bool:
        from teams.models import TeamMembership

        return TeamMembership.objects.filter(member__display_name=name, team=team, end_date__isnull=True).exists()

    def member_field(self, member, name: str):
        from teams.models import Member

        return Member.objects.filter(pk=member.pk).values_list(name, flat=True).get()

    def team_now(self, member) -> int | None:
        from teams.models import TeamMembership

        rows = TeamMembership.objects.filter(member=member, end_date__isnull=True)
        return rows.values_list("team_id", flat=True).first()

    def account_named(self, store, name: str) -> bool:
        from teams.models import PlatformAccount

        return PlatformAccount.objects.filter(store=store, name=name).exists()

    def has_login(self, member) -> bool:
        from teams.models import Member

        return Member.objects.filter(pk=member.pk, user__isnull=False).exists()

    def password_usable(self, name: str) -> bool:
        self.users[name].refresh_from_db()
        return self.users[name].has_usable_password()

    def login_active(self, name: str) -> bool:
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=self.users[name].pk, is_active=True).exists()

    def has_grant(self, name: str, role: str) -> bool:
        from teams.models import RoleGrant

        return RoleGrant.objects.filter(user=self.users[name], role=role).exists()


def world_build() -> World:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    from incentives.models import Badge, BadgeRule, ManualLine, Plan, PlanAssignment, Statement
    from metrics.models import (
        Behaviour,
        BehaviourRecord,
        Campaign,
        ImportBatch,
        ImportRowError,
        MemberDay,
        StoreDay,
        StuckDeal,
        Target,
        TargetAlert,
    )
    from reviews.models import AppraisalTemplate, CycleState
    from reviews.services.cycles import cycle_advance, cycle_create
    from reviews.services.templates import appraisal_templates_ensure
    from teams.models import Role, StaffCost
    from teams.selectors.scoping import viewer_get

    w = World()
    now = timezone.now()
    w.today = today = timezone.localdate()
    w.month = month = _month_previous(today)  # the month the pay and appraisal pages open on
    w.month2 = _month_previous(month)

    # The org fixture's layout (tests/conftest.py), with team Y given a lead of its own.
    w.s1, w.s2 = StoreFactory(name="未来衣橱旗舰店"), StoreFactory(name="Mirror Home Store")
    w.x = TeamFactory(store=w.s1, name="售前X")
    w.y = TeamFactory(store=w.s1, name="售后Y")
    w.z = TeamFactory(store=w.s2, name="直播Z组")
    names = ("staff_a", "staff_b", "lead_x", "lead_y", "manager_s1", "manager_s2", "hr", "admin")
    w.users = {name: UserFactory(username=name) for name in names}
    w.a = MemberFactory(display_name="Alice 王", user=w.users["staff_a"])
    w.b = MemberFactory(display_name="Bob 李", user=w.users["staff_b"])
    w.c = MemberFactory(display_name="Carol 张")
    w.d = MemberFactory(display_name="Dan 刘")
    w.lead_x = MemberFactory(display_name="Lead 赵", user=w.users["lead_x"])
    w.lead_y = MemberFactory(display_name="Yvonne 孙", user=w.users["lead_y"])
    for member, team in ((w.a, w.x), (w.b, w.x), (w.lead_x, w.x), (w.c, w.y), (w.lead_y, w.y), (w.d, w.z)):
        TeamMembershipFactory(member=member, team=team)
    w.x.lead, w.y.lead = w.lead_x, w.lead_y
    w.x.save()
    w.y.save()
    accounts = {}
    for key, member, store in (("a", w.a, w.s1), ("b", w.b, w.s1), ("c", w.c, w.s1), ("d", w.d, w.s2)):
        accounts[key] = AccountAssignmentFactory(
            member=member, account=PlatformAccountFactory(store=store, name=f"{store.name[:4]}:客服{key}")
        ).account
    accounts["u1"] = PlatformAccountFactory(store=w.s1, name="未来衣橱:新客服")
    accounts["u2"] = PlatformAccountFactory(store=w.s2, name="Mirr:new agent")
    w.account_a = accounts["a"]
    RoleGrantFactory(user=w.users["manager_s1"], role=Role.MANAGER, store=w.s1)
    RoleGrantFactory(user=w.users["manager_s2"], role=Role.MANAGER, store=w.s2)
    RoleGrantFactory(user=w.users["hr"], role=Role.HR)
    # A superuser as `createsuperuser` makes one: the admin site also asks for staff status.
    w.users["admin"].is_superuser = w.users["admin"].is_staff = True
    w.users["admin"].save()
    w.tokens = {name: Token.objects.create(user=user).key for name, user in w.users.items()}
    w.client = Client()
    w.sessions = {}  # one signed-in session per user, reused by its cells (each cell's changes roll back)
    for name, user in w.users.items():
        w.client.cookies = SimpleCookie()  # else logging in ends the previous user's session
        w.client.force_login(user)
        w.sessions[name] = w.client.cookies[settings.SESSION_COOKIE_NAME].value

    # Imports: one batch per store, each by the store's manager, with its file and a rejected row.
    batches = {}
    for key, store, user in (("S1", w.s1, "manager_s1"), ("S2", w.s2, "manager_s2")):
        name = f"orders-{key.lower()}-matrix.csv"
        batch = ImportBatch.objects.create(
            kind="orders", store=store, created_by=w.users[user], status="succeeded", file_name=name,
            sha256="0" * 64, size_bytes=20, rows_total=2, rejected=1,
        )  # fmt: skip
        batch.file.save(name, ContentFile("订单编号\nO-1\n".encode()))
        batch.stores.add(store)
        ImportRowError.objects.create(batch=batch, line=3, column="订单编号", value="", reason="empty")
        batches[key] = batch
    w.batch_s1 = batches["S1"]

    # Yesterday's figures of every member and store, so that the KPI rows exist.
    w.yesterday = yesterday = today - dt.timedelta(days=1)
    for member, team in ((w.a, w.x), (w.b, w.x), (w.lead_x, w.x), (w.c, w.y), (w.lead_y, w.y), (w.d, w.z)):
        MemberDay.objects.create(store=team.store, date=yesterday, member=member, team=team, sessions=3,
                                 answered_sessions=3, paid_orders=1, items=1, gmv_cents=12_300)  # fmt: skip
    for store in (w.s1, w.s2):
        StoreDay.objects.create(store=store, date=yesterday, uv=100, pv=300, paid_orders=3, gmv_cents=36_900)

    # Targets of this month: team X's, A's own, team Y's, team Z's (store S2) and store S1's.
    w.first, w.last = first, last = today.replace(day=1), _month_end(today)

    def target(name, tier, store, team=None, member=None):
        return Target.objects.create(
            tier=tier, name=name, kpi_key="gmv", store=store, team=team, member=member, period_kind="month",
            start=first, end=last, value=Decimal(100_000), direction="at_least",
        )  # fmt: skip

    w.t_x = target("目标-团队X", "tactic", w.s1, w.x)
    w.t_a = target("目标-Alice", "execution", w.s1, w.x, w.a)
    w.t_y = target("目标-团队Y", "tactic", w.s1, w.y)
    w.t_z = target("目标-团队Z", "tactic", w.s2, w.z)
    w.t_s1 = target("目标-店铺S1", "strategy", w.s1)
    w.alert_a = TargetAlert.objects.create(target=w.t_a, kind="behind", day=today, actual=1, expected=2)
    TargetAlert.objects.create(target=w.t_z, kind="behind", day=today, actual=1, expected=2)
    campaigns = {key: Campaign.objects.create(store=store, kind="custom", name=f"大促-{key}")
                 for key, store in (("S1", w.s1), ("S2", w.s2))}  # fmt: skip
    w.behaviour = Behaviour.objects.create(store=w.s1, name="回访客户", unit="个")
    records = {key: BehaviourRecord.objects.create(behaviour=w.behaviour, member=member, date=yesterday, count=3)
               for key, member in (("A", w.a), ("B", w.b))}  # fmt: skip

    # Stuck deals: two of A's (one without a plan, one planned and waiting), one each of B, C, D.
    deals = {}
    for key, member, account, planned in (("A1", w.a, accounts["a"], False), ("A2", w.a, accounts["a"], True),
                                          ("B", w.b, accounts["b"], False), ("C", w.c, accounts["c"], False),
                                          ("D", w.d, accounts["d"], False)):  # fmt: skip
        lead = LeadFactory(
            store=account.store, account=account, customer=f"客户{key}", stage="negotiation",
            created_at=now - dt.timedelta(days=20), stage_changed_at=now - dt.timedelta(days=15),
        )  # fmt: skip
        deals[key] = StuckDeal.objects.create(
            store=account.store, lead=lead, negotiation_since=now - dt.timedelta(days=15), member=member,
            detected_at=now - dt.timedelta(days=1),
            plan="Call back with the bundle offer." if planned else "",
            plan_submitted_at=now - dt.timedelta(hours=2) if planned else None,
            plan_by=member.user if planned else None,
        )  # fmt: skip
    w.deal_a, w.deal_a_planned = deals["A1"], deals["A2"]

    # Last month's appraisal cycle of team X, published (its members see it in full).
    appraisal_templates_ensure()
    hr = w.users["hr"]
    w.template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    w.cycle = cycle_create(
        viewer=viewer_get(user=hr), user=hr, store=w.s1, team=w.x, month=month,
        template=w.template,
        deadlines={"self_review_due": _month_end(month) + dt.timedelta(days=5)},
    )  # fmt: skip
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION, CycleState.FINALISED,
                  CycleState.PUBLISHED):  # fmt: skip
        if state == CycleState.FINALISED:  # the month has no KPI data: HR decides on the items first
            exclude_without_data(w.cycle, hr)
        w.cycle = cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=w.cycle, to=state)
    appraisals = {key: w.cycle.appraisals.get(member=m) for key, m in (("A", w.a), ("B", w.b), ("LX", w.lead_x))}
    w.appraisal_a = appraisals["A"]
    w.kpi_item_pk = w.template.dimensions.filter(items__kind="kpi").values_list("items__pk", flat=True).first()

    # Pay: plans for A, team X and team Z; last month's statements (A's also the month before, approved).
    plans = {
        "PA": Plan.objects.create(name="方案-Alice", store=w.s1, base_salary=Decimal(3000)),
        "PX": Plan.objects.create(name="方案-团队X", store=w.s1, base_salary=Decimal(3000)),
        "PZ": Plan.objects.create(name="方案-团队Z", store=w.s2, base_salary=Decimal(3000)),
    }
    start = dt.date(2020, 1, 1)
    PlanAssignment.objects.create(plan=plans["PA"], member=w.a, start_date=start)
    w.assignment_x = PlanAssignment.objects.create(plan=plans["PX"], team=w.x, start_date=start)
    w.assignment_z = PlanAssignment.objects.create(plan=plans["PZ"], team=w.z, start_date=start)
    w.plan_a, w.plan_x = plans["PA"], plans["PX"]
    # A plan of S1 that nobody is on (any more): HR may retire it.
    w.plan_unused = Plan.objects.create(name="方案-停用", store=w.s1, base_salary=Decimal(2000))
    statements = {}
    for key, member, store, plan, when, state in (
        ("A", w.a, w.s1, plans["PA"], month, "draft"), ("A2", w.a, w.s1, plans["PA"], w.month2, "approved"),
        ("B", w.b, w.s1, plans["PX"], month, "draft"), ("C", w.c, w.s1, None, month, "draft"),
        ("D", w.d, w.s2, plans["PZ"], month, "draft"),
    ):  # fmt: skip
        statements[key] = Statement.objects.create(member=member, store=store, month=when, plan=plan, state=state,
                                                   total=Decimal("3000.00"))  # fmt: skip
    w.statement_a, w.statement_a2 = statements["A"], statements["A2"]
    w.manual_a = ManualLine.objects.create(statement=w.statement_a, kind="manual_award", title="矩阵原奖",
                                           amount=Decimal("50.00"), reason="矩阵测试")  # fmt: skip
    Badge.objects.create(member=w.a, store=w.s1, key="lightning_deal", period_start=today - dt.timedelta(days=2))

    # One object of every other model the Django admin lists, for its object pages.
    StaffCost.objects.create(store=w.s2, month=month, amount_cents=100_000)
    BadgeRule.objects.create(store=w.s1, key="matrix", name="矩阵", kpi_key="gmv", comparison="ge", threshold=1,
                             period="day")  # fmt: skip
    Group.objects.create(name="matrix")
    interval = IntervalSchedule.objects.create(every=1, period="days")
    CrontabSchedule.objects.create()
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("31.23"), longitude=Decimal("121.47"))
    ClockedSchedule.objects.create(clocked_time=now)
    PeriodicTask.objects.create(name="matrix", task="perfmgmt.matrix", interval=interval)
    common = {"user_agent": "matrix", "ip_address": "127.0.0.1", "username": "nobody", "http_accept": "*/*",
              "path_info": "/accounts/login/"}  # fmt: skip
    AccessAttempt.objects.create(**common, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**common)
    AccessFailureLog.objects.create(**common)

    # Markers: the text of each row in a page, and its id in the API.
    members = {"A": w.a, "B": w.b, "C": w.c, "D": w.d, "LX": w.lead_x, "LY": w.lead_y}
    objects = {
        "member": members,
        "store": {"S1": w.s1, "S2": w.s2},
        "team": {"X": w.x, "Y": w.y, "Z": w.z},
        "account": accounts,
        "batch": batches,
        "target": {"TX": w.t_x, "TA": w.t_a, "TY": w.t_y, "TZ": w.t_z, "TS1": w.t_s1},
        "campaign": campaigns,
        "plan": plans,
        "deal": deals,
        "cycle": {"X": w.cycle},
        "appraisal": appraisals,
        "statement": statements,
        "record": records,
    }
    text = {
        "member": lambda m: m.display_name,
        "store": lambda s: s.name,
        "team": lambda t: t.name,
        "account": lambda a: a.name,
        "batch": lambda b: b.file_name,
        "target": lambda t: t.name,
        "campaign": lambda c: c.name,
        "plan": lambda p: p.name,
        "deal": lambda d: d.lead.customer,
        "cycle": lambda c: f'data-cycle="{c.pk}"',
        "appraisal": lambda a: f'data-appraisal="{a.pk}"',
        "statement": lambda s: f'data-statement="{s.pk}"',
        "record": lambda r: f'data-record="{r.pk}"',  # API only
    }
    assert set(objects) == set(KEYS) and all(set(objects[k]) == set(KEYS[k]) for k in KEYS)
    w.markers = {kind: {key: text[kind](obj) for key, obj in objects[kind].items()} for kind in objects}
    w.ids = {kind: {key: obj.pk for key, obj in objects[kind].items()} for kind in objects}
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back after its last test."""
    cache.clear()
    with django_db_blocker.unblock(), transaction.atomic():
        yield world_build()
        transaction.set_rollback(True)
    cache.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Replaces tests/conftest.py's: the cache is kept from cell to cell (emptied around the module
    by `world`), so that each dashboard is computed once, as in production, where one cache serves
    every user. Only cells that read fill it, and none of them writes."""
    yield


# --- asking -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    text: str  # the body as text (xlsx: every cell's value), "" for other binary bodies
    data: Any  # the JSON, when the answer is JSON


def _body_text(response) -> str:
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for value in row
            if value is not None
        )  # fmt: skip
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _answer(response) -> Answer:
    text = _body_text(response)
    data = None
    if response.get("Content-Type", "").startswith("application/json") and text:
        data = json.loads(text)
    return Answer(response.status_code, response.get("Location", ""), text, data)


def client_for(world: World, role: str, *, session: bool) -> Client:
    """The module's one client (a new one loads the middleware again, and WhiteNoise then scans
    every static file: most of a cell's time), with no cookie but the role's session, if asked."""
    client = world.client
    client.cookies = SimpleCookie()
    if session and role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def ask(world: World, case: Case, role: str, url: str) -> Answer:
    client = client_for(world, role, session=not case.api)
    headers = {}
    if role != "anonymous" and case.api:
        headers["authorization"] = f"Token {world.tokens[role]}"
    query = case.query(world) if case.query else {}
    if query:
        url = f"{url}?{urlencode(query, doseq=True)}"
    data = case.data(world) if case.data else None
    send = getattr(client, case.method)
    if case.method == "get":
        response = send(url, headers=headers)
    elif case.api:
        response = send(url, json.dumps(data or {}), content_type="application/json", headers=headers)
    else:
        response = send(url, data or {}, headers=headers)
    return _answer(response)


def ask_directly(world: World, p: Pattern, case: Case, role: str, url: str) -> Answer:
    """Call a shadowed pattern's view itself (no URL reaches it), authenticated like the API."""
    factory = APIRequestFactory()
    headers = {"HTTP_AUTHORIZATION": f"Token {world.tokens[role]}"} if role != "anonymous" else {}
    if case.method == "get":
        request = factory.get(url, **headers)
    else:
        request = getattr(factory, case.method)(url, case.data(world) if case.data else {}, format="json", **headers)
    request.user = AnonymousUser()
    request._dont_enforce_csrf_checks = True
    request.resolver_match = resolve(url)  # what the earlier pattern's view would be given
    kwargs = case.kwargs(world) if case.kwargs else {}
    response = p.pattern.callback(request, **kwargs)
    if hasattr(response, "render"):
        response.render()
    return _answer(response)


# --- checking ---------------------------------------------------------------------------------


def status_problem(token: str, answer: Answer, *, login_url: str, kwargs: dict | None = None) -> str | None:
    """None if the answer is what `token` says (see permission_matrix), else what is wrong.
    `kwargs`: the case's URL kwargs, for a redirect to a page of the same object."""
    location = answer.location.split("?")[0]
    if token == "L":
        if answer.status == 302 and location == login_url:
            return None
        got = answer.location or _gist(answer.text)
        return f"expected a redirect to the login page {login_url}, got {answer.status} {got}"
    if token.startswith("302"):
        if answer.status != 302:
            return f"expected a redirect ({token}), got {answer.status} ({_gist(answer.text)})"
        if location == login_url and ">" not in token:
            return f"expected {token}, got sent to the login page"
        if ">" in token:
            name = token.split(">", 1)[1]
            try:
                wanted = reverse(name)
            except NoReverseMatch:
                wanted = reverse(name, kwargs=kwargs)
            if location != wanted:
                return f"expected a redirect to {wanted}, got {answer.location}"
        return None
    if answer.status != int(token):
        extra = f" → {answer.location}" if answer.location else f" ({_gist(answer.text)})"
        return f"expected {token}, got {answer.status}{extra}"
    return None


def _gist(text: str) -> str:
    """The start of an error answer, to tell a refusal from a broken request."""
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:160]


def rows_problem(world: World, case: Case, role: str, answer: Answer) -> str | None:
    expected = case.rows.expected(role) if case.rows else None
    if expected is None or answer.status != 200:
        return None
    kind = case.rows.kind
    if case.api:
        ids = case.rows.ids(answer.data)
        seen = {key for key, pk in world.ids[kind].items() if pk in ids}
    else:
        seen = {key for key, marker in world.markers[kind].items() if marker in answer.text}
    if seen != expected:
        missing, extra = sorted(expected - seen), sorted(seen - expected)
        return f"{kind} rows: missing {missing}, must not show {extra}"
    return None


def leak_problem(world: World, case: Case, role: str, answer: Answer) -> str | None:
    allowed = set(case.leaks_ok.get(role, "").split())
    shown = []
    for kind, keys in HIDDEN[role].items():
        for key in keys:
            if kind == "member" and key in allowed:
                continue
            if world.markers[kind][key] in answer.text:
                shown.append(f"{kind} {key} ({world.markers[kind][key]})")
    return f"shows what is not theirs: {', '.join(shown)}" if shown else None


def effect_problem(world: World, case: Case, role: str) -> str | None:
    if case.effect is None:
        return None
    happened, wanted = case.effect.happened(world), role in case.effect.roles
    if happened != wanted:
        return f"{case.effect.what}: {'happened' if happened else 'did not happen'}, it must{'' if wanted else ' not'}"
    return None


def check(world: World, case: Case, role: str, answer: Answer, *, token: str, login_url: str) -> list[str]:
    """Everything wrong with one answer: its status, its rows, what it shows, what it changed."""
    kwargs = case.kwargs(world) if case.kwargs else None
    problems = [
        status_problem(token, answer, login_url=login_url, kwargs=kwargs),
        rows_problem(world, case, role, answer),
        leak_problem(world, case, role, answer),
        effect_problem(world, case, role),
    ]
    return [p for p in problems if p]


# --- the Django admin: one rule for every pattern -------------------------------------------------

ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.*)$")
# A model's admin pages (the route after admin/<app>/<model>/) → what it is, and the superuser's status.
ADMIN_MODEL_PAGES = {
    "": ("changelist", "200"),
    "add/": ("add", "200"),
    "<path:object_id>/history/": ("history", "200"),
    "<path:object_id>/delete/": ("delete", "200"),  # the confirmation page
    "<path:object_id>/change/": ("change", "200"),
    "<path:object_id>/": ("object", "302"),  # to its change form
    "<id>/password/": ("password", "200"),  # users only
}
# The site's own pages → the URL asked and the superuser's status.
ADMIN_SITE_PAGES = {
    "admin:index": ("/admin/", "200"),
    "admin:password_change": ("/admin/password_change/", "200"),
    "admin:password_change_done": ("/admin/password_change/done/", "200"),
    "admin:jsi18n": ("/admin/jsi18n/", "200"),
    # No app_label, model or field: the autocomplete refuses the request itself.
    "admin:autocomplete": ("/admin/autocomplete/", "403"),
}
ADMIN_OTHER = {"admin:login", "admin:logout", "admin:view_on_site", "admin:app_list"}
ADMIN_CATCH_ALL = "admin/(?P<url>.*)$"


@dataclass(frozen=True)
class AdminCell:
    url: str
    expect: dict[str, str]
    what: str


def admin_model(p: Pattern):
    match = ADMIN_MODEL_ROUTE.match(p.route)
    if not match:
        return None, ""
    for model in admin.site._registry:
        if (model._meta.app_label, model._meta.model_name) == (match["app"], match["model"]):
            return model, match["rest"]
    return None, ""


def admin_expectations(p: Pattern, world: World) -> AdminCell | None:
    """The rule: anonymous users and users without staff status are sent to the admin's login;
    the superuser gets every list, form, history and delete confirmation (200), the object's bare
    URL redirects to its change form. The few site-wide URLs are listed one by one. None: the
    rule does not know the pattern (the test then fails)."""
    model, rest = admin_model(p)
    if model is not None:
        opts = model._meta
        if rest not in ADMIN_MODEL_PAGES:
            return None
        what, superuser = ADMIN_MODEL_PAGES[rest]
        obj = model._default_manager.order_by("pk").first()
        if obj is None and "<" in rest:
            raise AssertionError(f"the world has no {opts.label} for {p.route}")
        if what == "add" and not admin.site._registry[model].has_add_permission(_request_by(world.users["admin"])):
            superuser = "403"  # the ModelAdmin disables adding (records written by the app itself)
        kwargs = dict.fromkeys(p.kwargs, obj.pk)
        url = reverse(p.name, kwargs=kwargs) if p.name else f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/"
        return AdminCell(url, S(f"L L L L L L {superuser}"), what)
    if p.name in ADMIN_SITE_PAGES:
        url, superuser = ADMIN_SITE_PAGES[p.name]
        return AdminCell(url, S(f"L L L L L L {superuser}"), p.name)
    if p.name == "admin:login":
        # A signed-in user without staff status is shown the form (to sign in as someone else).
        return AdminCell("/admin/login/", S("200 200 200 200 200 200 302>admin:index"), "login")
    if p.name == "admin:logout":
        # Users who are not staff are sent to the index (and from there to the login); staff must POST.
        return AdminCell("/admin/logout/", S("302 302 302 302 302 302 405"), "logout")
    if p.name == "admin:view_on_site":
        ct = ContentType.objects.get_for_model(Group)
        # Groups have no page on the site: a superuser gets 404.
        return AdminCell(f"/admin/r/{ct.pk}/{Group.objects.first().pk}/", S("L L L L L L 404"), "view on site")
    if p.name == "admin:app_list":
        return AdminCell("", S("L L L L L L 200"), "app index")  # every app: see test_admin_pattern
    if p.name is None and p.route == ADMIN_CATCH_ALL:
        return AdminCell("/admin/no-such-page/", S("L L L L L L 404"), "catch-all")
    return None


def _request_by(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- the cells --------------------------------------------------------------------------------

# Cells known to be wrong in the code, with the correct expectation kept: (label, case number, role) →
# reason, each an xfail(strict), so that fixing the bug fails the test until the entry goes. None today.
KNOWN_BUGS: dict[tuple[str, int, str], str] = {}


def _cells():
    for p in PATTERNS:
        label = LABELS[p]
        if p.is_admin:
            continue  # test_admin_pattern
        cases = canonical_entry(p)
        if cases is None:
            yield pytest.param(p, -1, "", id=f"{label}-MISSING")
            continue
        for number, case in enumerate(cases):
            tag = f"{case.method.upper()}{number if len(cases) > 1 else ''}"
            for role in ROLES:
                reason = KNOWN_BUGS.get((label, number, role))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(p, number, role, id=f"{label}-{tag}-{role}", marks=marks)


def _url(world: World, p: Pattern, case: Case) -> str:
    if case.path:
        return case.path
    kwargs = case.kwargs(world) if case.kwargs else {}
    if p.is_format_twin:
        kwargs = {**kwargs, "format": "json"}
    return reverse(p.name, kwargs=kwargs)


def _throttled(p: Pattern) -> bool:
    view = getattr(p.pattern.callback, "cls", None)
    return bool(view and getattr(view, "throttle_classes", None))


def _answers_itself(p: Pattern, url: str) -> bool:
    """Whether the URL reaches this pattern (not an earlier one with the same route)."""
    match = resolve(url)
    # Django drops the "^" of regex patterns when it joins the routes of the levels.
    return match.func is p.pattern.callback and match.route.replace("^", "") == p.route.replace("^", "")


@pytest.mark.parametrize(("p", "number", "role"), list(_cells()))
def test_cell(world, p: Pattern, number: int, role: str):
    if number < 0:
        named = f"name {p.name!r}" if p.name else "no name: name it"
        pytest.fail(f"{p.route} ({named}) has no entry in tests/perfmgmt/permission_matrix.py: add one")
    case = canonical_entry(p)[number]
    url = _url(world, p, case)
    if _throttled(p):
        cache.clear()  # the throttle counts requests in the cache; each cell starts with none
    # A pattern shadowed by an earlier one is called itself, and held to the same expectations.
    answer = ask(world, case, role, url) if _answers_itself(p, url) else ask_directly(world, p, case, role, url)
    problems = check(world, case, role, answer, token=case.expect[role], login_url=reverse(settings.LOGIN_URL))
    assert not problems, f"{LABELS[p]} {case.method.upper()} {url} as {role}: " + "; ".join(problems)


@pytest.mark.parametrize("p", [pytest.param(p, id=LABELS[p]) for p in PATTERNS if p.is_admin])
def test_admin_pattern(world, p: Pattern):
    """One test per admin pattern (they follow one rule), every role asked; the failures listed
    together, one line per URL × role."""
    cell = admin_expectations(p, world)
    assert cell is not None, f"the admin rule does not cover {p.route} ({p.name}): extend admin_expectations"
    urls = [cell.url] if cell.url else [f"/admin/{label}/" for label in sorted(_admin_app_labels())]
    rule = Case(expect=cell.expect)
    failures = []
    for url in urls:
        assert _answers_itself(p, url), f"{url} does not reach {p.route}"
        for role in ROLES:
            answer = _answer(client_for(world, role, session=True).get(url))
            problems = check(world, rule, role, answer, token=cell.expect[role], login_url=reverse("admin:login"))
            failures += [f"{url} as {role}: {problem}" for problem in problems]
    assert not failures, f"{LABELS[p]} ({cell.what}):\n" + "\n".join(failures)


def _admin_app_labels() -> set[str]:
    return {model._meta.app_label for model in admin.site._registry}


# --- the table itself -------------------------------------------------------------------------


def test_every_entry_has_a_pattern():
    names = {p.name for p in PATTERNS if not p.is_admin}
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"entries without a URL pattern (remove them): {stale}"


def test_every_pattern_is_covered():
    """The same as the MISSING cells, as one list (for the reader of a failing run)."""
    missing = [p.route for p in PATTERNS if not p.is_admin and canonical_entry(p) is None]
    unruled = [p.route for p in PATTERNS if p.is_admin and _rule_unknown(p)]
    assert not missing, f"URL patterns without an entry in permission_matrix.MATRIX: {missing}"
    assert not unruled, f"admin patterns the admin rule does not cover: {unruled}"


def _rule_unknown(p: Pattern) -> bool:
    model, rest = admin_model(p)
    if model is not None:
        return rest not in ADMIN_MODEL_PAGES
    return not (p.name in ADMIN_SITE_PAGES or p.name in ADMIN_OTHER or (p.name is None and p.route == ADMIN_CATCH_ALL))


def test_the_table_names_every_role_and_real_rows():
    for name, cases in MATRIX.items():
        for case in cases:
            assert set(case.expect) == set(ROLES), name
            if case.rows:
                assert set(case.rows.seen) <= set(ROLES), name
                for role in case.rows.seen:
                    assert case.rows.expected(role) <= set(KEYS[case.rows.kind]), (name, role)
                    assert case.expect[role] == "200", f"{name}: rows given for {role}, whose answer is not 200"
            for role, keys in case.leaks_ok.items():
                assert set(keys.split()) <= set(KEYS["member"]), (name, role)
