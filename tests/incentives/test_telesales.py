"""Telesales plans (seed 002: base + call assessment on connected calls and talk time + commission
1.5%–3%) by hand: the call assessment at, above, below the floor and in between, weights, the
commission on deals won with tiers at exactly 100%, the 1.5%–3% rule, a statement built from
MemberDay rows and won leads naming the deals, the estimator agreeing with it, the pages and
the export."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from incentives import calc
from incentives.lines import call_assessment_lines
from incentives.models import CommissionTier, Plan, PlanAssignment, Statement, StatementState
from incentives.selectors.estimate import estimate
from incentives.services.export import payouts_export
from incentives.services.plans import plan_telesales_create
from incentives.services.statements import statement_approve, statement_lock, statement_refresh
from metrics.messages import message_render
from metrics.models import LeadStage, MemberDay, Target
from teams.selectors.scoping import viewer_get
from tests.factories import lead_path

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, month: int = 8) -> dt.datetime:
    return dt.datetime(2026, month, day, 11, 0, tzinfo=SHANGHAI)


def call_plan(**fields) -> Plan:
    """Not saved: the call assessment alone (1,000 a month, 50/50, targets 400 calls and 2,000 min)."""
    values = {"name": "calls", "call_pay": D(1000), "call_connected_target": 400, "call_talk_target_minutes": 2000,
              "call_connected_weight": D("0.5"), "call_talk_weight": D("0.5"), "call_floor": D("0.6"), **fields}  # fmt: skip
    return Plan(**values)


def amounts(lines) -> list[D]:
    return [line.amount for line in lines]


# --- the call assessment -------------------------------------------------------------------------


def test_a_part_at_exactly_100_percent_above_it_at_the_floor_below_it_and_in_between():
    part = {"target": D(600), "weight": D("0.5"), "pay": D(1000), "floor": D("0.6")}
    exact = calc.call_part(actual=D(600), **part)
    assert (exact.counted, exact.amount, exact.below_floor) == (D(1), D("500.00"), False)  # 1,000 × 50% × 100%
    above = calc.call_part(actual=D(700), **part)
    assert above.completion > 1 and above.counted == D(1) and above.amount == D("500.00")  # capped at 100%
    partial = calc.call_part(actual=D(450), **part)
    assert partial.amount == D("375.00")  # 450 / 600 = 75%: 1,000 × 50% × 75%
    floor = calc.call_part(actual=D(360), **part)
    assert floor.amount == D("300.00") and not floor.below_floor  # exactly 60%: the floor is inclusive
    below = calc.call_part(actual=D(359), **part)
    assert below.below_floor and below.counted == 0 and below.amount == D("0.00")  # 59.8% < 60%: nothing
    no_floor = calc.call_part(actual=D(100), **{**part, "floor": D(0)})
    assert no_floor.amount == D("83.33")  # 100 / 600 × 50% × 1,000 = 83.333… → 83.33


def test_each_part_is_one_line_with_the_kpi_value_target_and_arithmetic():
    plan = call_plan()
    lines = call_assessment_lines(plan=plan, connected=412, talk_seconds=1500 * 60)
    assert amounts(lines) == [D("500.00"), D("375.00")]  # 412 ≥ 400: 100% × 50% × 1,000; 1,500 / 2,000 = 75%
    with translation.override("en"):
        assert lines[0].explanation_text == (
            "Connected outbound calls 412 / target 400 (103%, counted as at most 100%) → 100% × 50% × ¥1,000.00 = "
            "¥500.00."
        )
        assert lines[1].explanation_text == (
            "Outbound talk time 1,500 min / target 2,000 min → 75% × 50% × ¥1,000.00 = ¥375.00."
        )
        assert [(line.kpi_key, message_render(message=line.kpi_value)) for line in lines] == [
            ("connected_dials", "412"), ("talk_time", "1,500 min")]  # fmt: skip
    with translation.override("zh-hans"):  # the same lines, read in Chinese
        assert (
            lines[1].explanation_text == "呼出通话时长 1,500 分钟 / 目标 2,000 分钟 → 75% × 50% × ¥1,000.00 = ¥375.00。"
        )
    low = call_assessment_lines(plan=plan, connected=200, talk_seconds=None)
    assert amounts(low) == [D("0.00"), D("0.00")]  # 50% and 0% of target, both below the 60% floor
    with translation.override("en"):
        assert "below the 60% floor" in low[0].explanation_text
    assert call_assessment_lines(plan=call_plan(call_pay=D(0)), connected=412, talk_seconds=90000) == []


def test_weights_split_the_pay_and_must_add_up_to_100_percent():
    plan = call_plan(call_connected_weight=D("0.7"), call_talk_weight=D("0.3"), call_floor=D(0))
    lines = call_assessment_lines(plan=plan, connected=400, talk_seconds=1000 * 60)
    assert amounts(lines) == [D("700.00"), D("150.00")]  # 1,000 × 70% × 100%; 1,000 × 30% × (1,000 / 2,000)
    only_calls = call_plan(call_connected_weight=D(1), call_talk_weight=D(0), call_talk_target_minutes=None)
    only_calls.full_clean()  # a part without weight needs no target
    assert amounts(call_assessment_lines(plan=only_calls, connected=300, talk_seconds=0)) == [D("750.00")]
    with pytest.raises(ValidationError) as error:
        call_plan(call_connected_weight=D("0.6"), call_talk_weight=D("0.6")).full_clean()
    assert "call_talk_weight" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        call_plan(call_connected_target=None).full_clean()
    assert "call_connected_target" in error.value.message_dict


# --- the telesales template and its 1.5%–3% rule ------------------------------------------------


def test_the_telesales_template_builds_seed_002s_default(org):
    plan = plan_telesales_create(store=org.s1, name="电销标准方案", base_salary=D(3000))
    assert plan.kind == "telesales" and plan.commission_base == "won" and plan.commission_mode == "tiered"
    assert (plan.call_pay, plan.call_connected_weight, plan.call_talk_weight, plan.call_floor) == (
        D(1000), D("0.5"), D("0.5"), D("0.6"))  # fmt: skip
    assert [(t.from_completion, t.rate) for t in plan.tiers.all()] == [
        (D(0), D("0.015")), (D(1), D("0.025")), (D("1.5"), D("0.03"))]  # fmt: skip


@pytest.mark.parametrize("rate", ["0.0149", "0.0301", "0.05"])
def test_telesales_rates_outside_1_5_to_3_percent_are_refused_and_nothing_is_written(org, rate):
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            plan_telesales_create(store=org.s1, name="x", base_salary=D(3000),
                                  tiers=[(D(0), D("0.015")), (D(1), D(rate))])  # fmt: skip
        # The message is translated lazily: read it in the language it was raised in.
        assert "between 1.5% and 3%" in error.value.messages[0]
    assert f"{(D(rate) * 100).normalize():f}%" in error.value.messages[0]
    assert not Plan.objects.exists() and not CommissionTier.objects.exists()


def test_the_bounds_themselves_are_allowed_and_only_telesales_plans_are_bound():
    Plan(name="t", kind="telesales", commission_mode="flat", flat_rate=D("0.015")).full_clean()
    Plan(name="t", kind="telesales", commission_mode="flat", flat_rate=D("0.03")).full_clean()
    Plan(name="shop", commission_mode="flat", flat_rate=D("0.05")).full_clean()  # a general plan: any rate
    with pytest.raises(ValidationError) as error:
        Plan(name="t", kind="telesales", commission_mode="flat", flat_rate=D("0.04")).full_clean()
    assert "flat_rate" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        Plan(name="t", kind="telesales", commission_mode="none").full_clean()
    assert "commission_mode" in error.value.message_dict


def test_the_admin_refuses_a_telesales_tier_outside_the_range(org, client_for):
    admin = org.users["admin"]
    admin.is_staff = True  # the admin site asks for staff status as well
    admin.save()
    client = client_for(admin)
    data = {"name": "电销", "kind": "telesales", "base_salary": "3000", "performance_pay": "0", "grade_coefficients": "{}",
            "commission_mode": "tiered", "flat_rate": "0", "tier_mode": "cumulative", "commission_base": "won",
            "pk_bonus_rate": "0", "call_pay": "0", "call_connected_weight": "0.5", "call_talk_weight": "0.5",
            "call_floor": "0", "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0",
            "tiers-0-from_completion": "0", "tiers-0-rate": "0.015", "tiers-1-from_completion": "1", "tiers-1-rate": "0.05"}  # fmt: skip
    for prefix in ("modifiers", "milestones", "ranking_awards", "allowances", "assignments"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    with translation.override("en"):
        refused = client.post(reverse("admin:incentives_plan_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and not Plan.objects.exists()
    assert "between 1.5% and 3%; 5% is outside" in refused.content.decode()
    accepted = client.post(reverse("admin:incentives_plan_add"), {**data, "tiers-1-rate": "0.03"})
    assert accepted.status_code == 302 and Plan.objects.get().tiers.count() == 2
    general = client.post(reverse("admin:incentives_plan_add"), {**data, "name": "店铺", "kind": "general"})
    assert general.status_code == 302  # 5% is fine outside telesales


# --- a telesales member's month -----------------------------------------------------------------


def won(org, lead_id: str, customer: str, amount: str, day: int, *, account=None, month: int = 8):
    return lead_path(steps=[(LeadStage.LEAD, at(1, month)), (LeadStage.WON, at(day, month))], store=org.s1,
                     account=account or org.account_a, lead_id=lead_id, customer=customer,
                     amount_cents=int(D(amount) * 100))  # fmt: skip


@pytest.fixture
def tele(org):
    """A on the telesales plan (targets 400 connected calls and 2,000 minutes a month; amount-won
    target 30,000). August: 412 connected calls, 1,500 minutes (90,000 s) of talk time, deals
    L-1 (客户甲, 20,000, won on the 5th) and L-2 (客户乙, 10,000, the 20th) on A's account; the
    rollups' MemberDay rows as the KPI selectors read them."""
    plan = plan_telesales_create(store=org.s1, name="电销方案", base_salary=D(3000), connected_target=400,
                                 talk_target_minutes=2000)  # fmt: skip
    PlanAssignment.objects.create(plan=plan, member=org.a, start_date=dt.date(2026, 1, 1))
    won(org, "L-1", "客户甲", "20000", 5)
    won(org, "L-2", "客户乙", "10000", 20)
    # Not A's August deals: B's, September's, one still in negotiation.
    won(org, "L-B", "客户丙", "50000", 6, account=org.account_b)
    won(org, "L-SEP", "客户丁", "40000", 2, month=9)
    lead_path(steps=[(LeadStage.LEAD, at(1)), (LeadStage.NEGOTIATION, at(8))], store=org.s1, account=org.account_a,
              lead_id="L-OPEN", customer="客户戊", amount_cents=9_000_000)  # fmt: skip
    for day, measures in (
        (3, {"dials": 700, "connected_dials": 300, "talk_seconds": 45000}),
        (5, {"won_deals": 1, "closed_deals": 1, "won_cents": 2_000_000}),
        (10, {"dials": 250, "connected_dials": 112, "talk_seconds": 45000}),
        (20, {"won_deals": 1, "closed_deals": 1, "won_cents": 1_000_000}),
    ):
        MemberDay.objects.create(store=org.s1, date=dt.date(2026, 8, day), member=org.a, team=org.x, **measures)
    Target.objects.create(tier="execution", name="8月成单", kpi_key="won_amount", store=org.s1, team=org.x,
                          member=org.a, period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31),
                          value=D(30000), direction="at_least")  # fmt: skip
    return plan


