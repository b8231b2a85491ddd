"""Public pages that belong to no other domain: the index, health check, language switch."""
from __future__ import annotations

from flask import Flask

from portal.public.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
