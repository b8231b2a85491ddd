"""The polls journey in Chromium: the speaker prepares and opens a poll from the console, two
attendees answer (one on the socket, one whose sockets are cut: polling), the live results
reach both, the speaker closes it and both see the final results; the organizer reaches the
report and its CSV by clicking. Screenshots at 390 and 1280 wide go to /work/shots/polls/."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core.models import User
from portal.extensions import db
from portal.polls import service
from portal.polls.models import Poll
from tests.e2e.test_live_journey import login, register_in_browser, settle, wait_socket
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
SHOTS = Path("/work/shots/polls")
expect.set_options(timeout=15_000)


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    return app_config


@pytest.fixture
def webinar(make, live_server):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    return make.webinar(status="live", title="Pricing for indie makers", slug="pricing-indie", speakers=(speaker,),
                        owner=owner,
                        stream_url="/static/demo/hls/index.m3u8", cta_url=f"{live_server.url}/")


def test_an_answer_stays_shown_as_given_across_pushes_of_the_other_polls(browser, live_server, webinar):
    """Pushed poll regions carry nothing per viewer: Ann's own answer (the checked option, the
    button, the saved line) survives another poll opening, and her pick in progress too; when
    her poll closes she reads what she answered, in her language. Bob polls (no socket)."""
    errors: list[str] = []
    sam = db.session.scalar(select(User).where(User.email == "sam@example.com"))
    first = service.open_poll(service.create(webinar, actor=sam, question="Which plan would you pick?",
                                             options="Free\nPro\nTeam"), actor=sam)
    pages = []
    for name, email, locale, cut in (("Ann Attendee", "ann@example.com", "en-US", False),
                                     ("Boris Builder", "boris@example.com", "ru-RU", True)):
        ctx, page = register_in_browser(browser, live_server, webinar.slug, name=name, email=email,
                                        viewport=PHONE, locale=locale, cut_socket=cut)
        page.on("pageerror", lambda e: errors.append(str(e)))
        pages.append((ctx, page))
    (ann_ctx, ann), (boris_ctx, boris) = pages
    wait_socket(ann)
    for page, option in ((ann, "Pro"), (boris, "Team")):
        poll = page.locator(f"#poll-{first.poll_id}")
        poll.locator("[data-testid=poll-option]", has_text=option).click()
        poll.locator("[data-testid=poll-submit]").click()
        expect(poll.locator(".poll-feedback")).not_to_be_empty()

    second = service.open_poll(service.create(webinar, actor=sam, question="Would you come back?",
                                              options="Yes\nNo"), actor=sam)
    for page, option in ((ann, "Pro"), (boris, "Team")):
        expect(page.locator(f"#poll-{second.poll_id}")).to_be_visible()  # the push arrived
        poll = page.locator(f"#poll-{first.poll_id}")
        expect(poll.locator("[data-testid=poll-option]", has_text=option).locator("input")).to_be_checked()
        expect(poll.locator(".poll-feedback")).not_to_be_empty()
    first_ann = ann.locator(f"#poll-{first.poll_id}")
    expect(first_ann.locator("[data-testid=poll-submit]")).to_have_text("Change my answer")
    expect(first_ann.locator(".poll-feedback")).to_contain_text("Your answer is saved")
    ann.locator(f"#poll-{second.poll_id} [data-testid=poll-option]", has_text="Yes").click()  # picking, not sent

    service.close_poll(db.session.get(Poll, first.poll_id), actor=sam)
    expect(first_ann).to_contain_text("closed")
    expect(first_ann.locator(".poll-answered")).to_have_text("You answered: Pro")
    expect(boris.locator(f"#poll-{first.poll_id} .poll-answered")).to_have_text("Ваш ответ: Team")
    expect(ann.locator(f"#poll-{second.poll_id} [data-testid=poll-option]", has_text="Yes")
           .locator("input")).to_be_checked()
    shoot(ann, "attendee-answer-kept-390")
    assert not errors, errors
    for context in (ann_ctx, boris_ctx):
        context.close()
    settle()


def test_a_poll_opened_answered_by_two_closed_and_seen_by_both(browser, live_server, webinar):
    errors: list[str] = []
    sam_ctx, sam = login(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.goto(f"{live_server.url}/console/")
    sam.click("[data-testid=open-console]")
    wait_socket(sam)
    polls = sam.locator("[data-testid=console-polls]")
    polls.locator("[data-testid=console-poll-question]").fill("Which plan would you pick?")
    polls.locator("[data-testid=console-poll-options]").fill("Free\nPro, $9/month\nTeam, $29/month")
    shoot(sam, "console-prepare-1280")
    # While Sam types, the organizer prepares a poll and deletes it again: both pushes swap the
    # console's list, and neither takes away what Sam has typed.
    olga_user = db.session.scalar(select(User).where(User.email == "olga@example.com"))
    warm_up = service.create(webinar, actor=olga_user, question="Where are you watching from?", options="Home\nWork")
    expect(polls.locator("[data-testid=console-poll]", has_text="Where are you watching from?")).to_have_count(1)
    service.delete_poll(db.session.get(Poll, warm_up.poll_id), actor=olga_user)
    expect(polls.locator("[data-testid=console-poll]")).to_have_count(0)
    expect(polls.locator("[data-testid=console-poll-question]")).to_have_value("Which plan would you pick?")
    expect(polls.locator("[data-testid=console-poll-options]")).to_have_value("Free\nPro, $9/month\nTeam, $29/month")
    polls.locator("[data-testid=console-poll-create]").click()
    expect(polls.locator("[data-testid=console-poll][data-poll-status=draft]")).to_have_count(1)
    expect(polls.locator("[data-testid=console-poll-question]")).to_have_value("")  # ready for the next

    ann_ctx, ann = register_in_browser(browser, live_server, webinar.slug, name="Ann Attendee",
                                       email="ann@example.com", viewport=PHONE)
    bob_ctx, bob = register_in_browser(browser, live_server, webinar.slug, name="Bob Builder",
                                       email="bob@example.com", viewport=LAPTOP, cut_socket=True)
    for page in (sam, ann, bob):
        page.on("pageerror", lambda e: errors.append(str(e)))
    wait_socket(ann)
    expect(ann.locator("[data-testid=poll]")).to_have_count(0)  # a prepared poll is the speaker's

    polls.locator("[data-testid=console-poll-open]").click()
    for page in (ann, bob):  # Ann by her socket, Bob by polling
        expect(page.locator("[data-testid=poll]")).to_be_visible()
        expect(page.locator("[data-testid=poll-option]")).to_have_count(3)

    ann.locator("[data-testid=poll-submit]").click()  # nothing chosen: told why, under the poll
    expect(ann.locator(".poll-feedback-error")).to_contain_text("Choose an option first.")
    ann.locator("[data-testid=poll-option]", has_text="Pro").click()
    ann.locator("[data-testid=poll-submit]").click()
    expect(ann.locator(".poll-feedback")).to_contain_text("Your answer is saved")
    bob.locator("[data-testid=poll-option]", has_text="Team").click()
    bob.locator("[data-testid=poll-submit]").click()
    expect(bob.locator(".poll-feedback")).to_contain_text("Your answer is saved")
    # Live results: Ann's page learns of Bob's answer without a reload (pushed, coalesced).
    expect(ann.locator("[data-testid=poll-results]")).to_contain_text("2 answers")
    expect(polls.locator(".poll-total")).to_contain_text("2 answers")
    shoot(ann, "attendee-answered-390")
    shoot(bob, "attendee-answered-1280")
    shoot(sam, "console-open-1280")

    polls.locator("[data-testid=console-poll-close]").click()
    for page in (ann, bob):
        poll = page.locator("[data-testid=poll]")
        expect(poll).to_contain_text("closed")
        expect(poll.locator("[data-testid=poll-option]")).to_have_count(0)
        results = poll.locator("[data-testid=poll-results]")
        expect(results).to_contain_text("2 answers")
        expect(results).to_contain_text("50% · 1")
    shoot(ann, "attendee-closed-390")
    shoot(bob, "attendee-closed-1280")
    shoot(sam, "console-closed-1280")
    sam.set_viewport_size(PHONE)
    shoot(sam, "console-closed-390")

    # The organizer finds the answers from the webinar's pages, by clicking.
    olga_ctx = browser.new_context(viewport=LAPTOP, locale="en-US")
    olga = olga_ctx.new_page()
    olga.goto(f"{live_server.url}/login")
    olga.fill("input[name=email]", "olga@example.com")
    olga.fill("input[name=password]", PASSWORD)
    olga.click("button[type=submit]:has-text('Log in')")
    olga.click("[data-testid=nav-dashboard]")
    olga.click(".admin-nav a:has-text('Webinars')")
    olga.click("a:has-text('Pricing for indie makers')")
    olga.click("nav.tabs a:has-text('Polls')")
    report = olga.locator("[data-testid=polls-report]")
    expect(report).to_contain_text("Which plan would you pick?")
    expect(report).to_contain_text("2 answers")
    expect(report.locator("[data-testid=polls-csv]")).to_be_visible()
    shoot(olga, "report-1280")
    olga.set_viewport_size(PHONE)
    shoot(olga, "report-390")
    assert not errors, errors
    for context in (ann_ctx, bob_ctx, sam_ctx, olga_ctx):
        context.close()
    settle()
