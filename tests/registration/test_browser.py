"""A visitor registers in a real browser (Playwright + Debian chromium) and sees the join link."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.db_types import utcnow

SIZES = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 768}}


@pytest.fixture
def webinar(make):
    speaker = make.user(role="speaker", display_name="Sam Speaker")
    return make.webinar(
        status="scheduled",
        title="Launching your first webinar: from zero to a full room",
        description="A live walkthrough of registration, the waiting room, chat and a call-to-action.\n\n"
                    "Bring your questions: the last 15 minutes are Q&A.",
        speakers=(speaker,),
        timezone="Europe/Berlin",
        scheduled_at=(utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0),
        duration_minutes=45,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("size", list(SIZES))
def test_visitor_registers_and_gets_the_join_link(app, webinar, browser, live_server, screenshot, size):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=SIZES[size], timezone_id="America/New_York", locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/w/{webinar.slug}?utm_source=e2e")
        form = page.get_by_test_id("register-form")
        expect(form).to_be_visible()
        # portal.js shows the start in the visitor's zone (New York here)
        expect(page.locator("time.reg-local")).to_contain_text("America/New_York")
        screenshot(page, f"registration-page-{size}")

        form.locator("[name=name]").fill("Ann <b>Lee</b>")
        form.locator("[name=email]").fill("ann@example.com")
        form.locator("button[type=submit]").click()
        expect(page.locator("#name-msg .error")).to_contain_text("Please leave out")
        if size == "phone":
            screenshot(page, "registration-error-phone")

        form.locator("[name=name]").fill("Ann Lee")
        form.locator("button[type=submit]").click()
        link = page.get_by_test_id("join-link")
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", re.compile(r"^http://127\.0\.0\.1:\d+/room/[A-Za-z0-9_\-]{32}$"))
        assert "/room/" not in page.url  # the token never rides in the address bar
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == link.get_attribute("href")
        screenshot(page, f"registration-confirmation-{size}")

        with page.expect_download() as download:
            page.get_by_role("link", name="Add to calendar (.ics)").click()
        assert download.value.suggested_filename == f"{webinar.slug}.ics"

        page.goto(f"{live_server.url}/w/{webinar.slug}")
        expect(page.get_by_test_id("join-link")).to_have_attribute("href", link.get_attribute("href"))
        screenshot(page, f"registration-registered-{size}")
    finally:
        context.close()


@pytest.mark.e2e
def test_start_choice_and_home_page_look_right(app, make, webinar, browser, live_server, screenshot):
    from playwright.sync_api import expect

    auto = make.webinar(type="auto", status="live", title="Evergreen: the 20-minute product tour")
    context = browser.new_context(viewport=SIZES["phone"], timezone_id="Europe/Berlin", locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/w/{auto.slug}")
        expect(page.locator("input[name=slot_id][value=now]")).to_be_checked()
        screenshot(page, "registration-auto-phone")
        page.locator("label.reg-slot").nth(2).click()
        page.get_by_test_id("register-form").locator("[name=name]").fill("Ann Lee")
        page.get_by_test_id("register-form").locator("[name=email]").fill("ann@example.com")
        page.get_by_test_id("register-form").locator("button[type=submit]").click()
        expect(page.get_by_test_id("join-link")).to_be_visible()
        # another browser with the same email: told it is registered, shown no link
        other = browser.new_context(viewport=SIZES["phone"], locale="en-US")
        try:
            stranger = other.new_page()
            stranger.goto(f"{live_server.url}/w/{auto.slug}")
            stranger.get_by_test_id("register-form").locator("[name=name]").fill("Someone")
            stranger.get_by_test_id("register-form").locator("[name=email]").fill("ann@example.com")
            stranger.get_by_test_id("register-form").locator("button[type=submit]").click()
            expect(stranger.get_by_role("heading", level=1)).to_contain_text("already registered")
            expect(stranger.get_by_test_id("join-link")).to_have_count(0)
            screenshot(stranger, "registration-already-phone")
            ended = make.webinar(status="finished", title="Last week's launch")
            stranger.goto(f"{live_server.url}/w/{ended.slug}")
            expect(stranger.get_by_text("Registration closed")).to_be_visible()
            screenshot(stranger, "registration-closed-phone")
        finally:
            other.close()
        page.goto(live_server.url + "/")
        expect(page.locator(f'a[href="/w/{webinar.slug}"]').first).to_be_visible()
        screenshot(page, "index-phone")
        page.set_viewport_size(SIZES["laptop"])
        screenshot(page, "index-laptop")
    finally:
        context.close()
