"""Demo shop exports: what the demo organisation's stores would download from their platform.

Written as real export files (Taobao-style Chinese headers, UTF-8 with BOM) and imported through
the importers, so the demo exercises the same path as a real shop. Deterministic for a seed.

The model, in short: each agent has a conversion skill, a reply speed and a price tendency;
buyers are mostly one-off with a loyal core; a chat converts more often when answered fast; an
order follows its chat within hours; about a third of orders come without a chat (silent).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ORDER_HEADER = [
    "订单编号", "买家会员名", "买家应付货款", "买家实际支付金额", "订单状态", "订单创建时间",
    "订单付款时间", "宝贝标题", "宝贝种类", "宝贝总数量", "退款金额", "店铺名称",
]  # fmt: skip
CHAT_HEADER = [
    "会话ID",
    "店铺名称",
    "客服",
    "买家会员名",
    "咨询时间",
    "首次响应时间",
    "结束时间",
    "买家消息数",
    "客服消息数",
]
TRAFFIC_HEADER = ["日期", "店铺名称", "流量来源", "访客数", "浏览量", "加购人数"]
CHANNELS = [("手淘搜索", 0.4), ("直通车", 0.15), ("手淘推荐", 0.25), ("直播", 0.12), ("其他", 0.08)]
ITEMS = {
    "未来衣橱旗舰店": ["连衣裙", "针织开衫", "羊毛大衣", "真丝衬衫"],
    "衣衣风尚专营店": ["牛仔裤", "卫衣", "羽绒服", "半身裙"],
    "Mirror Home Store": ["香薰蜡烛", "家居抱枕", "陶瓷花瓶", "床品四件套"],
}
TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class DemoFiles:
    orders: Path
    chats: Path
    traffic: Path


def demo_exports_write(
    *,
    out_dir: Path,
    accounts_by_store: dict[str, list[str]],
    last_day: dt.date,
    days: int = 90,
    orders: int = 50_000,
    seed: int = 2026,
) -> DemoFiles:
    """Write orders.csv, chats.csv and traffic.csv for the given stores and agent accounts."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    stores = list(accounts_by_store)
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time())

    agents = [(store, name) for store in stores for name in accounts_by_store[store]]
    agent_store = np.array([stores.index(store) for store, _ in agents])
    skill = np.clip(rng.normal(0.45, 0.13, len(agents)), 0.12, 0.85)  # chance a fast-answered chat converts
    speed = np.exp(rng.normal(np.log(20), 0.55, len(agents)))  # typical first response, seconds
    price = np.exp(rng.normal(0, 0.2, len(agents)))  # some agents sell dearer baskets
    # Evening-heavy day: quiet at night, busy late morning, afternoon and evening.
    hours = np.arange(24)
    hour_p = 0.1 + np.exp(-((hours - 10) ** 2) / 5) + 0.8 * np.exp(-((hours - 15) ** 2) / 6)
    hour_p += 1.4 * np.exp(-((hours - 21) ** 2) / 4)
    hour_p[:7] *= 0.2
    hour_p /= hour_p.sum()

    n_buyers = int(orders * 0.6)
    buyer_store = rng.integers(0, len(stores), n_buyers)
    loyalty = rng.pareto(1.5, n_buyers) + 1
    loyalty /= loyalty.sum()

    def moments(count: int) -> np.ndarray:
        day = rng.integers(0, days, count)
        second = rng.choice(24, count, p=hour_p) * 3600 + rng.integers(0, 3600, count)
        return np.datetime64(start) + (day * 86400 + second).astype("timedelta64[s]")

    n_chats = int(orders * 1.4)
    chat_buyer = rng.choice(n_buyers, n_chats, p=loyalty)
    chat_store = buyer_store[chat_buyer]
    chat_agent = np.empty(n_chats, dtype=np.int64)
    for index in range(len(stores)):
        mine = np.flatnonzero(agent_store == index)
        rows = np.flatnonzero(chat_store == index)
        chat_agent[rows] = rng.choice(mine, rows.size)
    chat_at = moments(n_chats)
    reply = rng.exponential(1.0, n_chats) * speed[chat_agent]
    unanswered = rng.random(n_chats) < 0.02
    converts = ~unanswered & (rng.random(n_chats) < skill[chat_agent] * np.exp(-reply / 200))
    converted = np.flatnonzero(converts)[: int(orders * 0.7)]

    n_silent = orders - converted.size
    order_buyer = np.concatenate([chat_buyer[converted], rng.choice(n_buyers, n_silent, p=loyalty)])
    lag = rng.exponential(2 * 3600, converted.size).clip(60, 22 * 3600).astype("int64")
    order_at = np.concatenate([chat_at[converted] + lag.astype("timedelta64[s]"), moments(n_silent)])
    order_bias = np.concatenate([price[chat_agent[converted]], np.ones(n_silent)])
    quantity = 1 + rng.poisson(0.5, orders)
    unit_cents = np.round(np.exp(rng.normal(np.log(180), 0.55, orders)) * order_bias * 100).astype("int64")
    payable = unit_cents * quantity
    paid = payable - (payable * rng.choice([0, 0, 0, 5, 10, 15], orders) // 100)
    roll = rng.random(orders)
    status = np.select(
        [roll < 0.05, roll < 0.11, roll < 0.18, roll < 0.22],
        ["等待买家付款", "交易关闭", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货"],
        "交易成功",
    )
    closed_unpaid = (status == "交易关闭") & (rng.random(orders) < 0.5)
    unpaid = (status == "等待买家付款") | closed_unpaid
    refund = np.where((status == "交易成功") & (rng.random(orders) < 0.06), paid // 2, 0)
    refund = np.where((status == "交易关闭") & ~closed_unpaid, paid, refund)
    pay_delay = rng.integers(10, 1200, orders).astype("timedelta64[s]")
    # Orders after the last day (a late chat's order) fall outside the export: drop them.
    keep = order_at < np.datetime64(start + dt.timedelta(days=days))
    order_ids = 4_100_000_000_000_000 + np.arange(orders) * 7_919 + 17

    files = DemoFiles(out_dir / "orders.csv", out_dir / "chats.csv", out_dir / "traffic.csv")
    with files.orders.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORDER_HEADER)
        for i in np.flatnonzero(keep)[np.argsort(order_at[keep], kind="stable")]:
            store = stores[buyer_store[order_buyer[i]]]
            created = order_at[i].astype(dt.datetime)
            paid_at = "" if unpaid[i] else (order_at[i] + pay_delay[i]).astype(dt.datetime).strftime(TIME)
            writer.writerow(
                [
                    order_ids[i],
                    f"demo_{order_buyer[i]:06d}",
                    _yuan(payable[i]),
                    _yuan(0 if unpaid[i] else paid[i]),
                    status[i],
                    created.strftime(TIME),
                    paid_at,
                    ITEMS[store][i % 4],
                    1,
                    quantity[i],
                    _yuan(refund[i]),
                    store,
                ]
            )
    with files.chats.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHAT_HEADER)
        for rank, i in enumerate(np.argsort(chat_at, kind="stable"), start=1):
            begun = chat_at[i].astype(dt.datetime)
            first = "" if unanswered[i] else (begun + dt.timedelta(seconds=float(reply[i]))).strftime(TIME)
            store, account = agents[chat_agent[i]]
            ended = (begun + dt.timedelta(seconds=60 + float(rng.exponential(400)))).strftime(TIME)
            writer.writerow(
                [
                    f"D{rank:08d}",
                    store,
                    account,
                    f"demo_{chat_buyer[i]:06d}",
                    begun.strftime(TIME),
                    first,
                    ended,
                    int(rng.integers(1, 20)),
                    0 if unanswered[i] else int(rng.integers(1, 25)),
                ]
            )
    with files.traffic.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRAFFIC_HEADER)
        per_store_day = orders / days / len(stores)
        for day in range(days):
            date = (first_day + dt.timedelta(days=day)).isoformat()
            for store in stores:
                for channel, share in CHANNELS:
                    uv = int(per_store_day / 0.035 * share * rng.uniform(0.8, 1.2))
                    writer.writerow(
                        [
                            date,
                            store,
                            channel,
                            uv,
                            int(uv * rng.uniform(2.0, 3.5)),
                            int(uv * rng.uniform(0.05, 0.11)),
                        ]
                    )
    return files


