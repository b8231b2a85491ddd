"""One SQLite writer at a time per process, waited for in Python rather than in SQLite.

SQLite lets one transaction write at a time; a second writer waits in SQLite's busy handler,
a sleep in C. Under gevent that sleep stops the whole process, the greenlet holding the write
lock included: if that greenlet yielded mid-transaction (a contended lock, a socket write, a
log handler), neither can move until the busy timeout ends (15 s of a frozen worker, then
"database is locked": seen at 10,000 sockets going live). So a connection takes this gate
before its first write statement (SQLite begins the write transaction there) and gives it
back at commit or rollback, or when the pool takes the connection back. The gate is created
after gevent's monkey-patching in each process, so waiting for it yields to the holder.

PostgreSQL is untouched; within one process SQLite's own lock order stays the same (one
writer), so this changes who waits where, not what may run together.
"""
from __future__ import annotations

import os
import threading
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

#: How long SQLite (PRAGMA busy_timeout) and the gate wait for the write lock.
BUSY_TIMEOUT_MS = 15_000
GATE_TIMEOUT_S = BUSY_TIMEOUT_MS / 1000
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_HELD = "portal.sqlite_gate.held"

_gate: threading.Lock | None = None
_gate_pid = 0
_guard = threading.Lock()


def _lock() -> threading.Lock:
    """This process's gate (made on first use: after a fork, after gevent's patching)."""
    global _gate, _gate_pid
    if _gate is None or _gate_pid != os.getpid():
        with _guard:
            if _gate is None or _gate_pid != os.getpid():
                _gate, _gate_pid = threading.Lock(), os.getpid()
    return _gate


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


def _release(info: dict[str, Any]) -> None:
    if info.pop(_HELD, False):
        _lock().release()


@event.listens_for(Engine, "before_cursor_execute")
def _enter(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
    if conn.dialect.name != "sqlite" or not _is_write(statement):
        return
    info = conn.connection.info  # the pooled DBAPI connection's: it outlives this Connection
    if info.get(_HELD):
        return
    if not _lock().acquire(timeout=GATE_TIMEOUT_S):
        raise sqlalchemy.exc.OperationalError(statement, parameters, Exception("database is locked"))
    info[_HELD] = True


@event.listens_for(Engine, "commit")
def _committed(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _release(conn.connection.info)


@event.listens_for(Engine, "rollback")
def _rolled_back(conn: Connection) -> None:
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        _release(conn.connection.info)


@event.listens_for(Pool, "reset")
def _reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
    _release(connection_record.info)


@event.listens_for(Pool, "invalidate")
def _invalidated(dbapi_connection: Any, connection_record: Any, exception: Any) -> None:
    _release(connection_record.info)
