"""The pay plan editor's rules (issue 19, point 5): the validation every plan passes (telesales
rates within 1.5%–3%, ascending tiers, caps and amounts not negative, rates within 0–100%),
copies, versions (a locked statement keeps the version and total it was computed with; an edit
of a plan it used makes version 2, to which the assignments move and under which the open
statements recompute), recurring allowances on statements, the export and the estimator, the
simulation equal to the statements the plan then produces, and the change log of every change."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from incentives.models import (
    CommissionTier,
    LineKind,
    Milestone,
    Modifier,
    Plan,
    PlanAllowance,
    PlanAssignment,
    RankingAward,
    Statement,
    StatementLine,
    StatementState,
)
from incentives.selectors.estimate import estimate
from incentives.selectors.plans import PlanParts, plan_parts_read, plan_versions
from incentives.selectors.simulation import plan_simulate
from incentives.services.plans import (
    plan_assign,
    plan_assignment_delete,
    plan_assignment_update,
    plan_copy,
    plan_create,
    plan_retire,
    plan_update,
)
from incentives.services.statements import (
    statement_approve,
    statement_lock,
    statement_refresh,
    statements_refresh,
)
from teams.models import ChangeRecord
from teams.selectors.scoping import viewer_get
from tests.reviews.test_cycles import sell

pytestmark = pytest.mark.django_db
AUGUST, SEPTEMBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1)


def draft(name="客服方案", *, tiers=(), modifiers=(), milestones=(), awards=(), allowances=(), **fields) -> PlanParts:
    """A plan in memory: tiers (start, rate), allowances (zh, en, amount, from, to)."""
    fields = {"base_salary": D(3000), **fields}
    return PlanParts(
        plan=Plan(name=name, **fields),
        tiers=[CommissionTier(from_completion=D(s), rate=D(r)) for s, r in tiers],
        modifiers=[Modifier(kpi_key=k, comparison=c, threshold=D(t), multiplier=D(m)) for k, c, t, m in modifiers],
        milestones=[Milestone(kpi_key=k, comparison=c, threshold=D(t), amount=D(a)) for k, c, t, a in milestones],
        ranking_awards=[RankingAward(kpi_key=k, amounts=list(a)) for k, a in awards],
        allowances=[PlanAllowance(name_zh=zh, name_en=en, amount=D(a), start_month=f, end_month=t)
                    for zh, en, a, f, t in allowances],
    )  # fmt: skip


@pytest.fixture
def paid(org, tmp_path):
    """August: A sells 3 × 300, B 1 × 100, C (team Y) 2 × 50."""
    sell(org, tmp_path, [("a", 3, "300.00"), ("a", 10, "300.00"), ("a", 20, "300.00"), ("b", 5, "100.00"),
                         ("c", 6, "50.00"), ("c", 7, "50.00")])  # fmt: skip
    return org


def errors_of(call) -> dict:
    with translation.override("en"), pytest.raises(ValidationError) as error:
        call()
    return {key: [str(m) for m in messages] for key, messages in error.value.message_dict.items()}


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["0.0149", "0.031"])
def test_a_telesales_plans_rates_lie_within_1_5_and_3_percent(org, rate):
    tiered = draft(kind="telesales", commission_mode="tiered", commission_base="won",
                   tiers=[("0", "0.015"), ("1", rate)])  # fmt: skip
    assert any("between 1.5% and 3%" in m for m in errors_of(lambda: plan_create(actor=None, parts=tiered))["tiers"])
    flat = draft(kind="telesales", commission_mode="flat", flat_rate=D(rate))
    assert "flat_rate" in errors_of(lambda: plan_create(actor=None, parts=flat))
    assert not Plan.objects.exists() and not CommissionTier.objects.exists()
    # The bounds themselves, and any rate for a general plan.
    plan_create(
        actor=None, parts=draft(kind="telesales", commission_mode="tiered", tiers=[("0", "0.015"), ("1", "0.03")])
    )
    plan_create(actor=None, parts=draft(commission_mode="tiered", tiers=[("0", rate)]))
    assert Plan.objects.count() == 2


def test_tiers_ascend_caps_and_amounts_are_not_negative_and_rates_are_percentages(org):
    errors = errors_of(lambda: plan_create(actor=None, parts=draft(
        commission_mode="tiered", commission_cap=D(-1), base_salary=D(-5), pk_bonus_rate=D("1.5"), pk_kpi_key="gmv",
        tiers=[("1.0", "0.02"), ("0.5", "0.01"), ("2", "1.2")],
        milestones=[("no_such_kpi", "ge", "1", "100")],
        allowances=[("", "", "-3", AUGUST, dt.date(2026, 7, 1))],
    )))  # fmt: skip
    assert errors["commission_cap"] == ["The commission cap cannot be negative (empty: no cap)."]
    assert errors["base_salary"] == ["An amount cannot be negative."]
    assert errors["pk_bonus_rate"] == ["A rate lies between 0% and 100%."]
    assert "Row 3: A rate lies between 0% and 100%." in errors["tiers"]
    assert any("each starting above the one before" in m for m in errors["tiers"])
    assert errors["milestones"] == ["Row 1: Choose a KPI from the list."]
    assert set(errors["allowances"]) == {"Row 1: Name the allowance (in Chinese, English or both).",
                                         "Row 1: An allowance is more than ¥0 a month.",
                                         "Row 1: The last month comes after the first."}  # fmt: skip
    assert errors_of(lambda: plan_create(actor=None, parts=draft(commission_mode="tiered")))["tiers"] == [
        "A tiered commission needs at least one tier."
    ]
    assert not Plan.objects.exists()


def test_only_hr_and_administrators_write_plans(org):
    with pytest.raises(PermissionDenied):
        plan_create(actor=org.users["manager_s1"], parts=draft())
    with pytest.raises(PermissionDenied):
        plan_create(actor=org.users["staff_a"], parts=draft())
    assert plan_create(actor=org.users["hr"], parts=draft()).version == 1
    assert plan_create(actor=org.users["admin"], parts=draft("另一个")).version == 1


# --- copy, versions, retirement -------------------------------------------------------------------------


def test_a_copy_is_an_independent_first_version_with_the_parts_and_no_assignment(org):
    plan = plan_create(actor=None, parts=draft(commission_mode="tiered", tiers=[("0", "0.01"), ("1", "0.02")],
                                               awards=[("gmv", [800, 500])], allowances=[("差旅补贴", "", "300", None, None)]))  # fmt: skip
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    with translation.override("en"):
        copy = plan_copy(actor=org.users["hr"], plan=plan)
    assert (copy.name, copy.version, copy.replaces, copy.retired_at) == ("客服方案 (copy)", 1, None, None)
    assert [(t.from_completion, t.rate) for t in copy.tiers.all()] == [(D("0"), D("0.01")), (D("1"), D("0.02"))]
    assert copy.ranking_awards.get().amounts == [800, 500] and copy.allowances.get().amount == D("300.00")
    assert not copy.assignments.exists() and plan.assignments.count() == 1
    assert plan_versions(plan=copy) == [copy]


@pytest.fixture
def locked_august(paid):
    """2% of GMV for teams X and Y from August: A's and C's August statements locked, B's approved."""
    org = paid
    plan = plan_create(actor=None, parts=draft(commission_mode="flat", flat_rate=D("0.02")))
    for team in (org.x, org.y):
        plan_assign(actor=None, plan=plan, team=team, start_date=AUGUST)
    manager, hr = (viewer_get(user=org.users[name]) for name in ("manager_s1", "hr"))
    made = {key: statement_refresh(member=getattr(org, key), store=org.s1, month=AUGUST) for key in "abc"}
    for key in "abc":
        statement_approve(viewer=manager, user=None, statement=made[key])
    for key in "ac":
        statement_lock(viewer=hr, user=None, statement=made[key])
    september = statement_refresh(member=org.a, store=org.s1, month=SEPTEMBER)  # a draft
    return plan, {**made, "a9": september}


