"""Core: users and roles, permissions, the lifecycle hooks, events."""
from __future__ import annotations

from flask import Flask

from portal.core import guard, sequencing


def init_app(app: Flask) -> None:
    """The write guard on `status` / `cta_visibility` and the outbox's commit-order `sequence`
    stamp (SQLAlchemy listeners, once per process)."""
    guard.install()
    sequencing.install()
