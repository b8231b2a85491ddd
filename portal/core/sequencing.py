"""The outbox `sequence`: every event's position in COMMIT order (SPEC §6, the event feed).

Why not the row id or a database SEQUENCE: on PostgreSQL both are taken at INSERT, and a
transaction that inserted first may commit last, so a reader paging `after=<last id>` would
skip a row that commits later below its cursor.

The design: one counter row (`event_counter`). Just before a transaction that wrote events
commits (SQLAlchemy `before_commit`, after every other write of the transaction), it does
`UPDATE event_counter SET last_sequence = last_sequence + n RETURNING last_sequence` and
stamps its n rows. The UPDATE locks the row until COMMIT, so a second event-writing
transaction waits at that point until the first has committed: numbers are handed out in
commit order, without gaps (a rollback gives its numbers back), and a reader that sees
number k has already been able to see every number below k.

The cost: event-writing transactions commit one after another from the stamp to the end of
their COMMIT (the counter UPDATE, one executemany UPDATE of the stamped rows by primary key,
and on PostgreSQL the WAL flush of the commit: no group commit among them). Everything else
of the transaction is flushed before the counter is locked, so no other lock is taken after
it and it cannot join a deadlock. (A `before_commit` listener installed after this one — the
audit's — writes after the stamp; its rows reference the webinar the transaction already
changed, so they wait for no one either.) On SQLite writers are serialised anyway: the cost
is the two UPDATEs. Transactions without events never touch the counter.

Measured (bench/event_sequence.py, docs/PERFORMANCE.md "Issue 11"): with 8 concurrent writers
about 0.4x the event commits per second of an unnumbered outbox on PostgreSQL here, 0.7x on
SQLite. A sequencer numbering committed rows after the commit (the other design the issue
names) measured worse on this machine and was not kept.

Rows stay NULL only inside their writing transaction (emit() inserts them at once), and the
in-transaction envelope (`signals.event_emitted`) has `sequence` None; the after-commit
envelope (`signals.event_committed`) carries the number.
"""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from portal import signals
from portal.core.models import EventCounter, OutboxEvent

_UNSTAMPED = "portal.core.sequencing.unstamped"
COUNTER_ID = 1


def track(session: Session, row_id: int, envelope: dict[str, Any]) -> None:
    """Remember an outbox row's id by its event for the stamp (the envelope, announced after
    commit, is queued with `portal.signals.after_commit`)."""
    session.info.setdefault(_UNSTAMPED, {})[envelope["event_id"]] = row_id


_counters, _outbox = cast(Table, EventCounter.__table__), cast(Table, OutboxEvent.__table__)
# Core statements on the session's connection, built once: through the ORM (an ORM-enabled
# UPDATE ... RETURNING, a bulk UPDATE by primary key) and rebuilt per call they were about a
# fifth of a registration POST's profile (docs/PERFORMANCE.md, issue 14, fifth session).
_BUMP = (update(_counters).where(_counters.c.counter_id == COUNTER_ID)
         .values(last_sequence=_counters.c.last_sequence + bindparam("n"))
         .returning(_counters.c.last_sequence))
_SET_SEQUENCE = update(_outbox).where(_outbox.c.id == bindparam("row_id")).values(sequence=bindparam("number"))
_START = select(func.coalesce(func.max(_outbox.c.sequence), 0)).scalar_subquery()


def _next_block(session: Session, n: int) -> int:
    """Reserve n numbers under the counter's row lock (held until COMMIT); return the last."""
    connection = session.connection()
    last = connection.execute(_BUMP, {"n": n}).scalar_one_or_none()
    if last is None:
        # The counter row is missing (a schema from create_all, a wiped test database): start
        # after the highest stamped number; a concurrent first writer's row wins the conflict.
        dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(dialect_insert(_counters).values(counter_id=COUNTER_ID, last_sequence=_START)
                           .on_conflict_do_nothing(index_elements=["counter_id"]))
        last = connection.execute(_BUMP, {"n": n}).scalar_one()
    return int(last)


def _stamp(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT's release: stamp at the real commit
        return
    ids = session.info.pop(_UNSTAMPED, None)
    if not ids:
        return
    # The envelopes still queued for after the commit, in emit order: a SAVEPOINT rolled back
    # has dropped its own from that queue (portal.signals), and its rows with it.
    items = [(ids[envelope["event_id"]], envelope) for signal, envelope, _ in signals.pending(session)
             if signal is signals.event_committed and envelope.get("event_id") in ids]
    if not items:
        return
    # Every other write of the transaction first, so that once the counter is locked nothing
    # is left that could wait for another transaction's lock (no deadlock through the counter).
    session.flush()
    last = _next_block(session, len(items))
    first = last - len(items) + 1
    session.connection().execute(
        _SET_SEQUENCE, [{"row_id": row_id, "number": first + i} for i, (row_id, _) in enumerate(items)])
    for i, (_, envelope) in enumerate(items):
        envelope["sequence"] = first + i


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the whole transaction ends: a SAVEPOINT rolled back keeps the outer rows (its
    # own envelopes leave the after-commit queue, and _stamp numbers only what is queued).
    if transaction.parent is None:
        session.info.pop(_UNSTAMPED, None)


def install() -> None:
    """The before-commit stamp (SQLAlchemy listeners are per process: set once)."""
    if not sa_event.contains(Session, "before_commit", _stamp):
        sa_event.listen(Session, "before_commit", _stamp)
        sa_event.listen(Session, "after_transaction_end", _forget)
