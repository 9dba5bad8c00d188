"""An independent check: the spec implemented plainly in pandas, straight from the generator's
CSV files, against the product's export (importers → attribution → rollups → export_kpis).

Attribution here is a join of every order with every session of its buyer, filtered to the
window and sorted: a different method from the product's merge_asof, on purpose."""

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from metrics.importing.services import chats_import, orders_import, traffic_import
from metrics.kpis.services import kpis_recompute_store_full
from metrics.registry import kpis_for
from teams.models import AccountAssignment, Member, PlatformAccount, Store, Team, TeamMembership

pytestmark = pytest.mark.django_db
WINDOW = pd.Timedelta(hours=24)


def _spec_member_day(orders: pd.DataFrame, chats: pd.DataFrame) -> pd.DataFrame:
    pairs = orders.merge(chats, on=["store", "buyer"], suffixes=("", "_chat"))
    pairs = pairs[(pairs["started"] <= pairs["created"]) & (pairs["started"] >= pairs["created"] - WINDOW)]
    pairs = pairs.assign(tie=pairs["session"].str.zfill(64)).sort_values(["order_id", "started", "tie"])
    credit = pairs.groupby(["store", "order_id"]).tail(1)[["store", "order_id", "session", "account", "day"]]
    credited = orders.merge(credit, on=["store", "order_id"])
    paid = credited[credited["paid"]]
    rows = []
    store_gmv = orders[orders["paid"]].groupby(["store", "created_day"])["paid_cents"].sum()
    for (store, account, day), group in chats.groupby(["store", "account", "day"]):
        mine = credited[(credited["account"] == account) & (credited["day"] == day)]
        mine_paid = paid[(paid["account"] == account) & (paid["day"] == day)]
        answered = group[group["first"].notna()]
        gmv = int(mine_paid["paid_cents"].sum())
        n_paid, buyers = len(mine_paid), group["buyer"].nunique()
        paying = mine_paid["buyer"].nunique()
        row = {
            "store": store, "member_name": account, "period_start": day.isoformat(),
            "sessions": len(group), "inquiring_buyers": buyers, "unanswered_sessions": len(group) - len(answered),
            "avg_first_response_s": (answered["first"] - answered["started"]).dt.total_seconds().mean() if len(answered) else None,
            "ordered_buyers": mine["buyer"].nunique(), "paid_buyers": paying, "paid_orders": n_paid,
            "gmv": gmv, "refund_amount": int(mine_paid["refund_cents"].sum()),
            "inquiry_to_order_rate": mine["buyer"].nunique() / buyers, "inquiry_to_payment_rate": paying / buyers,
            "aov": gmv / n_paid if n_paid else None, "per_buyer_value": gmv / paying if paying else None,
            "refund_order_rate": (mine_paid["refund_cents"] > 0).sum() / n_paid if n_paid else None,
            "items_per_order": mine_paid["items"].sum() / n_paid if n_paid else None,
            "sales_share": gmv / store_gmv.get((store, day), 0) if store_gmv.get((store, day), 0) else None,
            "working_days": 1, "orders_per_working_day": n_paid, "gmv_per_working_day": gmv,
        }  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _spec_store_month(orders: pd.DataFrame, chats: pd.DataFrame, traffic: pd.DataFrame, month: dt.date) -> pd.DataFrame:
    rows = []
    in_month = lambda days: days.map(lambda d: (d.year, d.month) == (month.year, month.month))  # noqa: E731
    pairs = orders.merge(chats, on=["store", "buyer"], suffixes=("", "_chat"))
    pairs = pairs[(pairs["started"] <= pairs["created"]) & (pairs["started"] >= pairs["created"] - WINDOW)]
    credited_ids = set(zip(pairs["store"], pairs["order_id"], strict=True))
    for store in sorted(orders["store"].unique()):
        o = orders[(orders["store"] == store) & in_month(orders["created_day"])]
        paid = o[o["paid"]]
        t = traffic[(traffic["store"] == store) & in_month(traffic["day"])]
        c = chats[(chats["store"] == store) & in_month(chats["day"])]
        all_paid = orders[(orders["store"] == store) & orders["paid"]]
        first_paid = all_paid.groupby("buyer")["created_day"].min()
        paying = paid["buyer"].unique()
        per_buyer = paid.groupby("buyer").size()
        gmv, uv = int(paid["paid_cents"].sum()), int(t["uv"].sum())
        silent = paid[[(store, oid) not in credited_ids for oid in paid["order_id"]]]
        returning = sum(1 for b in paying if first_paid[b] < month)
        rows.append({
            "store": store, "period_start": month.isoformat(), "uv": uv, "pv": int(t["pv"].sum()),
            "cart_adds": int(t["cart_adds"].sum()), "orders_placed": len(o), "paid_orders": len(paid),
            "paying_buyers": len(paying), "gmv": gmv, "refund_amount": int(paid["refund_cents"].sum()),
            "net_sales": gmv - int(paid["refund_cents"].sum()), "aov": gmv / len(paid) if len(paid) else None,
            "silent_gmv_share": silent["paid_cents"].sum() / gmv if gmv else None,
            "inquiring_buyers": c["buyer"].nunique(), "inquiry_rate": c["buyer"].nunique() / uv if uv else None,
            "uv_to_paid_conversion": len(paying) / uv if uv else None,
            "repeat_buyers": int((per_buyer >= 2).sum()), "repeat_rate": (per_buyer >= 2).sum() / len(paying) if len(paying) else None,
            "returning_buyers": returning, "returning_rate": returning / len(paying) if len(paying) else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _read(shop_files):
    def cents(text: pd.Series) -> pd.Series:
        return (text.map(Decimal) * 100).astype(int)

    orders = pd.read_csv(shop_files / "orders.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    orders = pd.DataFrame({
        "store": orders["店铺名称"], "order_id": orders["订单编号"], "buyer": orders["买家会员名"],
        "created": pd.to_datetime(orders["订单创建时间"]), "paid": orders["订单付款时间"] != "",
        "paid_cents": cents(orders["买家实际支付金额"]), "refund_cents": cents(orders["退款金额"]),
        "items": orders["宝贝总数量"].astype(int),
    })  # fmt: skip
    orders["created_day"] = orders["created"].dt.date
    chats = pd.read_csv(shop_files / "chats.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    chats = pd.DataFrame({
        "store": chats["店铺名称"], "session": chats["会话ID"], "account": chats["客服"], "buyer": chats["买家会员名"],
        "started": pd.to_datetime(chats["咨询时间"]), "first": pd.to_datetime(chats["首次响应时间"].replace("", None)),
    })  # fmt: skip
    chats["day"] = chats["started"].dt.date
    traffic = pd.read_csv(shop_files / "traffic.csv", dtype=str, encoding="utf-8-sig")
    traffic = pd.DataFrame({
        "store": traffic["店铺名称"], "day": pd.to_datetime(traffic["日期"]).dt.date, "uv": traffic["访客数"].astype(int),
        "pv": traffic["浏览量"].astype(int), "cart_adds": traffic["加购人数"].astype(int),
    })  # fmt: skip
    return orders, chats, traffic


