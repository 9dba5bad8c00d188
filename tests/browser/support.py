"""What every browser test module shares: the system Chromium and the check that it and the
`playwright` package are there (never `playwright install`). The module's browser is the
`browser` fixture of conftest.py."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

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
