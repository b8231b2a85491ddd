"""Polls (issue 13): hosts prepare, open and close them in the console; attendees answer in
the room; results are pushed coalesced; auto webinars time them per viewer and count per cohort.

It plugs into the room through its panel registry (the page's region and the catch-up
snapshot), and into the console and admin pages above it, which import it.
"""
from __future__ import annotations

from flask import Flask

from portal.polls import fragments, push, timing
from portal.polls.views import bp
from portal.room import panels


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    timing.init_app(app)
    push.init_app(app)
    panels.register(app, "polls", panels.Panel(
        template="polls/_room.html",
        context=lambda reg, webinar, token: fragments.room_context(webinar, reg=reg),
        snapshot=lambda reg, webinar: fragments.room_region(webinar, reg=reg, oob=True),
    ))


def shutdown(app: Flask) -> None:
    push.shutdown(app)