def _product(shop_files, tmp_path):
    for importer, name in ((orders_import, "orders"), (chats_import, "chats"), (traffic_import, "traffic")):
        assert importer(store=None, file=shop_files / f"{name}.csv", user=None).status == "succeeded"
    # Every account is one member, named after it, in one team of its store.
    for account in PlatformAccount.objects.select_related("store"):
        team, _ = Team.objects.get_or_create(store=account.store, name="客服")
        member = Member.objects.create(display_name=account.name)
        TeamMembership.objects.create(member=member, team=team, start_date=dt.date(2020, 1, 1))
        AccountAssignment.objects.create(account=account, member=member, start_date=dt.date(2020, 1, 1))
    for store in Store.objects.all():
        kpis_recompute_store_full(store=store)

    def export(*args) -> pd.DataFrame:
        out = tmp_path / "export.csv"
        call_command("export_kpis", *args, "--start", "2026-07-01", "--end", "2026-09-30", "--out", str(out))
        return pd.DataFrame(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))))

    return export


def _compare(expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str], columns: list[str], money: set[str]):
    merged = expected.merge(actual, on=keys, how="outer", suffixes=("_spec", "_product"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", keys]
    for column in columns:
        for spec, product in zip(merged[f"{column}_spec"], merged[f"{column}_product"], strict=True):
            missing = spec is None or (isinstance(spec, float) and np.isnan(spec))
            if missing:
                assert product == "", (column, spec, product)
            elif column in money:  # cents → yuan, rounded half up to the cent
                expected_yuan = (Decimal(repr(float(spec))) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                assert Decimal(product) == expected_yuan, (column, spec, product)
            else:
                assert float(product) == pytest.approx(float(spec), rel=1e-6, abs=1e-6), (column, spec, product)


def test_member_day_and_store_month_match_a_plain_pandas_reading_of_the_spec(shop_files, tmp_path):
    orders, chats, traffic = _read(shop_files)
    export = _product(shop_files, tmp_path)
    money_member = {"gmv", "refund_amount", "aov", "per_buyer_value", "gmv_per_working_day"}
    member_columns = [k.key for k in kpis_for("member", spec_only=True)]
    _compare(
        _spec_member_day(orders, chats), export("--level", "member", "--grain", "day"),
        ["store", "member_name", "period_start"], member_columns, money_member,
    )  # fmt: skip
    store_columns = [k.key for k in kpis_for("store", spec_only=True)]
    months = sorted({d.replace(day=1) for d in orders["created_day"]})
    expected = pd.concat([_spec_store_month(orders, chats, traffic, month) for month in months])
    _compare(
        expected, export("--level", "store", "--grain", "month"), ["store", "period_start"], store_columns,
        {"gmv", "refund_amount", "net_sales", "aov"},
    )  # fmt: skip
