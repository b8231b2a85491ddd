"""The attendee room: page, chat, CTA clicks, its socket and pushes to room and console."""
from __future__ import annotations

from flask import Flask

from portal import signals
from portal.room import kinds, panels, push, sockets, standing
from portal.room.views import bp


def init_app(app: Flask) -> None:
    """The room's URLs, its socket frames, the per-type registry and the push subscribers."""
    app.register_blueprint(bp)
    kinds.init_app(app)
    panels.init_app(app)
    standing.init_app(app)
    sockets.init_app(app)
    push.init_app(app)
    signals.connect(app, signals.join_link_rotated, _close_old_link)


def _close_old_link(registration_id: int, *, webinar_id: int, lead_id: int, **_: object) -> None:
    """A join token was rotated ("Email me my link"): the old link's sockets close at once."""
    push.disconnect(webinar_id, lead_id, reason=sockets.LINK_REISSUED)
