"""From an empty database to member KPIs with no other step: the first store, a roster of the
shared generator's accounts, its orders, chats and traffic, all through the API; the KPIs the
spec says add up do add up; the same roster again changes nothing; a roster that moves a member
recomputes only the days from the move.

(The first store is created through the ORM: the store API of the people pages replaces that
step when it exists.)"""

import csv
import datetime as dt
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from metrics.models import Order
from teams.models import ChangeRecord, Member, Platform, Store, TeamMembership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
# ../shared beside the project's root (or beside a folder above it, for a git worktree).
GENERATOR = next(
    (folder / "shared" / "bench" / "make_shop_data.py" for folder in Path(__file__).resolve().parents[3:]
     if (folder / "shared" / "bench" / "make_shop_data.py").exists()),
    None,
)  # fmt: skip
AUGUST = {"grain": "month", "start": "2026-08-01", "end": "2026-08-31"}
MOVE = "2026-08-04"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A small data set of the shared generator: 400 orders, 8 agents over 6 days of August."""
    if GENERATOR is None:
        pytest.skip("the shared generator (../shared/bench/make_shop_data.py) is not beside the project")
    out = tmp_path_factory.mktemp("shop")
    subprocess.run([sys.executable, str(GENERATOR), str(out), "--orders", "400", "--agents", "8", "--days", "6"],
                   check=True, capture_output=True)  # fmt: skip
    return out


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _roster(chats: list[dict], first_store: str, *, moved: bool = False) -> tuple[str, dict]:
    """The roster HR would write for the generator's accounts: one member per account, except that
    the first store's last member uses two; the first store's members split into two teams, each
    with its lead. `moved`: its second member is in the second team from MOVE on."""
    accounts = defaultdict(set)
    for chat in chats:
        accounts[chat["店铺名称"]].add(chat["客服"])
    lines, members, number = [], {}, 0
    for store in sorted(accounts):
        names = sorted(accounts[store])
        groups = [[name] for name in names]
        if store == first_store:
            groups = [*groups[:-2], groups[-2] + groups[-1]]  # the last member uses two accounts
        for index, group in enumerate(groups):
            number += 1
            second = store == first_store and index >= len(groups) // 2
            team = "售前二组" if second or (moved and store == first_store and index == 1) else "售前一组"
            lead = "是" if index == 0 or (store == first_store and index == len(groups) // 2) else "否"
            move = MOVE if moved else ""
            name = f"员工{number:02d}"
            members[name] = (store, team, group)
            lines.append(f"E{number:03d},{name},{store},{team},{'、'.join(group)},2026-07-01,,{lead},,,{move}")
    return "\n".join(["工号,姓名,店铺,团队,子账号,入职日期,离职日期,组长,登录名,邮箱,调动日期", *lines]) + "\n", members


def _upload(api, task_queue, capture, name: str, body: bytes, kind: str) -> dict:
    upload = SimpleUploadedFile(name, body, content_type="text/csv")
    with capture(execute=True):
        response = api.post("/api/imports/batches/", {"file": upload, "kind": kind}, format="multipart")
    assert response.status_code == 201, response.content
    task_queue.run_all()
    batch = api.get(f"/api/imports/batches/{response.json()['id']}/").json()
    assert batch["status"] == "succeeded", (batch, api.get(f"/api/imports/batches/{batch['id']}/errors/").json())
    return batch


def _kpis(api, level: str, **query) -> list[dict]:
    response = api.get("/api/kpis/", {"level": level, "page_size": 1000, **AUGUST, **query})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _money(value) -> Decimal:
    return Decimal(value or "0")


def test_empty_database_roster_then_shop_data_gives_member_kpis(
    shop, api_for, task_queue, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert not Store.objects.exists() and not Member.objects.exists()
    admin = UserFactory(username="admin", is_superuser=True)
    api = api_for(admin)
    chats = _read(shop / "chats.csv")
    sessions = Counter(chat["客服"] for chat in chats)
    per_store = Counter(chat["店铺名称"] for chat in chats)
    first = max(per_store, key=lambda store: len({c["客服"] for c in chats if c["店铺名称"] == store}))
    # Step 1: the company's first store, through the API (the others are named by the roster and
    # created by it). The administrator stands for `createsuperuser` (or the set-up page).
    created = api.post("/api/stores/", {"name": first, "platform": Platform.JD, "time_zone": "Asia/Shanghai",
                                        "attribution_window_hours": 24}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    store_id = created.json()["id"]

    # Step 2: the roster.
    text, members = _roster(chats, first)
    body = text.encode("utf-8-sig")
    batch = _upload(api, task_queue, capture, "花名册.csv", body, "roster")
    assert (batch["inserted"], batch["updated"], batch["unchanged"], batch["rejected"]) == (len(members), 0, 0, 0)
    assert Store.objects.count() == len(per_store)

    # Step 3: the shop's exports, as the generator wrote them.
    for kind in ("orders", "chats", "traffic"):
        _upload(api, task_queue, capture, f"{kind}.csv", (shop / f"{kind}.csv").read_bytes(), kind)

    # Member KPIs: every session belongs to the member who held its account (every account is on
    # the roster), a member with two accounts adds both up, and members' credited GMV and paid
    # orders plus the silent ones are the store's.
    rows = _kpis(api, "member")
    by_name = {row["member_name"]: row for row in rows}
    assert set(by_name) == set(members)
    for name, (_store, _team, accounts) in members.items():
        assert by_name[name]["sessions"] == sum(sessions[a] for a in accounts), name
    assert any(len(accounts) == 2 for _s, _t, accounts in members.values())
    stores = {row["store"]: row for row in _kpis(api, "store")}
    for store in Store.objects.all():
        mine = [row for row in rows if row["store"] == store.name]
        assert sum(row["sessions"] for row in mine) == per_store[store.name]
        unanswered = sum(1 for c in chats if c["店铺名称"] == store.name and not c["首次响应时间"])
        assert sum(row["unanswered_sessions"] for row in mine) == unanswered
        silent = Order.objects.filter(store=store, paid_at__isnull=False, credited_session_id__isnull=True)
        silent_gmv = Decimal(silent.aggregate(cents=Sum("paid_cents"))["cents"] or 0) / 100
        assert sum(_money(row["gmv"]) for row in mine) + silent_gmv == _money(stores[store.name]["gmv"])
        assert sum(row["paid_orders"] for row in mine) + silent.count() == stores[store.name]["paid_orders"]
    # A team's figures are its members'.
    for team in _kpis(api, "team"):
        mine = [row for row in rows if members[row["member_name"]][1] == team["team_name"]
                and row["store"] == team["store"]]  # fmt: skip
        assert _money(team["gmv"]) == sum(_money(row["gmv"]) for row in mine)
        assert team["sessions"] == sum(row["sessions"] for row in mine)

    # The same roster again changes nothing, and recomputes nothing.
    records = ChangeRecord.objects.count()
    batch = _upload(api, task_queue, capture, "花名册.csv", body, "roster")
    assert (batch["inserted"], batch["updated"], batch["unchanged"]) == (0, 0, len(members))
    assert ChangeRecord.objects.count() == records
    assert "kpis_recompute_range_task" not in task_queue.names()

    # A roster that moves the first store's second member to the second team from MOVE: those
    # days only are recomputed; the member's own figures (their credit) do not move.
    daily = {"grain": "day", "start": "2026-08-01", "end": "2026-08-31", "store": store_id}
    before = {(r["team_name"], r["period_start"]): r for r in _kpis(api, "team", **daily)}
    mover = sorted(name for name, (store, _t, _a) in members.items() if store == first)[1]
    moved_text, _members = _roster(chats, first, moved=True)
    with capture(execute=True):
        upload = SimpleUploadedFile("调动.csv", moved_text.encode("utf-8-sig"), content_type="text/csv")
        response = api.post("/api/imports/batches/", {"file": upload, "kind": "roster"}, format="multipart")
    task, args, kwargs = task_queue.calls.pop(0)  # the import, run as a worker would
    with capture(execute=True):
        task(*args, **kwargs)
    # To the store's last day with data (the recompute is cut to it): its last order's or chat's.
    orders = _read(shop / "orders.csv")
    last_day = max(
        *(c["咨询时间"][:10] for c in chats if c["店铺名称"] == first),
        *(o["订单创建时间"][:10] for o in orders if o["店铺名称"] == first),
    )
    assert task_queue.of("kpis_recompute_range_task") == [(store_id, MOVE, last_day, False)]
    task_queue.run_all()
    batch = api.get(f"/api/imports/batches/{response.json()['id']}/").json()
    assert (batch["inserted"], batch["updated"], batch["unchanged"]) == (0, 1, len(members) - 1)
    history = TeamMembership.objects.filter(member__display_name=mover).order_by("start_date")
    assert list(history.values_list("team__name", "start_date", "end_date")) == [
        ("售前一组", dt.date(2026, 7, 1), dt.date(2026, 8, 3)),
        ("售前二组", dt.date(2026, 8, 4), None),
    ]
    after = {(r["team_name"], r["period_start"]): r for r in _kpis(api, "team", **daily)}
    mover_days = {r["period_start"]: r for r in _kpis(api, "member", **daily) if r["member_name"] == mover}
    assert any(day >= MOVE and _money(row["gmv"]) for day, row in mover_days.items())
    for key in before.keys() | after.keys():
        team, day = key
        if day < MOVE:  # the days before the move are exactly as they were
            assert after.get(key) == before.get(key), key
            continue
        delta = _money(mover_days[day]["gmv"]) if day in mover_days else Decimal(0)
        expected = _money(before.get(key, {}).get("gmv")) + (delta if team == "售前二组" else -delta)
        assert _money(after.get(key, {}).get("gmv")) == expected, key
    assert _kpis(api, "member") == rows  # the credit names a member, not a team: unchanged