def test_editing_a_plan_a_locked_statement_used_makes_version_2(org, locked_august, task_queue,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    plan, made = locked_august
    locked_total = Statement.objects.get(pk=made["a"].pk).total
    assert locked_total == D("3018.00")  # 3,000 + 900 × 2%
    edited = draft(commission_mode="flat", flat_rate=D("0.05"), allowances=[("差旅补贴", "Travel", "300", None, None)])
    with django_capture_on_commit_callbacks(execute=True):
        v2 = plan_update(actor=org.users["hr"], plan=plan, parts=edited)
    plan.refresh_from_db()
    assert (v2.version, v2.replaces_id, v2.retired_at) == (2, plan.pk, None)
    assert plan.retired_at is not None and plan.flat_rate == D("0.02000")  # version 1 unchanged
    assert set(PlanAssignment.objects.values_list("plan_id", flat=True)) == {v2.pk}  # the spans stay
    assert list(PlanAssignment.objects.order_by("team_id").values_list("start_date", "end_date")) == [
        (AUGUST, None), (AUGUST, None)]  # fmt: skip
    assert plan_versions(plan=plan) == [v2, plan]
    # The open statements recompute under version 2 once it commits (August's and September's).
    assert sorted(task_queue.of("statements_follow_data_task")) == [
        (org.s1.pk, AUGUST.isoformat()), (org.s1.pk, SEPTEMBER.isoformat())]  # fmt: skip
    task_queue.run_all()
    a, b, c, a9 = (Statement.objects.get(pk=made[k].pk) for k in ("a", "b", "c", "a9"))
    # Locked: version 1 and its total, no proposal; approved: its lines kept, the difference proposed.
    assert (a.plan_id, a.total, a.proposed_total) == (plan.pk, locked_total, None)
    assert (c.plan_id, c.total, c.proposed_total) == (plan.pk, D("3002.00"), None)
    assert (b.plan_id, b.total, b.proposed_total) == (plan.pk, D("3002.00"), D("3305.00"))  # 100 × 5% + 300
    assert (a9.plan_id, a9.state) == (v2.pk, StatementState.DRAFT)
    assert a9.lines.get(kind=LineKind.ALLOWANCE).amount == D("300.00")
    # A recompute of the locked month (the Recompute button) still computes A with version 1.
    statements_refresh(store=org.s1, month=AUGUST)
    a.refresh_from_db()
    assert (a.plan_id, a.total, a.proposed_total) == (plan.pk, locked_total, None)
    # The retired version is not edited again, nor assigned.
    with pytest.raises(ValidationError):
        plan_update(actor=None, plan=plan, parts=edited)
    with pytest.raises(ValidationError):
        plan_assign(actor=None, plan=plan, member=org.a, start_date=SEPTEMBER)


def test_a_plan_no_locked_statement_used_is_edited_in_place_and_its_drafts_follow(paid, task_queue,
                                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    org = paid
    plan = plan_create(actor=None, parts=draft(commission_mode="flat", flat_rate=D("0.02")))
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    with django_capture_on_commit_callbacks(execute=True):
        same = plan_update(actor=None, plan=plan, parts=draft(commission_mode="flat", flat_rate=D("0.03")))
    assert same.pk == plan.pk and same.version == 1 and Plan.objects.count() == 1
    task_queue.run_all()
    statement.refresh_from_db()
    assert statement.total == D("3027.00")  # 900 × 3%
    # Saving it unchanged writes nothing (no version, no record).
    records = ChangeRecord.objects.count()
    assert plan_update(actor=None, plan=same, parts=draft(commission_mode="flat", flat_rate=D("0.03"))).pk == plan.pk
    assert ChangeRecord.objects.count() == records


def test_a_plan_is_retired_once_nobody_is_on_it_any_more(org):
    plan = plan_create(actor=None, parts=draft())
    assignment = plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    with pytest.raises(ValidationError):
        plan_retire(actor=None, plan=plan, today=SEPTEMBER)
    plan_assignment_update(actor=None, assignment=assignment, start_date=AUGUST, end_date=dt.date(2026, 8, 31))
    assert plan_retire(actor=None, plan=plan, today=SEPTEMBER).retired_at is not None


def test_a_new_assignment_ends_the_open_one_and_an_overlap_is_refused(org):
    first, second = plan_create(actor=None, parts=draft("一")), plan_create(actor=None, parts=draft("二"))
    old = plan_assign(actor=None, plan=first, team=org.x, start_date=AUGUST)
    plan_assign(actor=None, plan=second, team=org.x, start_date=SEPTEMBER)
    old.refresh_from_db()
    assert old.end_date == dt.date(2026, 8, 31)
    with pytest.raises(ValidationError):
        plan_assign(actor=None, plan=first, team=org.x, start_date=dt.date(2026, 8, 20), end_date=dt.date(2026, 9, 5))
    store2 = plan_create(actor=None, parts=draft("S2", store=org.s2))
    with pytest.raises(ValidationError):
        plan_assign(actor=None, plan=store2, team=org.x, start_date=AUGUST)
    with pytest.raises(ValidationError):
        plan_assign(actor=None, plan=store2, member=org.a, start_date=AUGUST)


# --- allowances ---------------------------------------------------------------------------------------------


def test_a_recurring_allowance_is_a_line_of_every_month_it_applies_to(paid):
    org = paid
    plan = plan_create(actor=None, parts=draft(allowances=[
        ("差旅补贴", "Travel allowance", "300", None, None), ("通讯补贴", "", "100", SEPTEMBER, None),
        ("餐补", "Meals", "50", None, dt.date(2026, 7, 1))]))  # fmt: skip
    plan_assign(actor=None, plan=plan, team=org.x, start_date=dt.date(2026, 7, 1))
    august = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    lines = list(august.lines.filter(kind=LineKind.ALLOWANCE))
    assert [line.amount for line in lines] == [D("300.00")] and august.total == D("3300.00")
    with translation.override("en"):
        assert lines[0].explanation_text == "Travel allowance, a recurring allowance of plan 客服方案: ¥300.00 a month."
    with translation.override("zh-hans"):
        assert lines[0].explanation_text.startswith("差旅补贴")
    september = statement_refresh(member=org.a, store=org.s1, month=SEPTEMBER)
    assert sorted(september.lines.filter(kind=LineKind.ALLOWANCE).values_list("amount", flat=True)) == [
        D("100.00"), D("300.00")]  # fmt: skip
    with translation.override("en"):  # a name written only in Chinese shows in Chinese
        assert "通讯补贴" in september.lines.get(kind=LineKind.ALLOWANCE, amount=D(100)).explanation_text
    july = statement_refresh(member=org.a, store=org.s1, month=dt.date(2026, 7, 1))
    assert sorted(july.lines.filter(kind=LineKind.ALLOWANCE).values_list("amount", flat=True)) == [
        D("50.00"), D("300.00")]  # fmt: skip
    # The estimator: the month's allowances, as on the statement.
    with translation.override("en"):
        result = estimate(plan=plan, month=AUGUST)
        assert result.lines[1].explanation == lines[0].explanation_text
    assert [(line.kind, line.amount) for line in result.lines] == [(LineKind.BASE, D("3000.00")),
                                                                    (LineKind.ALLOWANCE, D("300.00"))]  # fmt: skip
    assert estimate(plan=plan, month=SEPTEMBER).total == september.total


def test_the_payout_export_has_an_allowance_column_and_the_plans_allowances(paid):
    from io import BytesIO

    from openpyxl import load_workbook

    from incentives.services.export import payouts_export

    org = paid
    plan = plan_create(actor=None, parts=draft(allowances=[("差旅补贴", "Travel allowance", "300", None, None)]))
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    book = load_workbook(BytesIO(payouts_export(month=AUGUST, lang="en")))
    summary = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    row = dict(zip(summary[0], summary[1], strict=True))
    assert (row["Allowance"], row["Total pay"], row["Plan"]) == (300, 3300, "客服方案 (version 1)")
    lines = [list(r) for r in book["Lines"].iter_rows(values_only=True)]
    assert ["Allowance", 300] in [r[6:8] for r in lines]
    definitions = [list(r) for r in book["Definitions"].iter_rows(values_only=True)]
    assert next(r for r in definitions if r[0] == "客服方案 (version 1)")[-1] == "Travel allowance ¥300.00 a month"


# --- simulation -----------------------------------------------------------------------------------------------


def test_the_simulation_equals_the_statements_the_plan_then_produces_and_writes_nothing(paid):
    org = paid
    today = plan_create(actor=None, parts=draft("今天", commission_mode="flat", flat_rate=D("0.02")))
    todays = plan_assign(actor=None, plan=today, team=org.x, start_date=AUGUST)
    proposal = draft("草案", base_salary=D(2500), commission_mode="tiered", tier_mode="marginal",
                     tiers=[("0", "0.01"), ("0.5", "0.04")], modifiers=[("inquiry_to_payment_rate", "ge", "0.4", "1.1")],
                     milestones=[("gmv", "ge", "500", "200")], awards=[("gmv", [800, 500])],
                     allowances=[("差旅补贴", "", "300", None, None)])  # fmt: skip
    counts = (
        Plan.objects.count(),
        Statement.objects.count(),
        StatementLine.objects.count(),
        CommissionTier.objects.count(),
    )
    simulation = plan_simulate(parts=proposal, store=org.s1, month=AUGUST, team=org.x)
    assert counts == (Plan.objects.count(), Statement.objects.count(), StatementLine.objects.count(),
                      CommissionTier.objects.count())  # fmt: skip
    rows = {row.member.pk: row for row in simulation.rows}
    assert set(rows) == {org.a.pk, org.b.pk, org.lead_x.pk}
    # Today's plan: 3,000 + 2% of GMV; the draft: 2,500 + tiers (no target: 1%) × 1.1 + milestone + award + 300.
    assert (rows[org.a.pk].current, rows[org.a.pk].plan) == (D("3018.00"), today)
    assert rows[org.a.pk].draft == D("2500") + D("9.00") + D("0.90") + D("200") + D("800") + D("300")
    assert simulation.draft_total == sum((r.draft for r in simulation.rows), D(0))
    assert simulation.difference == simulation.draft_total - simulation.current_total
    # Saved and assigned to team X from August, the plan's statements of August are the simulation's.
    saved = plan_create(actor=None, parts=proposal)
    plan_assignment_delete(actor=None, assignment=todays)
    plan_assign(actor=None, plan=saved, team=org.x, start_date=AUGUST)
    made = {s.member_id: s for s in statements_refresh(store=org.s1, month=AUGUST)}
    assert {pk: made[pk].total for pk in rows} == {pk: row.draft for pk, row in rows.items()}
    assert all(made[pk].plan_id == saved.pk for pk in rows)
    # A store-wide simulation covers team Y too (C has no plan today: 0).
    whole = plan_simulate(parts=plan_parts_read(plan=saved), store=org.s1, month=AUGUST)
    assert {r.member.pk for r in whole.rows} == {org.a.pk, org.b.pk, org.lead_x.pk, org.c.pk}
    carol = next(r for r in whole.rows if r.member.pk == org.c.pk)
    assert (carol.plan, carol.current) == (None, D(0)) and carol.draft > 0


# --- the change log ----------------------------------------------------------------------------------------------


def _shown(record, language: str) -> dict[str, tuple[str, str]]:
    """The record's fields as the change log shows them in `language`, by field name."""
    from django.utils import translation

    from teams.selectors.changes import change_fields

    with translation.override(language):
        shown = change_fields(record=record)
    return {name: (f.before, f.after) for name, f in zip(record.changes, shown, strict=True)}


def test_every_change_of_a_plan_is_in_the_change_log_with_before_and_after(paid):
    org = paid
    hr = org.users["hr"]
    plan = plan_create(actor=hr, parts=draft(commission_mode="tiered", tiers=[("0", "0.01")]))
    created = ChangeRecord.objects.get(object_type="incentives.plan", action="created")
    assert (created.area, created.actor, created.label) == ("pay_plans", hr, "客服方案")
    assert created.changes["base_salary"] == [None, "3000.00"]
    assert _shown(created, "en")["tiers"] == ("—", "≥ 0% → 1%")
    plan_update(actor=hr, plan=plan, parts=draft(commission_mode="tiered", tiers=[("0", "0.01"), ("1", "0.02")],
                                                 allowances=[("差旅补贴", "", "300", None, None)]))  # fmt: skip
    changed = ChangeRecord.objects.get(object_type="incentives.plan", action="changed")
    # Only what changed; the parts kept as messages, read in each reader's language.
    assert set(changed.changes) == {"tiers", "allowances"}
    assert _shown(changed, "en") == {"tiers": ("≥ 0% → 1%", "≥ 0% → 1%, ≥ 100% → 2%"),
                                     "allowances": ("—", "差旅补贴 ¥300.00 a month")}  # fmt: skip
    assert _shown(changed, "zh-hans")["allowances"] == ("—", "差旅补贴 每月 ¥300.00")
    assignment = plan_assign(actor=hr, plan=plan, team=org.x, start_date=AUGUST)
    plan_assignment_update(actor=hr, assignment=assignment, start_date=AUGUST, end_date=dt.date(2026, 8, 31))
    plan_assignment_delete(actor=hr, assignment=assignment)
    kinds = list(ChangeRecord.objects.filter(object_type="incentives.planassignment").values_list("action", flat=True))
    assert sorted(kinds) == ["changed", "created", "deleted"]
    days = ChangeRecord.objects.get(object_type="incentives.planassignment", action="changed")
    assert days.changes == {"end_date": [None, "2026-08-31"]} and days.store == org.s1
    plan_retire(actor=hr, plan=plan)
    copy = plan_copy(actor=hr, plan=plan)
    assert ChangeRecord.objects.filter(object_id=str(copy.pk), action="created").exists()
    assert ChangeRecord.objects.filter(area="pay_plans").count() == 7
    assert set(ChangeRecord.objects.values_list("actor", flat=True)) == {hr.pk}


def test_the_change_log_page_names_the_plans_parts_in_the_readers_language(org, client_for):
    plan_create(actor=org.users["hr"], parts=draft(commission_mode="tiered", tiers=[("0", "0.01")]))
    with translation.override("en"):
        from teams.selectors.changes import change_fields

        fields = {f.field: f.after for f in change_fields(record=ChangeRecord.objects.get())}
    assert fields["Commission tiers"] == "≥ 0% → 1%" and fields["Base salary (yuan a month)"] == "3000.00"
