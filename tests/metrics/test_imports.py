"""The import service: formats, values, errors, idempotence, concurrency, streaming."""

import csv
import datetime as dt
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django.utils import translation

from metrics.importing.merge import Staging
from metrics.importing.services import (
    chats_import,
    import_batch_create,
    import_batch_map,
    import_batch_run,
    orders_import,
    traffic_import,
)
from metrics.models import ChatSession, ColumnMapping, ImportStatus, Order, TrafficDay
from teams.models import PlatformAccount, Store
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, order_line, write

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(name="未来衣橱旗舰店")


def _orders(tmp_path, *lines, name="orders.csv", encoding="utf-8-sig", header=ORDER_HEADER) -> Path:
    return write(tmp_path / name, [header, *lines], encoding)


# --- the shared generator's files -------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_generator_files_import_with_exactly_their_rows(shop_files):
    orders, chats, traffic = (_csv_rows(shop_files / f"{k}.csv") for k in ("orders", "chats", "traffic"))
    results = [
        orders_import(store=None, file=shop_files / "orders.csv", user=None),
        chats_import(store=None, file=shop_files / "chats.csv", user=None),
        traffic_import(store=None, file=shop_files / "traffic.csv", user=None),
    ]
    for batch, rows in zip(results, (orders, chats, traffic), strict=True):
        assert batch.status == ImportStatus.SUCCEEDED, batch.error_text
        assert (batch.inserted, batch.updated, batch.unchanged, batch.rejected) == (len(rows), 0, 0, 0)
        assert batch.encoding == "UTF-8 (BOM)"
        batch.refresh_from_db()  # the start is kept by the final save, not only in memory
        assert batch.started_at is not None and batch.created_at <= batch.started_at <= batch.finished_at
    assert Order.objects.count() == len(orders)
    assert ChatSession.objects.count() == len(chats)
    assert TrafficDay.objects.count() == len(traffic)
    # Money arrives exact: the sum of paid amounts equals the file's, computed with Decimal.
    from django.db.models import Sum

    expected = sum(Decimal(r["买家实际支付金额"]) for r in orders)
    assert Decimal(Order.objects.aggregate(s=Sum("paid_cents"))["s"]) / 100 == expected
    assert Order.objects.filter(paid_at__isnull=False).count() == sum(1 for r in orders if r["订单付款时间"])
    assert set(Store.objects.values_list("name", flat=True)) == {r["店铺名称"] for r in orders}
    accounts = {(r["店铺名称"], r["客服"]) for r in chats}
    assert set(PlatformAccount.objects.values_list("store__name", "name")) == accounts


# --- encodings and formats ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (BOM)"), ("gb18030", "GB18030"), ("gbk", "GB18030")],
)
def test_each_encoding_is_detected_and_read(tmp_path, store, encoding, label):
    path = _orders(
        tmp_path,
        order_line("A1", buyer="买家甲"),
        order_line("A2", status="买家已付款，等待卖家发货"),
        encoding=encoding,
    )
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.SUCCEEDED, batch.error_text
    assert batch.encoding == label
    assert Order.objects.get(order_id="A1").buyer == "买家甲"
    assert Order.objects.get(order_id="A2").status == "paid"


def test_utf16_tab_separated_excel_unicode_text(tmp_path, store):
    lines = [ORDER_HEADER.replace(",", "\t"), order_line("U1").replace(",", "\t")]
    batch = orders_import(store=None, file=write(tmp_path / "o.txt", lines, "utf-16"), user=None)
    assert (batch.status, batch.encoding, batch.inserted) == (ImportStatus.SUCCEEDED, "UTF-16", 1)


