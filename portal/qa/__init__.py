"""Q&A (issue 13): attendees ask and upvote, hosts approve, answer and hide; the room's panel,
its socket frame, its pushes and the console's queue."""
from __future__ import annotations

from flask import Flask

from portal.qa import fragments, push, sockets
from portal.qa.views import bp
from portal.room import panels

ROOM_PANEL = panels.Panel(template="qa/_panel.html", context=fragments.panel_context,
                          snapshot=fragments.room_snapshot)


def init_app(app: Flask) -> None:
    """The Q&A's URLs, its room panel, its socket frame and its push subscribers."""
    app.register_blueprint(bp)
    panels.register(app, "qa", ROOM_PANEL)
    sockets.init_app(app)
    push.init_app(app)
