"""The room's polling fallback answering 304 (SPEC §10 polling fallback, issue 14): no SQL, no
session cookie written, only the validator and caching headers on it (RFC 9110 §15.4.5): the
security headers stay on the 200 it revalidates."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask.sessions import SecureCookieSession
from sqlalchemy import event

from portal.extensions import db
from tests.room.conftest import register


def _state(client, url: str, etag: str | None = None, **headers: str):
    return client.get(url, headers={"HX-Request": "true", **({"If-None-Match": etag} if etag else {}), **headers})


def _with_statements(ask: Callable[[], Any]) -> tuple[Any, list[str]]:
    """ask()'s answer and the SQL statements it ran."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        return ask(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_304_poll_runs_no_sql_and_sets_no_cookie(client, make):
    attendee = register(make.webinar(status="live"))
    url = f"{attendee.url}/state"
    etag = _state(client, url).headers["ETag"]
    answer, seen = _with_statements(lambda: _state(client, url, etag))
    assert answer.status_code == 304 and seen == []
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["ETag"] == etag and answer.headers["Cache-Control"] == "no-cache, private"
    assert {"Accept-Language", "HX-Request"} <= set(answer.vary)
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert name not in answer.headers, name


def test_a_304_poll_with_a_player_report_runs_no_sql_either(app, client, make):
    """A room page with a player reports in every poll while its socket is down
    (static/js/health.js): the report is noted by token, resolved by the health ticker."""
    from portal.health import push as health_push

    attendee = register(make.webinar(status="live"))
    url = f"{attendee.url}/state"
    etag = _state(client, url).headers["ETag"]
    answer, seen = _with_statements(lambda: _state(client, url, etag, **{"X-Player-Report": '{"state": "playing"}'}))
    assert answer.status_code == 304 and seen == []
    health_push.resolve_polled(app)
    assert health_push.state(app).board.summary(attendee.reg.webinar_id)["playing"] == 1


def test_the_full_answer_a_304_revalidates_carries_the_security_headers(client, make):
    attendee = register(make.webinar(status="live"))
    answer = _state(client, f"{attendee.url}/state")
    assert answer.status_code == 200 and answer.headers["ETag"]
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert {"Accept-Language", "HX-Request"} <= set(answer.vary)


def test_a_304_does_not_re_sign_a_permanent_session_but_a_full_answer_does(app):
    """SESSION_REFRESH_EACH_REQUEST re-signs a permanent session (a staff member's) on every
    answer; a 304 poll leaves it alone unless the request changed it."""
    interface = app.session_interface
    with app.test_request_context("/"):
        for status, written in ((304, False), (200, True)):
            session = SecureCookieSession({"_permanent": True, "_user_id": "1:0"})  # loaded, not modified
            response = Response(status=status)
            interface.save_session(app, session, response)
            assert ("Set-Cookie" in response.headers) is written, status
        changed = SecureCookieSession({"_permanent": True})
        changed["flash"] = "x"  # a change is always written, 304 or not
        response = Response(status=304)
        interface.save_session(app, changed, response)
        assert "Set-Cookie" in response.headers
