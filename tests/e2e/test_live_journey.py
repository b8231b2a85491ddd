"""The live journey in Chromium: register, wait, go live, CTA, chat, moderation, polling, end."""
from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.db_types import utcnow
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
WAIT = 15_000  # ms: pushes are instant, polling takes a few seconds


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


@pytest.fixture
def webinar(make, live_server):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    return make.webinar(
        status="scheduled",
        title="Growing a newsletter to 10k readers",
        slug="newsletter-10k",
        description="A live session about writing, consistency and the first thousand readers.",
        speakers=(speaker,),
        scheduled_at=utcnow() + timedelta(minutes=3),
        chat_lobby_minutes=15,
        stream_url="/static/demo/hls/index.m3u8",
        cta_text="Get the free checklist",
        cta_url=f"{live_server.url}/",
    )


def register_in_browser(browser, live_server, slug: str, *, name: str, email: str, viewport: dict,
                        cut_socket: bool = False, locale: str = "en-US"):
    """Register on /w/<slug> and follow the join link into the room."""
    context = browser.new_context(viewport=viewport, locale=locale)
    if cut_socket:  # every socket this browser opens is closed at once: the page must poll
        context.route_web_socket(re.compile(r"/ws/"), lambda ws: ws.close())
    page = context.new_page()
    page.goto(f"{live_server.url}/w/{slug}")
    form = page.locator("[data-testid=register-form]")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=email]").fill(email)
    form.locator("button[type=submit]").click()
    join = page.locator("[data-testid=join-link]").first
    expect(join).to_be_visible()
    # A polling page's first answer (the full snapshot) swaps every region about a second after
    # it loads: wait for it, so a test's first clicks do not race that swap on a busy machine.
    first_poll = (page.expect_response(lambda r: "/state" in r.url and r.status == 200, timeout=WAIT)
                  if cut_socket else nullcontext())
    with first_poll:
        join.click()
        expect(page.locator("[data-testid=room-status]")).to_be_visible()
    if cut_socket:
        page.wait_for_timeout(300)  # the swap and its settle
    return context, page


def login(browser, live_server, email: str, *, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    expect(page.locator("text=Sam Speaker").first).to_be_visible()
    return context, page


def wait_socket(page) -> None:
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)


def wait_playing(page) -> None:
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=player] video');"
                           " return v && v.readyState >= 2 && v.currentTime > 0.2; }", timeout=WAIT)


def settle() -> None:
    """Let the server threads of downloads the closed pages aborted finish inside this test."""
    import time

    time.sleep(0.5)


