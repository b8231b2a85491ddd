"""The Q&A journey in Chromium, attendees and speaker side by side: ask (held for approval),
approve, upvote, "answering now", answered — each seen live on the other pages. Screenshots
of the room and the console at 390 and 1280 px go to /work/shots/qa/."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.qa.models import QaSettings
from tests.e2e.test_live_journey import register_in_browser, wait_socket
from tests.e2e.test_speaker_journey import LAPTOP, PHONE, log_in

pytestmark = pytest.mark.e2e

SHOTS = Path("/work/shots/qa")
expect.set_options(timeout=15_000)


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    return app_config


def item(page, text: str):
    return page.locator("[data-testid=qa-list] [data-testid=qa-item]", has_text=text)


def ask(page, text: str) -> None:
    page.fill("[data-testid=qa-form] textarea[name=body]", text)
    page.click("[data-testid=qa-send]")
    expect(page.locator("[data-testid=qa-form] textarea[name=body]")).to_have_value("")


def test_ask_approve_upvote_answer_live(browser, live_server, make):
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    webinar = make.webinar(speakers=(speaker,), status="live", title="Pricing Q&A", slug="pricing-qa",
                           stream_url="/static/demo/hls/index.m3u8")
    db.session.add(QaSettings(webinar_id=webinar.webinar_id, moderated=True))
    db.session.commit()
    errors: list[str] = []
    ann_ctx, ann = register_in_browser(browser, live_server, webinar.slug, name="Ann Attendee",
                                       email="ann@example.com", viewport=PHONE)
    bob_ctx, bob = register_in_browser(browser, live_server, webinar.slug, name="Bob Builder",
                                       email="bob@example.com", viewport=LAPTOP)
    sam_ctx, sam = log_in(browser, live_server, "sam@example.com", viewport=LAPTOP)
    for page in (ann, bob, sam):
        page.on("pageerror", lambda e: errors.append(str(e)))
    sam.click("[data-testid=open-console]")
    queue = sam.locator("[data-testid=console-qa]")
    expect(queue).to_be_visible()
    for page in (ann, bob, sam):
        wait_socket(page)

    # Ann asks; the webinar is moderated: she sees it waiting, the host sees it, Bob does not.
    ask(ann, "Is there a student discount?")
    expect(ann.locator("[data-testid=qa-waiting-item]")).to_have_text("Is there a student discount?")
    held = queue.locator("[data-testid=console-qa-item]", has_text="student discount")
    expect(held.locator("[data-testid=console-qa-approve]")).to_be_visible()
    expect(sam.locator("[data-testid=console-qa-pending]")).to_contain_text("1")
    expect(item(bob, "student discount")).to_have_count(0)

    # Approved: it reaches both rooms live; Ann's "waiting" line goes away.
    held.locator("[data-testid=console-qa-approve]").click()
    expect(item(bob, "student discount")).to_be_visible()
    expect(item(ann, "student discount")).to_be_visible()
    expect(ann.locator("[data-testid=qa-waiting-item]")).to_have_count(0)

    # A second question, approved too; Bob upvotes it: it moves up for everyone.
    ask(ann, "Can I pay yearly?")
    queue.locator("[data-testid=console-qa-item]", has_text="pay yearly").locator(
        "[data-testid=console-qa-approve]").click()
    expect(bob.locator("[data-testid=qa-list] [data-testid=qa-item]")).to_have_count(2)
    upvote = item(bob, "pay yearly").locator("[data-testid=qa-upvote]")
    upvote.click()
    expect(upvote).to_have_attribute("aria-pressed", "true")
    expect(item(ann, "pay yearly").locator(".qa-votes")).to_have_text("1")
    expect(ann.locator("[data-testid=qa-list] [data-testid=qa-item]").first).to_contain_text("pay yearly")
    expect(queue.locator("[data-testid=console-qa-item]", has_text="pay yearly")).to_contain_text("1")
    shoot(bob, "room-1280")
    shoot(ann, "room-390")

    # Toggle: the vote is withdrawn, then given again.
    upvote.click()
    expect(upvote).to_have_attribute("aria-pressed", "false")
    expect(item(ann, "pay yearly").locator(".qa-votes")).to_have_text("0")
    upvote.click()
    expect(item(ann, "pay yearly").locator(".qa-votes")).to_have_text("1")

    # "Answering now" is highlighted in every room; then answered.
    queue.locator("[data-testid=console-qa-item]", has_text="pay yearly").locator(
        "[data-testid=console-qa-answering]").click()
    for page in (ann, bob):
        expect(item(page, "pay yearly").locator("[data-testid=qa-answering]")).to_be_visible()
        expect(item(page, "pay yearly")).to_have_class("qa-item qa-answering")
    shoot(ann, "room-answering-390")
    shoot(sam, "console-1280")
    sam.set_viewport_size(PHONE)
    shoot(sam, "console-390")
    sam.set_viewport_size(LAPTOP)
    queue.locator("[data-testid=console-qa-item]", has_text="pay yearly").locator(
        "[data-testid=console-qa-answered]").click()
    for page in (ann, bob):
        expect(item(page, "pay yearly").locator("[data-testid=qa-answered]")).to_be_visible()
    expect(item(bob, "pay yearly").locator("[data-testid=qa-answering]")).to_have_count(0)
    shoot(bob, "room-answered-1280")
    # The switch in a pushed queue still works: approval off, a new question shows at once.
    toggle = sam.locator("[data-testid=console-qa-moderation]")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    ask(ann, "Straight in?")
    expect(item(bob, "Straight in?")).to_be_visible()
    assert errors == []
    for context in (ann_ctx, bob_ctx, sam_ctx):
        context.close()


def test_a_page_without_its_socket_asks_votes_and_sees_answers_by_polling(browser, live_server, make):
    """The socket is cut for Bob: his vote goes over HTTP, the list reaches him by polling (ETag)."""
    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    webinar = make.webinar(speakers=(speaker,), status="live", title="Polling Q&A", slug="polling-qa",
                           stream_url="/static/demo/hls/index.m3u8")
    errors: list[str] = []
    ann_ctx, ann = register_in_browser(browser, live_server, webinar.slug, name="Ann Attendee",
                                       email="ann@example.com", viewport=LAPTOP)
    bob_ctx, bob = register_in_browser(browser, live_server, webinar.slug, name="Bob Builder",
                                       email="bob@example.com", viewport=PHONE, cut_socket=True)
    for page in (ann, bob):
        page.on("pageerror", lambda e: errors.append(str(e)))
    wait_socket(ann)
    expect(bob.locator("#realtime")).to_have_attribute("data-state", "polling")

    ask(ann, "Does it work offline?")
    expect(item(bob, "offline")).to_be_visible()  # by polling
    upvote = item(bob, "offline").locator("[data-testid=qa-upvote]")
    upvote.click()  # over HTTP
    expect(upvote).to_have_attribute("aria-pressed", "true")
    expect(item(ann, "offline").locator(".qa-votes")).to_have_text("1")  # pushed to Ann's socket
    ask(bob, "And on a train?")
    expect(item(ann, "train")).to_be_visible()
    expect(item(bob, "train")).to_be_visible()
    # A refusal is shown next to the form and nothing is added.
    bob.fill("[data-testid=qa-form] textarea[name=body]", "   ")
    bob.evaluate("document.querySelector('#qa-body').removeAttribute('required')")
    bob.click("[data-testid=qa-send]")
    expect(bob.locator("#qa-feedback")).to_have_text("Type a message first.")
    expect(bob.locator("[data-testid=qa-list] [data-testid=qa-item]")).to_have_count(2)
    shoot(bob, "room-polling-390")
    assert errors == []
    for context in (ann_ctx, bob_ctx):
        context.close()


def test_auto_webinar_questions_go_to_the_hosts_and_the_answer_to_the_asker(browser, live_server, make):
    from portal.autowebinar import schedule
    from portal.db_types import utcnow
    from portal.registration import service

    speaker = make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    webinar = make.webinar(type="auto", status="live", speakers=(speaker,), title="Evergreen tour",
                           slug="evergreen-qa", recording_url="/static/demo/auto.mp4", recording_duration_sec=90)
    now = schedule.resolve_start(webinar, "now", now=utcnow())
    tokens = [service.register(webinar, name=name, email=f"{name.lower()}@example.com", starts_at=now).token
              for name in ("Ann", "Bob")]
    errors: list[str] = []
    pages, contexts = [], []
    for token, viewport in zip(tokens, (PHONE, LAPTOP), strict=True):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/room/{token}")
        wait_socket(page)
        pages.append(page)
        contexts.append(context)
    ann, bob = pages
    sam_ctx, sam = log_in(browser, live_server, "sam@example.com", viewport=LAPTOP)
    sam.click("[data-testid=open-console]")
    wait_socket(sam)

    ask(ann, "Can I get the slides?")
    expect(item(ann, "slides")).to_be_visible()
    asked = sam.locator("[data-testid=console-qa-item]", has_text="slides")
    expect(asked).to_be_visible()
    asked.locator("summary").click()
    asked.locator("[data-testid=console-qa-answer-body]").fill("Yes, they come by email after the tour.")
    asked.locator("[data-testid=console-qa-answer-send]").click()
    expect(item(ann, "slides").locator("[data-testid=qa-answer]")).to_contain_text("they come by email")
    expect(bob.locator("[data-testid=qa-list] [data-testid=qa-item]")).to_have_count(0)
    shoot(ann, "auto-room-390")
    shoot(bob, "auto-room-other-viewer-1280")
    shoot(sam, "auto-console-1280")
    bob.reload()
    wait_socket(bob)
    expect(bob.locator("[data-testid=qa-list] [data-testid=qa-item]")).to_have_count(0)
    assert errors == []
    for context in (*contexts, sam_ctx):
        context.close()
