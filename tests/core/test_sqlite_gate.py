"""Under gevent, a SQLite writer waits for another greenlet's write transaction by yielding to
it (portal.sqlite_gate), not in SQLite's busy handler, which would stop the whole process,
the holder included, until "database is locked"."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A process patched by gevent as a gunicorn worker is: one greenlet holds a write transaction
# and yields for 1 s; another writes meanwhile. SQLite's own wait is cut to 0.3 s, so a writer
# waiting there (the whole process asleep, the holder too) fails.
SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import sys
import gevent
from sqlalchemy import create_engine, event, text
import portal
from portal import sqlite_gate

sqlite_gate.BUSY_TIMEOUT_MS = 300
if sys.argv[2] == "without":
    event.remove(portal.Engine, "before_cursor_execute", sqlite_gate._enter)
engine = create_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE t (n INTEGER)"))
log = []

def holder():
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        gevent.sleep(1.0)  # a yield mid-transaction (a socket write, a contended lock)
    log.append("holder committed")

def writer():
    gevent.sleep(0.1)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        log.append("writer committed")
    except Exception as error:
        log.append(f"writer failed: {error.__class__.__name__}")

gevent.joinall([gevent.spawn(holder), gevent.spawn(writer)])
with engine.connect() as conn:
    log.append(sorted(conn.execute(text("SELECT n FROM t")).scalars()))
print(log)
"""


@pytest.mark.parametrize(("gate", "expected"), [
    ("with", "['holder committed', 'writer committed', [1, 2]]"),
    ("without", "['writer failed: OperationalError', 'holder committed', [1]]"),
])
def test_a_writer_yields_to_a_greenlet_holding_the_write_lock(tmp_path, gate, expected):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "gate.sqlite3"), gate],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == expected
