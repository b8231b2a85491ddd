"""Pushes of the Q&A after its commits (`question_changed`, portal/signals.py): the room's
list, the asker's own view and the console's queue.

Votes come in storms, so the room list and the console queue are coalesced per webinar: the
first change schedules one render PUSH_INTERVAL seconds later and every change until then
folds into it (room.push.Debouncer) — at most 1/PUSH_INTERVAL list frames a second per
socket, however many vote. An asker's own view (their question approved, answered, or
answered in writing in an auto webinar) goes at once to their sockets only
(`realtime.publish_to`). After a list push, askers whose own list differs from it (a hidden
or shadowed question they still see) get their own list again, so the push does not take it
away from them.
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import realtime, signals
from portal.core.models import Webinar
from portal.dbsession import fresh_session
from portal.extensions import db
from portal.qa import fragments, queries
from portal.room.channels import console_channel
from portal.room.push import Debouncer, per_language, publish_to_rooms

EXTENSION = "portal.qa.push"
PUSH_INTERVAL = 0.5  # seconds: at most two list frames a second per socket


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Debouncer()
    signals.connect(app, signals.question_changed, on_question_changed)


def shutdown(app: Flask) -> None:
    app.extensions[EXTENSION].cancel_all()


def on_question_changed(webinar_id: int, *, app: Flask, author_id: int | None = None, public: bool = False,
                        action: str = "", **_: Any) -> None:
    """Schedule the coalesced list and queue pushes; the asker's own view at once."""
    debouncer: Debouncer = app.extensions[EXTENSION]
    debouncer.call_soon(app, ("console", webinar_id), _push_console, delay=PUSH_INTERVAL)
    if public:
        debouncer.call_soon(app, ("room", webinar_id), _push_room, delay=PUSH_INTERVAL)
    if author_id is not None and action != "vote":
        with fresh_session():
            webinar = db.session.get(Webinar, webinar_id)
            if webinar is not None:
                _push_own(webinar, author_id)


def _push_room(app: Flask, key: tuple[str, int]) -> None:
    webinar_id = key[1]
    with fresh_session(app):
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is None:
            return
        # Every room channel: a live run's or an auto cohort's pages listen on their own.
        publish_to_rooms(webinar, lambda: per_language(
            lambda lang: fragments.room_list(webinar, viewer_lead_id=None, oob=True, lang=lang)))
        for author_id in queries.private_authors(webinar):
            _push_own(webinar, author_id)


def _push_own(webinar: Webinar, author_id: int) -> None:
    publish_to_rooms(webinar, lambda: per_language(
        lambda lang: fragments.own_view(webinar, lead_id=author_id, lang=lang)), member=author_id)


def _push_console(app: Flask, key: tuple[str, int]) -> None:
    webinar_id = key[1]
    with fresh_session(app), realtime.ordered(console_channel(webinar_id)):
        webinar = db.session.get(Webinar, webinar_id)
        if webinar is not None:
            realtime.publish(console_channel(webinar_id), per_language(
                lambda lang: fragments.console_region(webinar, oob=True, lang=lang)))
