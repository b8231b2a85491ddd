"""A speaker logs in and out in Chromium; the language switcher changes the UI language."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_login_logout_and_language(browser, live_server, make, screenshot):
    user = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", "sam@example.com")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]:has-text('Log in')")
    assert page.locator(".field-errors .error").inner_text() == "Wrong email or password."
    screenshot(page, "login-error-phone")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_selector(f"text={user.display_name}")
    page.click("button:has-text('RU')")
    page.wait_for_selector("html[lang=ru]")
    assert page.locator("button.link:has-text('Выйти')").count() == 1
    page.click("button.link:has-text('Выйти')")
    page.wait_for_selector("a:has-text('Войти')")
    context.close()
