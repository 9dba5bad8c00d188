"""The Content-Security-Policy in a real browser: Chromium driven by Playwright against the live server.

Every page of the product (dashboards with plotly figures, pipeline, pay, appraisals, imports,
the API docs and the admin) runs under the policy of perfmgmt/settings/base.py without a single
`securitypolicyviolation`; the handlers moved out of the templates into static/js/app.js still
work; and a member, account or buyer with a hostile name never opens a dialog.

Needs /usr/bin/chromium and the `playwright` package, like test_dashboards_browser.py: without
them the module is skipped, unless PERFMGMT_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest

from tests.browser.support import PASSWORD, browser_required, log_in

pytestmark = pytest.mark.browser

HOSTILE_MEMBER = "<img src=x onerror=alert(1)>"
HOSTILE_ACCOUNT = "<script>alert(1)</script>"
HOSTILE_TEAM = '<script>alert("x")</script>'


browser_required()

# Only now: without playwright the module is skipped above.
from playwright.sync_api import Browser, Page, expect  # noqa: E402


@dataclass
class World:
    url: str
    store_pk: int
    team_pk: int
    member_pk: int
    cycle_pk: int
    appraisal_pk: int
    draft_pks: list[int]
    approved_pk: int
    batch_pk: int
    telesales_store_pk: int
    month: str
    manual_line_pk: int


def _seed(live_server) -> World:
    """The demo organisation with 40 days of shop data, pipeline follow-ups and appraisals (last
    month's cycles finalised); one member of a finalised cycle, their accounts and their team get
    hostile names; their team gets a pay plan and this month's statements (one approved)."""
    import datetime as dt

    from django.contrib.auth import get_user_model

    from incentives.models import ManualLineKind, Plan, PlanAssignment
    from incentives.services.manual_lines import manual_line_create
    from incentives.services.statements import statement_approve, statement_refresh
    from metrics.models import ImportBatch
    from perfmgmt.common.periods import store_today
    from perfmgmt.demo.appraisals import demo_appraisals_create
    from perfmgmt.demo.incentives import DEMO_PLAN
    from perfmgmt.demo.organisation import demo_organisation_create
    from perfmgmt.demo.pipeline import demo_pipeline_followups_create
    from perfmgmt.demo.seed import demo_data_import
    from reviews.models import Appraisal, CycleState
    from teams.models import PlatformAccount, Team, TeamKind
    from teams.selectors.scoping import Viewer

    demo_organisation_create(password=PASSWORD)
    demo_data_import(orders=2000, days=40)
    demo_pipeline_followups_create()
    demo_appraisals_create()
    appraisal = (
        Appraisal.objects.filter(cycle__state=CycleState.FINALISED, cycle__team__isnull=False)
        .select_related("member", "cycle__team__store")
        .order_by("pk")
        .first()
    )
    member, team, store = appraisal.member, appraisal.cycle.team, appraisal.cycle.team.store
    member.display_name = HOSTILE_MEMBER
    member.save(update_fields=["display_name"])
    PlatformAccount.objects.filter(assignments__member=member).update(name=HOSTILE_ACCOUNT)
    team.name = HOSTILE_TEAM
    team.save(update_fields=["name"])

    month = store_today(store).replace(day=1)
    plan = Plan.objects.create(**DEMO_PLAN)
    PlanAssignment.objects.create(plan=plan, team=team, start_date=month - dt.timedelta(days=40))
    colleagues = list(team.memberships.values_list("member", flat=True).distinct())
    statements = [
        statement_refresh(member=m, store=store, month=month) for m in type(member).objects.filter(pk__in=colleagues)
    ]
    statements = sorted((s for s in statements if s is not None), key=lambda s: s.member_id != member.pk)
    admin = get_user_model().objects.get(username="admin")
    # A manual line typed with markup, approved with the statement: its title and reason stay text.
    manual = manual_line_create(viewer=Viewer(user_id=admin.pk, is_admin=True), user=admin, statement=statements[0],
                                kind=ManualLineKind.AWARD, title=HOSTILE_ACCOUNT, amount=100, reason=HOSTILE_TEAM)  # fmt: skip
    approved = statement_approve(viewer=Viewer(user_id=admin.pk, is_admin=True), user=admin, statement=statements[0])
    return World(
        url=live_server.url,
        store_pk=store.pk,
        team_pk=team.pk,
        member_pk=member.pk,
        cycle_pk=appraisal.cycle_id,
        appraisal_pk=appraisal.pk,
        draft_pks=[s.pk for s in statements[1:]],
        approved_pk=approved.pk,
        batch_pk=ImportBatch.objects.order_by("pk").first().pk,
        month=f"{month:%Y-%m}",
        telesales_store_pk=Team.objects.filter(kind=TeamKind.TELESALES).values_list("store", flat=True).first(),
        manual_line_pk=manual.pk,
    )


# Runs in every page before its own scripts: remembers each CSP violation the page reports, and
# stands in for window.print (a print dialog would stall the headless browser).
INIT_SCRIPT = """
window.__cspViolations = [];
window.__printed = 0;
window.print = () => { window.__printed += 1; };
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
# A script the page would run (not a json_script data block) that carries a hostile name, or an
# element that only exists if a hostile name was parsed as HTML.
INJECTED = """() => [
  ...[...document.scripts].filter((s) => !s.type || s.type === "text/javascript")
    .filter((s) => s.textContent.includes("alert(")).map((s) => "script: " + s.textContent.slice(0, 80)),
  ...[...document.querySelectorAll('img[src="x"], img[onerror]')].map((e) => "element: " + e.outerHTML),
]"""


@dataclass
class Visit:
    page: Page
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_dialogs: bool = False

    def on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept() if self.accept_dialogs else dialog.dismiss()

    def check(self, name: str) -> list[str]:
        """What went wrong on the page shown: CSP violations, console errors, failed requests,
        injected markup; then forgets the console and requests."""
        found = [f"{name}: {v}" for v in self.page.evaluate("window.__cspViolations")]
        found += [f"{name}: {v}" for v in self.page.evaluate(INJECTED)]
        found += [f"{name}: {p}" for p in self.problems]
        self.problems.clear()
        return found


def _visit(browser: Browser, url: str, username: str) -> Visit:
    context = browser.new_context(locale="en-US", base_url=url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(INIT_SCRIPT)
    visit = Visit(context.new_page())
    page = visit.page

    def console(message) -> None:
        # A failed request is reported below with its address; Chromium's console line has none.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            visit.problems.append(f"console.error: {message.text}")

    def response(answer) -> None:
        # Chromium's own request for /favicon.ico on pages without an icon link (the Django
        # admin's) counts too: the site answers it.
        if answer.status >= 400:
            visit.problems.append(f"{answer.status} for {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: visit.problems.append(f"page error: {error}"))
    page.on("dialog", visit.on_dialog)
    log_in(page, username)
    return visit


def test_every_page_runs_under_the_policy_and_hostile_names_stay_text(browser, live_server):
    from incentives.models import Statement, StatementState
    from reviews.models import Cycle, CycleState

    world = _seed(live_server)
    visit = _visit(browser, world.url, "admin")
    page = visit.page
    problems = visit.check("login")

    figures = {
        "team dashboard": f"/dashboard/?team={world.team_pk}",
        "member dashboard": f"/dashboard/members/{world.member_pk}/",
        "stores overview": "/dashboard/stores/",
    }
    others = {
        "best hours": f"/pipeline/best-hours/?store={world.telesales_store_pk}",
        "stuck deals": "/pipeline/",
        "statements": f"/pay/?store={world.store_pk}&month={world.month}",
        "statement": f"/pay/statements/{world.approved_pk}/",
        "manual line": f"/pay/statements/{world.approved_pk}/manual-lines/{world.manual_line_pk}/",
        "cycle": f"/appraisals/cycles/{world.cycle_pk}/",
        "appraisal": f"/appraisals/{world.appraisal_pk}/",
        "print": f"/appraisals/{world.appraisal_pk}/print/",
        "imports": "/data/imports/",
        "upload": "/data/imports/new/",
        "batch": f"/data/imports/{world.batch_pk}/",
        "members": "/org/members/",
        "accounts": "/org/accounts/?status=assigned&q=alert",
        "targets": "/targets/",
        "api docs": "/api/docs/",
        "admin": "/admin/",
        "admin members": "/admin/teams/member/",
        "admin member": f"/admin/teams/member/{world.member_pk}/change/",
    }
    for name, url in {**figures, **others}.items():
        response = page.goto(url)
        assert response.status == 200, f"{name}: {url} answered {response.status}"
        if name in figures:
            drawn = page.locator("div.figure[data-figure]")
            assert drawn.count() > 0, f"{name} has no figure"
            for figure in drawn.all():
                expect(figure).to_have_attribute("data-rendered", "true", timeout=15_000)
                assert figure.locator(".main-svg").count() > 0, f"{name}: a figure has no plot"
                assert figure.locator(".plot-container").count() == 1
        if name == "api docs":
            expect(page.locator("#swagger-ui .opblock").first).to_be_visible(timeout=15_000)
        page.wait_for_load_state("networkidle")
        problems += visit.check(name)
    assert problems == []
    assert visit.dialogs == [], "a dialog opened while only looking at pages"

    # The hostile names are on the pages as text.
    for url, text in (
        ("/org/members/", HOSTILE_MEMBER),
        (f"/org/accounts/?{urlencode({'status': 'assigned', 'q': 'alert'})}", HOSTILE_ACCOUNT),
    ):
        page.goto(url)
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    page.goto(f"/appraisals/cycles/{world.cycle_pk}/")
    expect(page.get_by_text(HOSTILE_TEAM, exact=False).first).to_be_visible()
    page.goto(others["statement"])
    manual = page.locator('[data-testid="manual-lines-table"]')
    expect(manual.get_by_text(HOSTILE_ACCOUNT, exact=False).first).to_be_visible()
    expect(manual.get_by_text(HOSTILE_TEAM, exact=False).first).to_be_visible()

    # plotly's own PNG download works under the policy (SVG drawn through a data: image).
    page.goto(figures["team dashboard"])
    expect(page.locator("#fig-trend")).to_have_attribute("data-rendered", "true", timeout=15_000)
    page.locator("#fig-trend").hover()
    with page.expect_download() as download:
        page.locator('#fig-trend .modebar-btn[data-title="Download plot as a PNG"]').click()
    assert download.value.suggested_filename.endswith(".png")
    assert visit.check("png download") == []

    # Moved out of the templates, still working: computed shades and bar widths (CSSOM) ...
    page.goto(others["best hours"])
    shades = page.locator("td[data-shade]")
    assert shades.count() > 0
    first = shades.first
    alpha = first.get_attribute("data-shade")
    assert first.evaluate("td => getComputedStyle(td).backgroundColor") == f"rgba(37, 99, 235, {float(alpha):g})"
    assert page.locator("td.best").first.evaluate("td => getComputedStyle(td).outlineStyle") == "solid"
    # ... the publish confirmation on the cycle page: Cancel keeps the cycle finalised ...
    page.goto(others["cycle"])
    publish = page.locator("form.move button[data-to=published]")
    with page.expect_event("dialog"):
        publish.click()
    page.wait_for_load_state("networkidle")
    assert "Publish the cycle?" in visit.dialogs[-1]
    assert Cycle.objects.get(pk=world.cycle_pk).state == CycleState.FINALISED
    # Reopened into calibration, the cycle shows the grade guide with its bars (CSSOM widths).
    page.fill("#id_reopen_reason", "re-imported refunds")
    with page.expect_navigation():
        page.locator("#reopen button[type=submit]").click()
    assert Cycle.objects.get(pk=world.cycle_pk).state == CycleState.CALIBRATION
    bars = page.locator(".share-bar > span[data-width]")
    assert bars.count() == 5
    for bar in bars.all():
        assert bar.evaluate("e => e.style.width") == f"{bar.get_attribute('data-width')}%"
    mark = page.locator(".share-bar > i[data-left]").first
    assert mark.evaluate("e => e.style.left") == f"{mark.get_attribute('data-left')}%"

    # ... select-all and the bulk lock confirmation on the statements page ...
    page.goto(others["statements"])
    boxes = page.locator('input[name="ids"][form="bulk"]')
    assert boxes.count() == len(world.draft_pks) + 1
    page.locator("[data-select-all]").check()
    assert all(box.is_checked() for box in boxes.all())
    page.locator("[data-select-all]").uncheck()
    assert not any(box.is_checked() for box in boxes.all())
    page.locator("[data-select-all]").check()
    page.locator("#bulk button[value=lock]").click()
    assert "Lock the selected statements?" in visit.dialogs[-1]
    assert "/pay/" in page.url and not Statement.objects.filter(state=StatementState.LOCKED).exists()

    # ... the single statement's lock: Cancel keeps it, OK locks it; and the print buttons.
    page.goto(others["statement"])
    page.locator("[data-testid=lock]").click()
    assert "Lock this statement?" in visit.dialogs[-1]
    assert Statement.objects.get(pk=world.approved_pk).state == StatementState.APPROVED
    page.locator("[data-print]").click()
    assert page.evaluate("window.__printed") == 1
    visit.accept_dialogs = True
    with page.expect_navigation():
        page.locator("[data-testid=lock]").click()
    assert Statement.objects.get(pk=world.approved_pk).state == StatementState.LOCKED
    page.goto(others["print"])
    page.locator("[data-print]").click()
    assert page.evaluate("window.__printed") == 1
    # The confirmations asked for (the single lock twice: Cancel, then OK), and no other dialog.
    asked = ["Publish the cycle", "Lock the selected statements", "Lock this statement", "Lock this statement"]
    assert [message.split("?")[0] for message in visit.dialogs] == asked
    assert visit.check("after the handlers") == []


def test_the_browsable_api_and_its_docs_run_under_the_policy(browser, live_server):
    """The API's own pages in a browser, as a manager and as an administrator: the root, a list
    with its filters, search and ordering, a detail with its extra actions, and the Swagger docs,
    without a CSP violation or any console error; each page links the site's icon, and
    /favicon.ico answers with it."""
    from perfmgmt.demo.organisation import demo_organisation_create
    from teams.models import PlatformAccount, Role, RoleGrant

    demo_organisation_create(password=PASSWORD)
    store = RoleGrant.objects.filter(role=Role.MANAGER, user__username="manager").order_by("pk").first().store
    account = PlatformAccount.objects.filter(store=store).order_by("pk").first()
    pages = {
        "api root": "/api/",
        "stores": "/api/stores/",
        "store": f"/api/stores/{store.pk}/",
        "account": f"/api/platform-accounts/{account.pk}/",
        "api docs": "/api/docs/",
    }
    problems = []
    for username in ("manager", "admin"):
        visit = _visit(browser, live_server.url, username)
        page = visit.page
        for name, url in pages.items():
            response = page.goto(url)
            assert response.status == 200, f"{username}: {url} answered {response.status}"
            if name == "api docs":
                expect(page.locator("#swagger-ui .opblock").first).to_be_visible(timeout=15_000)
            else:
                expect(page.locator(".response-info pre")).to_be_visible()
            icons = page.locator("link[rel=icon]")
            assert sorted(icons.evaluate_all("links => links.map((l) => new URL(l.href).pathname)")) == [
                "/static/img/favicon.ico",
                "/static/img/favicon.svg",
            ], f"{name}: the site's icon is not linked"
            if name == "stores":  # the filters dialog: search and ordering
                page.locator("button[data-target='#filtersModal']").click()
                expect(page.locator("#filtersModal input[name=search]")).to_be_visible()
                expect(page.locator("#filtersModal .list-group-item").first).to_be_visible()
            if name == "account":  # the extra actions' menu
                page.locator("#extra-actions-menu").click()
                expect(page.locator("[aria-labelledby=extra-actions-menu] a").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            problems += visit.check(f"{username} {name}")
        icon = page.request.get("/favicon.ico")
        assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00", "/favicon.ico is no icon"
        page.context.close()
    assert problems == []
