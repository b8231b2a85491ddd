"""/admin/mail: the mail log (every message the portal queued, sent, kept or failed).

Admins see every webinar's mail (`?webinar_id=` filters); an organizer reaches a webinar's own
log from its Mail tab (/admin/webinars/<id>/mail). A message shows its headers, plain text,
attachments and the rendered HTML — served as its own response under a CSP that allows no
script, no network and no form (`sandbox`), opened in its own tab. Never cached: the
mails carry personal join links.
"""
from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage

from flask import Response, abort, current_app, make_response, render_template, request
from sqlalchemy import func, select

from portal.admin.access import sees_all, webinar_for
from portal.admin.pages.common import actor
from portal.admin.pagination import PER_PAGE, Page, clamp, page_number
from portal.core.models import Webinar
from portal.core.permissions import Action
from portal.errors import NotFound
from portal.extensions import db
from portal.mail import sender
from portal.mail.models import STATUSES, MailMessage

HTML_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def page(webinar_id: int | None = None):
    user = actor()
    webinar: Webinar | None = None
    wanted = webinar_id if webinar_id is not None else request.args.get("webinar_id", type=int)
    if wanted is not None:
        webinar = webinar_for(wanted, Action.VIEW_REPORTS, actor=user)
    elif not sees_all(user):
        abort(403)
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    query = select(MailMessage)
    if webinar is not None:
        query = query.where(MailMessage.webinar_id == webinar.webinar_id)
    if status:
        query = query.where(MailMessage.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = clamp(page_number(request.args.get("page")), total=total, per_page=PER_PAGE)
    rows = list(db.session.scalars(query.order_by(MailMessage.message_id.desc())
                                   .limit(PER_PAGE).offset((number - 1) * PER_PAGE)))
    titles = {wid: title for wid, title in db.session.execute(
        select(Webinar.webinar_id, Webinar.title).where(Webinar.webinar_id.in_({r.webinar_id for r in rows})))}
    return _no_store(make_response(render_template(
        "admin/mail/page.html", webinar=webinar, page=Page(rows, number, PER_PAGE, total), status=status,
        statuses=STATUSES, titles=titles, smtp=current_app.config.get("SMTP"),
        external=sender.mode(current_app) == sender.EXTERNAL,
        section="webinars" if webinar else "mail", tab="mail")))


def _message(message_id: int) -> MailMessage:
    row = db.session.get(MailMessage, message_id)
    if row is None:
        raise NotFound("No such message.")
    webinar_for(row.webinar_id, Action.VIEW_REPORTS, actor=actor())
    return row


def _parsed(row: MailMessage) -> EmailMessage | None:
    return message_from_string(row.raw, policy=policy.default) if row.raw else None  # type: ignore[return-value]


def _attachments(msg: EmailMessage | None) -> list[tuple[int, str, str, int]]:
    """(index, filename, content type, bytes) of the attachments and calendar parts."""
    if msg is None:
        return []
    out = []
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if part.get_filename() or ctype == "text/calendar":
            payload = part.get_payload(decode=True) or b""
            out.append((index, part.get_filename() or f"part-{index}.ics", ctype, len(payload)))
    return out


def show(message_id: int):
    row = _message(message_id)
    msg = _parsed(row)
    text = None
    if msg is not None:
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else None
    headers = list(msg.items()) if msg is not None else []
    webinar = db.session.get(Webinar, row.webinar_id)
    return _no_store(make_response(render_template(
        "admin/mail/show.html", row=row, headers=headers, text=text, attachments=_attachments(msg),
        webinar=webinar, section="webinars", tab="mail")))


def html(message_id: int):
    """The rendered HTML alone, for the sandboxed iframe: no script, no network, no forms."""
    msg = _parsed(_message(message_id))
    body = msg.get_body(("html",)) if msg is not None else None
    if body is None:
        raise NotFound("This message has no HTML part yet.")
    response = make_response(body.get_content())
    response.mimetype = "text/html"
    response.headers["Content-Security-Policy"] = HTML_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


def part(message_id: int, index: int):
    """One attachment as a download."""
    msg = _parsed(_message(message_id))
    parts = list(msg.walk()) if msg is not None else []
    if not 0 <= index < len(parts) or parts[index].is_multipart():
        raise NotFound("No such part.")
    item = parts[index]
    response = make_response(item.get_payload(decode=True) or b"")
    response.mimetype = "application/octet-stream"
    name = (item.get_filename() or f"part-{index}.ics").replace('"', "").replace("\r", "").replace("\n", "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _no_store(response)
