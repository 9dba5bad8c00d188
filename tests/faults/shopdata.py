"""Deterministic shop exports for the fault tests: one store, agents with accounts, chats and orders.

The same arguments always give the same files, so an interrupted run and an uninterrupted run are
compared on identical data.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER

STORE = "故障演练旗舰店"
AGENTS = "ABCDEFGH"


def account_name(agent: str) -> str:
    return f"故障演练:客服{agent}"


def shop_create(*, start: dt.date):
    """The store, a team and one member per agent, each on an account of the store since `start`."""
    from tests.factories import (
        AccountAssignmentFactory,
        MemberFactory,
        PlatformAccountFactory,
        StoreFactory,
        TeamFactory,
        TeamMembershipFactory,
    )

    store = StoreFactory(name=STORE)
    team = TeamFactory(store=store, name="售前")
    for agent in AGENTS:
        member = MemberFactory(display_name=f"Agent {agent}")
        TeamMembershipFactory(member=member, team=team, start_date=start)
        account = PlatformAccountFactory(store=store, name=account_name(agent))
        AccountAssignmentFactory(account=account, member=member, start_date=start)
    return store


def exports_write(folder: Path, *, orders: int, start: dt.date, days: int, seed: int = 10) -> tuple[Path, Path]:
    """chats.csv and orders.csv: about one chat per order, most orders preceded by a chat of their
    buyer within the attribution window, some silent; paid, unpaid and refunded orders."""
    rng = random.Random(seed)
    buyers = [f"tb_{n:06d}" for n in range(max(50, orders // 3))]
    chats, order_lines = [CHAT_HEADER], [ORDER_HEADER]
    base = dt.datetime.combine(start, dt.time(8))
    for n in range(orders):
        buyer = rng.choice(buyers)
        at = base + dt.timedelta(days=rng.randrange(days), seconds=rng.randrange(14 * 3600))
        if rng.random() < 0.8:  # a chat before the order: a converted inquiry of that agent
            chat_at = at - dt.timedelta(minutes=rng.randrange(5, 600))
            answered = (
                ""
                if rng.random() < 0.05
                else f"{chat_at + dt.timedelta(seconds=rng.randrange(3, 400)):%Y-%m-%d %H:%M:%S}"
            )
            chats.append(
                f"C{n:08d},{STORE},{account_name(rng.choice(AGENTS))},{buyer},{chat_at:%Y-%m-%d %H:%M:%S},{answered},,{rng.randrange(1, 9)},{rng.randrange(1, 9)}"
            )
        unpaid = rng.random() < 0.1
        paid = Decimal(rng.randrange(990, 99900)) / 100
        refund = paid if not unpaid and rng.random() < 0.05 else Decimal("0.00")
        paid_at = "" if unpaid else f"{at + dt.timedelta(minutes=3):%Y-%m-%d %H:%M:%S}"
        status = "等待买家付款" if unpaid else "交易成功"
        order_lines.append(
            f"O{n:08d},{buyer},{paid},{'0.00' if unpaid else paid},{status},{at:%Y-%m-%d %H:%M:%S},{paid_at},连衣裙,1,{rng.randrange(1, 4)},{refund},{STORE}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    chats_path, orders_path = folder / "chats.csv", folder / "orders.csv"
    chats_path.write_text("\n".join(chats) + "\n", encoding="utf-8-sig")
    orders_path.write_text("\n".join(order_lines) + "\n", encoding="utf-8-sig")
    return chats_path, orders_path


def orders_totals(path: Path) -> tuple[int, int]:
    """(rows, sum of the paid amounts in cents) of an orders.csv written by exports_write."""
    rows, cents = 0, 0
    for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
        rows += 1
        cents += int(Decimal(line.split(",")[3]) * 100)
    return rows, cents


def orders_write(path: Path, *, orders: int, start: dt.date, days: int, seed: int = 11) -> Path:
    """An order report of `orders` rows of the store, nothing else (the import tests)."""
    rng = random.Random(seed)
    base = dt.datetime.combine(start, dt.time(8))
    lines = [ORDER_HEADER]
    for n in range(orders):
        at = base + dt.timedelta(days=rng.randrange(days), seconds=rng.randrange(14 * 3600))
        paid = Decimal(rng.randrange(990, 99900)) / 100
        lines.append(
            f"P{n:08d},tb_{rng.randrange(orders // 3 + 1):06d},{paid},{paid},交易成功,{at:%Y-%m-%d %H:%M:%S},{at + dt.timedelta(minutes=3):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{STORE}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def rollups_snapshot() -> dict[str, list[tuple]]:
    """Every row a recompute writes (the four rollups, the RFM summary, the orders' credit),
    without ids and timestamps, in a stable order."""
    from metrics.models import BuyerSegmentCount, InquiryBuyerDay, MemberDay, Order, StoreBuyerDay, StoreDay

    rows = {}
    for model in (MemberDay, InquiryBuyerDay, StoreDay, StoreBuyerDay, BuyerSegmentCount):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "computed_at")]
        rows[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    rows["Order credit"] = sorted(
        Order.objects.values_list(
            "order_id", "credited_session_id", "credited_account_id", "credited_member_id", "credited_date"
        ),
        key=repr,
    )
    return rows


def facts_only() -> None:
    """Back to the imported facts: everything a recompute derives is gone and must be rebuilt."""
    from metrics.models import BuyerSegmentCount, InquiryBuyerDay, MemberDay, Order, StoreBuyerDay, StoreDay

    for model in (MemberDay, InquiryBuyerDay, StoreDay, StoreBuyerDay, BuyerSegmentCount):
        model.objects.all().delete()
    Order.objects.update(
        credited_session_id=None, credited_account_id=None, credited_member_id=None, credited_date=None
    )
