"""Issue 12 journeys in Chromium: a speaker logs in and reaches the console by clicking; moderation
is undone from the console (unban, un-hide, the attendee list beyond one page); an organizer's edit
reaches an open room without a reload. Screenshots at phone and laptop width go to /tmp/journeys."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.db_types import utcnow
from tests.e2e.test_live_journey import wait_socket
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Exception ignored in. <_io.FileIO:pytest.PytestUnraisableExceptionWarning"),
]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
WAIT = 15_000
SHOTS = Path("/tmp/journeys")
expect.set_options(timeout=WAIT)  # two shared cores: a page may take a few seconds


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


def log_in(browser, live_server, email: str, *, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.click("a:has-text('Log in')")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    return context, page


@pytest.mark.parametrize("width", ["phone", "laptop"])
def test_a_speaker_logs_in_and_reaches_the_console_by_clicking(browser, live_server, make, width):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    starts = (utcnow() + timedelta(days=1)).replace(hour=16, minute=0, second=0, microsecond=0)
    webinar = make.webinar(owner=owner, speakers=(speaker,), status="scheduled", title="Pricing for indie makers",
                           scheduled_at=starts)
    make.webinar(owner=owner, status="scheduled", title="Somebody else's talk")
    viewport = PHONE if width == "phone" else LAPTOP

    context, page = log_in(browser, live_server, "sam@example.com", viewport=viewport)
    mine = page.locator("[data-testid=my-webinars]")
    expect(mine).to_be_visible()
    assert page.url.endswith("/console/")
    expect(mine.locator(".my-webinar")).to_have_count(1)
    expect(mine).to_contain_text("Pricing for indie makers")
    # The next start in the speaker's own zone (Berlin is UTC+1 in winter, +2 in summer).
    local = page.locator("[data-testid=next-start]").inner_text()
    assert "Europe/Berlin" in local and ("5:00" in local or "6:00" in local), local
    # The top bar has no "Dashboard" for a speaker (it would answer 403).
    expect(page.locator("[data-testid=nav-dashboard]")).to_have_count(0)
    expect(page.locator("[data-testid=nav-my-webinars]")).to_be_visible()
    shoot(page, f"my-webinars-speaker-{width}")

    page.click("[data-testid=open-console]")
    expect(page.locator("[data-testid=console-start]")).to_be_visible()
    assert page.url.endswith(f"/console/{webinar.webinar_id}")
    wait_socket(page)
    shoot(page, f"console-from-my-webinars-{width}")
    # Back to the list from the top bar.
    page.click("[data-testid=nav-my-webinars]")
    expect(page.locator("[data-testid=my-webinars]")).to_be_visible()
    context.close()

    # An organizer lands on the dashboard and reaches the same console from "My webinars".
    context, page = log_in(browser, live_server, "olga@example.com", viewport=viewport)
    expect(page.locator("[data-testid=dashboard-upcoming]")).to_be_visible()
    page.click("[data-testid=nav-my-webinars]")
    expect(page.locator("[data-testid=my-webinars] .my-webinar")).to_have_count(2)
    shoot(page, f"my-webinars-organizer-{width}")
    page.locator(f".my-webinar[data-webinar-id='{webinar.webinar_id}'] [data-testid=open-console]").click()
    expect(page.locator("[data-testid=console-start]")).to_be_visible()
    context.close()
