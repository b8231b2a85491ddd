"""Issue 12 point 11: an attendee cancels their seat (with a confirm step); the registration is
kept as cancelled, loses access like a revoked one, leaves the room; the same link takes it back."""
from __future__ import annotations

from sqlalchemy import func, select

from portal import realtime
from portal.attendance import presence
from portal.attendance.models import Attendance
from portal.core import lifecycle
from portal.core.permissions import SYSTEM
from portal.extensions import db
from portal.registration.models import Registration
from portal.room.channels import room_channel
from tests.conftest import csrf_token_from
from tests.room.conftest import register
from tests.room.test_presence import events


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Registration))


def _post(client, a, action: str):
    token = csrf_token_from(client.get(f"{a.url}/cancel").get_data(as_text=True)) if action == "cancel" else \
        csrf_token_from(client.get("/").get_data(as_text=True))
    return client.post(f"{a.url}/{action}", data={"csrf_token": token})


def test_cancel_asks_first_then_keeps_the_row_and_closes_the_link(client, make, monkeypatch):
    closed: list[tuple] = []
    monkeypatch.setattr(realtime, "disconnect", lambda channel, **kw: closed.append((channel, kw)))
    w = make.webinar(status="live")
    a = register(w, name="Changed Plans")
    presence.connected(a.reg, connection_id="tab")
    before = _count()

    ask = client.get(f"{a.url}/cancel")
    assert ask.status_code == 200 and 'data-testid="cancel-seat-confirm"' in ask.get_data(as_text=True)
    assert ask.headers["Cache-Control"] == "no-store"
    db.session.expire_all()
    assert a.reg.cancelled_at is None  # asking changes nothing
    assert client.post(f"{a.url}/cancel").status_code == 400  # no CSRF token: refused, nothing written
    db.session.expire_all()
    assert a.reg.cancelled_at is None

    done = _post(client, a, "cancel")
    assert done.status_code == 200 and 'data-testid="seat-cancelled"' in done.get_data(as_text=True)
    db.session.expire_all()
    assert a.reg.cancelled_at is not None and _count() == before  # kept for reports
    assert client.get(a.url).status_code == 404
    assert client.get(f"{a.url}/state").status_code == 404
    assert client.get(f"{a.url}/cancel").status_code == 404
    rows = list(db.session.scalars(select(Attendance).where(Attendance.lead_id == a.reg.lead_id)))
    assert [(r.left_at is not None, r.leave_reason) for r in rows] == [(True, "left")]
    assert len(events(w.webinar_id, "client_webinar_left")) == 1
    assert closed == [(room_channel(w.webinar_id), {"member": a.reg.lead_id, "reason": "cancelled"})]

    # A second POST (back button, double click) shows the same page and changes nothing.
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    again = client.post(f"{a.url}/cancel", data={"csrf_token": token})
    assert again.status_code == 200 and len(closed) == 1
    assert len(events(w.webinar_id, "client_webinar_left")) == 1


def test_the_same_link_takes_the_seat_back_while_registration_is_open(client, make):
    w = make.webinar(status="scheduled")
    a = register(w)
    _post(client, a, "cancel")
    kept = _post(client, a, "keep")
    assert kept.status_code == 303 and kept.headers["Location"].endswith(a.url)
    db.session.expire_all()
    assert a.reg.cancelled_at is None and client.get(a.url).status_code == 200
    # Keeping a seat that is not cancelled is not possible (nothing to take back).
    assert _post(client, a, "keep").status_code == 404


def test_no_seat_back_once_registration_closed_or_the_link_was_revoked(client, make):
    w = make.webinar(status="live")
    a, b = register(w), register(w)
    _post(client, a, "cancel")
    _post(client, b, "cancel")
    db.session.expire_all()
    b.reg.revoked_at = b.reg.cancelled_at
    db.session.commit()
    assert _post(client, b, "keep").status_code == 404
    lifecycle.core_webinar_set_status(w, "stop", actor=SYSTEM)
    refused = _post(client, a, "keep")
    assert refused.status_code == 409 and "cannot be taken back" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert a.reg.cancelled_at is not None
    assert client.post("/room/not-a-token/keep", data={"csrf_token": csrf_token_from(
        client.get("/").get_data(as_text=True))}).status_code == 404


def test_a_cancelled_seat_gets_no_more_reminders(client, make):
    from portal.mail import reminders
    from portal.mail.models import MailMessage

    w = make.webinar(status="scheduled")
    a = register(w)
    reminder = MailMessage(kind="remind_1h", registration_id=a.reg.registration_id, webinar_id=w.webinar_id)
    _post(client, a, "cancel")
    db.session.expire_all()
    assert reminders.still_wanted(reminder, a.reg) == "no access"  # the sender skips it


def test_no_seat_back_once_the_time_is_full(client, make):
    """Issue 12 (capacity): a cancelled seat given to someone else cannot be taken back."""
    w = make.webinar(status="scheduled", capacity=1)
    a = register(w)
    _post(client, a, "cancel")
    register(w)  # the freed seat is taken
    refused = _post(client, a, "keep")
    assert refused.status_code == 409 and "fully booked" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert a.reg.cancelled_at is not None
