"""Issue 12 point 3 in the console: it shows which start time runs and starts the one picked."""
from __future__ import annotations

from datetime import timedelta

from portal import timefmt
from portal.core import runs
from portal.db_types import utcnow
from portal.extensions import db
from tests.conftest import csrf_token_from
from tests.console.test_console import logged_in


def _webinar(make, speaker):
    main = utcnow().replace(microsecond=0) + timedelta(hours=1)
    return make.webinar(status="scheduled", speakers=(speaker,), scheduled_at=main,
                        slots=(main + timedelta(hours=2), main + timedelta(hours=4)))


def _start(client, w, starts_at: str | None):
    token = csrf_token_from(client.get(f"/console/{w.webinar_id}").get_data(as_text=True))
    data = {"starts_at": starts_at} if starts_at is not None else {}
    return client.post(f"/console/{w.webinar_id}/start", data=data,
                       headers={"X-CSRFToken": token, "HX-Request": "true"})


def test_the_console_offers_the_times_and_starts_the_one_picked(app, make):
    speaker = make.user(role="speaker")
    w = _webinar(make, speaker)
    client, _ = logged_in(app, speaker)
    page = client.get(f"/console/{w.webinar_id}").get_data(as_text=True)
    assert page.count("<option value=\"20") >= 3 and 'data-testid="console-run-select"' in page
    picked = w.slots[0].starts_at
    response = _start(client, w, timefmt.iso_utc(picked))
    run = runs.run_session_id(w.webinar_id, w.slots[0].slot_id)
    assert response.headers["HX-Redirect"].endswith(f"/console/{w.webinar_id}?cohort={run}")
    db.session.refresh(w)
    assert w.status == "live" and w.run_starts_at == picked
    live = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert 'data-testid="console-run"' in live and "End this run" in live


def test_a_time_not_offered_is_refused_and_nothing_starts(app, make):
    speaker = make.user(role="speaker")
    w = _webinar(make, speaker)
    client, _ = logged_in(app, speaker)
    response = _start(client, w, "2001-01-01T00:00:00Z")
    assert response.status_code == 422
    assert "already run or is not one of this webinar" in response.get_data(as_text=True)
    db.session.refresh(w)
    assert w.status == "scheduled" and w.run_starts_at is None
