"""The one way to work outside the caller's transaction: a database session of its own.

After-commit receivers (the committing session may not run SQL), timers, background threads
and caches that must not keep a read transaction open all use `fresh_session()`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy.orm import scoped_session

from portal.extensions import db


@contextmanager
def fresh_session(app: Flask | None = None) -> Iterator[scoped_session]:
    """`db.session` inside the block is a new session (a new app context scopes it); it is
    removed at the end, so nothing stays open. Commit inside the block to write."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
