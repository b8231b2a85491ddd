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

pytestmark = pytest.mark.e2e

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
    next_start = page.locator("[data-testid=next-start]")
    expect(next_start).to_contain_text("Europe/Berlin")  # once the page's script converted it
    local = next_start.inner_text()
    assert "5:00" in local or "6:00" in local, local
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


def test_moderation_is_undone_and_the_attendee_list_searched_from_the_console(browser, live_server, make):
    from portal.attendance import presence
    from tests.e2e.test_live_journey import chat, register_in_browser
    from tests.room.conftest import register

    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    webinar = make.webinar(speakers=(speaker,), status="live", title="Moderation drill", slug="moderation-drill",
                           stream_url="/static/demo/hls/index.m3u8")
    errors: list[str] = []
    ann_ctx, ann = register_in_browser(browser, live_server, webinar.slug, name="Ann Attendee",
                                       email="ann@example.com", viewport=PHONE)
    bob_ctx, bob = register_in_browser(browser, live_server, webinar.slug, name="Bob Builder",
                                       email="bob@example.com", viewport=PHONE)
    for page in (ann, bob):
        page.on("pageerror", lambda e: errors.append(str(e)))
        wait_socket(page)
    crowd = [register(webinar, name=f"Guest {n:02d}") for n in range(1, 61)]
    for guest in crowd:
        presence.connected(guest.reg, connection_id=f"crowd-{guest.reg.lead_id}")

    sam_ctx, sam = log_in(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.on("pageerror", lambda e: errors.append(str(e)))
    sam.click("[data-testid=open-console]")
    wait_socket(sam)
    count = sam.locator("[data-testid=console-attendee-count]")
    expect(count).to_have_attribute("data-count", "62")
    expect(sam.locator("[data-testid=console-attendees-page]")).to_have_text("Page 1 of 2")
    sam.click("[data-testid=console-attendees-next]")
    expect(sam.locator("[data-testid=console-attendees-page]")).to_have_text("Page 2 of 2")
    expect(sam.locator("[data-testid=console-attendee-list] .attendee")).to_have_count(12)

    # A search finds anyone by name or email, and stays while the room changes around it.
    sam.fill("[data-testid=console-attendee-search]", "ann@")
    expect(sam.locator("[data-testid=console-attendee-list] .attendee")).to_have_count(1)
    expect(sam.locator("[data-testid=console-attendee-list]")).to_contain_text("Ann Attendee")
    late = register(webinar, name="Late Larry")
    presence.connected(late.reg, connection_id="late")
    expect(count).to_have_attribute("data-count", "63")
    expect(sam.locator("[data-testid=console-attendee-list] .attendee")).to_have_count(1)
    shoot(sam, "console-attendee-search-laptop")

    # Hidden by mistake, shown again: every room gets it back, in its place.
    chat(ann, "First question from Ann")
    chat(bob, "A fair point from Bob")
    chat(ann, "Second question from Ann")
    bobs_in_ann = ann.locator(".chat-msg", has_text="A fair point from Bob")
    expect(bobs_in_ann).to_be_visible()
    sam.locator(".chat-msg", has_text="A fair point").locator("[data-testid=console-hide]").click()
    expect(bobs_in_ann).to_have_count(0)
    sam.locator(".chat-msg", has_text="A fair point").locator("[data-testid=console-unhide]").click()
    expect(bobs_in_ann).to_be_visible()
    texts = ann.locator(".chat-msg .chat-body").all_inner_texts()
    assert texts[-3:] == ["First question from Ann", "A fair point from Bob", "Second question from Ann"], texts
    expect(sam.locator(".chat-msg.mod-visible", has_text="A fair point")).to_be_visible()

    # Banned, then unbanned: Bob's old link opens the room again.
    sam.fill("[data-testid=console-attendee-search]", "bob")
    expect(sam.locator("[data-testid=console-attendee-list] .attendee")).to_have_count(1)
    sam.once("dialog", lambda dialog: dialog.accept())
    sam.locator("[data-testid=console-attendee-list] .attendee", has_text="Bob Builder").locator(
        "button", has_text="Ban").click()
    expect(bob.locator("#realtime")).to_have_attribute("data-state", "closed")
    banned = sam.locator("[data-testid=console-banned-list]")
    expect(banned).to_contain_text("Bob Builder")
    expect(sam.locator("[data-testid=console-attendee-list]")).to_have_count(0)  # the search keeps showing "bob"
    shoot(sam, "console-banned-laptop")
    assert bob.goto(bob.url).status == 404
    sam.once("dialog", lambda dialog: dialog.accept())
    banned.locator("[data-testid=console-unban]").click()
    expect(banned).to_have_count(0)
    assert bob.goto(bob.url).status == 200
    expect(bob.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live")
    wait_socket(bob)
    expect(sam.locator("[data-testid=console-attendee-list]")).to_contain_text("Bob Builder")

    # The same console on a phone.
    phone_ctx, phone = log_in(browser, live_server, "sam@example.com", viewport=PHONE)
    phone.goto(f"{live_server.url}/console/{webinar.webinar_id}?q=guest")
    wait_socket(phone)
    expect(phone.locator("[data-testid=console-attendee-search]")).to_have_value("guest")
    shoot(phone, "console-attendees-phone")
    shoot(ann, "room-after-unhide-phone")
    assert errors == []
    for ctx in (ann_ctx, bob_ctx, sam_ctx, phone_ctx):
        ctx.close()


def test_an_organizers_edit_is_seen_live_in_open_rooms(browser, live_server, make):
    from portal.core import lifecycle
    from portal.core.models import Webinar
    from portal.core.permissions import SYSTEM
    from portal.extensions import db
    from tests.e2e.test_live_journey import register_in_browser

    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    starts = (utcnow() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    webinar = make.webinar(owner=owner, status="scheduled", title="Launch week live", slug="launch-week",
                           timezone="UTC", scheduled_at=starts, stream_url="/static/demo/hls/index.m3u8",
                           cta_text="Get the checklist", cta_url=f"{live_server.url}/")
    errors: list[str] = []
    rooms = []
    people = (("Ann Attendee", "ann@example.com", PHONE), ("Bob Builder", "bob@example.com", LAPTOP))
    for name, email, viewport in people:
        ctx, page = register_in_browser(browser, live_server, webinar.slug, name=name, email=email, viewport=viewport)
        page.on("pageerror", lambda e: errors.append(str(e)))
        wait_socket(page)
        rooms.append((ctx, page))
    (ann_ctx, ann), (bob_ctx, bob) = rooms
    expect(ann.locator("[data-countdown] [data-unit=h]")).to_have_text("00")
    for _, page in rooms:  # gone if the page were reloaded
        page.evaluate("window.__notReloaded = true")

    olga_ctx, olga = log_in(browser, live_server, "olga@example.com", viewport=LAPTOP)
    edit_url = f"{live_server.url}/admin/webinars/{webinar.webinar_id}/edit"

    def save(**fields) -> None:
        olga.goto(edit_url)
        for name, value in fields.items():
            olga.fill(f"[name={name}]", value)
        olga.click("[data-testid=webinar-save]")
        expect(olga.locator(".flash, [role=status], #flash").first).to_be_visible()

    # A new time: the open rooms' countdowns move, nobody reloads.
    later = starts + timedelta(hours=3)
    save(scheduled_at=later.strftime("%Y-%m-%dT%H:%M"))
    for page in (ann, bob):
        expect(page.locator("[data-countdown]")).to_have_attribute("data-countdown", later.isoformat())
        expect(page.locator("[data-countdown] [data-unit=h]")).to_have_text("03")
    shoot(ann, "room-new-time-phone")
    shoot(bob, "room-new-time-laptop")

    # Live with the offer shown; the organizer rewrites the offer and hides the count.
    w = db.session.get(Webinar, webinar.webinar_id)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    cta = ann.locator("[data-testid=cta]")
    expect(cta).to_contain_text("Get the checklist")
    expect(ann.locator("[data-testid=attendee-count]")).to_be_visible()
    olga.goto(edit_url)
    olga.fill("[name=cta_text]", "Get the launch-week checklist")
    olga.uncheck("[name=show_attendee_count]")
    olga.click("[data-testid=webinar-save]")
    for page in (ann, bob):
        expect(page.locator("[data-testid=cta]")).to_contain_text("Get the launch-week checklist")
        expect(page.locator("[data-testid=attendee-count]")).to_have_count(0)
    ann.wait_for_timeout(600)  # the banner's entrance animation
    shoot(ann, "room-edited-offer-phone")
    shoot(bob, "room-edited-offer-laptop")
    # The rooms were never reloaded.
    for page in (ann, bob):
        assert page.evaluate("window.__notReloaded === true")
    assert errors == []
    for ctx in (ann_ctx, bob_ctx, olga_ctx):
        ctx.close()


@pytest.mark.parametrize("width", ["phone", "laptop"])
def test_an_attendee_cancels_their_seat_and_takes_it_back(browser, live_server, make, width):
    from tests.e2e.test_live_journey import register_in_browser

    webinar = make.webinar(status="scheduled", title="Tax basics for freelancers", slug=f"tax-basics-{width}")
    viewport = PHONE if width == "phone" else LAPTOP
    ctx, room = register_in_browser(browser, live_server, webinar.slug, name="Cora Cancel",
                                    email=f"cora-{width}@example.com", viewport=viewport)
    room_url = room.url
    room.click("[data-testid=cancel-seat-link]")
    expect(room.locator("[data-testid=cancel-seat]")).to_be_visible()
    shoot(room, f"seat-cancel-confirm-{width}")
    room.click("[data-testid=cancel-seat-confirm]")
    expect(room.locator("[data-testid=seat-cancelled]")).to_be_visible()
    shoot(room, f"seat-cancelled-{width}")
    assert room.request.get(room_url).status == 404
    # Changed my mind: the same link again.
    room.click("[data-testid=keep-seat]")
    expect(room.locator("[data-testid=room-status]")).to_have_attribute("data-status", "scheduled")
    assert room.url == room_url
    # The confirmation page offers the same way out.
    room.goto(f"{live_server.url}/w/{webinar.slug}/registered")
    room.click("[data-testid=cancel-seat-link]")
    expect(room.locator("[data-testid=cancel-seat]")).to_be_visible()
    ctx.close()
