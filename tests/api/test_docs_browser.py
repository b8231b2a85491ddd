"""/api/v1/docs in Chromium: Swagger UI (vendored) renders the document under the strict CSP,
with no request leaving the portal."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_csp import violations, watched_page

pytestmark = pytest.mark.e2e


def test_the_reference_renders_under_the_csp_from_the_portal_only(browser, live_server, app):
    messages: list[str] = []
    context, page = watched_page(browser, messages)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Webinar portal API", timeout=15_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/webinars/{webinar_id}/status")).to_be_visible()
    assert violations(page, messages) == []
    assert [u for u in outside if not u.startswith("data:")] == []
    context.close()