def _yuan(cents: int) -> str:
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"


# --- online sales and telesales: a CRM's stage log and a call centre's call records ----------

LEAD_HEADER = [
    "线索编号", "店铺名称", "负责人", "客户名称", "线索来源", "阶段", "阶段变更时间", "创建时间",
    "金额", "指导价", "回款金额", "产品", "是否新品", "预计成交日期", "丢单原因",
]  # fmt: skip
CALL_HEADER = ["通话ID", "店铺名称", "坐席", "呼叫时间", "客户号码", "呼叫类型", "是否接通", "通话时长(秒)"]
LEAD_SOURCES = {
    "online_sales": ["官网表单", "直播间留资", "老客转介绍", "企业团购咨询"],
    "telesales": ["电话外呼", "老客转介绍"],
}
# (product, guide price in yuan, new product?)
PRODUCTS = [("企业定制工服", 12_000, False), ("年会礼品套装", 6_800, False), ("节日福利礼盒", 3_600, False),
            ("环保面料团服", 9_500, True), ("智能温控羽绒服", 15_800, True)]  # fmt: skip
LOST_REASONS = ["价格超出预算", "选择了竞品", "需求取消", "交期不满足", "联系不上"]
CUSTOMER_PARTS = (["华", "瑞", "博", "嘉", "恒", "鑫", "优", "创"], ["信", "达", "远", "诚", "科", "美", "联"],
                  ["科技", "贸易", "教育", "医疗", "物流"])  # fmt: skip