def by_kind(statement) -> dict:
    out = {}
    for line in statement.lines.all():
        out.setdefault(line.kind, []).append(line.amount)
    return out


def test_a_telesales_statement_from_member_days_and_won_leads_names_the_deals(org, tele):
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    # Calls: 412 / 400 → 100% × 50% × 1,000 = 500; 1,500 / 2,000 min = 75% → 375.
    # Deals: 20,000 + 10,000 = 30,000 of the 30,000 target = exactly 100%: the 2.5% tier, 750.
    # 3,000 + 500 + 375 + 750 = 4,625.
    assert by_kind(statement) == {"base": [D("3000.00")], "calls": [D("500.00"), D("375.00")],
                                  "commission": [D("750.00")]}  # fmt: skip
    assert statement.total == D("4625.00")
    commission = statement.lines.get(kind="commission")
    assert commission.deals == [{"lead_id": "L-1", "customer": "客户甲", "amount": "20000.00"},
                                {"lead_id": "L-2", "customer": "客户乙", "amount": "10000.00"}]  # fmt: skip
    assert commission.order_ids == [] and commission.kpi_key == "won_amount"
    with translation.override("en"):
        assert "¥30,000.00" in commission.explanation_text and "2.5% × ¥30,000.00" in commission.explanation_text
        calls = list(statement.lines.filter(kind="calls"))
        assert [c.kpi_key for c in calls] == ["connected_dials", "talk_time"] and calls[0].kpi_value_text == "412"
        assert "412" in calls[0].explanation_text and "400" in calls[0].explanation_text
    # Deals have no refunds: locking records no commissioned order and later months claw nothing back.
    manager, hr = viewer_get(user=org.users["manager_s1"]), viewer_get(user=org.users["hr"])
    statement_approve(viewer=manager, user=None, statement=statement)
    statement_lock(viewer=hr, user=None, statement=statement)
    assert not statement.commissioned_orders.exists()
    september = statement_refresh(member=org.a, store=org.s1, month=dt.date(2026, 9, 1))
    assert not september.lines.filter(kind="clawback").exists()
    assert september.lines.get(kind="commission").deals[0]["lead_id"] == "L-SEP"  # won on 2 September


