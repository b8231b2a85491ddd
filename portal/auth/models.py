"""Failed logins, kept for one rate window: the per-account lock of portal.auth.lockout reads them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


class LoginFailure(Model):
    """One wrong password (or unknown email) for `email` from `client` (the real client address)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_email_failed_at", "email", "failed_at"),)

    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
