"""Issue 15: the journeys with the keyboard alone (Tab, Enter, Space, typing), focus visible on
every stop, what appears announced politely once (chat, the offer, the status), a refused form's
error focused; and the main pages at 320 px wide without horizontal scrolling."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e import test_accessibility as a11y
from tests.e2e.test_live_journey import wait_socket
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

app_config, people, context_for = a11y.app_config, a11y.people, a11y.context_for  # the same fixtures
SHOTS = Path("/work/shots/a11y2")
WAIT = 15_000
expect.set_options(timeout=WAIT)

FOCUS_SHOWN = """() => { const el = document.activeElement; if (!el || el === document.body) return false;
  const s = getComputedStyle(el); return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
  || (s.boxShadow && s.boxShadow !== 'none'); }"""


def tab_to(page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the focus is on `selector` (failing if it never gets there), and check
    that the focused element shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            assert page.evaluate(FOCUS_SHOWN), f"the focus on {selector} is not visible"
            return
    raise AssertionError(f"Tab never reached {selector}")


def announced(page) -> str:
    return page.locator("[data-testid=announcer]").inner_text()


def test_register_chat_cta_and_console_by_keyboard_alone(browser, live_server, people):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, live = live_server.url, people["live"]
    ann_ctx = context_for(browser, "en")
    ann = ann_ctx.new_page()
    ann.goto(f"{base}/w/{live.slug}")
    # A refused form moves the focus to its error, which says what is wrong.
    tab_to(ann, "[data-testid=register-form] button[type=submit]")
    ann.keyboard.press("Enter")
    expect(ann.locator(".reg-form-message")).to_be_focused()
    ann.screenshot(path=str(SHOTS / "keyboard-refused-focus.png"))
    tab_to(ann, "[data-testid=register-form] input[name=name]")
    ann.keyboard.type("Ann Attendee")
    tab_to(ann, "[data-testid=register-form] input[name=email]")
    ann.keyboard.type("ann@example.com")
    tab_to(ann, "[data-testid=register-form] button[type=submit]")
    ann.keyboard.press("Enter")
    expect(ann.locator("[data-testid=join-link]").first).to_be_visible()
    tab_to(ann, "[data-testid=join-link]")
    ann.keyboard.press("Enter")
    expect(ann.locator("[data-testid=waiting-room]")).to_be_visible()
    wait_socket(ann)
    tab_to(ann, "[data-testid=chat-input]")
    ann.keyboard.type("Hello by keyboard")
    ann.keyboard.press("Enter")
    expect(ann.locator(".chat-msg", has_text="Hello by keyboard")).to_be_visible()
    expect(ann.locator("[data-testid=announcer]")).to_contain_text("Ann Attendee: Hello by keyboard")
    assert ann.locator("[data-testid=chat-messages]").get_attribute("aria-live") == "off"  # not the whole list
    ann.screenshot(path=str(SHOTS / "keyboard-chat-focus.png"))

    sam_ctx = context_for(browser, "en")
    sam = sam_ctx.new_page()
    sam.goto(f"{base}/login")
    tab_to(sam, "input[name=email]")
    sam.keyboard.type("sam@example.com")
    tab_to(sam, "input[name=password]")
    sam.keyboard.type(PASSWORD)
    sam.keyboard.press("Enter")
    expect(sam.locator("[data-testid=login-form]")).to_have_count(0)
    sam.goto(f"{base}/console/{live.webinar_id}")
    wait_socket(sam)
    tab_to(sam, "[data-testid=console-start]")
    sam.screenshot(path=str(SHOTS / "keyboard-console-start-focus.png"))
    sam.keyboard.press("Enter")
    expect(ann.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live")
    expect(ann.locator("[data-testid=announcer]")).to_contain_text("Live")
    expect(sam.locator("[data-testid=announcer]")).to_contain_text("Live")  # the speaker hears it too
    tab_to(sam, "[data-testid=console-cta-show]")
    sam.keyboard.press("Space")
    expect(ann.locator("[data-testid=cta-button]")).to_be_visible()
    # Announced, not focused: the attendee's focus stays where they were (typing in the chat).
    expect(ann.locator("[data-testid=announcer]")).to_contain_text("Special offer: Get the checklist")
    expect(ann.locator("[data-testid=chat-input]")).to_be_focused()
    tab_to(ann, "[data-testid=cta-button]")
    ann.screenshot(path=str(SHOTS / "keyboard-cta-focus.png"))
    with ann_ctx.expect_page() as offer:
        ann.keyboard.press("Enter")
    assert offer.value.url.rstrip("/") == base
    sam.on("dialog", lambda dialog: dialog.accept())
    tab_to(sam, "[data-testid=console-stop]")
    sam.keyboard.press("Enter")
    expect(ann.locator("[data-testid=room-ended]")).to_be_visible()
    expect(ann.locator("[data-testid=announcer]")).to_contain_text("Ended")
    sam_ctx.close()
    ann_ctx.close()


# 320 CSS px is WCAG 1.4.10's reflow width (a 1280 px window at 400 %); 640 x 400 CSS px at
# device scale 2 is the same 1280 x 800 window zoomed to 200 %.
ZOOMS = {320: {"viewport": {"width": 320, "height": 640}},
         640: {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}}


@pytest.mark.parametrize("limit", sorted(ZOOMS))
def test_main_pages_fit_320px_without_horizontal_scrolling(browser, live_server, people, limit):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, live, auto = live_server.url, people["live"], people["auto"]
    ctx = browser.new_context(**ZOOMS[limit], locale="en-US")
    page = ctx.new_page()
    overflow: dict[str, int] = {}

    def fits(label: str) -> None:
        page.wait_for_load_state("load")
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        page.screenshot(path=str(SHOTS / f"{limit}-{label}.png"), full_page=True)
        if width > limit:
            overflow[label] = width

    for path, label in [("/", "home"), ("/login", "login"), (f"/w/{live.slug}", "registration"),
                        (f"/w/{auto.slug}", "registration-auto")]:
        page.goto(base + path)
        fits(label)
    a11y.register(page, base, live.slug, name="Ann Attendee", email="ann@example.com")
    fits("confirmation")
    page.locator("[data-testid=join-link]").first.click()
    expect(page.locator("[data-testid=waiting-room]")).to_be_visible()
    fits("room-waiting")
    ctx.close()
    ctx = browser.new_context(**ZOOMS[limit], locale="en-US")
    page = ctx.new_page()
    a11y.log_in(page, base, "olga@example.com")
    wid = live.webinar_id
    for path, label in [("/admin/", "admin-dashboard"), ("/admin/webinars", "admin-webinars"),
                        (f"/admin/webinars/{wid}", "admin-webinar"), (f"/admin/webinars/{wid}/edit", "admin-edit"),
                        (f"/admin/webinars/{wid}/registrations", "admin-registrations"),
                        (f"/admin/webinars/{auto.webinar_id}/recording", "admin-recording"),
                        ("/console/", "console-list"), (f"/console/{wid}", "console")]:
        page.goto(base + path)
        fits(label)
    ctx.close()
    assert not overflow, f"wider than {limit} px (scrollWidth): {overflow}"


def test_reduced_motion_stops_the_animations(browser, live_server, people):
    ctx = context_for(browser, "en", width=390)
    page = ctx.new_page()
    a11y.register(page, live_server.url, people["live"].slug, name="Ann Attendee", email="ann@example.com")
    page.locator("[data-testid=join-link]").first.click()
    expect(page.locator("[data-testid=waiting-room]")).to_be_visible()
    probe = """() => { const el = document.createElement('div'); el.className = 'cta-banner'; document.body.append(el);
        const s = getComputedStyle(el); const d = parseFloat(s.animationDuration) || 0; el.remove(); return d; }"""
    assert page.evaluate(probe) > 0.1  # the offer fades in normally
    page.emulate_media(reduced_motion="reduce")
    assert page.evaluate(probe) < 0.01
    ctx.close()
