"""portal.registration.service.register: new, duplicate, concurrent, closed, invalid."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask

from portal.core.models import User
from portal.db_types import utcnow
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.registration import service, tokens
from portal.registration.models import Registration
from tests.registration.conftest import grew, registered_events, row_counts


@pytest.fixture
def live(make):
    return make.webinar(status="scheduled")


def test_new_registration_creates_lead_token_and_one_event(app, live):
    reg, token, created = service.register(live, name="  Ann   Lee ", email=" Ann@Example.COM ", source="news")
    assert created and token
    lead = db.session.get(User, reg.lead_id)
    assert (lead.email, lead.role, lead.display_name) == ("ann@example.com", "lead", "Ann Lee")
    assert lead.password_hash is None
    assert reg.join_token_hash == tokens.hash_token(token) and token not in reg.join_token_hash
    assert tokens.find_registration(token).registration_id == reg.registration_id
    assert (reg.webinar_type, reg.source, reg.slot_id) == ("live", "news", None)
    [event] = registered_events()
    assert (event.webinar_id, event.lead_id) == (live.webinar_id, reg.lead_id)
    assert event.data["registration_id"] == reg.registration_id
    assert event.data["email"] == "ann@example.com" and event.data["source"] == "news"
    assert event.envelope()["event"] == "client_webinar_registered"


def test_duplicate_keeps_one_registration_and_emits_once(app, live):
    before = row_counts()
    first = service.register(live, name="Ann", email="ann@example.com")
    second = service.register(live, name="Someone Else", email="ANN@example.com")
    assert second.created is False and second.token is None
    assert second.registration.registration_id == first.registration.registration_id
    assert grew(before) == {"registrations": 1, "users": 1, "events": 1}
    assert db.session.get(User, first.registration.lead_id).display_name == "Ann"  # not overwritten


def test_existing_user_is_reused_as_lead(app, make, live):
    lead = make.lead(email="sam@example.com")
    reg, _, created = service.register(live, name="Sam", email="Sam@example.com")
    assert created and reg.lead_id == lead.user_id


def test_a_staff_account_is_never_reused_as_lead(app, make, live):
    """Issue 9: it would post in the host's name (tests/room/test_host_flag.py)."""
    make.user(role="speaker", email="sam@example.com")
    with pytest.raises(Invalid) as refused:
        service.register(live, name="Sam", email="Sam@example.com")
    assert refused.value.details == {"field": "email"}


def test_same_lead_in_two_webinars_is_two_registrations(app, make, live):
    other = make.webinar(status="scheduled")
    a = service.register(live, name="Ann", email="ann@example.com")
    b = service.register(other, name="Ann", email="ann@example.com")
    assert a.created and b.created and a.registration.lead_id == b.registration.lead_id


def test_slots_are_part_of_the_key(app, make):
    start = utcnow() + timedelta(days=1)
    w = make.webinar(status="scheduled", slots=(start, start + timedelta(days=1)))
    s1, s2 = w.slots
    a = service.register(w, name="Ann", email="ann@example.com", slot=s1)
    again = service.register(w, name="Ann", email="ann@example.com", slot=s1)
    b = service.register(w, name="Ann", email="ann@example.com", slot=s2)
    assert a.created and not again.created and b.created
    assert row_counts()["registrations"] == 2


def test_slot_of_another_webinar_is_refused(app, make, live):
    other = make.webinar(status="scheduled", slots=(utcnow() + timedelta(days=1),))
    before = row_counts()
    with pytest.raises(Invalid):
        service.register(live, name="Ann", email="ann@example.com", slot=other.slots[0])
    assert row_counts() == before


@pytest.mark.parametrize("status", ["draft", "finished", "archived"])
def test_closed_registration_stores_nothing(app, make, status):
    w = make.webinar(status=status)
    before = row_counts()
    with pytest.raises(Conflict):
        service.register(w, name="Ann", email="ann@example.com")
    assert row_counts() == before


@pytest.mark.parametrize("status", ["scheduled", "live", "paused"])
def test_open_statuses_accept(app, make, status):
    assert service.register(make.webinar(status=status), name="Ann", email="a@example.com").created


@pytest.mark.parametrize("name,email", [
    ("", "ann@example.com"),
    ("\u200b\u200b", "ann@example.com"),
    ("x" * 121, "ann@example.com"),
    ("<script>alert(1)</script>", "ann@example.com"),
    ("Ann\x00", "ann@example.com"),
    ("Ann", ""),
    ("Ann", "no-at-sign"),
    ("Ann", "a" * 250 + "@example.com"),
])
def test_invalid_input_stores_nothing(app, live, name, email):
    before = row_counts()
    with pytest.raises(Invalid):
        service.register(live, name=name, email=email)
    assert row_counts() == before


def test_zero_width_characters_are_stripped(app, live):
    reg, _, _ = service.register(live, name="A\u200bn\u200dn\ufeff \u202eLee", email="ann@example.com")
    assert db.session.get(User, reg.lead_id).display_name == "Ann Lee"


def _race(app: Flask, webinar_id: int, *, parties: int = 2) -> list[tuple[bool, int]]:
    """`parties` threads register the same new email at the same moment, each in its own
    app context (so its own database session and connection)."""
    barrier = threading.Barrier(parties, timeout=10)
    results: list[tuple[bool, int]] = []
    errors: list[BaseException] = []
    real_lookup = service._lead_and_registration
    local = threading.local()

    def lookup_in_step(*args, **kwargs):
        # Everyone has looked the lead and registration up (and found none) before anyone writes.
        found = real_lookup(*args, **kwargs)
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()
        return found

    def worker() -> None:
        try:
            with app.app_context():
                from portal.core.models import Webinar

                webinar = db.session.get(Webinar, webinar_id)
                outcome = service.register(webinar, name="Racer", email="race@example.com")
                results.append((outcome.created, outcome.registration.registration_id))
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    service._lead_and_registration = lookup_in_step
    try:
        threads = [threading.Thread(target=worker) for _ in range(parties)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        service._lead_and_registration = real_lookup
    assert not errors, errors
    return results


def test_concurrent_double_submit_ends_in_one_registration(app, live, caplog):
    caplog.set_level("INFO", logger="portal.registration.service")
    webinar_id = live.webinar_id
    before = row_counts()
    results = _race(app, webinar_id)
    assert sorted(created for created, _ in results) == [False, True]
    assert len({reg_id for _, reg_id in results}) == 1
    assert grew(before) == {"registrations": 1, "users": 1, "events": 1}
    assert len(registered_events()) == 1
    assert "concurrent submit" in caplog.text  # the race really happened and was absorbed


def test_concurrent_submit_for_an_existing_lead(app, make, live):
    make.lead(email="race@example.com")
    results = _race(app, live.webinar_id, parties=3)
    assert sorted(created for created, _ in results) == [False, False, True]
    assert db.session.query(Registration).count() == 1 and len(registered_events()) == 1
