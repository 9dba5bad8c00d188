"""export_kpis, /api/kpis/ and the KPI definitions page: columns, formats, scoping by role."""

import csv
import datetime as dt
import io
import json
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from metrics.registry import kpis_for
from teams.models import Role, RoleGrant
from tests.factories import UserFactory
from tests.metrics.test_kpis import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(tmp_path) -> Shop:
    shop = Shop(tmp_path)
    shop.members["A"].display_name = "=cmd|' /C calc'!A0"  # a hostile name must stay inert text
    shop.members["A"].save()
    for i, agent in enumerate("AB"):
        shop.chat(agent, f"buyer{i}", dt.datetime(2026, 8, 3 + i, 10))
        shop.order(f"buyer{i}", dt.datetime(2026, 8, 3 + i, 11), "123.40", refund="3.00")
    shop.chat("C", "browser", dt.datetime(2026, 8, 9, 10))
    shop.load()
    return shop


def _export(tmp_path, *args) -> list[dict]:
    out = tmp_path / "out.csv"
    call_command("export_kpis", *args, "--start", "2026-08-01", "--end", "2026-08-31", "--out", str(out))
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))


def test_member_export_columns_and_values(shop, tmp_path):
    rows = _export(tmp_path, "--level", "member", "--grain", "month")
    assert list(rows[0])[:5] == ["store", "member_id", "member_name", "accounts", "period_start"]
    assert list(rows[0])[5:] == [k.key for k in kpis_for("member", spec_only=True)]
    by_member = {row["member_id"]: row for row in rows}
    a = by_member[str(shop.members["A"].pk)]
    assert a["member_name"] == "'=cmd|' /C calc'!A0"  # formula-safe
    assert a["accounts"] == "衣衣风尚:客服A"
    assert (a["period_start"], a["gmv"], a["refund_amount"], a["aov"]) == ("2026-08-01", "123.40", "3.00", "123.40")
    assert a["inquiry_to_payment_rate"] == "1.0"
    c = by_member[str(shop.members["C"].pk)]
    assert c["aov"] == "" and c["refund_order_rate"] == ""  # undefined: empty
    assert c["inquiry_to_payment_rate"] == "0.0"


def test_store_and_team_exports_and_grains(shop, tmp_path):
    store = _export(tmp_path, "--level", "store", "--grain", "range")
    assert len(store) == 1 and store[0]["gmv"] == "246.80" and store[0]["net_sales"] == "240.80"
    weeks = _export(tmp_path, "--level", "team", "--grain", "week")
    # Monday 3 to Sunday 9 August is one ISO week: one row for the one team.
    assert [(row["team_name"], row["period_start"], row["sessions"]) for row in weeks] == [("售前", "2026-08-03", "3")]
    days = _export(tmp_path, "--level", "member", "--grain", "day")
    assert sorted({row["period_start"] for row in days}) == ["2026-08-03", "2026-08-04", "2026-08-09"]


def test_json_and_xlsx(shop, tmp_path):
    out = tmp_path / "k.json"
    call_command("export_kpis", "--level", "store", "--grain", "month", "--start", "2026-08-01", "--end", "2026-08-31",
                 "--format", "json", "--out", str(out))  # fmt: skip
    record = json.loads(out.read_text())[0]
    assert record["gmv"] == "246.80" and record["paid_orders"] == 2 and record["repeat_rate"] == 0.0
    out = tmp_path / "k.xlsx"
    call_command("export_kpis", "--level", "member", "--grain", "month", "--start", "2026-08-01", "--end", "2026-08-31",
                 "--format", "xlsx", "--out", str(out))  # fmt: skip
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    names = [row[header.index("member_name")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "=cmd|' /C calc'!A0" in names  # stored as text: openpyxl reads it back as the string
    cell = next(c for c in sheet["C"][1:] if c.value == "=cmd|' /C calc'!A0")
    assert cell.data_type == "s"


def test_api_scoping_by_role(shop, api_for):
    staff_user = UserFactory(username="staff_b")
    shop.members["B"].user = staff_user
    shop.members["B"].save()
    params = {"level": "member", "grain": "month", "start": "2026-08-01", "end": "2026-08-31"}
    rows = api_for(staff_user).get(reverse("kpis"), params).json()["results"]
    assert [row["member_id"] for row in rows] == [shop.members["B"].pk]
    assert api_for(staff_user).get(reverse("kpis"), {**params, "level": "team"}).status_code == 403
    assert api_for(staff_user).get(reverse("kpis"), {**params, "level": "store"}).status_code == 403
    manager = UserFactory(username="boss")
    RoleGrant.objects.create(user=manager, role=Role.MANAGER, store=shop.store)
    assert len(api_for(manager).get(reverse("kpis"), params).json()["results"]) == 3
    store_rows = api_for(manager).get(reverse("kpis"), {**params, "level": "store"}).json()["results"]
    assert store_rows[0]["gmv"] == "246.80"
    stranger = UserFactory(username="other_manager")
    assert api_for(stranger).get(reverse("kpis"), params).json()["results"] == []
    bad = api_for(manager).get(reverse("kpis"), {**params, "start": "2026-09-01"})
    assert bad.status_code == 400


def test_api_rows_are_computed_once_per_query_until_the_data_change(shop, api_for, monkeypatch):
    """The pages of one answer (and the same query again) share one computation; an import
    (which moves the store's data version) makes the next request compute the new figures."""
    from metrics.kpis import exports as kpi_exports

    computed = []
    original = kpi_exports.kpi_export_rows
    monkeypatch.setattr(kpi_exports, "kpi_export_rows", lambda **kw: computed.append(kw) or original(**kw))
    manager = UserFactory(username="boss")
    RoleGrant.objects.create(user=manager, role=Role.MANAGER, store=shop.store)
    api = api_for(manager)
    params = {"level": "member", "grain": "month", "start": "2026-08-01", "end": "2026-08-31", "page_size": 2}
    first = api.get(reverse("kpis"), params).json()
    second = api.get(reverse("kpis"), {**params, "page": 2}).json()
    assert first["count"] == second["count"] == 3 and len(first["results"]) == 2 and len(second["results"]) == 1
    assert len(computed) == 1
    assert api.get(reverse("kpis"), {**params, "level": "store"}).json()["results"][0]["gmv"] == "246.80"
    assert len(computed) == 2  # another query: computed
    shop.order("buyer9", dt.datetime(2026, 8, 20, 11), "100.00")
    shop.load()
    store = api.get(reverse("kpis"), {**params, "level": "store"}).json()["results"][0]
    assert store["gmv"] == "346.80" and len(computed) == 3


def test_definitions_page_lists_every_kpi_in_the_readers_language(client, db):
    from metrics.registry import KPIS

    client.force_login(UserFactory(username="anyone"))
    chinese = client.get(reverse("metrics:kpi_definitions")).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(reverse("metrics:kpi_definitions")).content.decode()
    for kpi in KPIS:
        assert f'id="kpi-{kpi.key}"' in chinese and f'id="kpi-{kpi.key}"' in english
        assert escape(kpi.label_zh) in chinese and escape(kpi.definition_zh) in chinese
        assert escape(kpi.label_en) in english and escape(kpi.definition_en) in english
    # English shows no Chinese (issue 18, point 8) and neither names an internal document (point 9).
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("简体中文", ""))
    assert not re.search(r"docs/\S*\.md|种子|seed 0", chinese + english)
