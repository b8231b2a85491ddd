"""Login and logout for speakers, organizers and admins."""
from __future__ import annotations

from flask import Flask

from portal.auth.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
