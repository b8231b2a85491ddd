"""Issue 9, point 12: with the database down, pages, fragments and JSON answer 503 with
Retry-After (not 500); the page says so and reloads itself; when the database is back, 200.

The database is a private PostgreSQL cluster this test starts, stops and starts again
(tests/faults/conftest.py); the shared server is not touched.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from portal.extensions import db
from tests import factories
from tests.conftest import FreshGClient
from tests.realtime.conftest import app_on, make_registration


@pytest.fixture
def pg_app(own_postgres) -> Iterator[Flask]:
    with app_on(own_postgres.url) as app:
        app.test_client_class = FreshGClient
        yield app


def _requests(token: str) -> dict[str, dict]:
    """One page, one HTMX fragment (the polling state), one JSON answer."""
    return {
        "page": {"path": f"/room/{token}", "headers": {"Accept": "text/html"}},
        "fragment": {"path": f"/room/{token}/state?since=0", "headers": {"HX-Request": "true"}},
        "json": {"path": f"/room/{token}", "headers": {"Accept": "application/json"}},
    }


def test_database_down_answers_503_with_retry_after_then_200_when_it_is_back(pg_app, own_postgres):
    webinar = factories.webinar(status="live")
    _, token = make_registration(webinar)
    db.session.remove()
    client = pg_app.test_client()
    for name, req in _requests(token).items():
        assert client.get(req["path"], headers=req["headers"]).status_code == 200, name

    own_postgres.stop()
    answers = {name: client.get(req["path"], headers=req["headers"]) for name, req in _requests(token).items()}
    for name, response in answers.items():
        assert response.status_code == 503, (name, response.status_code)
        assert response.headers["Retry-After"].isdigit(), name
    page = answers["page"].get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and 'data-testid="unavailable"' in page
    assert "briefly unavailable" in page
    fragment = answers["fragment"]
    assert fragment.headers.get("HX-Retarget") == "#flash"
    assert 'data-testid="unavailable"' in fragment.get_data(as_text=True)
    assert answers["json"].get_json()["error"]["code"] == "unavailable"

    own_postgres.start()
    for name, req in _requests(token).items():
        assert client.get(req["path"], headers=req["headers"]).status_code == 200, name
    assert db.session.execute(text("SELECT count(*) FROM registration")).scalar() == 1  # nothing lost


def test_the_unavailable_page_is_translated(pg_app, own_postgres):
    webinar = factories.webinar(status="live")
    _, token = make_registration(webinar)
    db.session.remove()
    client = pg_app.test_client()
    own_postgres.stop()
    response = client.get(f"/room/{token}", headers={"Accept-Language": "ru"})
    assert response.status_code == 503
    assert "briefly unavailable" not in response.get_data(as_text=True)


def test_presence_writes_during_an_outage_are_owed_and_written_when_the_database_is_back(
        pg_app, own_postgres, monkeypatch):
    from portal.attendance import presence
    from portal.attendance.models import Attendance

    monkeypatch.setattr(presence, "RETRY_DELAYS", (0.05, 0.05))
    webinar = factories.webinar(status="live")
    reg, _ = make_registration(webinar)
    presence.connected(reg, connection_id="tab-1")
    presence.connected(reg, connection_id="tab-2")
    reg_id, webinar_id = reg.registration_id, reg.webinar_id
    assert db.session.execute(text("SELECT count(*) FROM attendance WHERE left_at IS NULL")).scalar() == 2

    own_postgres.stop()
    # What a socket's close does (it knows the ids, not a loaded row): no error reaches it.
    presence.closed(reg_id, webinar_id, connection_id="tab-1", reason="disconnected")
    assert presence.registry(pg_app).owed_count() == 1
    assert presence.retry_owed(pg_app) == 0  # still down: it waits for the next round
    db.session.remove()

    own_postgres.start()
    assert presence.retry_owed(pg_app) == 1
    open_rows = db.session.execute(text("SELECT connection_id FROM attendance WHERE left_at IS NULL")).scalars().all()
    assert open_rows == ["tab-2"]
    closed = db.session.query(Attendance).filter(Attendance.connection_id == "tab-1").one()
    assert closed.left_at is not None and closed.leave_reason == "disconnected"