def test_a_won_stage_exported_again_is_not_a_second_deal(org, tele):
    from metrics.models import Lead
    from tests.factories import LeadStageChangeFactory

    LeadStageChangeFactory(lead=Lead.objects.get(lead_id="L-1"), stage=LeadStage.WON, changed_at=at(25))
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert [d["lead_id"] for d in statement.lines.get(kind="commission").deals] == ["L-1", "L-2"]


def test_the_deals_on_a_statement_are_the_engines_won_deals_and_won_amount(org):
    from metrics.kpis.services import kpis_recompute_store_full
    from metrics.models import Lead
    from tests.factories import LeadStageChangeFactory

    plan = plan_telesales_create(store=org.s1, name="电销方案", base_salary=D(3000))
    PlanAssignment.objects.create(plan=plan, member=org.a, start_date=dt.date(2026, 1, 1))
    won(org, "L-1", "客户甲", "20000", 5)
    won(org, "L-2", "客户乙", "10000.50", 20)
    won(org, "L-JUL", "客户丙", "7000", 30, month=7)  # outside August, before and after
    won(org, "L-SEP", "客户丁", "4000", 2, month=9)
    won(org, "L-B", "客户戊", "50000", 6, account=org.account_b)  # B's
    LeadStageChangeFactory(lead=Lead.objects.get(lead_id="L-1"), stage=LeadStage.WON, changed_at=at(25))  # again
    kpis_recompute_store_full(store=org.s1)  # the rollups, from these facts
    engine = kpi_row(org, org.a, AUGUST, dt.date(2026, 8, 31))
    commission = statement_refresh(member=org.a, store=org.s1, month=AUGUST).lines.get(kind="commission")
    assert [d["lead_id"] for d in commission.deals] == ["L-1", "L-2"] and engine["won_deals"] == 2
    assert sum(D(d["amount"]) for d in commission.deals) == engine["won_amount"] == D("30000.50")


