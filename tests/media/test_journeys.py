"""Media journeys in Chromium: an organizer uploads an auto webinar's recording (duration read
from the file), a YouTube-type stage (iframe and CSP; no network, so no playback), and a replay
where a chat message appears at its second. Screenshots at phone and laptop width."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from portal.attendance.models import LiveSession
from portal.core import lifecycle
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.media import recordings
from portal.room.models import ChatMessage
from tests.factories import PASSWORD
from tests.media.conftest import DEMO_MP4
from tests.room.conftest import register

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/media")
WAIT = 15_000
WIDTHS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_load_state()


def new_page(browser, size: str):
    return browser.new_context(viewport=WIDTHS[size], locale="en-US").new_page()


@pytest.mark.parametrize("size", WIDTHS)
def test_organizer_uploads_a_recording_and_its_duration_is_read(browser, live_server, make, size):
    owner = make.user(role="organizer", email=f"olga-{size}@example.com", display_name="Olga Owner")
    webinar = make.webinar(owner=owner, type="auto", title="Evergreen demo", recording_url="",
                           recording_duration_sec=None, cta_at_sec=10)
    page = new_page(browser, size)
    log_in(page, live_server, owner.email)
    page.goto(f"{live_server.url}/admin/webinars/{webinar.webinar_id}/edit")
    page.click("[data-testid=recording-manage]")
    page.set_input_files("input[name=recording]", str(DEMO_MP4))
    page.click("[data-testid=recording-upload] button[type=submit]")
    expect(page.locator("[data-testid=recording-duration]")).to_have_text("1:30", timeout=WAIT)
    shoot(page, f"recording-uploaded-{size}")
    page.set_input_files("input[name=recording]", {"name": "notes.txt", "mimeType": "text/plain",
                                                   "buffer": b"not a video"})
    page.click("[data-testid=recording-upload] button[type=submit]")
    expect(page.locator("[data-testid=form-errors]")).to_contain_text("not a video", timeout=WAIT)
    expect(page.locator("[data-testid=recording-duration]")).to_have_text("1:30")  # unchanged
    shoot(page, f"recording-refused-{size}")
    page.context.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_youtube_stage_frames_the_embed_under_its_csp(browser, live_server, make, size):
    webinar = make.webinar(status="live", title="Streaming on YouTube", stream_type="youtube",
                           stream_url="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
    guest = register(webinar, name="Ann")
    page = new_page(browser, size)
    response = page.goto(f"{live_server.url}{guest.url}")
    policy = response.headers["content-security-policy"]
    assert "frame-src https://www.youtube-nocookie.com;" in policy
    frame = page.locator("[data-testid=player][data-stream-type=youtube] iframe")
    expect(frame).to_have_attribute("src", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
    expect(page.locator("[data-testid=chat-form]")).to_be_visible()
    shoot(page, f"youtube-stage-{size}")
    page.context.close()


@pytest.mark.parametrize("size", WIDTHS)
def test_replay_shows_a_chat_message_at_its_moment(browser, live_server, make, size):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, status="scheduled", title="Launch replay", cta_text="Get the offer")
    guest = register(webinar, name="Ann")
    make.bring_to(webinar, "live")
    start = utcnow() - timedelta(seconds=100)
    webinar.started_at = start
    db.session.execute(update(LiveSession).values(started_at=start))
    db.session.add(ChatMessage(webinar_id=webinar.webinar_id, author_id=guest.reg.lead_id,
                               message_body="Question at four seconds", created_at=start + timedelta(seconds=4)))
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    db.session.execute(update(OutboxEvent).where(OutboxEvent.event == "webinar_cta_visibility_changed")
                       .values(occurred_at=start + timedelta(seconds=6)))
    db.session.commit()
    make.bring_to(webinar, "finished")

    # The organizer links the recording on the Recording tab and opens the replay to everyone.
    staff = new_page(browser, size)
    log_in(staff, live_server, owner.email)
    staff.goto(f"{live_server.url}/admin/webinars/{webinar.webinar_id}")
    staff.click(".tabs a:has-text('Recording')")
    staff.fill("input[name=recording_url]", "/static/demo/auto.mp4")
    staff.click("[data-testid=recording-link] button[type=submit]")
    expect(staff.locator("[data-testid=recording-duration]")).to_have_text("1:30", timeout=WAIT)
    staff.check("[data-testid=replay-public]")
    staff.click("button:has-text('Save')")
    expect(staff.locator("[data-testid=replay-public]")).to_be_checked(timeout=WAIT)
    shoot(staff, f"replay-recording-tab-{size}")
    staff.context.close()

    page = new_page(browser, size)
    page.goto(f"{live_server.url}{guest.url}")
    page.click("[data-testid=replay-link]")
    expect(page.locator("[data-testid=replay]")).to_be_visible(timeout=WAIT)
    expect(page.locator("#replay-timeline")).to_contain_text("No messages yet", timeout=WAIT)
    assert page.locator("text=Question at four seconds").count() == 0
    page.evaluate("() => { const v = document.getElementById('replay-video'); v.muted = true; v.play(); }")
    expect(page.locator("text=Question at four seconds")).to_be_visible(timeout=WAIT)
    current = page.evaluate("document.getElementById('replay-video').currentTime")
    assert current >= 4
    expect(page.locator("[data-testid=cta]")).to_be_visible(timeout=WAIT)  # shown at 0:06, as it was live
    assert page.evaluate("document.getElementById('replay-video').currentTime") >= 6
    page.evaluate("document.getElementById('replay-video').pause()")
    shoot(page, f"replay-{size}")
    page.context.close()


def test_auto_webinar_plays_a_linked_hls_recording(browser, live_server, make):
    """A recording linked as an HLS playlist (duration summed from #EXTINF) plays in the auto room."""
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, type="auto", recording_url="", recording_duration_sec=None, cta_at_sec=None)
    recordings.attach_link(webinar, "/static/demo/hls/index.m3u8", actor=owner)
    assert webinar.recording_duration_sec == 90
    make.bring_to(webinar, "live")
    guest = register_now(webinar)
    page = new_page(browser, "laptop")
    page.goto(f"{live_server.url}{guest.url}")
    # hls.js where the browser has no native HLS (this Chromium has: the src is set natively).
    assert page.locator("[data-aw-video]").get_attribute("data-hls-src") == "/static/demo/hls/index.m3u8"
    assert page.locator("script[src*='hls.min']").count() == 1
    page.wait_for_function("() => { const v = document.querySelector('[data-aw-video]');"
                           " return v && v.readyState >= 2 && v.currentTime > 0.5; }", timeout=WAIT)
    page.context.close()


def register_now(webinar):
    from portal.registration import service

    result = service.register(webinar, name="Hana", email="hana@example.com", starts_at=utcnow())
    from tests.room.conftest import Attendee

    return Attendee(result.registration, result.token)
