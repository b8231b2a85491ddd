"""Organizer pages under /admin/."""
from __future__ import annotations

from flask import Flask

from portal.admin import waitlist
from portal.admin.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    waitlist.init_app(app)  # a freed seat tells the first on the waiting list
