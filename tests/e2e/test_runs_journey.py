"""Issue 12 point 3 in Chromium: a live webinar with two start times runs twice, and each run
lets in only its own registrants (the other sees their own countdown until their run)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.db_types import utcnow
from tests.e2e.test_live_journey import LAPTOP, PHONE, WAIT, login, wait_socket
from tests.factories import PASSWORD

# The test server leaks a static video segment's file when the browser aborts it (as in the live journey).
pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/runs")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def register(browser, live_server, slug: str, *, name: str, email: str, choice: int, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/w/{slug}")
    form = page.locator("[data-testid=register-form]")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=slot_id]").nth(choice).check()
    form.locator("button[type=submit]").click()
    page.locator("[data-testid=join-link]").first.click()
    expect(page.locator("[data-testid=room-status]")).to_be_visible()
    return context, page


def test_two_start_times_run_twice_with_the_right_people(browser, live_server, make):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    main = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=5)
    w = make.webinar(status="scheduled", title="Two-time workshop", slug="two-times", speakers=(speaker,), owner=owner,
                     scheduled_at=main, slots=(main + timedelta(hours=2),), chat_lobby_minutes=15,
                     stream_url="/static/demo/hls/index.m3u8")
    ann_ctx, ann = register(browser, live_server, w.slug, name="Ann First", email="ann@example.com", choice=0,
                            viewport=PHONE)
    bob_ctx, bob = register(browser, live_server, w.slug, name="Bob Second", email="bob@example.com", choice=1,
                            viewport=LAPTOP)
    wait_socket(ann)
    wait_socket(bob)
    sam_ctx, sam = login(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.goto(f"{live_server.url}/console/{w.webinar_id}")
    wait_socket(sam)
    expect(sam.locator("[data-testid=console-run-select] option")).to_have_count(2)
    shot(sam, "console-two-times-laptop")
    sam.click("[data-testid=console-start]")
    expect(sam.locator("[data-testid=console-run]")).to_be_visible(timeout=WAIT)
    wait_socket(sam)  # the console moved to the run's chat (a new page)

    # Run 1: Ann is in, Bob keeps his own countdown (two hours after the first).
    expect(ann.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live", timeout=WAIT)
    expect(bob.locator("[data-testid=room-status]")).to_have_attribute("data-status", "scheduled")
    expect(bob.locator("[data-testid=waiting-room]")).to_be_visible()
    expect(bob.locator("[data-countdown] [data-unit=h]")).to_have_text("02", timeout=WAIT)
    shot(ann, "run1-live-phone")
    shot(bob, "run1-waiting-laptop")
    shot(sam, "console-run1-live-laptop")

    # Stop ends run 1 only; the console offers time 2.
    sam.on("dialog", lambda d: d.accept())
    sam.click("[data-testid=console-stop]")
    expect(ann.locator("[data-testid=room-status]")).to_have_attribute("data-status", "finished", timeout=WAIT)
    expect(bob.locator("[data-testid=room-status]")).to_have_attribute("data-status", "scheduled")
    expect(sam.locator("[data-testid=console-status]")).to_have_attribute("data-status", "scheduled", timeout=WAIT)
    expect(sam.locator("[data-testid=console-run-select] option")).to_have_count(1)
    shot(ann, "run1-ended-phone")
    shot(sam, "console-between-runs-laptop")

    # Run 2: Bob is let in; Ann's run stays over; the console watches run 2's chat.
    sam.click("[data-testid=console-start]")
    expect(sam.locator("[data-testid=console-run]")).to_be_visible(timeout=WAIT)
    wait_socket(sam)
    expect(bob.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live", timeout=WAIT)
    expect(ann.locator("[data-testid=room-status]")).to_have_attribute("data-status", "finished")
    expect(sam.locator("[data-testid=console-attendee-count]")).to_have_attribute("data-count", "1", timeout=WAIT)
    expect(sam.locator(".attendee-name", has_text="Bob Second")).to_be_visible()
    bob.fill("[data-testid=chat-input]", "Hello from the second run")
    bob.click("[data-testid=chat-send]")
    expect(sam.locator(".chat-msg", has_text="second run")).to_be_visible(timeout=WAIT)
    expect(ann.locator(".chat-msg", has_text="second run")).to_have_count(0)
    shot(sam, "console-run2-live-laptop")
    shot(bob, "run2-live-laptop")
    bob.set_viewport_size(PHONE)
    shot(bob, "run2-live-phone")

    # The organizer reads the report of one run: Attendance tab, pick the run.
    olga_ctx = browser.new_context(viewport=LAPTOP, locale="en-US")
    olga = olga_ctx.new_page()
    olga.goto(f"{live_server.url}/login")
    olga.fill("input[name=email]", "olga@example.com")
    olga.fill("input[name=password]", PASSWORD)
    olga.click("button[type=submit]:has-text('Log in')")
    olga.goto(f"{live_server.url}/admin/webinars/{w.webinar_id}")
    olga.click("nav.tabs a:has-text('Attendance')")
    picker = olga.locator("[data-testid=run-picker]")
    picker.locator("select").select_option(index=1)  # the main (first) time
    picker.locator("button[type=submit]").click()
    expect(olga.locator("[data-testid=attendees-total]")).to_have_text("1")
    expect(olga.locator("text=Ann First")).to_be_visible()
    expect(olga.locator("text=Bob Second")).to_have_count(0)
    shot(olga, "report-run1-laptop")
    olga.set_viewport_size(PHONE)
    shot(olga, "report-run1-phone")
    for context in (ann_ctx, bob_ctx, sam_ctx, olga_ctx):
        context.close()
