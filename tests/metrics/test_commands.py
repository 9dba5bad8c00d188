"""manage.py import_data: one summary line, non-zero exit when refused, --store, --map, --skip-invalid."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from metrics.models import Order
from teams.models import Store
from tests.metrics.helpers import ORDER_HEADER, order_line, write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Commands speak the installation's LANGUAGE_CODE (Chinese by default); assert in English.
    with translation.override("en"):
        yield


def test_summary_line_and_unknown_stores_are_created(tmp_path, capsys):
    path = write(tmp_path / "o.csv", [ORDER_HEADER, order_line("A1", store="新店一"), order_line("A2", store="新店二")])
    call_command("import_data", "orders", str(path))
    assert capsys.readouterr().out.strip() == "inserted=2 updated=0 unchanged=0 rejected=0"
    assert set(Store.objects.values_list("name", flat=True)) == {"新店一", "新店二"}
    call_command("import_data", "orders", str(path))
    assert capsys.readouterr().out.strip() == "inserted=0 updated=0 unchanged=2 rejected=0"


def test_refused_file_exits_non_zero_with_the_reason(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(CommandError, match="This is not a table"):
        call_command("import_data", "orders", str(path), "--store", "店")


def test_rejected_rows_exit_non_zero_and_are_listed(tmp_path, capsys):
    path = write(tmp_path / "o.csv", [ORDER_HEADER, order_line("B1"), order_line("B2", paid="x")])
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_data", "orders", str(path))
    captured = capsys.readouterr()
    assert captured.out.strip() == "inserted=0 updated=0 unchanged=0 rejected=1"
    assert "line 3 [买家实际支付金额] 'x'" in captured.err
    assert not Order.objects.exists()
    call_command("import_data", "orders", str(path), "--skip-invalid")
    assert Order.objects.count() == 1


def test_unknown_headers_name_what_is_missing_then_map_fixes_it(tmp_path, capsys):
    path = write(
        tmp_path / "o.csv",
        [
            "单号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间",
            "M1,b,1.00,交易成功,2026-08-01 10:00:00,",
        ],
    )
    with pytest.raises(CommandError, match=r"order_id \(e\.g\. 订单编号"):
        call_command("import_data", "orders", str(path), "--store", "店")
    call_command("import_data", "orders", str(path), "--store", "店", "--map", "order_id=单号")
    assert "inserted=1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="FIELD=HEADER"):
        call_command("import_data", "orders", str(path), "--map", "order_id")
