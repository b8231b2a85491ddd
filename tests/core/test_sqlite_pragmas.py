"""The embedded SQLite database commits durably (synchronous=FULL) in WAL mode.

It builds an app on a SQLite file of its own, so it runs whatever database the suite uses."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from portal import create_app, shutdown
from portal.extensions import db


def test_sqlite_connections_are_wal_and_synchronous_full(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"})
    try:
        with app.app_context(), db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # 2 = FULL (1 = NORMAL)
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        with app.app_context():
            db.engine.dispose()
        shutdown(app)
