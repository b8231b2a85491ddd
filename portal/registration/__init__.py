"""Public registration pages, join tokens, calendar files."""
from __future__ import annotations

from flask import Flask

from portal import signals
from portal.registration import choices, service
from portal.registration.views import bp


def init_app(app: Flask) -> None:
    """The public pages, the per-type start times registry, and the refusal to unpublish a
    webinar people registered for."""
    app.register_blueprint(bp)
    choices.init_app(app)
    signals.connect(app, signals.status_requested, service.refuse_unpublish_with_registrations)
