"""The auto webinar journey in Chromium: register for "watch now", the recording really plays
from the live point, the tab closes and reopens and playback resumes where it stopped; the
waiting room, the resume choice and the end screens at phone and laptop sizes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.attendance.models import Attendance
from portal.autowebinar import heartbeats, schedule, store
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration import service

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
SIZES = {"phone": PHONE, "laptop": LAPTOP}
WAIT = 15_000  # ms


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0.5
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


@pytest.fixture
def webinar(make, live_server):
    w = make.webinar(
        type="auto",
        status="live",
        title="Evergreen product tour",
        slug="evergreen-tour",
        description="A recorded tour played as if live.",
        recording_url="/static/demo/auto.mp4",
        recording_duration_sec=90,
        cta_at_sec=30,
        cta_text="Book a demo call",
        cta_url=f"{live_server.url}/",
        auto_schedule={"watch_now": True, "kind": "every", "every_minutes": 15, "horizon": 4,
                       "timezone": "Europe/Berlin"},
    )
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    return w


def current_time(page) -> float:
    return page.locator("[data-aw-video]").evaluate("v => v.currentTime")


def wait_playing(page, *, beyond: float = 0.5) -> float:
    page.wait_for_function(
        "([min]) => { const v = document.querySelector('[data-aw-video]');"
        " return v && !v.paused && v.currentTime > min; }", arg=[beyond], timeout=WAIT)
    return current_time(page)


def test_watch_now_plays_and_resumes_after_the_tab_is_closed(browser, live_server, webinar, screenshot):
    context = browser.new_context(viewport=LAPTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/w/{webinar.slug}")
    form = page.locator("[data-testid=register-form]")
    form.locator("input[name=name]").fill("Vera Viewer")
    form.locator("input[name=email]").fill("vera@example.com")
    form.locator("input[name=slot_id][value=now]").check()
    form.locator("button[type=submit]").click()
    join = page.locator("[data-testid=join-link]").first
    expect(join).to_be_visible()
    room_url = join.get_attribute("href")
    join.click()

    # The recording really plays: currentTime advances by itself.
    expect(page.locator("[data-testid=player]")).to_be_visible(timeout=WAIT)
    first = wait_playing(page)
    page.wait_for_timeout(2500)
    second = current_time(page)
    assert second > first + 1.5
    # Seeking ahead of the live point is impossible.
    page.locator("[data-aw-video]").evaluate("v => { v.currentTime = 80; }")
    page.wait_for_timeout(400)
    assert current_time(page) < 15
    screenshot(page, "auto-journey-playing-laptop")

    # The tab closes (pagehide: the beacon carries the final position) ...
    page.wait_for_timeout(3000)
    stopped_at = current_time(page)
    page.close()
    reg_lead = db.session.scalar(db.select(Attendance.lead_id))
    deadline = utcnow() + timedelta(seconds=5)
    while utcnow() < deadline:
        saved = store.load(reg_lead, webinar.webinar_id).last_position_sec
        if saved is not None and abs(saved - stopped_at) <= 1.5:
            break
        db.session.rollback()
        page_wait(0.2)
    assert abs(store.load(reg_lead, webinar.webinar_id).last_position_sec - stopped_at) <= 1.5

    # ... and reopens: "continue where I left off" is the default and resumes right there.
    page = context.new_page()
    page.goto(room_url if room_url.startswith("http") else f"{live_server.url}{room_url}")
    expect(page.locator("[data-testid=resume-choice]")).to_be_visible(timeout=WAIT)
    expect(page.locator("[data-testid=resume-continue]")).to_be_focused()
    screenshot(page, "auto-journey-resume-laptop")
    page.locator("[data-testid=resume-continue]").click()
    resumed = wait_playing(page, beyond=0)
    interval = heartbeats.HEARTBEAT_INTERVAL
    assert stopped_at - interval <= resumed <= stopped_at + interval, (stopped_at, resumed)
    context.close()


def page_wait(seconds: float) -> None:
    import time

    time.sleep(seconds)


def register(webinar, *, email: str, starts_at) -> str:
    return service.register(webinar, name="Sam", email=email, starts_at=starts_at).token


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_screens_at_phone_and_laptop_sizes(browser, live_server, webinar, screenshot, size):
    context = browser.new_context(viewport=SIZES[size], locale="en-US")
    page = context.new_page()
    base = f"{live_server.url}/room/"

    # Waiting room: a scheduled start (the next "every 15 minutes" slot).
    slot = next(o for o in schedule.offered_starts(webinar, now=utcnow()) if o.label_kind == "time")
    page.goto(base + register(webinar, email=f"wait-{size}@example.com", starts_at=slot.starts_at))
    expect(page.locator("[data-testid=waiting-room]")).to_be_visible(timeout=WAIT)
    expect(page.locator("[data-testid=waiting-room] [data-unit=m]")).not_to_have_text("–")
    screenshot(page, f"auto-waiting-{size}")

    # Playing (watch now), then the CTA appears at its time for a late joiner past 30 s.
    late = utcnow().replace(microsecond=0) - timedelta(seconds=40)
    page.goto(base + register(webinar, email=f"late-{size}@example.com", starts_at=late))
    wait_playing(page, beyond=38)
    expect(page.locator("[data-testid=cta]")).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(300)
    screenshot(page, f"auto-playing-{size}")

    # A returning viewer is offered the three choices.
    token = register(webinar, email=f"back-{size}@example.com", starts_at=late)
    page.goto(base + token)
    wait_playing(page, beyond=38)
    page.locator("[data-aw-video]").evaluate("v => { v.currentTime = 12; }")
    page.wait_for_timeout(300)
    page.close()
    page = context.new_page()
    page_wait(0.5)
    page.goto(base + token)
    expect(page.locator("[data-testid=resume-choice]")).to_be_visible(timeout=WAIT)
    screenshot(page, f"auto-resume-{size}")

    # The recording's end for a viewer who joined as it ended: the end screen.
    ended = utcnow().replace(microsecond=0) - timedelta(seconds=89)
    page.goto(base + register(webinar, email=f"end-{size}@example.com", starts_at=ended))
    expect(page.locator("[data-testid=room-ended]")).to_be_visible(timeout=WAIT)
    screenshot(page, f"auto-watched-{size}")

    # Stop closes the evergreen: a viewer in progress sees the end screen.
    page.goto(base + register(webinar, email=f"stop-{size}@example.com", starts_at=late))
    wait_playing(page, beyond=38)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    expect(page.locator("[data-testid=room-ended]")).to_be_visible(timeout=WAIT)
    expect(page.locator("[data-testid=room-ended]")).to_contain_text("This webinar has ended")
    screenshot(page, f"auto-ended-{size}")
    context.close()


# A browser that refuses to play anything before the visitor clicks (strict autoplay policy).
NO_AUTOPLAY = """
(() => {
  const play = HTMLMediaElement.prototype.play;
  let clicked = false;
  document.addEventListener("click", () => { clicked = true; }, true);
  HTMLMediaElement.prototype.play = function () {
    return clicked ? play.call(this) : Promise.reject(new DOMException("blocked", "NotAllowedError"));
  };
})();
"""


def test_blocked_autoplay_offers_click_to_play(browser, live_server, webinar, screenshot):
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    page.add_init_script(NO_AUTOPLAY)
    starts_at = schedule.resolve_start(webinar, "now", now=utcnow())
    token = register(webinar, email="strict@example.com", starts_at=starts_at)
    page.goto(f"{live_server.url}/room/{token}")
    button = page.locator("[data-aw-unblock]")
    expect(button).to_be_visible(timeout=WAIT)
    expect(button).to_have_attribute("data-kind", "play")
    screenshot(page, "auto-autoplay-blocked-phone")
    button.click()
    expect(button).to_be_hidden()
    wait_playing(page, beyond=0)
    context.close()
