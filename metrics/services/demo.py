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
