"""Issue 15, the states the other issues added: the auto room (watch now playing with captions,
the resume choice, paused), the replay with captions, the Recording tab with captions and a
refused file, Q&A (asked, answering now), a poll open and with results, the reaction bar after a
burst, the health panel, and the registration variants (questions with errors, full, waiting
list, pending approval). Zero WCAG 2.2 AA violations in English and Russian."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from portal.attendance.models import LiveSession
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.media import captions, recordings
from portal.registration import service as registration
from portal.registration.models import RegistrationQuestion
from tests.e2e import test_accessibility as a11y
from tests.e2e.axe import Audit
from tests.e2e.test_live_journey import wait_socket
from tests.room.conftest import register as register_lead

pytestmark = a11y.pytestmark
people, context_for, staff_page = a11y.people, a11y.context_for, a11y.staff_page
SHOTS = Path("/work/shots/a11y2")
VTT = b"WEBVTT\n\n00:00.000 --> 01:30.000\nWelcome to the product tour\n"
VTT_RU = "WEBVTT\n\n00:00.000 --> 01:30.000\nДобро пожаловать\n".encode()


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0.2
    app_config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0.5
    app_config["RECORDINGS_DIR"] = str(tmp_path / "recordings")
    return app_config


def wait_playing(page, beyond: float) -> None:
    page.wait_for_function("(min) => { const v = document.querySelector('[data-aw-video]');"
                           " return v && !v.paused && v.currentTime > min; }", arg=beyond, timeout=15_000)


def wait_cue(page, video: str, lang: str, text: str) -> None:
    """The showing track of `lang` has `text` as an active cue: the file was served, parsed and is on screen."""
    page.wait_for_function(
        "([sel, lang, text]) => { const v = document.querySelector(sel);"
        " const t = v && [...v.textTracks].find(t => t.language === lang && t.mode === 'showing');"
        " return !!t && !!t.activeCues && [...t.activeCues].some(c => c.text === text); }",
        arg=[video, lang, text], timeout=15_000)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_auto_room_replay_and_captions_pass_wcag_aa(browser, live_server, make, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    audit, base = Audit(), live_server.url
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    auto = make.webinar(owner=owner, type="auto", status="live", title="Evergreen product tour", slug="tour",
                        recording_url="/static/demo/auto.mp4", recording_duration_sec=90, cta_at_sec=30,
                        cta_text="Book a demo call", cta_url=f"{base}/",
                        auto_schedule={"watch_now": True, "kind": "every", "every_minutes": 15, "horizon": 4,
                                       "timezone": "Europe/Berlin"})
    recording = recordings.attach_link(auto, "/static/demo/auto.mp4", actor=owner)
    captions.attach(auto, recording, "en", VTT, actor=owner)
    captions.attach(auto, recording, "ru", VTT_RU, actor=owner)
    lifecycle.core_webinar_set_cta_visibility(auto, "visible", actor=SYSTEM)

    ctx = context_for(browser, lang)
    page = ctx.new_page()
    late = utcnow().replace(microsecond=0) - timedelta(seconds=40)
    token = auto_service_register(auto, "late@example.com", late)
    page.goto(f"{base}/room/{token}")
    wait_playing(page, 38)
    expect(page.locator("[data-testid=cta]")).to_be_visible()
    assert page.locator("[data-aw-video] track[kind=captions]").count() == 2
    # What the player's captions toggle does: the page language's track showing; its cue is on screen.
    page.locator("[data-aw-video]").evaluate(
        "(v, lang) => { [...v.textTracks].find(t => t.language === lang).mode = 'showing'; }", lang)
    wait_cue(page, "[data-aw-video]", lang, "Welcome to the product tour" if lang == "en" else "Добро пожаловать")
    expect(page.locator("[data-testid=transcript-link]")).to_have_count(2)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"captions-auto-room-{lang}.png"))
    audit.check(page, f"{lang} auto room playing with captions and CTA")
    fits_320(page, f"auto-room-{lang}")
    page.locator("[data-aw-video]").evaluate("v => { v.currentTime = 12; }")
    page.wait_for_timeout(1200)
    page.close()
    page = ctx.new_page()
    page.goto(f"{base}/room/{token}")
    expect(page.locator("[data-testid=resume-choice]")).to_be_visible()
    audit.check(page, f"{lang} auto room resume choice")
    page.locator("[data-testid=resume-continue]").click()
    wait_playing(page, 1)
    lifecycle.pause(auto, actor=SYSTEM)
    expect(page.locator("[data-aw-screen=paused]")).to_be_visible()
    audit.check(page, f"{lang} auto room paused")
    ctx.close()

    # A finished live webinar with its recording and captions: the replay.
    live = make.webinar(owner=owner, status="scheduled", title="Pricing clinic", slug="clinic")
    guest = register_lead(live)
    make.bring_to(live, "live")
    db.session.execute(update(LiveSession).values(started_at=utcnow() - timedelta(seconds=100)))
    db.session.commit()
    make.bring_to(live, "finished")
    replay = recordings.attach_link(live, "/static/demo/auto.mp4", actor=owner)
    captions.attach(live, replay, "en", VTT, actor=owner)
    ctx = context_for(browser, lang)
    page = ctx.new_page()
    page.goto(f"{base}/replay/{guest.token}")
    expect(page.locator("#replay-video track[kind=captions]")).to_have_count(1)
    page.locator("#replay-video").evaluate("v => { v.textTracks[0].mode = 'showing'; v.currentTime = 5; }")
    wait_cue(page, "#replay-video", "en", "Welcome to the product tour")
    page.screenshot(path=str(SHOTS / f"captions-replay-{lang}.png"))
    audit.check(page, f"{lang} replay with captions")
    fits_320(page, f"replay-{lang}")
    ctx.close()

    ctx, page = staff_page(browser, lang, base, "olga@example.com")
    page.goto(f"{base}/admin/webinars/{auto.webinar_id}/recording")
    expect(page.locator("[data-testid=caption-track]")).to_have_count(2)
    audit.check(page, f"{lang} recording tab with captions")
    page.set_input_files("#captions-file", files=[{"name": "bad.vtt", "mimeType": "text/vtt", "buffer": b"hello"}])
    page.fill("#captions-lang", "de")
    page.locator("[data-testid=captions-upload] button[type=submit]").click()
    expect(page.locator("[data-testid=form-errors]")).to_be_focused()
    page.screenshot(path=str(SHOTS / f"captions-refused-{lang}.png"))
    audit.check(page, f"{lang} recording tab with a refused captions file")
    ctx.close()
    audit.assert_clean()


def fits_320(page, label: str) -> None:
    """At 320 px wide the page needs no horizontal scrolling (WCAG 1.4.10 reflow)."""
    page.set_viewport_size({"width": 320, "height": 640})
    page.wait_for_timeout(200)
    page.screenshot(path=str(SHOTS / f"320-{label}.png"))
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 320, label
    page.set_viewport_size({"width": 1280, "height": 800})


def auto_service_register(webinar, email: str, starts_at) -> str:
    return registration.register(webinar, name="Sam", email=email, starts_at=starts_at).token


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_engagement_and_registration_states_pass_wcag_aa(browser, live_server, people, make, lang):
    audit, base, live = Audit(), live_server.url, people["live"]
    ann_ctx = context_for(browser, lang, width=390)
    ann = ann_ctx.new_page()
    a11y.register(ann, base, live.slug, name="Ann Attendee", email="ann@example.com")
    ann.locator("[data-testid=join-link]").first.click()
    wait_socket(ann)
    sam_ctx, sam = staff_page(browser, lang, base, "sam@example.com")
    sam.goto(f"{base}/console/{live.webinar_id}")
    wait_socket(sam)
    sam.click("[data-testid=console-start]")
    expect(ann.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live")

    ann.locator("[data-testid=qa-input]").fill("Is there a student discount?")
    ann.locator("[data-testid=qa-send]").click()
    expect(ann.locator("[data-testid=qa-item]")).to_have_count(1)
    audit.check(ann, f"{lang} room with a question asked (phone)")
    item = sam.locator("[data-testid=console-qa-item]").first
    expect(item).to_be_visible()
    item.locator("[data-testid=console-qa-answering]").click()
    expect(sam.locator("[data-testid=console-qa-item][data-answer-state=answering]")).to_have_count(1)
    expect(ann.locator("[data-testid=qa-item]").first).to_contain_text("Answering now" if lang == "en" else "")
    audit.check(ann, f"{lang} room with a question being answered (phone)")
    audit.check(sam, f"{lang} console with a question being answered")

    polls = sam.locator("[data-testid=console-polls]")
    polls.locator("[data-testid=console-poll-question]").fill("Which plan would you pick?")
    polls.locator("[data-testid=console-poll-options]").fill("Free\nPro\nTeam")
    polls.locator("[data-testid=console-poll-create]").click()
    polls.locator("[data-testid=console-poll-open]").click()
    expect(ann.locator("[data-testid=poll]")).to_be_visible()
    audit.check(ann, f"{lang} room with a poll open (phone)")
    ann.locator("[data-testid=poll-option]").nth(1).click()
    ann.locator("[data-testid=poll-submit]").click()
    expect(ann.locator("[data-testid=poll-results]")).to_be_visible()
    audit.check(ann, f"{lang} room with poll results (phone)")
    audit.check(sam, f"{lang} console with poll results")

    bar = ann.locator("[data-testid=reaction-bar]")
    for _ in range(3):
        bar.locator("[data-reaction=clap]").click()
    expect(sam.locator("[data-testid=console-reactions]")).not_to_contain_text("0 ", timeout=15_000)
    expect(ann.locator(".reaction-pop").first).to_be_attached()
    ann.wait_for_timeout(2500)  # bursts come once a second: let the last one finish rising
    audit.check(ann, f"{lang} room reaction bar after a burst (phone)")
    expect(sam.locator("[data-testid=console-health]")).to_be_visible()
    audit.check(sam, f"{lang} console reactions and health panel")
    sam_ctx.close()
    ann_ctx.close()

    # Registration variants: questions refused then shown, a full webinar, pending approval.
    quiz = make.webinar(owner=people["owner"], status="scheduled", title="Analytics 101", slug="quiz")
    db.session.add_all([RegistrationQuestion(webinar_id=quiz.webinar_id, position=1, label="Company", kind="text",
                                             required=True),
                        RegistrationQuestion(webinar_id=quiz.webinar_id, position=2, label="Your role",
                                             kind="choice", options=["Developer", "Manager"], required=True),
                        RegistrationQuestion(webinar_id=quiz.webinar_id, position=3, label="I agree", kind="checkbox",
                                             required=True)])
    db.session.commit()
    small = make.webinar(status="scheduled", title="Small workshop", slug="small", capacity=1)
    register_lead(small)
    vetted = make.webinar(status="scheduled", title="Partner briefing", slug="vetted", requires_approval=True)
    ctx = context_for(browser, lang, width=390)
    page = ctx.new_page()
    page.goto(f"{base}/w/{quiz.slug}")
    audit.check(page, f"{lang} registration with questions (phone)")
    page.locator("[data-testid=register-form] button[type=submit]").click()
    expect(page.locator(".reg-form-message")).to_be_visible()
    audit.check(page, f"{lang} registration with questions refused (phone)")
    for slug, testid, label in [(small.slug, "registration-full", "full"),
                                (vetted.slug, "registration-pending", "pending")]:
        page.goto(f"{base}/w/{slug}")
        form = page.locator("[data-testid=register-form]")
        form.locator("input[name=name]").fill("Pat Visitor")
        form.locator("input[name=email]").fill(f"pat-{label}@example.com")
        form.locator("button[type=submit]").click()
        expect(page.locator(f"[data-testid={testid}]")).to_be_visible()
        audit.check(page, f"{lang} registration {label} (phone)")
        if label == "full":
            page.click("[data-testid=waitlist-submit]")
            expect(page.locator("[data-testid=waitlisted]")).to_be_visible()
            audit.check(page, f"{lang} registration waitlisted (phone)")
    ctx.close()
    audit.assert_clean()
