"""Reactions and the health panel in Chromium: one attendee's taps reach the other attendee as a
burst; the speaker's console shows a paused player ("Paused 1") and the reaction totals."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.room.conftest import register

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
WAIT = 15_000
SHOTS = Path("/work/shots/engage")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_room(browser, live_server, attendee, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}{attendee.url}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)
    return context, page


def test_reactions_and_health_panel(browser, live_server, make):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    webinar = make.webinar(status="live", title="Reactions and health", speakers=(speaker,),
                           stream_url="/static/demo/hls/index.m3u8")
    ann, bob = register(webinar, name="Ann"), register(webinar, name="Bob")
    errors: list[str] = []
    ann_ctx, ann_page = open_room(browser, live_server, ann, PHONE)
    bob_ctx, bob_page = open_room(browser, live_server, bob, LAPTOP)
    for page in (ann_page, bob_page):
        page.on("pageerror", lambda e: errors.append(str(e)))

    # The speaker opens the console from "My webinars".
    console_ctx = browser.new_context(viewport=LAPTOP, locale="en-US")
    console = console_ctx.new_page()
    console.goto(f"{live_server.url}/login")
    console.fill("input[name=email]", "sam@example.com")
    console.fill("input[name=password]", PASSWORD)
    console.click("button[type=submit]:has-text('Log in')")
    console.locator("[data-testid=open-console]").first.click()
    expect(console.locator("[data-testid=console-health]")).to_be_visible()
    expect(console.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)

    # Ann taps applause; Bob sees the burst (one frame a second at most).
    bar = ann_page.locator("[data-testid=reaction-bar]")
    expect(bar).to_be_visible()
    bar.locator("[data-reaction=clap]").click()
    bar.locator("[data-reaction=clap]").click()
    expect(bob_page.locator("#reaction-burst [data-reaction=clap]")).to_have_count(1, timeout=WAIT)
    shot(bob_page, "room-burst-1280")
    totals = console.locator("[data-testid=console-reactions]")
    expect(totals.locator("[data-reaction=clap] strong")).to_have_text("2", timeout=WAIT)

    # Ann's player plays, then she pauses it: the console says "Paused 1".
    ann_page.wait_for_function("() => { const v = document.querySelector('#room-stage video');"
                               " return v && v.readyState >= 2 && v.currentTime > 0.2; }", timeout=WAIT)
    health = console.locator("[data-testid=console-health]")
    expect(health.locator("[data-health=playing] strong")).to_have_text("2", timeout=WAIT)
    ann_page.evaluate("document.querySelector('#room-stage video').pause()")
    expect(health.locator("[data-health=paused]")).to_have_text("Paused 1", timeout=WAIT)
    expect(health.locator("[data-health=playing] strong")).to_have_text("1", timeout=WAIT)
    expect(health.locator("[data-health=socket] strong")).to_have_text("2")
    shot(ann_page, "room-390")
    shot(console, "console-1280")
    console.set_viewport_size(PHONE)
    shot(console, "console-390")
    bob_page.set_viewport_size(LAPTOP)
    shot(bob_page, "room-1280")
    assert not errors
    for context in (ann_ctx, bob_ctx, console_ctx):
        context.close()