def _xlsx(path: Path, rows: list[list], sheet_title="Sheet1", extra_sheet: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    if extra_sheet:
        cover = workbook.active
        cover.title = extra_sheet
        cover.append(["报表说明"])
        worksheet = workbook.create_sheet(sheet_title)
    else:
        worksheet = workbook.active
        worksheet.title = sheet_title
    for row in rows:
        worksheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_with_real_dates_and_excel_serial_numbers(tmp_path, store):
    header = ORDER_HEADER.split(",")
    rows = [
        header,
        [
            "X1",
            "tb_1",
            100,
            99.5,
            "交易成功",
            dt.datetime(2026, 8, 1, 10, 0),
            dt.datetime(2026, 8, 1, 10, 5),
            "裙",
            1,
            2,
            0,
            "未来衣橱旗舰店",
        ],
        # 46235.5 is 2026-08-01 12:00 as an Excel serial number (a cell without date format)
        [
            "X2",
            "tb_2",
            "¥1,234.00",
            "1,234.00",
            "TRADE_FINISHED",
            46235.5,
            "",
            "裙",
            1,
            1,
            "",
            "未来衣橱旗舰店",
        ],
    ]
    batch = orders_import(store=None, file=_xlsx(tmp_path / "o.xlsx", rows), user=None)
    assert batch.status == ImportStatus.SUCCEEDED, (batch.error_text, list(batch.row_errors.values()))
    assert batch.sheet == "Sheet1" and batch.encoding == ""
    x1, x2 = Order.objects.get(order_id="X1"), Order.objects.get(order_id="X2")
    assert x1.created_at == dt.datetime(2026, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert (x1.paid_amount, x1.item_count) == (Decimal("99.50"), 2)
    assert x2.created_at == dt.datetime(2026, 8, 1, 4, 0, tzinfo=UTC)
    assert (x2.paid_amount, x2.payable_amount, x2.status, x2.paid_at) == (
        Decimal("1234.00"),
        Decimal("1234.00"),
        "completed",
        None,
    )


def test_xlsx_chosen_sheet_and_missing_sheet(tmp_path, store):
    path = _xlsx(
        tmp_path / "o.xlsx",
        [ORDER_HEADER.split(","), order_line("S1").split(",")],
        "订单",
        extra_sheet="说明",
    )
    chosen = orders_import(store=None, file=path, user=None, sheet="订单")
    assert (chosen.status, chosen.sheet, chosen.inserted) == (ImportStatus.SUCCEEDED, "订单", 1)
    missing = orders_import(store=None, file=path, user=None, sheet="nope")
    assert missing.status == ImportStatus.REFUSED
    assert "has no sheet “nope”" in missing.error_text and "订单" in missing.error_text


# --- headers and mapping ------------------------------------------------------------------------


def test_canonical_english_headers(tmp_path, store):
    header = "order_id,buyer,paid_amount,status,created_at,paid_at,item_count,refund_amount,store"
    path = write(
        tmp_path / "o.csv",
        [header, "E1,bob,10.5,completed,2026-08-01 10:00:00,2026-08-01 10:01:00,3,1.25,未来衣橱旗舰店"],
    )
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.SUCCEEDED, batch.error_text
    order = Order.objects.get(order_id="E1")
    assert (order.paid_cents, order.refund_cents, order.item_count, order.payable_cents) == (
        1050,
        125,
        3,
        None,
    )


def test_unknown_headers_need_a_mapping_which_is_saved_per_store_and_kind(tmp_path, store):
    header = "单号,客户,实收,状况,下单于,付于,店"
    path = write(tmp_path / "o.csv", [header, "M1,c1,5.00,交易成功,2026-08-01 10:00,2026-08-01 10:01,未来衣橱旗舰店"])
    batch = import_batch_create(file=path, user=None, kind="orders", store=store)
    assert batch.status == ImportStatus.NEEDS_MAPPING
    mapping = {
        "order_id": "单号",
        "buyer": "客户",
        "paid_amount": "实收",
        "status": "状况",
        "created_at": "下单于",
        "paid_at": "付于",
    }
    batch = import_batch_map(batch=batch, mapping=mapping)
    assert batch.status == ImportStatus.QUEUED
    assert import_batch_run(batch=batch).inserted == 1
    assert ColumnMapping.objects.get(store=store, kind="orders").mapping["order_id"] == "单号"
    # The next file of this store with the same headers needs no mapping step.
    again = import_batch_create(file=path, user=None, kind="orders", store=store)
    assert again.status == ImportStatus.QUEUED
    assert import_batch_run(batch=again).unchanged == 1


def test_cli_style_map_option(tmp_path, store):
    path = write(
        tmp_path / "o.csv",
        [
            "单号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间",
            "C1,b,1,交易成功,2026-08-01 10:00:00,",
        ],
    )
    batch = orders_import(store=store, file=path, user=None, mapping={"order_id": "单号"})
    assert (batch.status, batch.inserted) == (ImportStatus.SUCCEEDED, 1)


def test_kind_is_detected_from_headers(tmp_path, store):
    path = _orders(tmp_path, order_line("K1"))
    assert import_batch_create(file=path, user=None).kind == "orders"
    chats = write(tmp_path / "c.csv", [CHAT_HEADER, "S1,未来衣橱旗舰店,未来衣橱:客服01,b,2026-08-01 10:00:00,,,1,0"])
    assert import_batch_create(file=chats, user=None).kind == "chats"


# --- values ------------------------------------------------------------------------------------


def test_statuses_amounts_and_times_in_their_real_world_forms(tmp_path, store):
    path = _orders(
        tmp_path,
        order_line(
            "V1",
            paid='"¥1,234.00"',
            status="卖家已发货，等待买家确认",
            created="2026/8/1 10:00",
            paid_at="2026/8/1 10:02",
        ),
        order_line("V2", paid="1234.5", status="交易关闭", created="2026-08-01 10:00", paid_at=""),
        order_line("V3", paid="", status="等待买家付款", created="2026-08-01 23:59:59", paid_at=""),
        order_line("V4", status="WAIT_SELLER_SEND_GOODS", refund=""),
        order_line("V5", status="Completed"),
        order_line("V6", status="某个新状态"),
    )
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.SUCCEEDED, list(batch.row_errors.values_list("line", "reason"))
    got = {o.order_id: o for o in Order.objects.all()}
    assert (got["V1"].paid_cents, got["V1"].status, got["V1"].status_raw) == (
        123400,
        "shipped",
        "卖家已发货，等待买家确认",
    )
    assert got["V1"].created_at == dt.datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
    assert got["V1"].paid_at == dt.datetime(2026, 8, 1, 2, 2, tzinfo=UTC)
    assert (got["V2"].paid_cents, got["V2"].status, got["V2"].paid_at) == (123450, "closed", None)
    assert (got["V3"].paid_cents, got["V3"].status) == (0, "pending_payment")
    assert got["V3"].created_at == dt.datetime(2026, 8, 1, 15, 59, 59, tzinfo=UTC)
    assert (got["V4"].status, got["V4"].refund_cents) == ("paid", 0)
    assert got["V5"].status == "completed"
    assert (got["V6"].status, got["V6"].status_raw) == ("other", "某个新状态")


def test_times_are_local_to_the_stores_time_zone(tmp_path):
    Store.objects.create(name="NY Store", time_zone="America/New_York")
    path = _orders(
        tmp_path,
        order_line("T1", store="NY Store", created="2026-08-01 10:00:00", paid_at=""),
        order_line("T2", store="NY Store", created="2026-03-08 02:30:00", paid_at=""),  # skipped by DST
    )
    batch = orders_import(store=None, file=path, user=None, skip_invalid=True)
    assert Order.objects.get(order_id="T1").created_at == dt.datetime(2026, 8, 1, 14, 0, tzinfo=UTC)
    assert batch.rejected == 1
    assert "does not exist" in batch.row_errors.get().reason_text


# --- errors --------------------------------------------------------------------------------------


def test_any_invalid_row_imports_nothing_and_every_error_is_reported(tmp_path, store):
    path = _orders(
        tmp_path,
        order_line("G1"),
        order_line("B1", paid="12.345"),
        order_line("B2", created="yesterday"),
        order_line("G2"),
        order_line("", buyer=""),
        order_line("B4", items="-2"),
        order_line("B5", created="2026-08-01 10:00:00", paid_at="2026-08-01 09:00:00"),
    )
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.FAILED
    assert "nothing was imported" in batch.error_text
    assert Order.objects.count() == 0
    assert batch.rejected == 5
    errors = [(e.line, e.column, e.value, e.reason_text) for e in batch.row_errors.all()]
    assert (3, "买家实际支付金额", "12.345", "Not an amount of money (like 1234.50 or ¥1,234.00).") in errors
    assert (
        4,
        "订单创建时间",
        "yesterday",
        "Not a date and time (like 2026-08-01 10:00:00 or 2026/8/1 10:00).",
    ) in errors
    assert (6, "订单编号", "", "A value is required.") in errors
    assert (6, "买家会员名", "", "A value is required.") in errors
    assert (7, "宝贝总数量", "-2", "Not a whole number of 0 or more.") in errors
    assert (8, "订单付款时间", "2026-08-01 09:00:00", "Paid before the order was created.") in errors


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(tmp_path, store):
    path = _orders(tmp_path, order_line("G1"), order_line("B1", paid="abc"), order_line("G2"))
    batch = orders_import(store=None, file=path, user=None, skip_invalid=True)
    assert (batch.status, batch.inserted, batch.rejected) == (ImportStatus.SUCCEEDED, 2, 1)
    assert set(Order.objects.values_list("order_id", flat=True)) == {"G1", "G2"}
    assert {e.line for e in batch.row_errors.all()} == {3}  # both money columns of line 3


def test_reported_errors_are_capped_but_counted(tmp_path, store, settings):
    settings.IMPORT_MAX_REPORTED_ERRORS = 5
    path = _orders(tmp_path, *[order_line(f"B{i}", paid="x") for i in range(20)])
    batch = orders_import(store=None, file=path, user=None)
    assert (batch.rejected, batch.row_errors.count()) == (20, 5)


def test_malformed_lines_and_blank_lines_keep_true_line_numbers(tmp_path, store):
    path = _orders(
        tmp_path,
        order_line("L1"),
        "",
        order_line("L2") + ",extra,cells",
        order_line("L3", paid="bad"),
        order_line("L4"),
    )
    batch = orders_import(store=None, file=path, user=None, skip_invalid=True)
    assert batch.inserted == 2
    assert {(e.line, e.reason_text[:17]) for e in batch.row_errors.all()} == {
        (4, "Cannot split the "),
        (5, "Not an amount of "),
    }


def test_missing_required_columns_stop_before_any_row_is_read(tmp_path, store):
    path = write(tmp_path / "o.csv", ["订单编号,买家会员名,订单状态,店铺名称", "1,b,交易成功,未来衣橱旗舰店"])
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.NEEDS_MAPPING
    batch = import_batch_create(file=path, user=None, kind="orders")
    batch.status = ImportStatus.QUEUED  # as if someone forced it past the mapping step
    batch.save()
    batch = import_batch_run(batch=batch)
    assert batch.status == ImportStatus.REFUSED
    assert "买家实际支付金额" in batch.error_text and "订单创建时间" in batch.error_text
    assert batch.rows_processed == 0 and Order.objects.count() == 0


def test_file_over_the_size_limit_is_refused(tmp_path, store, settings):
    settings.IMPORT_MAX_FILE_MB = 0.0001  # about 100 bytes
    settings.MEDIA_ROOT = tmp_path / "media"
    batch = orders_import(store=None, file=_orders(tmp_path, order_line("Z1"), order_line("Z2")), user=None)
    assert batch.status == ImportStatus.REFUSED
    assert "MB limit" in batch.error_text
    assert Order.objects.count() == 0
    batch.refresh_from_db()  # recorded, with its size and digest, but the file is not kept
    assert not batch.file and batch.size_bytes > 100 and len(batch.sha256) == 64
    assert not any(Path(settings.MEDIA_ROOT).rglob("*"))


def test_xlsx_bomb_is_refused_unopened(tmp_path, store):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<c>0</c>" * 3_000_000)  # 24 MB of text, ~25 KB packed
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.REFUSED
    assert "more than a real export does" in batch.error_text


def test_xlsx_row_limit(tmp_path, store, settings):
    settings.IMPORT_MAX_ROWS = 2
    rows = [ORDER_HEADER.split(","), *[order_line(f"R{i}").split(",") for i in range(3)]]
    batch = orders_import(store=None, file=_xlsx(tmp_path / "o.xlsx", rows), user=None)
    assert batch.status == ImportStatus.REFUSED
    assert "the limit is 2" in batch.error_text


def test_malformed_xml_workbook_is_refused(tmp_path, store):
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='a'")
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.REFUSED
    assert "cannot be read" in batch.error_text


def test_xml_entity_expansion_is_refused(tmp_path, store):
    """defusedxml is installed, so openpyxl refuses entity declarations (billion laughs)."""
    good = _xlsx(tmp_path / "good.xlsx", [ORDER_HEADER.split(","), order_line("Q1").split(",")])
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(evil, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            target.writestr(item, data)
    batch = orders_import(store=None, file=evil, user=None)
    assert batch.status == ImportStatus.REFUSED
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "This is not a table"),
        (b"%PDF-1.7\n" + bytes(200), "This is not a table"),
        (bytes(range(256)) * 4, "not a text table"),
        ("只有一列\n一\n二\n".encode(), "Only one column"),
        (b"", "empty"),
    ],
)
def test_non_tabular_files_are_refused(tmp_path, store, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.REFUSED
    assert message in batch.error_text


def test_rows_of_another_store_than_the_chosen_one_are_rejected(tmp_path, store):
    other = Store.objects.create(name="衣衣风尚专营店")
    path = _orders(tmp_path, order_line("O1"), order_line("O2", store="衣衣风尚专营店"))
    batch = orders_import(store=store, file=path, user=None, skip_invalid=True)
    assert (batch.inserted, batch.rejected) == (1, 1)
    assert not Order.objects.filter(store=other).exists()


def test_a_refused_or_failed_import_creates_no_store(tmp_path):
    path = _orders(tmp_path, order_line("N1", store="新店"), order_line("N2", store="新店", paid="?"))
    assert orders_import(store=None, file=path, user=None).status == ImportStatus.FAILED
    assert not Store.objects.filter(name="新店").exists()
    assert orders_import(store=None, file=path, user=None, skip_invalid=True).inserted == 1
    assert Order.objects.get(order_id="N1").store.name == "新店"


def test_a_manager_imports_only_into_their_own_stores(tmp_path, store):
    from teams.models import Role, RoleGrant
    from tests.factories import UserFactory

    other = Store.objects.create(name="衣衣风尚专营店")
    manager = UserFactory(username="m")
    RoleGrant.objects.create(user=manager, role=Role.MANAGER, store=store)
    path = _orders(tmp_path, order_line("P1"), order_line("P2", store=other.name), order_line("P3", store="不存在的店"))
    batch = orders_import(store=None, file=path, user=manager, skip_invalid=True)
    assert (batch.inserted, batch.rejected) == (1, 2)
    assert not Store.objects.filter(name="不存在的店").exists()
    assert {e.reason_text for e in batch.row_errors.all()} == {"Unknown store, or not one you may import into."}


# --- idempotence and updates -------------------------------------------------------------------


def test_the_same_file_twice_changes_nothing(tmp_path, store):
    path = _orders(tmp_path, order_line("I1"), order_line("I2"))
    first = orders_import(store=None, file=path, user=None)
    before = list(Order.objects.order_by("order_id").values())
    second = orders_import(store=None, file=path, user=None)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    after = list(Order.objects.order_by("order_id").values())
    # Rows are untouched, down to which batch last wrote them.
    assert after == before and {row["batch_id"] for row in after} == {first.pk}


def test_a_later_export_updates_status_paid_time_and_refund(tmp_path, store):
    orders_import(
        store=None,
        file=_orders(tmp_path, order_line("U1", status="等待买家付款", paid_at=""), order_line("U2"), order_line("U3")),
        user=None,
    )
    later = _orders(
        tmp_path,
        order_line("U1", status="买家已付款，等待卖家发货", paid_at="2026-08-01 11:00:00"),
        order_line("U2", refund="40.00"),
        order_line("U3"),
        name="later.csv",
    )
    batch = orders_import(store=None, file=later, user=None)
    assert (batch.inserted, batch.updated, batch.unchanged) == (0, 2, 1)
    u1, u2 = Order.objects.get(order_id="U1"), Order.objects.get(order_id="U2")
    assert (u1.status, u1.paid_at) == ("paid", dt.datetime(2026, 8, 1, 3, 0, tzinfo=UTC))
    assert u2.refund_cents == 4000 and u2.paid_cents == 10000


def test_columns_a_file_does_not_have_are_left_as_they_were(tmp_path, store):
    orders_import(store=None, file=_orders(tmp_path, order_line("W1", refund="25.00")), user=None)
    header = "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,店铺名称"
    slim = write(
        tmp_path / "slim.csv",
        [header, "W1,tb_1,100.00,交易成功,2026-08-01 10:00:00,2026-08-01 10:05:00,未来衣橱旗舰店"],
    )
    batch = orders_import(store=None, file=slim, user=None)
    assert (batch.updated, batch.unchanged) == (0, 1)
    assert Order.objects.get(order_id="W1").refund_cents == 2500


def test_overlapping_exports_merge_without_duplicates(tmp_path, store):
    yesterday = _orders(tmp_path, order_line("D1"), order_line("D2"), name="yesterday.csv")
    week = _orders(tmp_path, order_line("D2"), order_line("D3"), order_line("D4"), name="week.csv")
    orders_import(store=None, file=yesterday, user=None)
    batch = orders_import(store=None, file=week, user=None)
    assert (batch.inserted, batch.unchanged) == (2, 1)
    assert sorted(Order.objects.values_list("order_id", flat=True)) == ["D1", "D2", "D3", "D4"]


def test_a_key_repeated_in_one_file_keeps_its_last_line(tmp_path, store):
    path = _orders(tmp_path, order_line("R1", paid="1.00"), order_line("R1", paid="2.00"))
    batch = orders_import(store=None, file=path, user=None)
    assert (batch.inserted, batch.unchanged) == (1, 1)
    assert Order.objects.get(order_id="R1").paid_cents == 200
    assert orders_import(store=None, file=path, user=None).unchanged == 2


def test_chat_with_unknown_account_creates_an_unassigned_account(tmp_path, store):
    from teams.selectors.organisation import account_unassigned_list
    from teams.selectors.scoping import viewer_get
    from tests.factories import UserFactory

    path = write(
        tmp_path / "c.csv",
        [CHAT_HEADER, "S1,未来衣橱旗舰店,未来衣橱:新人99,b1,2026-08-01 10:00:00,2026-08-01 10:00:12,,3,4"],
    )
    batch = chats_import(store=None, file=path, user=None)
    assert (batch.status, batch.inserted) == (ImportStatus.SUCCEEDED, 1)
    chat = ChatSession.objects.select_related("account").get()
    assert chat.account.name == "未来衣橱:新人99" and chat.account.store == store
    admin = UserFactory(username="root", is_superuser=True)
    assert chat.account in account_unassigned_list(viewer=viewer_get(user=admin))
    assert (chat.started_at, chat.first_response_at) == (
        dt.datetime(2026, 8, 1, 2, 0, tzinfo=UTC),
        dt.datetime(2026, 8, 1, 2, 0, 12, tzinfo=UTC),
    )


def test_traffic_rows_update_by_store_date_and_channel(tmp_path, store):
    header = "日期,店铺名称,流量来源,访客数,浏览量,加购人数"
    first = write(
        tmp_path / "t1.csv",
        [
            header,
            "2026-08-01,未来衣橱旗舰店,手淘搜索,100,300,10",
            '2026/8/2,未来衣橱旗舰店,直播,"1,200",3000,',
        ],
    )
    assert traffic_import(store=None, file=first, user=None).inserted == 2
    second = write(tmp_path / "t2.csv", [header, "2026-08-01,未来衣橱旗舰店,手淘搜索,150,300,10"])
    assert traffic_import(store=None, file=second, user=None).updated == 1
    rows = {(t.date, t.channel): (t.uv, t.pv, t.cart_adds) for t in TrafficDay.objects.all()}
    assert rows == {
        (dt.date(2026, 8, 1), "手淘搜索"): (150, 300, 10),
        (dt.date(2026, 8, 2), "直播"): (1200, 3000, 0),
    }


# --- streaming and concurrency -----------------------------------------------------------------


def test_small_chunks_stream_through_staging_with_identical_results(tmp_path, store, monkeypatch):
    loads: list[int] = []
    original = Staging.load

    def spy(self, rows):
        loads.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(Staging, "load", spy)
    path = _orders(tmp_path, *[order_line(f"C{i:03d}", paid=f"{i}.{i % 100:02d}") for i in range(50)])
    batch = import_batch_create(file=path, user=None, kind="orders")
    batch = import_batch_run(batch=batch, chunk_rows=7)
    assert batch.inserted == 50
    assert len(loads) == 8 and max(loads) == 7  # 50 rows, 7 at a time: never the whole file at once
    assert Order.objects.get(order_id="C049").paid_cents == 4949


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_imports_at_the_same_time_end_with_the_right_rows(tmp_path):
    Store.objects.create(name="未来衣橱旗舰店")
    a = _orders(tmp_path, *[order_line(f"K{i:04d}") for i in range(0, 1500)], name="a.csv")
    b = _orders(
        tmp_path,
        *[order_line(f"K{i:04d}", refund="1.00" if i >= 1000 else "0.00") for i in range(1000, 2500)],
        name="b.csv",
    )
    results, failures = {}, []

    def run(name, path):
        try:
            results[name] = orders_import(store=None, file=path, user=None)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert all(r.status == ImportStatus.SUCCEEDED for r in results.values()), [r.error_text for r in results.values()]
    assert Order.objects.count() == 2500
    # Whichever ran second found the 500 shared orders already there; counts add up exactly.
    assert results["a"].inserted + results["b"].inserted == 2500
    assert sum(r.inserted + r.updated + r.unchanged for r in results.values()) == 3000


def test_original_files_are_purged_after_the_retention_period(tmp_path, store, settings):
    from django.utils import timezone

    from metrics.importing.files import import_files_purge
    from metrics.models import ImportBatch

    settings.IMPORT_RETENTION_DAYS = 30
    old = orders_import(store=None, file=_orders(tmp_path, order_line("P1"), name="old.csv"), user=None)
    new = orders_import(store=None, file=_orders(tmp_path, order_line("P2"), name="new.csv"), user=None)
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    old_path = Path(old.file.path)
    assert old_path.exists()
    assert import_files_purge() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old_path.exists() and old.file_deleted_at is not None and not old.file
    assert Path(new.file.path).exists() and new.file_deleted_at is None
    assert import_files_purge() == 0  # idempotent
    assert Order.objects.count() == 2  # the facts stay


# --- importing the valid rows of a failed import (issue 18, point 13) ----------------------------


def test_the_valid_rows_of_a_failed_import_are_imported_from_its_kept_file(tmp_path, store):
    from django.core.exceptions import ValidationError

    from metrics.importing.services import import_batch_valid_rows_import
    from metrics.models import ImportBatch

    path = _orders(tmp_path, order_line("G1"), order_line("B1", paid="abc"), order_line("G2"))
    failed = orders_import(store=None, file=path, user=None)
    assert (failed.status, failed.rejected, failed.rows_total) == (ImportStatus.FAILED, 1, 3)
    path.unlink()  # nobody chooses the file again: the kept copy is read
    rerun, created = import_batch_valid_rows_import(batch=failed, user=None)
    assert created and (rerun.status, rerun.skip_invalid, rerun.rerun_of) == (ImportStatus.QUEUED, True, failed)
    assert (rerun.file.name, rerun.kind, rerun.column_mapping) == (failed.file.name, failed.kind, failed.column_mapping)
    assert import_batch_valid_rows_import(batch=failed, user=None) == (rerun, False)  # a second click: the same
    rerun = import_batch_run(batch=rerun)
    assert (rerun.status, rerun.inserted, rerun.rejected) == (ImportStatus.SUCCEEDED, 2, 1)
    assert set(Order.objects.values_list("order_id", flat=True)) == {"G1", "G2"}
    assert {e.line for e in rerun.row_errors.all()} == {3}
    # The failure stays on record as it was, with its errors.
    failed = ImportBatch.objects.get(pk=failed.pk)
    assert (failed.status, failed.inserted, failed.row_errors.count()) == (ImportStatus.FAILED, 0, 2)
    with pytest.raises(ValidationError):  # already done: nothing to import from it any more
        import_batch_valid_rows_import(batch=rerun, user=None)


def test_the_valid_rows_are_not_offered_when_the_failure_was_not_about_rows(tmp_path, store, settings):
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from metrics.importing.files import import_files_purge
    from metrics.importing.services import import_batch_valid_rows_import
    from metrics.models import ImportBatch

    def refusal(batch) -> str:
        with pytest.raises(ValidationError) as raised:
            import_batch_valid_rows_import(batch=batch, user=None)
        return raised.value.messages[0]

    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.7\n" + bytes(200))
    refused = orders_import(store=None, file=tmp_path / "x.pdf", user=None)
    assert refused.status == ImportStatus.REFUSED and "refused" in refusal(refused)
    all_bad = orders_import(store=None, file=_orders(tmp_path, order_line("B1", paid="x"), name="b.csv"), user=None)
    assert "Every row" in refusal(all_bad)
    # The job queue was unreachable: failed, nothing checked, no row rejected.
    lost = import_batch_create(file=_orders(tmp_path, order_line("L1"), name="l.csv"), user=None, kind="orders")
    ImportBatch.objects.filter(pk=lost.pk).update(status=ImportStatus.FAILED, error_message="queue down")
    lost.refresh_from_db()
    assert "did not fail over invalid rows" in refusal(lost)
    settings.IMPORT_RETENTION_DAYS = 30
    old = orders_import(store=None, file=_orders(tmp_path, order_line("O1"), order_line("O2", paid="x"), name="o.csv"),
                        user=None)  # fmt: skip
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    import_files_purge()
    old.refresh_from_db()
    assert "no longer kept" in refusal(old)
    assert not ImportBatch.objects.filter(rerun_of__isnull=False).exists()


def test_a_file_shared_with_the_import_of_its_valid_rows_goes_with_the_uploads_retention(tmp_path, store, settings):
    from django.utils import timezone

    from metrics.importing.files import import_files_purge
    from metrics.importing.services import import_batch_valid_rows_import
    from metrics.models import ImportBatch

    settings.IMPORT_RETENTION_DAYS = 30
    failed = orders_import(store=None, file=_orders(tmp_path, order_line("P1"), order_line("P2", paid="x")), user=None)
    rerun, _created = import_batch_valid_rows_import(batch=failed, user=None)
    import_batch_run(batch=rerun)
    kept = Path(failed.file.path)
    ImportBatch.objects.filter(pk=failed.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    assert import_files_purge() == 2  # the upload and the batch that read it again
    assert not kept.exists()
    assert ImportBatch.objects.filter(file_deleted_at__isnull=False).count() == 2
    assert Order.objects.filter(order_id="P1").exists()  # the facts stay


def test_why_an_import_failed_reads_in_each_readers_language(tmp_path, store):
    """The reasons are messages: a batch imported while the site spoke Chinese reads in English
    for an English reader, and the other way round (issue 18, point 8)."""
    path = _orders(tmp_path, order_line("B1", paid="12.345"))
    with translation.override("zh-hans"):
        batch = orders_import(store=None, file=path, user=None)
    assert batch.status == ImportStatus.FAILED and "无效" in batch.error_message  # the text kept: the site's
    error = batch.row_errors.get(column="买家实际支付金额")
    assert "rows are invalid" in batch.error_text and error.reason_text.startswith("Not an amount of money")
    with translation.override("zh-hans"):
        assert "行无效" in batch.error_text and not error.reason_text.startswith("Not")
