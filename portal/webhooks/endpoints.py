"""Managing webhook endpoints (used by the admin pages and by /api/v1/webhooks).

Organizers manage endpoints of their own (optionally limited to one webinar they own) and
receive the events of their webinars; admins see every endpoint and, without a webinar
filter, receive the events of every webinar. These functions add to the session and never
commit: the caller does.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from portal import timefmt
from portal.core.events import EVENTS
from portal.core.models import OutboxEvent, Role, User, Webinar
from portal.core.permissions import Action, can, require
from portal.db_types import utcnow
from portal.errors import Invalid, NotFound
from portal.extensions import db
from portal.webhooks import safety, signing
from portal.webhooks.models import (
    DEAD,
    DELIVERED,
    DISABLED_BY_HAND,
    PENDING,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

ROTATION_GRACE = timedelta(hours=24)  # the old secret keeps signing this long after a rotation
MAX_DESCRIPTION = 500
MAX_REPLAY = 10_000  # events re-queued by one "replay since…"
CURSOR = "outbox"  # the fan-out's row in webhook_cursor


def sees_all(user: User) -> bool:
    return user.role == Role.admin.value and can(user, Action.MANAGE_USERS)


def _clean_events(events: list[str] | None) -> list[str]:
    chosen = sorted({e.strip() for e in (events or []) if e and e.strip()})
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid("Unknown event types: %(events)s. Known: %(known)s.", events=", ".join(unknown),
                      known=", ".join(sorted(EVENTS)))
    return [] if set(chosen) == set(EVENTS) else chosen


def _check_webinar(user: User, webinar_id: int | None) -> None:
    if webinar_id is None:
        return
    webinar = db.session.get(Webinar, webinar_id)
    if webinar is None or not can(user, Action.MANAGE_WEBHOOKS, webinar):
        raise Invalid("Webinar %(id)s does not exist or is not yours.", id=webinar_id)


def create_endpoint(owner: User, url: str, description: str = "", events: list[str] | None = None,
                    webinar_id: int | None = None) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint with one secret; returns (endpoint, secret)."""
    require(owner, Action.CREATE)
    url = (url or "").strip()
    safety.resolve(url)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid("The description may have at most %(n)s characters.", n=MAX_DESCRIPTION)
    chosen = _clean_events(events)
    _check_webinar(owner, webinar_id)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(owner_user_id=owner.user_id, url=url, description=description, events=chosen,
                               webinar_id=webinar_id, enabled=True, created_at=utcnow())
    endpoint.secrets.append(WebhookSecret(secret=secret, created_at=endpoint.created_at))
    db.session.add(endpoint)
    ensure_cursor()
    db.session.flush()
    return endpoint, secret


def ensure_cursor() -> None:
    """Start the fan-out at the outbox's current end when the first endpoint is made:
    endpoints receive what happens after they exist ("replay since…" sends older events)."""
    if db.session.get(WebhookCursor, CURSOR) is None:
        top = db.session.scalar(select(func.max(OutboxEvent.sequence))) or 0
        db.session.add(WebhookCursor(name=CURSOR, position=top, updated_at=utcnow()))