STAGE_TEXT = {"lead": "线索", "intent": "意向", "negotiation": "谈判", "won": "成单", "lost": "丢单"}


@dataclass(frozen=True)
class DemoPipelineFiles:
    leads: Path
    calls: Path


def demo_pipeline_exports_write(
    *,
    out_dir: Path,
    store: str,
    owners: dict[str, list[str]],
    last_day: dt.date,
    days: int = 90,
    seed: int = 2027,
    call_share: float = 1.0,
) -> DemoPipelineFiles:
    """Write leads.csv (the CRM's stage log: one row per stage change, oldest first, so the last
    row of a lead is where it stands) and calls.csv for one store's sales accounts.

    `owners`: {"online_sales": [account, ...], "telesales": [account, ...]}. The model, in short:
    each salesperson has a skill; leads move lead → intent → negotiation → won or lost with
    delays of days; the longer a deal sits in negotiation, the likelier it is lost (seed 001: 80%
    beyond 7 days); some deals are still open, a few of them stuck, on the last day. Telesales
    dial about 80 numbers a working day (× `call_share`, for a smaller demo), a third connect."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time())
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time())  # exclusive
    files = DemoPipelineFiles(out_dir / "leads.csv", out_dir / "calls.csv")

    def working_moment(day: int) -> dt.datetime:
        """A moment of a working day: 9:00–18:00, busiest around 10:00 and 15:00."""
        hour = rng.choice([9, 10, 10, 11, 11, 14, 14, 15, 15, 16, 17])
        return start + dt.timedelta(days=int(day), hours=int(hour), seconds=int(rng.integers(0, 3600)))

    rows: list[tuple[dt.datetime, list]] = []
    number = 0
    for kind, accounts in owners.items():
        per_day = 2.2 if kind == "online_sales" else 1.6  # new leads per person and working day
        for account in accounts:
            skill = float(np.clip(rng.normal(0.5, 0.12), 0.25, 0.8))
            for day in range(days):
                if (first_day + dt.timedelta(days=day)).weekday() == 6:
                    continue
                for _ in range(rng.poisson(per_day)):
                    number += 1
                    product, guide, new = PRODUCTS[int(rng.integers(0, len(PRODUCTS)))]
                    amount = int(guide * 100 * rng.uniform(0.82, 1.03) * (1 + rng.poisson(1.5)))
                    quantity = max(1, round(amount / (guide * 100)))
                    guide_cents = guide * 100 * quantity
                    moment = working_moment(day)
                    path = [("lead", moment)]
                    if rng.random() < 0.35 + 0.3 * skill:
                        moment += dt.timedelta(days=float(rng.exponential(2.0)) + 0.2)
                        path.append(("intent", moment))
                        if rng.random() < 0.45 + 0.3 * skill:
                            moment += dt.timedelta(days=float(rng.exponential(3.0)) + 0.5)
                            path.append(("negotiation", moment))
                            stay = float(rng.exponential(5.0)) + 0.5
                            win = (0.75 if stay <= 7 else 0.2) * (0.6 + skill * 0.6)
                            moment += dt.timedelta(days=stay)
                            path.append(("won" if rng.random() < win else "lost", moment))
                    path = [(stage, at) for stage, at in path if at < end]
                    created = path[0][1]
                    customer = "".join(str(rng.choice(part)) for part in CUSTOMER_PARTS) + "有限公司"
                    collected = int(amount * rng.choice([1.0, 1.0, 0.8, 0.5])) if path[-1][0] == "won" else None
                    for stage, at in path:
                        rows.append(
                            (
                                at,
                                [
                                    f"XS{number:06d}", store, account, customer, rng.choice(LEAD_SOURCES[kind]),
                                    STAGE_TEXT[stage], at.strftime(TIME), created.strftime(TIME), _yuan(amount),
                                    _yuan(guide_cents), _yuan(collected) if stage == "won" and collected else "",
                                    product, "是" if new else "否",
                                    (created + dt.timedelta(days=30)).strftime("%Y-%m-%d"),
                                    rng.choice(LOST_REASONS) if stage == "lost" else "",
                                ],
                            )
                        )  # fmt: skip
    rows.sort(key=lambda row: row[0])
    with files.leads.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEAD_HEADER)
        writer.writerows(row for _at, row in rows)

    with files.calls.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CALL_HEADER)
        serial = 0
        for kind, accounts in owners.items():
            dials_per_day = (80 if kind == "telesales" else 12) * call_share
            for account in accounts:
                reach = float(np.clip(rng.normal(0.33, 0.07), 0.15, 0.55))
                talk = float(np.exp(rng.normal(np.log(150), 0.25)))  # typical connected call, seconds
                for day in range(days):
                    if (first_day + dt.timedelta(days=day)).weekday() == 6:
                        continue
                    calls = [("呼出", working_moment(day)) for _ in range(rng.poisson(dials_per_day))]
                    calls += [("呼入", working_moment(day)) for _ in range(rng.poisson(3 * call_share))]
                    for direction, moment in sorted(calls, key=lambda call: call[1]):
                        serial += 1
                        # Mornings connect better than late afternoons (people at their desks).
                        connected = direction == "呼入" or rng.random() < reach * (1.2 if moment.hour < 12 else 0.85)
                        seconds = int(rng.exponential(talk)) + 5 if connected else 0
                        writer.writerow(
                            [
                                f"H{serial:08d}", store, account, moment.strftime(TIME),
                                f"1{rng.integers(30, 99)}****{rng.integers(0, 10000):04d}", direction,
                                "是" if connected else "否", seconds,
                            ]
                        )  # fmt: skip
    return files
