"""How the room differs per webinar type: a per-app registry, filled by each type's package.

The room knows live webinars itself; `portal.autowebinar` registers "auto" in its init_app.
The room asks the registry (never imports the package above it) for: the regions its page
has, the template of the stage, the per-viewer CTA rule, the first-click rule and extra page
context. An unregistered type fails loudly (LookupError), it never hides a feature.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import exists, select

from portal.core.models import OutboxEvent, Webinar, WebinarType
from portal.extensions import db
from portal.registration.models import Registration

EXTENSION = "portal.room.kinds"
ROOM_REGIONS = ("status", "stage", "cta", "count", "compose")


@dataclass(frozen=True)
class RoomKind:
    """One webinar type's room."""

    #: room regions its page has (and pushes update), of ROOM_REGIONS
    regions: tuple[str, ...]
    #: the partial that renders the stage on the page
    stage_template: str
    #: records a CTA click in the caller's transaction; True when it is the lead's first
    first_click: Callable[[Registration], bool]
    #: per-viewer CTA rule on top of Core's visibility (None: Core's visibility alone)
    cta_visible: Callable[[Registration, Webinar], bool] | None = None
    #: extra template context of the room page
    page_context: Callable[[Registration, Webinar], Mapping[str, Any]] | None = None
    #: is this registrant a cohort of one (auto "watch now"); None: cohorts are start times
    watch_now: Callable[[Registration], bool] | None = None


def clicked_first(reg: Registration) -> bool:
    """Live rule: the first click is the one with no `client_webinar_cta_clicked` before it."""
    return not db.session.scalar(select(exists().where(
        OutboxEvent.webinar_id == reg.webinar_id,
        OutboxEvent.event == "client_webinar_cta_clicked",
        OutboxEvent.lead_id == reg.lead_id,
    )))


LIVE = RoomKind(regions=ROOM_REGIONS, stage_template="room/_stage.html", first_click=clicked_first)


class Kinds:
    """webinar type -> RoomKind, for one app."""

    def __init__(self) -> None:
        self._kinds: dict[str, RoomKind] = {}

    def register(self, type_: str, kind: RoomKind) -> None:
        if type_ in self._kinds and self._kinds[type_] != kind:
            raise ValueError(f"webinar type {type_!r} already has a room kind")
        self._kinds[type_] = kind

    def get(self, type_: str) -> RoomKind:
        try:
            return self._kinds[type_]
        except KeyError:
            raise LookupError(f"no room kind registered for webinar type {type_!r}") from None


def init_app(app: Flask) -> None:
    kinds = app.extensions[EXTENSION] = Kinds()
    kinds.register(WebinarType.live.value, LIVE)


def register(app: Flask, type_: str, kind: RoomKind) -> None:
    """Give webinars of `type_` their room (called by the type's package in its init_app)."""
    app.extensions[EXTENSION].register(type_, kind)


def kind_of(webinar: Webinar) -> RoomKind:
    return current_app.extensions[EXTENSION].get(webinar.type)