def kpi_row(org, member, start: dt.date, end: dt.date) -> dict:
    from metrics.kpis.selectors import kpi_table

    table = kpi_table(level="member", grain="range", start=start, end=end, store_ids=[org.s1.pk],
                      member_ids=[member.pk])  # fmt: skip
    return table.iloc[0].to_dict()


def test_deals_won_tiers_below_at_and_above_their_boundaries(tele):
    def commission(amount: str) -> D:
        return estimate(plan=tele, won_amount=D(amount), target=D(30000)).commission

    assert commission("29999.99") == D("450.00")  # 99.99…%: 1.5%, 449.99985 → 450.00
    assert commission("30000") == D("750.00")  # exactly 100%: 2.5%
    assert commission("44999.99") == D("1125.00")  # 2.5% of 44,999.99 = 1,124.99975
    assert commission("45000") == D("1350.00")  # exactly 150%: 3%
    assert estimate(plan=tele, won_amount=D(30000), target=None).commission == D("450.00")  # no target: 1.5%


def test_the_estimator_equals_the_statement_for_the_same_figures(org, tele):
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    with translation.override(settings.LANGUAGE_CODE):  # the statement's language
        result = estimate(plan=tele, connected_calls=412, talk_minutes=D(1500), won_amount=D(30000), target=D(30000))
    assert [(line.kind, line.amount) for line in result.lines] == [
        (line.kind, line.amount) for line in statement.lines.all()
    ]
    assert result.total == statement.total == D("4625.00")
    shown = [line.explanation for line in result.lines if line.kind == "calls"]
    with translation.override(settings.LANGUAGE_CODE):
        assert shown == [line.explanation_text for line in statement.lines.filter(kind="calls")]


