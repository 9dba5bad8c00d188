"""Shared steps of the appraisal tests."""

import datetime as dt
from decimal import Decimal

from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from reviews.models import AppraisalTemplate, DecisionKind, Dimension, Item, ItemKind, ItemScore, ItemStatus
from reviews.services.cycles import item_decision_set
from teams.selectors.scoping import viewer_get
from tests.factories import AccountAssignmentFactory
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write


def exclude_without_data(cycle, hr_user, reason: str = "No data this month") -> int:
    """HR excludes every KPI item of the cycle that has no data (as it must before finalising);
    the cycle is in manager review or calibration. Returns how many items it excluded."""
    viewer = viewer_get(user=hr_user)
    pending = list(ItemScore.objects.filter(appraisal__cycle=cycle, status=ItemStatus.INSUFFICIENT)
                   .select_related("appraisal__cycle", "item__dimension"))  # fmt: skip
    for score in pending:
        item_decision_set(viewer=viewer, user=hr_user, appraisal=score.appraisal, item=score.item,
                          kind=DecisionKind.EXCLUDE, reason=reason)  # fmt: skip
    return len(pending)


def chats_and_orders(org, tmp_path, rows: list[tuple[str, dt.datetime, str | None]], tag: str) -> None:
    """(account key of the org, when, amount or None): a chat of a new buyer, and an order paid 20
    minutes later unless the amount is None (a chat that sold nothing). Through the importers."""
    chats, orders = [], []
    for n, (key, at, amount) in enumerate(rows):
        account = getattr(org, f"account_{key}") if key != "unassigned" else org.unassigned_s1
        buyer = f"{tag}{key}-{n}"
        chats.append(f"S{tag}{n},{org.s1.name},{account.name},{buyer},{at:%Y-%m-%d %H:%M:%S},"
                     f"{at + dt.timedelta(seconds=20):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
        if amount is not None:
            created = at + dt.timedelta(minutes=20)
            orders.append(f"O{tag}{n},{buyer},{amount},{amount},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                          f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{org.s1.name}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        if not lines:
            continue
        batch = importer(store=None, file=write(tmp_path / f"{tag}{header[:2]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", batch.error_message
        kpis_after_import(batch=batch)


def small_template() -> AppraisalTemplate:
    """Results 80% (GMV against 1,000: linear, half; paid orders: rank in the team, half) and
    attitude 20% (one rating item)."""
    template = AppraisalTemplate.objects.create(name_zh="小模板", name_en="Small template")
    results = Dimension.objects.create(template=template, name_zh="业绩", name_en="Results", weight=Decimal("0.8"))
    attitude = Dimension.objects.create(template=template, name_zh="态度", name_en="Attitude", weight=Decimal("0.2"),
                                        order=1)  # fmt: skip
    Item.objects.create(dimension=results, name_zh="销售额", name_en="GMV", kind=ItemKind.KPI, kpi_key="gmv",
                        rule="linear", floor=Decimal(0), target=Decimal(1000), weight=Decimal("0.5"))  # fmt: skip
    Item.objects.create(dimension=results, name_zh="付款订单排名", name_en="Paid orders rank", kind=ItemKind.KPI,
                        kpi_key="paid_orders", rule="rank", weight=Decimal("0.5"), order=1)  # fmt: skip
    Item.objects.create(dimension=attitude, name_zh="责任心", name_en="Responsibility", kind=ItemKind.RATING,
                        weight=Decimal(1))  # fmt: skip
    return template


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0)


def august_without_data_for_the_lead(org, tmp_path):
    """A sells 3 × 300 in August (and 5,000 on 31 July and on 1 September, outside the month); B
    chats in August and sells nothing; the lead's account (from July) chatted in July only."""
    AccountAssignmentFactory(member=org.lead_x, account=org.unassigned_s1, start_date=dt.date(2026, 7, 1))
    chats_and_orders(org, tmp_path, [
        ("a", at(7, 31), "5000.00"), ("a", at(8, 3), "300.00"), ("a", at(8, 10), "300.00"), ("a", at(8, 20), "300.00"),
        ("a", at(9, 1), "5000.00"), ("b", at(8, 4), None), ("b", at(8, 12), None), ("unassigned", at(7, 20), None),
    ], tag="m")  # fmt: skip
    return org
