"""Wide tables and charts as people see them, on a laptop (1366 px) and a phone (390 px), in
Chinese and English: Chromium driven by Playwright against the demo site (conftest.py).

- The leaderboard shows every KPI column: its horizontal scrollbar is visible, its last column
  can be scrolled into view, and the rank and name columns stay where they were, on top.
- The best-hours grid shows hour 23.
- No chart's legend overlaps an axis title or tick label (the SVG text boxes plotly drew).
- The store funnel's labels are whole numbers grouped by thousands, readable at 40 visitors to
  an inquiry; a heatmap cell of one chat says "too few" with its count instead of a rate.

Screenshots of what was checked go to $PERFMGMT_SCREENSHOTS (default var/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import zoneinfo
from pathlib import Path

import pytest
from django.utils import timezone

from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from metrics.models import Lead, LeadStage, LeadStageChange
from teams.models import AccountAssignment, Member, Store, Team, TeamKind
from tests.browser.support import assert_figures_drawn, browser_required, screenshot
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write

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


# The SVG text plotly drew for each figure: legend entries, and the axes' titles and tick labels.
_CHART_TEXTS = """root => {
  const rects = sel => [...root.querySelectorAll(sel)].map(e => {
    const r = e.getBoundingClientRect();
    return {text: e.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom};
  }).filter(r => r.r > r.l && r.b > r.t);
  return {
    legend: rects('g.legend text.legendtext'),
    titles: rects('.g-xtitle text, .g-ytitle text, .g-y2title text'),
    ticks: rects('.xtick text, .ytick text, .y2tick text'),
  };
}"""


def _overlap(a: dict, b: dict) -> bool:
    return min(a["r"], b["r"]) - max(a["l"], b["l"]) > 0.5 and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 0.5


@LANGUAGES
def test_no_chart_legend_overlaps_an_axis_title_or_tick_label(visitor, locale, lang):
    tele = Team.objects.get(kind=TeamKind.TELESALES)
    online = Team.objects.get(kind=TeamKind.ONLINE_SALES)
    pages = [
        ("service", "manager", "/dashboard/", ["fig-trend", "fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"]),
        ("telesales", "manager", f"/dashboard/?team={tele.pk}", ["fig-trend", "fig-pipeline-funnel", "fig-ageing", "fig-calls-hour"]),
        ("online-sales", "manager", f"/dashboard/?team={online.pk}", None),
        ("personal", "staff1", "/dashboard/me/", ["fig-trend", "fig-response"]),
        ("stores", "manager", "/dashboard/stores/", ["fig-stores"]),
    ]  # fmt: skip
    legends_seen = titled_with_legend = 0
    for device, window in DEVICES.items():
        for name, user, url, figure_ids in pages:
            visit = visitor(user, locale=locale, next_url=url, **window)
            page = visit.page
            expect(page.locator("html")).to_have_attribute("lang", lang)
            ids = figure_ids or page.locator("div.figure[data-figure]").evaluate_all("els => els.map(e => e.id)")
            assert_figures_drawn(page, ids)
            for figure_id in ids:
                texts = page.locator(f"#{figure_id}").evaluate(_CHART_TEXTS)
                legends_seen += bool(texts["legend"])
                titled_with_legend += bool(texts["legend"] and texts["titles"])
                for entry in texts["legend"]:
                    for other in texts["titles"] + texts["ticks"]:
                        assert not _overlap(entry, other), (
                            f"{device} {url} #{figure_id}: legend {entry['text']!r} overlaps {other['text']!r}"
                        )
                # And the figure's text stays inside its box (nothing pushed out of the chart).
                frame = box(page.locator(f"#{figure_id}"))
                for item in texts["legend"] + texts["titles"]:
                    assert frame["l"] - 1 <= item["l"] and item["r"] <= frame["r"] + 1, (device, url, item)
                    assert frame["t"] - 1 <= item["t"] and item["b"] <= frame["b"] + 1, (device, url, item)
            assert_no_page_scroll_sideways(page)
            screenshot(page, f"charts-{lang}-{device}-{name}")
            visit.assert_no_problems()
    # Not vacuous: the trend, ageing, calls and stores charts have legends, and the last three titles too.
    assert legends_seen >= 2 * 5 and titled_with_legend >= 2 * 3, (legends_seen, titled_with_legend)


def _one_chat(*, team: Team, day: dt.date) -> tuple[int, int]:
    """One chat (and its paid order) of a member of the team at 03:00 on a day the demo has no
    data: that day's heatmap has a single cell, of one inquiring buyer. Returns (weekday, hour)."""
    member = Member.objects.filter(memberships__team=team).order_by("pk").first()
    account = AccountAssignment.objects.filter(member=member).first().account
    store = team.store
    at = dt.datetime.combine(day, dt.time(3, 0))
    chat = f"Sone,{store.name},{account.name},one_buyer,{at:%Y-%m-%d %H:%M:%S},{at + dt.timedelta(seconds=20):%Y-%m-%d %H:%M:%S},,2,2"
    created = at + dt.timedelta(minutes=10)
    order = (f"Oone,one_buyer,99.00,99.00,交易成功,{created:%Y-%m-%d %H:%M:%S},"
             f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{store.name}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for importer, header, line in ((chats_import, CHAT_HEADER, chat), (orders_import, ORDER_HEADER, order)):
            batch = importer(store=None, file=write(Path(folder) / f"{header[:2]}.csv", [header, line]), user=None)
            assert batch.status == "succeeded", batch.error_message
            kpis_after_import(batch=batch)
    return day.weekday(), 3


WHOLE_NUMBER = re.compile(r"^\d{1,3}(,\d{3})*$")


@LANGUAGES
def test_funnel_labels_are_whole_numbers_and_a_heatmap_cell_of_one_chat_is_too_few(visitor, locale, lang):
    team = Team.objects.filter(kind=TeamKind.PRESALES).order_by("pk").first()
    for device, window in DEVICES.items():
        manager = visitor("manager", locale=locale, next_url=f"/dashboard/?team={team.pk}", **window)
        page = manager.page
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert_figures_drawn(page, ["fig-trend", "fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"])
        funnel = page.locator("#fig-funnel")
        funnel.scroll_into_view_if_needed()
        counts = funnel.evaluate("gd => gd.data[0].x.map(x => x + (gd.data[0].base || 0))")  # bars end at the counts
        labels = funnel.locator("text.bartext").all_text_contents()
        assert len(labels) == len(counts) == 5, labels
        numbers = [label.split(" · ")[0] for label in labels]
        assert all(WHOLE_NUMBER.match(number) for number in numbers), labels  # never "152.396k"
        assert "," in numbers[0] and "k" not in "".join(labels)
        assert [int(n.replace(",", "")) for n in numbers[:4]] == counts[:4]
        # Visitors outnumber inquiries by far in the demo: the axis is logarithmic, every step's bar
        # has a length a person can see, and no label runs into another or out of the chart.
        assert counts[0] >= 20 * counts[1], counts
        assert funnel.evaluate("gd => gd._fullLayout.xaxis.type") == "log"
        bars = [box(bar) for bar in funnel.locator("g.point path").all()]
        widths = [bar["r"] - bar["l"] for bar in bars]
        assert min(widths[:4]) >= max(widths) / 4, widths
        texts = [box(text) for text in funnel.locator("text.bartext").all()]
        frame = box(funnel)
        for i, text in enumerate(texts):
            assert frame["l"] <= text["l"] and text["r"] <= frame["r"], (device, labels[i])
            assert not any(_overlap(text, other) for other in texts[i + 1 :]), (device, labels[i])
        # The hover says the same number.
        page.mouse.move((bars[0]["l"] + bars[0]["r"]) / 2, (bars[0]["t"] + bars[0]["b"]) / 2)
        expect(funnel.locator(".hoverlayer")).to_contain_text(numbers[0])
        screenshot(page, f"funnel-{lang}-{device}", full_page=False)
        manager.assert_no_problems()

    day = timezone.localdate() - dt.timedelta(days=60)  # before the demo's 40 days
    weekday, hour = _one_chat(team=team, day=day)
    too_few = {"zh-hans": "样本太少", "en": "Too few to rate"}[lang]
    one_buyer = {"zh-hans": "询单 1 人", "en": "1 inquiring buyer"}[lang]
    for device, window in DEVICES.items():
        url = f"/dashboard/?team={team.pk}&preset=custom&start={day}&end={day}"
        manager = visitor("manager", locale=locale, next_url=url, **window)
        page = manager.page
        heatmap = page.locator("#fig-heatmap")
        expect(heatmap).to_have_attribute("data-rendered", "true")
        heatmap.scroll_into_view_if_needed()
        # The one buyer paid: the rate would be 100 %. No rate is shown; the cell is "too few".
        assert heatmap.evaluate(f"gd => gd.data[0].z[{weekday}][{hour}]") is None
        point = heatmap.evaluate(
            f"""gd => {{ const t = gd.data[1], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                        const r = gd.getBoundingClientRect();
                        return {{x: r.left + xa._offset + xa.d2p(t.x[{hour}]), y: r.top + ya._offset + ya.d2p(t.y[{weekday}])}}; }}"""
        )
        page.mouse.move(point["x"], point["y"])
        hover = heatmap.locator(".hoverlayer")
        expect(hover).to_contain_text(too_few)
        expect(hover).to_contain_text(one_buyer)
        assert "100" not in hover.text_content()
        screenshot(page, f"heatmap-one-chat-{lang}-{device}", full_page=False)
        manager.assert_no_problems()
