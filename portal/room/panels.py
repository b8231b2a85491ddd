"""Panels beside the chat that higher layers add to the room (Q&A, polls, reactions): a
per-app registry filled in their init_app, so the room includes them without importing them.

A panel gives the partial the page includes in its side column (it reads `panel`, the
mapping its `context` returns, besides the page's own context) and `snapshot`, its oob
fragments for one viewer, which the room appends to every catch-up and polling answer. Its
live pushes are its own (on the room channel, through portal.realtime).
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
    """One panel of the room page."""

    #: the partial included in the room's side column
    template: str
    #: the panel's template context for one viewer (the partial reads it as `panel`)
    context: Callable[[Registration, Webinar, str], Mapping[str, Any]]
    #: the panel's regions for one viewer as oob fragments (catch-up and polling)
    snapshot: Callable[[Registration, Webinar], str]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}


def register(app: Flask, name: str, panel: Panel) -> None:
    """Add a panel to every room page (called by the panel's package in its init_app)."""
    panels: dict[str, Panel] = app.extensions[EXTENSION]
    if name in panels and panels[name] != panel:
        raise ValueError(f"room panel {name!r} is already registered")
    panels[name] = panel


def registered() -> list[Panel]:
    """This app's panels, in the order their packages registered them."""
    return list(current_app.extensions[EXTENSION].values())


def page_panels(reg: Registration, webinar: Webinar, *, token: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(template, context) of every panel, for the room page."""
    return [(p.template, p.context(reg, webinar, token)) for p in registered()]


def snapshot(reg: Registration, webinar: Webinar) -> str:
    """Every panel's regions for one viewer (oob)."""
    return "".join(p.snapshot(reg, webinar) for p in registered())
