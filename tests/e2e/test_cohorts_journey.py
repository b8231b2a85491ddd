"""Issue 12 point 10 in Chromium: evergreen cohorts chat apart; a watch-now viewer chats with
the hosts alone, and the console picks the cohort it watches and answers it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_live_journey import PHONE, WAIT, wait_socket
from tests.e2e.test_runs_journey import SHOTS, shot  # noqa: F401 - the shots folder of this room
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e]
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    return app_config


def register(browser, live_server, slug: str, *, name: str, choice: int, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/w/{slug}")
    form = page.locator("[data-testid=register-form]")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=email]").fill(f"{name.split()[0].lower()}@example.com")
    form.locator("input[name=slot_id]").nth(choice).check()
    form.locator("button[type=submit]").click()
    page.locator("[data-testid=join-link]").first.click()
    wait_socket(page)
    return context, page


def say(page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.click("[data-testid=chat-send]")
    expect(page.locator("[data-testid=chat-input]")).to_have_value("")


def test_two_evergreen_cohorts_cannot_see_each_others_chat(browser, live_server, make):
    make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    w = make.webinar(type="auto", status="live", title="Evergreen masterclass", slug="evergreen",
                     owner=make.user(role="organizer", email="owner@example.com"))
    # Options: 0 = watch now, 1 = the next scheduled start, 2 = the one after.
    ann_ctx, ann = register(browser, live_server, w.slug, name="Ann Early", choice=1, viewport=PHONE)
    cat_ctx, cat = register(browser, live_server, w.slug, name="Cat Early", choice=1, viewport=LAPTOP)
    bob_ctx, bob = register(browser, live_server, w.slug, name="Bob Later", choice=2, viewport=LAPTOP)
    say(ann, "Hello from the early cohort")
    expect(cat.locator(".chat-msg", has_text="early cohort")).to_be_visible(timeout=WAIT)
    say(bob, "Hello from the later cohort")
    expect(ann.locator(".chat-msg", has_text="later cohort")).to_have_count(0)
    expect(bob.locator(".chat-msg", has_text="early cohort")).to_have_count(0)
    expect(cat.locator(".chat-msg", has_text="later cohort")).to_have_count(0)
    shot(ann, "cohort-early-phone")
    shot(bob, "cohort-later-laptop")

    # A watch-now viewer asks; the host picks that viewer's chat in the console and answers.
    wes_ctx, wes = register(browser, live_server, w.slug, name="Wes Now", choice=0, viewport=PHONE)
    host_ctx = browser.new_context(viewport=LAPTOP, locale="en-US")
    host = host_ctx.new_page()
    host.goto(f"{live_server.url}/login")
    host.fill("input[name=email]", "owner@example.com")
    host.fill("input[name=password]", PASSWORD)
    host.click("button[type=submit]:has-text('Log in')")
    host.goto(f"{live_server.url}/console/{w.webinar_id}")
    wait_socket(host)
    expect(host.locator(".chat-msg", has_text="early cohort")).to_be_visible()
    say(wes, "Is there a replay?")
    # The console watches the early cohort: a notice links to the watch-now viewer's chat.
    notice = host.locator("[data-testid=console-cohort-notice]")
    expect(notice).to_contain_text("Wes Now", timeout=WAIT)
    expect(host.locator(".chat-msg", has_text="replay")).to_have_count(0)
    shot(host, "console-watch-now-notice-laptop")
    notice.locator("a").click()
    wait_socket(host)
    expect(host.locator("[data-testid=console-cohort] option:checked")).to_have_text("Watch now: Wes Now")
    expect(host.locator(".chat-msg", has_text="Is there a replay?")).to_be_visible()
    host.fill("#console-chat-body", "Yes, tomorrow morning")
    host.click("#console-compose button[type=submit]")
    expect(wes.locator(".chat-msg", has_text="tomorrow morning")).to_be_visible(timeout=WAIT)
    expect(ann.locator(".chat-msg", has_text="tomorrow morning")).to_have_count(0)
    expect(ann.locator(".chat-msg", has_text="replay")).to_have_count(0)
    shot(host, "console-watch-now-laptop")
    shot(wes, "watch-now-answered-phone")
    # The console's selector picks any cohort back.
    host.select_option("[data-testid=console-cohort]", index=2)  # by start: Wes (now), early, later
    host.click(".console-cohorts button[type=submit]")
    wait_socket(host)
    expect(host.locator(".chat-msg", has_text="later cohort")).to_be_visible()
    host.set_viewport_size(PHONE)
    shot(host, "console-later-cohort-phone")
    for context in (ann_ctx, cat_ctx, bob_ctx, wes_ctx, host_ctx):
        context.close()
