"""The outbox is written with the change; signals fire only after commit."""
from __future__ import annotations

import re
import uuid

import pytest
from blinker import Namespace
from sqlalchemy import select

from portal import signals
from portal.core import events, lifecycle
from portal.core.models import OutboxEvent
from portal.core.permissions import SYSTEM
from portal.extensions import db


@pytest.fixture
def received():
    got: list[dict] = []

    def listener(envelope, **kwargs):
        got.append(envelope)

    signals.event_committed.connect(listener)
    yield got
    signals.event_committed.disconnect(listener)


def test_envelope_shape(make, received):
    webinar = make.webinar(status="scheduled")
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    envelope = received[-1]
    assert set(envelope) == {"event", "event_id", "sequence", "occurred_at", "webinar_id", "data"}
    assert isinstance(envelope["sequence"], int)
    assert envelope["event"] == "webinar_status_changed"
    uuid.UUID(envelope["event_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", envelope["occurred_at"])
    row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == envelope["event_id"]))
    assert row.envelope() == envelope


def test_optional_fields_appear_when_set(make, received):
    webinar = make.webinar()
    lead = make.lead()
    events.emit("client_webinar_entered", webinar_id=webinar.webinar_id, lead_id=lead.user_id,
                session_id="s-1", data={"x": 1})
    db.session.commit()
    assert received[-1]["lead_id"] == lead.user_id and received[-1]["session_id"] == "s-1"


def test_rollback_discards_event_and_signal(make, received):
    webinar = make.webinar()
    events.emit("webinar_completed", webinar_id=webinar.webinar_id)
    assert received == [], "nothing is announced before commit"
    db.session.rollback()
    db.session.commit()
    assert received == []
    assert db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "webinar_completed")).all() == []


def test_a_signal_queued_first_in_its_transaction_is_dropped_by_a_rollback(app):
    """A signal queued before anything touched the database belongs to the transaction that
    follows: a rollback right after it drops it, the next commit does not announce it."""
    heard: list[object] = []
    probe = Namespace().signal("test.probe")
    probe.connect(lambda sender, **kwargs: heard.append(sender), weak=False)
    db.session.remove()  # a fresh session: no transaction yet
    signals.after_commit(probe, 1)
    db.session.rollback()
    signals.after_commit(probe, 2)
    db.session.commit()
    assert heard == [2]


def test_a_released_savepoint_announces_nothing_until_the_outer_commit(make, received):
    """SQLAlchemy sends after_commit when a SAVEPOINT is released: its events must wait for
    the real commit (the outer transaction may still roll back) and carry their number."""
    webinar = make.webinar()
    received.clear()
    with db.session.begin_nested():
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"n": 1})
    assert received == [], "announced at the savepoint's release, before the commit"
    db.session.rollback()
    with db.session.begin_nested():
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"n": 2})
    db.session.commit()
    assert [(e["data"]["n"], isinstance(e["sequence"], int)) for e in received] == [(2, True)]
    stored = db.session.scalars(select(OutboxEvent.data).where(OutboxEvent.event == "webinar_completed")).all()
    assert [d["n"] for d in stored] == [2]


def test_receivers_get_the_app_that_committed(app, make):
    got = []

    def listener(envelope, **kwargs):
        got.append(kwargs["app"])

    signals.event_committed.connect(listener)
    try:
        webinar = make.webinar(status="live")
        lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    finally:
        signals.event_committed.disconnect(listener)
    assert got and all(a is app for a in got)


def test_receivers_connected_for_one_app_ignore_another(app, make):
    from portal import create_app

    got = []
    other = create_app(dict(app.config))
    signals.connect(other, signals.event_committed, lambda envelope, **kwargs: got.append("other"))
    signals.connect(app, signals.event_committed, lambda envelope, **kwargs: got.append("this"))
    webinar = make.webinar(status="live")
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM)
    assert got and set(got) == {"this"}


def test_failing_subscriber_does_not_undo_the_change(make):
    def broken(envelope, **kwargs):
        raise RuntimeError("subscriber bug")

    signals.event_committed.connect(broken)
    try:
        webinar = make.webinar(status="scheduled")
        lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    finally:
        signals.event_committed.disconnect(broken)
    db.session.expire_all()
    assert webinar.status == "live"


def test_unknown_event_name_is_refused(make):
    webinar = make.webinar()
    with pytest.raises(ValueError):
        events.emit("webinar_exploded", webinar_id=webinar.webinar_id)


def test_a_rolled_back_savepoint_drops_only_its_own_signals(make, received):
    """A savepoint that rolls back (one bad item of a batch) must not silence the events the
    outer transaction goes on to commit."""
    webinar = make.webinar()
    received.clear()
    events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"n": 1})
    with pytest.raises(RuntimeError), db.session.begin_nested():
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"n": 2})
        raise RuntimeError("this item fails")
    with db.session.begin_nested():
        events.emit("webinar_completed", webinar_id=webinar.webinar_id, data={"n": 3})
    db.session.commit()
    assert [e["data"]["n"] for e in received] == [1, 3]
    stored = db.session.scalars(select(OutboxEvent.data).where(OutboxEvent.event == "webinar_completed")).all()
    assert sorted(d["n"] for d in stored) == [1, 3]
