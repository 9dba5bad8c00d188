"""Generated sentences in a real browser (issue 18, point 8): a pay statement and the targets page,
computed while the site's language is Chinese, read in Chinese, switched to English in the header
and back; each language shows its own sentences and none of the other's.

Needs /usr/bin/chromium and the `playwright` package (see tests/browser/support.py). Screenshots
go to $PERFMGMT_SCREENSHOTS (default var/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from incentives.models import Plan, Statement, StatementLine
from metrics.messages import message_render
from metrics.models import Behaviour, Campaign, Target
from perfmgmt.demo.incentives import demo_incentives_create
from perfmgmt.demo.organisation import demo_organisation_create
from perfmgmt.demo.seed import demo_data_import
from perfmgmt.demo.targets import demo_plans_create
from teams.models import Member, Store, Team
from tests.browser.support import PASSWORD, browser_required, log_in
from tests.browser.test_dashboards_browser import screenshot

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")

browser_required()

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def site(live_server):
    """The demo's organisation, 40 days of shop data, its targets (a decomposed tree, members'
    weeks of a behaviour counted in 条, a promotion) and its statements, computed in Chinese."""
    demo_organisation_create(password=PASSWORD)
    demo_data_import(orders=3000, days=40)
    with translation.override("zh-hans"):
        demo_plans_create()
        demo_incentives_create()
    return live_server


@pytest.fixture
def page(browser, site):
    context = browser.new_context(locale="zh-CN", base_url=site.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _names() -> list[str]:
    names = [*Store.objects.values_list("name", flat=True), *Team.objects.values_list("name", flat=True),
             *Member.objects.values_list("display_name", flat=True), *Plan.objects.values_list("name", flat=True),
             *Behaviour.objects.values_list("name", flat=True), *Campaign.objects.values_list("name", flat=True),
             *Target.objects.filter(name_msg={}).values_list("name", flat=True)]  # fmt: skip
    return sorted(names, key=len, reverse=True)


def _rendered(messages: list[dict], language: str) -> list[str]:
    with translation.override(language):
        return [message_render(message=m) for m in messages if m]


def _switch(page: Page, language: str) -> None:
    with page.expect_navigation():
        page.click(f"button[name=language][value={language}]")
    expect(page.locator("html")).to_have_attribute("lang", language)


def _check(page: Page, selector: str, messages: list[dict], language: str) -> None:
    """The cells show each message in `language` and none in the other; no Chinese in English
    but names."""
    other = "en" if language == "zh-hans" else "zh-hans"
    text = " ".join(page.locator(selector).all_inner_texts())
    for sentence in _rendered(messages, language):
        assert sentence in text, f"{language}: {sentence!r} is not on the page"
    for sentence in _rendered(messages, other):
        assert sentence not in text, f"{language}: the {other} sentence {sentence!r} is on the page"
    if language == "en":
        for name in _names():
            text = text.replace(name, "")
        assert not CJK.search(text), f"Chinese on the English page: {CJK.findall(text)[:20]}"


def test_a_statement_reads_in_the_language_chosen_in_the_header(page):
    member = Member.objects.get(user__username="staff1")
    statement = Statement.objects.filter(member=member).order_by("-month").first()
    lines = list(StatementLine.objects.filter(statement=statement).order_by("order"))
    messages = [line.explanation_msg for line in lines]
    assert len(messages) >= 3 and all(messages)  # base salary, performance pay, commission, …
    log_in(page, "staff1", next_url=f"/pay/statements/{statement.pk}/")
    cells = "[data-testid=lines] tbody td:nth-child(2)"
    _check(page, cells, messages, "zh-hans")
    screenshot(page, "statement-zh")
    _switch(page, "en")
    _check(page, cells, messages, "en")
    expect(page.locator("[data-testid=lines]")).to_contain_text("Base salary of plan")
    screenshot(page, "statement-en")
    _switch(page, "zh-hans")
    _check(page, cells, messages, "zh-hans")


def test_the_targets_page_reads_in_the_language_chosen_in_the_header(page):
    log_in(page, "lead", next_url="/targets/")
    ids = page.locator("tr[data-target]").evaluate_all("rows => rows.map(r => Number(r.dataset.target))")
    messages = list(Target.objects.filter(pk__in=ids).exclude(name_msg={}).values_list("name_msg", flat=True))
    assert len(messages) >= 3, "the lead's targets page shows no generated name"
    names = "tr[data-target] td.tree-name > a"
    _check(page, names, messages, "zh-hans")
    screenshot(page, "targets-zh")
    _switch(page, "en")
    _check(page, names, messages, "en")
    expect(page.locator("table.targets, table.data").first).to_contain_text("Paid orders needed")
    screenshot(page, "targets-en")
    _switch(page, "zh-hans")
    _check(page, names, messages, "zh-hans")
