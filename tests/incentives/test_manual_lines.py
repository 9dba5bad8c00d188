"""Manual statement lines (issue 19, point 6): an award, a one-off allowance, a deduction or a
correction that the store's manager or HR adds to a statement with a reason. The sign rules, who
may add, change and remove them (pages and API), that a recomputation never drops them and its
proposed adjustment leaves them out, the approval they go through, locked statements refusing
them, the estimator listing them as "manual, not estimated", the payout workbook, My pay, the
statements list and the change log."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from incentives.models import ManualLine, ManualLineKind, Plan, PlanAssignment, Statement, StatementState
from incentives.selectors.estimate import estimate, estimate_prefill
from incentives.selectors.statements import statement_adjustment, statement_summary
from incentives.services.export import payouts_export
from incentives.services.manual_lines import manual_line_create, manual_line_delete, manual_line_update
from incentives.services.statements import (
    statement_approve,
    statement_lock,
    statement_refresh,
    statements_follow_data,
)
from teams.models import ChangeArea, ChangeRecord
from teams.selectors.scoping import viewer_get
from tests.reviews.test_cycles import sell

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
AUG_21 = dt.date(2026, 8, 21)
D = Decimal
EVIL_TITLE = '=HYPERLINK("http://evil.example/","最佳话术奖")'
EVIL_REASON = "+cmd|' /C calc'!A0"


@pytest.fixture
def month(org, tmp_path):
    """August in store 1: base salary 3,000 and 2% commission for teams X and Y. A sells 2 × 500
    (commission 20), B 100 (2); one statement each, drafts. Store 2: D, base salary only."""
    sell(org, tmp_path, [("a", 3, "500.00"), ("a", 10, "500.00"), ("b", 5, "100.00")])
    plan = Plan.objects.create(name="客服方案", base_salary=D(3000), commission_mode="flat", flat_rate=D("0.02"))
    for team in (org.x, org.y, org.z):
        PlanAssignment.objects.create(plan=plan, team=team, start_date=dt.date(2026, 1, 1))
    for member, store in ((org.a, org.s1), (org.b, org.s1), (org.d, org.s2)):
        statement_refresh(member=member, store=store, month=AUGUST)
    return plan


def statement_of(member) -> Statement:
    return Statement.objects.get(member=member, month=AUGUST)


def as_(org, name: str):
    return viewer_get(user=org.users[name]), org.users[name]


def add(org, who: str, member, kind=ManualLineKind.AWARD, title="最佳话术奖", amount="500.00",
        reason="7月话术评比第一名") -> ManualLine:  # fmt: skip
    viewer, user = as_(org, who)
    return manual_line_create(viewer=viewer, user=user, statement=statement_of(member), kind=kind, title=title,
                              amount=D(amount), reason=reason)  # fmt: skip


def approve(org, member) -> Statement:
    viewer, user = as_(org, "manager_s1")
    return statement_approve(viewer=viewer, user=user, statement=statement_of(member))


def lock(org, member) -> Statement:
    viewer, user = as_(org, "hr")
    return statement_lock(viewer=viewer, user=user, statement=statement_of(member))


def computed_total(statement: Statement) -> Decimal:
    return sum((line.amount for line in statement.lines.all()), D(0))


# --- the rules of a line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, amount, field, english, chinese",
    [
        (ManualLineKind.AWARD, "-100.00", "amount", "An award or an allowance is a positive amount", "奖励和补贴"),
        (ManualLineKind.ALLOWANCE, "-1.00", "amount", "An award or an allowance is a positive amount", "奖励和补贴"),
        (ManualLineKind.DEDUCTION, "200.00", "amount", "A deduction is a negative amount", "扣款是负数"),
        (ManualLineKind.CORRECTION, "0", "amount", "A manual line of ¥0 changes nothing", "¥0"),
    ],
)
def test_the_sign_of_each_kind_is_checked_in_both_languages(org, month, kind, amount, field, english, chinese):
    with pytest.raises(ValidationError) as refused:
        add(org, "hr", org.a, kind=kind, amount=amount)
    for language, text in (("en", english), ("zh-hans", chinese)):
        with translation.override(language):  # the message is read in the reader's language
            assert text in " ".join(refused.value.message_dict[field]), language
    assert not ManualLine.objects.exists()
    assert statement_of(org.a).total == D("3020.00")


def test_a_correction_goes_either_way_and_a_deduction_takes_money_off(org, month):
    add(org, "hr", org.a, kind=ManualLineKind.CORRECTION, title="6月提成更正", amount="-35.50", reason="6月多算")
    add(org, "hr", org.a, kind=ManualLineKind.CORRECTION, title="5月补发", amount="12", reason="5月漏算")
    add(org, "hr", org.a, kind=ManualLineKind.DEDUCTION, title="迟到扣款", amount="-50", reason="迟到三次")
    statement = statement_of(org.a)
    assert sorted(statement.manual_lines.values_list("amount", flat=True)) == [D("-50.00"), D("-35.50"), D("12.00")]
    assert statement.total == D("3020.00") - D("73.50")


def test_a_title_and_a_reason_are_required_in_both_languages(org, month):
    with pytest.raises(ValidationError) as refused:
        add(org, "manager_s1", org.a, title="  ", reason=" \n ")
    for language, title_text, reason_text in (
        ("en", "Give the line a title", "a manual line needs a reason"),
        ("zh-hans", "请填写名目", "手工调整项必须写明原因"),
    ):
        with translation.override(language):
            errors = refused.value.message_dict
            assert title_text in errors["title"][0] and reason_text in errors["reason"][0], language
    page = add_page_post(org, "manager_s1", org.a, {"kind": "manual_award", "title": "最佳新人奖", "amount": "300",
                                                    "reason": ""}, language="zh-hans")  # fmt: skip
    assert page.status_code == 200 and "手工调整项必须写明原因" in page.content.decode()
    assert not ManualLine.objects.exists()


def add_page_post(org, who: str, member, data: dict, language: str = "en"):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(org.users[who])
    client.cookies["django_language"] = language
    return client.post(reverse("incentives:manual_line_add", args=[statement_of(member).pk]), data)


# --- who may add, change and remove -------------------------------------------------------------


def test_the_stores_manager_hr_and_admins_add_staff_and_leads_never(org, month, client_for):
    a = statement_of(org.a)
    url = reverse("incentives:manual_line_add", args=[a.pk])
    data = {"kind": "manual_award", "title": "团队协作奖", "amount": "200.00", "reason": "协助新人"}
    # Staff (even on their own statement) and team leads: 403; outside their scope: 404.
    for name, status in (("staff_a", 403), ("lead_x", 403), ("staff_b", 404), ("manager_s2", 404)):
        client = client_for(org.users[name])
        assert client.get(url).status_code == status, name
        assert client.post(url, data).status_code == status, name
    assert not ManualLine.objects.exists()
    for name in ("manager_s1", "hr", "admin"):
        client = client_for(org.users[name])
        assert client.get(url).status_code == 200
        response = client.post(url, {**data, "title": f"团队协作奖 {name}"})
        assert response.status_code == 302 and response.url.endswith("#manual-lines"), name
    lines = ManualLine.objects.filter(statement=a).order_by("pk")
    assert [(line.title, line.created_by.username) for line in lines] == [
        ("团队协作奖 manager_s1", "manager_s1"), ("团队协作奖 hr", "hr"), ("团队协作奖 admin", "admin")]  # fmt: skip
    assert statement_of(org.a).total == D("3020.00") + 3 * D("200.00")


def test_edit_and_remove_per_role(org, month, client_for):
    line = add(org, "manager_s1", org.a)
    edit = reverse("incentives:manual_line_edit", args=[line.statement_id, line.pk])
    remove = reverse("incentives:manual_line_remove", args=[line.statement_id, line.pk])
    change = {"kind": "manual_award", "title": "最佳话术奖", "amount": "800.00", "reason": "7月话术评比第一名",
              "change_reason": "评比结果复核后提高"}  # fmt: skip
    for name, status in (("staff_a", 403), ("lead_x", 403), ("staff_b", 404), ("manager_s2", 404)):
        client = client_for(org.users[name])
        assert client.get(edit).status_code == status, name
        assert client.post(edit, change).status_code == status, name
        assert client.post(remove, {"reason": "不该发"}).status_code == status, name
    assert ManualLine.objects.get(pk=line.pk).amount == D("500.00")

    hr = client_for(org.users["hr"])
    # A change needs its reason.
    page = hr.post(edit, {**change, "change_reason": ""})
    assert page.status_code == 200 and ManualLine.objects.get(pk=line.pk).amount == D("500.00")
    assert hr.post(edit, change).status_code == 302
    line.refresh_from_db()
    assert (line.amount, line.updated_by.username) == (D("800.00"), "hr")
    assert statement_of(org.a).total == D("3820.00")
    # The same values again: nothing is changed or recorded.
    hr.post(edit, {**change, "change_reason": "再保存一次"})
    assert ChangeRecord.objects.filter(object_id=str(line.pk)).count() == 2

    assert hr.post(remove, {"reason": ""}).status_code == 200  # a removal needs its reason too
    assert ManualLine.objects.filter(pk=line.pk).exists()
    manager = client_for(org.users["manager_s1"])
    assert manager.post(remove, {"reason": "评比作废"}).status_code == 302
    assert not ManualLine.objects.filter(pk=line.pk).exists()
    assert statement_of(org.a).total == D("3020.00")
    # A line is reached through its own statement only.
    other = add(org, "hr", org.b)
    wrong = reverse("incentives:manual_line_edit", args=[statement_of(org.a).pk, other.pk])
    assert manager.get(wrong).status_code == 404


def test_the_services_refuse_staff_and_leads(org, month):
    for name in ("staff_a", "lead_x"):
        with pytest.raises(PermissionDenied):
            add(org, name, org.a)
    line = add(org, "hr", org.a)
    viewer, user = as_(org, "lead_x")
    with pytest.raises(PermissionDenied):
        manual_line_delete(viewer=viewer, user=user, line=line, reason="x")
    with pytest.raises(PermissionDenied):
        manual_line_update(viewer=viewer, user=user, line=line, kind=line.kind, title="x", amount=D(1), reason="x",
                           change_reason="x")  # fmt: skip


# --- recomputations ------------------------------------------------------------------------------


def test_a_draft_recomputed_keeps_its_manual_lines(org, month, tmp_path):
    add(org, "hr", org.a)
    add(org, "hr", org.a, kind=ManualLineKind.DEDUCTION, title="迟到扣款", amount="-50", reason="迟到三次")
    assert statement_of(org.a).total == D("3020.00") + D("450.00")
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)  # the same data: the same rows
    assert statement_of(org.a).manual_lines.count() == 2 and statement_of(org.a).total == D("3470.00")
    sell(org, tmp_path, [("a", 20, "1000.00")], tag="late")  # 20 more commission
    statements_follow_data(store=org.s1, month=AUGUST)
    statement = statement_of(org.a)
    assert computed_total(statement) == D("3040.00")
    assert statement.manual_lines.count() == 2 and statement.total == D("3040.00") + D("450.00")
    assert statement.proposed_total is None


def test_an_approved_statement_keeps_its_manual_lines_out_of_the_proposed_adjustment(org, month, tmp_path):
    add(org, "manager_s1", org.a)
    approve(org, org.a)
    sell(org, tmp_path, [("a", 20, "1000.00")], tag="late")
    statements_follow_data(store=org.s1, month=AUGUST)
    statement = statement_of(org.a)
    # The approved lines stay; the data changed the commission by 20, and only that is proposed.
    assert statement.total == D("3520.00") and computed_total(statement) == D("3020.00")
    assert statement.proposed_total == D("3540.00") and statement.adjustment == D("20.00")
    assert all(line["kind"] != "manual_award" for line in statement.proposed_lines)
    adjustment = statement_adjustment(statement=statement)
    manual = next(row for row in adjustment.rows if row.kind == "manual")
    assert (manual.kept, manual.proposed, manual.difference) == (D("500.00"), D("500.00"), D(0))
    assert sum(row.kept for row in adjustment.rows) == adjustment.kept_total
    assert sum(row.proposed for row in adjustment.rows) == adjustment.proposed_total
    # A manual line added now moves both totals alike: the adjustment is still what the data changed.
    add(org, "hr", org.a, kind=ManualLineKind.ALLOWANCE, title="差旅补贴", amount="120", reason="外出培训")
    statement = statement_of(org.a)
    assert (statement.total, statement.proposed_total) == (D("3640.00"), D("3660.00"))
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert statement_of(org.a).adjustment == D("20.00") and statement_of(org.a).manual_lines.count() == 2
    # Back to the data of the approval: no adjustment, manual lines or not.
    from metrics.models import Order

    Order.objects.filter(order_id="Olate0").delete()
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert statement_of(org.a).proposed_total is None


# --- the approval they go through ------------------------------------------------------------------


def test_on_a_draft_a_line_is_approved_with_the_statement(org, month):
    add(org, "hr", org.a)
    statement = approve(org, org.a)
    assert statement.state == StatementState.APPROVED and not statement.awaits_reapproval
    assert lock(org, org.a).state == StatementState.LOCKED
    assert statement_of(org.a).total == D("3520.00")


@pytest.mark.parametrize("change", ["add", "edit", "remove"])
def test_a_change_after_approval_waits_for_the_managers_approval_before_hr_locks(org, month, client_for, change):
    line = add(org, "hr", org.a, amount="100")
    approve(org, org.a)
    viewer, user = as_(org, "hr")
    if change == "add":
        add(org, "hr", org.a, kind=ManualLineKind.ALLOWANCE, title="差旅补贴", amount="300", reason="外出培训")
    elif change == "edit":
        manual_line_update(viewer=viewer, user=user, line=line, kind=line.kind, title=line.title, amount=D(150),
                           reason=line.reason, change_reason="复核")  # fmt: skip
    else:
        manual_line_delete(viewer=viewer, user=user, line=line, reason="作废")
    statement = statement_of(org.a)
    assert statement.state == StatementState.APPROVED and statement.awaits_reapproval
    # HR cannot lock it yet, on the page or by the service; a team lead cannot approve it.
    hr = client_for(org.users["hr"])
    page = hr.get(reverse("incentives:statement", args=[statement.pk]))
    assert not page.context["can_lock"] and 'data-testid="awaits-reapproval"' in page.content.decode()
    with pytest.raises(ValidationError):
        lock(org, org.a)
    hr.post(reverse("incentives:lock", args=[statement.pk]))
    assert statement_of(org.a).state == StatementState.APPROVED
    client_for(org.users["lead_x"]).post(reverse("incentives:approve", args=[statement.pk]))
    assert statement_of(org.a).awaits_reapproval
    # The manager sees it among the statements to approve, and approves it again.
    manager = client_for(org.users["manager_s1"])
    listing = manager.get(reverse("incentives:statements") + "?month=2026-08")
    row = next(r for r in listing.context["page"].object_list if r.statement.pk == statement.pk)
    assert row.can_approve and listing.context["summary"].reapprovals == 1
    manager.post(reverse("incentives:approve", args=[statement.pk]))
    statement = statement_of(org.a)
    assert not statement.awaits_reapproval and statement.approved_by == org.users["manager_s1"]
    assert lock(org, org.a).state == StatementState.LOCKED


def test_an_approved_statement_without_changes_is_not_approved_twice(org, month):
    approve(org, org.a)
    with pytest.raises(ValidationError):
        approve(org, org.a)


def test_a_locked_statement_refuses_every_change(org, month, client_for, api_for):
    line = add(org, "hr", org.a)
    approve(org, org.a)
    lock(org, org.a)
    viewer, user = as_(org, "hr")
    with pytest.raises(ValidationError):
        add(org, "hr", org.a, title="补发")
    with pytest.raises(ValidationError):
        manual_line_update(viewer=viewer, user=user, line=line, kind=line.kind, title="x", amount=D(1), reason="x",
                           change_reason="x")  # fmt: skip
    with pytest.raises(ValidationError):
        manual_line_delete(viewer=viewer, user=user, line=line, reason="x")
    hr = client_for(org.users["hr"])
    a = statement_of(org.a)
    page = hr.get(reverse("incentives:statement", args=[a.pk]))
    assert not page.context["can_edit_manual"] and 'data-testid="manual-line-add"' not in page.content.decode()
    add_url = reverse("incentives:manual_line_add", args=[a.pk])
    response = hr.post(add_url, {"kind": "manual_award", "title": "补发", "amount": "1", "reason": "x"}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert hr.post(reverse("incentives:manual_line_remove", args=[a.pk, line.pk]), {"reason": "x"}).status_code == 302
    api = api_for(org.users["hr"])
    answer = api.post(reverse("statement-manual-line-list", args=[a.pk]),
                      {"kind": "manual_award", "title": "补发", "amount": "1.00", "reason": "x"}, format="json")  # fmt: skip
    assert answer.status_code == 400
    assert list(statement_of(org.a).manual_lines.all()) == [line]
    assert statement_of(org.a).state == StatementState.LOCKED and statement_of(org.a).total == D("3520.00")


# --- where they are shown --------------------------------------------------------------------------


def test_the_statement_page_shows_them_with_who_and_why(org, month, client_for):
    add(org, "manager_s1", org.a)
    add(org, "hr", org.a, kind=ManualLineKind.DEDUCTION, title="迟到扣款", amount="-50", reason="迟到三次")
    a = statement_of(org.a)
    for name, editable in (("staff_a", False), ("lead_x", False), ("hr", True)):
        page = client_for(org.users[name]).get(reverse("incentives:statement", args=[a.pk]),
                                               HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
        html = page.content.decode()
        assert 'data-testid="manual-lines-table"' in html and "最佳话术奖" in html and "7月话术评比第一名" in html
        assert "迟到扣款" in html and "manager_s1" in html
        assert page.context["manual_total"] == D("450.00") and page.context["computed_total"] == D("3020.00")
        assert ("manual-line-add" in html) is editable and page.context["can_edit_manual"] is editable, name


def test_my_pay_shows_the_member_their_manual_lines_and_reasons(org, month, client_for):
    add(org, "hr", org.a)
    add(org, "hr", org.b, title="最佳新人奖", reason="B的奖")
    html = client_for(org.users["staff_a"]).get(reverse("incentives:mine")).content.decode()
    assert "最佳话术奖" in html and "7月话术评比第一名" in html
    assert "最佳新人奖" not in html and "B的奖" not in html


def test_the_estimator_lists_them_as_manual_not_estimated(org, month, client_for, monkeypatch):
    add(org, "hr", org.a)
    add(org, "hr", org.a, kind=ManualLineKind.DEDUCTION, title="迟到扣款", amount="-50", reason="迟到三次")
    prefill = estimate_prefill(member=org.a, store=org.s1, plan=month, today=AUG_21)
    assert [line.title for line in prefill.manual] == ["最佳话术奖", "迟到扣款"]
    # The estimate models no manual line: it is the statement's total less them.
    result = estimate(plan=month, **prefill.inputs)
    assert result.total == D("3020.00") and prefill.left_out_total == D("450.00")
    assert result.total + prefill.left_out_total == statement_of(org.a).total
    monkeypatch.setattr("incentives.views.store_today", lambda store, now=None: AUG_21)
    client = client_for(org.users["staff_a"])
    for language, label in (("en", " (manual, not estimated)"), ("zh-hans", "（手工添加，未估算）")):
        client.cookies["django_language"] = language
        html = client.get(reverse("incentives:mine"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        left_out = html[html.index('data-testid="left-out"') :].split("</p>")[0]
        assert f"最佳话术奖 ¥500.00{label}" in left_out and f"迟到扣款 ¥-50.00{label}" in left_out, language


def test_the_statements_list_counts_them_in_the_totals(org, month, client_for):
    add(org, "hr", org.a)
    add(org, "hr", org.d, kind=ManualLineKind.ALLOWANCE, title="差旅补贴", amount="80", reason="出差")
    hr = client_for(org.users["hr"])
    page = hr.get(reverse("incentives:statements") + "?month=2026-08", HTTP_ACCEPT_LANGUAGE="en")
    summary = page.context["summary"]
    assert summary.total == D("3020.00") + D("3002.00") + D("3000.00") + D("580.00")
    assert summary.manual_total == D("580.00")
    rows = {row.statement.member_id: row.manual for row in page.context["page"].object_list}
    assert rows == {org.a.pk: D("500.00"), org.b.pk: None, org.d.pk: D("80.00")}
    assert statement_summary(statements=Statement.objects.filter(store=org.s1)).manual_total == D("500.00")


def test_the_payout_workbook_has_them_in_the_totals_and_the_lines(org, month):
    add(org, "hr", org.a, title=EVIL_TITLE, reason=EVIL_REASON)
    add(org, "hr", org.a, kind=ManualLineKind.DEDUCTION, title="迟到扣款", amount="-50", reason="迟到三次")
    approve(org, org.a)
    add(org, "hr", org.a, kind=ManualLineKind.ALLOWANCE, title="差旅补贴", amount="120", reason="外出培训")
    book = load_workbook(io.BytesIO(payouts_export(month=AUGUST, lang="en")))
    rows = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    summary = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    a = summary[org.a.display_name]
    assert (a["Award"], a["One-off allowance"], a["Deduction"], a["Correction"]) == (500, 120, -50, None)
    assert a["Total pay"] == 3590 and a["Commission"] == 20
    assert a["State"] == "Approved by the manager, changes await the manager's approval"
    assert summary[org.b.display_name]["Award"] is None
    ws = book["Lines"]
    header = [cell.value for cell in ws[1]]
    lines = [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)]
    mine = [line for line in lines if line["Name"] == org.a.display_name]
    assert [(line["No."], line["Kind"], line["Amount"]) for line in mine] == [
        (1, "Base salary", 3000), (2, "Commission", 20), (3, "Award", 500), (4, "Deduction", -50),
        (5, "One-off allowance", 120)]  # fmt: skip
    assert (mine[2]["Explanation"], mine[2]["Reason"]) == (EVIL_TITLE, EVIL_REASON)
    assert mine[2]["Added by"].startswith("hr ")
    # What people typed stays text: never a formula.
    cells = [cell for row in ws.iter_rows(min_row=2) for cell in row if cell.value in (EVIL_TITLE, EVIL_REASON)]
    assert len(cells) == 2 and all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
    definitions = [r[1] for r in book["Definitions"].iter_rows(values_only=True)]
    assert {"manual_award", "manual_allowance", "manual_deduction", "manual_correction"} <= set(definitions)
    zh = load_workbook(io.BytesIO(payouts_export(month=AUGUST, lang="zh-hans")))
    assert {"奖励", "一次性补贴", "扣款", "更正"} <= {c.value for c in zh.worksheets[0][1]}


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_reads_statements_in_scope_and_writes_manual_lines(org, month, api_for):
    a = statement_of(org.a)
    lines_url = reverse("statement-manual-line-list", args=[a.pk])
    body = {"kind": "manual_award", "title": "最佳话术奖", "amount": "500.00", "reason": "7月话术评比第一名"}
    staff = api_for(org.users["staff_a"])
    assert {s["id"] for s in staff.get(reverse("statement-list")).json()["results"]} == {a.pk}
    assert staff.post(lines_url, body, format="json").status_code == 403
    assert api_for(org.users["lead_x"]).post(lines_url, body, format="json").status_code == 403
    assert api_for(org.users["manager_s2"]).post(lines_url, body, format="json").status_code == 404
    assert api_for(org.users["manager_s2"]).get(lines_url).status_code == 404
    manager = api_for(org.users["manager_s1"])
    refused = manager.post(lines_url, {**body, "amount": "-500.00"}, format="json")
    assert refused.status_code == 400 and "amount" in refused.json()
    created = manager.post(lines_url, body, format="json")
    assert created.status_code == 201
    line = created.json()
    assert (line["amount"], line["title"], line["created_by_name"]) == ("500.00", "最佳话术奖", "manager_s1")
    detail = staff.get(reverse("statement-detail", args=[a.pk])).json()
    assert detail["total"] == "3520.00" and [m["title"] for m in detail["manual_lines"]] == ["最佳话术奖"]
    assert {row["kind"] for row in detail["lines"]} == {"base", "commission"}
    line_url = reverse("statement-manual-line-detail", args=[a.pk, line["id"]])
    assert staff.get(line_url).status_code == 200
    assert staff.patch(line_url, {"amount": "1.00", "change_reason": "x"}, format="json").status_code == 403
    no_reason = manager.patch(line_url, {"amount": "600.00"}, format="json")
    assert no_reason.status_code == 400 and "change_reason" in no_reason.json()
    changed = manager.patch(line_url, {"amount": "600.00", "change_reason": "复核"}, format="json")
    assert changed.status_code == 200 and changed.json()["amount"] == "600.00"
    assert manager.delete(line_url).status_code == 400  # no reason
    assert manager.delete(line_url + "?reason=评比作废").status_code == 204
    assert not ManualLine.objects.exists() and statement_of(org.a).total == D("3020.00")
    # Another statement's line through this statement's address: not found.
    other = add(org, "hr", org.b)
    assert manager.get(reverse("statement-manual-line-detail", args=[a.pk, other.pk])).status_code == 404


# --- the change log, and the whole way --------------------------------------------------------------


def test_every_add_change_and_removal_is_in_the_change_log_with_its_reason(org, month, client_for):
    line = add(org, "manager_s1", org.a)
    viewer, user = as_(org, "hr")
    manual_line_update(viewer=viewer, user=user, line=line, kind=line.kind, title=line.title, amount=D(800),
                       reason=line.reason, change_reason="复核后提高")  # fmt: skip
    manual_line_delete(viewer=viewer, user=user, line=ManualLine.objects.get(pk=line.pk), reason="评比作废")
    records = list(ChangeRecord.objects.filter(area=ChangeArea.STATEMENTS).order_by("pk"))
    assert [(r.action, r.actor.username, r.reason) for r in records] == [
        ("created", "manager_s1", "7月话术评比第一名"), ("changed", "hr", "复核后提高"), ("deleted", "hr", "评比作废")]  # fmt: skip
    created, changed, deleted = records
    assert created.changes["amount"] == [None, "500.00"] and created.changes["kind"] == [None, "manual_award"]
    assert changed.changes == {"amount": ["500.00", "800.00"]}
    assert deleted.changes["title"] == ["最佳话术奖", None]
    assert all(r.store == org.s1 and r.object_type == "incentives.manualline" for r in records)
    assert created.label == f"{org.a.display_name} · 2026-08 · 最佳话术奖"
    page = client_for(org.users["hr"]).get(reverse("teams:change_list") + "?area=statements",
                                           HTTP_ACCEPT_LANGUAGE="en").content.decode()  # fmt: skip
    assert "复核后提高" in page and "评比作废" in page and created.label in page


def test_a_manual_line_through_approval_into_the_export(org, month, client_for, api_for):
    """The manager adds an award on the draft and approves; HR adds a travel allowance through the
    API after approval; HR cannot lock until the manager approves again; then HR locks and the
    payout workbook (downloaded as HR would) pays both, with their reasons."""
    a = statement_of(org.a)
    manager = client_for(org.users["manager_s1"])
    manager.post(reverse("incentives:manual_line_add", args=[a.pk]),
                 {"kind": "manual_award", "title": "最佳话术奖", "amount": "500", "reason": "7月话术评比第一名"})  # fmt: skip
    manager.post(reverse("incentives:approve", args=[a.pk]))
    assert statement_of(org.a).state == StatementState.APPROVED
    created = api_for(org.users["hr"]).post(
        reverse("statement-manual-line-list", args=[a.pk]),
        {"kind": "manual_allowance", "title": "差旅补贴", "amount": "260.00", "reason": "8月杭州培训"}, format="json",
    )  # fmt: skip
    assert created.status_code == 201 and created.json()["awaits_approval"] is True
    hr = client_for(org.users["hr"])
    hr.post(reverse("incentives:lock", args=[a.pk]))
    assert statement_of(org.a).state == StatementState.APPROVED
    manager = client_for(org.users["manager_s1"])
    manager.post(reverse("incentives:approve", args=[a.pk]))
    hr = client_for(org.users["hr"])
    hr.post(reverse("incentives:lock", args=[a.pk]))
    assert statement_of(org.a).state == StatementState.LOCKED
    download = hr.get(reverse("incentives:export"), {"month": "2026-08", "store": org.s1.pk, "lang": "zh-hans"})
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content) if download.streaming else download.content))
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    row = dict(zip(rows[0], next(r for r in rows if r[1] == org.a.display_name), strict=True))
    with translation.override("zh-hans"):
        total_pay = translation.gettext("Total pay")
    assert (row["奖励"], row["一次性补贴"], row["扣款"], row[total_pay]) == (500, 260, None, 3780)
    assert statement_of(org.a).total == D("3780.00")  # 3,000 + 20 + 500 + 260
    lines = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    mine = [r for r in lines if r[1] == org.a.display_name]
    assert [r[8] for r in mine][-2:] == ["最佳话术奖", "差旅补贴"] and [r[13] for r in mine][-2:] == [
        "7月话术评比第一名", "8月杭州培训"]  # fmt: skip
