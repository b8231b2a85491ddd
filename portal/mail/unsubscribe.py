"""One-click unsubscribe from reminder mails (RFC 8058).

Reminder mails carry `List-Unsubscribe: <https://…/unsubscribe/<token>>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the registration id signed
with the app's secret (itsdangerous, its own salt), so the endpoint needs no login and no CSRF
token: a mail client's POST (body `List-Unsubscribe=One-Click`) unsubscribes at once; a person
following the link gets a page with a button that POSTs the same. Unsubscribing stops the
reminders of that registration (reminder_*, live_now, thank_you); the confirmation, link
recovery and the reschedule / cancellation notices still go out. A bad or tampered token is
answered 404 and changes nothing.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from portal.errors import NotFound
from portal.extensions import csrf, db
from portal.registration.models import Registration

log = logging.getLogger(__name__)

SALT = "mail-unsubscribe"
bp = Blueprint("mail_unsubscribe", __name__)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(registration_id: int) -> str:
    return str(_serializer().dumps(int(registration_id)))


def registration_of(token: str) -> Registration:
    """The registration a token names; NotFound for a bad signature or a deleted registration."""
    try:
        registration_id = _serializer().loads(token)
    except BadSignature:
        raise NotFound("This unsubscribe link is not valid.") from None
    reg = db.session.get(Registration, registration_id) if isinstance(registration_id, int) else None
    if reg is None:
        raise NotFound("This unsubscribe link is not valid.")
    return reg


def url_for_registration(reg: Registration, base: str | None = None) -> str:
    """The absolute one-click URL for a registration (the mail's base URL)."""
    if base is None:
        from portal.mail.ledger import base_url

        base = base_url()
    return f"{base.rstrip('/')}/unsubscribe/{token_for(reg.registration_id)}"


@bp.get("/unsubscribe/<token>")
def page(token: str):
    """The link followed by a person: a page with a button (a GET never unsubscribes: link
    scanners in mail gateways follow links)."""
    reg = registration_of(token)
    response = current_app.make_response(render_template(
        "mail/unsubscribe_page.html", reg=reg, webinar=reg.webinar, token=token,
        done=reg.reminders_unsubscribed_at is not None))
    response.headers["Cache-Control"] = "no-store"
    return response


@csrf.exempt
@bp.post("/unsubscribe/<token>")
def one_click(token: str):
    """RFC 8058 one-click (the mail client's POST) and the page's button: unsubscribe, commit."""
    from portal.mail import reminders

    reg = registration_of(token)
    changed = reminders.unsubscribe(reg)
    db.session.commit()
    log.info("registration %s: unsubscribe from reminders (%s)", reg.registration_id,
             "done" if changed else "already")
    response = current_app.make_response(render_template(
        "mail/unsubscribe_page.html", reg=reg, webinar=reg.webinar, token=token, done=True))
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
