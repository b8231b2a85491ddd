"""The outbox `sequence` follows COMMIT order (SPEC §6), on SQLite and on PostgreSQL where two
transactions commit in the opposite order of their inserts."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from portal import signals
from portal.core import events, sequencing
from portal.core.models import OutboxEvent
from portal.extensions import db
from tests import factories
from tests.conftest import scratch_postgres_database
from tests.realtime.conftest import app_on


def _sequences() -> list[tuple[int, int]]:
    """(sequence, id) of every committed outbox row, in sequence order."""
    db.session.rollback()
    return [tuple(r) for r in db.session.execute(
        select(OutboxEvent.sequence, OutboxEvent.id).order_by(OutboxEvent.sequence))]


def test_numbers_follow_commits_without_gaps_and_reach_the_committed_envelope(app, make):
    webinar = make.webinar()
    got: list[dict] = []
    signals.event_committed.connect(receiver := lambda envelope, **kw: got.append(envelope))
    try:
        first = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
        second = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
        assert first["sequence"] is None, "no number before the commit"
        db.session.commit()
        events.emit("webinar_completed", webinar_id=webinar.webinar_id)
        db.session.rollback()  # gives its number back
        third = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
        db.session.commit()
    finally:
        signals.event_committed.disconnect(receiver)
    assert [first["sequence"], second["sequence"], third["sequence"]] == [1, 2, 3]
    assert [e["sequence"] for e in got] == [1, 2, 3]
    assert [s for s, _ in _sequences()] == [1, 2, 3]
    row = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == third["event_id"]))
    assert row.envelope() == third


def test_an_event_rolled_back_with_its_savepoint_takes_no_number(app, make):
    webinar = make.webinar()
    kept = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            events.emit("webinar_completed", webinar_id=webinar.webinar_id)
            db.session.flush()
            raise RuntimeError("one bad item of a batch")
    with db.session.begin_nested():
        after = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
    db.session.commit()
    assert (kept["sequence"], after["sequence"]) == (1, 2)
    assert [s for s, _ in _sequences()] == [1, 2]


def test_a_transaction_writes_all_its_events_in_one_statement_at_commit(app, make):
    """A go-live's thousands of events: one round of the outbox INSERT, not one per event."""
    webinar = make.webinar()
    db.session.commit()
    inserts: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENT_OUTBOX"):
            inserts.append(len(parameters) if executemany else 1)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        emitted = [events.emit("client_webinar_entered", webinar_id=webinar.webinar_id, lead_id=i)
                   for i in range(1, 201)]
        with db.engine.connect() as other:  # nothing is written before the commit
            assert other.scalar(text("SELECT count(*) FROM event_outbox")) == 0
        assert inserts == []
        db.session.commit()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert inserts == [200]
    rows = db.session.execute(select(OutboxEvent.lead_id, OutboxEvent.sequence, OutboxEvent.event_id)
                              .order_by(OutboxEvent.sequence)).all()
    assert [tuple(r) for r in rows] == [(i + 1, e["sequence"], e["event_id"]) for i, e in enumerate(emitted)]
    assert [e["sequence"] for e in emitted] == list(range(1, 201))


def test_a_missing_counter_row_starts_after_the_highest_number(app, make):
    webinar = make.webinar()
    events.emit("webinar_completed", webinar_id=webinar.webinar_id)
    db.session.commit()
    db.session.execute(text("DELETE FROM event_counter"))
    db.session.commit()
    envelope = events.emit("webinar_completed", webinar_id=webinar.webinar_id)
    db.session.commit()
    assert envelope["sequence"] == 2


@pytest.fixture
def pg_app(postgres_url: str) -> Iterator[Flask]:
    with scratch_postgres_database(postgres_url, "portal_sequence") as url, app_on(url) as app:
        yield app


def _in_thread(app: Flask, work) -> tuple[threading.Thread, dict]:
    """Run work() in its own app context (its own session and connection)."""
    out: dict = {}

    def run() -> None:
        with app.app_context():
            try:
                out["value"] = work()
            except BaseException as exc:  # reported by the test
                out["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.postgres
def test_on_postgresql_the_later_event_that_commits_first_gets_the_lower_number(pg_app):
    webinar = factories.webinar()
    wid = webinar.webinar_id
    slow = events.emit("webinar_completed", webinar_id=wid)  # emitted first, its transaction open
    db.session.flush()

    def fast_transaction() -> dict:
        envelope = events.emit("webinar_completed", webinar_id=wid)
        db.session.commit()
        return envelope

    thread, out = _in_thread(pg_app, fast_transaction)
    thread.join(30)
    assert "error" not in out and not thread.is_alive()
    fast = out["value"]
    db.session.commit()
    assert fast["sequence"] < slow["sequence"], "committed last, so it is numbered last"
    rows = db.session.execute(select(OutboxEvent.sequence, OutboxEvent.event_id).order_by(OutboxEvent.sequence))
    assert [tuple(r) for r in rows] == [(fast["sequence"], fast["event_id"]), (slow["sequence"], slow["event_id"])]


def _wait_for_lock_waiter(deadline_s: float = 30.0) -> None:
    """Until some other backend waits on a lock (the second committer blocked on the counter)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with db.engine.connect() as conn:
            waiting = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'"))
        if waiting:
            return
        time.sleep(0.05)
    pytest.fail("the second transaction never waited for the counter")


@pytest.mark.postgres
def test_on_postgresql_a_reader_never_sees_a_number_before_a_lower_one_commits(pg_app):
    webinar = factories.webinar()
    wid = webinar.webinar_id
    first = events.emit("webinar_completed", webinar_id=wid)
    sequencing._stamp(db.session())  # what commit does first: numbered, counter row locked

    def second_transaction() -> dict:
        envelope = events.emit("webinar_completed", webinar_id=wid)
        db.session.commit()
        return envelope

    thread, out = _in_thread(pg_app, second_transaction)
    _wait_for_lock_waiter()
    with db.engine.connect() as reader:  # meanwhile a feed reader sees nothing numbered
        assert reader.scalar(text("SELECT count(*) FROM event_outbox WHERE sequence IS NOT NULL")) == 0
    assert thread.is_alive(), "the second commit waits for the first"
    db.session.commit()
    thread.join(30)
    assert "error" not in out and not thread.is_alive()
    assert (first["sequence"], out["value"]["sequence"]) == (1, 2)
    assert [s for s, _ in _sequences()] == [1, 2]


def test_an_event_emitted_first_in_its_transaction_is_dropped_by_a_rollback(app, make):
    """emit writes nothing until the commit: it must still open the transaction it belongs to,
    or a rollback right after it would leave it for the next commit."""
    webinar_id = make.webinar().webinar_id
    db.session.commit()
    db.session.remove()  # a fresh session: no transaction yet
    events.emit("client_webinar_left", webinar_id=webinar_id, lead_id=5)
    db.session.rollback()
    kept = events.emit("client_webinar_left", webinar_id=webinar_id, lead_id=6)
    db.session.commit()
    assert db.session.execute(select(OutboxEvent.lead_id, OutboxEvent.sequence)).all() == [(6, kept["sequence"])]
