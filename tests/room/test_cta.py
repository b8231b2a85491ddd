"""POST /room/<token>/cta: recorded once per lead, redirects only while the CTA is visible."""
from __future__ import annotations

from sqlalchemy import select

from portal.core import lifecycle
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from tests.conftest import csrf_token_from
from tests.room.conftest import register


def clicks(webinar_id: int) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar_id, OutboxEvent.event == "client_webinar_cta_clicked")))


def click(client, attendee):
    token = csrf_token_from(client.get(attendee.url).get_data(as_text=True))
    return client.post(f"{attendee.url}/cta", data={"csrf_token": token})


def test_first_click_is_recorded_then_every_click_redirects(client, make):
    w = make.webinar(status="live", cta_url="https://shop.example.com/offer?x=1")
    a, b = register(w), register(w)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    first = click(client, a)
    assert first.status_code == 303 and first.headers["Location"] == "https://shop.example.com/offer?x=1"
    again = click(client, a)
    assert again.status_code == 303
    assert click(client, b).status_code == 303
    events = clicks(w.webinar_id)
    assert sorted(e.lead_id for e in events) == sorted([a.reg.lead_id, b.reg.lead_id])
    assert events[0].data["cta_url"] == "https://shop.example.com/offer?x=1"


def test_hidden_cta_is_refused_and_not_recorded(client, make):
    w = make.webinar(status="live")
    a = register(w)
    response = click(client, a)
    assert response.status_code == 409
    assert "not available" in response.get_data(as_text=True)
    assert clicks(w.webinar_id) == []


def test_cta_click_needs_csrf_and_a_valid_link(client, make):
    w = make.webinar(status="live")
    a = register(w)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    assert client.post(f"{a.url}/cta").status_code == 400
    banned = register(w)
    page = client.get(banned.url).get_data(as_text=True)
    banned.reg.banned_at = utcnow()
    db.session.commit()
    assert client.post(f"{banned.url}/cta", data={"csrf_token": csrf_token_from(page)}).status_code == 404
    assert clicks(w.webinar_id) == []


def test_a_script_link_is_never_followed(client, make):
    w = make.webinar(status="live", cta_url="javascript:alert(1)")
    a = register(w)
    lifecycle.core_webinar_set_cta_visibility(w, "visible", actor=SYSTEM)
    assert click(client, a).status_code == 409
    assert clicks(w.webinar_id) == []
