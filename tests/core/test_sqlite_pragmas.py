"""The embedded SQLite database commits durably (synchronous=FULL) in WAL mode."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from portal.extensions import db


def test_sqlite_connections_are_wal_and_synchronous_full(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # 2 = FULL (1 = NORMAL)
