"""The dashboards in a real browser: Chromium driven by Playwright against pytest-django's live server.

What only a browser shows: plotly.js draws every figure, the filter form submits itself, chart
clicks drill down, the language switch works, and a staff member's page leaks nobody else's name.

Needs /usr/bin/chromium and the `playwright` package (never `playwright install`: the system
Chromium is used). Without them the module is skipped, unless PERFMGMT_REQUIRE_BROWSER=1 (CI),
which turns a missing browser into an error. Full-page screenshots of the pages visited go to
$PERFMGMT_SCREENSHOTS (default var/screenshots/). The demo site and the `visitor` fixture are in
conftest.py.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from teams.models import Member
from teams.selectors.scoping import store_list_overseen, viewer_get
from tests.browser.support import assert_figures_drawn, browser_required, screenshot

pytestmark = pytest.mark.browser

TEAM_FIGURES = ["fig-trend", "fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"]
MEMBER_FIGURES = ["fig-trend", "fig-response"]
CJK = re.compile(r"[\u4e00-\u9fff]")


browser_required()

# Only now: without playwright the module is skipped above.
from playwright.sync_api import Page, expect  # noqa: E402


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def gmv_text(page: Page) -> str:
    return page.locator(".kpi-cards .card[data-kpi=gmv] .value").inner_text().strip()


def test_team_dashboard_draws_every_figure_without_errors(visitor):
    manager = visitor("manager", next_url="/dashboard/")
    page = manager.page
    assert urlsplit(page.url).path == "/dashboard/"
    assert_figures_drawn(page, TEAM_FIGURES)
    expect(page.locator("[data-testid=empty-state]")).to_have_count(0)
    assert re.search(r"\d", gmv_text(page)), f"GMV card shows no figure: {gmv_text(page)!r}"
    assert page.locator("table[data-testid=leaderboard] tbody tr").count() > 0
    expect(page.locator("[data-testid=alerts]")).to_be_visible()
    expect(page.locator("[data-testid=segments]")).to_be_visible()
    manager.assert_no_problems()


def test_changing_the_date_filter_changes_the_numbers(visitor):
    manager = visitor("manager", next_url="/dashboard/?preset=last30")
    page = manager.page
    assert query(page.url)["preset"] == ["last30"]
    last30 = gmv_text(page)
    assert re.search(r"\d", last30), f"GMV card shows no figure: {last30!r}"
    # Choosing a preset submits the form by itself (no click on the button).
    with page.expect_navigation():
        page.select_option("form.filters select[name=preset]", "last7")
    assert query(page.url)["preset"] == ["last7"]
    expect(page.locator("form.filters select[name=preset]")).to_have_value("last7")
    last7 = gmv_text(page)
    assert re.search(r"\d", last7), f"GMV card shows no figure: {last7!r}"
    assert last7 != last30
    manager.assert_no_problems()


def test_drill_down_from_leaderboard_and_trend(visitor):
    manager = visitor("manager", next_url="/dashboard/")
    page = manager.page
    link = page.locator("table[data-testid=leaderboard] tbody a[href*='/dashboard/members/']").first
    name = link.inner_text().strip()
    with page.expect_navigation():
        link.click()
    member_id = re.search(r"/dashboard/members/(\d+)/", page.url)
    assert member_id, page.url
    assert Member.objects.get(pk=member_id[1]).display_name == name
    expect(page.locator("h1")).to_have_text(name)
    assert_figures_drawn(page, MEMBER_FIGURES)
    screenshot(page, "member")

    page.goto("/dashboard/")
    assert_figures_drawn(page, TEAM_FIGURES)
    trend = page.locator("#fig-trend")
    trend.scroll_into_view_if_needed()
    # A real click on the last day with a value: where plotly drew that marker.
    point = trend.evaluate(
        """gd => {
          const trace = gd.data[0];
          const i = trace.y.map((y, i) => (y === null ? -1 : i)).filter(i => i >= 0).pop();
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
          return {x: box.left + xa._offset + xa.d2p(trace.x[i]), y: box.top + ya._offset + ya.d2p(trace.y[i]),
                  day: trace.x[i], link: trace.customdata[i]};
        }"""
    )
    assert point["link"].startswith("/dashboard/?"), point
    page.mouse.move(point["x"], point["y"])
    with page.expect_navigation():
        page.mouse.click(point["x"], point["y"])
    day = point["day"][:10]
    params = query(page.url)
    assert (params["preset"], params["start"], params["end"]) == (["custom"], [day], [day]), page.url
    expect(page.locator("form.filters input[name=start]")).to_have_value(day)
    manager.assert_no_problems()


def test_staff_sees_only_their_own_page(visitor):
    staff = visitor("staff1")
    page = staff.page
    me = Member.objects.get(user__username="staff1")
    response = page.goto("/dashboard/")
    assert urlsplit(page.url).path == "/dashboard/me/"
    assert response.request.redirected_from is not None
    assert urlsplit(response.request.redirected_from.url).path == "/dashboard/"
    expect(page.locator("table[data-testid=personal-kpis]")).to_be_visible()
    assert_figures_drawn(page, MEMBER_FIGURES)
    screenshot(page, "personal")
    # Nobody else's name, neither in the text nor in the figures' data (hover labels).
    shown = page.inner_text("body") + "\n".join(
        page.locator("script[type='application/json']").evaluate_all(
            "els => els.map(e => JSON.stringify(JSON.parse(e.textContent)))"
        )
    )
    assert me.display_name in shown
    others = Member.objects.exclude(pk=me.pk).values_list("display_name", flat=True)
    assert len(others) > 1
    leaked = [name for name in others if name in shown]
    assert leaked == [], f"staff1 sees other members: {leaked}"
    staff.assert_no_problems()

    teammate = Member.objects.filter(memberships__team__memberships__member=me).exclude(pk=me.pk).first()
    for other in (teammate, Member.objects.exclude(pk=me.pk).order_by("-pk").first()):
        response = page.goto(f"/dashboard/members/{other.pk}/")
        assert response.status == 404, f"staff1 opened {other.display_name}'s page: {response.status}"
        assert other.display_name not in page.inner_text("body")


def test_language_switch_changes_the_labels(visitor):
    manager = visitor("manager", locale="zh-CN", next_url="/dashboard/")
    page = manager.page
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-hans")
    label_zh = page.locator("h1").inner_text().split(" · ")[0].strip()
    assert CJK.search(label_zh), f"the Chinese page's heading is not Chinese: {label_zh!r}"
    assert_figures_drawn(page, TEAM_FIGURES)
    screenshot(page, "team-dashboard-zh")

    with page.expect_navigation():
        page.click("button[name=language][value=en]")
    expect(html).to_have_attribute("lang", "en")
    assert urlsplit(page.url).path == "/dashboard/"
    label_en = page.locator("h1").inner_text().split(" · ")[0].strip()
    assert label_en == "Team dashboard"
    expect(page.locator("table[data-testid=leaderboard]")).to_contain_text("Member")
    assert_figures_drawn(page, TEAM_FIGURES)
    screenshot(page, "team-dashboard-en")

    with page.expect_navigation():
        page.click("button[name=language][value=zh-hans]")
    expect(html).to_have_attribute("lang", "zh-hans")
    assert page.locator("h1").inner_text().split(" · ")[0].strip() == label_zh != label_en
    manager.assert_no_problems()


def test_store_overview_for_the_manager(visitor):
    manager = visitor("manager", next_url="/dashboard/stores/")
    page = manager.page
    assert urlsplit(page.url).path == "/dashboard/stores/"
    assert_figures_drawn(page, ["fig-stores"])
    expect(page.locator("[data-testid=empty-state]")).to_have_count(0)
    stores = store_list_overseen(viewer=viewer_get(user=get_user_model().objects.get(username="manager")))
    assert len(stores) == 2
    rows = page.locator("table[data-testid=stores] tbody tr")
    shown = sorted(rows.locator("td:first-child").all_inner_texts())
    assert shown == sorted(store.name for store in stores)
    screenshot(page, "store-overview")
    manager.assert_no_problems()
