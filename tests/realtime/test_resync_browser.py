"""In Chromium: the server's resync makes static/js/realtime.js say hello again, from the last
message it had before the gap, so a message whose push never came (Redis was down) appears,
and one that arrived in the gap is not the horizon (issue 9, point 8)."""
from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import expect

from portal import realtime
from portal.db_types import utcnow
from portal.extensions import db
from portal.realtime import catchup, runtime
from portal.room import fragments
from portal.room.channels import room_channel
from portal.room.models import ChatMessage
from tests import factories
from tests.realtime.conftest import make_registration, wait_for

pytestmark = pytest.mark.e2e


def _store_unpushed(webinar, author, body: str) -> int:
    """A message stored by another worker whose push was lost (no signal, no publish)."""
    message = ChatMessage(webinar_id=webinar.webinar_id, author_id=author.user_id, message_body=body,
                          moderation_status="visible", created_at=utcnow())
    db.session.add(message)
    db.session.commit()
    return message.message_id


def test_a_resync_brings_the_messages_the_page_missed(app, live_server, browser, make, monkeypatch):
    # The page's first hello must be answered before the "lost" message is stored: a snapshot
    # rendered after it would carry that message, and the gap would not be a gap.
    answered = threading.Event()
    send_consistent = catchup.send_consistent

    def send_and_tell(*args, **kwargs):
        send_consistent(*args, **kwargs)
        answered.set()

    monkeypatch.setattr(catchup, "send_consistent", send_and_tell)
    webinar = make.webinar(status="live")
    _, token = make_registration(webinar)
    author = factories.lead(name="Other worker")
    context = browser.new_context()
    try:
        _check(app, live_server, context, webinar, token, author, answered)
    finally:
        context.close()


def _check(app, live_server, context, webinar, token: str, author, answered: threading.Event) -> None:
    page = context.new_page()
    page.goto(f"{live_server.url}/room/{token}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=15_000)
    hub = runtime.hub_for(app)
    wait_for(lambda: hub.local_count(room_channel(webinar.webinar_id)) == 1, what="the page's socket")
    assert answered.wait(10), "the page's hello was never answered"

    gap_began = time.time()
    missed = _store_unpushed(webinar, author, "missed while Redis was down")
    time.sleep(0.05)
    # Pushed in the gap (a later id): the page has it, but must not take it as its horizon.
    later = ChatMessage(webinar_id=webinar.webinar_id, author_id=author.user_id, message_body="pushed locally",
                        moderation_status="visible", created_at=utcnow())
    db.session.add(later)
    db.session.commit()
    with app.test_request_context("/"):
        realtime.publish(room_channel(webinar.webinar_id), fragments.messages_oob(fragments.message_items([later])))
    expect(page.locator(f"#msg-{later.message_id}")).to_be_visible(timeout=10_000)
    expect(page.locator(f"#msg-{missed}")).to_have_count(0)

    hub._resync(room_channel(webinar.webinar_id), gap_began)  # as when the subscription comes back
    expect(page.locator(f"#msg-{missed}")).to_be_visible(timeout=10_000)
    expect(page.locator("#chat-list [data-message-id]")).to_have_count(2)  # each once
    assert page.locator("template[data-realtime]").count() == 0  # the marker is not swapped in
