"""Public registration pages, join tokens, calendar files."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portal import audit, signals
from portal.core.models import Webinar
from portal.extensions import db
from portal.registration import choices, service
from portal.registration.models import Registration
from portal.registration.tokens import hash_token
from portal.registration.views import bp


def init_app(app: Flask) -> None:
    """The public pages, the per-type start times registry, and the refusal to unpublish a
    webinar people registered for."""
    app.register_blueprint(bp)
    choices.init_app(app)
    signals.connect(app, signals.status_requested, service.refuse_unpublish_with_registrations)
    audit.register_subject(app, "token", _audit_subject_of_token)
    audit.register_subject(app, "slug", _audit_subject_of_slug)


def _audit_subject_of_token(token: str) -> dict[str, int] | None:
    """Who a refused join-link request is (banned and revoked links included: exactly those
    refusals matter)."""
    if not token or len(token) > 64:
        return None
    reg = db.session.scalar(select(Registration).where(Registration.join_token_hash == hash_token(token)))
    if reg is None:
        return None
    return {"registration_id": reg.registration_id, "lead_id": reg.lead_id, "webinar_id": reg.webinar_id}


def _audit_subject_of_slug(slug: str) -> dict[str, int] | None:
    webinar_id = db.session.scalar(select(Webinar.webinar_id).where(Webinar.slug == slug[:200]))
    return None if webinar_id is None else {"webinar_id": webinar_id}
