"""HR writes an appraisal template in the browser, in Chinese and in English (issue 19, point 4):
two dimensions, a KPI item and a rating item added with the page's buttons, each showing the
fields of its kind; a preview on last month's data of a team; then saved.

Needs /usr/bin/chromium and the `playwright` package (see tests/browser/support.py). Screenshots
go to $PERFMGMT_SCREENSHOTS (default var/screenshots/)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reviews.models import AppraisalTemplate, Item, ItemKind
from tests.browser.support import browser_required, screenshot

pytestmark = pytest.mark.browser

browser_required()

from playwright.sync_api import expect  # noqa: E402

WORDS = {
    "zh-hans": {"title": "新建考核模板", "higher": "越高越好", "preview": "预览", "saved": "已保存"},
    "en": {"title": "New appraisal template", "higher": "Higher is better", "preview": "Preview", "saved": "is saved"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_hr_creates_a_template_previews_it_and_saves_it(visitor, language):
    words = WORDS[language]
    visit = visitor("hr", next_url="/appraisals/templates/")
    page = visit.page
    if language == "en":
        with page.expect_navigation():
            page.click("button[name=language][value=en]")
    page.click("[data-testid=new-template]")
    expect(page.locator("h1")).to_contain_text(words["title"])

    page.fill("#name_zh", "客服考核（浏览器）")
    page.fill("#name_en", "Service appraisal (browser)")
    # The page starts with one dimension of one KPI item.
    page.fill("[name=dim-0-name_zh]", "业绩")
    page.fill("[name=dim-0-name_en]", "Results")
    page.fill("[name=dim-0-weight]", "70")
    page.fill("[name=dim-0-item-0-name_zh]", "销售额")
    page.fill("[name=dim-0-item-0-weight]", "100")
    page.select_option("[name=dim-0-item-0-kpi_key]", "gmv")
    item = page.locator("[data-row=item][data-d='0'][data-i='0']")
    expect(item.locator("[data-direction-text]")).to_contain_text(words["higher"])
    page.select_option("[name=dim-0-item-0-target_source]", "fixed")
    page.fill("[name=dim-0-item-0-target]", "20000")
    expect(item.locator(".thresholds-only")).to_be_hidden()  # a linear rule: no thresholds table

    page.click("[data-add=dimension]")
    page.fill("[name=dim-1-name_zh]", "态度")
    page.fill("[name=dim-1-name_en]", "Attitude")
    page.fill("[name=dim-1-weight]", "30")
    page.fill("[name=dim-1-item-0-name_zh]", "责任心")
    page.fill("[name=dim-1-item-0-name_en]", "Responsibility")
    page.fill("[name=dim-1-item-0-weight]", "100")
    page.select_option("[name=dim-1-item-0-kind]", "rating")
    rating = page.locator("[data-row=item][data-d='1'][data-i='0']")
    expect(rating.locator("[name=dim-1-item-0-kpi_key]")).to_be_hidden()
    expect(rating.locator("[name=dim-1-item-0-manager_weight]")).to_be_visible()
    page.fill("[name=dim-1-item-0-rubric-1-zh]", "推诿问题")
    page.fill("[name=dim-1-item-0-rubric-1-en]", "passes problems on")
    page.fill("[name=dim-1-item-0-rubric-5-zh]", "主动负责到底")
    page.fill("[name=dim-1-item-0-rubric-5-en]", "owns results")
    expect(page.locator("[data-sum-of=dimensions]")).to_contain_text("100%")

    page.select_option("#id_preview-team", index=1)
    page.click("[data-testid=preview]")
    result = page.locator("[data-testid=preview-result]")
    expect(result).to_be_visible()
    expect(result.locator("[data-testid=preview-table] tbody tr").first).to_be_visible()
    assert not AppraisalTemplate.objects.filter(name_zh="客服考核（浏览器）").exists()  # a preview saves nothing
    screenshot(page, f"template-preview-{language}")

    page.click("[data-testid=save]")
    expect(page.locator(".messages")).to_contain_text(words["saved"])
    template = AppraisalTemplate.objects.get(name_zh="客服考核（浏览器）")
    items = {i.name_zh: i for i in Item.objects.filter(dimension__template=template)}
    assert items["销售额"].kind == ItemKind.KPI and items["销售额"].target == Decimal(20000)
    assert items["责任心"].kind == ItemKind.RATING and items["责任心"].rubric_levels[4]["en"] == "owns results"
    assert sorted(d.weight for d in template.dimensions.all()) == [Decimal("0.3"), Decimal("0.7")]
    expect(page.locator("[data-testid=dimension]")).to_have_count(2)
    screenshot(page, f"template-saved-{language}")
    visit.assert_no_problems()
