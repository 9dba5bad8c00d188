"""The pay plan editor's pages and API (issue 19, point 5): HR creates a plan with its rows (money
in yuan, rates as percentages), the same validation as the services shows on the form in both
languages, Simulate shows the draft beside today's plan without saving anything, an edit of a plan
a locked statement used makes version 2, the statement page names the version, and the API reads
and writes plans through the same services."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from incentives.models import LineKind, Plan, PlanAssignment, Statement, StatementState
from incentives.services.plans import plan_assign, plan_create
from incentives.services.statements import statement_approve, statement_lock, statement_refresh
from teams.selectors.scoping import viewer_get
from tests.incentives.test_plan_editor import AUGUST, draft
from tests.reviews.test_cycles import sell

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    """The editor as a browser posts it: the plan's fields, then each part's rows."""
    data = {"name": "阶梯提成方案", "store": "", "kind": "general", "description": "", "base_salary": "3000",
            "performance_pay": "2000", "commission_mode": "tiered", "commission_base": "gmv", "flat_rate": "",
            "tier_mode": "marginal", "commission_cap": "5000", "pk_kpi_key": "", "pk_bonus_rate": "",
            "call_pay": "0", "call_connected_weight": "50", "call_talk_weight": "50", "call_floor": "0"}  # fmt: skip
    rows = {
        "grades": [{"grade": "S", "coefficient": "1.5"}, {"grade": "A", "coefficient": "1.2"}],
        "tiers": [{"from_completion": "0", "rate": "1.5"}, {"from_completion": "100", "rate": "2.5"},
                  {"from_completion": "", "rate": ""}],  # a blank row: skipped
        "modifiers": [{"kpi_key": "refund_order_rate", "comparison": "gt", "threshold": "25", "multiplier": "0.8"}],
        "milestones": [{"kpi_key": "gmv", "comparison": "ge", "threshold": "500", "amount": "200"}],
        "ranking": [{"kpi_key": "gmv", "amounts": "800，500 300"}],
        "allowances": [{"name_zh": "差旅补贴", "name_en": "Travel allowance", "amount": "300", "start_month": "2026-08",
                        "end_month": ""}],
    }  # fmt: skip
    rows.update(overrides.pop("rows", {}))
    for prefix, items in rows.items():
        data |= {f"{prefix}-TOTAL_FORMS": str(len(items)), f"{prefix}-INITIAL_FORMS": "0"}
        for number, row in enumerate(items):
            data |= {f"{prefix}-{number}-{name}": value for name, value in row.items()}
    return {**data, **overrides}


def test_hr_creates_a_plan_with_its_rows_money_in_yuan_and_rates_as_percentages(org, client_for):
    client = client_for(org.users["hr"])
    assert client.get(reverse("incentives:plan_create")).status_code == 200
    response = client.post(reverse("incentives:plan_create"), form_data(save="1"))
    plan = Plan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("incentives:plan_detail", args=[plan.pk])
    assert (plan.base_salary, plan.commission_cap, plan.tier_mode, plan.version) == (D(3000), D(5000), "marginal", 1)
    assert plan.grade_coefficients == {"S": 1.5, "A": 1.2}
    assert [(t.from_completion, t.rate) for t in plan.tiers.all()] == [(D(0), D("0.015")), (D(1), D("0.025"))]
    modifier = plan.modifiers.get()
    assert (modifier.kpi_key, modifier.threshold, modifier.multiplier) == ("refund_order_rate", D("0.25"), D("0.8"))
    assert plan.milestones.get().threshold == D(500)  # GMV: yuan, not a percentage
    assert plan.ranking_awards.get().amounts == [800, 500, 300]
    allowance = plan.allowances.get()
    assert (allowance.name_zh, allowance.amount, allowance.start_month, allowance.end_month) == (
        "差旅补贴", D(300), AUGUST, None)  # fmt: skip
    # Its page words the rules, and the editor shows the percentages again.
    page = client.get(reverse("incentives:plan_detail", args=[plan.pk])).content.decode()
    assert "差旅补贴" in page and "1.5%" in page
    edit = client.get(reverse("incentives:plan_edit", args=[plan.pk])).content.decode()
    assert 'name="tiers-1-rate" value="2.5"' in edit and 'name="modifiers-0-threshold" value="25"' in edit


@pytest.mark.parametrize(("language", "text"), [("en", "between 1.5% and 3%; 5% is outside"), ("zh-hans", "5%")])
def test_the_form_refuses_what_the_services_refuse_in_the_readers_language(org, client_for, language, text):
    client = client_for(org.users["hr"])
    telesales = form_data(kind="telesales", commission_base="won", save="1",
                          rows={"tiers": [{"from_completion": "0", "rate": "1.5"}, {"from_completion": "100", "rate": "5"}]})  # fmt: skip
    response = client.post(reverse("incentives:plan_create"), telesales, HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert response.status_code == 200 and not Plan.objects.exists()
    assert text in page
    descending = form_data(save="1", rows={"tiers": [{"from_completion": "100", "rate": "2"},
                                                     {"from_completion": "50", "rate": "1"}]})  # fmt: skip
    page = client.post(reverse("incentives:plan_create"), descending, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "each starting above the one before" in page and not Plan.objects.exists()
    negative = form_data(save="1", commission_cap="-1")
    page = client.post(reverse("incentives:plan_create"), negative, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The commission cap cannot be negative" in page and not Plan.objects.exists()
    above = form_data(save="1", commission_mode="flat", flat_rate="150")
    page = client.post(reverse("incentives:plan_create"), above, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "less than or equal to 100" in page and not Plan.objects.exists()


def test_simulate_shows_the_draft_beside_todays_plan_and_saves_nothing(org, client_for, tmp_path):
    sell(org, tmp_path, [("a", 3, "300.00"), ("b", 5, "100.00")])
    today = plan_create(actor=None, parts=draft("今天", commission_mode="flat", flat_rate=D("0.02")))
    plan_assign(actor=None, plan=today, team=org.x, start_date=AUGUST)
    client = client_for(org.users["hr"])
    response = client.post(
        reverse("incentives:plan_create"),
        form_data(simulate="1", **{"sim-month": "2026-08", "sim-scope": f"team-{org.x.pk}"}),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    page = response.content.decode()
    assert response.status_code == 200 and Plan.objects.count() == 1 and not Statement.objects.exists()
    assert 'data-testid="simulation"' in page and "Alice 王" in page and "Carol 张" not in page  # team X only
    # A: today 3,000 + 2% × 300 = 3,006; the draft 3,000 + 300 × 1.5% (no target) + first in GMV 800 +
    # the allowance 300 = 4,104.50 (GMV 300 < 500: no milestone; no appraisal: no performance pay).
    assert "¥3,006.00" in page and "¥4,104.50" in page and "+¥1,098.50" in page
    # A saved version, simulated on its own page.
    page = client.get(reverse("incentives:plan_simulate", args=[today.pk]),
                      {"sim-month": "2026-08", "sim-scope": f"store-{org.s1.pk}"}).content.decode()  # fmt: skip
    assert "Carol 张" in page and not Statement.objects.exists()


def test_an_edit_of_a_plan_a_locked_statement_used_makes_version_2_and_the_statement_names_its_version(
    org, client_for, tmp_path
):
    sell(org, tmp_path, [("a", 3, "300.00")])
    plan = plan_create(actor=None, parts=draft("CS", commission_mode="flat", flat_rate=D("0.02")))
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    statement_approve(viewer=viewer_get(user=org.users["admin"]), user=org.users["admin"], statement=statement)
    statement_lock(viewer=viewer_get(user=org.users["hr"]), user=org.users["hr"], statement=statement)
    client = client_for(org.users["hr"])
    editor = client.get(reverse("incentives:plan_edit", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Saving makes version 2" in editor
    response = client.post(reverse("incentives:plan_edit", args=[plan.pk]), form_data(name="CS", save="1"))
    v2 = Plan.objects.get(version=2)
    assert response["Location"] == reverse("incentives:plan_detail", args=[v2.pk])
    assert v2.replaces_id == plan.pk and PlanAssignment.objects.get().plan_id == v2.pk
    statement.refresh_from_db()
    assert statement.plan_id == plan.pk and statement.state == StatementState.LOCKED
    page = client_for(org.users["staff_a"]).get(reverse("incentives:statement", args=[statement.pk]),
                                                HTTP_ACCEPT_LANGUAGE="en").content.decode()  # fmt: skip
    assert 'data-testid="plan-version">version 1<' in page
    # Staff A opens the version their locked statement was computed with, retired or not.
    assert client_for(org.users["staff_a"]).get(reverse("incentives:plan_detail", args=[plan.pk])).status_code == 200
    # The retired version's editor sends HR to its page.
    assert client_for(org.users["hr"]).get(reverse("incentives:plan_edit", args=[plan.pk])).status_code == 302


def test_managers_and_staff_read_plans_but_may_not_edit(org, client_for):
    plan = plan_create(actor=None, parts=draft("S1", store=org.s1))
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    manager = client_for(org.users["manager_s1"])
    assert manager.get(reverse("incentives:plan_detail", args=[plan.pk])).status_code == 200
    assert manager.get(reverse("incentives:plan_edit", args=[plan.pk])).status_code == 403
    assert manager.post(reverse("incentives:plan_create"), form_data(save="1")).status_code == 403
    staff = client_for(org.users["staff_a"])
    page = staff.get(reverse("incentives:plans")).content.decode()
    assert "S1" in page and reverse("incentives:plan_edit", args=[plan.pk]) not in page
    assert Plan.objects.count() == 1


# --- the API -----------------------------------------------------------------------------------------------


def test_the_api_reads_and_writes_plans_through_the_services(org, api_for):
    hr = api_for(org.users["hr"])
    created = hr.post("/api/plans/", {
        "name": "API 方案", "base_salary": "3000.00", "commission_mode": "tiered", "tier_mode": "cumulative",
        "tiers": [{"from_completion": "0", "rate": "0.015"}, {"from_completion": "1", "rate": "0.025"}],
        "ranking_awards": [{"kpi_key": "gmv", "amounts": ["800", "500"]}],
        "allowances": [{"name_zh": "差旅补贴", "amount": "300.00"}], "grade_coefficients": {"S": "1.5", "A": "1.2"},
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.data
    plan = Plan.objects.get()
    assert created.data["id"] == plan.pk and created.data["version"] == 1
    assert [t["rate"] for t in created.data["tiers"]] == ["0.01500", "0.02500"]
    assert plan.ranking_awards.get().amounts == [800, 500] and plan.grade_coefficients == {"S": 1.5, "A": 1.2}
    refused = hr.post("/api/plans/", {"name": "x", "kind": "telesales", "commission_mode": "flat",
                                      "flat_rate": "0.05"}, format="json")  # fmt: skip
    assert refused.status_code == 400 and "flat_rate" in refused.data and Plan.objects.count() == 1
    patched = hr.patch(f"/api/plans/{plan.pk}/", {"base_salary": "3200.00"}, format="json")
    assert patched.status_code == 200 and patched.data["base_salary"] == "3200.00"
    plan.refresh_from_db()
    assert plan.base_salary == D(3200) and plan.tiers.count() == 2  # parts not given are kept
    assert api_for(org.users["manager_s1"]).post("/api/plans/", {"name": "m"}, format="json").status_code == 403
    listed = api_for(org.users["staff_a"]).get("/api/plans/").data
    assert listed["count"] == 0
    plan_assign(actor=None, plan=plan, team=org.x, start_date=AUGUST)
    listed = api_for(org.users["staff_a"]).get("/api/plans/").data
    assert [p["id"] for p in listed["results"]] == [plan.pk]
    assert listed["results"][0]["assignments"][0]["team"] == org.x.pk
    assert listed["results"][0]["allowances"] == [{"name_zh": "差旅补贴", "name_en": "", "amount": "300.00",
                                                   "start_month": None, "end_month": None}]  # fmt: skip


def test_a_patched_ranking_award_without_amounts_is_refused_not_a_500(org, api_for):
    # PATCH validates the parts' rows partially as well: a row without amounts raised KeyError.
    plan = Plan.objects.create(name="P", store=org.s1, base_salary=3000)
    patched = api_for(org.users["hr"]).patch(
        f"/api/plans/{plan.pk}/", {"ranking_awards": [{"kpi_key": "gmv"}]}, format="json"
    )
    assert patched.status_code == 400 and "ranking_awards" in patched.data, patched.content


def test_the_plan_api_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/plans/" in schema and "/api/plans/{id}/" in schema


def test_my_pay_estimates_the_plans_allowance(org, client_for):
    plan = plan_create(
        actor=None, parts=draft("带补贴", allowances=[("差旅补贴", "Travel allowance", "300", None, None)])
    )
    plan_assign(actor=None, plan=plan, member=org.a, start_date=dt.date(2020, 1, 1))
    page = client_for(org.users["staff_a"]).get(reverse("incentives:mine"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Travel allowance, a recurring allowance of plan 带补贴" in page.content.decode()
    assert LineKind.ALLOWANCE.label
