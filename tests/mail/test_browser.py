"""In Chromium: register, the confirmation arrives at the SMTP server with a link that opens the
room; "Email me my link" answers the same for a stranger's address and mails a fresh link; the
HTML mails at phone and laptop widths (screenshots under tests/e2e/screenshots/ and
/work/shots/mail/)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import broadcast, compose, jobs
from portal.mail.models import MailMessage
from portal.registration import service

SHOTS = Path("/work/shots/mail")


@pytest.fixture
def app_config(app_config, smtp_app_config):  # noqa: ANN001
    return smtp_app_config


@pytest.mark.e2e
def test_confirmation_mail_and_link_recovery_in_a_browser(app, make, browser, live_server, smtp_server, deliver,
                                                         screenshot):
    from playwright.sync_api import expect

    webinar = make.webinar(status="scheduled", title="Launching your first webinar", timezone="Europe/Berlin",
                           scheduled_at=(utcnow() + timedelta(days=2)).replace(second=0, microsecond=0))
    slug = webinar.slug
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/w/{slug}")
        form = page.get_by_test_id("register-form")
        form.locator("[name=name]").fill("Ann Lee")
        form.locator("[name=email]").fill("ann@example.com")
        form.locator("button[type=submit]").click()
        expect(page.get_by_test_id("join-link")).to_be_visible()
        assert deliver() == 1
        [mail] = smtp_server.sink.received
        html = mail.get_body(("html",)).get_content()
        link = re.search(r'href="(http://127\.0\.0\.1:\d+/room/[A-Za-z0-9_\-]+)"', html).group(1)
        assert "(Asia/Tokyo)" in html  # the browser's zone, captured at registration
        assert {p.get_content_type() for p in mail.walk()} >= {"text/calendar", "application/ics"}
        for width in (390, 1280):
            shot = context.new_page()
            shot.set_viewport_size({"width": width, "height": 900})
            shot.set_content(html)
            screenshot(shot, f"mail-confirmation-{width}")
            shot.close()
        page.goto(link)
        assert "/room/" in page.url and page.get_by_test_id("join-link").count() == 0

        # "Email me my link": a stranger's address and the registered one get the same answer
        answers = []
        for address in ("nobody@example.com", "ann@example.com"):
            page.goto(f"{live_server.url}/w/{slug}")
            recovery = page.get_by_test_id("link-recovery-form")
            recovery.locator("[name=email]").fill(address)
            recovery.get_by_role("button").click()
            expect(page.get_by_test_id("link-recovery-sent")).to_be_visible()
            answers.append((page.url, page.get_by_test_id("link-recovery-sent").inner_text()))
        assert answers[0] == answers[1]
        assert jobs.settle(app)  # the look-up and the rotation run in the background
        assert deliver() == 1
        fresh = smtp_server.sink.received[-1]
        assert fresh["To"].addresses[0].addr_spec == "ann@example.com"
        new_link = re.search(r"http://127\.0\.0\.1:\d+/room/[A-Za-z0-9_\-]+", fresh.get_body(("plain",)).get_content())
        assert new_link.group(0) != link
        assert page.goto(new_link.group(0)).status == 200
        assert page.goto(link).status == 404  # the old link stopped working
    finally:
        context.close()


@pytest.mark.e2e
def test_every_html_mail_at_phone_and_laptop_width(app, make, browser, screenshot):
    """Confirmation, reminder, we are live, thank you, cancelled: rendered as sent, in Chromium;
    the body never needs a horizontal scroll and the join button is inside the viewport."""
    webinar = make.webinar(status="scheduled", title="Launching your first webinar: pricing, funnels and Q&A",
                           timezone="Europe/Berlin",
                           scheduled_at=(utcnow() + timedelta(days=2)).replace(second=0, microsecond=0))
    service.register(webinar, name="Anastasia Konstantinopolskaya", email="ann@example.com", timezone="Asia/Tokyo")
    broadcast.went_live(webinar, now=webinar.scheduled_at)  # the start came
    broadcast.completed(webinar, now=utcnow())
    broadcast.cancelled(webinar)
    db.session.commit()
    by_kind = {row.kind: row for row in db.session.query(MailMessage)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context()
    try:
        for kind in ("confirmation", "remind_1h", "live_now", "thank_you", "cancelled"):
            html = compose.render(by_kind[kind]).message.get_body(("html",)).get_content()
            for width in (390, 1280):
                page = context.new_page()
                page.set_viewport_size({"width": width, "height": 900})
                page.set_content(html)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{kind} at {width}px scrolls sideways by {overflow}px"
                if kind not in ("cancelled", "thank_you"):  # notices without a join link
                    box = page.locator("[data-testid=mail-join-link]").first.bounding_box()
                    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
                page.screenshot(path=str(SHOTS / f"{kind}-{width}.png"), full_page=True)
                screenshot(page, f"mail-{kind}-{width}")
                page.close()
    finally:
        context.close()


@pytest.mark.e2e
def test_every_mail_kind_passes_wcag_aa_in_english_and_russian(app, make, browser):
    """Each kind a registrant can receive, rendered as sent in both languages, checked by axe
    in a blank page (as a mail client shows it: the portal's own page sandboxes it)."""
    from portal.mail import recovery, reminders
    from tests.e2e.axe import Audit

    at = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    webinar = make.webinar(status="scheduled", title="Pricing for indie makers", scheduled_at=at, capacity=2)
    for name, email, language in [("Ann Lee", "ann@example.com", "en"), ("Борис Петров", "boris@example.com", "ru")]:
        service.register(webinar, name=name, email=email, language=language)
    db.session.commit()
    webinar.scheduled_at, webinar.calendar_sequence = at + timedelta(hours=2), (webinar.calendar_sequence or 0) + 1
    reminders.rescheduled(webinar)  # the new time: a notice with the updated invitation
    broadcast.went_live(webinar, now=webinar.scheduled_at)
    broadcast.completed(webinar, now=utcnow())
    broadcast.cancelled(webinar)
    db.session.commit()
    for email in ("ann@example.com", "boris@example.com"):  # "email me my link"
        recovery.mail_link(app, webinar.webinar_id, email, base="http://localhost")
    rows = {(row.kind, row.language): row for row in db.session.query(MailMessage)}
    kinds = {kind for kind, _ in rows}
    assert {"confirmation", "link_recovery", "remind_24h", "remind_1h", "rescheduled", "live_now", "thank_you",
            "cancelled"} <= kinds, kinds
    audit = Audit()
    context = browser.new_context()
    try:
        for (kind, language), row in sorted(rows.items()):
            page = context.new_page()
            page.set_content(compose.render(row).message.get_body(("html",)).get_content())
            audit.check(page, f"{language} mail {kind}")
            page.close()
    finally:
        context.close()
    assert {language for _, language in rows} == {"en", "ru"}
    audit.assert_clean()
