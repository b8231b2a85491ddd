"""The speaker console: status and CTA through Core, moderation, its socket."""
from __future__ import annotations

from flask import Flask

from portal.console import push, service, sockets
from portal.console.views import bp


def init_app(app: Flask) -> None:
    """The console's URLs, its socket's catch-up, its push subscribers and the top bar's links."""
    app.register_blueprint(bp)
    sockets.init_app(app)
    push.init_app(app)
    app.context_processor(lambda: {"staff_nav": service.staff_nav})
