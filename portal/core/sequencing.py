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

Rows stay NULL only inside their writing transaction (emit() may flush them earlier), and the
in-transaction envelope (`signals.event_emitted`) has `sequence` None; the after-commit
envelope (`signals.event_committed`) carries the number.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from portal.core.models import EventCounter, OutboxEvent

_UNSTAMPED = "portal.core.sequencing.unstamped"
COUNTER_ID = 1


def track(session: Session, row: OutboxEvent, envelope: dict[str, Any]) -> None:
    """Remember an outbox row (and the envelope announced after commit) for the stamp."""
    session.info.setdefault(_UNSTAMPED, []).append((row, envelope))


def _next_block(session: Session, n: int) -> int:
    """Reserve n numbers under the counter's row lock (held until COMMIT); return the last."""
    bump = (update(EventCounter).where(EventCounter.counter_id == COUNTER_ID)
            .values(last_sequence=EventCounter.last_sequence + n)
            .returning(EventCounter.last_sequence))
    last = session.execute(bump).scalar_one_or_none()
    if last is None:
        # The counter row is missing (a schema from create_all, a wiped test database): start
        # after the highest stamped number; a concurrent first writer's row wins the conflict.
        start = select(func.coalesce(func.max(OutboxEvent.sequence), 0)).scalar_subquery()
        dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(dialect_insert(EventCounter).values(counter_id=COUNTER_ID, last_sequence=start)
                        .on_conflict_do_nothing(index_elements=["counter_id"]))
        last = session.execute(bump).scalar_one()
    return int(last)


def _stamp(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT's release: stamp at the real commit
        return
    items = [(row, env) for row, env in session.info.pop(_UNSTAMPED, []) if row in session]
    if not items:
        return
    # Every other write of the transaction first, so that once the counter is locked nothing
    # is left that could wait for another transaction's lock (no deadlock through the counter).
    session.flush()
    last = _next_block(session, len(items))
    first = last - len(items) + 1
    session.execute(update(OutboxEvent), [{"id": row.id, "sequence": first + i} for i, (row, _) in enumerate(items)])
    for i, (row, envelope) in enumerate(items):
        set_committed_value(row, "sequence", first + i)
        envelope["sequence"] = first + i


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the whole transaction ends: a SAVEPOINT rolled back keeps the outer rows (its
    # own rows leave the session, and _stamp skips what is no longer in it).
    if transaction.parent is None:
        session.info.pop(_UNSTAMPED, None)


def install() -> None:
    """The before-commit stamp (SQLAlchemy listeners are per process: set once)."""
    if not sa_event.contains(Session, "before_commit", _stamp):
        sa_event.listen(Session, "before_commit", _stamp)
        sa_event.listen(Session, "after_transaction_end", _forget)
