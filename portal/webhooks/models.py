"""Webhook endpoints, their secrets, deliveries (one per event and endpoint) and attempts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.errors import N_
from portal.extensions import Model

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

#: Why an endpoint is disabled: a code kept in `disabled_reason`, worded only when shown, in the
#: reader's language (`disabled_reason`); a row written before the codes keeps its sentence.
DISABLED_GONE, DISABLED_FAILING, DISABLED_BY_HAND = "gone", "failing", "by-hand"
DISABLED_REASONS = {
    DISABLED_GONE: N_("The receiver answered 410 Gone."),
    DISABLED_FAILING: N_("Every delivery failed since %(since)s UTC."),
    DISABLED_BY_HAND: N_("Disabled by hand."),
}


class WebhookEndpoint(Model):
    """A receiver URL of one staff user: which events (empty list = all), optionally one webinar."""

    __tablename__ = "webhook_endpoint"

    endpoint_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("user.user_id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    webinar_id: Mapped[int | None] = mapped_column(ForeignKey("webinar.webinar_id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def disabled_because(self) -> tuple[str, dict[str, str]] | None:
        """The msgid and parameters saying why the endpoint is disabled (None: it is not)."""
        if self.enabled or not self.disabled_reason:
            return None
        since = f"{self.failing_since:%Y-%m-%d %H:%M}" if self.failing_since else "?"
        msgid = DISABLED_REASONS.get(self.disabled_reason)
        return (msgid, {"since": since}) if msgid else ("%(reason)s", {"reason": self.disabled_reason})

    secrets: Mapped[list[WebhookSecret]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True,
        order_by="WebhookSecret.secret_id")


class WebhookSecret(Model):
    """A signing secret (`whsec_` + base64 of 24 random bytes). Several are active during a
    rotation: the old one until `expires_at`. Kept in clear: signing needs it."""

    __tablename__ = "webhook_secret"

    secret_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.endpoint_id", ondelete="CASCADE"),
                                             index=True)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="secrets")


class WebhookDelivery(Model):
    """One event for one endpoint, until delivered or dead. `next_attempt_at` is both the
    retry time and the claim: a dispatcher that takes a delivery moves it past the timeout, so
    a dispatcher killed mid-attempt leaves it due again soon after (same webhook-id)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "outbox_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "delivery_id"),
    )

    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.endpoint_id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("event_outbox.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))

    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(Model):
    """One HTTP attempt of a delivery: when, the answer's status, latency and first bytes."""

    __tablename__ = "webhook_attempt"

    attempt_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.delivery_id", ondelete="CASCADE"),
                                             index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    webhook_timestamp: Mapped[int] = mapped_column(BigInteger)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    response_excerpt: Mapped[str | None] = mapped_column(String(500))


class WebhookCursor(Model):
    """How far the fan-out has read the outbox (by `sequence`); one row, locked while read."""

    __tablename__ = "webhook_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
