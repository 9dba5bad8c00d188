"""Logins in a real browser (issue 19, point 2): a manager invites a member of their store from the
member's page, the member opens the one-time link, sets a password, signs in and sees their own
page and nobody else's (404), in Chinese and in English; the used link no longer works.

Needs /usr/bin/chromium and the `playwright` package (see tests/browser/support.py). Screenshots
go to $PERFMGMT_SCREENSHOTS (default var/screenshots/)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from teams.models import Member
from tests.browser.support import browser_required, screenshot

pytestmark = pytest.mark.browser

browser_required()

from playwright.sync_api import expect  # noqa: E402

NEW_PASSWORD = "Plum-7-harbour-Kite"
TEXT = {
    "zh-CN": {"invite": "邀请登录", "create": "创建登录账号", "set": "设置密码", "login": "登录", "profile": "我的资料",
              "gone": "此链接已失效"},
    "en-US": {"invite": "Invite to sign in", "create": "Create the login", "set": "Set my password", "login": "Log in",
              "profile": "My profile", "gone": "This link no longer works"},
}  # fmt: skip


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_manager_invites_a_member_who_sets_a_password_and_sees_only_their_own_page(visitor, browser, site, locale):
    words = TEXT[locale]
    # 陈静 works in the manager's first store and has no login yet.
    member = Member.objects.get(display_name="陈静", user__isnull=True)
    manager = visitor("manager", locale=locale, next_url=f"/org/members/{member.pk}/")
    page = manager.page
    page.click(f"text={words['invite']}")
    expect(page.locator("#id_member")).to_have_value(str(member.pk))
    page.fill("#id_username", f"chenjing-{locale[:2]}")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['create']}')")
    link = page.input_value("#password-link")
    assert urlsplit(link).path.startswith("/accounts/set-password/")
    screenshot(page, f"invite-link-{locale[:2]}")
    manager.assert_no_problems()

    context = browser.new_context(locale=locale, base_url=site.url, viewport={"width": 1366, "height": 900})
    try:
        own = context.new_page()
        problems: list[str] = []
        own.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        own.goto(link)
        own.fill("input[name=new_password1]", NEW_PASSWORD)
        own.fill("input[name=new_password2]", NEW_PASSWORD)
        screenshot(own, f"set-password-{locale[:2]}")
        with own.expect_navigation():
            own.click(f"button:has-text('{words['set']}')")
        assert urlsplit(own.url).path == "/accounts/set-password/done/"
        with own.expect_navigation():
            own.click(f"main a:has-text('{words['login']}')")
        own.fill("input[name=username]", f"chenjing-{locale[:2]}")
        own.fill("input[name=password]", NEW_PASSWORD)
        with own.expect_navigation():
            own.press("input[name=password]", "Enter")
        assert urlsplit(own.url).path == "/"
        expect(own.locator("h2", has_text=words["profile"])).to_be_visible()
        expect(own.locator("main")).to_contain_text("陈静")
        screenshot(own, f"invited-member-home-{locale[:2]}")

        assert own.goto(f"/org/members/{member.pk}/").status == 200
        assert problems == []
        other = Member.objects.exclude(pk=member.pk).order_by("pk").first()
        response = own.goto(f"/org/members/{other.pk}/")
        assert response.status == 404 and other.display_name not in own.inner_text("body")
        # Nobody else on the members page either.
        own.goto("/org/members/")
        names = own.locator("table.data tbody td:first-child").all_inner_texts()
        assert [name.strip() for name in names] == ["陈静"]

        # The link worked once.
        own.goto(link)
        expect(own.locator("h1")).to_have_text(words["gone"])
    finally:
        context.close()
