"""Outbound webhooks (Standard Webhooks) from the event outbox (issue 11).

- models: endpoints, secrets, deliveries (one per event and endpoint), attempts, the outbox
  position of the fan-out;
- endpoints: managing endpoints (admin pages here, /api/v1/webhooks in portal.api);
- signing: `whsec_` secrets and `v1,` signatures; safety: which URLs may be called;
- delivery: fan-out, claims, signed attempts and their outcomes (at least once);
- dispatcher: the loop running them, in each web process (`PORTAL_WEBHOOK_DISPATCHER=embedded`,
  the default: started with the first request, stopped by portal.shutdown) or only in
  `flask --app wsgi portal dispatcher` processes (`external`);
- views: /admin/webhooks (endpoint list and form, delivery log, redeliver, replay since…,
  rotate secret, dead letters).

Top layer (beside console/admin): it imports core and foundation only; the API sits above it.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext

from portal.webhooks import dispatcher, views
from portal.webhooks.models import WebhookEndpoint


def _disabled_reason(endpoint: WebhookEndpoint) -> str:
    because = endpoint.disabled_because()
    return gettext(because[0], **because[1]) if because else ""


def init_app(app: Flask) -> None:
    dispatcher.init_app(app)
    app.register_blueprint(views.bp)
    app.add_template_global(_disabled_reason, "webhook_disabled_reason")


def shutdown(app: Flask) -> None:
    dispatcher.shutdown(app)
