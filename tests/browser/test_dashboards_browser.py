"""The dashboards in a real browser: Chromium driven by Playwright against pytest-django's live server.

What only a browser shows: plotly.js draws every figure, the filter form submits itself, chart
clicks drill down, the language switch works, and a staff member's page leaks nobody else's name.

Needs /usr/bin/chromium and the `playwright` package (never `playwright install`: the system
Chromium is used). Without them the module is skipped, unless PERFMGMT_REQUIRE_BROWSER=1 (CI),
which turns a missing browser into an error. Full-page screenshots of the pages visited go to
$PERFMGMT_SCREENSHOTS (default var/screenshots/).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from metrics.services.demo_seed import demo_data_import
from teams.models import Member
from teams.selectors.scoping import store_list_overseen, viewer_get
from teams.services.demo import demo_organisation_create
from tests.browser.support import PASSWORD, browser_required, log_in

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
TEAM_FIGURES = ["fig-trend", "fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"]
MEMBER_FIGURES = ["fig-trend", "fig-response"]
CJK = re.compile(r"[\u4e00-\u9fff]")


browser_required()

# Only now: without playwright the module is skipped above.
from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def site(live_server):
    """The demo organisation and 40 days of shop data up to yesterday, behind the live server.

    live_server makes each test transactional (the server thread must see committed rows), so the
    database is flushed after every test and the data is built again for each: about a second."""
    demo_organisation_create(password=PASSWORD)
    demo_data_import(orders=3000, days=40)
    return live_server


@dataclass
class Visitor:
    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_no_problems(self) -> None:
        assert self.problems == [], "console errors or page errors:\n" + "\n".join(self.problems)


@pytest.fixture
def visitor(browser, site):
    """visitor(username, locale=...): a logged-in page in a fresh browser context."""
    contexts = []

    def login(username: str, *, locale: str = "zh-CN", next_url: str = "/") -> Visitor:
        context = browser.new_context(locale=locale, base_url=site.url, viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        visit = Visitor(context.new_page())
        page = visit.page
        page.on(
            "console", lambda m: visit.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda error: visit.problems.append(f"page error: {error}"))
        log_in(page, username, next_url=next_url)
        return visit

    yield login
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    folder = Path(os.environ.get("PERFMGMT_SCREENSHOTS") or REPO_ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def assert_figures_drawn(page: Page, ids: list[str]) -> None:
    """Exactly these figures are on the page, and plotly has drawn each of them."""
    found = page.locator("div.figure[data-figure]").evaluate_all("els => els.map(e => e.id)")
    assert sorted(found) == sorted(ids)
    for figure_id in ids:
        expect(page.locator(f"#{figure_id}")).to_have_attribute("data-rendered", "true", timeout=15_000)
        assert page.locator(f"#{figure_id} .main-svg").count() > 0, f"#{figure_id} has no plot"


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
