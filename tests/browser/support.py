"""What every browser test module shares: the system Chromium and the check that it and the
`playwright` package are there (never `playwright install`), logging in, screenshots and drawn
figures. The module's browser, the demo site and logged-in visitors are fixtures of conftest.py.
Nothing here imports playwright at import time: a module without it must still be skipped."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-test-password"  # every demo login's, as the tests seed them


def _browser_missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -r requirements/dev.txt)"
    return None


def browser_required() -> None:
    """Call at the top of a browser test module, before importing playwright: skips the module
    when Chromium or playwright is missing, unless PERFMGMT_REQUIRE_BROWSER=1 (CI), which makes
    it an error."""
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("PERFMGMT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PERFMGMT_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
    pytest.skip(
        f"browser tests skipped: {missing}; set PERFMGMT_REQUIRE_BROWSER=1 to make this an error",
        allow_module_level=True,
    )


def log_in(page, username: str, *, next_url: str = "/") -> None:
    """Sign in on the login page (a playwright Page) with PASSWORD and land on `next_url`."""
    page.goto(f"/accounts/login/?{urlencode({'next': next_url})}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    # Enter in the password field: the top bar's language buttons are submit buttons too.
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")
    assert "/accounts/login/" not in page.url, f"{username} could not log in"


@dataclass
class Visitor:
    """A logged-in page (a playwright Page) and the console and page errors seen on it."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def assert_no_problems(self) -> None:
        assert self.problems == [], "console errors or page errors:\n" + "\n".join(self.problems)


def screenshot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot of the page to $PERFMGMT_SCREENSHOTS (default var/screenshots/), to look at."""
    folder = Path(os.environ.get("PERFMGMT_SCREENSHOTS") or REPO_ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=full_page)


def assert_figures_drawn(page, ids: list[str]) -> None:
    """Exactly these figures are on the page, and plotly has drawn each of them."""
    from playwright.sync_api import expect

    found = page.locator("div.figure[data-figure]").evaluate_all("els => els.map(e => e.id)")
    assert sorted(found) == sorted(ids)
    for figure_id in ids:
        expect(page.locator(f"#{figure_id}")).to_have_attribute("data-rendered", "true", timeout=15_000)
        assert page.locator(f"#{figure_id} .main-svg").count() > 0, f"#{figure_id} has no plot"
