"""Issue 12 (organizer) in Chromium: cancel with registrants (registration page and an open
room), duplicate, a registration with questions, a full webinar, an approval. Screenshots at
phone (390) and laptop (1280) width go to tests/e2e/screenshots/ and /work/shots/organizer/."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import sealed
from portal.mail.ledger import TOKEN_KEY
from portal.mail.models import MailMessage
from portal.registration.models import RegistrationQuestion
from portal.registration.service import register
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 10_000
SHOTS = Path("/work/shots/organizer")


@pytest.fixture
def shot(screenshot):
    """Save a screenshot under tests/e2e/screenshots/ and copy it where the lead looks."""
    def take(page, name: str) -> None:
        path = screenshot(page, f"organizer-{name}")
        if SHOTS.parent.exists():
            SHOTS.mkdir(exist_ok=True)
            shutil.copy(path, SHOTS / path.name)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{name}: h-scroll"
    return take


def _login(browser, live_server, email: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(lambda url: "/login" not in url)
    page.on("dialog", lambda dialog: dialog.accept())  # every confirmation is answered "OK"
    return context, page


def _visitor(browser, viewport=PHONE):
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(WAIT)
    return context, page


def _fill(page, name="Mara Visitor", email="mara@example.com"):
    page.fill("[data-testid=register-form] input[name=name]", name)
    page.fill("[data-testid=register-form] input[name=email]", email)


def _open_webinar(page, live_server, title: str):
    page.goto(f"{live_server.url}/admin/webinars")
    page.click(f"#webinar-table a:has-text('{title}')")
    expect(page.locator("h1")).to_have_text(title)


def test_cancel_with_registrants_reaches_the_page_and_an_open_room(browser, live_server, make, shot):
    owner = make.user(role="organizer", email="olga@example.com")
    webinar = make.webinar(owner=owner, status="scheduled", title="Pricing clinic",
                           scheduled_at=utcnow() + timedelta(days=2))
    register(webinar, name="Early Bird", email="early@example.com")
    vctx, visitor = _visitor(browser)
    visitor.goto(f"{live_server.url}/w/{webinar.slug}")
    _fill(visitor)
    visitor.click("[data-testid=register-form] button[type=submit]")
    visitor.locator("[data-testid=join-link]").first.click()
    expect(visitor.locator("[data-testid=waiting-room]")).to_be_visible()
    expect(visitor.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)

    context, page = _login(browser, live_server, "olga@example.com", LAPTOP)
    _open_webinar(page, live_server, "Pricing clinic")
    page.click("[data-testid=webinar-cancel]")
    expect(page.locator("[data-testid=webinar-status] .badge")).to_have_attribute("data-status", "archived")
    shot(page, "cancel-admin-1280")

    # The open room is told at once (pushed over its socket), without a reload.
    expect(visitor.locator("[data-testid=room-cancelled]")).to_be_visible()
    expect(visitor.locator("[data-testid=room-status]")).to_have_text("Cancelled")
    shot(visitor, "cancel-room-390")
    visitor.goto(f"{live_server.url}/w/{webinar.slug}")
    expect(visitor.locator("[data-testid=registration-cancelled]")).to_be_visible()
    expect(visitor.locator("[data-testid=register-form]")).to_have_count(0)
    shot(visitor, "cancel-registration-390")
    page.goto(f"{live_server.url}/w/{webinar.slug}")
    shot(page, "cancel-registration-1280")
    db.session.expire_all()
    told = db.session.scalars(select(MailMessage.recipient).where(MailMessage.kind == "cancelled")).all()
    assert sorted(told) == ["early@example.com", "mara@example.com"]
    vctx.close()
    context.close()


def test_duplicate_then_delete_the_copy(browser, live_server, make, shot):
    owner = make.user(role="organizer", email="olga@example.com")
    make.webinar(owner=owner, status="scheduled", title="Onboarding live", capacity=40)
    context, page = _login(browser, live_server, "olga@example.com", LAPTOP)
    _open_webinar(page, live_server, "Onboarding live")
    page.click("[data-testid=webinar-duplicate]")
    expect(page.locator("input[name=title]")).to_have_value("Onboarding live (copy)")
    expect(page.locator(".flash")).to_contain_text("copy of")
    shot(page, "duplicate-form-1280")
    page.click("nav.tabs a:has-text('Overview')")
    expect(page.locator("[data-testid=webinar-status] .badge")).to_have_attribute("data-status", "draft")
    page.click("nav.tabs a:has-text('Registration form')")
    expect(page.locator("input[name=capacity]")).to_have_value("40")
    page.click("nav.tabs a:has-text('Overview')")
    page.click("[data-testid=webinar-delete]")
    page.wait_for_url(f"{live_server.url}/admin/webinars")
    expect(page.locator("#webinar-table")).not_to_contain_text("(copy)")
    expect(page.locator("#webinar-table")).to_contain_text("Onboarding live")
    context.close()


def test_registration_with_questions(browser, live_server, make, shot):
    owner = make.user(role="organizer", email="olga@example.com")
    webinar = make.webinar(owner=owner, status="scheduled", title="Analytics 101")
    context, page = _login(browser, live_server, "olga@example.com", LAPTOP)
    _open_webinar(page, live_server, "Analytics 101")
    page.click("nav.tabs a:has-text('Registration form')")
    page.fill("input[name=label]", "Company")
    page.check("input[name=required]")
    page.click("[data-testid=question-add]")
    page.fill("input[name=label]", "Your role")
    page.select_option("select[name=kind]", "choice")
    page.fill("textarea[name=options]", "Developer\nManager\nOther")
    page.click("[data-testid=question-add]")
    page.fill("input[name=label]", "I agree to be contacted about this webinar")
    page.select_option("select[name=kind]", "checkbox")
    page.check("input[name=required]")
    page.click("[data-testid=question-add]")
    expect(page.locator("[data-testid=regform-question]")).to_have_count(3)
    shot(page, "questions-admin-1280")

    for viewport, width in ((PHONE, 390), (LAPTOP, 1280)):
        vctx, visitor = _visitor(browser, viewport)
        visitor.goto(f"{live_server.url}/w/{webinar.slug}")
        _fill(visitor, email=f"q{width}@example.com")
        visitor.click("[data-testid=register-form] button[type=submit]")
        expect(visitor.locator("[data-testid=register-form]")).to_contain_text("Please answer this question.")
        expect(visitor.locator("[data-testid=register-form]")).to_contain_text("Please tick this box")
        shot(visitor, f"questions-error-{width}")
        visitor.fill("[data-testid=question] input[type=text]", "Acme")
        visitor.check("text=Manager")
        visitor.check("text=I agree to be contacted")
        visitor.click("[data-testid=register-form] button[type=submit]")
        expect(visitor.locator("[data-testid=join-link]").first).to_be_visible()
        vctx.close()
    db.session.expire_all()
    questions = {q.label: str(q.question_id) for q in db.session.scalars(select(RegistrationQuestion))}
    from portal.registration.models import Registration
    answers = [r.answers for r in db.session.scalars(select(Registration))]
    assert answers == [{questions["Company"]: "Acme", questions["Your role"]: "Manager",
                        questions["I agree to be contacted about this webinar"]: "yes"}] * 2
    context.close()


def test_a_full_webinar_offers_the_waiting_list(browser, live_server, make, shot):
    webinar = make.webinar(status="scheduled", title="Small workshop", capacity=1)
    register(webinar, name="First", email="first@example.com")
    for viewport, width in ((PHONE, 390), (LAPTOP, 1280)):
        vctx, visitor = _visitor(browser, viewport)
        visitor.goto(f"{live_server.url}/w/{webinar.slug}")
        _fill(visitor, email=f"late{width}@example.com")
        visitor.click("[data-testid=register-form] button[type=submit]")
        expect(visitor.locator("[data-testid=registration-full]")).to_be_visible()
        shot(visitor, f"full-{width}")
        visitor.click("[data-testid=waitlist-submit]")
        expect(visitor.locator("[data-testid=waitlisted]")).to_be_visible()
        shot(visitor, f"waitlisted-{width}")
        vctx.close()


def test_approval_pending_then_approved_link_works(browser, live_server, make, shot):
    owner = make.user(role="organizer", email="olga@example.com")
    webinar = make.webinar(owner=owner, status="scheduled", title="Partner briefing", requires_approval=True)
    vctx, visitor = _visitor(browser)
    visitor.goto(f"{live_server.url}/w/{webinar.slug}")
    _fill(visitor, name="Pat Pending", email="pat@example.com")
    visitor.click("[data-testid=register-form] button[type=submit]")
    expect(visitor.locator("[data-testid=registration-pending]")).to_be_visible()
    expect(visitor.locator("[data-testid=join-link]")).to_have_count(0)
    shot(visitor, "pending-390")

    context, page = _login(browser, live_server, "olga@example.com", LAPTOP)
    _open_webinar(page, live_server, "Partner briefing")
    page.click("nav.tabs a:has-text('Registrations')")
    expect(page.locator("[data-testid=registration-state]")).to_have_attribute("data-state", "pending")
    shot(page, "approval-list-1280")
    page.check("[data-testid=registration-pick]")
    page.click("[data-testid=registrations-approve]")
    expect(page.locator("[data-testid=decided]")).to_contain_text("1 registration updated.")
    expect(page.locator("[data-testid=registration-state]")).to_have_count(0)  # a badge only when not confirmed
    expect(page.locator("[data-testid=registration-resend]")).to_be_visible()
    shot(page, "approval-done-1280")

    db.session.expire_all()
    mail = db.session.scalar(select(MailMessage).where(MailMessage.kind == "confirmation"))
    assert mail.recipient == "pat@example.com"
    visitor.goto(f"{live_server.url}/room/{sealed.unseal(mail.context[TOKEN_KEY])}")  # the ledger keeps it sealed
    expect(visitor.locator("[data-testid=waiting-room]")).to_be_visible()
    shot(visitor, "approved-room-390")
    vctx.close()
    context.close()
