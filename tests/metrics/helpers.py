"""Small export files for the import tests, and a shop that imports them through the services."""

import datetime as dt
from pathlib import Path

from metrics.importing.services import chats_import, orders_import
from metrics.kpis.selectors import kpi_table
from metrics.kpis.services import kpis_after_import
from teams.models import Store
from tests.factories import (
    AccountAssignmentFactory,
    MemberFactory,
    PlatformAccountFactory,
    TeamFactory,
    TeamMembershipFactory,
)

ORDER_HEADER = "订单编号,买家会员名,买家应付货款,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝种类,宝贝总数量,退款金额,店铺名称"
CHAT_HEADER = "会话ID,店铺名称,客服,买家会员名,咨询时间,首次响应时间,结束时间,买家消息数,客服消息数"


def write(path: Path, lines: list[str], encoding: str = "utf-8-sig") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def order_line(order_id, buyer="tb_1", paid="100.00", status="交易成功", created="2026-08-01 10:00:00",
               paid_at="2026-08-01 10:05:00", refund="0.00", store="未来衣橱旗舰店", items="1") -> str:  # fmt: skip
    return f"{order_id},{buyer},{paid},{paid},{status},{created},{paid_at},连衣裙,1,{items},{refund},{store}"


AUGUST = (dt.date(2026, 8, 1), dt.date(2026, 8, 31))


class Shop:
    """A store with a team, agents A–D (each with one account) and export lines to import."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.store = Store.objects.create(name="衣衣风尚专营店")
        self.team = TeamFactory(store=self.store, name="售前")
        self.members, self.accounts = {}, {}
        for name in "ABCD":
            member = MemberFactory(display_name=f"Agent {name}")
            TeamMembershipFactory(member=member, team=self.team, start_date=dt.date(2026, 1, 1))
            account = PlatformAccountFactory(store=self.store, name=f"衣衣风尚:客服{name}")
            AccountAssignmentFactory(account=account, member=member, start_date=dt.date(2026, 1, 1))
            self.members[name], self.accounts[name] = member, account
        self.chats, self.orders = [], []
        self.serial = 0

    def chat(self, agent: str, buyer: str, at: dt.datetime, answered_after_s: int | None = 20) -> str:
        self.serial += 1
        session = f"S{self.serial:07d}"
        first = (
            ""
            if answered_after_s is None
            else (at + dt.timedelta(seconds=answered_after_s)).strftime("%Y-%m-%d %H:%M:%S")
        )
        self.chats.append(
            f"{session},{self.store.name},{self.accounts[agent].name},{buyer},{at:%Y-%m-%d %H:%M:%S},{first},,3,4"
        )
        return session

    def order(
        self, buyer: str, at: dt.datetime, paid: str, refund: str = "0.00", items: int = 1, unpaid: bool = False
    ) -> str:
        self.serial += 1
        order_id = f"O{self.serial:07d}"
        paid_at = "" if unpaid else (at + dt.timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S")
        status = "等待买家付款" if unpaid else "交易成功"
        self.orders.append(
            f"{order_id},{buyer},{paid},{'0.00' if unpaid else paid},{status},{at:%Y-%m-%d %H:%M:%S},{paid_at},连衣裙,1,{items},{refund},{self.store.name}"
        )
        return order_id

    def load(self):
        """Import what was written so far, through the importers and the after-import recompute."""
        batches = []
        if self.chats:
            path = write(self.tmp_path / f"chats{self.serial}.csv", [CHAT_HEADER, *self.chats])
            batches.append(chats_import(store=None, file=path, user=None))
        if self.orders:
            path = write(self.tmp_path / f"orders{self.serial}.csv", [ORDER_HEADER, *self.orders])
            batches.append(orders_import(store=None, file=path, user=None))
        for batch in batches:
            assert batch.status == "succeeded", (
                batch.error_message,
                list(batch.row_errors.values_list("line", "reason")[:5]),
            )
            kpis_after_import(batch=batch)
        self.chats, self.orders = [], []

    def table(self, level="member", grain="range", start=AUGUST[0], end=AUGUST[1]):
        return kpi_table(level=level, grain=grain, start=start, end=end, store_ids=[self.store.pk])

    def row(self, agent: str, **kwargs) -> dict:
        table = self.table(**kwargs)
        rows = table.loc[table["entity_id"] == self.members[agent].pk].to_dict("records")
        assert len(rows) == 1, rows
        return rows[0]
