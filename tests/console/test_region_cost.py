"""Issue 14: a console region pushed on a CTA toggle or a status change renders exactly as
before, without the attendee list's queries (they scanned the room's attendance twice per push)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template
from sqlalchemy import event

from portal.console import fragments
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db


def _webinars(make, register):
    """A one-time webinar live with its CTA shown and attendees, and one with three start times."""
    speaker = make.user(role="speaker")
    live = make.webinar(status="scheduled", speakers=(speaker,))
    for _ in range(3):
        register(live)
    lifecycle.core_webinar_set_status(live, "start", actor=SYSTEM)
    lifecycle.core_webinar_set_cta_visibility(live, "visible", actor=SYSTEM)
    main = utcnow().replace(microsecond=0) + timedelta(hours=1)
    several = make.webinar(status="scheduled", speakers=(speaker,), scheduled_at=main,
                           slots=(main + timedelta(hours=2), main + timedelta(hours=4)))
    return live, several


@pytest.mark.parametrize("name", ["cta", "controls"])
def test_a_pushed_region_renders_as_with_the_whole_context(app, make, attendee, name):
    for webinar in _webinars(make, attendee):
        db.session.refresh(webinar)
        for lang in app.config["LANGUAGES"]:
            with app.test_request_context():
                whole = render_template(f"console/_{name}.html", **fragments.context(webinar), oob=True, lang=lang)
                assert fragments.region(name, webinar, oob=True, lang=lang) == whole
                assert 'id="console-' in whole


def test_the_cta_region_runs_no_attendance_or_registration_query(app, make, attendee):
    live, _ = _webinars(make, attendee)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        statements.append(statement.lower())

    with app.test_request_context():
        db.session.refresh(live)
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            cta = fragments.region("cta", live, oob=True, lang="en")
            fragments.region("controls", live, oob=True, lang="en")
            pushed = list(statements)
            fragments.region("attendees", live, oob=True, lang="en")
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert 'data-state="visible"' in cta
    assert not [s for s in pushed if "attendance" in s or "registration" in s], pushed
    assert any("attendance" in s for s in statements[len(pushed):])  # the list itself still reads them
