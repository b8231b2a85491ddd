"""Core: users and roles, permissions, the lifecycle hooks, events."""
from __future__ import annotations

from flask import Flask

from portal.core import guard


def init_app(app: Flask) -> None:
    """The write guard on `status` / `cta_visibility` (SQLAlchemy listeners, once per process)."""
    guard.install()
