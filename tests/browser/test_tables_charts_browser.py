"""Wide tables and charts as people see them, on a laptop (1366 px) and a phone (390 px), in
Chinese and English: Chromium driven by Playwright against the demo site (conftest.py).

- The leaderboard shows every KPI column: its horizontal scrollbar is visible, its last column
  can be scrolled into view, and the rank and name columns stay where they were, on top.
- The best-hours grid shows hour 23.

Screenshots of what was checked go to $PERFMGMT_SCREENSHOTS (default var/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest

from metrics.models import Lead, LeadStage, LeadStageChange
from teams.models import AccountAssignment, Store, TeamKind
from tests.browser.support import browser_required, screenshot

pytestmark = pytest.mark.browser

browser_required()

from playwright.sync_api import Page, expect  # noqa: E402  (only now: without playwright the module is skipped)

# A laptop's window, and a phone's (Chromium's mobile emulation: overlay scrollbars, touch).
DEVICES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844, "phone": True}}
LANGUAGES = pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-hans"), ("en", "en")], ids=["zh", "en"])


def assert_no_page_scroll_sideways(page: Page) -> None:
    """The page itself never scrolls sideways: only the wide tables do, in their own boxes."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def box(locator) -> dict:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; }"
    )


def on_top(locator) -> bool:
    """Nothing is drawn over the element's centre (a frozen cell is not covered by scrolled ones)."""
    return locator.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
                  return hit === e || e.contains(hit); }"""
    )


def scrollbar_thickness(locator) -> float:
    """The height of the box's horizontal scrollbar in CSS pixels (0: none drawn, or an overlay one)."""
    return locator.evaluate("w => w.offsetHeight - w.clientHeight - w.clientTop * 2")


@LANGUAGES
def test_the_leaderboard_scrolls_to_its_last_column_with_rank_and_name_frozen(visitor, locale, lang):
    for device, window in DEVICES.items():
        manager = visitor("manager", locale=locale, next_url="/dashboard/", **window)
        page = manager.page
        expect(page.locator("html")).to_have_attribute("lang", lang)
        scroller = page.locator("[data-testid=leaderboard-scroll]")
        table = scroller.locator("table[data-testid=leaderboard]")
        scroller.scroll_into_view_if_needed()
        sizes = scroller.evaluate("w => [w.scrollWidth, w.clientWidth]")
        assert sizes[0] > sizes[1], f"{device}: the leaderboard's columns all fit ({sizes}): nothing to check"
        assert scrollbar_thickness(scroller) >= 8, f"{device}: no visible horizontal scrollbar"
        frozen = [table.locator("thead th.rank"), table.locator("thead th.name"),
                  table.locator("tbody tr").first.locator("td.rank"), table.locator("tbody tr").first.locator("td.name")]  # fmt: skip
        before = [box(cell) for cell in frozen]
        last = table.locator("thead th").last
        first_kpi = table.locator("thead th").nth(3)
        assert box(last)["l"] > box(scroller)["r"], f"{device}: the last column is already in view"
        # Scroll sideways as a person would: the mouse wheel over the table.
        page.mouse.move((box(scroller)["l"] + box(scroller)["r"]) / 2, (box(scroller)["t"] + box(scroller)["b"]) / 2)
        for _turn in range(40):
            page.mouse.wheel(400, 0)
            if scroller.evaluate("w => w.scrollLeft + w.clientWidth >= w.scrollWidth - 1"):
                break
        page.wait_for_timeout(200)
        area, end = box(scroller), box(last)
        assert area["l"] - 1 <= end["l"] and end["r"] <= area["r"] + 1, f"{device}: the last column is not in view"
        assert on_top(last.locator("a")), f"{device}: the last column's header is covered"
        for cell, was in zip(frozen, before, strict=True):
            now = box(cell)
            assert abs(now["l"] - was["l"]) < 1, f"{device}: a frozen column moved: {was} → {now}"
            assert area["l"] - 1 <= now["l"] and now["r"] <= area["r"] + 1
            assert on_top(cell), f"{device}: a frozen cell is covered by the scrolled columns"
            assert cell.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
        # The first KPI column went under the frozen ones, not over them.
        assert box(first_kpi)["r"] < box(frozen[1])["r"]
        assert_no_page_scroll_sideways(page)
        screenshot(page, f"leaderboard-{lang}-{device}", full_page=False)
        manager.assert_no_problems()


def _advance_at_23() -> str:
    """A stage advance at 23:30 yesterday (the store's time) in the first store best hours show."""
    store = Store.objects.order_by("name").filter(pk__in=Lead.objects.values("store_id")).first()
    zone = zoneinfo.ZoneInfo(store.time_zone)
    lead = Lead.objects.filter(store=store).order_by("pk").first()
    account = AccountAssignment.objects.filter(account__store=store, member__memberships__team__kind=TeamKind.TELESALES)
    at = dt.datetime.combine(dt.datetime.now(zone).date() - dt.timedelta(days=1), dt.time(23, 30), tzinfo=zone)
    LeadStageChange.objects.create(store=store, lead=lead, stage=LeadStage.WON, changed_at=at,
                                   changed_date=at.date(), account=account.first().account)  # fmt: skip
    return f"/pipeline/best-hours/?store={store.pk}"


@LANGUAGES
def test_the_best_hours_grid_shows_hour_23(visitor, locale, lang):
    url = _advance_at_23()
    for device, window in DEVICES.items():
        manager = visitor("manager", locale=locale, next_url=url, **window)
        page = manager.page
        expect(page.locator("html")).to_have_attribute("lang", lang)
        grid = page.locator("table[data-testid=advances-grid]")
        wrap = grid.locator("xpath=..")
        hour_23 = grid.locator("thead th", has_text=re.compile(r"^\s*23\s*$"))
        expect(hour_23).to_have_count(1)
        weekday = grid.locator("tbody th[scope=row]").first
        wrap.scroll_into_view_if_needed()
        if device == "laptop":
            # All 24 hours fit: hour 23 is in view without scrolling (it was cut off at the edge).
            sizes = wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
            assert sizes[0] <= sizes[1], f"the grid is wider than its panel: {sizes}"
        else:
            assert scrollbar_thickness(wrap) >= 8, "no visible scrollbar on the phone's grid"
            hour_23.scroll_into_view_if_needed()
        area, cell = box(wrap), box(hour_23)
        assert area["l"] - 1 <= cell["l"] and cell["r"] <= area["r"] + 1, f"{device}: hour 23 is cut off"
        assert on_top(hour_23) and on_top(weekday), f"{device}: hour 23 or the weekday column is covered"
        assert_no_page_scroll_sideways(page)
        screenshot(page, f"best-hours-{lang}-{device}", full_page=False)
        manager.assert_no_problems()
