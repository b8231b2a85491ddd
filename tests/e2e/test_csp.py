"""The tightened CSP in Chromium: the live room (HLS player, htmx ws extension), the auto room,
the console and the organizer's audit page work and report no CSP violation."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.registration import service
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

WAIT = 15_000
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def watched_page(browser, messages: list[str]):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: messages.append(str(e)))
    return context, page


def violations(page, messages: list[str]) -> list[str]:
    return list(page.evaluate("window.__csp || []")) + messages


def test_live_and_auto_rooms_console_and_audit_run_under_the_csp(browser, live_server, make):
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Owner")
    live = make.webinar(owner=owner, status="live", slug="csp-live", stream_url="/static/demo/hls/index.m3u8",
                        cta_text="Offer", cta_url=f"{live_server.url}/")
    auto = make.webinar(owner=owner, type="auto", status="live", slug="csp-auto", recording_url="/static/demo/auto.mp4",
                        recording_duration_sec=90, auto_schedule={"watch_now": True, "kind": "every",
                                                                  "every_minutes": 15, "horizon": 4,
                                                                  "timezone": "UTC"})
    lifecycle.core_webinar_set_cta_visibility(live, "visible", actor=SYSTEM)
    live_token = service.register(live, name="Ann", email="ann@example.com").token
    messages: list[str] = []
    context, page = watched_page(browser, messages)

    page.goto(f"{live_server.url}/room/{live_token}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)  # ws extension
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=player] video');"
                           " return v && v.readyState >= 2 && v.currentTime > 0.2; }", timeout=WAIT)  # HLS
    page.fill("[data-testid=chat-input]", "hello under the CSP")
    page.click("[data-testid=chat-send]")
    expect(page.locator("text=hello under the CSP").first).to_be_visible(timeout=WAIT)
    assert violations(page, messages) == []

    auto_token = service.register(auto, name="Ann", email="ann@example.com", starts_at=utcnow()).token
    page.goto(f"{live_server.url}/room/{auto_token}")
    page.wait_for_function("() => { const v = document.querySelector('[data-aw-video]');"
                           " return v && v.readyState >= 2; }", timeout=WAIT)
    assert violations(page, messages) == []

    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.goto(f"{live_server.url}/console/{live.webinar_id}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)
    page.goto(f"{live_server.url}/admin/webinars/{live.webinar_id}")
    page.click("nav.tabs a:has-text('Audit')")
    expect(page.locator("[data-testid=audit-row]").first).to_be_visible(timeout=WAIT)
    page.select_option("[data-testid=audit-kind]", "cta")
    expect(page.locator("[data-testid=audit-row][data-kind=refusal]")).to_have_count(0, timeout=WAIT)
    assert violations(page, messages) == []
    context.close()
