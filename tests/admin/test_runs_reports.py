"""Issue 12 point 3: reports and CSVs per run of a live webinar with several start times
(failed before runs: one report mixed every time's registrants and visits)."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.attendance import presence
from portal.core import lifecycle, runs
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.registration import service


def _two_runs(make, owner):
    main = utcnow().replace(microsecond=0) + timedelta(hours=1)
    w = make.webinar(owner=owner, status="scheduled", scheduled_at=main, slots=(main + timedelta(hours=2),))
    ann = service.register(w, name="Ann Main", email="ann@example.com").registration
    bob = service.register(w, name="Bob Extra", email="bob@example.com", slot=w.slots[0]).registration
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    presence.connected(ann, connection_id="a")
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM)
    presence.connected(bob, connection_id="b")
    return w


def test_attendance_report_per_run(as_user, staff, make):
    w = _two_runs(make, staff.owner)
    session = as_user(staff.owner)
    url = f"/admin/webinars/{w.webinar_id}/attendance"
    everyone = session.get(url).get_data(as_text=True)
    assert 'data-testid="run-picker"' in everyone
    assert "Ann Main" in everyone and "Bob Extra" in everyone
    first = session.get(f"{url}?run={runs.run_session_id(w.webinar_id, None)}").get_data(as_text=True)
    assert "Ann Main" in first and "Bob Extra" not in first
    assert re.search(r'data-testid="attendees-total">1<', first)
    second = session.get(f"{url}?run={runs.run_session_id(w.webinar_id, w.slots[0].slot_id)}").get_data(as_text=True)
    assert "Bob Extra" in second and "Ann Main" not in second


def test_registrations_and_csv_per_run(as_user, staff, make):
    w = _two_runs(make, staff.owner)
    session = as_user(staff.owner)
    run_two = runs.run_session_id(w.webinar_id, w.slots[0].slot_id)
    page = session.get(f"/admin/webinars/{w.webinar_id}/registrations?run={run_two}").get_data(as_text=True)
    assert "bob@example.com" in page and "ann@example.com" not in page
    assert f"run={run_two}" in page  # the CSV link keeps the run
    csv = session.get(f"/admin/webinars/{w.webinar_id}/registrations.csv?run={run_two}")
    text = csv.get_data(as_text=True)
    assert "bob@example.com" in text and "ann@example.com" not in text
    assert "-run-" in csv.headers["Content-Disposition"]
    # An unknown run is "all runs", never an error or an empty report.
    text = session.get(f"/admin/webinars/{w.webinar_id}/registrations.csv?run=nope").get_data(as_text=True)
    assert "bob@example.com" in text and "ann@example.com" in text