def list_endpoints(user: User) -> list[WebhookEndpoint]:
    """The endpoints `user` manages (admins: all), newest first."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.endpoint_id.desc())
    if not sees_all(user):
        query = query.where(WebhookEndpoint.owner_user_id == user.user_id)
    return list(db.session.scalars(query))


def get_endpoint(user: User, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint if `user` manages it; NotFound otherwise (another owner's looks absent)."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not (sees_all(user) or endpoint.owner_user_id == user.user_id):
        raise NotFound("No such webhook endpoint.")
    return endpoint


def delete_endpoint(user: User, endpoint_id: int) -> None:
    db.session.delete(get_endpoint(user, endpoint_id))
    db.session.flush()


def set_enabled(user: User, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    endpoint = get_endpoint(user, endpoint_id)
    if enabled and not endpoint.enabled:
        safety.resolve(endpoint.url)
        endpoint.failing_since = None
        endpoint.disabled_reason = None
    endpoint.enabled = enabled
    if not enabled and endpoint.disabled_reason is None:
        endpoint.disabled_reason = DISABLED_BY_HAND
    return endpoint


def active_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    return [s.secret for s in endpoint.secrets if s.expires_at is None or s.expires_at > now]


def rotate_secret(user: User, endpoint_id: int, *, old_expires_in: timedelta = ROTATION_GRACE) -> str:
    """A new secret; the active ones keep signing for `old_expires_in` (both signatures sent)."""
    endpoint = get_endpoint(user, endpoint_id)
    now = utcnow()
    for old in endpoint.secrets:
        if old.expires_at is None or old.expires_at > now + old_expires_in:
            old.expires_at = now + old_expires_in
    secret = signing.new_secret()
    endpoint.secrets.append(WebhookSecret(secret=secret, created_at=now))
    db.session.flush()
    return secret


def redeliver(user: User, delivery_id: int) -> WebhookDelivery:
    """Queue one delivery again now (same event, same webhook-id)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery.")
    get_endpoint(user, delivery.endpoint_id)
    _requeue(delivery, utcnow())
    return delivery


def _requeue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.first_attempt_at = None  # a new 3-day window
    delivery.finished_at = None


def matching(endpoint: WebhookEndpoint, owner: User) -> list[Any]:
    """SQL conditions on OutboxEvent for the events this endpoint receives."""
    conditions: list[Any] = []
    if endpoint.events:
        conditions.append(OutboxEvent.event.in_(endpoint.events))
    if endpoint.webinar_id is not None:
        conditions.append(OutboxEvent.webinar_id == endpoint.webinar_id)
    elif not sees_all(owner):
        conditions.append(OutboxEvent.webinar_id.in_(
            select(Webinar.webinar_id).where(Webinar.owner_user_id == owner.user_id)))
    return conditions


def replay_since(user: User, endpoint_id: int, since: datetime) -> int:
    """Queue every matching event that occurred since `since` again (at most MAX_REPLAY);
    returns how many."""
    endpoint = get_endpoint(user, endpoint_id)
    owner = db.session.get(User, endpoint.owner_user_id)
    assert owner is not None
    now = utcnow()
    rows = list(db.session.execute(
        select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.event)
        .where(OutboxEvent.occurred_at >= since, *matching(endpoint, owner))
        .order_by(OutboxEvent.id).limit(MAX_REPLAY)))
    existing = {d.outbox_id: d for d in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.endpoint_id,
                                      WebhookDelivery.outbox_id.in_([r.id for r in rows])))} if rows else {}
    for row in rows:
        delivery = existing.get(row.id)
        if delivery is None:
            db.session.add(WebhookDelivery(endpoint_id=endpoint.endpoint_id, outbox_id=row.id, event_id=row.event_id,
                                           event=row.event, status=PENDING, attempts=0, created_at=now,
                                           next_attempt_at=now))
        else:
            _requeue(delivery, now)
    db.session.flush()
    return len(rows)


def deliveries(endpoint: WebhookEndpoint, *, status: str | None = None, limit: int = 50) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(db.session.scalars(query.order_by(WebhookDelivery.delivery_id.desc()).limit(limit)))


def dead_letters(user: User, *, limit: int = 100) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).join(WebhookEndpoint).where(WebhookDelivery.status == DEAD)
    if not sees_all(user):
        query = query.where(WebhookEndpoint.owner_user_id == user.user_id)
    return list(db.session.scalars(query.order_by(WebhookDelivery.delivery_id.desc()).limit(limit)))


def reason_text(endpoint: WebhookEndpoint) -> str | None:
    """Why the endpoint is disabled, in English (the API's language; the admin pages translate)."""
    because = endpoint.disabled_because()
    return because[0] % because[1] if because else None


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.endpoint_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "webinar_id": endpoint.webinar_id,
        "enabled": endpoint.enabled,
        "disabled_reason": reason_text(endpoint),
        "created_at": timefmt.iso_utc(endpoint.created_at),
    }


__all__ = ["DEAD", "DELIVERED", "PENDING", "active_secrets", "create_endpoint", "delete_endpoint", "endpoint_json",
           "list_endpoints", "redeliver", "replay_since", "rotate_secret"]
