"""The outbox `sequence`: every event's position in COMMIT order (SPEC §6, the event feed).

Why not the row id or a database SEQUENCE: on PostgreSQL both are taken when the row is
inserted, outside any lock of their own; a transaction that inserted first may commit last, so
a reader paging `after=<last id>` would skip a row that commits later below its cursor (and a
rollback leaves a hole). Rows are inserted under the counter's lock below, so their ids happen
to follow commit order as well, but only `sequence` is the contract.

The design: one counter row (`event_counter`). Just before a transaction that emitted events
commits (SQLAlchemy `before_commit`, after every other write of the transaction is flushed), it
does `UPDATE event_counter SET last_sequence = last_sequence + n RETURNING last_sequence` and
inserts its n outbox rows already numbered, in one executemany. The UPDATE locks the row until
COMMIT, so a second event-writing transaction waits at that point until the first has
committed: numbers are handed out in commit order, without gaps (a rollback gives its numbers
back), and a reader that sees number k has already been able to see every number below k.
`emit()` itself writes nothing: its row's values wait in the session for this stamp.

The cost: event-writing transactions commit one after another from the stamp to the end of
their COMMIT (the counter UPDATE, the outbox INSERT, and on PostgreSQL the WAL flush of the
commit: no group commit among them). Everything else of the transaction is flushed before the
counter is locked. After it, the only locks taken are the outbox rows' own and, on PostgreSQL,
the KEY SHARE lock of the foreign key on their webinar row (and the audit's rows, written by a
`before_commit` listener installed after this one, likewise reference the webinar). KEY SHARE
conflicts only with FOR UPDATE and DELETE; no transaction takes either on a webinar row and then
emits events (deleting a draft emits none), so nothing that holds such a lock waits for the
counter, and the counter cannot join a deadlock. Keep it so. On SQLite writers are serialised
anyway: the cost is the UPDATE and the INSERT. Transactions without events never touch the
counter.

Measured (bench/event_sequence.py, docs/PERFORMANCE.md "Issue 11" and issue 14's sixth
session): with 8 concurrent writers about 0.4x the event commits per second of an unnumbered
outbox on PostgreSQL under a load of 8, 0.7x on SQLite; about 1.1x (no measurable cost) on a
quieter machine, where Python's CPU, not the serialised WAL flush, bounds the writers. A
sequencer numbering committed rows after the commit (the other design the issue names)
measured worse on this machine and was not kept.

No row of the outbox is ever without its number once committed. The in-transaction envelope
(`signals.event_emitted`) has `sequence` None; the after-commit envelope
(`signals.event_committed`) carries the number.
"""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from portal import signals
from portal.core.models import EventCounter, OutboxEvent

_UNWRITTEN = "portal.core.sequencing.unwritten"
COUNTER_ID = 1


def write_at_commit(session: Session, values: dict[str, Any]) -> None:
    """Keep an outbox row's values (by its event_id) until the stamp writes the row at commit
    (its envelope, announced after the commit, is queued with `portal.signals.after_commit`)."""
    session.info.setdefault(_UNWRITTEN, {})[values["event_id"]] = values


_counters, _outbox = cast(Table, EventCounter.__table__), cast(Table, OutboxEvent.__table__)
# Core statements on the session's connection, built once: through the ORM (an ORM-enabled
# UPDATE ... RETURNING, a bulk UPDATE by primary key) and rebuilt per call they were about a
# fifth of a registration POST's profile (docs/PERFORMANCE.md, issue 14, fifth session).
_BUMP = (update(_counters).where(_counters.c.counter_id == COUNTER_ID)
         .values(last_sequence=_counters.c.last_sequence + bindparam("n"))
         .returning(_counters.c.last_sequence))
_WRITE = insert(_outbox)
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
    unwritten = session.info.pop(_UNWRITTEN, None)
    if not unwritten:
        return
    # The envelopes still queued for after the commit, in emit order: a SAVEPOINT rolled back
    # has dropped its own from that queue (portal.signals), and so its rows are never written.
    items = [(unwritten[envelope["event_id"]], envelope) for signal, envelope, _ in signals.pending(session)
             if signal is signals.event_committed and envelope.get("event_id") in unwritten]
    if not items:
        return
    # Every other write of the transaction first (the webinars and leads the rows refer to
    # exist), so that once the counter is locked nothing is left that could wait for another
    # transaction's lock (see the module's note on deadlocks).
    session.flush()
    last = _next_block(session, len(items))
    first = last - len(items) + 1
    rows = []
    for i, (values, envelope) in enumerate(items):
        envelope["sequence"] = first + i
        rows.append({**values, "sequence": first + i})
    session.connection().execute(_WRITE, rows)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Only when the whole transaction ends: a SAVEPOINT rolled back keeps the outer rows (its
    # own envelopes leave the after-commit queue, and _stamp writes only what is queued).
    if transaction.parent is None:
        session.info.pop(_UNWRITTEN, None)


def install() -> None:
    """The before-commit stamp (SQLAlchemy listeners are per process: set once)."""
    if not sa_event.contains(Session, "before_commit", _stamp):
        sa_event.listen(Session, "before_commit", _stamp)
        sa_event.listen(Session, "after_transaction_end", _forget)
