"""Issue 15, the pages the other accessibility checks do not reach: error pages, the
"already registered" answer, the seat-cancel and unsubscribe pages a mail links to, the room of
a paused and of a cancelled webinar, the API docs, the registration-form settings with questions,
pending approvals, a webhook's secret and delivery pages, and the auto console's cohort picker.
Zero WCAG 2.2 AA violations in English and Russian."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.extensions import db
from portal.mail.unsubscribe import token_for
from portal.registration.models import Registration, RegistrationQuestion
from tests.e2e import test_accessibility as a11y
from tests.e2e.axe import Audit
from tests.e2e.test_live_journey import wait_socket
from tests.room.conftest import register as register_lead

pytestmark = a11y.pytestmark
people, context_for, staff_page = a11y.people, a11y.context_for, a11y.staff_page


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    app_config["WEBHOOK_DISPATCHER"] = "external"  # the endpoint below is never called
    app_config["WEBHOOK_ALLOW_PRIVATE"] = True  # a loopback URL: no name to resolve offline
    return app_config


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_remaining_pages_pass_wcag_aa(browser, live_server, people, make, lang):
    audit, base, live, auto = Audit(), live_server.url, people["live"], people["auto"]

    # A visitor: errors, a second registration with the same address, the pages mails link to.
    ctx = context_for(browser, lang, width=390)
    page = ctx.new_page()
    for path, label in [("/w/no-such-webinar", "404 registration"), ("/room/not-a-token", "404 room")]:
        response = page.goto(base + path)
        assert response is not None and response.status == 404
        audit.check(page, f"{lang} {label} (phone)")
    a11y.register(page, base, live.slug, name="Ann Attendee", email="ann@example.com")
    join = page.locator("[data-testid=join-link]").first.get_attribute("href") or ""
    token = join.rstrip("/").rsplit("/", 1)[-1]
    other = context_for(browser, lang, width=390).new_page()
    a11y.register(other, base, live.slug, name="Ann Again", email="ann@example.com", expect_link=False)
    expect(other.locator("#registration-already")).to_be_visible()
    audit.check(other, f"{lang} already registered (phone)")
    other.context.close()
    page.goto(f"{base}/room/{token}/cancel")
    expect(page.locator("form").first).to_be_visible()
    audit.check(page, f"{lang} cancel my seat (phone)")
    ann = db.session.scalars(select(Registration).where(Registration.webinar_id == live.webinar_id)).one()
    page.goto(f"{base}/unsubscribe/{token_for(ann.registration_id)}")
    audit.check(page, f"{lang} unsubscribe (phone)")
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".opblock-summary-control").first).to_be_visible()
    audit.check(page, f"{lang} API docs")
    page.locator(".opblock-post .opblock-summary-control").first.click()  # one operation opened
    expect(page.locator(".opblock-post .opblock-body").first).to_be_visible()
    audit.check(page, f"{lang} API docs with an operation open")

    # The room while paused, and the room of a webinar that was cancelled.
    page.goto(base + join if join.startswith("/") else join)
    wait_socket(page)
    lifecycle.core_webinar_set_status(live, "start", actor=SYSTEM)
    expect(page.locator("[data-testid=room-status]")).to_have_attribute("data-status", "live")
    lifecycle.pause(live, actor=SYSTEM)
    expect(page.locator("[data-testid=room-status]")).to_have_attribute("data-status", "paused")
    audit.check(page, f"{lang} room paused (phone)")
    doomed = make.webinar(status="scheduled", title="Cancelled clinic", slug="cancelled-clinic")
    guest = register_lead(doomed)
    lifecycle.cancel(doomed, actor=SYSTEM)
    page.goto(base + guest.url)
    audit.check(page, f"{lang} room of a cancelled webinar (phone)")
    ctx.close()

    # The organizer: registration-form settings with questions, pending approvals, the auto console.
    vetted = make.webinar(owner=people["owner"], status="scheduled", title="Partner briefing", slug="vetted",
                          requires_approval=True)
    db.session.add_all([RegistrationQuestion(webinar_id=vetted.webinar_id, position=1, label="Company", kind="text",
                                             required=False),
                        RegistrationQuestion(webinar_id=vetted.webinar_id, position=2, label="Your role",
                                             kind="choice", options=["Developer", "Manager"], required=False)])
    db.session.commit()
    ctx = context_for(browser, lang)
    page = ctx.new_page()
    a11y.register(page, base, vetted.slug, name="Pat Visitor", email="pat@example.com", expect_link=False)
    expect(page.locator("[data-testid=registration-pending]")).to_be_visible()
    ctx.close()
    ctx, page = staff_page(browser, lang, base, "olga@example.com")
    for path, label in [(f"/admin/webinars/{vetted.webinar_id}/registration-form", "registration-form settings"),
                        (f"/admin/webinars/{vetted.webinar_id}/registrations", "registrations with one pending"),
                        (f"/console/{auto.webinar_id}", "auto console")]:
        response = page.goto(base + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        audit.check(page, f"{lang} organizer {label}")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    ctx.close()

    # The admin: a new webhook shows its secret once, then its page with the delivery log.
    ctx, page = staff_page(browser, lang, base, "ada@example.com")
    page.goto(f"{base}/admin/webhooks/new")
    form = page.locator("[data-testid=webhook-form]")
    form.locator("input[name=url]").fill("http://127.0.0.1:9/portal-hooks")
    form.locator("input[name=events]").first.check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-testid=webhook-error]")).to_have_count(0)
    audit.check(page, f"{lang} admin webhook secret")
    page.goto(f"{base}/admin/webhooks/")
    page.locator("main a[href*='/admin/webhooks/']").filter(has_text="127.0.0.1:9").first.click()
    page.wait_for_load_state("load")
    audit.check(page, f"{lang} admin webhook with its delivery log")
    ctx.close()
    audit.assert_clean()
