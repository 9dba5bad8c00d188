"""What the browser test modules share: the system Chromium, launched once per module; the
demo site behind pytest-django's live server; and logged-in visitors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Visitor, log_in


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """The system Chromium, launched once per module (a playwright Browser)."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env:
        # Playwright's sync API keeps an asyncio loop running in this thread, and Django's ORM
        # refuses to run beside a running loop unless told it may. It may: the loop only drives the
        # browser, and the test's queries (and the transactional flush) stay synchronous.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # Playwright hides scrollbars in headless Chromium by default; keep them, as people see
            # them: the tests check that a wide table's scrollbar is there, and screenshots show it.
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, ignore_default_args=["--hide-scrollbars"]
            )
            yield chromium
            chromium.close()


@pytest.fixture
def site(live_server):
    """The demo organisation and 40 days of shop data up to yesterday, behind the live server.

    live_server makes each test transactional (the server thread must see committed rows), so the
    database is flushed after every test and the data is built again for each: about a second."""
    from perfmgmt.demo.organisation import demo_organisation_create
    from perfmgmt.demo.seed import demo_data_import

    demo_organisation_create(password=PASSWORD)
    demo_data_import(orders=3000, days=40)
    return live_server


@pytest.fixture
def visitor(browser, site):
    """visitor(username, locale=..., width=..., phone=...): a logged-in page in a fresh browser
    context, its window `width` × `height` CSS pixels (1366 × 900: a laptop); `phone`: Chromium's
    mobile emulation (touch, and overlay scrollbars that hide until one scrolls, as on a phone)."""
    contexts = []

    def login(
        username: str,
        *,
        locale: str = "zh-CN",
        next_url: str = "/",
        width: int = 1366,
        height: int = 900,
        phone: bool = False,
    ) -> Visitor:
        context = browser.new_context(
            locale=locale,
            base_url=site.url,
            viewport={"width": width, "height": height},
            is_mobile=phone,
            has_touch=phone,
        )
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
