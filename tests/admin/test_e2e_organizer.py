"""The organizer journey in Chromium, plus screenshots of every organizer page on a laptop
and a phone (looked at by hand: tests/e2e/screenshots/admin-*.png)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.db_types import utcnow
from tests.admin import dataset
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
WAIT = 10_000


def _login(browser, live_server, email: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def test_organizer_journey(browser, live_server, make, screenshot, tmp_path):
    make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    make.user(role="speaker", email="sam@example.com", display_name="Sam Speaker")
    context, page = _login(browser, live_server, "olga@example.com", LAPTOP)

    # Create a live webinar through the form (a first attempt with a bad link is refused).
    page.goto(f"{live_server.url}/admin/")
    page.click("[data-testid=new-webinar]")
    expect(page.locator("[data-testid=webinar-form]")).to_be_visible()
    expect(page.locator("[data-for-type=auto]").first).to_be_hidden()  # live form: no recording section
    starts = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT18:30")
    page.fill("input[name=title]", "Весенний запуск: live Q&A")
    page.fill("input[name=scheduled_at]", starts)
    page.select_option("select[name=timezone]", "Europe/Berlin")
    page.fill("input[name=stream_url]", "not a link")
    page.fill("input[name=cta_text]", "Get the checklist")
    page.fill("input[name=cta_url]", "https://example.com/checklist")
    page.click("[data-testid=webinar-save]")
    expect(page.locator("#stream_url-msg .error")).to_contain_text("https://")
    screenshot(page, "admin-form-error-laptop")
    page.fill("input[name=stream_url]", "https://cdn.example.com/live.m3u8")
    page.click("[data-testid=webinar-save]")
    expect(page.locator("[data-testid=webinar-status]")).to_contain_text("draft")
    expect(page.locator("h1")).to_have_text("Весенний запуск: live Q&A")
    slug = page.locator(".details a[href^='/w/']").first.inner_text().removeprefix("/w/")
    assert slug == "vesennii-zapusk-live-q-a"

    # Publish through Core (HTMX swaps the status panel).
    page.click("[data-testid=webinar-publish]")
    expect(page.locator("[data-testid=webinar-status] .badge")).to_have_attribute("data-status", "scheduled")

    # Assign the speaker.
    page.click("nav.tabs a:has-text('Speakers')")
    page.select_option("[data-testid=speaker-select]", label="Sam Speaker <sam@example.com>")
    page.click("[data-testid=speaker-add]")
    expect(page.locator("#speakers .speaker-list")).to_contain_text("Sam Speaker")

    # A visitor registers on the public page.
    visitor = browser.new_context(viewport=PHONE, locale="ru-RU")
    vpage = visitor.new_page()
    vpage.set_default_timeout(WAIT)
    vpage.goto(f"{live_server.url}/w/{slug}?utm_source=newsletter")
    vpage.fill("[data-testid=register-form] input[name=name]", "Мария Петрова")
    vpage.fill("[data-testid=register-form] input[name=email]", "maria@example.com")
    vpage.click("[data-testid=register-form] button[type=submit]")
    expect(vpage.locator("[data-testid=join-link]").first).to_be_visible()
    visitor.close()

    # The organizer sees the registration and downloads the CSV.
    page.click("nav.tabs a:has-text('Registrations')")
    row = page.locator("[data-testid=registration-row]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Мария Петрова")
    expect(row).to_contain_text("newsletter")
    screenshot(page, "admin-journey-registrations-laptop")
    with page.expect_download() as info:
        page.click("[data-testid=registrations-csv]")
    path = tmp_path / "registrations.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Name", "Email"] and rows[1][:2] == ["Мария Петрова", "maria@example.com"]
    assert rows[1][3] == "newsletter" and len(rows) == 2

    # Core refuses to take a webinar with registrations back to draft: the reason is shown.
    page.click("nav.tabs a:has-text('Overview')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=webinar-unpublish]")
    expect(page.locator("[data-testid=status-error]")).to_contain_text("has registrations")
    expect(page.locator("[data-testid=webinar-status] .badge")).to_have_attribute("data-status", "scheduled")
    screenshot(page, "admin-status-refused-laptop")
    page.click("nav.tabs a:has-text('Registrations')")

    # Revoke from the table (HTMX row swap after the confirm dialog).
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=registration-revoke]")
    expect(row).to_contain_text("revoked")
    expect(page.locator("[data-testid=registration-restore]")).to_be_visible()
    context.close()


@pytest.mark.parametrize("device,viewport", [("laptop", LAPTOP), ("phone", PHONE)])
def test_organizer_pages_screenshots(browser, live_server, make, screenshot, device, viewport):
    owner = make.user(role="organizer", email="olga@example.com", display_name="Olga Organizer")
    data = dataset.live(make, owner)
    auto = dataset.auto(make, owner)
    for n in range(3):
        make.webinar(owner=owner, status=("draft", "scheduled", "finished")[n], title=f"Workshop #{n + 1}: pricing")
    make.bring_to(data.webinar, "live")
    context, page = _login(browser, live_server, "olga@example.com", viewport)
    base = f"{live_server.url}/admin"
    shots = [
        ("dashboard", f"{base}/"),
        ("list", f"{base}/webinars"),
        ("overview", f"{base}/webinars/{data.webinar.webinar_id}"),
        ("form", f"{base}/webinars/{data.webinar.webinar_id}/edit"),
        ("form-auto", f"{base}/webinars/{auto.webinar.webinar_id}/edit"),
        ("speakers", f"{base}/webinars/{data.webinar.webinar_id}/speakers"),
        ("registrations", f"{base}/webinars/{data.webinar.webinar_id}/registrations"),
        ("attendance", f"{base}/webinars/{data.webinar.webinar_id}/attendance"),
        ("attendance-auto", f"{base}/webinars/{auto.webinar.webinar_id}/attendance"),
        ("analytics", f"{base}/webinars/{data.webinar.webinar_id}/analytics"),
    ]
    for name, url in shots:
        response = page.goto(url)
        assert response.status == 200, (name, response.status)
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, f"{name}: horizontal scroll"
        screenshot(page, f"admin-{name}-{device}")
    # Filtering the list swaps the table only.
    page.goto(f"{base}/webinars")
    page.select_option("#filter-status", "draft")
    expect(page.locator("#webinar-table")).to_contain_text("Workshop #1")
    expect(page.locator("#webinar-table")).not_to_contain_text("Live report")
    assert "status=draft" in page.url
    context.close()


def test_users_page_screenshots(browser, live_server, make, screenshot):
    make.user(role="admin", email="ada@example.com", display_name="Ada Admin")
    for n in range(4):
        make.user(role=("organizer", "speaker")[n % 2], display_name=f"Person {n}")
    context, page = _login(browser, live_server, "ada@example.com", LAPTOP)
    page.goto(f"{live_server.url}/admin/users")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid=user-reset]").nth(1).click()
    expect(page.locator("[data-testid=one-time-password]")).to_be_visible()
    screenshot(page, "admin-users-laptop")
    context.close()
