"""The attendee room: page, chat, CTA clicks, its socket and pushes to room and console."""
from __future__ import annotations

from flask import Flask

from portal.room import kinds, push, sockets
from portal.room.views import bp


def init_app(app: Flask) -> None:
    """The room's URLs, its socket frames, the per-type registry and the push subscribers."""
    app.register_blueprint(bp)
    kinds.init_app(app)
    sockets.init_app(app)
    push.init_app(app)
