"""The browser of the browser test modules: the system Chromium, launched once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS


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
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
