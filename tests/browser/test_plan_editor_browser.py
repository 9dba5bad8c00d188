"""HR creates a pay plan in a real browser, in Chinese and in English (issue 19, point 5): a tiered
commission (a second tier added with "Add a row") and a recurring allowance, simulated on last
month for a store (nothing saved), then saved; the plan's page shows its rules.

Needs /usr/bin/chromium and the `playwright` package (see tests/browser/support.py). Screenshots
go to $PERFMGMT_SCREENSHOTS (default var/screenshots/).
"""

from __future__ import annotations

import datetime as dt

import pytest

from incentives.models import Plan, Statement
from teams.models import Store
from tests.browser.support import browser_required, screenshot

pytestmark = pytest.mark.browser

browser_required()

from playwright.sync_api import expect  # noqa: E402

TEXT = {
    "zh-hans": {"allowance": "差旅补贴", "every_team": "全部团队", "heading": "新建薪酬方案"},
    "en": {"allowance": "Travel allowance", "every_team": "every team", "heading": "New pay plan"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_hr_creates_a_plan_with_a_tiered_commission_and_an_allowance_simulates_it_and_saves_it(visitor, language):
    words = TEXT[language]
    visit = visitor("hr", next_url="/pay/plans/")
    page = visit.page
    if language == "en":
        with page.expect_navigation():
            page.click("button[name=language][value=en]")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_test_id("new-plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["heading"])
    name = f"阶梯提成 {language}"
    page.fill("#id_name", name)
    page.fill("#id_base_salary", "3000")
    # The tiers show once the commission is tiered; the flat rate does not.
    tiers = page.get_by_test_id("part-tiers")
    expect(tiers).to_be_hidden()
    page.select_option("#id_commission_mode", "tiered")
    expect(tiers).to_be_visible()
    expect(page.locator("#id_flat_rate")).to_be_hidden()
    page.fill("#id_tiers-0-from_completion", "0")
    page.fill("#id_tiers-0-rate", "1.5")
    expect(page.locator("#id_tiers-1-rate")).to_have_count(0)  # one blank row to start with
    tiers.get_by_role("button").click()  # "Add a row"
    page.fill("#id_tiers-1-from_completion", "100")
    page.fill("#id_tiers-1-rate", "2.5")
    allowances = page.get_by_test_id("part-allowances")
    allowances.locator("#id_allowances-0-name_zh").fill("差旅补贴")
    allowances.locator("#id_allowances-0-name_en").fill("Travel allowance")
    allowances.locator("#id_allowances-0-amount").fill("300")
    # Simulate on last month (the default) for the first store: nothing is saved.
    store = Store.objects.order_by("name").first()
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    expect(page.locator("#id_sim-month")).to_have_value(f"{last_month:%Y-%m}")
    page.select_option("#id_sim-scope", f"store-{store.pk}")
    expect(page.locator("#id_sim-scope option:checked")).to_contain_text(words["every_team"])
    statements = Statement.objects.count()
    with page.expect_navigation():
        page.get_by_test_id("simulate").click()
    simulation = page.get_by_test_id("simulation")
    expect(simulation).to_be_visible()
    assert simulation.locator("tbody tr").count() > 0
    expect(page.get_by_test_id("draft-cost")).to_contain_text("¥")
    assert not Plan.objects.filter(name=name).exists() and Statement.objects.count() == statements
    # The form kept what was typed, the added tier too.
    expect(page.locator("#id_tiers-1-rate")).to_have_value("2.5")
    expect(page.locator("#id_allowances-0-name_zh")).to_have_value("差旅补贴")
    screenshot(page, f"plan-editor-simulated-{language}")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    plan = Plan.objects.get(name=name)
    assert [(float(t.from_completion), float(t.rate)) for t in plan.tiers.all()] == [(0, 0.015), (1, 0.025)]
    assert [(a.name_zh, int(a.amount)) for a in plan.allowances.all()] == [("差旅补贴", 300)]
    assert page.url.endswith(f"/pay/plans/{plan.pk}/")
    expect(page.get_by_test_id("rules")).to_contain_text(words["allowance"])
    expect(page.get_by_test_id("plan-version")).to_be_visible()
    screenshot(page, f"plan-detail-{language}")
    visit.assert_no_problems()