# --- pages and the export -----------------------------------------------------------------------


def test_staff_still_see_only_their_own_telesales_statement(org, tele, client_for):
    mine = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    PlanAssignment.objects.create(plan=tele, member=org.b, start_date=dt.date(2026, 1, 1))
    theirs = statement_refresh(member=org.b, store=org.s1, month=AUGUST)
    client = client_for(org.users["staff_a"])
    page = client.get(reverse("incentives:statement", args=[mine.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-kind="calls"' in html and "客户甲" in html and "L-2" in html and 'data-testid="deals"' in html
    assert client.get(reverse("incentives:statement", args=[theirs.pk])).status_code == 404


def test_my_pay_estimates_a_telesales_month_from_calls_talk_time_and_amount_won(org, tele, client_for):
    client = client_for(org.users["staff_a"])
    page = client.get(reverse("incentives:mine"), {"connected_calls": "412", "talk_minutes": "1500", "won": "30000",
                                                   "target": "30000"})  # fmt: skip
    assert page.status_code == 200
    form, result = page.context["form"], page.context["estimate"]
    assert {"connected_calls", "talk_minutes", "won"} <= set(form.fields) and "gmv" not in form.fields
    assert result.total == D("4625.00")  # as the statement: 3,000 + 500 + 375 + 750


def test_the_plans_page_describes_the_call_assessment_and_the_deals_commission(org, tele, client_for):
    page = client_for(org.users["staff_a"]).get(reverse("incentives:plans"))
    rules = dict(next(rules for plan, rules, _a in page.context["page"].object_list if plan == tele))
    with translation.override(settings.LANGUAGE_CODE):
        from django.utils.translation import gettext

        call_rule, commission_rule = rules[gettext("Call assessment")], rules[gettext("Commission")]
    assert "400" in call_rule and "2,000" in call_rule and "60%" in call_rule
    assert "2.5%" in commission_rule and "3%" in commission_rule


def test_the_payout_export_has_the_call_lines_and_the_deals(org, tele):
    statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    book = load_workbook(io.BytesIO(payouts_export(month=AUGUST, lang="en")))
    summary = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    row = dict(zip(summary[0], summary[1], strict=True))
    assert (row["Call assessment"], row["Commission"], row["Total pay"]) == (875, 750, 4625)  # 500 + 375
    lines = [list(r) for r in book["Lines"].iter_rows(values_only=True)]
    records = [dict(zip(lines[0], r, strict=True)) for r in lines[1:]]
    assert [r["Kind"] for r in records] == ["Base salary", "Call assessment", "Call assessment", "Commission"]
    assert records[3]["Deals"] == "L-1 客户甲 20000.00; L-2 客户乙 10000.00"
    assert records[1]["KPI"] == "Connected outbound calls" and records[1]["KPI value"] == "412"
    definitions = [list(r) for r in book["Definitions"].iter_rows(values_only=True)]
    plan = next(r for r in definitions if r[0] == "电销方案 (version 1)")
    assert plan[10:13] == ["Telesales", "1000.00: Connected outbound calls 400 × 50%; talk time 2000 min × 50% "
                           "(floor 60%)", "Amount of the deals won"]  # fmt: skip
    assert Statement.objects.get().state == StatementState.DRAFT
