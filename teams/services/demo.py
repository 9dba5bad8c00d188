"""Demo organisation: three stores, five teams, 24 agents with platform accounts, and one login
per role. Used by `seed_demo` (and `make run` on an empty database)."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from teams.models import (
    AccountAssignment,
    Member,
    Platform,
    PlatformAccount,
    Role,
    RoleGrant,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)

# Store names as the shared generator of shop exports writes them; an account name starts
# with the store's first four characters, as Taobao sub-accounts do (`衣衣风尚:客服05`).
DEMO_STORES = [
    ("未来衣橱旗舰店", Platform.TMALL),
    ("衣衣风尚专营店", Platform.TAOBAO),
    ("Mirror Home Store", Platform.JD),
]
# (store index, team name, kind, number of agents)
DEMO_TEAMS = [
    (0, "售前客服一组", TeamKind.PRESALES, 7),
    (0, "售后客服组", TeamKind.AFTERSALES, 3),
    (1, "售前客服组", TeamKind.PRESALES, 6),
    (1, "售后客服组", TeamKind.AFTERSALES, 2),
    (2, "Customer Service", TeamKind.PRESALES, 6),
    # Seeds 001 and 002: an online-sales team working a lead pipeline, and a telesales team.
    (0, "线上销售组", TeamKind.ONLINE_SALES, 4),
    (0, "电销组", TeamKind.TELESALES, 5),
]
# What an account is called in each kind of team (客服05, 销售02, 电销03).
ACCOUNT_WORD = {TeamKind.ONLINE_SALES: "销售", TeamKind.TELESALES: "电销"}
SALES_KINDS = (TeamKind.ONLINE_SALES, TeamKind.TELESALES)
DEMO_NAMES = [
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨敏",
    "赵磊",
    "黄丽",
    "周杰",
    "吴霞",
    "徐强",
    "孙悦",
    "马超",
    "朱琳",
    "胡斌",
    "郭婷",
    "林涛",
    "何雪",
    "高峰",
    "罗欣",
    "Emma Clark",
    "Liam Wong",
    "Mia Chen",
    "Noah Lee",
    "郑浩",
    "谢婷",
    "韩磊",
    "唐敏",
    "冯军",
    "董洁",
    "萧然",
    "程亮",
    "曹颖",
]


DEMO_USERNAMES = ["manager", "lead", "staff1", "staff2", "sales1", "tele1", "hr", "admin"]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    sees: str


def demo_organisation_create(*, password: str, today: dt.date | None = None) -> list[DemoLogin]:
    """Create the demo organisation and users. Refuses to run twice (the stores exist)."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=180)
    User = get_user_model()
    with transaction.atomic():
        stores = Store.objects.bulk_create(Store(name=name, platform=platform) for name, platform in DEMO_STORES)
        teams = Team.objects.bulk_create(
            Team(store=stores[store_index], name=name, kind=kind) for store_index, name, kind, _ in DEMO_TEAMS
        )
        members = Member.objects.bulk_create(
            Member(
                display_name=name,
                employee_number=f"E{1001 + i}",
                hire_date=start - dt.timedelta(days=30 * (i % 7)),
            )
            for i, name in enumerate(DEMO_NAMES)
        )
        memberships, accounts, agent, service = [], [], 0, []
        for team, (store_index, _name, kind, size) in zip(teams, DEMO_TEAMS, strict=True):
            for number in range(size):
                memberships.append(TeamMembership(member=members[agent], team=team, start_date=start))
                word = ACCOUNT_WORD.get(kind, "客服")
                serial = agent + 1 if kind not in SALES_KINDS else number + 1
                accounts.append(
                    PlatformAccount(
                        store=stores[store_index], name=f"{stores[store_index].name[:4]}:{word}{serial:02d}"
                    )
                )
                service.append(kind not in SALES_KINDS)
                agent += 1
        TeamMembership.objects.bulk_create(memberships)
        accounts = PlatformAccount.objects.bulk_create(accounts)
        # The last service account of each store stays unassigned, so the assign-accounts page has work.
        last_of_store = {
            account.store_id: account.pk for account, is_service in zip(accounts, service, strict=True) if is_service
        }
        AccountAssignment.objects.bulk_create(
            AccountAssignment(account=account, member=members[i], start_date=start)
            for i, account in enumerate(accounts)
            if account.pk not in last_of_store.values()
        )
        firsts = _first_agent_indexes()
        for team, first in zip(teams, firsts, strict=True):
            team.lead = members[first]
        Team.objects.bulk_update(teams, ["lead"])

        def user(username: str, first_name: str, **extra) -> "User":
            account = User(username=username, first_name=first_name, **extra)
            account.set_password(password)
            account.save()
            return account

        manager = user("manager", "店长 Manager")
        RoleGrant.objects.bulk_create(RoleGrant(user=manager, role=Role.MANAGER, store=s) for s in stores[:2])
        hr = user("hr", "人事 HR")
        RoleGrant.objects.create(user=hr, role=Role.HR)
        user("admin", "管理员 Admin", is_staff=True, is_superuser=True)
        # New hires of the sales teams (seed 002's qualification rate): hired three to five months
        # ago; most passed probation (转正), one has not yet.
        first_sales, first_tele = firsts[-2], firsts[-1]  # the two sales teams come last
        for offset, member in enumerate(members[first_sales:]):
            if offset % 3 == 0:
                member.hire_date = today - dt.timedelta(days=100 + 10 * offset)
                member.confirmed_date = None if offset == 3 else member.hire_date + dt.timedelta(days=91)
        Member.objects.bulk_update(members[first_sales:], ["hire_date", "confirmed_date"])
        # The lead of the first team and two of its agents log in as themselves; so do one
        # online salesperson and one telesales agent.
        logins = (("lead", members[0]), ("staff1", members[1]), ("staff2", members[2]),
                  ("sales1", members[first_sales + 1]), ("tele1", members[first_tele + 1]))  # fmt: skip
        for username, member in logins:
            member.user = user(username, member.display_name)
        Member.objects.bulk_update([member for _username, member in logins], ["user"])
    return [
        DemoLogin("manager", "manager", f"{stores[0].name}, {stores[1].name}"),
        DemoLogin("lead", "team lead", f"{teams[0]} ({members[0].display_name})"),
        DemoLogin("staff1", "staff", members[1].display_name),
        DemoLogin("staff2", "staff", members[2].display_name),
        DemoLogin("sales1", "staff", f"{members[first_sales + 1].display_name} ({teams[-2].name})"),
        DemoLogin("tele1", "staff", f"{members[first_tele + 1].display_name} ({teams[-1].name})"),
        DemoLogin("hr", "HR", "everyone"),
        DemoLogin("admin", "administrator", "everything, and /admin/"),
    ]


def _first_agent_indexes() -> list[int]:
    indexes, running = [], 0
    for *_rest, size in DEMO_TEAMS:
        indexes.append(running)
        running += size
    return indexes