def chat(page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.click("[data-testid=chat-send]")
    expect(page.locator("[data-testid=chat-input]")).to_have_value("")


def test_live_journey(browser, live_server, webinar, screenshot):
    errors: list[str] = []
    ann_ctx, ann = register_in_browser(browser, live_server, webinar.slug, name="Ann Attendee",
                                       email="ann@example.com", viewport=PHONE)
    bob_ctx, bob = register_in_browser(browser, live_server, webinar.slug, name="Bob Builder",
                                       email="bob@example.com", viewport=LAPTOP, locale="ru-RU")
    for page in (ann, bob):
        page.on("pageerror", lambda e: errors.append(str(e)))
    status = ann.locator("[data-testid=room-status]")
    expect(status).to_have_attribute("data-status", "scheduled")
    expect(ann.locator("[data-testid=waiting-room]")).to_be_visible()
    expect(ann.locator("[data-countdown] [data-unit=m]")).to_have_text(re.compile(r"0[0-3]"))
    wait_socket(ann)
    wait_socket(bob)
    # The lobby chat is open 15 minutes before the start.
    chat(ann, "Hi everyone, excited for this!")
    expect(bob.locator(".chat-msg", has_text="excited for this")).to_be_visible(timeout=WAIT)
    screenshot(ann, "room-waiting-phone")
    screenshot(bob, "room-waiting-laptop")

    sam_ctx, sam = login(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.on("pageerror", lambda e: errors.append(str(e)))
    sam.goto(f"{live_server.url}/console/{webinar.webinar_id}")
    wait_socket(sam)
    expect(sam.locator(".chat-msg", has_text="excited for this")).to_be_visible()
    screenshot(sam, "console-scheduled-laptop")
    sam.click("[data-testid=console-start]")
    expect(sam.locator("[data-testid=console-stop]")).to_be_visible()

    # The rooms go live by themselves, and both attendees are counted.
    expect(status).to_have_attribute("data-status", "live", timeout=WAIT)
    expect(ann.locator("[data-testid=player] video")).to_be_visible()
    # Pushes carry one variant per language; each page keeps its own.
    expect(status).to_have_attribute("data-lang", "en")
    expect(bob.locator("[data-testid=room-status]")).to_have_attribute("data-lang", "ru", timeout=WAIT)
    expect(bob.locator("#room-stage")).to_have_count(1)
    expect(ann.locator("[data-testid=attendee-count]")).to_have_attribute("data-count", "2", timeout=WAIT)
    expect(sam.locator("[data-testid=console-attendee-count]")).to_have_attribute("data-count", "2", timeout=WAIT)
    expect(sam.locator(".attendee-name", has_text="Ann Attendee")).to_be_visible()
    wait_playing(ann)
    expect(ann.locator("[data-player-unblock]")).to_be_hidden()  # this browser allows sound

    # CTA appears and vanishes.
    sam.click("[data-testid=console-cta-show]")
    cta = ann.locator("[data-testid=cta]")
    expect(cta).to_be_visible(timeout=WAIT)
    expect(cta).to_contain_text("Get the free checklist")
    ann.wait_for_timeout(600)  # the banner's entrance animation
    screenshot(ann, "room-live-phone")
    sam.click("[data-testid=console-cta-hide]")
    expect(cta).to_have_count(0, timeout=WAIT)

    # A message from the second attendee reaches the first; the host hides it for everyone.
    chat(bob, "Bob here <b>not bold</b>")
    bobs = ann.locator(".chat-msg", has_text="Bob here <b>not bold</b>")
    expect(bobs).to_be_visible(timeout=WAIT)
    wait_playing(bob)
    screenshot(bob, "room-live-laptop")
    sam.locator(".chat-msg", has_text="Bob here").locator("[data-testid=console-hide]").click()
    expect(bobs).to_have_count(0, timeout=WAIT)
    expect(bob.locator(".chat-msg", has_text="Bob here")).to_have_count(0, timeout=WAIT)
    expect(sam.locator(".chat-msg.mod-hidden", has_text="Bob here")).to_be_visible()
    screenshot(sam, "console-live-laptop")

    # Shadow-mute from the (pushed, re-rendered) message: Bob still sees his words, Ann does not.
    sam.locator(".chat-msg.mod-hidden", has_text="Bob here").locator("[data-testid=console-mute]").click()
    expect(sam.locator(".attendee", has_text="Bob Builder")).to_contain_text("muted", timeout=WAIT)
    chat(bob, "Does anyone hear me?")
    expect(bob.locator(".chat-msg", has_text="Does anyone hear me?")).to_be_visible(timeout=WAIT)
    expect(sam.locator(".chat-msg.mod-shadowed", has_text="Does anyone hear me?")).to_be_visible(timeout=WAIT)
    chat(ann, "Back to the topic")
    expect(bob.locator(".chat-msg", has_text="Back to the topic")).to_be_visible(timeout=WAIT)
    expect(ann.locator(".chat-msg", has_text="Does anyone hear me?")).to_have_count(0)

    # Ban: Bob's socket closes, his link stops working, the count drops.
    sam.once("dialog", lambda dialog: dialog.accept())
    sam.locator(".attendee", has_text="Bob Builder").locator("button", has_text="Ban").click()
    expect(bob.locator("#realtime")).to_have_attribute("data-state", "closed", timeout=WAIT)
    expect(ann.locator("[data-testid=attendee-count]")).to_have_attribute("data-count", "1", timeout=WAIT)
    assert bob.goto(bob.url).status == 404

    # The same CTA step for an attendee whose socket is cut: the polling fallback delivers it.
    cara_ctx, cara = register_in_browser(browser, live_server, webinar.slug, name="Cara Cut",
                                         email="cara@example.com", viewport=PHONE, cut_socket=True)
    cara.on("pageerror", lambda e: errors.append(str(e)))
    expect(cara.locator("#realtime")).to_have_attribute("data-state", "polling", timeout=WAIT)
    expect(cara.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live")
    sam.click("[data-testid=console-cta-show]")
    expect(cara.locator("[data-testid=cta]")).to_be_visible(timeout=WAIT)
    expect(cta).to_be_visible(timeout=WAIT)
    sam.click("[data-testid=console-cta-hide]")
    expect(cara.locator("[data-testid=cta]")).to_have_count(0, timeout=WAIT)
    chat(ann, "Polling works too?")
    expect(cara.locator(".chat-msg", has_text="Polling works too?")).to_be_visible(timeout=WAIT)
    expect(cara.locator(".chat-msg", has_text="Bob here")).to_have_count(0)

    # The console on a phone.
    phone_ctx, phone = login(browser, live_server, "sam@example.com", viewport=PHONE)
    phone.goto(f"{live_server.url}/console/{webinar.webinar_id}")
    wait_socket(phone)
    screenshot(phone, "console-live-phone")
    phone_ctx.close()

    # The end: the stop asks first, then every room shows the end screen.
    sam.once("dialog", lambda dialog: dialog.accept())
    sam.click("[data-testid=console-stop]")
    expect(status).to_have_attribute("data-status", "finished", timeout=WAIT)
    expect(ann.locator("[data-testid=room-ended]")).to_be_visible()
    expect(cara.locator("[data-testid=room-ended]")).to_be_visible(timeout=WAIT)
    expect(ann.locator("[data-testid=chat-form]")).to_have_count(0)
    screenshot(ann, "room-ended-phone")

    for context in (ann_ctx, bob_ctx, cara_ctx, sam_ctx):
        context.close()
    settle()
    assert errors == []


def test_declining_the_stop_confirmation_keeps_the_webinar_live(browser, live_server, webinar):
    sam_ctx, sam = login(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.goto(f"{live_server.url}/console/{webinar.webinar_id}")
    # A refusal (a stale tab stopping a webinar that has not started) shows Core's reason.
    sam.evaluate(f"htmx.ajax('POST', '/console/{webinar.webinar_id}/stop', {{swap: 'none'}})")
    expect(sam.locator("#flash")).to_contain_text("Cannot stop a webinar that is scheduled")
    sam.click("[data-testid=console-start]")
    expect(sam.locator("[data-testid=console-stop]")).to_be_visible()
    sam.once("dialog", lambda dialog: dialog.dismiss())
    sam.click("[data-testid=console-stop]")
    sam.wait_for_timeout(500)
    expect(sam.locator("[data-testid=console-status]")).to_have_attribute("data-status", "live")
    sam_ctx.close()


BLOCK_SOUND = """
(() => {
  const play = HTMLMediaElement.prototype.play;
  let gesture = false;
  document.addEventListener("click", () => { gesture = true; }, true);
  HTMLMediaElement.prototype.play = function () {
    if (!this.muted && !gesture) return Promise.reject(new DOMException("blocked", "NotAllowedError"));
    return play.call(this);
  };
})();
"""


def test_blocked_autoplay_offers_a_button(browser, live_server, webinar, screenshot):
    from portal.core import lifecycle
    from portal.core.permissions import SYSTEM

    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    context, page = register_in_browser(browser, live_server, webinar.slug, name="Dee", email="dee@example.com",
                                        viewport=PHONE)
    room_url = page.url
    page.add_init_script(BLOCK_SOUND)  # a browser that refuses sound without a click
    page.goto(room_url)
    button = page.locator("[data-player-unblock]")
    expect(button).to_be_visible(timeout=WAIT)
    expect(button).to_have_attribute("data-kind", "unmute")
    wait_playing(page)  # muted playback goes on meanwhile
    screenshot(page, "room-autoplay-blocked-phone")
    button.click()
    expect(button).to_be_hidden()
    assert page.evaluate("document.querySelector('[data-testid=player] video').muted") is False
    context.close()
    settle()
