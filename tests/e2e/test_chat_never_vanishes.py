"""Issue 9, point 14 in Chromium: a chat message never vanishes on the client.

The text stays in the input until the server confirms it; when the socket is dead it goes
over HTTP with the page's client id and is stored once, even when an answer is lost and the
page sends it again."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.room.models import ChatMessage
from tests.room.conftest import register

pytestmark = [pytest.mark.e2e]
WAIT = 15_000


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["REALTIME_POLL_SECONDS"] = 1
    return app_config


def stored(body: str) -> list[ChatMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(ChatMessage).where(ChatMessage.message_body == body)))


def test_a_message_sent_into_a_dead_socket_arrives_once_and_stays_until_confirmed(browser, live_server, make):
    webinar = make.webinar(status="live")
    attendee = register(webinar, name="Ann")
    context = browser.new_context(locale="en-US")
    dead = {"on": False}
    dropped: list[str] = []

    def socket_route(ws):  # the real socket, whose upstream can go silently dead
        server = ws.connect_to_server()

        def up(message):
            if dead["on"]:
                dropped.append(message)
            else:
                server.send(message)
        ws.on_message(up)
        server.on_message(lambda message: ws.send(message))

    context.route_web_socket(re.compile(r"/ws/room/"), socket_route)
    lost = {"n": 0}

    def chat_route(route):  # the first HTTP answer is lost after the server stored the message
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # reaches the server
            route.abort("connectionreset")  # ... but its answer never reaches the page
        else:
            route.continue_()

    context.route(re.compile(r"/room/[^/]+/chat$"), chat_route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}{attendee.url}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)

    dead["on"] = True
    text = "typed while the connection was dead"
    page.fill("[data-testid=chat-input]", text)
    page.click("[data-testid=chat-send]")
    # Not confirmed yet: the text is still there (the socket swallowed the frame).
    page.wait_for_function("() => window.portalRoom && window.portalRoom.pendingChat() !== null")
    expect(page.locator("[data-testid=chat-input]")).to_have_value(text)
    assert any(text in m for m in dropped)
    # No answer over the socket: the page sends it over HTTP; that answer is lost; it retries.
    expect(page.locator(".chat-msg", has_text=text)).to_have_count(1, timeout=WAIT)
    expect(page.locator("[data-testid=chat-input]")).to_have_value("")
    assert lost["n"] == 1
    [message] = stored(text)
    assert message.client_id and message.moderation_status == "visible"
    assert page.evaluate("() => window.portalRoom.pendingChat()") is None
    page.wait_for_timeout(500)
    expect(page.locator(".chat-msg", has_text=text)).to_have_count(1)
    assert len(stored(text)) == 1
    assert errors == []
    context.close()


def test_a_message_typed_while_the_socket_is_closed_goes_over_http_once(browser, live_server, make):
    webinar = make.webinar(status="live")
    attendee = register(webinar, name="Bob")
    context = browser.new_context(locale="en-US")
    context.route_web_socket(re.compile(r"/ws/"), lambda ws: ws.close())  # websockets blocked
    page = context.new_page()
    page.goto(f"{live_server.url}{attendee.url}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "polling", timeout=WAIT)
    text = "sent without any socket"
    page.fill("[data-testid=chat-input]", text)
    page.click("[data-testid=chat-send]")
    expect(page.locator(".chat-msg", has_text=text)).to_have_count(1, timeout=WAIT)
    expect(page.locator("[data-testid=chat-input]")).to_have_value("")
    page.wait_for_timeout(2500)  # polling snapshots merge by id: still once
    expect(page.locator(".chat-msg", has_text=text)).to_have_count(1)
    assert len(stored(text)) == 1
    context.close()


def test_a_refused_message_keeps_its_text(browser, live_server, make):
    webinar = make.webinar(status="live")
    attendee = register(webinar, name="Cy")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}{attendee.url}")
    expect(page.locator("#realtime")).to_have_attribute("data-state", "live", timeout=WAIT)
    long_text = "z" * 1001
    page.evaluate("t => { const i = document.getElementById('chat-body');"
                  " i.removeAttribute('maxlength'); i.value = t; }", long_text)
    page.click("[data-testid=chat-send]")
    expect(page.locator("#chat-feedback.is-error")).to_contain_text("1,000", timeout=WAIT)
    expect(page.locator("[data-testid=chat-input]")).to_have_value(long_text)
    context.close()
