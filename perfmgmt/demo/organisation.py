"""Demo organisation: three stores, five teams, 24 agents with platform accounts, and one login
per role. Used by `seed_demo` (and `make run` on an empty database)."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from teams.models import Platform, Role, TeamKind
from teams.services.accounts import account_assign
from teams.services.members import member_create
from teams.services.organisation import platform_account_create, store_create, team_create, team_update
from teams.services.users import role_grant_create, user_create

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
    """Create the demo organisation and users through the organisation's own services (as a
    company would on its pages, so the demo exercises them; each change is in the change log, made
    by the system). Refuses to run twice (the stores exist)."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=180)
    with transaction.atomic():
        stores = [store_create(actor=None, name=name, platform=platform) for name, platform in DEMO_STORES]
        teams = [team_create(actor=None, store=stores[store_index], name=name, kind=kind)
                 for store_index, name, kind, _ in DEMO_TEAMS]  # fmt: skip
        firsts = _first_agent_indexes()
        # New hires of the sales teams (seed 002's qualification rate): hired three to five months
        # ago; most passed probation (转正), one has not yet.
        first_sales, first_tele = firsts[-2], firsts[-1]  # the two sales teams come last
        members, accounts, agent, service = [], [], 0, []
        for team, (store_index, _name, kind, size) in zip(teams, DEMO_TEAMS, strict=True):
            for number in range(size):
                hire_date, confirmed_date = start - dt.timedelta(days=30 * (agent % 7)), None
                offset = agent - first_sales
                if offset >= 0 and offset % 3 == 0:
                    hire_date = today - dt.timedelta(days=100 + 10 * offset)
                    confirmed_date = None if offset == 3 else hire_date + dt.timedelta(days=91)
                members.append(member_create(
                    actor=None, display_name=DEMO_NAMES[agent], employee_number=f"E{1001 + agent}",
                    hire_date=hire_date, confirmed_date=confirmed_date, team=team, start_date=start,
                ))  # fmt: skip
                word = ACCOUNT_WORD.get(kind, "客服")
                serial = agent + 1 if kind not in SALES_KINDS else number + 1
                name = f"{stores[store_index].name[:4]}:{word}{serial:02d}"
                accounts.append(platform_account_create(actor=None, store=stores[store_index], name=name))
                service.append(kind not in SALES_KINDS)
                agent += 1
        # The last service account of each store stays unassigned, so the assign-accounts page has work.
        last_of_store = {
            account.store_id: account.pk for account, is_service in zip(accounts, service, strict=True) if is_service
        }
        for i, account in enumerate(accounts):
            if account.pk not in last_of_store.values():
                account_assign(account=account, member=members[i], start_date=start)
        for team, first in zip(teams, firsts, strict=True):
            team_update(actor=None, team=team, lead=members[first])

        manager = user_create(actor=None, username="manager", password=password, first_name="店长 Manager")
        for store in stores[:2]:
            role_grant_create(actor=None, user=manager, role=Role.MANAGER, store=store)
        hr = user_create(actor=None, username="hr", password=password, first_name="人事 HR")
        role_grant_create(actor=None, user=hr, role=Role.HR)
        user_create(actor=None, username="admin", password=password, first_name="管理员 Admin", is_superuser=True)
        # The lead of the first team and two of its agents log in as themselves; so do one
        # online salesperson and one telesales agent.
        logins = (("lead", members[0]), ("staff1", members[1]), ("staff2", members[2]),
                  ("sales1", members[first_sales + 1]), ("tele1", members[first_tele + 1]))  # fmt: skip
        for username, member in logins:
            user_create(actor=None, username=username, password=password, first_name=member.display_name, member=member)
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
