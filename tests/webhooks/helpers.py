from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from portal.core import events
from portal.core.models import OutboxEvent, User, Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.webhooks import endpoints
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint(owner: User, url: str, **kwargs: Any) -> tuple[WebhookEndpoint, str]:
    made, secret = endpoints.create_endpoint(owner, url, **kwargs)
    db.session.commit()
    return made, secret


def emit(webinar: Webinar, name: str = "webinar_cta_visibility_changed", **data: Any) -> OutboxEvent:
    envelope = events.emit(name, webinar_id=webinar.webinar_id, data=data or {"visible": True})
    db.session.commit()
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == envelope["event_id"])).one()


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.delivery_id)))


def attempts(delivery_id: int) -> list[WebhookAttempt]:
    return list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                   .order_by(WebhookAttempt.attempt_id)))


def make_due() -> None:
    """Time passes: every pending delivery is due now (instead of waiting for its back-off)."""
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    db.session.commit()
