"""Interaction panels of the room page (polls, ...): a per-app registry filled by the packages
above the room, so the room shows them without importing them.

A panel is a region of the page: its template (included in the side column), its page
context for one viewer, and its per-viewer catch-up (oob HTML), which the socket's "hello"
and the polling state append to the room's snapshot. Pushes are the panel's own.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from portal.core.models import Webinar
from portal.registration.models import Registration

EXTENSION = "portal.room.panels"


@dataclass(frozen=True)
class Panel:
    template: str
    page_context: Callable[[Registration, Webinar], Mapping[str, Any]]
    snapshot: Callable[[Registration, Webinar], str]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}


def register(app: Flask, name: str, panel: Panel) -> None:
    """Add a panel to every room page (called by its package's init_app)."""
    panels = app.extensions[EXTENSION]
    if name in panels:
        raise ValueError(f"room panel {name!r} already registered")
    panels[name] = panel


def registered() -> list[Panel]:
    return list(current_app.extensions[EXTENSION].values())
